// A terminal opened before its session runs: checked and upgraded at once, told it is waiting,
// and attached the moment a watch sees the session Running (no polling, no re-read of the session).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { staticTokenAuthenticator } from "../../../session-api/auth/static-tokens.js";
import { FakeAuthorizer, fakeAgentUser } from "../../../session-api/auth/fake-authorizer.js";
import { FakeSessionStore } from "../../../session-api/store/fake-store.js";
import { startServer } from "../../../session-api/server.js";
import { localPtyFactory } from "../../../session-api/terminal/local-pty.js";
import type { Upstream, UpstreamEnd } from "../../../session-api/terminal/upstream.js";
import { TestViewer, until } from "./viewer-client.js";

const TOKEN = "early-token-0123456789abcdef";

function refusedAfterOpen(reason: string): Upstream {
  const ends: Array<(end: UpstreamEnd) => void> = [];
  setImmediate(() => {
    for (const end of ends) end({ reason });
  });
  return { write: () => undefined, resize: () => undefined, close: () => undefined, onData: () => undefined, onEnd: (listener) => void ends.push(listener) };
}
const home = mkdtempSync(join(tmpdir(), "agentbox-early-"));
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, TERM: "xterm-256color", PS1: "$ " };

class CountingStore extends FakeSessionStore {
  reads = 0;
  override getSession(namespace: string, name: string): ReturnType<FakeSessionStore["getSession"]> {
    this.reads++;
    return super.getSession(namespace, name);
  }
}

const store = new CountingStore();
store.initialPhase = "Pending";
const attaches: Array<string | undefined> = [];
const api = await startServer(
  {
    store,
    authenticator: staticTokenAuthenticator([{ token: TOKEN, identity: { username: "alice", groups: [], via: "static" } }]),
    authorizer: new FakeAuthorizer([fakeAgentUser("alice")]),
    log: pino({ level: "silent" }),
    allowedOrigins: [],
    // As pods/attach does: nothing to attach to until the session's pod runs.
    upstreamFor: (session) => (size) => {
      attaches.push(session.status?.phase);
      // pods/attach to a container not created yet: the stream opens, then ends with the refusal.
      if (session.status?.phase === "Starting") return Promise.resolve(refusedAfterOpen("container agent not found in pod"));
      if (session.status?.phase !== "Running") return Promise.reject(new Error(`session ${session.metadata.name} has no running pod yet`));
      return localPtyFactory({ command: ["sh"], env, cwd: home })(size);
    },
    hub: { lingerMs: 60_000 },
    webUi: false,
  },
  0,
);
after(() => api.close());

const terminalUrl = (name: string): string => `${api.url.replace("http", "ws")}/api/v1/namespaces/team/sessions/${name}/terminal`;
const connect = (name: string): Promise<TestViewer> => TestViewer.connect(terminalUrl(name), { protocols: ["agentbox.v1", `agentbox.bearer.${TOKEN}`] });
const states = (viewer: TestViewer): unknown[] => viewer.controls.filter((c) => c.type === "upstream").map((c) => c.state);

test("a terminal opened while the session is Pending waits on a watch and attaches the moment it runs", async () => {
  await store.createSession("team", { name: "early", spec: { agent: { image: "x" } } });
  const viewer = await connect("early");
  try {
    await until(() => states(viewer).includes("waiting"), "the waiting status");
    await until(() => store.watching("team", "early") === 1, "a watch on the starting session");
    const late = await connect("early");
    await until(() => states(late).includes("waiting"), "the waiting status for a viewer joining later");
    late.close();
    // The upgrade's read, then nothing: the failed attach used it, and the watch took over.
    assert.equal(store.reads, 2, "one read per viewer's upgrade, none while waiting");
    const readsWhileWaiting = store.reads;
    store.setPhase("team", "early", "Starting");
    store.setPhase("team", "early", "Running");
    await until(() => states(viewer).includes("attached"), "the attach once the session runs");
    assert.deepEqual(attaches, ["Pending", "Running"], "one attempt while Pending, then one with the session the watch delivered");
    assert.equal(store.reads, readsWhileWaiting, "the attach did not read the session again");
    assert.equal(store.watching("team", "early"), 0, "the watch ended with the wait");
    viewer.type("echo EARLY-$((6*7))\r");
    await until(async () => (await viewer.text()).includes("EARLY-42"), "the shell to answer");
  } finally {
    viewer.close();
  }
});

test("an attach the runtime refuses right after it opens is waited out like a failed one, not re-opened at once", async () => {
  await store.createSession("team", { name: "starting", spec: { agent: { image: "x" } } });
  store.setPhase("team", "starting", "Starting");
  attaches.length = 0;
  const viewer = await connect("starting");
  try {
    await until(() => states(viewer).includes("waiting"), "the waiting status");
    await until(() => store.watching("team", "starting") === 1, "a watch on the starting session");
    // Re-opened at once, the refused attach would have been tried again and again by now.
    const triedWhileStarting = attaches.length;
    assert.ok(triedWhileStarting <= 2, `attaches while starting: ${JSON.stringify(attaches)}`);
    assert.ok(!states(viewer).includes("attached"), `a refused attach is never announced: ${JSON.stringify(states(viewer))}`);
    store.setPhase("team", "starting", "Running");
    await until(() => attaches.at(-1) === "Running" && states(viewer).at(-1) === "attached", "the attach once it runs");
    viewer.type("echo STARTED-$((6*7))\r");
    await until(async () => (await viewer.text()).includes("STARTED-42"), "the shell to answer");
  } finally {
    viewer.close();
  }
});

test("a session deleted while its terminal waits ends the terminal", async () => {
  await store.createSession("team", { name: "never", spec: { agent: { image: "x" } } });
  const viewer = await connect("never");
  let closed: number | undefined;
  viewer.ws.once("close", (code) => (closed = code));
  await until(() => states(viewer).includes("waiting"), "the waiting status");
  await until(() => store.watching("team", "never") === 1, "a watch on the starting session");
  await store.deleteSession("team", "never");
  // Well before the 30 s a wait for a starting session lasts: the deletion itself ends it.
  await until(() => closed !== undefined, "the terminal to end", 10_000);
  assert.equal(closed, 1000);
  assert.deepEqual(states(viewer), ["waiting", "ended"]);
});

test("a finished session's terminal is refused before the upgrade", async () => {
  await store.createSession("team", { name: "done", spec: { agent: { image: "x" } } });
  store.setPhase("team", "done", "Succeeded");
  await assert.rejects(connect("done"), /HTTP 409/);
});
