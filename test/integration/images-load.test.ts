// images/load.sh against a real containerd of the test's own (on a socket in a temp dir): it
// imports the pause tar under the name the cluster's sandbox_image uses, skips it on a rerun, and
// explains itself when containerd is not there. Needs root, containerd, ctr and a built pause tar.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const exec = promisify(execFile);
const cacheDir = process.env["AGENTBOX_IMAGE_CACHE"] ?? "/var/cache/agentbox/images";
const pauseTar = join(cacheDir, "pause_3.10.tar");

async function onPath(command: string): Promise<boolean> {
  return exec("sh", ["-c", `command -v ${command}`]).then(
    () => true,
    () => false,
  );
}

async function skipReason(): Promise<string | false> {
  if (process.getuid?.() !== 0) return "needs root (it starts a containerd)";
  if (!(await onPath("containerd")) || !(await onPath("ctr"))) return "needs Debian's containerd (containerd, ctr)";
  if (!existsSync(`${pauseTar}.id`)) return `no ${pauseTar}: run npm run images:build`;
  return false;
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function loadSh(address: string, ...names: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await exec("bash", ["images/load.sh", ...names], {
      env: { ...process.env, CONTAINERD_ADDRESS: address },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

describe("images/load.sh", { skip: await skipReason() }, () => {
  let dir = "";
  let socket = "";
  let containerd: ChildProcess | undefined;
  const ctr = async (...args: string[]): Promise<string> =>
    (await exec("ctr", ["--address", socket, "--namespace", "k8s.io", ...args])).stdout;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "agentbox-ctrd-"));
    socket = join(dir, "containerd.sock");
    // CRI is not needed to import images, and without it containerd needs no CNI.
    const config = [
      "version = 2",
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${socket}"`,
    ].join("\n");
    await writeFile(join(dir, "config.toml"), config);
    containerd = spawn("containerd", ["--config", join(dir, "config.toml")], { stdio: "ignore" });
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (await exec("ctr", ["--address", socket, "version"]).then(() => true, () => false)) break;
      if (containerd.exitCode !== null) throw new Error(`containerd exited with ${containerd.exitCode}`);
      if (Date.now() > deadline) throw new Error("containerd did not answer within 20 s");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  after(async () => {
    if (containerd && containerd.exitCode === null) {
      const exited = new Promise((resolve) => containerd?.once("exit", resolve));
      containerd.kill("SIGTERM");
      await exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("says what to do when containerd is not answering", async () => {
    const result = await loadSh(join(dir, "nothing-here.sock"), "pause");
    assert.equal(result.code, 1);
    assert.match(result.stderr, /not answering at .*nothing-here\.sock.*npm run cluster:up/);
  });

  it("refuses an image name it does not know", async () => {
    const result = await loadSh(socket, "busybox");
    assert.equal(result.code, 1);
    assert.match(result.stderr, /unknown image 'busybox' \(known: pause platform/);
  });

  it("imports the pause image under the sandbox_image name, with the built image's config", async () => {
    const result = await loadSh(socket, "pause");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /registry\.k8s\.io\/pause:3\.10: importing pause_3\.10\.tar/);
    const refs = (await ctr("images", "ls", "--quiet")).split("\n");
    assert.ok(refs.includes("registry.k8s.io/pause:3.10"), refs.join(", "));
    const manifestDigest = (await ctr("images", "ls", "name==registry.k8s.io/pause:3.10")).split("\n")[1]?.split(/\s+/)[2];
    assert.ok(manifestDigest);
    const manifest = JSON.parse(await ctr("content", "get", manifestDigest)) as { config: { digest: string } };
    assert.equal(manifest.config.digest, (await readFile(`${pauseTar}.id`, "utf8")).trim());
  });

  it("skips an image containerd already holds", async () => {
    const result = await loadSh(socket, "pause");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /registry\.k8s\.io\/pause:3\.10: already loaded/);
    assert.doesNotMatch(result.stdout, /importing/);
  });
});
