import { PassThrough, Readable } from "node:stream";
import { existsSync } from "node:fs";
import * as k8s from "@kubernetes/client-node";
import { waitFor } from "../../support/wait.js";

export const DEFAULT_KUBECONFIG = "/var/lib/agentbox/cluster/admin.kubeconfig";
/** Locally built image (bash, node, curl, git; uid 1000) that cluster:up always loads. */
export const SHELL_IMAGE = "agentbox/agent-shell:dev";

export function loadKubeConfig(): k8s.KubeConfig {
  const path = process.env.KUBECONFIG ?? DEFAULT_KUBECONFIG;
  if (!existsSync(path)) {
    throw new Error(`no kubeconfig at ${path}: run 'npm run cluster:up' (as root) or set KUBECONFIG`);
  }
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

export interface Cluster {
  kc: k8s.KubeConfig;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
}

export function connect(): Cluster {
  const kc = loadKubeConfig();
  return { kc, core: kc.makeApiClient(k8s.CoreV1Api), apps: kc.makeApiClient(k8s.AppsV1Api) };
}

export function isNotFound(error: unknown): boolean {
  return (error as { code?: number } | undefined)?.code === 404;
}

/** Creates a namespace with a unique name; the caller deletes it. */
export async function createNamespace(cluster: Cluster, prefix: string): Promise<string> {
  const name = `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  await cluster.core.createNamespace({ body: { metadata: { name, labels: { "agentbox.dev/e2e": "true" } } } });
  await waitFor(`default service account in ${name}`, async () => {
    try {
      return await cluster.core.readNamespacedServiceAccount({ name: "default", namespace: name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  });
  return name;
}

export async function deleteNamespace(cluster: Cluster, name: string): Promise<void> {
  try {
    await cluster.core.deleteNamespace({ name });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

export async function waitForPodPhase(
  cluster: Cluster,
  namespace: string,
  name: string,
  phases: string[],
  timeoutMs = 90_000,
): Promise<k8s.V1Pod> {
  return waitFor(
    `pod ${namespace}/${name} in phase ${phases.join("|")}`,
    async () => {
      const pod = await cluster.core.readNamespacedPod({ name, namespace });
      return phases.includes(pod.status?.phase ?? "") ? pod : undefined;
    },
    { timeoutMs },
  );
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs a command through the API server's exec WebSocket (the path client-node's Exec takes). */
export async function exec(
  cluster: Cluster,
  target: { namespace: string; pod: string; container: string },
  command: string[],
  options: { stdin?: string; tty?: boolean; timeoutMs?: number } = {},
): Promise<ExecResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = "";
  let err = "";
  stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
  // A terminal's stdin stays open while the command runs: closing it early hangs up the TTY.
  const stdin = options.stdin === undefined ? null : options.tty ? new PassThrough() : Readable.from([options.stdin]);
  if (stdin instanceof PassThrough) stdin.write(options.stdin);
  const status = await new Promise<k8s.V1Status>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`exec ${command.join(" ")} timed out`)),
      options.timeoutMs ?? 60_000,
    );
    new k8s.Exec(cluster.kc)
      .exec(target.namespace, target.pod, target.container, command, stdout, stderr, stdin, options.tty ?? false, (s) => {
        clearTimeout(timer);
        resolve(s);
      })
      .catch((error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      });
  });
  stdin?.destroy();
  return { stdout: out, stderr: err, exitCode: exitCodeOf(status) };
}

function exitCodeOf(status: k8s.V1Status): number {
  if (status.status === "Success") return 0;
  const cause = status.details?.causes?.find((c) => c.reason === "ExitCode");
  if (cause?.message === undefined) throw new Error(`exec failed: ${status.message ?? JSON.stringify(status)}`);
  return Number(cause.message);
}
