/**
 * Annotation on an AgentSession holding the time (RFC 3339) of the last terminal activity: the
 * session API writes it, the operator's idle expiry reads it.
 */
export const LAST_ACTIVITY_ANNOTATION = "agentbox.dev/last-activity";

/**
 * Annotation on an AgentSession naming who created it (their Kubernetes user name). The chart's
 * ValidatingAdmissionPolicy requires it to equal the requester's `request.userInfo.username` on
 * create (platform admins may set anything or nothing) and keeps it immutable, so it cannot be
 * forged; spec changes are allowed only to this user or a platform admin. The session API sets
 * it to the signed-in user it impersonates. See docs/adr/0004-credential-authorization.md.
 */
export const CREATED_BY_ANNOTATION = "agentbox.dev/created-by";

/**
 * Annotation on a Secret: comma-separated host patterns (`api.example.com`, `*.example.com`)
 * that the Secret's values may be sent to. The operator refuses any credential reading the
 * Secret whose `hosts` are not all covered (CredentialsResolved=False CredentialNotAllowed).
 */
export const ALLOWED_HOSTS_ANNOTATION = "agentbox.dev/allowed-hosts";

/** The verb on agentsessions.agentbox.dev that makes a requester a platform admin in a namespace. */
export const PLATFORM_ADMIN_VERB = "admin";

/** The virtual resource (group agentbox.dev) whose verb `use`, resourceName = path, lets a session name a Vault path. */
export const VAULT_PATHS_RESOURCE = "vaultpaths";
