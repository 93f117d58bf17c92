// A test viewer: a real WebSocket client that keeps its own headless terminal, applying
// snapshots and the live stream exactly as the browser does.
import headless from "@xterm/headless";
import serializeAddon from "@xterm/addon-serialize";
import WebSocket from "ws";

export interface ViewerOptions {
  /** Keep a terminal (default) or only count bytes and remember the tail of the stream. */
  parse?: boolean;
  protocols?: string[];
  headers?: Record<string, string>;
}

export class TestViewer {
  readonly term = new headless.Terminal({ cols: 120, rows: 40, scrollback: 1000, allowProposedApi: true });
  private readonly serializer = new serializeAddon.SerializeAddon();
  bytes = 0;
  snapshots = 0;
  tail = "";
  controls: Array<Record<string, unknown>> = [];

  private constructor(readonly ws: WebSocket, private readonly parse: boolean) {
    this.term.loadAddon(this.serializer as unknown as headless.ITerminalAddon);
    ws.on("message", (data: Buffer, isBinary) => this.receive(data, isBinary));
  }

  static async connect(url: string, options: ViewerOptions = {}): Promise<TestViewer> {
    const ws = new WebSocket(url, options.protocols ?? ["agentbox.v1"], { headers: options.headers });
    const viewer = new TestViewer(ws, options.parse ?? true);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    return viewer;
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (!isBinary) {
      const message = JSON.parse(data.toString()) as Record<string, unknown>;
      this.controls.push(message);
      if (message.type === "snapshot") {
        this.snapshots++;
        const { cols, rows } = message as { cols: number; rows: number };
        this.term.write("\x1bc", () => this.term.resize(cols, rows));
        this.term.write(message.data as string);
        this.tail = String(message.data).slice(-4096);
      } else if (message.type === "resize") {
        const { cols, rows } = message as { cols: number; rows: number };
        this.term.write("", () => this.term.resize(cols, rows));
      }
      return;
    }
    this.bytes += data.length;
    this.tail = (this.tail + data.toString("latin1")).slice(-4096);
    if (this.parse) this.term.write(data);
  }

  type(text: string): void {
    this.ws.send(Buffer.from(text));
  }

  resize(cols: number, rows: number): void {
    this.ws.send(JSON.stringify({ type: "resize", cols, rows }));
  }

  screen(): Promise<string> {
    return new Promise((resolve) => this.term.write("", () => resolve(this.serializer.serialize())));
  }

  async text(): Promise<string> {
    await this.screen();
    const buffer = this.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? "");
    return lines.join("\n");
  }

  close(): void {
    this.ws.close();
  }
}

/** Polls `check` until it returns true or the deadline passes. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
