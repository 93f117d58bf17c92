import type { Role } from "../terminal/protocol.js";

export interface TerminalAccessInput {
  username: string;
  /** RBAC: create on agentsessions/terminal (type). */
  rbacCreate: boolean;
  /** RBAC: get on agentsessions/terminal (watch). */
  rbacGet: boolean;
  /** The session's spec.access; empty or absent lists mean RBAC alone decides. */
  access?: { users?: string[]; viewers?: string[] };
  /** The viewer asked for a read-only view. */
  wantsReadOnly: boolean;
}

/** The role a person gets on a session's terminal, or undefined when they may not attach at all. */
export function terminalRole(input: TerminalAccessInput): Role | undefined {
  const users = input.access?.users ?? [];
  const viewers = input.access?.viewers ?? [];
  const listed = users.length > 0 || viewers.length > 0;
  const mayType = input.rbacCreate && (!listed || users.includes(input.username));
  const mayWatch = input.rbacGet && (!listed || users.includes(input.username) || viewers.includes(input.username));
  if (mayType && !input.wantsReadOnly) return "rw";
  if (mayWatch || mayType) return "ro";
  return undefined;
}

/**
 * Whether the answer to "may they watch" (get on agentsessions/terminal) can change the role, so
 * that SubjectAccessReview is only asked when it matters. Without the session (not found, or not
 * readable) only a refused `create` makes it matter: it then decides between 403 and going on.
 */
export function watchRightMatters(input: Omit<TerminalAccessInput, "rbacGet">, sessionKnown: boolean): boolean {
  if (!input.rbacCreate) return true;
  if (!sessionKnown) return false;
  return terminalRole({ ...input, rbacGet: false }) !== terminalRole({ ...input, rbacGet: true });
}
