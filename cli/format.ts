// Pure presentation: tables, ages, and what a session's state means for `run`.
import type { SessionView, TemplateView } from "./schemas.js";

/** Left-aligned columns separated by three spaces, like kubectl. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("   ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

/** kubectl-style age: 45s, 12m, 3h, 5d. */
export function age(since: string | undefined, now: Date): string {
  if (since === undefined) return "<unknown>";
  const ms = now.getTime() - Date.parse(since);
  if (!Number.isFinite(ms)) return "<unknown>";
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function sessionsTable(sessions: SessionView[], now: Date): string {
  const rows = sessions.map((s) => [
    s.metadata.name,
    s.metadata.deletionTimestamp ? "Terminating" : (s.status.phase ?? "Pending"),
    s.spec.lifecycle?.mode ?? "",
    s.spec.templateRef?.name ?? s.spec.agent?.image ?? "",
    s.status.exitCode === undefined ? "" : String(s.status.exitCode),
    age(s.metadata.creationTimestamp, now),
  ]);
  return table(["NAME", "PHASE", "MODE", "TEMPLATE/IMAGE", "EXIT", "AGE"], rows);
}

export function templatesTable(templates: TemplateView[]): string {
  const rows = templates.map((t) => [
    t.metadata.name,
    t.spec.agent?.image ?? "",
    t.spec.lifecycle?.mode ?? "Interactive",
    (t.spec.credentials ?? []).map((c) => c.name).join(",") || "-",
    (t.spec.locked ?? []).join(",") || "-",
  ]);
  return table(["NAME", "IMAGE", "MODE", "CREDENTIALS", "LOCKED"], rows);
}

const FINISHED = new Set(["Succeeded", "Failed", "Expired"]);

export function isFinished(session: SessionView): boolean {
  return FINISHED.has(session.status.phase ?? "");
}

/** Whether the agent's output can be read: its container started (or the session already ended). */
export function hasOutput(session: SessionView): boolean {
  return session.status.phase === "Running" || isFinished(session);
}

// Reasons after which a session will not start without a person changing something.
const STUCK_REASONS = new Set(["TemplateNotFound", "TemplateViolation", "PodConflict"]);
const STUCK_WORDS = /\b(ErrImagePull|ImagePullBackOff|InvalidImageName|ErrImageNeverPull|CreateContainerConfigError|CreateContainerError)\b/;

/** Why a session cannot start, when it cannot; undefined while it may still start. */
export function startProblem(session: SessionView): string | undefined {
  for (const c of session.status.conditions ?? []) {
    if (c.reason !== undefined && STUCK_REASONS.has(c.reason) && c.status !== "True") return `${c.reason}: ${c.message || session.status.message || ""}`.trim();
  }
  const text = [session.status.message ?? "", ...(session.status.conditions ?? []).map((c) => `${c.reason ?? ""} ${c.message ?? ""}`)].join(" ");
  const word = STUCK_WORDS.exec(text);
  if (word) return `${word[1]}: ${session.status.message ?? ""}`.trim();
  return undefined;
}

/** One progress line for stderr while a session starts; undefined when nothing changed. */
export function progressLine(session: SessionView, previous: string | undefined): string | undefined {
  const phase = session.status.phase ?? "Pending";
  const line = session.status.message ? `${phase}: ${session.status.message}` : phase;
  return line === previous ? undefined : line;
}
