import { test } from "node:test";
import assert from "node:assert/strict";
import { AgentSessionSpec } from "../../../crds/agentsession.js";
import { AgentTemplateSpec } from "../../../crds/agenttemplate.js";
import { MALFORMED, VALID_SPECS } from "./cases.js";

test("the session schema accepts well-formed specs", () => {
  for (const entry of VALID_SPECS) {
    for (const [name, spec] of Object.entries(entry)) {
      const r = AgentSessionSpec.safeParse(spec);
      assert.ok(r.success, `${name}: ${r.success ? "" : r.error.message}`);
    }
  }
});

test("the session schema rejects each malformed spec, naming the field", () => {
  assert.ok(MALFORMED.length >= 15);
  for (const c of MALFORMED) {
    const r = AgentSessionSpec.safeParse(c.spec);
    assert.equal(r.success, false, `${c.name} was accepted`);
    const issues = r.error!.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    const wanted = c.field.split(".").pop()!.replace(/\[\d+\]$/, "");
    assert.ok(issues.some((i) => i.includes(wanted)), `${c.name}: issues ${issues.join("; ")} do not name ${c.field}`);
  }
});

test("defaults: a credential's inject defaults to the authorization header, no body", () => {
  const spec = AgentSessionSpec.parse({ agent: { image: "x" }, credentials: [{ name: "a", env: "A", hosts: ["a.example"], source: { secretKeyRef: { name: "s", key: "k" } } }] });
  assert.deepEqual(spec.credentials?.[0]?.inject, { headers: ["authorization"], body: false });
});

test("the template schema needs no image and rejects an unknown lock", () => {
  assert.ok(AgentTemplateSpec.safeParse({ agent: { command: ["claude"] } }).success);
  assert.deepEqual(AgentTemplateSpec.parse({}).locked, []);
  assert.equal(AgentTemplateSpec.safeParse({ locked: ["agent.env"] }).success, false);
});
