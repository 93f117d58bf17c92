// Where sessions and templates live. The real implementation talks to the Kubernetes API server;
// the fake keeps them in memory for tests and local development.
import type { AgentSession, AgentSessionSpec } from "../../crds/agentsession.js";
import type { AgentTemplate } from "../../crds/agenttemplate.js";
import type { Actor } from "./impersonation.js";

export type { Actor, AgentSession, AgentSessionSpec, AgentTemplate };

export interface NewSession {
  name?: string;
  generateName?: string;
  spec: AgentSessionSpec;
  annotations?: Record<string, string>;
}

export interface LogOptions {
  tailLines?: number;
  container: "agent" | "sidecar";
}

export interface SessionStore {
  listSessions(namespace: string): Promise<AgentSession[]>;
  getSession(namespace: string, name: string): Promise<AgentSession | undefined>;
  /** Creates it as `actor` (impersonated): RBAC and admission decide on their request, not ours. */
  createSession(namespace: string, session: NewSession, actor: Actor): Promise<AgentSession>;
  /** Deletes it as `actor` (impersonated); false when there was no such session. */
  deleteSession(namespace: string, name: string, actor: Actor): Promise<boolean>;
  listTemplates(namespace: string): Promise<AgentTemplate[]>;
  getTemplate(namespace: string, name: string): Promise<AgentTemplate | undefined>;
  logs(namespace: string, name: string, options: LogOptions): Promise<string>;
  /**
   * Sets the agentbox.dev/last-activity annotation, which drives idle expiry. Written as the
   * session API itself: it is bookkeeping of the terminal, not something the person asked for.
   */
  recordActivity(namespace: string, name: string, at: Date): Promise<void>;
  /**
   * Follows one session: `onChange` gets it as it is now, then after every change, and undefined
   * once it is deleted; `onEnd` is called once if the watch stops on its own (error or server
   * timeout). The returned function stops it. Optional: without it a terminal polls.
   */
  watchSession?(namespace: string, name: string, onChange: (session: AgentSession | undefined) => void, onEnd: (err?: Error) => void): Promise<() => void>;
}

export type StoreErrorKind = "conflict" | "not-found" | "invalid" | "forbidden" | "unavailable";

/** A failure the caller can explain to a person: it maps to 409, 404, 422, 403 or 503. */
export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "StoreError";
  }
}

export { LAST_ACTIVITY_ANNOTATION as ACTIVITY_ANNOTATION, CREATED_BY_ANNOTATION } from "../../crds/annotations.js";
