import { test } from "node:test";
import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import { slim } from "../../../operator/informer.js";

const pod = (): V1Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "s-1",
    namespace: "team",
    labels: { "agentbox.dev/session": "s-1" },
    annotations: { "agentbox.dev/spec-hash": "abc", "kubectl.kubernetes.io/last-applied-configuration": "{\"big\":true}" },
    ownerReferences: [{ apiVersion: "agentbox.dev/v1alpha1", kind: "AgentSession", name: "s-1", uid: "u", controller: true }],
    managedFields: [{ manager: "agentbox-operator", operation: "Apply", fieldsType: "FieldsV1", fieldsV1: { "f:spec": {} } }],
  },
  spec: { containers: [{ name: "agent", image: "i" }] },
  status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] },
});

test("slim drops managedFields and kubectl's last-applied annotation, and keeps what reconciles read", () => {
  const p = slim(pod());
  assert.equal(p.metadata?.managedFields, undefined);
  assert.deepEqual(p.metadata?.annotations, { "agentbox.dev/spec-hash": "abc" });
  const { managedFields: _m, annotations: _a, ...kept } = pod().metadata!;
  const { managedFields: _m2, annotations: _a2, ...keptAfter } = p.metadata!;
  assert.deepEqual(keptAfter, kept);
  assert.deepEqual(p.spec, pod().spec);
  assert.deepEqual(p.status, pod().status);
});

test("slim leaves objects without metadata or annotations as they are", () => {
  const cases: { in: object; out: object }[] = [
    { in: { kind: "Status" }, out: { kind: "Status" } },
    { in: { metadata: { name: "a" } }, out: { metadata: { name: "a" } } },
    { in: { metadata: { name: "a", managedFields: [] } }, out: { metadata: { name: "a" } } },
    { in: { metadata: { name: "a", annotations: {} } }, out: { metadata: { name: "a", annotations: {} } } },
  ];
  for (const c of cases) assert.deepEqual(slim(structuredClone(c.in)), c.out);
});
