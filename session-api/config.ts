// The session API's configuration: command-line flags (as the Helm chart passes them) and two
// environment variables, read once at start-up into one validated object.
import { parseArgs } from "node:util";
import { z } from "zod";
import { DEFAULT_OIDC_PREFIX } from "./auth/oidc-claims.js";
import { DEFAULT_TOKEN_AUDIENCE } from "./auth/token-audience.js";

export const HELP = `Usage: node dist/session-api/main.js [flags]

Serves the agentbox session API (REST under /api/v1, terminal WebSockets) and its web UI.

  --port=N                    listen port (default 8080)
  --host=ADDR                 listen address (default 0.0.0.0)
  --allowed-origin=URL        an origin whose browsers may open terminals; repeatable.
                              With none, only the server's own origin (its web UI) may.
  --auth-kubernetes           accept Kubernetes bearer tokens (TokenReview) ...
  --token-audience=AUD        ... issued for this audience only (default agentbox-session-api):
                              kubectl create token <serviceaccount> --audience agentbox-session-api
  --oidc-issuer=URL           accept OIDC JWTs from this issuer ...
  --oidc-audience=AUD         ... for this audience (both required together)
  --oidc-username-claim=C     claim holding the user name (default sub)
  --oidc-groups-claim=C       claim holding the groups (default groups)
  --oidc-username-prefix=P    put before OIDC user names (default "oidc:"; "-" for none)
  --oidc-groups-prefix=P      put before OIDC groups (default "oidc:"; "-" for none)
                              Names starting with "system:" are refused either way; with
                              --oidc-username-claim=email, email_verified must be true.
  --oidc-jwks-url=URL         JWKS location (default: from the issuer's discovery document)
  --static-token-file=PATH    development tokens, one "token,user[,group...]" per line
  --agent-container=NAME      container to attach to in session pods (default agent)
  --dev-fake                  development without a cluster: an in-memory FAKE store and
                              authorizer (every authenticated user is an agent user) and a
                              local shell per session; needs --static-token-file
  --dev-shell=CMD             the local shell for --dev-fake (default /bin/sh)
  --recordings-dir=DIR        record the terminals of sessions annotated agentbox.dev/record=true
                              as asciicast v2 files here (default: no recording)
  --recording-max-bytes=N     size bound of one recording (default 67108864)
  --help                      show this text

Environment: LOG_LEVEL (default info), POD_NAMESPACE (informational).
Authorization always goes through SubjectAccessReview, except with --dev-fake.`;

const Url = z.url({ protocol: /^https?$/ });
// As kube-apiserver's --oidc-username-prefix: "-" means no prefix.
const Prefix = z
  .string()
  .default(DEFAULT_OIDC_PREFIX)
  .transform((prefix) => (prefix === "-" ? "" : prefix));

export const Config = z
  .object({
    port: z.coerce.number().int().min(0).max(65535).default(8080),
    host: z.string().min(1).default("0.0.0.0"),
    allowedOrigins: z.array(z.url({ protocol: /^https?$/ }).transform((u) => new URL(u).origin)).default([]),
    authKubernetes: z.boolean().default(false),
    tokenAudience: z.string().min(1).default(DEFAULT_TOKEN_AUDIENCE),
    oidc: z
      .object({
        issuer: Url,
        audience: z.string().min(1),
        usernameClaim: z.string().min(1).default("sub"),
        groupsClaim: z.string().min(1).default("groups"),
        usernamePrefix: Prefix,
        groupsPrefix: Prefix,
        jwksUrl: Url.optional(),
      })
      .optional(),
    staticTokenFile: z.string().min(1).optional(),
    agentContainer: z.string().min(1).max(63).default("agent"),
    devFake: z.boolean().default(false),
    devShell: z.string().min(1).default("/bin/sh"),
    recordingsDir: z.string().min(1).optional(),
    recordingMaxBytes: z.coerce.number().int().min(1024).max(2 ** 40).default(64 << 20),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .refine((c) => c.authKubernetes || c.oidc || c.staticTokenFile, {
    message: "enable at least one authenticator: --auth-kubernetes, --oidc-issuer/--oidc-audience or --static-token-file",
  })
  .refine((c) => !c.devFake || c.staticTokenFile, { message: "--dev-fake needs --static-token-file to sign people in" });
export type Config = z.output<typeof Config>;

export type ParsedArgs = { help: true } | { help: false; config: Config };

/** Parses argv and the environment; throws an Error whose message says what to fix. */
export function parseConfig(argv: string[], env: NodeJS.ProcessEnv): ParsedArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: "boolean" },
        port: { type: "string" },
        host: { type: "string" },
        "allowed-origin": { type: "string", multiple: true },
        "auth-kubernetes": { type: "boolean" },
        "token-audience": { type: "string" },
        "oidc-issuer": { type: "string" },
        "oidc-audience": { type: "string" },
        "oidc-username-claim": { type: "string" },
        "oidc-groups-claim": { type: "string" },
        "oidc-username-prefix": { type: "string" },
        "oidc-groups-prefix": { type: "string" },
        "oidc-jwks-url": { type: "string" },
        "static-token-file": { type: "string" },
        "agent-container": { type: "string" },
        "dev-fake": { type: "boolean" },
        "dev-shell": { type: "string" },
        "recordings-dir": { type: "string" },
        "recording-max-bytes": { type: "string" },
      },
    }));
  } catch (err) {
    throw new Error(`${(err as Error).message}; see --help`, { cause: err });
  }
  if (values.help) return { help: true };
  const oidcGiven = values["oidc-issuer"] !== undefined || values["oidc-audience"] !== undefined;
  const parsed = Config.safeParse({
    port: values.port,
    host: values.host,
    allowedOrigins: values["allowed-origin"],
    authKubernetes: values["auth-kubernetes"],
    tokenAudience: values["token-audience"],
    oidc: oidcGiven
      ? {
          issuer: values["oidc-issuer"],
          audience: values["oidc-audience"],
          usernameClaim: values["oidc-username-claim"],
          groupsClaim: values["oidc-groups-claim"],
          usernamePrefix: values["oidc-username-prefix"],
          groupsPrefix: values["oidc-groups-prefix"],
          jwksUrl: values["oidc-jwks-url"],
        }
      : undefined,
    staticTokenFile: values["static-token-file"],
    agentContainer: values["agent-container"],
    devFake: values["dev-fake"],
    devShell: values["dev-shell"],
    recordingsDir: values["recordings-dir"],
    recordingMaxBytes: values["recording-max-bytes"],
    logLevel: env.LOG_LEVEL === "" ? undefined : env.LOG_LEVEL,
  });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message));
    throw new Error(`invalid configuration: ${problems.join("; ")}; see --help`);
  }
  return { help: false, config: parsed.data };
}
