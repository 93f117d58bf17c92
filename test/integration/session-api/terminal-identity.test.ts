// A terminal belongs to one session, by uid: a session deleted and created again under its name
// is another session and must not inherit the old one's screen, viewers or upstream.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { startTestApi, TOKENS } from "./harness.js";
import { TestViewer, until } from "./viewer-client.js";

const api = await startTestApi();
const wsBase = api.url.replace("http:", "ws:");
const viewers: TestViewer[] = [];
after(async () => {
  for (const viewer of viewers) viewer.close();
  await api.close();
});

const SPEC = { agent: { image: "x" } };

interface Opened {
  viewer: TestViewer;
  /** How the server closed it, within the usual deadline. */
  closed(): Promise<{ code: number; reason: string }>;
}

async function open(name: string): Promise<Opened> {
  const viewer = await TestViewer.connect(`${wsBase}/api/v1/namespaces/team/sessions/${name}/terminal`, { protocols: ["agentbox.v1", `agentbox.bearer.${TOKENS.alice}`] });
  viewers.push(viewer);
  let closed: { code: number; reason: string } | undefined;
  viewer.ws.once("close", (code, reason) => (closed = { code, reason: reason.toString() }));
  await until(() => viewer.snapshots === 1, `${name}: the first snapshot`);
  return {
    viewer,
    closed: async () => {
      await until(() => closed !== undefined, `${name}: the server to close the viewer`);
      return closed ?? { code: 0, reason: "" };
    },
  };
}

/** Everything a viewer was sent: snapshots and the live stream. */
const everything = (viewer: TestViewer): string =>
  viewer.controls.filter((c) => c.type === "snapshot").map((c) => String(c.data)).join("") + viewer.tail;

test("deleted and created again under its name (as kubectl would): a fresh screen with nothing of the old one; old viewers closed saying why", async () => {
  const first = await api.store.createSession("team", { name: "again", spec: SPEC });
  const old = await open("again");
  old.viewer.type("echo OLD-$((20+1))\r");
  await until(async () => (await old.viewer.text()).includes("OLD-21"), "the old session's output");
  await api.store.deleteSession("team", "again");
  const second = await api.store.createSession("team", { name: "again", spec: SPEC });
  assert.notEqual(second.metadata.uid, first.metadata.uid);

  const fresh = await open("again");
  assert.doesNotMatch(everything(fresh.viewer), /OLD-/, "the new session's viewer got no byte of the old screen");
  assert.deepEqual(await old.closed(), { code: 1000, reason: "the session was deleted and created again under its name; reconnect to open the new one" });
  fresh.viewer.type("echo NEW-$((1+1))\r");
  await until(async () => (await fresh.viewer.text()).includes("NEW-2"), "the new session's shell");
  assert.doesNotMatch(await fresh.viewer.text(), /OLD-21/);
  assert.equal(await api.terminalOf("team", "again"), api.hub.get(second.metadata.uid ?? ""), "a lookup by name finds the current session's terminal");
  assert.equal(api.hub.get(first.metadata.uid ?? ""), undefined, "the old session's terminal is gone");
});

test("an old session's terminal whose upstream ends after its name was taken again ends; it never attaches to the new session", async () => {
  await api.store.createSession("team", { name: "swap", spec: SPEC });
  const old = await open("swap");
  await api.store.deleteSession("team", "swap");
  await api.store.createSession("team", { name: "swap", spec: SPEC });
  old.viewer.type("exit\r");
  const closed = await old.closed();
  assert.equal(closed.code, 1000);
  assert.ok(old.viewer.controls.some((c) => c.type === "upstream" && c.state === "ended"), "told the upstream ended");
  assert.ok(!old.viewer.controls.some((c) => c.type === "upstream" && c.state === "reconnecting"), "never re-attached");
});

test("a session deleted through the REST API closes its viewers with a reason that says so", async () => {
  await api.store.createSession("team", { name: "gone", spec: SPEC });
  const viewer = await open("gone");
  const deleted = await fetch(`${api.url}/api/v1/namespaces/team/sessions/gone`, { method: "DELETE", headers: { authorization: `Bearer ${TOKENS.alice}` } });
  assert.equal(deleted.status, 200);
  assert.deepEqual(await viewer.closed(), { code: 1000, reason: "the session was deleted" });
  assert.deepEqual(api.hub.forSession("team/gone"), []);
  assert.deepEqual(api.store.writes.at(-1), { verb: "delete", namespace: "team", name: "gone", actor: { username: "alice", groups: ["dev"], via: "static" } });
});
