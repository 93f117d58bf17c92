// The screen worker: parses every session's output into a headless xterm off the main thread,
// so parsing never competes with the byte fan-out to viewers, and serializes on request.
import { parentPort } from "node:worker_threads";
import headless from "@xterm/headless";
import serializeAddon from "@xterm/addon-serialize";
import type { FromWorker, ToWorker } from "./screen-protocol.js";

interface Screen {
  term: headless.Terminal;
  serializer: serializeAddon.SerializeAddon;
}

const screens = new Map<number, Screen>();
const port = parentPort;
if (!port) throw new Error("screen-worker must run in a worker thread");
const post = (message: FromWorker): void => port.postMessage(message);

port.on("message", (message: ToWorker) => {
  if (message.type === "create") {
    const term = new headless.Terminal({ cols: message.cols, rows: message.rows, scrollback: message.scrollback, allowProposedApi: true });
    const serializer = new serializeAddon.SerializeAddon();
    // The addon's typings name the browser Terminal; the headless one has the same surface.
    term.loadAddon(serializer as unknown as headless.ITerminalAddon);
    screens.set(message.id, { term, serializer });
    return;
  }
  const screen = screens.get(message.id);
  if (!screen) return;
  const { term, serializer } = screen;
  switch (message.type) {
    case "write": {
      const bytes = message.data.length;
      term.write(message.data, () => post({ type: "parsed", id: message.id, bytes }));
      return;
    }
    case "resize":
      // Queued behind earlier writes, so it happens at the same point of the stream for everyone.
      term.write("", () => term.resize(message.cols, message.rows));
      return;
    case "snapshot":
      term.write("", () =>
        post({ type: "snapshot", id: message.id, request: message.request, cols: term.cols, rows: term.rows, data: serializer.serialize() }),
      );
      return;
    case "dispose":
      term.dispose();
      screens.delete(message.id);
      return;
  }
});
