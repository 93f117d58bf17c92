// Audit records and metrics. Neither ever carries a real value: audit records name credentials,
// hosts and paths only, and pino's redaction drops any field that could hold a header value.
import pino, { type Logger } from "pino";
import { createRequire } from "node:module";
import { hostname } from "node:os";
import type { Registry } from "prom-client";

const NAME = "agentbox-sidecar";

/** Writes one finished audit line to the logger's destination, bypassing pino. */
type AuditWriter = (record: AuditRecord, message: string) => void;

const auditWriters = new WeakMap<Logger, AuditWriter>();

export function createLogger(destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name: NAME,
    redact: { paths: ["secret", "*.secret", "headers", "*.headers", "value", "*.value"], remove: true },
  };
  if (destination === undefined) return pino(options);
  const logger = pino(options, destination);
  auditWriters.set(logger, auditWriter(logger, destination));
  return logger;
}

/**
 * Audit records are written as pino would write them (same keys, same order), but without
 * pino's per-call redaction and serialisation, which cost ~8 % of the sidecar's CPU at
 * concurrency 32 in bench:sidecar. Safe because an audit record's fields are fixed and none of
 * them can hold a header or a value (the redaction above removes none of them either).
 */
function auditWriter(logger: Logger, destination: pino.DestinationStream): AuditWriter {
  const fixed = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())},"name":"${NAME}","audit":`;
  return (record, message) => {
    if (!logger.isLevelEnabled("info")) return;
    destination.write(`{"level":30,"time":${Date.now()}${fixed}${JSON.stringify(record)},"msg":${JSON.stringify(message)}}\n`);
  };
}

/**
 * A log destination that collects lines and hands them to `target` in one write at most
 * `maxDelayMs` after the first of them (or at once past `maxBytes`): one system call (and, in
 * a pod, one wake-up of the container runtime's log reader) per batch instead of one per audit
 * record, which at concurrency 1 was one extra write per request. Lines still pending when the
 * process exits are written synchronously then, so an orderly exit or a crash loses none; only
 * a SIGKILL can lose the last `maxDelayMs` of lines.
 */
export class BatchedDestination {
  private pending: string[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly flushNow = (): void => this.flush();

  constructor(
    private readonly target: { write(text: string): unknown },
    private readonly limits: { maxDelayMs: number; maxBytes: number } = { maxDelayMs: 50, maxBytes: 64 * 1024 },
  ) {
    process.once("exit", this.flushNow);
  }

  write(line: string): boolean {
    this.pending.push(line);
    this.bytes += line.length;
    if (this.bytes >= this.limits.maxBytes) this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(this.flushNow, this.limits.maxDelayMs);
      // Pending lines never keep the process alive: exit writes them.
      this.timer.unref();
    }
    return true;
  }

  /** Writes every pending line now (pino's logger.flush passes a callback). */
  flush(callback?: (error?: Error) => void): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length > 0) {
      const text = this.pending.length === 1 ? (this.pending[0] ?? "") : this.pending.join("");
      this.pending = [];
      this.bytes = 0;
      this.target.write(text);
    }
    callback?.();
  }
}

export interface AuditRecord {
  event: "request" | "refused";
  credentials: string[];
  host: string;
  method: string;
  path: string; // path without its query, which may carry values
  status: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  reason?: string;
}

/**
 * A refusal's reason at info level, so an operator sees why without turning on debug. The
 * kinds that are audited (forbidden, misdirected) carry it in their audit record already.
 * Refusal messages name hosts, headers and rules, never a value.
 */
export function logRefusal(logger: Logger, failure: { kind: string; message: string }, host: string): void {
  if (failure.kind === "forbidden" || failure.kind === "misdirected") return;
  logger.info({ refused: failure.kind, host }, failure.message);
}

export function audit(logger: Logger, record: AuditRecord): void {
  const message = record.event === "refused" ? "request refused" : "credentialed request";
  const writer = auditWriters.get(logger);
  if (writer === undefined) logger.info({ audit: record }, message);
  else writer(record, message);
}

/** A counter (or, with dec, a gauge) by label values, cheap enough for the per-request path. */
export class LabelledMetric<L extends string> {
  private readonly values = new Map<string, { labels: Readonly<Record<L, string>>; value: number }>();

  constructor(readonly name: string, readonly help: string, readonly type: "counter" | "gauge", private readonly labelNames: readonly L[]) {}

  inc(labels: Readonly<Record<L, string>>, by = 1): void {
    // Label values are few and short (a mode, a status class, a credential name).
    let key = "";
    for (const name of this.labelNames) key += `${labels[name]}\u0000`;
    const entry = this.values.get(key);
    if (entry === undefined) this.values.set(key, { labels: { ...labels }, value: by });
    else entry.value += by;
  }

  dec(labels: Readonly<Record<L, string>>): void {
    this.inc(labels, -1);
  }

  render(): string {
    let text = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n`;
    if (this.labelNames.length === 0 && this.values.size === 0) text += `${this.name} 0\n`;
    for (const { labels, value } of this.values.values()) {
      const pairs = this.labelNames.map((name) => `${name}="${escapeLabel(labels[name])}"`).join(",");
      text += `${this.name}${pairs === "" ? "" : `{${pairs}}`} ${value}\n`;
    }
    return text;
  }
}

export class SecondsHistogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(readonly name: string, readonly help: string, private readonly buckets: readonly number[]) {
    this.counts = buckets.map(() => 0);
  }

  observe(seconds: number): void {
    this.sum += seconds;
    this.count += 1;
    this.buckets.forEach((bound, index) => {
      if (seconds <= bound) this.counts[index] = (this.counts[index] ?? 0) + 1;
    });
  }

  render(): string {
    let text = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    this.buckets.forEach((bound, index) => (text += `${this.name}_bucket{le="${bound}"} ${this.counts[index] ?? 0}\n`));
    return `${text}${this.name}_bucket{le="+Inf"} ${this.count}\n${this.name}_sum ${this.sum}\n${this.name}_count ${this.count}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

const require = createRequire(import.meta.url);

/**
 * The sidecar's metrics, kept in plain counters and rendered in the Prometheus text format on
 * scrape. prom-client (its label hashing per increment, and ~3 MB of resident memory) is loaded
 * only when a part that registers its own prom-client metrics (Vault) asks for `registry`.
 */
export class SidecarMetrics {
  static readonly contentType = "text/plain; version=0.0.4; charset=utf-8";
  readonly requests = new LabelledMetric("agentbox_sidecar_requests_total", "Requests handled, by how they were handled (intercepted, plain, tunnel) and their status class.", "counter", ["mode", "status"] as const);
  readonly refusals = new LabelledMetric("agentbox_sidecar_refusals_total", "Requests or connections refused, by error kind.", "counter", ["kind"] as const);
  readonly swaps = new LabelledMetric("agentbox_sidecar_credential_swaps_total", "Requests in which a stub was swapped for its real value, by credential name.", "counter", ["credential"] as const);
  readonly connections = new LabelledMetric("agentbox_sidecar_open_connections", "Downstream connections currently open.", "gauge", [] as const);
  readonly mintSeconds = new SecondsHistogram("agentbox_sidecar_leaf_mint_seconds", "Time to mint a leaf certificate.", [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1]);
  readonly reloads = new LabelledMetric("agentbox_sidecar_config_reloads_total", "Configuration reloads, by result.", "counter", ["result"] as const);
  private extra: Registry | undefined;

  /** A prom-client registry whose metrics are appended to the sidecar's own; created on first use. */
  get registry(): Registry {
    // Two statements on purpose: tsc 7 emits `new (require(...) as T).Registry()` without its
    // parentheses, i.e. `new require(...).Registry()`, which throws in the compiled image.
    const promClient = require("prom-client") as typeof import("prom-client");
    this.extra ??= new promClient.Registry();
    return this.extra;
  }

  async render(): Promise<string> {
    const own = [this.requests, this.refusals, this.swaps, this.connections, this.mintSeconds, this.reloads].map((metric) => metric.render()).join("");
    return this.extra === undefined ? own : `${own}${await this.extra.metrics()}`;
  }
}
