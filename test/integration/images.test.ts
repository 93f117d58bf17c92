// The locally built images run: the pause image holds a sandbox, stops on SIGTERM and reaps
// orphans; the agent shell has its tools and runs as uid 1000; the platform image carries the
// compiled project; the agent CLIs start. Needs Docker and `npm run images:build`; skipped otherwise.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

const exec = promisify(execFile);

const PAUSE = "registry.k8s.io/pause:3.10";
const SHELL = "agentbox/agent-shell:dev";
const PLATFORM = "agentbox/platform:dev";

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await exec("docker", args, { timeout: 60_000 });
  return stdout.trim();
}

async function missingImage(image: string): Promise<string | false> {
  try {
    await docker("image", "inspect", image);
    return false;
  } catch {
    return `${image} is not built (or Docker is not running): run npm run images:build`;
  }
}

/** Runs a throwaway container without network and returns its stdout. */
async function runIn(image: string, ...command: string[]): Promise<string> {
  return docker("run", "--rm", "--network", "none", image, ...command);
}

async function pollUntil<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const started: string[] = [];
after(async () => {
  if (started.length > 0) await docker("rm", "--force", ...started).catch(() => "");
});

async function startPause(): Promise<string> {
  const name = `agentbox-test-pause-${randomBytes(4).toString("hex")}`;
  await docker("run", "--detach", "--network", "none", "--name", name, PAUSE);
  started.push(name);
  await pollUntil("the pause container to run", async () =>
    (await docker("inspect", "--format", "{{.State.Running}}", name)) === "true" ? true : undefined,
  );
  return name;
}

describe("pause image", { skip: (await missingImage(PAUSE)) || (await missingImage(SHELL)) }, () => {
  it("is one linux/amd64 layer whose entrypoint is the pause program, as containerd's sandbox needs", async () => {
    const config = await docker("image", "inspect", "--format", "{{.Os}}/{{.Architecture}} {{json .Config.Entrypoint}} {{len .RootFS.Layers}}", PAUSE);
    assert.equal(config, 'linux/amd64 ["/pause"] 1');
  });

  it("runs until SIGTERM, then exits 0 without being killed", async () => {
    const name = await startPause();
    // docker stop sends SIGTERM and only SIGKILLs (exit 137) after the grace period.
    await docker("stop", "--time", "20", name);
    const state = await docker("inspect", "--format", "{{.State.ExitCode}} {{.State.OOMKilled}}", name);
    assert.equal(state, "0 false");
  });

  it("reaps orphans re-parented to it in a shared PID namespace", async () => {
    const name = await startPause();
    // Each subshell exits at once, so its orphan-sleep child is re-parented to PID 1 (pause).
    // Once the orphans exit, only pause can reap them: an unreaped one stays listed as a zombie.
    // bash, not the image's tini, is the entrypoint: tini would make itself the subreaper.
    const script = [
      "cp /bin/sleep /tmp/orphan-sleep",
      "for i in 1 2 3; do (/tmp/orphan-sleep 1 &); done",
      "ps -eo ppid=,comm= | awk '$2 == \"orphan-sleep\" { print \"parent\", $1 }' | sort -u",
      "deadline=$((SECONDS + 10))",
      "while ps -eo stat=,comm= | grep -q orphan-sleep; do",
      "  [ $SECONDS -lt $deadline ] || { ps -eo pid,ppid,stat,comm; echo 'orphans not reaped'; exit 1; }",
      "  sleep 0.05",
      "done",
      "echo reaped",
    ].join("\n");
    const out = await docker(
      "run", "--rm", "--pid", `container:${name}`, "--network", "none", "--entrypoint", "bash", SHELL, "-c", script,
    );
    assert.deepEqual(out.split("\n"), ["parent 1", "reaped"]);
  });
});

describe("agent-shell image", { skip: await missingImage(SHELL) }, () => {
  it("runs as uid 1000 `agent` in /workspace with HOME /home/agent", async () => {
    const out = await runIn(SHELL, "sh", "-c", 'id -u; id -g; id -un; pwd; echo "$HOME"; test -w "$HOME" && test -w . && echo writable');
    assert.deepEqual(out.split("\n"), ["1000", "1000", "agent", "/workspace", "/home/agent", "writable"]);
  });

  it("has Node.js 20 at /usr/local/bin and npm", async () => {
    const out = await runIn(SHELL, "sh", "-c", 'command -v node; node -e "console.log(process.versions.node.split(\'.\')[0], 6 * 7)"; npm --version');
    const [path, nodeLine, npmVersion] = out.split("\n");
    assert.equal(path, "/usr/local/bin/node");
    assert.equal(nodeLine, "20 42");
    assert.match(npmVersion ?? "", /^\d+\.\d+\.\d+$/);
  });

  it("has git, curl, bash and ps", async () => {
    assert.match(await runIn(SHELL, "git", "--version"), /^git version 2\./);
    assert.match(await runIn(SHELL, "curl", "--version"), /^curl \d+\.\d+.*\n.*Protocols:.* https /s);
    assert.match(await runIn(SHELL, "bash", "-c", "echo $BASH_VERSION"), /^5\./);
    assert.match(await runIn(SHELL, "ps", "-o", "comm=", "-p", "1"), /^tini$/);
  });

  it("trusts the system CA bundle and has the Debian security repository configured", async () => {
    const out = await runIn(SHELL, "sh", "-c", "test -s /etc/ssl/certs/ca-certificates.crt && echo bundle; grep -c security /etc/apt/sources.list.d/debian.sources");
    const [bundle, securityLines] = out.split("\n");
    assert.equal(bundle, "bundle");
    assert.ok(Number(securityLines) >= 1);
  });
});

// The container commands the operator and the Helm chart use (see the component contract).
const entryPoints = ["operator/main.js", "session-api/main.js", "sidecar/main.js", "sidecar/capture-main.js"];
const platformMissing = await missingImage(PLATFORM);
const presentEntryPoints = platformMissing
  ? []
  : (await runIn(PLATFORM, "sh", "-c", `cd /app/dist && ls ${entryPoints.join(" ")} 2>/dev/null || true`)).split("\n");
const absent = entryPoints.filter((entry) => !presentEntryPoints.includes(entry));

describe("platform image", { skip: platformMissing }, () => {
  it("runs as uid 1337 by default and holds the compiled project with production dependencies only", async () => {
    const script = [
      "id -u",
      "test -d /app/dist && echo dist",
      "test -d /app/dist/test || echo no-tests",
      "node -e 'import(\"zod\").then(() => console.log(\"zod\"))'",
      "test -d /app/node_modules/typescript || echo no-dev-deps",
    ].join("; ");
    const out = await docker("run", "--rm", "--network", "none", "--workdir", "/app", PLATFORM, "sh", "-c", script);
    assert.deepEqual(out.split("\n"), ["1337", "dist", "no-tests", "zod", "no-dev-deps"]);
  });

  it("starts the operator and the session API far enough to print their usage", async () => {
    for (const main of ["operator/main.js", "session-api/main.js"]) {
      assert.match(await runIn(PLATFORM, "node", `/app/dist/${main}`, "--help"), /usage/i, main);
    }
  });

  it("holds every entry point of the contract", { todo: absent.length > 0 && `not built yet: ${absent.join(", ")}` }, () => {
    assert.deepEqual(absent, []);
  });

  it("lets the egress-capture init container install owner-matched REDIRECT rules (IPv4 and IPv6)", async () => {
    // As the pod runs it: root with NET_ADMIN, in the pod's own network namespace.
    const script = [
      "iptables -t nat -A OUTPUT -p tcp ! -d 127.0.0.0/8 --dport 443 -m owner ! --uid-owner 1337 -j REDIRECT --to-ports 15002",
      "ip6tables -A OUTPUT -p udp -m owner ! --uid-owner 1337 -j DROP",
      "iptables -t nat -S OUTPUT | grep REDIRECT",
      "ip6tables -S OUTPUT | grep DROP",
    ].join(" && ");
    const out = await docker("run", "--rm", "--network", "none", "--user", "0", "--cap-add", "NET_ADMIN", PLATFORM, "sh", "-c", script);
    assert.deepEqual(out.split("\n"), [
      "-A OUTPUT ! -d 127.0.0.0/8 -p tcp -m tcp --dport 443 -m owner ! --uid-owner 1337 -j REDIRECT --to-ports 15002",
      "-A OUTPUT -p udp -m owner ! --uid-owner 1337 -j DROP",
    ]);
  });
});

for (const [image, command, version] of [
  ["agentbox/claude-code:dev", "claude", /\(Claude Code\)/],
  ["agentbox/codex:dev", "codex", /^codex-cli \d+\./m],
] as const) {
  describe(`${image} image`, { skip: await missingImage(image) }, () => {
    it(`runs ${command} as uid 1000 without network`, async () => {
      const out = await runIn(image, "sh", "-c", `id -u; ${command} --version`);
      const [uid, ...rest] = out.split("\n");
      assert.equal(uid, "1000");
      assert.match(rest.join("\n"), version);
    });
  });
}
