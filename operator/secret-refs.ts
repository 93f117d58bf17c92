// A credential read from a Kubernetes Secret that does not exist (or lacks the key) leaves the
// pod in FailedMount before the sidecar ever runs, so the sidecar's log says nothing: the
// operator looks up whether the Secrets exist (metadata only: it never reads a real value) and
// what the kubelet said when mounting them (FailedMount events name a missing key).
import type { EffectiveSpec } from "../crds/merge.js";

export interface SecretRef {
  credential: string;
  name: string;
  key: string;
}

/** The Secret references of a spec's credentials, in order. */
export function secretRefs(spec: Pick<EffectiveSpec, "credentials">): SecretRef[] {
  return (spec.credentials ?? []).flatMap((c) => (c.source.secretKeyRef ? [{ credential: c.name, name: c.source.secretKeyRef.name, key: c.source.secretKeyRef.key }] : []));
}

/** The volume a credential's Secret is mounted from (see desired.ts). */
export const credentialVolume = (credential: string): string => `cred-${credential}`;

/**
 * Credentials whose Secret exists but lacks the key, from the messages of the pod's FailedMount
 * events, e.g. `MountVolume.SetUp failed for volume "cred-x" : references non-existent secret key: k`.
 */
export function missingKeys(refs: readonly SecretRef[], failedMountMessages: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const m of failedMountMessages) {
    if (!/non-existent secret key/i.test(m)) continue;
    for (const r of refs) if (m.includes(`volume "${credentialVolume(r.credential)}"`)) out.add(r.credential);
  }
  return out;
}

/**
 * The CredentialsResolved message for references that cannot be mounted, or undefined when
 * every one can. `exists` maps a Secret's name to whether it exists; a name missing from the
 * map was not looked up and says nothing. `keyMissing` holds credentials whose key is missing.
 * A missing Secret and a missing key read the same (ADR 0004): the status says which reference
 * cannot be used, never which half of it exists.
 */
export function missingSecrets(refs: readonly SecretRef[], exists: ReadonlyMap<string, boolean>, keyMissing: ReadonlySet<string>, namespace: string): string | undefined {
  const problems = refs.filter((r) => exists.get(r.name) === false || keyMissing.has(r.credential));
  return problems.length === 0 ? undefined : unreadableMessage(problems, namespace);
}

/** The one text for credential Secrets that cannot be used, whether the Secret or its key is missing. */
export function unreadableMessage(refs: readonly SecretRef[], namespace: string): string {
  const each = refs.map((r) => `credential ${r.credential}: Secret ${r.name} key ${r.key} is missing or not readable`);
  return `${each.join("; ")} in namespace ${namespace}; the session's sidecar cannot start without it: create the Secret with that key (kubectl create secret generic <name> --from-literal=<key>=...) and the operator and the kubelet retry`;
}
