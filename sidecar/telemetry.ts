// Audit records and metrics. Neither ever carries a real value: audit records name credentials,
// hosts and paths only, and pino's redaction drops any field that could hold a header value.
import pino, { type Logger } from "pino";
import { createRequire } from "node:module";
import type { Registry } from "prom-client";

export function createLogger(destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    name: "agentbox-sidecar",
    redact: { paths: ["secret", "*.secret", "headers", "*.headers", "value", "*.value"], remove: true },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
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

export function audit(logger: Logger, record: AuditRecord): void {
  logger.info({ audit: record }, record.event === "refused" ? "request refused" : "credentialed request");
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
