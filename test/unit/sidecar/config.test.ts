import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_LISTEN, loadSidecarConfig, parseSidecarConfig, parseStartupOptions, readCommandLine, startupOptionsHelp, StartupOptions } from "../../../sidecar/config.js";

const stub = "sk-ant-api03-" + "AbCdEfGhIjKlMnOpQrStUv";

test("a full config parses, with defaults filled and names normalized", () => {
  const config = parseSidecarConfig({
    egress: { allow: ["API.GitHub.com.", "*.github.com"], allowPrivate: ["10.0.0.0/8", "fd00::/8", "127.0.0.1"] },
    credentials: [{ name: "anthropic", stub, hosts: ["api.anthropic.com"], source: { file: { path: "/s/key" } } }],
  });
  assert.deepEqual(config.egress.allow, ["api.github.com", "*.github.com"]);
  assert.deepEqual(config.credentials[0]?.inject, { headers: ["authorization"], body: false });
  assert.equal(config.caDir, "/var/run/agentbox/ca");
  assert.equal(config.upstreamCaFile, undefined);
});

test("vault source and explicit inject are accepted", () => {
  const config = parseSidecarConfig({
    credentials: [{
      name: "gh", stub: "ghp_" + "0123456789abcdefghijklmnopqrstuvwxyz", hosts: ["*.github.com"],
      inject: { headers: ["Authorization", "X-Token"], body: true },
      source: { vault: { path: "kv/data/gh", key: "token" } },
    }],
    vault: { address: "https://vault.example:8200", auth: { token: { file: "/t" } } },
  });
  assert.deepEqual(config.credentials[0]?.inject.headers, ["authorization", "x-token"]);
});

const invalid: Array<[string, unknown, RegExp]> = [
  ["unknown top-level key", { egres: {} }, /egres/],
  ["IP literal in allow", { egress: { allow: ["10.0.0.1"] } }, /egress\.allow\.0/],
  ["unicode host", { egress: { allow: ["gïthub.com"] } }, /not a DNS name/],
  ["bad CIDR", { egress: { allowPrivate: ["10.0.0.0/33"] } }, /address range/],
  ["short stub", { credentials: [{ name: "a", stub: "short", hosts: ["a.com"], source: { file: { path: "/x" } } }] }, /16 characters/],
  ["no hosts", { credentials: [{ name: "a", stub, hosts: [], source: { file: { path: "/x" } } }] }, /hosts/],
  ["two sources", { credentials: [{ name: "a", stub, hosts: ["a.com"], source: { file: { path: "/x" }, vault: { path: "p", key: "k" } } }] }, /source/],
  ["duplicate names", { credentials: [
    { name: "a", stub, hosts: ["a.com"], source: { file: { path: "/x" } } },
    { name: "a", stub: stub + "X", hosts: ["a.com"], source: { file: { path: "/x" } } },
  ] }, /duplicate credential name "a"[\s\S]*overlaps/],
];

for (const [name, value, message] of invalid) {
  test(`rejected: ${name}`, () => {
    assert.throws(() => parseSidecarConfig(value), message);
  });
}

test("loadSidecarConfig reads a file and names it in errors", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sidecar-config-"));
  const good = join(dir, "good.json");
  await writeFile(good, JSON.stringify({ egress: { allow: ["example.com"] } }));
  assert.deepEqual((await loadSidecarConfig(good)).egress.allow, ["example.com"]);
  const bad = join(dir, "bad.json");
  await writeFile(bad, "{not json");
  await assert.rejects(loadSidecarConfig(bad), /bad\.json is not valid JSON/);
  await assert.rejects(loadSidecarConfig(join(dir, "missing.json")), /cannot read sidecar config/);
});

test("start-up options: defaults, port 0, IPv6 listen addresses and resolve entries", () => {
  const options = parseStartupOptions({ config: "/c.json", explicit: "127.0.0.1:0", "transparent-tls": "[::1]:15002", resolve: ["API.example.test=10.0.0.5", "b.example.test=fd00::5"] });
  assert.deepEqual(options.explicit, { host: "127.0.0.1", port: 0 });
  assert.deepEqual(options["transparent-tls"], { host: "::1", port: 15002 });
  assert.deepEqual(options["transparent-http"], DEFAULT_LISTEN.transparentHttp);
  assert.deepEqual(options.admin, DEFAULT_LISTEN.admin);
  assert.equal(options["explicit-only"], false);
  assert.equal(options.dns, undefined);
  assert.deepEqual(options.resolve, [{ host: "api.example.test", address: "10.0.0.5" }, { host: "b.example.test", address: "fd00::5" }]);
});

const badOptions: Array<[string, Record<string, unknown>, RegExp]> = [
  ["no --config", {}, /--config: --config <file> is required/],
  ["a host name to listen on", { config: "c", explicit: "localhost:1" }, /--explicit: expected ip:port/],
  ["a port out of range", { config: "c", admin: "0.0.0.0:65536" }, /--admin: expected ip:port/],
  ["an IPv6 address without brackets", { config: "c", dns: "::1:53" }, /--dns: expected ip:port/],
  ["a resolve entry without an address", { config: "c", resolve: ["a.test"] }, /--resolve: expected name=address, got "a\.test"/],
  ["a resolve entry to a name", { config: "c", resolve: ["ok.test=10.0.0.1", "a.test=b.test"] }, /--resolve: expected name=address, got "a\.test=b\.test"/],
  ["--dns with --explicit-only", { config: "c", "explicit-only": true, dns: "127.0.0.1:0" }, /--dns: has no effect with --explicit-only/],
  ["an unknown option", { config: "c", transparent: "1.2.3.4:1" }, /transparent/],
];
for (const [name, values, expected] of badOptions) {
  test(`start-up options refuse ${name}`, () => assert.throws(() => parseStartupOptions(values), expected));
}

const commandLines: Array<[string, string[], (options: StartupOptions) => void]> = [
  ["repeated --resolve, a switch and port 0", ["--config", "/c.json", "--resolve", "a.test=10.0.0.1", "--resolve", "b.test=::1", "--explicit-only", "--admin", "[::1]:0"], (options) => {
    assert.deepEqual(options.resolve, [{ host: "a.test", address: "10.0.0.1" }, { host: "b.test", address: "::1" }]);
    assert.equal(options["explicit-only"], true);
    assert.deepEqual(options.admin, { host: "::1", port: 0 });
  }],
  ["only --config: every default", ["--config=/c.json"], (options) => {
    assert.deepEqual(options.explicit, DEFAULT_LISTEN.explicit);
    assert.deepEqual(options.resolve, []);
    assert.equal(options.hosts, undefined);
  }],
];
for (const [name, args, check] of commandLines) {
  test(`command line: ${name}`, () => {
    const options = readCommandLine(args);
    assert.notEqual(options, "help");
    if (options !== "help") check(options);
  });
}

const badCommandLines: Array<[string, string[], RegExp]> = [
  ["an unknown option", ["--config", "c", "--transparent", "1.2.3.4:1"], /invalid options:\n {2}Unknown option '--transparent'[^]*see --help/],
  ["a positional argument", ["--config", "c", "extra"], /invalid options:[^]*extra/],
  ["a value for a switch", ["--config", "c", "--explicit-only=yes"], /invalid options:[^]*explicit-only/],
  ["an option without its value", ["--config"], /invalid options:[^]*--config/],
];
for (const [name, args, expected] of badCommandLines) {
  test(`command line refuses ${name}`, () => assert.throws(() => readCommandLine(args), expected));
}

test("--help wins over missing options, and its text lists every option with its default from the schema", () => {
  assert.equal(readCommandLine(["--help"]), "help");
  const help = startupOptionsHelp();
  for (const name of Object.keys(StartupOptions.shape)) assert.match(help, new RegExp(`^  --${name}\\b`, "m"), name);
  assert.match(help, /--explicit <ip:port>\n {6}the explicit HTTP proxy [^\n]*Default: 127\.0\.0\.1:15001\./);
  assert.match(help, /--admin <ip:port>\n[^\n]*Default: 0\.0\.0\.0:15021\./);
  assert.match(help, /--resolve <name=address>\n/);
  assert.match(help, /--explicit-only\n[^\n]*Default: false\./);
});
