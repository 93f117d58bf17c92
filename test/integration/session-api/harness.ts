// Starts the real session API on loopback with the development pieces: static tokens, the FAKE
// authorizer and store, and a local PTY per session.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { chainAuthenticators, type Authenticator } from "../../../session-api/auth/identity.js";
import { staticTokenAuthenticator } from "../../../session-api/auth/static-tokens.js";
import { FakeAuthorizer, fakeAgentUser, fakeAgentViewer } from "../../../session-api/auth/fake-authorizer.js";
import { FakeSessionStore } from "../../../session-api/store/fake-store.js";
import { startServer, type RunningServer } from "../../../session-api/server.js";
import { localPtyFactory } from "../../../session-api/terminal/local-pty.js";

export const TOKENS = {
  alice: "alice-token-0123456789abcdef",
  bob: "bob-token-0123456789abcdef",
  mallory: "mallory-token-0123456789abcdef",
} as const;

export interface TestApi extends RunningServer {
  store: FakeSessionStore;
  authorizer: FakeAuthorizer;
}

export async function startTestApi(options: { extraAuthenticators?: Authenticator[]; allowedOrigins?: string[] } = {}): Promise<TestApi> {
  const store = new FakeSessionStore();
  store.addTemplate("team", "shell", { agent: { image: "agentbox/agent-shell:dev" }, locked: ["agent.image"] });
  // alice is an agent user, bob an agent viewer, mallory authenticates but has no role.
  const authorizer = new FakeAuthorizer([fakeAgentUser("alice"), fakeAgentViewer("bob")]);
  const authenticator = chainAuthenticators([
    staticTokenAuthenticator([
      { token: TOKENS.alice, identity: { username: "alice", groups: ["dev"], via: "static" } },
      { token: TOKENS.bob, identity: { username: "bob", groups: [], via: "static" } },
      { token: TOKENS.mallory, identity: { username: "mallory", groups: [], via: "static" } },
    ]),
    ...(options.extraAuthenticators ?? []),
  ]);
  const home = mkdtempSync(join(tmpdir(), "agentbox-api-"));
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, TERM: "xterm-256color", PS1: "$ " };
  const running = await startServer(
    {
      store,
      authenticator,
      authorizer,
      log: pino({ level: process.env.LOG_LEVEL ?? "silent" }),
      allowedOrigins: options.allowedOrigins ?? [],
      upstreamFor: () => localPtyFactory({ command: ["sh"], env, cwd: home }),
      shellFor: () => localPtyFactory({ command: ["sh"], env: { ...env, AGENTBOX_PRIVATE_SHELL: "1" }, cwd: home }),
      hub: { lingerMs: 60_000, pingIntervalMs: 5000 },
    },
    0,
  );
  return { ...running, store, authorizer };
}
