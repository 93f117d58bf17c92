// Entry point: node dist/session-api/main.js [flags]; see --help.
import type { KubeConfig } from "@kubernetes/client-node";
import { parseConfig, HELP, type Config } from "./config.js";
import { createLogger } from "./log.js";
import { chainAuthenticators, type Authenticator } from "./auth/identity.js";
import { loadStaticTokens } from "./auth/static-tokens.js";
import { oidcAuthenticator } from "./auth/oidc.js";
import { clusterAuthenticator } from "./auth/kubernetes.js";
import { PooledKubeConfig } from "./kube-config.js";
import { startServer } from "./server.js";
import { clusterBackend, devBackend } from "./backends.js";

async function authenticators(config: Config, kc: KubeConfig | undefined): Promise<Authenticator> {
  const chain: Authenticator[] = [];
  if (config.staticTokenFile) chain.push(await loadStaticTokens(config.staticTokenFile));
  if (config.oidc) {
    chain.push(
      await oidcAuthenticator({
        issuer: config.oidc.issuer,
        audience: config.oidc.audience,
        usernameClaim: config.oidc.usernameClaim,
        groupsClaim: config.oidc.groupsClaim,
        usernamePrefix: config.oidc.usernamePrefix,
        groupsPrefix: config.oidc.groupsPrefix,
        ...(config.oidc.jwksUrl ? { jwksUrl: config.oidc.jwksUrl } : {}),
      }),
    );
  }
  if (config.authKubernetes && kc) chain.push(clusterAuthenticator(kc, config.tokenAudience));
  return chainAuthenticators(chain);
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseConfig(process.argv.slice(2), process.env);
  } catch (err) {
    process.stderr.write(`session-api: ${(err as Error).message}\n`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(`${HELP}\n`);
    return;
  }
  const config = parsed.config;
  const log = createLogger(config.logLevel);
  let kc: KubeConfig | undefined;
  if (!config.devFake) {
    kc = new PooledKubeConfig();
    kc.loadFromDefault();
  }
  const parts = kc ? clusterBackend(kc, config.agentContainer) : await devBackend(config.staticTokenFile ?? "", config.devShell, log);
  const running = await startServer(
    {
      ...parts,
      authenticator: await authenticators(config, kc),
      log,
      allowedOrigins: config.allowedOrigins,
      ...(config.recordingsDir ? { recordings: { dir: config.recordingsDir, maxBytes: config.recordingMaxBytes } } : {}),
    },
    config.port,
    config.host,
  );
  log.info({ url: running.url, origins: config.allowedOrigins, podNamespace: process.env.POD_NAMESPACE }, "session API listening");
  const stop = (signal: string): void => {
    log.info({ signal }, "shutting down: closing terminals and connections");
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`session-api: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
