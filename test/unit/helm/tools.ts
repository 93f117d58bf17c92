// Finds the helm and kubeconform binaries that test/cluster/build-helm.sh builds (or HELM /
// KUBECONFORM, or ones on PATH), so the chart tests can skip with a clear message without them.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

function newestBuilt(name: string): string | undefined {
  const cache = process.env.AGENTBOX_CACHE ?? "/var/cache/agentbox";
  if (!existsSync(cache)) return undefined;
  const dirs = readdirSync(cache)
    .filter((d) => d.startsWith(`${name}-v`) && !d.endsWith(".partial"))
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
  for (const dir of dirs.reverse()) {
    const bin = join(cache, dir, name);
    if (existsSync(bin)) return bin;
  }
  return undefined;
}

function onPath(name: string): string | undefined {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

export function findTool(name: "helm" | "kubeconform"): string | undefined {
  const fromEnv = process.env[name.toUpperCase()];
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  return newestBuilt(name) ?? onPath(name);
}

export type Run = { status: number; stdout: string; stderr: string };

export function run(bin: string, args: string[], input?: string): Run {
  const r = spawnSync(bin, args, { encoding: "utf8", input, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? "", stderr: r.stderr ?? String(r.error ?? "") };
}
