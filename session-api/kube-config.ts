// client-node 2.x gives every REST call a new connection pool (a fresh undici Agent per request),
// so each TokenReview, SubjectAccessReview and session GET paid a TCP and TLS handshake with the
// API server. Measured on the shared cluster, twenty terminals' reviews at once: p50 ~350-490 ms
// with a pool per call, ~100 ms with one shared pool. This KubeConfig routes every call's
// authentication through the operator's shared pool (operator/kube.ts), unbounded here: the
// session API's watches each hold a connection for as long as a terminal waits.
import { KubeConfig, type RequestContext } from "@kubernetes/client-node";
import { sharedConnections } from "../operator/kube.js";

export class PooledKubeConfig extends KubeConfig {
  private readonly shared = sharedConnections(this, { authenticate: (context) => super.applySecurityAuthentication(context) });

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await this.shared.applySecurityAuthentication(context);
  }
}

/** A KubeConfig that shares one connection pool across API calls, with `source`'s clusters, users and contexts. */
export function pooled(source: KubeConfig): KubeConfig {
  const kc = new PooledKubeConfig();
  kc.loadFromOptions({
    clusters: source.getClusters(),
    users: source.getUsers(),
    contexts: source.getContexts(),
    currentContext: source.getCurrentContext(),
  });
  return kc;
}
