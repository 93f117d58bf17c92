// Twenty terminals opened at once read twenty sessions while the API server is busy starting
// them. Reads asked in the same event-loop turn are sent together: one name is one GET, several
// names in a namespace are one LIST, and concurrent reads of one name share one request. Nothing
// is remembered once its request is answered, so no answer is older than the request it came from.
import type { AgentSession, SessionStore } from "./store.js";

/** How one turn's reads of a namespace go out: a GET for a single name, a LIST for several. */
export type ReadPlan = { kind: "get"; name: string } | { kind: "list" };

export function readPlan(names: ReadonlySet<string>): ReadPlan {
  const [only] = names;
  return names.size === 1 && only !== undefined ? { kind: "get", name: only } : { kind: "list" };
}

/**
 * Each asked name's session from a LIST, or "absent" when the LIST lacks it: a LIST skips objects
 * that fail the schema, so an absent name is read by itself to tell "not found" from "invalid".
 */
export function fromList(items: readonly AgentSession[], names: Iterable<string>): Map<string, AgentSession | "absent"> {
  const byName = new Map(items.map((item) => [item.metadata.name, item]));
  return new Map([...names].map((name) => [name, byName.get(name) ?? "absent"]));
}

/** `store` with getSession coalesced per namespace and event-loop turn; everything else as is. */
export function coalescedReads(store: SessionStore, nextTurn: (run: () => void) => void = setImmediate): SessionStore {
  // undefined: the API server said not found; "absent": a LIST did not have it.
  type Found = AgentSession | undefined | "absent";
  const batches = new Map<string, { names: Set<string>; done: Promise<Map<string, Found>> }>();
  // Namespaces and names are DNS labels or subdomains: "/" cannot occur in either.
  const inflight = new Map<string, Promise<AgentSession | undefined>>();

  const flush = async (namespace: string, names: ReadonlySet<string>): Promise<Map<string, Found>> => {
    const plan = readPlan(names);
    if (plan.kind === "get") return new Map([[plan.name, await store.getSession(namespace, plan.name)]]);
    return fromList(await store.listSessions(namespace), names);
  };

  const join = (namespace: string, name: string): Promise<Found> => {
    let batch = batches.get(namespace);
    if (!batch) {
      const names = new Set<string>();
      const done = new Promise<void>((resolve) => nextTurn(resolve)).then(() => {
        batches.delete(namespace);
        return flush(namespace, names);
      });
      batch = { names, done };
      batches.set(namespace, batch);
    }
    batch.names.add(name);
    return batch.done.then((found) => (found.has(name) ? found.get(name) : "absent"));
  };

  const getSession = (namespace: string, name: string): Promise<AgentSession | undefined> => {
    const key = `${namespace}/${name}`;
    const shared = inflight.get(key);
    if (shared) return shared;
    const read = join(namespace, name)
      .then((found) => (found === "absent" ? store.getSession(namespace, name) : found))
      .finally(() => inflight.delete(key));
    inflight.set(key, read);
    return read;
  };

  return { ...bindAll(store), getSession };
}

// SessionStore implementations may be classes: their methods need their own `this`.
function bindAll(store: SessionStore): Omit<SessionStore, "getSession"> {
  return {
    listSessions: (namespace) => store.listSessions(namespace),
    createSession: (namespace, input, actor) => store.createSession(namespace, input, actor),
    deleteSession: (namespace, name, actor) => store.deleteSession(namespace, name, actor),
    listTemplates: (namespace) => store.listTemplates(namespace),
    getTemplate: (namespace, name) => store.getTemplate(namespace, name),
    recordActivity: (namespace, name, at) => store.recordActivity(namespace, name, at),
    logs: (namespace, name, options) => store.logs(namespace, name, options),
    ...(store.watchSession ? { watchSession: store.watchSession.bind(store) } : {}),
  };
}
