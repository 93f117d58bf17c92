/**
 * Annotation on an AgentSession holding the time (RFC 3339) of the last terminal activity: the
 * session API writes it, the operator's idle expiry reads it.
 */
export const LAST_ACTIVITY_ANNOTATION = "agentbox.dev/last-activity";
