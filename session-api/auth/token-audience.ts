// The audience Kubernetes tokens for the session API are issued for, and what to tell a person
// whose token was issued for another (a plain `kubectl create token` is for the API server).

/** The default of --token-audience (chart value sessionApi.auth.kubernetes.audience). */
export const DEFAULT_TOKEN_AUDIENCE = "agentbox-session-api";

export const audienceHint = (audience: string): string =>
  `the Kubernetes token is not meant for the session API: make one for audience ${audience}, e.g. kubectl create token <serviceaccount> --audience ${audience}`;
