// Waiting out a starting session through a watch: the API server pushes the change, so a viewer
// that connected while the session was Pending or Starting is attached the moment its pod runs,
// not at the next poll, and twenty waiting terminals cost twenty idle watches rather than a GET
// each every half second.
import type { AgentSession, SessionStore } from "../store/store.js";
import { targetState, type TargetState } from "./flow.js";

export type UntilSettled = (timeoutMs: number, signal: AbortSignal) => Promise<TargetState>;

/**
 * `seen` gets every version of the session the watch delivers, undefined once it is deleted (the
 * attach can use the last one instead of reading it again). Resolves once the session has left "starting" (running, or gone), or after `timeoutMs` with
 * where it is then, or when `signal` aborts; rejects when the watch cannot be opened. Undefined
 * when the store cannot watch.
 */
export function untilSettled(store: SessionStore, namespace: string, name: string, seen?: (session: AgentSession | undefined) => void): UntilSettled | undefined {
  const watch = store.watchSession?.bind(store);
  if (!watch) return undefined;
  return (timeoutMs, signal) =>
    new Promise<TargetState>((resolve, reject) => {
      let last: TargetState = "starting";
      let done = false;
      let stop: (() => void) | undefined;
      const finish = (settle: () => void): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        stop?.();
        settle();
      };
      const onAbort = (): void => finish(() => resolve(last));
      const timer = setTimeout(onAbort, timeoutMs);
      signal.addEventListener("abort", onAbort);
      if (signal.aborted) onAbort();
      watch(
        namespace,
        name,
        (session) => {
          seen?.(session);
          last = session ? targetState(session.status?.phase ?? "Pending") : "gone";
          if (last !== "starting") finish(() => resolve(last));
        },
        (err) => finish(() => (err ? reject(err) : resolve(last))),
      ).then(
        (stopWatch) => {
          if (done) stopWatch();
          else stop = stopWatch;
        },
        (err: unknown) => finish(() => reject(err instanceof Error ? err : new Error(String(err)))),
      );
    });
}
