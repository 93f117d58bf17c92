// The session API for the terminal bench, in its own process as it runs in production, so the
// bench's clients do not share its event loop. Prints {"url"} once listening; SIGTERM stops it.
// Its upstreams are probed at the session API's edge: for every single byte typed, the time from
// writing it upstream to its echo arriving back is printed as {"upstreamEchoMs"}, so the bench can
// split a keystroke's round trip into the part beyond the session API (API server, kubelet,
// runtime, program) and the part in it.
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
import type { UpstreamFactory } from "../../../session-api/terminal/upstream.js";
import type { AgentSession } from "../../../session-api/store/store.js";

import { BENCH_TOKEN } from "./token.js";

function probed(factory: UpstreamFactory): UpstreamFactory {
  return async (size) => {
    const upstream = await factory(size);
    let typed: { byte: number; at: bigint } | undefined;
    // Registered before the hub's listener: the time is taken before the hub handles the chunk.
    upstream.onData((chunk) => {
      if (!typed || !chunk.includes(typed.byte)) return;
      process.stdout.write(`${JSON.stringify({ upstreamEchoMs: Number(process.hrtime.bigint() - typed.at) / 1e6 })}\n`);
      typed = undefined;
    });
    return {
      ...upstream,
      write(data) {
        const byte = typeof data === "string" ? Buffer.from(data) : data;
        typed = byte.length === 1 && byte[0] !== undefined ? { byte: byte[0], at: process.hrtime.bigint() } : undefined;
        upstream.write(data);
      },
    };
  };
}

async function backend(mode: string): Promise<Backend> {
  if (mode === "cluster") {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    const { store, upstreamFor, shellFor } = clusterBackend(kc);
    return {
      store,
      authorizer: new FakeAuthorizer([fakeAgentUser("bench")]),
      upstreamFor: (session) => probed(upstreamFor(session)),
      ...(shellFor ? { shellFor: (session: AgentSession) => probed(shellFor(session)) } : {}),
    };
  }
  const home = mkdtempSync(join(tmpdir(), "agentbox-bench-"));
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, TERM: "xterm-256color", PS1: "$ " };
  const store = new FakeSessionStore();
  await store.createSession("bench", { name: "bench", spec: { agent: { image: "local" } } });
  const local = probed(localPtyFactory({ command: ["sh"], env, cwd: home }));
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
