// `agentbox attach` from a real terminal: the CLI runs on a PTY (the same Python relay the
// session API uses for local terminals), so raw mode, window size and resize are the real thing.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { startLocalPty } from "../../../session-api/terminal/local-pty.js";
import type { Upstream, UpstreamEnd } from "../../../session-api/terminal/upstream.js";
import { NAMESPACE, startPlatform, TOKENS, until, type TestPlatform } from "./harness.js";

const ROOT = resolve(import.meta.dirname, "../../..");
let api: TestPlatform;
before(async () => {
  api = await startPlatform();
});
after(async () => {
  await api.close();
});

test("attach on a terminal: raw keystrokes, the window's size, resize, Ctrl-] detaches", async () => {
  await api.store.createSession(NAMESPACE, { name: "tty-1", spec: { agent: { image: "agentbox/agent-shell:dev" }, lifecycle: { mode: "Interactive" } } });
  api.store.setPhase(NAMESPACE, "tty-1", "Running");
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", TERM: "xterm-256color", AGENTBOX_URL: api.url, AGENTBOX_TOKEN: TOKENS.alice, AGENTBOX_NAMESPACE: NAMESPACE };
  const pty: Upstream = startLocalPty({ command: [process.execPath, "--import", "tsx", join(ROOT, "cli/main.ts"), "attach", "tty-1"], env, cwd: ROOT }, { cols: 100, rows: 30 });
  let screen = "";
  pty.onData((chunk) => (screen += chunk.toString("utf8")));
  const ended = new Promise<UpstreamEnd>((resolveEnd) => pty.onEnd(resolveEnd));
  // The size travels on the WebSocket ahead of the keystrokes, but the remote PTY may apply it a
  // moment after the shell reads them: ask again until the answer converges.
  const sizeBecomes = async (size: string): Promise<void> => {
    let asked = 0;
    await until(`the remote terminal to be ${size}`, () => {
      if (new RegExp(`\\b${size}\\b`).test(screen)) return true;
      if (asked++ % 40 === 0) pty.write(Buffer.from("stty size\r"));
      return false;
    });
  };
  try {
    await until("the attached banner", () => screen.includes("attached; detach with Ctrl-]"));
    // The CLI sends its window's size as soon as it is attached.
    await until("the session's terminal to take the CLI's window size", async () => {
      const size = (await api.terminalOf(NAMESPACE, "tty-1"))?.size;
      return size?.cols === 100 && size.rows === 30;
    });
    // Raw mode: a carriage return (what a terminal sends for Enter) reaches the remote shell as is.
    pty.write(Buffer.from("echo ready-$((40+2))\r"));
    await until("the shell's answer", () => screen.includes("ready-42"));
    // The local PTY relay behind the session API sets its starting size from a forked child that
    // can lose a race with the first resize, so the remote size is checked after window changes.
    pty.resize({ cols: 110, rows: 35 });
    await sizeBecomes("35 110");
    pty.resize({ cols: 90, rows: 25 });
    await sizeBecomes("25 90");
    pty.write(Buffer.from([0x1d]));
    const end = await ended;
    assert.equal(end.exitCode, 0, screen.slice(-2000));
    assert.match(screen, /detached from tty-1/);
  } catch (err) {
    throw new Error(`${(err as Error).message}; the screen ends with:\n${screen.slice(-1500)}`, { cause: err });
  } finally {
    pty.close();
  }
});
