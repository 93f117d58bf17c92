// Acceptance 1 and the integration half of 3 of issue 6, against the real Vault server
// (test/vault/build.sh) and the real sidecar with a real TLS upstream, all on 127.0.0.1.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseSidecarConfig, type SidecarConfigInput } from "../../../sidecar/config.js";
import { createLogger } from "../../../sidecar/telemetry.js";
import { createSidecar, type RunningSidecar } from "../../../sidecar/vault/attach.js";
import { waitFor } from "../../support/wait.js";
import { startVault, vaultSkipReason, type VaultServer } from "../../vault/start.js";
import { connectTunnel, LogCapture, requestOver, startUpstream, STUB, testResolver, tlsOver, type Upstream } from "../sidecar/harness.js";

const REFRESH_SECONDS = 1;
const values: string[] = [];
function newValue(): string {
  const value = `sk-ant-api03-VAULT${values.length}-${randomBytes(24).toString("base64url")}`;
  values.push(value);
  return value;
}

/** Any form of any value this test ever wrote to Vault. */
function leaks(text: string): string | undefined {
  for (const value of values) {
    const forms = [value, value.slice(13), Buffer.from(value).toString("base64").slice(4, -4), encodeURIComponent(value), JSON.stringify(value).slice(1, -1)];
    if (forms.some((form) => text.includes(form))) return value.slice(0, 18);
  }
  return undefined;
}

let vault: VaultServer;
let upstream: Upstream;
let dir: string;
const running: RunningSidecar[] = [];
const logs = new LogCapture();
/** Every capture a sidecar of this file logged to, for the scan. */
const captures: LogCapture[] = [logs];

async function admin(sidecar: RunningSidecar, path: string): Promise<{ status: number; body: string }> {
  const port = sidecar.sidecar.addresses.admin?.port ?? 0;
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

async function start(config: SidecarConfigInput, capture = logs): Promise<RunningSidecar> {
  if (!captures.includes(capture)) captures.push(capture);
  const any = { host: "127.0.0.1", port: 0 };
  const sidecar = await createSidecar({
    config: parseSidecarConfig(config),
    resolver: testResolver,
    logger: createLogger(capture),
    listen: { explicit: any, transparentTls: false, transparentHttp: false, admin: any },
    capturedPorts: { tls: upstream.port, http: upstream.port },
  });
  await sidecar.sidecar.listen();
  running.push(sidecar);
  return sidecar;
}

/** One request through the sidecar's explicit proxy to api.example.test carrying the stub. */
async function callApi(sidecar: RunningSidecar, path = "/echo"): Promise<{ status: number; body: string; seen: string | undefined }> {
  const tunnel = await connectTunnel(sidecar.sidecar.addresses.explicit?.port ?? 0, `api.example.test:${upstream.port}`);
  assert.ok("socket" in tunnel, `CONNECT refused: ${JSON.stringify(tunnel)}`);
  const tls = await tlsOver(tunnel.socket, "api.example.test", sidecar.sidecar.caCertificatePem);
  try {
    const before = upstream.seen.length;
    const response = await requestOver(tls, { path, headers: { host: "api.example.test", "x-api-key": STUB } });
    const seen = upstream.seen.slice(before).find((request) => request.url === path)?.headers["x-api-key"];
    return { status: response.status, body: response.body, seen: typeof seen === "string" ? seen : undefined };
  } finally {
    tls.destroy();
  }
}

function vaultCredential(name: string, path: string, stub = STUB): NonNullable<SidecarConfigInput["credentials"]> {
  return [{ name, stub, hosts: ["api.example.test"], inject: { headers: ["x-api-key"] }, source: { vault: { path, key: "api_key" } } }];
}

before(async () => {
  if (vaultSkipReason) return;
  vault = await startVault();
  upstream = await startUpstream();
  dir = await mkdtemp(join(tmpdir(), "agentbox-vault-test-"));
  await vault.api("PUT", "sys/policies/acl/agents-read", { policy: 'path "kv/data/agents/*" { capabilities = ["read"] }' });
  await vault.api("POST", "kv/data/agents/anthropic", { data: { api_key: newValue() } });
  await vault.api("POST", "kv/data/other/anthropic", { data: { api_key: newValue() } });
  // AppRole: a login the sidecar can repeat when its token is revoked.
  await vault.api("POST", "sys/auth/approle", { type: "approle" });
  await vault.api("POST", "auth/approle/role/agents", { token_policies: ["agents-read"], token_ttl: "1h", secret_id_num_uses: 0 });
  const roleId = (await vault.api("GET", "auth/approle/role/agents/role-id")) as { data: { role_id: string } };
  const secretId = (await vault.api("POST", "auth/approle/role/agents/secret-id")) as { data: { secret_id: string } };
  await writeFile(join(dir, "role-id"), roleId.data.role_id);
  await writeFile(join(dir, "secret-id"), secretId.data.secret_id);
  // Token auth: a token limited to the same policy.
  const token = (await vault.api("POST", "auth/token/create", { policies: ["agents-read"], ttl: "1h" })) as { auth: { client_token: string } };
  await writeFile(join(dir, "token"), token.auth.client_token);
});

after(async () => {
  for (const sidecar of running) await sidecar.close();
  await upstream?.close();
  await vault?.stop();
});

describe("a Vault credential through the real sidecar (AppRole login)", { skip: vaultSkipReason }, () => {
  let sidecar: RunningSidecar;
  before(async () => {
    sidecar = await start({
      egress: { allowPrivate: ["127.0.0.0/8"] },
      credentials: vaultCredential("anthropic", "kv/agents/anthropic"),
      caDir: await mkdtemp(join(tmpdir(), "agentbox-vault-ca-")),
      upstreamCaFile: upstream.caFile,
      vault: {
        address: vault.address,
        auth: { approle: { roleIdFile: join(dir, "role-id"), secretIdFile: join(dir, "secret-id") } },
        refreshSeconds: REFRESH_SECONDS,
        retry: { attempts: 3, initialDelayMs: 50, maxDelayMs: 200 },
      },
    });
  });

  test("the request carries the Vault value; the agent sees only the stub; the sidecar is ready", async () => {
    assert.deepEqual(await admin(sidecar, "/readyz"), { status: 200, body: "ready\n" });
    const response = await callApi(sidecar);
    assert.equal(response.status, 200);
    assert.equal(response.seen, values[0]);
    assert.equal(leaks(response.body), undefined, "the echoed value is scrubbed");
    assert.ok(response.body.includes(STUB));
  });

  test("a rotated value reaches new requests within the interval; an in-flight stream is not broken", async () => {
    // An SSE response held open by the upstream, started with the old value.
    const tunnel = await connectTunnel(sidecar.sidecar.addresses.explicit?.port ?? 0, `api.example.test:${upstream.port}`);
    assert.ok("socket" in tunnel);
    const streamTls = await tlsOver(tunnel.socket, "api.example.test", sidecar.sidecar.caCertificatePem);
    const streamed = requestOver(streamTls, { path: "/sse", headers: { host: "api.example.test", "x-api-key": STUB } });
    const sseSeen = await waitFor("the upstream to receive the stream's request", () => upstream.seen.find((request) => request.url === "/sse"));
    assert.equal(sseSeen.headers["x-api-key"], values[0]);

    const rotated = newValue();
    const writtenAt = Date.now();
    await vault.api("POST", "kv/data/agents/anthropic", { data: { api_key: rotated } });
    await waitFor("a new request to carry the rotated value", async () => ((await callApi(sidecar)).seen === rotated ? true : undefined), { timeoutMs: 15_000, intervalMs: 100 });
    const took = Date.now() - writtenAt;
    // One interval, plus the time a re-read and a policy rebuild take on this loaded machine.
    assert.ok(took <= REFRESH_SECONDS * 1_000 + 3_000, `rotation took ${took} ms`);

    upstream.releaseSse();
    const response = await streamed;
    assert.equal(response.status, 200);
    assert.equal(response.body, "data: first\n\ndata: second\n\n", "the stream that began before the rotation finished intact");
    streamTls.destroy();
  });

  test("a revoked token leads to a re-login and reads go on", async () => {
    const auditBefore = (await readFile(vault.auditFile, "utf8")).split("\n").filter((line) => line.includes('"auth/approle/login"') && line.includes('"type":"response"')).length;
    // Revoke every token AppRole ever issued: the sidecar's one included.
    await vault.api("PUT", "sys/leases/revoke-prefix/auth/approle/login");
    const rotated = newValue();
    await vault.api("POST", "kv/data/agents/anthropic", { data: { api_key: rotated } });
    await waitFor("a request to carry the value read after the re-login", async () => ((await callApi(sidecar)).seen === rotated ? true : undefined), { timeoutMs: 15_000, intervalMs: 100 });
    const logins = (await readFile(vault.auditFile, "utf8")).split("\n").filter((line) => line.includes('"auth/approle/login"') && line.includes('"type":"response"')).length;
    assert.ok(logins > auditBefore, `the sidecar logged in again (${auditBefore} -> ${logins} AppRole logins)`);
    assert.equal((await admin(sidecar, "/readyz")).status, 200);
  });
});

describe("credentials that do not resolve keep the sidecar unready (token auth)", { skip: vaultSkipReason }, () => {
  test("a denied policy and a missing path are named with their credential; the rest still works", async () => {
    const own = new LogCapture();
    const sidecar = await start({
      egress: { allowPrivate: ["127.0.0.0/8"] },
      credentials: [
        ...vaultCredential("anthropic", "kv/agents/anthropic"),
        ...vaultCredential("denied", "kv/other/anthropic", "sk-ant-api03-" + "stubDENIEDstubDENIED000000000000"),
        { name: "missing", stub: "ghp_" + "stubMISSINGstubMISSING0000000000", hosts: ["git.example.test"], source: { vault: { path: "kv/agents/nothing-here", key: "api_key" } } },
      ],
      caDir: await mkdtemp(join(tmpdir(), "agentbox-vault-ca-")),
      upstreamCaFile: upstream.caFile,
      vault: { address: vault.address, auth: { token: { file: join(dir, "token") } }, refreshSeconds: REFRESH_SECONDS, retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 10 } },
    }, own);
    const readyz = await admin(sidecar, "/readyz");
    assert.equal(readyz.status, 503);
    assert.match(readyz.body, /credential "denied" PermissionDenied: permission denied reading kv\/other\/anthropic/);
    assert.match(readyz.body, /credential "missing" PathMissing: no secret at kv\/agents\/nothing-here/);
    assert.doesNotMatch(readyz.body, /"anthropic"/, "the resolved credential is not listed");
    const metrics = await admin(sidecar, "/metrics");
    assert.match(metrics.body, /agentbox_sidecar_vault_credential_resolved\{credential="denied"\} 0/);
    assert.match(metrics.body, /agentbox_sidecar_vault_credential_resolved\{credential="anthropic"\} 1/);
    assert.ok(!sidecar.sidecar.isReady);
    // Still unready after two more re-reads (counted in Vault's audit records); the unresolved credential's host is refused.
    const deniedReads = async (): Promise<number> =>
      (await readFile(vault.auditFile, "utf8")).split("\n").filter((line) => line.includes('"type":"response"') && line.includes('"path":"kv/data/other/anthropic"')).length;
    const seenReads = await deniedReads();
    await waitFor("two more re-reads of the denied path", async () => ((await deniedReads()) >= seenReads + 2 ? true : undefined), { timeoutMs: 15_000 });
    assert.equal((await admin(sidecar, "/readyz")).status, 503);
    const refused = await connectTunnel(sidecar.sidecar.addresses.explicit?.port ?? 0, `git.example.test:${upstream.port}`);
    assert.ok("status" in refused && refused.status === 403, "the host of an unresolved credential is not reachable");
    // Granting the path makes it resolve on the next re-read, without a restart.
    await vault.api("POST", "kv/data/agents/nothing-here", { data: { api_key: newValue() } });
    await vault.api("PUT", "sys/policies/acl/agents-read", { policy: 'path "kv/data/agents/*" { capabilities = ["read"] }\npath "kv/data/other/*" { capabilities = ["read"] }' });
    await waitFor("the sidecar to become ready", async () => ((await admin(sidecar, "/readyz")).status === 200 ? true : undefined), { timeoutMs: 15_000 });
    // The lines the operator reads (contract with operator/sidecar-log.ts): the unresolved set once, then resolved.
    const events = own.lines.flatMap((line) => {
      const parsed = JSON.parse(line) as { event?: string; unresolved?: Array<{ credential: string; reason: string; message: string }> };
      return parsed.event?.startsWith("credentials-") === true ? [parsed] : [];
    });
    assert.deepEqual(
      events.map((event) => [event.event, event.unresolved?.map((entry) => `${entry.credential} ${entry.reason}`)]),
      [
        ["credentials-unresolved", ["denied PermissionDenied", "missing PathMissing"]],
        ["credentials-resolved", undefined],
      ],
    );
    assert.match(events[0]?.unresolved?.[0]?.message ?? "", /^permission denied reading kv\/other\/anthropic/);
  });

  test("an unreachable Vault is named as such", async () => {
    const sidecar = await start({
      credentials: vaultCredential("anthropic", "kv/agents/anthropic"),
      caDir: await mkdtemp(join(tmpdir(), "agentbox-vault-ca-")),
      vault: { address: "http://127.0.0.1:9", auth: { token: { file: join(dir, "token") } }, retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 10 } },
    });
    const readyz = await admin(sidecar, "/readyz");
    assert.equal(readyz.status, 503);
    assert.match(readyz.body, /credential "anthropic" Unreachable: Vault is unreachable \(ECONNREFUSED\)/);
  });
});

describe("no value anywhere (acceptance 3, integration half)", { skip: vaultSkipReason }, () => {
  test("sidecar logs, metrics, readiness, Vault's audit records and server output never carry a value", async () => {
    assert.ok(values.length >= 4, "the scans cover every value written");
    for (const [index, line] of captures.flatMap((capture) => capture.lines).entries()) assert.equal(leaks(line), undefined, `log line ${index}: ${line.slice(0, 200)}`);
    assert.ok(logs.lines.some((line) => line.includes("credential re-read from Vault")), "rotations were logged (by name)");
    for (const sidecar of running) {
      for (const path of ["/metrics", "/readyz", "/healthz"]) assert.equal(leaks((await admin(sidecar, path)).body), undefined, path);
    }
    const audit = await readFile(vault.auditFile, "utf8");
    assert.ok(audit.includes("kv/data/agents/anthropic"), "the audit device recorded the reads");
    assert.equal(leaks(audit), undefined, "Vault's audit records");
    assert.equal(leaks(vault.output()), undefined, "Vault's own output");
  });
});
