// Writes of AgentSessions go to the API server as the signed-in person (Impersonate-User,
// Impersonate-Group), so RBAC, admission (the created-by policy, the credential checks) and the
// audit log see who asked, not the session API's service account. The headers are added on the
// way out of the shared connection pool (kube-config.ts): one pool for everyone, no pool per user.
//
// They are added by an undici interceptor rather than as fetch headers: fetch joins repeated
// headers into one comma-separated line, and the API server reads every Impersonate-Group line
// as one group, so "a, b" would be a single group named "a, b".
import { Observable, type ConfigurationOptions, type RequestContext, type ResponseContext } from "@kubernetes/client-node";
import { getGlobalDispatcher, type Dispatcher } from "undici";

/** The person a write is done for. */
export interface Actor {
  username: string;
  groups: readonly string[];
}

type Headers = Dispatcher.DispatchOptions["headers"];

// What the API server can take in a header: printable ASCII (Go's net/http refuses the rest).
const HEADER_SAFE = /^[\x20-\x7e]+$/;

/** The name or group of `actor` that cannot travel in a header, if any. */
export function unsendable(actor: Actor): string | undefined {
  return [actor.username, ...actor.groups].find((value) => !HEADER_SAFE.test(value));
}

/** `headers` (any form undici takes) as a flat list, with one line per impersonated name. */
export function withImpersonation(headers: Headers, actor: Actor): string[] {
  const flat: string[] = [];
  const add = (name: string, value: string | string[] | undefined): void => {
    for (const one of value === undefined ? [] : [value].flat()) flat.push(name, one);
  };
  if (Array.isArray(headers)) flat.push(...(headers as string[]));
  else if (headers && Symbol.iterator in headers) for (const [name, value] of headers as Iterable<[string, string | string[] | undefined]>) add(name, value);
  else for (const [name, value] of Object.entries(headers ?? {})) add(name, value);
  add("Impersonate-User", actor.username);
  for (const group of actor.groups) add("Impersonate-Group", group);
  return flat;
}

/** `dispatcher`'s connections, with every request impersonating `actor`. */
export function impersonating(dispatcher: Dispatcher, actor: Actor): Dispatcher {
  return dispatcher.compose((dispatch) => (options, handler) => dispatch({ ...options, headers: withImpersonation(options.headers, actor) }, handler));
}

/**
 * Per-request options for a client-node call that make it `actor`'s. The kubeconfig's
 * authentication (the session API's own token, which must hold the `impersonate` verb) has
 * already chosen the shared pool when this runs; the request keeps it.
 */
export function asActor(actor: Actor): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context: RequestContext) => {
          context.setDispatcher(impersonating(context.getDispatcher() ?? getGlobalDispatcher(), actor));
          return new Observable(Promise.resolve(context));
        },
        post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
      },
    ],
    middlewareMergeStrategy: "append",
  };
}
