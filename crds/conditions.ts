// Condition types and reasons an AgentSession's status carries: part of the API, documented in
// docs/api.md from this table, so each reason says which status it goes with and what to do.

export const CONDITION_TYPES = ["Ready", "PodScheduled", "CredentialsResolved", "TemplateResolved"] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];

export interface ReasonDoc {
  type: ConditionType;
  status: "True" | "False" | "Unknown";
  reason: string;
  meaning: string;
}

export const REASONS = {
  Running: { type: "Ready", status: "True", reason: "Running", meaning: "The agent container is running behind a started sidecar." },
  PodNotCreated: { type: "Ready", status: "False", reason: "PodNotCreated", meaning: "The operator is creating the session's objects; transient." },
  Starting: { type: "Ready", status: "False", reason: "Starting", meaning: "The pod exists; the sidecar or the agent is starting (image pull, startup probe)." },
  Finished: { type: "Ready", status: "False", reason: "Finished", meaning: "A Batch session's agent exited; see phase and exitCode." },
  PodFailed: { type: "Ready", status: "False", reason: "PodFailed", meaning: "The pod failed (eviction, node loss); the message carries the kubelet's reason." },
  Expired: { type: "Ready", status: "False", reason: "Expired", meaning: "ttlSeconds or idleTimeoutSeconds elapsed; the pod was removed. Create a new session to continue." },
  PodConflict: { type: "Ready", status: "False", reason: "PodConflict", meaning: "An object with the name the session needs exists and is not owned by it; rename the session or delete that object." },
  Scheduled: { type: "PodScheduled", status: "True", reason: "Scheduled", meaning: "The pod has a node." },
  Unschedulable: { type: "PodScheduled", status: "False", reason: "Unschedulable", meaning: "No node fits; the message carries the scheduler's explanation (resources, runtimeClassName, nodeSelector)." },
  PodPending: { type: "PodScheduled", status: "Unknown", reason: "PodPending", meaning: "The pod does not exist yet or has not been considered by the scheduler." },
  SidecarStarted: { type: "CredentialsResolved", status: "True", reason: "SidecarStarted", meaning: "The sidecar passed its startup probe, which it does only once every credential's source could be read." },
  SidecarStarting: { type: "CredentialsResolved", status: "Unknown", reason: "SidecarStarting", meaning: "The sidecar has not passed its startup probe yet." },
  CredentialsUnavailable: { type: "CredentialsResolved", status: "False", reason: "CredentialsUnavailable", meaning: "A credential cannot be wired into the pod, e.g. it reads from Vault and the operator has no Vault configured; the message says what to change. No pod is created." },
  SecretNotFound: { type: "CredentialsResolved", status: "False", reason: "SecretNotFound", meaning: "A credential's secretKeyRef names a Secret, or a key, that is missing or not readable in the session's namespace; the message names the credential, Secret and key, in the same words whichever is missing. While the Secret is missing no pod is created (its agentbox.dev/allowed-hosts rule cannot be checked yet); a missing key leaves the pod in FailedMount. Create it; the operator and the kubelet retry." },
  CredentialNotAllowed: { type: "CredentialsResolved", status: "False", reason: "CredentialNotAllowed", meaning: "A credential (the session's or its template's) is bound to hosts its Secret's annotation agentbox.dev/allowed-hosts does not cover; the message names the credential, the Secret's rule and the hosts outside it. No pod is created, and a running one is removed. Narrow the credential's hosts, or have the Secret's owner widen the rule." },
  TemplateRequired: { type: "CredentialsResolved", status: "False", reason: "TemplateRequired", meaning: "The platform requires every credential to come from an AgentTemplate (chart value credentials.requireTemplate) and the session's own spec carries credentials. No pod is created, and a running one is removed. Remove spec.credentials and name a template that provides them." },
  SidecarFailing: { type: "CredentialsResolved", status: "False", reason: "SidecarFailing", meaning: "The sidecar exited or keeps restarting, usually because a Vault path or Secret key cannot be read; `kubectl logs <pod> -c sidecar` says which." },
  PermissionDenied: { type: "CredentialsResolved", status: "False", reason: "PermissionDenied", meaning: "The sidecar has not started: Vault (or the Secret mount) refused to give it a credential; grant the session's role read on the path. The message names the credential." },
  PathMissing: { type: "CredentialsResolved", status: "False", reason: "PathMissing", meaning: "The sidecar has not started: a credential's Vault path (or Secret) does not exist; fix source.vault.path or create it." },
  KeyMissing: { type: "CredentialsResolved", status: "False", reason: "KeyMissing", meaning: "The sidecar has not started: the path exists but has no such key; fix source.vault.key (or the Secret key)." },
  LoginFailed: { type: "CredentialsResolved", status: "False", reason: "LoginFailed", meaning: "The sidecar has not started: its Vault Kubernetes-auth login was refused (role, audience, service account)." },
  Unreachable: { type: "CredentialsResolved", status: "False", reason: "Unreachable", meaning: "The sidecar has not started: it cannot reach Vault (address, NetworkPolicy egress, DNS)." },
  Sealed: { type: "CredentialsResolved", status: "False", reason: "Sealed", meaning: "The sidecar has not started: Vault is sealed; unseal it." },
  Unavailable: { type: "CredentialsResolved", status: "False", reason: "Unavailable", meaning: "The sidecar has not started: the credential source answered with an error it could not classify; the message carries it." },
  InvalidResponse: { type: "CredentialsResolved", status: "False", reason: "InvalidResponse", meaning: "The sidecar has not started: the credential source answered with something it could not use (not a string, empty)." },
  EgressNotAllowed: { type: "Ready", status: "False", reason: "EgressNotAllowed", meaning: "egress.allowPrivate (the session's or its template's) names a block outside the private ranges the platform allows (chart value egress.allowPrivateBound); the message names it. No pod is created, and a running one is removed. Remove it, or ask the platform team to widen the bound." },
  UpstreamCANotFound: { type: "Ready", status: "False", reason: "UpstreamCANotFound", meaning: "The operator is configured with an upstream-CA ConfigMap (chart value sessions.upstreamCaConfigMap) that does not exist in the session's namespace, so the pod cannot start; create it (key ca.crt) or unset the value." },
  TemplateFound: { type: "TemplateResolved", status: "True", reason: "TemplateFound", meaning: "The named AgentTemplate exists and the session keeps to its locks." },
  NoTemplate: { type: "TemplateResolved", status: "True", reason: "NoTemplate", meaning: "The session names no template." },
  TemplateNotFound: { type: "TemplateResolved", status: "False", reason: "TemplateNotFound", meaning: "spec.templateRef names an AgentTemplate that does not exist in the namespace; create it or fix the name. The session waits." },
  TemplateViolation: { type: "TemplateResolved", status: "False", reason: "TemplateViolation", meaning: "The session changes a part its template locks, or the merged spec is inconsistent; the message names each field." },
} as const satisfies Record<string, ReasonDoc>;

export type Reason = keyof typeof REASONS;
