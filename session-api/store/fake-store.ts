// FAKE: an in-memory SessionStore for tests and `--dev-fake-store`. It does no admission beyond
// name clashes and never runs anything; phases move only when a test sets them.
import { randomBytes } from "node:crypto";
import { API_VERSION, type Phase } from "../../crds/agentsession.js";
import {
  StoreError,
  ACTIVITY_ANNOTATION,
  type Actor,
  type AgentSession,
  type AgentTemplate,
  type LogOptions,
  type NewSession,
  type SessionStore,
} from "./store.js";

export class FakeSessionStore implements SessionStore {
  private readonly sessions = new Map<string, AgentSession>();
  private readonly templates = new Map<string, AgentTemplate>();
  private readonly logLines = new Map<string, string>();
  private readonly watchers = new Map<string, Set<(session: AgentSession | undefined) => void>>();
  /** Who each create and delete was done for (what the real store impersonates). */
  readonly writes: Array<{ verb: "create" | "delete"; namespace: string; name: string; actor?: Actor }> = [];
  /** Phase given to new sessions; the fake has no operator to move it on. */
  initialPhase: Phase = "Running";

  private key(namespace: string, name: string): string {
    return `${namespace}/${name}`;
  }

  addTemplate(namespace: string, name: string, spec: AgentTemplate["spec"]): void {
    this.templates.set(this.key(namespace, name), {
      apiVersion: API_VERSION,
      kind: "AgentTemplate",
      metadata: { name, namespace },
      spec,
    });
  }

  setPhase(namespace: string, name: string, phase: Phase): void {
    const session = this.sessions.get(this.key(namespace, name));
    if (session) session.status = { ...session.status, phase };
    this.changed(namespace, name);
  }

  private changed(namespace: string, name: string): void {
    const session = this.sessions.get(this.key(namespace, name));
    for (const watcher of this.watchers.get(this.key(namespace, name)) ?? []) watcher(session);
  }

  setLogs(namespace: string, name: string, text: string): void {
    this.logLines.set(this.key(namespace, name), text);
  }

  listSessions(namespace: string): Promise<AgentSession[]> {
    return Promise.resolve([...this.sessions.values()].filter((s) => s.metadata.namespace === namespace));
  }

  getSession(namespace: string, name: string): Promise<AgentSession | undefined> {
    return Promise.resolve(this.sessions.get(this.key(namespace, name)));
  }

  /** `actor` may be left out by tests that set sessions up as if an administrator had. */
  createSession(namespace: string, input: NewSession, actor?: Actor): Promise<AgentSession> {
    const name = input.name ?? `${input.generateName ?? "session-"}${randomBytes(3).toString("hex").slice(0, 5)}`;
    this.writes.push({ verb: "create", namespace, name, ...(actor ? { actor } : {}) });
    const key = this.key(namespace, name);
    if (this.sessions.has(key)) {
      return Promise.reject(new StoreError("conflict", `session ${name} already exists in namespace ${namespace}`));
    }
    const session: AgentSession = {
      apiVersion: API_VERSION,
      kind: "AgentSession",
      metadata: {
        name,
        namespace,
        uid: randomBytes(16).toString("hex"),
        generation: 1,
        creationTimestamp: new Date().toISOString(),
        ...(input.annotations ? { annotations: { ...input.annotations } } : {}),
      },
      spec: input.spec,
      status: { phase: this.initialPhase, podName: name },
    };
    this.sessions.set(key, session);
    return Promise.resolve(session);
  }

  deleteSession(namespace: string, name: string, actor?: Actor): Promise<boolean> {
    this.writes.push({ verb: "delete", namespace, name, ...(actor ? { actor } : {}) });
    const deleted = this.sessions.delete(this.key(namespace, name));
    this.changed(namespace, name);
    return Promise.resolve(deleted);
  }

  /** How many watches follow this session now. */
  watching(namespace: string, name: string): number {
    return this.watchers.get(this.key(namespace, name))?.size ?? 0;
  }

  watchSession(namespace: string, name: string, onChange: (session: AgentSession | undefined) => void): Promise<() => void> {
    const key = this.key(namespace, name);
    const watchers = this.watchers.get(key) ?? new Set();
    this.watchers.set(key, watchers);
    // As the API server does: the object as it is now first (asynchronously, like a real watch).
    const listener = (session: AgentSession | undefined): void => onChange(session);
    watchers.add(listener);
    queueMicrotask(() => {
      const now = this.sessions.get(key);
      if (now && watchers.has(listener)) onChange(now);
    });
    return Promise.resolve(() => {
      watchers.delete(listener);
    });
  }

  listTemplates(namespace: string): Promise<AgentTemplate[]> {
    return Promise.resolve([...this.templates.values()].filter((t) => t.metadata.namespace === namespace));
  }

  getTemplate(namespace: string, name: string): Promise<AgentTemplate | undefined> {
    return Promise.resolve(this.templates.get(this.key(namespace, name)));
  }

  logs(namespace: string, name: string, options: LogOptions): Promise<string> {
    const text = this.logLines.get(this.key(namespace, name)) ?? "";
    if (options.tailLines === undefined) return Promise.resolve(text);
    return Promise.resolve(text.split("\n").slice(-options.tailLines).join("\n"));
  }

  recordActivity(namespace: string, name: string, at: Date): Promise<void> {
    const session = this.sessions.get(this.key(namespace, name));
    if (session) session.metadata.annotations = { ...session.metadata.annotations, [ACTIVITY_ANNOTATION]: at.toISOString() };
    return Promise.resolve();
  }
}
