// Runs last (file order): takes the cluster down, proves nothing is left behind, brings it back.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

const sh = (cmd: string): string => execFileSync("bash", ["-c", cmd], { encoding: "utf8" });

function script(name: string): number {
  const started = Date.now();
  const r = spawnSync("bash", [`test/cluster/${name}.sh`], { stdio: "inherit" });
  assert.equal(r.status, 0, `test/cluster/${name}.sh exited ${r.status}`);
  return (Date.now() - started) / 1000;
}

function leftovers(): string[] {
  const found: string[] = [];
  const procs = sh(
    // [x] keeps the pattern from matching the shell that runs pgrep.
    // Every cluster process names a path under these in its arguments; other kube-apiservers on
    // the machine (integration tests run their own) do not.
    "pgrep -a -f '/var/lib/agentbo[x]/|/run/agentbo[x]/' || true",
  )
    .split("\n")
    .filter((l) => l && !l.includes("/agentbox/docker")) // the image builder's Docker engine is not the cluster
    .join("\n");
  if (procs) found.push(`processes:\n${procs}`);
  const mounts = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .filter((l) => / (\/var\/lib\/agentbox|\/run\/agentbox)/.test(l) && !l.includes("/agentbox/docker"));
  if (mounts.length) found.push(`mounts:\n${mounts.join("\n")}`);
  const netns = sh("ip netns list 2>/dev/null || true").split("\n").filter((l) => l.startsWith("cni-"));
  if (netns.length) found.push(`network namespaces: ${netns.join(", ")}`);
  const links = sh("ip -o link show").split("\n");
  const ours = links.filter((l) => /agentbox0|agentbox-cni0/.test(l));
  if (ours.length) found.push(`links:\n${ours.join("\n")}`);
  // Docker's veths hang off docker0/br-*; any other veth left would be a pod's.
  const veths = sh("ip -o link show type veth").split("\n").filter((l) => l && !/master (docker0|br-)/.test(l));
  if (veths.length) found.push(`veths:\n${veths.join("\n")}`);
  for (const family of ["iptables", "ip6tables"]) {
    const rules = sh(`${family}-save 2>/dev/null || true`).split("\n").filter((l) => /KUBE-|CNI-/.test(l));
    if (rules.length) found.push(`${family} rules:\n${rules.slice(0, 5).join("\n")}`);
  }
  return found;
}

describe("cluster:down and cluster:up again", { skip: process.getuid?.() !== 0 && "needs root" }, () => {
  it("leaves no process, mount, network namespace, veth or iptables rule, then comes back", () => {
    const down = script("down");
    assert.deepEqual(leftovers(), [], "cluster:down left something behind");
    const up = script("up");
    const status = spawnSync("bash", ["test/cluster/status.sh"], { encoding: "utf8" });
    assert.equal(status.status, 0, `cluster:status after up:\n${status.stdout}`);
    console.log(`# cluster:down took ${down.toFixed(1)} s, warm cluster:up took ${up.toFixed(1)} s`);
  });
});
