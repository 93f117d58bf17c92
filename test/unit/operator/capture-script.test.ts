// The egress-capture init container's shell script, run here with fake iptables-restore and
// ip6tables-restore commands (named fakes: the real ones need a network namespace, which the
// e2e tier's pods provide) that record what they were fed and can be told to fail.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { desired } from "../../../operator/desired.js";
import { captureRules, DEFAULT_CAPTURE } from "../../../sidecar/capture.js";
import { platform, session, SESSIONS } from "./fixtures.js";

function captureCommand(): string[] {
  const built = desired({ session: session("capture", SESSIONS.minimal!), template: undefined, stubs: {}, platform });
  assert.ok(built.ok);
  const command = built.objects.pod.spec?.initContainers?.[0]?.command;
  assert.ok(command !== undefined);
  return command;
}

async function run(failing: "" | "iptables-restore"): Promise<{ status: number | null; dir: string; stdout: string }> {
  const dir = await mkdtemp(join(tmpdir(), "capture-script-"));
  for (const name of ["iptables-restore", "ip6tables-restore"]) {
    const fake = join(dir, name);
    await writeFile(fake, `#!/bin/sh\ncat > "${dir}/${name}.in"\n${name === failing ? "exit 1" : "exit 0"}\n`);
    await chmod(fake, 0o755);
  }
  const [shell, ...args] = captureCommand();
  const result = spawnSync(shell!, args, { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: "utf8" });
  return { status: result.status, dir, stdout: result.stdout };
}

const hostHasIpv6 = existsSync("/proc/net/if_inet6") && readFileSync("/proc/net/if_inet6", "utf8").split("\n").some((l) => l.trim() !== "" && !l.trim().endsWith(" lo"));

test("the script feeds iptables-restore the IPv4 rules, and ip6tables-restore the IPv6 ones where IPv6 is up", async () => {
  const { status, dir, stdout } = await run("");
  assert.equal(status, 0);
  assert.match(stdout, /egress capture installed/);
  assert.equal(readFileSync(join(dir, "iptables-restore.in"), "utf8"), captureRules(DEFAULT_CAPTURE, 4));
  assert.equal(existsSync(join(dir, "ip6tables-restore.in")), hostHasIpv6);
  if (hostHasIpv6) assert.equal(readFileSync(join(dir, "ip6tables-restore.in"), "utf8"), captureRules(DEFAULT_CAPTURE, 6));
});

test("a failing iptables-restore fails the container (the pod must not start uncaptured)", async () => {
  const { status, stdout } = await run("iptables-restore");
  assert.notEqual(status, 0);
  assert.doesNotMatch(stdout, /installed/);
});
