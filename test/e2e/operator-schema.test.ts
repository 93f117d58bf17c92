// Acceptance 3: the API server itself refuses malformed AgentSessions, with messages naming the
// field. Each case is applied for real; the same table drives the zod unit tests.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { connect, createNamespace, deleteNamespace, type Cluster } from "./support/cluster.js";
import { MALFORMED, VALID_SPECS } from "../unit/crds/cases.js";
import { customApi, GROUP, installCrds, PLURAL, sessionManifest, VERSION } from "./operator-support.js";

let cluster: Cluster;
let ns: string;

before(async () => {
  cluster = connect();
  await installCrds(cluster);
  ns = await createNamespace(cluster, "op-schema");
});
after(async () => {
  if (ns) await deleteNamespace(cluster, ns);
});

const create = async (name: string, spec: Record<string, unknown>): Promise<void> => {
  await customApi(cluster).createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, body: sessionManifest(name, spec) });
};

test("well-formed sessions are accepted, with defaults applied", async () => {
  let i = 0;
  for (const entry of VALID_SPECS) for (const spec of Object.values(entry)) await create(`valid-${i++}`, spec);
  const full = (await customApi(cluster).getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: "valid-0" })) as { spec: Record<string, unknown> };
  assert.deepEqual(full.spec, VALID_SPECS[0]!.minimal);
});

for (const [i, c] of MALFORMED.entries()) {
  test(`the API server refuses: ${c.name}`, async () => {
    const err = await create(`bad-${i}`, c.spec).then(
      () => undefined,
      (e: unknown) => e as { code?: number; body?: unknown },
    );
    assert.ok(err, "was accepted");
    assert.equal(err.code, 422);
    const body = typeof err.body === "string" ? (JSON.parse(err.body) as { message: string }) : (err.body as { message: string });
    const wanted = c.field.split(".").pop()!.replace(/\[\d+\]$/, "");
    assert.ok(body.message.includes(wanted), `message does not name ${wanted}: ${body.message}`);
  });
}

test("lifecycle.mode cannot be changed after creation", async () => {
  await create("immutable", { agent: { image: "a:1" }, lifecycle: { mode: "Batch" } });
  const err = await customApi(cluster)
    .patchNamespacedCustomObject(
      { group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: "immutable", body: { spec: { lifecycle: { mode: "Interactive" } } } },
      (await import("../../operator/kube.js")).mergePatch,
    )
    .then(() => undefined, (e: unknown) => e as { code?: number; body?: unknown });
  assert.equal(err?.code, 422);
  assert.match(String(typeof err?.body === "string" ? err.body : JSON.stringify(err?.body)), /lifecycle.mode is immutable/);
});
