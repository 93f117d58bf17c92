import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { PHASES } from "../crds/agentsession.js";

export interface OperatorMetrics {
  registry: Registry;
  reconcileDuration: Histogram<"result">;
  reconcileErrors: Counter<"kind">;
  sessionsByPhase: Gauge<"phase">;
  isLeader: Gauge;
  queueDepth: Gauge;
  /** Sessions naming a template with a warm pool, by whether they took a warm pod or got a cold one. */
  warmAdoptions: Counter<"result">;
  warmReady: Gauge;
}

/**
 * The operator's Prometheus metrics in their own registry. `phases` is read at scrape time from
 * the informer cache, so the gauge never drifts from what the operator sees.
 */
export function createMetrics(phases: () => Iterable<string | undefined>, queueDepth: () => number, warmReady: () => number = () => 0): OperatorMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "agentbox_operator_" });
  const sessionsByPhase = new Gauge({
    name: "agentbox_sessions",
    help: "AgentSessions by phase, as seen by the operator's cache.",
    labelNames: ["phase"] as const,
    registers: [registry],
    collect() {
      const counts = new Map<string, number>(PHASES.map((p) => [p, 0]));
      counts.set("Unknown", 0);
      for (const p of phases()) counts.set(p ?? "Unknown", (counts.get(p ?? "Unknown") ?? 0) + 1);
      for (const [phase, n] of counts) this.set({ phase }, n);
    },
  });
  return {
    registry,
    sessionsByPhase,
    reconcileDuration: new Histogram({
      name: "agentbox_reconcile_duration_seconds",
      help: "Time to reconcile one AgentSession.",
      labelNames: ["result"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    reconcileErrors: new Counter({ name: "agentbox_reconcile_errors_total", help: "Failed reconciles by error kind.", labelNames: ["kind"] as const, registers: [registry] }),
    isLeader: new Gauge({ name: "agentbox_operator_leader", help: "1 while this replica holds the leader Lease.", registers: [registry] }),
    warmAdoptions: new Counter({ name: "agentbox_warm_pool_adoptions_total", help: "Sessions naming a template with a warm pool: adopted a warm pod, or got a cold one (not eligible, or the pool was empty).", labelNames: ["result"] as const, registers: [registry] }),
    // One total, not one series per template: templates are unbounded, labels must not be.
    warmReady: new Gauge({
      name: "agentbox_warm_pods_ready",
      help: "Warm pods (all templates) that are Ready and waiting for a session.",
      registers: [registry],
      collect() {
        this.set(warmReady());
      },
    }),
    queueDepth: new Gauge({
      name: "agentbox_workqueue_depth",
      help: "Sessions waiting to be reconciled.",
      registers: [registry],
      collect() {
        this.set(queueDepth());
      },
    }),
  };
}

/** Serves /metrics, /healthz and /readyz; resolves with the bound port. */
export async function serveMetrics(m: OperatorMetrics, host: string, port: number, ready: () => boolean): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const url = req.url ?? "/";
    if (url === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
    } else if (url === "/readyz") {
      const ok = ready();
      res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "ok\n" : "informers not synced\n");
    } else if (url === "/metrics") {
      m.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": m.registry.contentType }).end(text),
        () => res.writeHead(500).end("metrics collection failed\n"),
      );
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics, /healthz or /readyz\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
