// A real PTY without a native addon: a tiny Python relay (the standard library's pty module)
// forks the program on a pseudo-terminal and copies bytes between it and our pipes. Resize
// requests travel on fd 3 as "rows cols" lines so they never mix with terminal input.
import { spawn } from "node:child_process";
import type { Readable, Writable } from "node:stream";
import type { TerminalSize, Upstream, UpstreamEnd, UpstreamFactory } from "./upstream.js";

const RELAY = String.raw`
import os, sys, pty, select, struct, fcntl, termios, errno
cols, rows, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
def winsz(fd, r, c):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', r, c, 0, 0))
pid, master = pty.fork()
if pid == 0:
    winsz(0, rows, cols)
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
inputs = [master, 0, 3]
ctl = b''
while True:
    try:
        ready, _, _ = select.select(inputs, [], [])
    except InterruptedError:
        continue
    if master in ready:
        try:
            data = os.read(master, 65536)
        except OSError as e:
            if e.errno == errno.EIO:
                break
            raise
        if not data:
            break
        view = memoryview(data)
        while view:
            view = view[os.write(1, view):]
    if 0 in ready:
        data = os.read(0, 65536)
        if not data:
            inputs.remove(0)
        else:
            view = memoryview(data)
            while view:
                view = view[os.write(master, view):]
    if 3 in ready:
        data = os.read(3, 4096)
        if not data:
            inputs.remove(3)
        ctl += data
        while b'\n' in ctl:
            line, ctl = ctl.split(b'\n', 1)
            r, c = (int(v) for v in line.split())
            winsz(master, r, c)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) & 0xff)
`;

export interface LocalPtyOptions {
  command: string[];
  cwd?: string;
  env?: Record<string, string>;
  python?: string;
}

/** Returns a factory that starts `command` on a fresh local PTY each time it is called. */
export function localPtyFactory(options: LocalPtyOptions): UpstreamFactory {
  return (size) => Promise.resolve(startLocalPty(options, size));
}

export function startLocalPty(options: LocalPtyOptions, size: TerminalSize): Upstream {
  if (options.command.length === 0) throw new Error("local PTY needs a command to run");
  const child = spawn(
    options.python ?? "python3",
    ["-c", RELAY, String(size.cols), String(size.rows), ...options.command],
    {
      cwd: options.cwd,
      env: { TERM: "xterm-256color", ...(options.env ?? process.env), LANG: "C.UTF-8" },
      stdio: ["pipe", "pipe", "ignore", "pipe"],
    },
  );
  const stdin = child.stdin as Writable;
  const control = child.stdio[3] as Writable;
  const stdout = child.stdout as Readable;
  // A write after the relay exited fails with EPIPE; the end listener already reports it.
  stdin.on("error", () => undefined);
  control.on("error", () => undefined);
  const endListeners: Array<(end: UpstreamEnd) => void> = [];
  let ended: UpstreamEnd | undefined;
  const finish = (end: UpstreamEnd): void => {
    if (ended) return;
    ended = end;
    for (const listener of endListeners) listener(end);
  };
  child.on("error", (err) => finish({ reason: `local PTY could not start: ${err.message}` }));
  child.on("close", (code, signal) =>
    finish(code === null ? { reason: `killed by ${signal ?? "signal"}` } : { exitCode: code, reason: "exited" }),
  );
  return {
    write(data) {
      if (!ended) stdin.write(data);
    },
    resize({ cols, rows }) {
      if (!ended) control.write(`${rows} ${cols}\n`);
    },
    close() {
      if (!ended) child.kill("SIGKILL");
    },
    onData(listener) {
      stdout.on("data", listener);
    },
    onEnd(listener) {
      if (ended) listener(ended);
      else endListeners.push(listener);
    },
  };
}
