// Entry point: node dist/session-api/main.js [flags]; see --help.
import { KubeConfig } from "@kubernetes/client-node";
import { parseConfig, HELP, type Config } from "./config.js";
import { createLogger, type Logger } from "./log.js";
import { chainAuthenticators, type Authenticator, type Authorizer } from "./auth/identity.js";
import { loadStaticTokens, parseStaticTokens } from "./auth/static-tokens.js";
import { oidcAuthenticator } from "./auth/oidc.js";
import { subjectAccessReviewAuthorizer, tokenReviewAuthenticator } from "./auth/kubernetes.js";
import { FakeAuthorizer, fakeAgentUser } from "./auth/fake-authorizer.js";
import { FakeSessionStore } from "./store/fake-store.js";
import { kubeSessionStore } from "./store/kube-store.js";
import type { AgentSession, SessionStore } from "./store/store.js";
import { startServer, type ServerDeps } from "./server.js";
import { kubeStreamFactory } from "./terminal/kube-stream.js";
import { localPtyFactory } from "./terminal/local-pty.js";
import type { UpstreamFactory } from "./terminal/upstream.js";
import { readFile } from "node:fs/promises";

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
        ...(config.oidc.jwksUrl ? { jwksUrl: config.oidc.jwksUrl } : {}),
      }),
    );
  }
  if (config.authKubernetes && kc) chain.push(tokenReviewAuthenticator(kc));
  return chainAuthenticators(chain);
}

type Backend = Pick<ServerDeps, "store" | "authorizer" | "upstreamFor" | "shellFor">;

async function devDeps(config: Config, log: Logger): Promise<Backend> {
  const store = new FakeSessionStore();
  store.addTemplate("default", "shell", { agent: { image: "local-shell" }, locked: [] });
  // Every user in the token file is an agent user: this mode is for one developer's machine.
  const users = parseStaticTokens(await readFile(config.staticTokenFile ?? "", "utf8")).map((e) => e.identity.username);
  const authorizer: Authorizer = new FakeAuthorizer(users.map(fakeAgentUser));
  log.warn("running with the in-memory FAKE store and authorizer (--dev-fake): for development only");
  const shell = localPtyFactory({ command: [config.devShell] });
  return { store, authorizer, upstreamFor: () => shell, shellFor: () => shell };
}

// Prefer bash when the image has it; every agent image has sh.
const SHELL = ["/bin/sh", "-c", "command -v bash >/dev/null 2>&1 && exec bash -l || exec sh -l"];

function clusterDeps(config: Config, kc: KubeConfig): Backend {
  const store: SessionStore = kubeSessionStore(kc);
  const stream = (session: AgentSession, mode: "attach" | "exec"): UpstreamFactory => (size) => {
    const pod = session.status?.podName;
    const namespace = session.metadata.namespace;
    if (!pod || !namespace) return Promise.reject(new Error(`session ${session.metadata.name} has no pod yet`));
    return kubeStreamFactory(kc, { namespace, pod, container: config.agentContainer, mode, ...(mode === "exec" ? { command: SHELL } : {}) })(size);
  };
  return {
    store,
    authorizer: subjectAccessReviewAuthorizer(kc),
    upstreamFor: (session) => stream(session, "attach"),
    shellFor: (session) => stream(session, "exec"),
  };
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
    kc = new KubeConfig();
    kc.loadFromDefault();
  }
  const parts = kc ? clusterDeps(config, kc) : await devDeps(config, log);
  const running = await startServer(
    { ...parts, authenticator: await authenticators(config, kc), log, allowedOrigins: config.allowedOrigins },
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
