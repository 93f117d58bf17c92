// One session's terminal: a single upstream, a server-side headless xterm holding the screen,
// and any number of viewers, each behind its own bounded queue.
import type { WebSocket, RawData } from "ws";
import type { Logger } from "../log.js";
import {
  DEFAULT_FLOW_LIMITS,
  decideDrain,
  decideOffer,
  reattachDelayMs,
  shouldRecordActivity,
  type FlowLimits,
  type FlowState,
  type TargetState,
} from "./flow.js";
import { ParseBacklog, type BacklogLimits } from "./parse-backlog.js";
import { CastRecorder } from "./asciicast.js";
import { parseClientControl, type Role, type ServerControl } from "./protocol.js";
import type { Screen, ScreenHost } from "./screen-host.js";
import type { TerminalSize, Upstream, UpstreamEnd, UpstreamFactory } from "./upstream.js";

export interface SessionTerminalOptions {
  /** Where the headless terminal holding the screen lives (a worker thread). */
  screens: ScreenHost;
  connect: UpstreamFactory;
  /**
   * Where the session is: the upstream is re-attached while it is starting or running, promptly
   * once it has become running, and never once it is gone.
   */
  state: () => Promise<TargetState>;
  /**
   * Resolves once a starting session runs or is gone (see until-settled.ts). With it, a terminal
   * opened before its pod runs attaches the moment it does; without it, it polls `state`.
   */
  untilSettled?: (timeoutMs: number, signal: AbortSignal) => Promise<TargetState>;
  /** Called (throttled) when a viewer types, for idle expiry. */
  onActivity?: () => void;
  activityIntervalMs?: number;
  limits?: FlowLimits;
  /** How far the headless terminal may fall behind the live stream (see parse-backlog.ts). */
  backlog?: BacklogLimits;
  /** Record the terminal as an asciicast v2 file (opt-in per session). */
  record?: { path: string; maxBytes: number };
  initialSize?: TerminalSize;
  scrollback?: number;
  pingIntervalMs?: number;
  /** How long the upstream stays attached after the last viewer left. */
  lingerMs?: number;
  /** Called once the terminal has shut down, so its owner can forget it. */
  onClosed?: () => void;
  log: Logger;
  sleep?: (ms: number) => Promise<void>;
}

type Item = string | Buffer;

/** The WebSocket close code and reason viewers get when a terminal is closed. */
export interface CloseReason {
  code: number;
  reason: string;
}

// 1001 (going away): the server shuts the terminal down; viewers may reconnect.
const SHUTTING_DOWN: CloseReason = { code: 1001, reason: "terminal closed" };

const WAITING: ServerControl = { type: "upstream", state: "waiting" };

interface Viewer {
  ws: WebSocket;
  role: Role;
  flow: FlowState;
  queue: Item[];
  syncing: boolean;
  syncBuffer: Item[];
  syncBytes: number;
  syncOverflowed: boolean;
  open: boolean;
  alive: boolean;
  resyncs: number;
}

export interface ViewerStats {
  role: Role;
  inflight: number;
  pending: number;
  syncing: boolean;
  /** Fell too far behind: waiting for its socket to drain to be resynced from a snapshot. */
  stale: boolean;
  resyncs: number;
}

export interface TerminalStats {
  attaches: number;
  upstreamBytes: number;
  /** Output the headless terminal skipped because it was too far behind (viewers got it all). */
  screenSkippedBytes: number;
  viewers: ViewerStats[];
}

const BATCH_MAX = 64 << 10;
// How long one watch for a starting session lasts before the attach is tried again anyway.
const SETTLE_WAIT_MS = 30_000;
// An opened upstream silent this long was not refused (refusals come within milliseconds).
const ATTACH_CONFIRM_MS = 250;

const byteLength = (item: Item): number => (typeof item === "string" ? Buffer.byteLength(item) : item.length);

export class SessionTerminal {
  private readonly screen: Screen;
  private currentSize: TerminalSize;
  private readonly viewers = new Set<Viewer>();
  private readonly limits: FlowLimits;
  private readonly sleep: (ms: number) => Promise<void>;
  private upstream: Upstream | undefined;
  private readonly backlog: ParseBacklog;
  private readonly recorder: CastRecorder | undefined;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private flushScheduled = false;
  private closed = false;
  private attaches = 0;
  private upstreamBytes = 0;
  private lastActivity: number | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly pingTimer: NodeJS.Timeout;
  private readonly createdAt = performance.now();
  /** Set while the first upstream's first output is awaited, for the timing log. */
  private firstAttachAt: number | undefined;
  /** True while the session is starting and no upstream is attached: joiners are told so. */
  private waiting = false;
  /** upstreamBytes when the current upstream was attached: an upstream that ends with none was refused. */
  private bytesAtAttach = 0;
  private attachedTimer: NodeJS.Timeout | undefined;
  private readonly closing = new AbortController();

  constructor(private readonly options: SessionTerminalOptions) {
    this.currentSize = options.initialSize ?? { cols: 120, rows: 40 };
    this.screen = options.screens.create({
      ...this.currentSize,
      scrollback: options.scrollback ?? 1000,
      onParsed: (bytes) => this.toScreen(this.backlog.parsed(bytes)),
    });
    this.backlog = new ParseBacklog(options.backlog);
    if (options.record) {
      const recorder = new CastRecorder({ ...options.record, size: this.currentSize });
      recorder.onError((err) => options.log.warn({ err }, "terminal recording failed; the terminal carries on unrecorded"));
      this.recorder = recorder;
    }
    this.limits = options.limits ?? DEFAULT_FLOW_LIMITS;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.pingTimer = setInterval(() => this.ping(), options.pingIntervalMs ?? 5000);
    this.pingTimer.unref();
    void this.connectLoop();
  }

  get size(): TerminalSize {
    return { ...this.currentSize };
  }

  /** Adds a viewer: it gets a hello, a snapshot of the screen, then the live stream. */
  join(ws: WebSocket, role: Role): void {
    if (this.closed) {
      ws.close(1011, "terminal is shutting down");
      return;
    }
    clearTimeout(this.lingerTimer);
    const viewer: Viewer = {
      ws,
      role,
      flow: { inflight: 0, pending: 0, stale: false },
      queue: [],
      syncing: false,
      syncBuffer: [],
      syncBytes: 0,
      syncOverflowed: false,
      open: true,
      alive: true,
      resyncs: 0,
    };
    this.viewers.add(viewer);
    ws.on("pong", () => {
      viewer.alive = true;
    });
    ws.on("message", (data, isBinary) => this.fromViewer(viewer, data, isBinary));
    ws.on("close", () => this.leave(viewer));
    ws.on("error", () => this.leave(viewer));
    this.send(viewer, JSON.stringify({ type: "hello", role } satisfies ServerControl));
    if (this.waiting) this.send(viewer, JSON.stringify(WAITING));
    this.sync(viewer);
  }

  stats(): TerminalStats {
    return {
      attaches: this.attaches,
      upstreamBytes: this.upstreamBytes,
      screenSkippedBytes: this.backlog.skipped,
      viewers: [...this.viewers].map((v) => ({
        role: v.role,
        inflight: v.flow.inflight,
        pending: v.flow.pending,
        syncing: v.syncing,
        stale: v.flow.stale,
        resyncs: v.resyncs,
      })),
    };
  }

  /** The server's own view of the screen, serialized. */
  async snapshot(): Promise<string> {
    this.catchUpScreen();
    return (await this.screen.snapshot()).data;
  }

  /** Shuts the terminal down; its viewers are closed with `why`. */
  close(why: CloseReason = SHUTTING_DOWN): void {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    clearInterval(this.pingTimer);
    clearTimeout(this.attachedTimer);
    clearTimeout(this.lingerTimer);
    for (const viewer of this.viewers) viewer.ws.close(why.code, why.reason);
    this.viewers.clear();
    this.upstream?.close();
    this.upstream = undefined;
    this.screen.dispose();
    void this.recorder?.close();
    this.options.onClosed?.();
  }

  /** `refused`: the last upstream was refused after it opened; wait as after a failed attach first. */
  private async connectLoop(refused?: UpstreamEnd): Promise<void> {
    let known: TargetState | undefined;
    let attempt = 0;
    let failed = refused;
    while (!this.closed) {
      try {
        if (failed) throw new Error(failed.reason);
        const upstream = await this.options.connect(this.size);
        if (this.closed) {
          upstream.close();
          return;
        }
        this.attach(upstream);
        return;
      } catch (err) {
        const end = failed ?? { reason: "session is gone" };
        failed = undefined;
        const state = await this.targetState();
        if (state === "gone") return this.ended(end);
        if (state !== known) {
          known = state;
          attempt = 0;
        }
        // A container that is still starting refuses attaches as a matter of course.
        this.options.log[state === "starting" ? "debug" : "warn"]({ err, attempt, state }, "terminal upstream attach failed");
        if (state === "starting" && !this.waiting) {
          this.waiting = true;
          this.broadcast(WAITING);
        }
        if (state === "starting" && (await this.settled())) continue;
        await this.sleep(reattachDelayMs(attempt++, state));
      }
    }
  }

  /** Waits for a starting session to settle; false when that cannot be watched (then poll). */
  private async settled(): Promise<boolean> {
    const until = this.options.untilSettled;
    if (!until) return false;
    try {
      await until(SETTLE_WAIT_MS, this.closing.signal);
      return true;
    } catch (err) {
      this.options.log.warn({ err }, "cannot watch the starting session; polling it instead");
      return false;
    }
  }

  private attach(upstream: Upstream): void {
    this.upstream = upstream;
    this.waiting = false;
    this.bytesAtAttach = this.upstreamBytes;
    this.attaches++;
    if (this.attaches === 1) {
      this.firstAttachAt = performance.now();
      this.options.log.info({ stagesMs: { attach: Math.round(this.firstAttachAt - this.createdAt) } }, "terminal upstream attached");
    }
    upstream.onData((chunk) => this.fromUpstream(chunk));
    upstream.onEnd((end) => void this.onUpstreamEnd(upstream, end));
    // The program may have been resized while we were away.
    upstream.resize(this.size);
    // Announced with its first output, or once it has stayed open a moment: the runtime refuses
    // an attach to a container that is not there yet only after the stream has opened.
    clearTimeout(this.attachedTimer);
    this.attachedTimer = setTimeout(() => this.announceAttached(upstream), ATTACH_CONFIRM_MS);
    this.attachedTimer.unref();
  }

  private announceAttached(upstream: Upstream): void {
    clearTimeout(this.attachedTimer);
    this.attachedTimer = undefined;
    if (this.upstream === upstream && !this.closed) this.broadcast({ type: "upstream", state: "attached" });
  }

  private async onUpstreamEnd(upstream: Upstream, end: UpstreamEnd): Promise<void> {
    if (this.closed || this.upstream !== upstream) return;
    this.upstream = undefined;
    clearTimeout(this.attachedTimer);
    this.attachedTimer = undefined;
    this.options.log.info({ reason: end.reason, exitCode: end.exitCode }, "terminal upstream ended");
    // pods/attach to a container that is not there yet opens, then ends at once with the
    // runtime's refusal (channel 3): that is a failed attach, to be waited out as one, not a
    // dropped stream to re-open at once (which spun at ~20 attaches a second while a pod started).
    if (end.exitCode === undefined && this.upstreamBytes === this.bytesAtAttach) return this.connectLoop(end);
    if ((await this.targetState()) !== "gone") {
      this.broadcast({ type: "upstream", state: "reconnecting" });
      await this.connectLoop();
    } else {
      this.ended(end);
    }
  }

  private ended(end: UpstreamEnd): void {
    if (this.closed) return;
    this.flushOutput();
    const message: ServerControl = { type: "upstream", state: "ended" };
    if (end.exitCode !== undefined) message.exitCode = end.exitCode;
    // Queued output goes out first (a viewer still syncing has its screen in the snapshot it awaits).
    for (const viewer of this.viewers) {
      viewer.open = false;
      for (const item of viewer.queue) viewer.ws.send(item, { binary: typeof item !== "string" });
      viewer.ws.send(JSON.stringify(message), () => viewer.ws.close(1000, end.exitCode === undefined ? "ended" : `exited ${end.exitCode}`));
    }
    this.viewers.clear();
    this.close();
  }

  private async targetState(): Promise<TargetState> {
    try {
      return await this.options.state();
    } catch (err) {
      this.options.log.warn({ err }, "could not tell whether the session lives; assuming it runs");
      return "running";
    }
  }

  // Upstream frames are often small (the API server forwards each write of the program); fanning
  // out each one to every viewer costs per message, so frames that arrive together go out as one.
  // Nothing waits for more data: the batch leaves at the end of this turn of the event loop.
  private fromUpstream(chunk: Buffer): void {
    if (this.firstAttachAt !== undefined) {
      this.options.log.info({ stagesMs: { firstOutput: Math.round(performance.now() - this.firstAttachAt) } }, "terminal first output");
      this.firstAttachAt = undefined;
    }
    if (this.attachedTimer !== undefined && this.upstream) this.announceAttached(this.upstream);
    this.upstreamBytes += chunk.length;
    this.batch.push(chunk);
    this.batchBytes += chunk.length;
    if (this.batchBytes >= BATCH_MAX) this.flushOutput();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flushOutput());
    }
  }

  /** Sends batched output on; called before anything that must stay in order behind it. */
  private flushOutput(): void {
    this.flushScheduled = false;
    if (this.batchBytes === 0 || this.closed) return;
    const data = this.batch.length === 1 ? (this.batch[0] as Buffer) : Buffer.concat(this.batch, this.batchBytes);
    this.batch = [];
    this.batchBytes = 0;
    // Viewers first: the screen is only for snapshots and never holds up the live stream.
    for (const viewer of this.viewers) this.offer(viewer, data);
    this.recorder?.output(data);
    this.toScreen(this.backlog.write(data));
  }

  private toScreen(data: Buffer | undefined): void {
    if (data && !this.closed) this.screen.write(data);
  }

  /** Output held back from the screen goes to it before a resize or snapshot is queued behind. */
  private catchUpScreen(): void {
    this.flushOutput();
    this.toScreen(this.backlog.release());
  }

  private fromViewer(viewer: Viewer, data: RawData, isBinary: boolean): void {
    if (viewer.role !== "rw") return;
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (isBinary) {
      this.upstream?.write(bytes);
      this.activity();
      return;
    }
    const control = parseClientControl(bytes.toString("utf8"));
    if (control?.type === "resize") this.resize({ cols: control.cols, rows: control.rows });
  }

  private resize(size: TerminalSize): void {
    if (size.cols === this.currentSize.cols && size.rows === this.currentSize.rows) return;
    this.catchUpScreen();
    this.currentSize = size;
    this.upstream?.resize(size);
    // Applied at this point of the stream, so snapshots and live viewers agree on where it happened.
    this.screen.resize(size.cols, size.rows);
    this.recorder?.resize(size);
    this.broadcast({ type: "resize", ...size });
  }

  private activity(): void {
    const now = Date.now();
    if (!shouldRecordActivity(this.lastActivity, now, this.options.activityIntervalMs ?? 30_000)) return;
    this.lastActivity = now;
    this.options.onActivity?.();
  }

  private broadcast(message: ServerControl): void {
    this.flushOutput();
    const text = JSON.stringify(message);
    for (const viewer of this.viewers) this.offer(viewer, text);
  }

  private offer(viewer: Viewer, item: Item): void {
    const size = byteLength(item);
    if (viewer.syncing) {
      viewer.syncBytes += size;
      if (viewer.syncBytes > this.limits.maxPending) {
        viewer.syncOverflowed = true;
        viewer.syncBuffer = [];
      } else if (!viewer.syncOverflowed) {
        viewer.syncBuffer.push(item);
      }
      return;
    }
    switch (decideOffer(viewer.flow, size, this.limits)) {
      case "send":
        return this.send(viewer, item);
      case "queue":
        viewer.queue.push(item);
        viewer.flow.pending += size;
        return;
      case "overflow":
        viewer.queue = [];
        viewer.flow.pending = 0;
        viewer.flow.stale = true;
        return;
      case "drop":
        return;
    }
  }

  private send(viewer: Viewer, item: Item): void {
    const size = byteLength(item);
    viewer.flow.inflight += size;
    viewer.ws.send(item, { binary: typeof item !== "string" }, () => {
      viewer.flow.inflight -= size;
      this.drained(viewer);
    });
  }

  private drained(viewer: Viewer): void {
    if (!viewer.open) return;
    switch (decideDrain(viewer.flow, this.limits)) {
      case "wait":
        return;
      case "resync":
        viewer.flow.stale = false;
        viewer.resyncs++;
        return this.sync(viewer);
      case "flush":
        while (viewer.queue.length > 0 && viewer.flow.inflight <= this.limits.highWatermark) {
          const item = viewer.queue.shift() as Item;
          viewer.flow.pending -= byteLength(item);
          this.send(viewer, item);
        }
        return;
    }
  }

  // The snapshot reflects everything written before this call; everything after it is collected
  // for the viewer and sent behind the snapshot.
  private sync(viewer: Viewer): void {
    viewer.syncing = true;
    // Batched output reaches the screen before the snapshot is asked for, so the snapshot holds it
    // and this viewer must not also get it as bytes.
    this.catchUpScreen();
    viewer.syncBuffer = [];
    viewer.syncBytes = 0;
    viewer.syncOverflowed = false;
    this.screen.snapshot().then((screen) => {
      if (!viewer.open || this.closed) return;
      if (viewer.syncOverflowed) return this.sync(viewer);
      const snapshot: ServerControl = { type: "snapshot", ...screen };
      const buffered = viewer.syncBuffer;
      viewer.syncing = false;
      viewer.syncBuffer = [];
      viewer.syncBytes = 0;
      this.send(viewer, JSON.stringify(snapshot));
      for (const item of buffered) this.offer(viewer, item);
    }, (err: unknown) => {
      // A terminal closing under a pending snapshot has already said goodbye to its viewers.
      if (!viewer.open || this.closed) return;
      this.options.log.error({ err }, "terminal snapshot failed");
      viewer.ws.close(1011, "terminal snapshot failed; reconnect");
    });
  }

  private leave(viewer: Viewer): void {
    if (!viewer.open) return;
    viewer.open = false;
    this.viewers.delete(viewer);
    if (this.viewers.size === 0 && !this.closed) {
      this.lingerTimer = setTimeout(() => this.close(), this.options.lingerMs ?? 5 * 60_000);
      this.lingerTimer.unref();
    }
  }

  private ping(): void {
    for (const viewer of this.viewers) {
      if (!viewer.alive) {
        viewer.ws.terminate();
        continue;
      }
      viewer.alive = false;
      viewer.ws.ping();
    }
  }
}
