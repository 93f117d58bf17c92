import { KubeConfig } from "@kubernetes/client-node";
import { pino } from "pino";
import { loadConfig, HELP, type OperatorConfig } from "./config.js";
import { Controller } from "./controller.js";
import type { PlatformOptions } from "./desired.js";
import { makeClients } from "./kube.js";
import { LeaderElector } from "./leader.js";
import { createMetrics, serveMetrics } from "./metrics.js";

export function platformOptions(c: OperatorConfig): PlatformOptions {
  return {
    image: c.platformImage,
    serviceAccountName: c.sessionServiceAccount,
    tokenAudience: c.tokenAudience,
    ...(c.vaultAddress ? { vault: { address: c.vaultAddress, role: c.vaultRole, mount: c.vaultAuthMount } } : {}),
    extraEgress: c.extraEgress,
    allowPrivateBound: c.allowPrivateBound,
    requireTemplate: c.requireTemplate,
    ...(c.upstreamCaConfigMap ? { upstreamCaConfigMap: c.upstreamCaConfigMap } : {}),
  };
}

export interface RunningOperator {
  metricsPort: number;
  controller: Controller;
  elector?: LeaderElector;
  /** Resolves when the operator stopped (signal, lost leadership or `stop`). */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** Starts the operator; used by main and, in-process, by the e2e tests. */
export async function startOperator(config: OperatorConfig, kc: KubeConfig): Promise<RunningOperator> {
  const log = pino({ level: config.logLevel, base: { component: "operator", identity: config.identity }, redact: { paths: ["*.data", "*.stringData", "*.stub", "*.token", "*.headers.authorization"], censor: "[redacted]" } });
  const clients = makeClients(kc);
  // Where the memory goes (V8 heap vs buffers vs the rest of RSS), for tuning the chart's heap flags.
  const memoryLog = log.isLevelEnabled("debug") ? setInterval(() => log.debug({ memory: process.memoryUsage() }, "memory"), 1000).unref() : undefined;
  // The gauges read the controller's cache and queue at scrape time; the controller records
  // reconcile metrics: each needs the other, hence the late-bound reference.
  let ref: Controller | undefined;
  const metrics = createMetrics(
    () => (ref?.sessions.list() ?? []).map((s) => (s as { status?: { phase?: string } }).status?.phase),
    () => ref?.queue.length ?? 0,
    () => ref?.readyWarmPods() ?? 0,
  );
  const controller = new Controller({ clients, platform: platformOptions(config), log, namespace: config.namespace, workers: config.workers, resyncSeconds: config.resyncSeconds, metrics });
  ref = controller;
  const { server, port } = await serveMetrics(metrics, config.metricsAddress, config.metricsPort, () => controller.hasSynced);
  await controller.startInformers();
  let stopped: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (stopped = resolve));
  let elector: LeaderElector | undefined;
  const stop = async (): Promise<void> => {
    log.info("shutting down");
    await elector?.stop();
    metrics.isLeader.set(0);
    await controller.stop();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    clearInterval(memoryLog);
    stopped();
  };
  const lead = (): void => {
    metrics.isLeader.set(1);
    controller.startWorkers();
  };
  if (config.leaderElection) {
    elector = new LeaderElector({ api: clients.coordination, name: config.leaseName, namespace: config.leaseNamespace, identity: config.identity, leaseDurationSeconds: config.leaseDurationSeconds, log });
    // run() returns when leadership is lost: stop reconciling at once, another replica leads.
    elector.run(lead).then(
      () => stop(),
      (err: unknown) => {
        log.error({ err }, "leader election failed");
        return stop();
      },
    ).catch((err: unknown) => log.error({ err }, "shutdown failed"));
  } else {
    lead();
  }
  log.info({ metricsPort: port, namespace: config.namespace || "(all)", leaderElection: config.leaderElection }, "operator started");
  return { metricsPort: port, controller, ...(elector ? { elector } : {}), done, stop };
}

async function main(): Promise<void> {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    process.stdout.write(HELP);
    return;
  }
  const config = loadConfig(process.env, process.argv.slice(2));
  const kc = new KubeConfig();
  kc.loadFromDefault();
  // With no kubeconfig and no in-cluster account, client-node falls back to http://localhost:8080,
  // which it then refuses on every request: the operator would retry its watches forever.
  if (kc.getCurrentCluster()?.server === "http://localhost:8080") {
    throw new Error("no Kubernetes connection: set KUBECONFIG (or ~/.kube/config), or run the operator in a cluster with its service account");
  }
  const op = await startOperator(config, kc);
  let signalled = false;
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    process.on(sig, () => {
      if (signalled) return;
      signalled = true;
      op.stop().catch((err: unknown) => console.error("shutdown failed", err));
    });
  }
  await op.done;
  // Lost leadership (not a signal) exits non-zero so the Deployment restarts a fresh candidate.
  process.exitCode = signalled ? 0 : 1;
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
