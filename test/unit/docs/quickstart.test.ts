// The README's kind instructions, kind-config.yaml and `npm run up` must agree on the session
// API's NodePort, or a kind user's browser reaches nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { z } from "zod";

const KindConfig = z.object({
  kind: z.literal("Cluster"),
  apiVersion: z.literal("kind.x-k8s.io/v1alpha4"),
  nodes: z
    .array(z.object({ role: z.string(), extraPortMappings: z.array(z.object({ containerPort: z.number(), hostPort: z.number() })).optional() }))
    .min(1),
});

const read = (path: string): string => readFileSync(new URL(`../../../${path}`, import.meta.url), "utf8");

test("kind-config.yaml maps the NodePort that the README's helm command and npm run up use", () => {
  const kind = KindConfig.parse(parse(read("kind-config.yaml")));
  const mapping = kind.nodes[0]?.extraPortMappings?.[0];
  assert.ok(mapping, "kind-config.yaml maps no port");

  const readme = read("README.md");
  assert.match(readme, new RegExp(`sessionApi\\.service\\.nodePort=${mapping.containerPort}\\b`));
  assert.match(readme, new RegExp(`allowedOrigins\\[0\\]=http://localhost:${mapping.hostPort}'`));
  assert.match(read("scripts/up.sh"), new RegExp(`AGENTBOX_NODE_PORT:-${mapping.containerPort}\\}`));
});

test("the README's quickstart is npm run up, and that script exists", () => {
  const readme = read("README.md");
  const pkg = z.object({ scripts: z.record(z.string(), z.string()) }).parse(JSON.parse(read("package.json")));
  assert.match(readme, /^npm run up\b/m);
  assert.equal(pkg.scripts["up"], "bash scripts/up.sh");
});
