import {
  CoordinationV1Api,
  CoreV1Api,
  createConfiguration,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  setHeaderOptions,
  type Configuration,
  type KubernetesObject,
  type RequestContext,
  type SecurityAuthentication,
} from "@kubernetes/client-node";
import type * as https from "node:https";
import { Agent } from "undici";
import { FIELD_MANAGER } from "./names.js";

export interface Clients {
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  objects: KubernetesObjectApi;
  /**
   * For creating sessions' pods only: its own pool of connections, so that in a burst the pod
   * creates (what a session waits for) never queue behind the Secrets, status writes and events
   * of the sessions before it.
   */
  podObjects: KubernetesObjectApi;
  coordination: CoordinationV1Api;
}

/** How long one API call may take before it fails (and its reconcile is retried). */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * API clients whose every request is aborted after `requestTimeoutMs`. client-node sets no
 * timeout, so a request the API server never answers (it restarted, a connection went dead)
 * would hold its session's queue key forever and the session would never be reconciled again.
 */
export function makeClients(kc: KubeConfig, requestTimeoutMs = REQUEST_TIMEOUT_MS, maxConnections = MAX_CONNECTIONS): Clients {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the kubeconfig has no current cluster: set its current-context, or run in a pod with a service account");
  const configuration = (): Configuration =>
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: { default: sharedConnections(kc, { maxConnections }) },
      promiseMiddleware: [
        {
          pre: async (ctx) => {
            ctx.setSignal(AbortSignal.timeout(requestTimeoutMs));
            return ctx;
          },
          post: async (response) => response,
        },
      ],
    });
  const config = configuration();
  return {
    kc,
    core: new CoreV1Api(config),
    custom: new CustomObjectsApi(config),
    objects: new KubernetesObjectApi(config),
    podObjects: new KubernetesObjectApi(configuration()),
    coordination: new CoordinationV1Api(config),
  };
}

/**
 * How many connections the operator opens to the API server at most. Beyond a few dozen, more
 * requests in flight only queue inside an API server on a small control plane, while each TLS
 * connection costs the operator native memory it never gives back (bench:operator, 100 sessions
 * at once: RSS went 70 MB above the V8 heap with ~400 connections open).
 */
export const MAX_CONNECTIONS = 16;

/**
 * The kubeconfig's authentication on one shared connection pool (of at most `maxConnections`
 * when given; the session API shares one through `session-api/kube-config.ts`). client-node
 * builds a new undici Agent for every request, so every API call paid a new TCP connection and
 * TLS handshake (with the client certificate): under a burst of sessions that, more than the
 * API server's own work, was where a reconcile's time went. Headers (bearer tokens, refreshed)
 * are still applied per request, by `authenticate` (the kubeconfig's own authentication unless
 * a KubeConfig that routes its calls here passes its super method); the TLS settings of the
 * first request are kept for the life of the process. Behind a proxy the kubeconfig's own
 * dispatcher is shared as it is (unbounded).
 */
export function sharedConnections(kc: KubeConfig, options: { maxConnections?: number; authenticate?: (ctx: RequestContext) => Promise<void> } = {}): SecurityAuthentication {
  const authenticate = options.authenticate ?? ((ctx: RequestContext) => kc.applySecurityAuthentication(ctx));
  const limit = options.maxConnections === undefined ? {} : { connections: options.maxConnections };
  let shared: ReturnType<RequestContext["getDispatcher"]>;
  const pool = async (): Promise<Agent | undefined> => {
    const cluster = kc.getCurrentCluster();
    const tls: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(tls);
    const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = tls;
    const opts = kc.createDispatcherOptions(cluster, { ca, cert, key, pfx, passphrase, ...(rejectUnauthorized !== undefined ? { rejectUnauthorized } : {}), ...(servername !== undefined ? { servername } : {}) });
    if (opts.type === "agent") return new Agent({ connect: opts.connect, ...limit });
    if (opts.type === "none") return new Agent(limit);
    return undefined;
  };
  let own: Promise<Agent | undefined> | undefined;
  return {
    getName: () => "kubeconfig, shared connections",
    async applySecurityAuthentication(ctx: RequestContext): Promise<void> {
      await authenticate(ctx);
      own ??= pool();
      const dispatcher = (await own) ?? ctx.getDispatcher();
      if (!dispatcher) return;
      shared ??= dispatcher;
      ctx.setDispatcher(shared);
    },
  };
}

/** The HTTP status of a failed API call, if it was one. */
export const statusOf = (e: unknown): number | undefined => {
  const c = (e as { code?: unknown; statusCode?: unknown }).code ?? (e as { statusCode?: unknown }).statusCode;
  return typeof c === "number" ? c : undefined;
};

/** Server-side apply under the operator's single field manager; force takes fields back from kubectl edits. */
export async function apply<T extends KubernetesObject>(c: Clients, obj: T): Promise<T> {
  return c.objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
}

/** Creates an object; returns what the API server stored, or undefined when one of that name already exists. */
export async function createIfAbsent<T extends KubernetesObject>(c: Clients, obj: T): Promise<T | undefined> {
  try {
    return await c.objects.create(obj, undefined, undefined, FIELD_MANAGER);
  } catch (e) {
    if (statusOf(e) === 409) return undefined;
    throw e;
  }
}

/** Reads an object, or undefined when it does not exist. */
export async function readOptional<T extends KubernetesObject>(c: Clients, obj: T): Promise<T | undefined> {
  try {
    return (await c.objects.read({ apiVersion: obj.apiVersion!, kind: obj.kind!, metadata: { name: obj.metadata!.name!, namespace: obj.metadata!.namespace! } })) as T;
  } catch (e) {
    if (statusOf(e) === 404) return undefined;
    throw e;
  }
}

export const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** Asks for an object's metadata only (PartialObjectMetadata): how to look at a Secret without reading its values. */
export const metadataOnly = setHeaderOptions("Accept", "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1");
