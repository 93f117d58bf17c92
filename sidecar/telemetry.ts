// Audit records and metrics. Neither ever carries a real value: audit records name credentials,
// hosts and paths only, and pino's redaction drops any field that could hold a header value.
import pino, { type Logger } from "pino";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

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

export class SidecarMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: "agentbox_sidecar_requests_total",
    help: "Requests handled, by how they were handled (intercepted, plain, tunnel) and their status class.",
    labelNames: ["mode", "status"] as const,
    registers: [this.registry],
  });
  readonly refusals = new Counter({
    name: "agentbox_sidecar_refusals_total",
    help: "Requests or connections refused, by error kind.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly swaps = new Counter({
    name: "agentbox_sidecar_credential_swaps_total",
    help: "Requests in which a stub was swapped for its real value, by credential name.",
    labelNames: ["credential"] as const,
    registers: [this.registry],
  });
  readonly connections = new Gauge({
    name: "agentbox_sidecar_open_connections",
    help: "Downstream connections currently open.",
    registers: [this.registry],
  });
  readonly mintSeconds = new Histogram({
    name: "agentbox_sidecar_leaf_mint_seconds",
    help: "Time to mint a leaf certificate.",
    buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
    registers: [this.registry],
  });
  readonly reloads = new Counter({
    name: "agentbox_sidecar_config_reloads_total",
    help: "Configuration reloads, by result.",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });
}
