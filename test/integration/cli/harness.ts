// The real session API on loopback (static tokens, the FAKE authorizer and store, a local PTY
// per terminal) plus a FAKE operator that runs each Batch session's command as a local process
// and writes its output and exit code where the real operator and kubelet would. The CLI runs
// as a real child process against it.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pino } from "pino";
import { mergeTemplate } from "../../../crds/merge.js";
import { FakeAuthorizer, fakeAgentUser, fakeAgentViewer } from "../../../session-api/auth/fake-authorizer.js";
import { staticTokenAuthenticator } from "../../../session-api/auth/static-tokens.js";
import { startServer, type RunningServer } from "../../../session-api/server.js";
import { FakeSessionStore } from "../../../session-api/store/fake-store.js";
import type { Actor, AgentSession } from "../../../session-api/store/store.js";
import { localPtyFactory } from "../../../session-api/terminal/local-pty.js";

export const NAMESPACE = "team";
export const TOKENS = { alice: "alice-token-0123456789abcdef", bob: "bob-token-0123456789abcdef", mallory: "mallory-token-0123456789abcdef" } as const;
const ROOT = resolve(import.meta.dirname, "../../..");

/** The FAKE store, counting reads so the fake operator can wait until a client saw a phase. */
export class CountingStore extends FakeSessionStore {
  private readonly readCounts = new Map<string, number>();

  override getSession(namespace: string, name: string): Promise<AgentSession | undefined> {
    this.readCounts.set(name, this.reads(name) + 1);
    return super.getSession(namespace, name);
  }

  reads(name: string): number {
    return this.readCounts.get(name) ?? 0;
  }

  /** Sessions whose deletion takes this long, as a foreground deletion waits for the pod. */
  readonly slowDeletes = new Map<string, number>();

  override async deleteSession(namespace: string, name: string, actor?: Actor): Promise<boolean> {
    const delayMs = this.slowDeletes.get(name);
    const session = await super.getSession(namespace, name);
    if (delayMs === undefined || session === undefined) return super.deleteSession(namespace, name, actor);
    session.metadata.deletionTimestamp = new Date().toISOString();
    session.status = { ...session.status, phase: "Terminating" };
    setTimeout(() => void super.deleteSession(namespace, name, actor), delayMs);
    return true;
  }
}

/**
 * FAKE operator: Pending → Starting → Running (a local process) → Succeeded/Failed with its exit
 * code. It leaves Starting only after someone read the session in that phase, so the CLI's
 * progress report is deterministic however slow the machine is.
 */
export class FakeOperator {
  private readonly running = new Map<string, ChildProcess>();
  private readonly readsAtStarting = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private readonly home = mkdtempSync(join(tmpdir(), "agentbox-fake-agent-"));

  constructor(private readonly store: CountingStore) {
    this.timer = setInterval(() => {
      this.tick().catch((err: unknown) => console.error("fake operator:", err));
    }, 20);
  }

  private async tick(): Promise<void> {
    for (const session of await this.store.listSessions(NAMESPACE)) {
      const name = session.metadata.name;
      if (session.spec.lifecycle?.mode !== "Batch" || this.running.has(name)) continue;
      if (session.status?.phase === "Pending") {
        session.status = { ...session.status, phase: "Starting", message: "waiting for the agent container to start" };
        this.readsAtStarting.set(name, this.store.reads(name));
      } else if (session.status?.phase === "Starting" && this.store.reads(name) > (this.readsAtStarting.get(name) ?? 0)) {
        await this.start(session);
      }
    }
  }

  private async start(session: AgentSession): Promise<void> {
    const name = session.metadata.name;
    const template = session.spec.templateRef ? await this.store.getTemplate(NAMESPACE, session.spec.templateRef.name) : undefined;
    const merged = mergeTemplate(session.spec, template?.spec, template?.metadata.name);
    if (!merged.ok) throw new Error(merged.violations.join("; "));
    const argv = [...(merged.spec.agent.command ?? []), ...(merged.spec.agent.args ?? [])];
    const env = Object.fromEntries((merged.spec.agent.env ?? []).map((e) => [e.name, e.value]));
    const child = spawn(argv[0] ?? "true", argv.slice(1), { cwd: this.home, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    this.running.set(name, child);
    let log = "";
    const append = (chunk: Buffer): void => {
      log += chunk.toString("utf8");
      this.store.setLogs(NAMESPACE, name, log);
    };
    child.stdout!.on("data", append);
    child.stderr!.on("data", append);
    session.status = { ...session.status, phase: "Running", message: "the agent is running", podName: name };
    child.on("close", (code, signal) => {
      const exitCode = code ?? 128 + (signal === "SIGKILL" ? 9 : 15);
      session.status = { ...session.status, phase: exitCode === 0 ? "Succeeded" : "Failed", exitCode, message: `the agent exited with code ${exitCode}` };
    });
  }

  /** Whether the agent process of a session is still running (e.g. after the session was deleted). */
  alive(name: string): boolean {
    const child = this.running.get(name);
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  stop(): void {
    clearInterval(this.timer);
    for (const child of this.running.values()) child.kill("SIGKILL");
  }
}

export interface TestPlatform extends RunningServer {
  store: CountingStore;
  operator: FakeOperator;
}

export async function startPlatform(): Promise<TestPlatform> {
  const store = new CountingStore();
  store.initialPhase = "Pending";
  store.addTemplate(NAMESPACE, "shell-batch", {
    agent: { image: "agentbox/agent-shell:dev", command: ["sh", "-c", "echo no command given; exit 2"], tty: false },
    lifecycle: { mode: "Batch" },
    locked: ["agent.image"],
  });
  store.addTemplate(NAMESPACE, "locked-command", { agent: { image: "agentbox/agent-shell:dev", command: ["true"] }, lifecycle: { mode: "Batch" }, locked: ["agent.image", "agent.command"] });
  const home = mkdtempSync(join(tmpdir(), "agentbox-cli-pty-"));
  const running = await startServer(
    {
      store,
      authenticator: staticTokenAuthenticator([
        { token: TOKENS.alice, identity: { username: "alice", groups: [], via: "static" } },
        { token: TOKENS.bob, identity: { username: "bob", groups: [], via: "static" } },
        { token: TOKENS.mallory, identity: { username: "mallory", groups: [], via: "static" } },
      ]),
      authorizer: new FakeAuthorizer([fakeAgentUser("alice"), fakeAgentViewer("bob")]),
      log: pino({ level: process.env.LOG_LEVEL ?? "silent" }),
      allowedOrigins: [],
      upstreamFor: () => localPtyFactory({ command: ["sh"], env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, TERM: "xterm-256color", PS1: "$ " }, cwd: home }),
      // The terminal outlives its last viewer long enough for a slow CLI start to reconnect to it.
      hub: { lingerMs: 60_000, pingIntervalMs: 5000 },
      webUi: false,
    },
    0,
  );
  const operator = new FakeOperator(store);
  return {
    ...running,
    store,
    operator,
    close: async () => {
      operator.stop();
      await running.close();
    },
  };
}

export interface CliProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number>;
}

/** Starts `agentbox ARGS...` as a child process with the server and token in its environment. */
export function agentbox(api: { url: string }, args: string[], options: { token?: string | null; env?: Record<string, string> } = {}): CliProcess {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", AGENTBOX_URL: api.url, AGENTBOX_NAMESPACE: NAMESPACE, ...options.env };
  if (options.token !== null) env.AGENTBOX_TOKEN = options.token ?? TOKENS.alice;
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "cli/main.ts"), ...args], { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString("utf8")));
  child.stderr!.on("data", (c: Buffer) => (err += c.toString("utf8")));
  const exit = new Promise<number>((resolveExit) => child.on("close", (code, signal) => resolveExit(code ?? (signal ? 128 : -1))));
  return { child, stdout: () => out, stderr: () => err, exit };
}

/** Polls until `check` holds, failing with `what` after the deadline. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
