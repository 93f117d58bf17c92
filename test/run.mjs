// Runs node's test runner over test/<tier>/**/*.test.ts for each tier named on the command line.
// Node 20's runner does not discover .ts files itself, hence this small finder.
import { readdirSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

const tiers = process.argv.slice(2);
if (tiers.length === 0) {
  console.error("usage: node test/run.mjs <tier>... (unit, integration, e2e)");
  process.exit(2);
}

function find(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return find(path);
    return name.endsWith(".test.ts") ? [path] : [];
  });
}

const files = tiers.flatMap((tier) => find(join("test", tier))).sort();
if (files.length === 0) {
  console.error(`no test files under test/{${tiers.join(",")}}`);
  process.exit(1);
}
// e2e files share one cluster: run them one file at a time. Processes they start (operators, the
// CLI) find it through KUBECONFIG, which CI's environment does not set.
const e2e = tiers.includes("e2e");
const serial = e2e ? ["--test-concurrency=1"] : [];
const env = e2e && !process.env.KUBECONFIG ? { ...process.env, KUBECONFIG: "/var/lib/agentbox/cluster/admin.kubeconfig" } : process.env;
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=spec", ...serial, ...files],
  { stdio: "inherit", env },
);
process.exit(result.status ?? 1);
