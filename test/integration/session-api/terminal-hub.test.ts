import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { pino } from "pino";
import { TerminalHub } from "../../../session-api/terminal/hub.js";
import { localPtyFactory } from "../../../session-api/terminal/local-pty.js";
import type { Role } from "../../../session-api/terminal/protocol.js";
import { TestViewer, until } from "./viewer-client.js";

const home = mkdtempSync(join(tmpdir(), "agentbox-hub-"));
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, TERM: "xterm-256color", PS1: "$ " };
const activity: string[] = [];
const LIMITS = { highWatermark: 1 << 20, lowWatermark: 256 << 10, maxPending: 4 << 20 };
const hub = new TerminalHub({
  log: pino({ level: "silent" }),
  // All 20 viewers share this process's event loop with the server, so even "fast" ones briefly
  // trail by a few hundred KiB; these limits keep them clear of a resync while the paused one
  // still overflows.
  limits: LIMITS,
  activityIntervalMs: 60_000,
  pingIntervalMs: 60_000, // the slow viewer below must not be dropped as dead while it stalls
});

// /<session>/<role>: each test uses its own session, so they share one server.
const wss = new WebSocketServer({ noServer: true });
const server = createServer();
server.on("upgrade", (req, socket, head) => {
  const [, session = "", role = "rw"] = (req.url ?? "").split("/");
  wss.handleUpgrade(req, socket, head, (ws) => {
    hub.join(
      { session, uid: session },
      () => ({
        connect: localPtyFactory({ command: ["sh"], env, cwd: home }),
        state: () => Promise.resolve("running"),
        onActivity: () => activity.push(session),
      }),
      ws,
      role as Role,
    );
  });
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const base = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
const viewers: TestViewer[] = [];
const connect = async (path: string, parse = true): Promise<TestViewer> => {
  const viewer = await TestViewer.connect(`${base}/${path}`, { parse });
  viewers.push(viewer);
  return viewer;
};

after(() => {
  for (const viewer of viewers) viewer.close();
  hub.close();
  wss.close();
  server.close();
});

test("a late viewer's snapshot equals a continuously attached viewer's screen while vi runs", async () => {
  const file = join(home, "notes.txt");
  writeFileSync(file, Array.from({ length: 60 }, (_, i) => `line ${i} \u00e9t\u00e9 ${"*".repeat(i % 30)}`).join("\n"));
  const early = await connect("vi/rw");
  early.resize(100, 30);
  early.type("seq 1 200\r");
  await until(async () => (await early.text()).includes("200"), "seq output");
  early.type(`vi -u NONE -N ${file}\r`);
  await until(async () => (await early.text()).includes("line 20"), "vi to draw");
  early.type("20Gdd"); // move and edit so the screen is not just the file's first page
  early.type(":set number\r");
  await until(async () => /\d+ line 22/.test(await early.text()), "vi line numbers");
  const late = await connect("vi/ro");
  const server = hub.get("vi");
  assert.ok(server);
  let last = "";
  await until(async () => {
    const [a, b, s] = await Promise.all([early.screen(), late.screen(), server.snapshot()]);
    last = JSON.stringify({ a, b, s });
    return a === b && b === s;
  }, "late and early screens to agree").catch((err: Error) => assert.fail(`${err.message}: ${last.slice(0, 2000)}`));
  assert.equal(late.snapshots, 1);
  assert.match(await late.text(), /21 line 21/);
  assert.equal(late.term.cols, 100);
  assert.equal(late.term.rows, 30);
  early.type("\x1b:q!\r");
  await until(async () => (await late.text()).includes("seq 1 200"), "back at the shell");
  assert.equal(await late.screen(), await early.screen());
});

test("20 viewers, one slow: the others get every byte and the slow one is resynced", async () => {
  const rw = await connect("flood/rw", false);
  const fast = [rw];
  for (let i = 0; i < 18; i++) fast.push(await connect("flood/ro", false));
  const slow = await connect("flood/ro");
  await until(() => fast.every((v) => v.snapshots === 1) && slow.snapshots === 1, "all snapshots");
  slow.ws.pause(); // stop reading: its socket fills and the server must not wait for it
  const terminal = hub.get("flood");
  assert.ok(terminal);
  let maxHeld = 0;
  const sampler = setInterval(() => {
    for (const v of terminal.stats().viewers) maxHeld = Math.max(maxHeld, v.inflight + v.pending);
  }, 5);
  rw.type("seq 1 2000000; echo FLOOD-DONE-$((6*7))\r");
  await until(() => fast.every((v) => v.tail.includes("FLOOD-DONE-42")), "every fast viewer to see the end", 60_000);
  clearInterval(sampler);
  const stats = terminal.stats();
  const upstreamBytes = stats.upstreamBytes;
  assert.ok(upstreamBytes > 15_000_000, `flood produced ${upstreamBytes} bytes`);
  for (const v of fast) assert.ok(v.bytes >= upstreamBytes - 4096, `a fast viewer got ${v.bytes} of ${upstreamBytes}`);
  assert.deepEqual(stats.viewers.filter((v) => v.stale || v.resyncs > 0).map((v) => v.role), ["ro"], "only the slow viewer fell behind");
  // What the server holds for any viewer stays under high watermark + max pending + one chunk.
  const { highWatermark, maxPending } = LIMITS;
  assert.ok(maxHeld <= highWatermark + maxPending + (64 << 10), `a viewer held ${maxHeld} bytes`);
  assert.ok(slow.bytes < upstreamBytes, "the slow viewer really fell behind");
  slow.ws.resume();
  await until(async () => (await slow.text()).includes("FLOOD-DONE-42"), "the slow viewer to catch up", 30_000);
  assert.ok(slow.snapshots >= 2, "the slow viewer was resynced from a snapshot");
  assert.equal(await slow.screen(), await terminal.snapshot());
});

test("read-only input is dropped; the read-write viewer types and resizes", async () => {
  const rw = await connect("ro-check/rw");
  const ro = await connect("ro-check/ro");
  await until(() => rw.snapshots === 1 && ro.snapshots === 1, "snapshots");
  ro.type("echo RO-$((1+1))-RAN\r");
  ro.resize(50, 10);
  rw.type("echo RW-$((2+2))-RAN\r");
  await until(async () => (await rw.text()).includes("RW-4-RAN"), "rw command output");
  rw.resize(91, 27);
  rw.type("stty size\r");
  await until(async () => (await ro.text()).includes("27 91"), "stty to report the new size");
  const screen = await ro.text();
  assert.doesNotMatch(screen, /RO-/);
  assert.equal(ro.term.cols, 91);
  assert.equal(ro.term.rows, 27);
  assert.deepEqual(activity.filter((s) => s === "ro-check"), ["ro-check"], "activity recorded once (throttled)");
});

test("the upstream is re-attached when it drops while the session lives", async () => {
  const rw = await connect("reattach/rw");
  await until(() => rw.snapshots === 1, "snapshot");
  rw.type("exit\r");
  await until(() => rw.controls.some((c) => c.type === "upstream" && c.state === "reconnecting"), "reconnecting notice");
  await until(() => (hub.get("reattach")?.stats().attaches ?? 0) === 2, "second attach");
  rw.type("echo AGAIN-$((3*3))\r");
  await until(async () => (await rw.text()).includes("AGAIN-9"), "the new shell to answer");
});

test("a viewer that stops answering pings is dropped; one that answers stays", async () => {
  const pingHub = new TerminalHub({ log: pino({ level: "silent" }), pingIntervalMs: 100 });
  const pingServer = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  pingServer.on("connection", (ws, req) => {
    const role = req.url === "/ro" ? "ro" : "rw";
    pingHub.join({ session: "p", uid: "p" }, () => ({ connect: localPtyFactory({ command: ["sh"], env }), state: () => Promise.resolve("running") }), ws, role);
  });
  await new Promise((resolve) => pingServer.once("listening", resolve));
  const url = `ws://127.0.0.1:${(pingServer.address() as AddressInfo).port}`;
  const live = await TestViewer.connect(`${url}/rw`);
  const dead = await TestViewer.connect(`${url}/ro`);
  dead.ws.pause();
  let pongs = 0;
  live.ws.on("ping", () => pongs++);
  await until(() => pingHub.get("p")?.stats().viewers.length === 1, "the silent viewer to be dropped", 5000);
  assert.ok(pongs >= 2, "the live viewer was pinged");
  assert.equal(pingHub.get("p")?.stats().viewers[0]?.role, "rw");
  live.close();
  dead.ws.terminate();
  pingHub.close();
  pingServer.close();
});

test("a viewer that joins while the pod starts is attached as soon as it runs, not after a grown backoff", async () => {
  const delays: number[] = [];
  // Real waits, 20 times shorter than asked, so the policy's delays are recorded without the test taking them.
  const startHub = new TerminalHub({ log: pino({ level: "silent" }), sleep: (ms) => (delays.push(ms), new Promise((resolve) => setTimeout(resolve, ms / 20))) });
  const startServer = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  let state: "starting" | "running" = "starting";
  let attempts = 0;
  let failuresWhileRunning = 2; // the container restarts once more after the pod reports Running
  startServer.on("connection", (ws) => {
    const target = () => ({
      connect: async (size: { cols: number; rows: number }) => {
        attempts++;
        if (state === "starting") throw new Error("container agent is waiting to start: ContainerCreating");
        if (failuresWhileRunning-- > 0) throw new Error("container agent is restarting");
        return localPtyFactory({ command: ["sh"], env, cwd: home })(size);
      },
      state: () => Promise.resolve(state),
    });
    startHub.join({ session: "s", uid: "s" }, target, ws, "rw");
  });
  await new Promise((resolve) => startServer.once("listening", resolve));
  const viewer = await TestViewer.connect(`ws://127.0.0.1:${(startServer.address() as AddressInfo).port}`);
  try {
    // 12 failures: an exponential backoff from 250 ms would be waiting 10 s between attempts by now.
    await until(() => attempts >= 12, "attach attempts while the pod starts");
    state = "running";
    await until(() => viewer.controls.some((c) => c.type === "upstream" && c.state === "attached"), "the attach once the pod runs");
    const whileStarting = delays.slice(0, delays.indexOf(0));
    assert.ok(whileStarting.length >= 11, `delays while starting: ${JSON.stringify(delays)}`);
    assert.ok(whileStarting.every((d) => d <= 500), `attempts stay at most 500 ms apart while the pod starts: ${JSON.stringify(delays)}`);
    assert.deepEqual(delays.slice(whileStarting.length), [0, 500], "once running: at once, then backing off from the start");
    viewer.type("echo UP-$((2+3))\r");
    await until(async () => (await viewer.text()).includes("UP-5"), "the shell to answer");
  } finally {
    viewer.close();
    startHub.close();
    startServer.close();
  }
});

test("after a flood the screen could not keep up with, a late viewer's snapshot still equals a continuous viewer's screen", async () => {
  // Tight limits so the screen surely falls behind and is fed only the flood's tail.
  const floodHub = new TerminalHub({ log: pino({ level: "silent" }), backlog: { highBytes: 64 << 10, tailBytes: 256 << 10, parseBytesPerSecond: 256 << 10, burstBytes: 64 << 10 } });
  const floodServer = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  floodServer.on("connection", (ws, req) => {
    floodHub.join({ session: "f", uid: "f" }, () => ({ connect: localPtyFactory({ command: ["sh"], env, cwd: home }), state: () => Promise.resolve("running" as const) }), ws, req.url === "/ro" ? "ro" : "rw");
  });
  await new Promise((resolve) => floodServer.once("listening", resolve));
  const url = `ws://127.0.0.1:${(floodServer.address() as AddressInfo).port}`;
  const early = await TestViewer.connect(`${url}/rw`);
  try {
    await until(() => early.snapshots === 1, "snapshot");
    early.type("printf '\\033[1;32m'; seq 1 1500000; printf '\\033[0m'; echo FLOOD-$((5*5))-END\r");
    await until(() => early.tail.includes("FLOOD-25-END"), "the flood to end", 60_000);
    const terminal = floodHub.get("f");
    assert.ok(terminal);
    assert.ok(terminal.stats().screenSkippedBytes > 1_000_000, `the screen skipped ${terminal.stats().screenSkippedBytes} bytes`);
    assert.ok(early.bytes >= terminal.stats().upstreamBytes - 4096, "the live viewer got every byte");
    const late = await TestViewer.connect(`${url}/ro`);
    try {
      let last = "";
      await until(async () => {
        const [a, b] = await Promise.all([early.screen(), late.screen()]);
        last = JSON.stringify({ a: a.slice(-500), b: b.slice(-500) });
        return a === b && b.includes("FLOOD-25-END");
      }, "late and early screens to agree", 20_000).catch((err: Error) => assert.fail(`${err.message}: ${last}`));
      assert.match(await late.text(), /^1499990$/m, "scrollback holds the flood's last lines");
    } finally {
      late.close();
    }
  } finally {
    early.close();
    floodHub.close();
    floodServer.close();
  }
});

test("a recorded terminal writes an asciicast with what the viewer saw and the resizes", async () => {
  const castPath = join(home, "rec.cast");
  const recHub = new TerminalHub({ log: pino({ level: "silent" }) });
  const recServer = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  recServer.on("connection", (ws) => {
    recHub.join({ session: "r", uid: "r" }, () => ({ connect: localPtyFactory({ command: ["sh"], env, cwd: home }), state: () => Promise.resolve("running" as const), record: { path: castPath, maxBytes: 1 << 20 } }), ws, "rw");
  });
  await new Promise((resolve) => recServer.once("listening", resolve));
  const viewer = await TestViewer.connect(`ws://127.0.0.1:${(recServer.address() as AddressInfo).port}`);
  try {
    await until(() => viewer.snapshots === 1, "snapshot");
    viewer.resize(90, 20);
    viewer.type("echo REC-$((4*4))\r");
    await until(async () => (await viewer.text()).includes("REC-16"), "output");
  } finally {
    viewer.close();
    recHub.close();
    recServer.close();
  }
  let events: unknown[] = [];
  await until(() => {
    const lines = readFileSync(castPath, "utf8").trimEnd().split("\n");
    events = lines.slice(1).map((l) => JSON.parse(l) as unknown);
    return events.some((e) => Array.isArray(e) && e[1] === "o" && String(e[2]).includes("REC-16"));
  }, "the recording to hold the output");
  assert.deepEqual(JSON.parse(readFileSync(castPath, "utf8").split("\n")[0] ?? "").version, 2);
  assert.ok(events.some((e) => Array.isArray(e) && e[1] === "r" && e[2] === "90x20"), "the resize is recorded");
});
