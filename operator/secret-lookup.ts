// Reads what the credential rules need from each credential Secret: whether it exists and its
// agentbox.dev/allowed-hosts annotation. A metadata-only read (PartialObjectMetadata): the
// operator never receives a real value here.
import { ALLOWED_HOSTS_ANNOTATION } from "../crds/annotations.js";
import type { EffectiveSpec } from "../crds/merge.js";
import type { SecretLookup } from "./credential-rules.js";
import { metadataOnly, statusOf, type Clients } from "./kube.js";
import { secretRefs } from "./secret-refs.js";

/**
 * The Secrets the spec's credentials read, by name. A look-up that fails other than with 404
 * throws: without the rule the operator cannot know the credential is allowed, so the reconcile
 * is retried with backoff rather than the pod created.
 */
export async function lookUpCredentialSecrets(clients: Clients, namespace: string, spec: Pick<EffectiveSpec, "credentials">): Promise<Map<string, SecretLookup>> {
  const found = new Map<string, SecretLookup>();
  const wanted = [...new Set(secretRefs(spec).map((r) => r.name))];
  await Promise.all(
    wanted.map(async (name) => {
      try {
        // PartialObjectMetadata: the V1Secret type fits it (metadata only, no data).
        const meta = await clients.core.readNamespacedSecret({ name, namespace }, metadataOnly);
        found.set(name, { state: "found", allowedHosts: meta.metadata?.annotations?.[ALLOWED_HOSTS_ANNOTATION] });
      } catch (e) {
        if (statusOf(e) !== 404) throw new Error(`cannot read the metadata of Secret ${namespace}/${name}, which a credential reads`, { cause: e });
        found.set(name, { state: "missing" });
      }
    }),
  );
  return found;
}
