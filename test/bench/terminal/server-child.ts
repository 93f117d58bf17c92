// The session API for the terminal bench, in its own process as it runs in production, so the
// bench's clients do not share its event loop. Prints {"url"} once listening; SIGTERM stops it.
// Usage: server-child.ts local | cluster
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { staticTokenAuthenticator } from "../../../session-api/auth/static-tokens.js";
import { FakeAuthorizer, fakeAgentUser } from "../../../session-api/auth/fake-authorizer.js";
import { FakeSessionStore } from "../../../session-api/store/fake-store.js";
import { clusterBackend, type Backend } from "../../../session-api/backends.js";
import { startServer } from "../../../session-api/server.js";
import { localPtyFactory } from "../../../session-api/terminal/local-pty.js";

import { BENCH_TOKEN } from "./token.js";

async function backend(mode: string): Promise<Backend> {
  if (mode === "cluster") {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return { ...clusterBackend(kc), authorizer: new FakeAuthorizer([fakeAgentUser("bench")]) };
  }
  const home = mkdtempSync(join(tmpdir(), "agentbox-bench-"));
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, TERM: "xterm-256color", PS1: "$ " };
  const store = new FakeSessionStore();
  await store.createSession("bench", { name: "bench", spec: { agent: { image: "local" } } });
  const local = localPtyFactory({ command: ["sh"], env, cwd: home });
  return { store, authorizer: new FakeAuthorizer([fakeAgentUser("bench")]), upstreamFor: () => local, shellFor: () => local };
}

const mode = process.argv[2] ?? "local";
const server = await startServer(
  {
    ...(await backend(mode)),
    authenticator: staticTokenAuthenticator([{ token: BENCH_TOKEN, identity: { username: "bench", groups: [], via: "static" } }]),
    log: pino({ level: "warn" }),
    allowedOrigins: [],
    webUi: false,
  },
  0,
);
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));
