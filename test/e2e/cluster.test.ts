// The local cluster itself: real node, real containers, real exec/logs through the API server,
// Services, Deployments and namespace garbage collection.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { V1Pod } from "@kubernetes/client-node";
import { waitFor } from "../support/wait.js";
import {
  SHELL_IMAGE,
  connect,
  createNamespace,
  deleteNamespace,
  exec,
  isNotFound,
  waitForPodPhase,
  type Cluster,
} from "./support/cluster.js";

const HTTP_SERVER = `require("http").createServer((q, s) => s.end("hello from " + require("os").hostname())).listen(8080)`;

function pod(name: string, script: string, labels: Record<string, string> = {}): V1Pod {
  return {
    metadata: { name, labels },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        { name: "main", image: SHELL_IMAGE, imagePullPolicy: "IfNotPresent", command: ["node", "-e", script] },
      ],
    },
  };
}

describe("local cluster", () => {
  let cluster: Cluster;
  let ns: string;

  before(async () => {
    cluster = connect();
    ns = await createNamespace(cluster, "e2e-cluster");
  });
  after(async () => {
    await deleteNamespace(cluster, ns);
  });

  it("has a Ready node", async () => {
    const nodes = await cluster.core.listNode();
    assert.equal(nodes.items.length, 1);
    const ready = nodes.items[0]?.status?.conditions?.find((c) => c.type === "Ready");
    assert.equal(ready?.status, "True", `node not Ready: ${ready?.message}`);
  });

  it("runs a pod from a locally built image, and exec round-trips stdin with a TTY and the exit code", async () => {
    await cluster.core.createNamespacedPod({ namespace: ns, body: pod("shell", "setInterval(() => {}, 1 << 30)") });
    await waitForPodPhase(cluster, ns, "shell", ["Running"]);
    const target = { namespace: ns, pod: "shell", container: "main" };

    const tty = await exec(cluster, target, ["sh", "-c", 'read line; echo "got:$line"; exit 3'], {
      stdin: "round-trip\n",
      tty: true,
    });
    assert.match(tty.stdout, /got:round-trip/);
    assert.equal(tty.exitCode, 3);

    const plain = await exec(cluster, target, ["sh", "-c", "cat; echo done >&2"], { stdin: "piped" });
    assert.equal(plain.stdout, "piped");
    assert.equal(plain.stderr, "done\n");
    assert.equal(plain.exitCode, 0);
  });

  it("returns container output through pods/log", async () => {
    await cluster.core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: "logger" },
        spec: {
          restartPolicy: "Never",
          containers: [{ name: "main", image: SHELL_IMAGE, command: ["node", "-e", `console.log("line one"); console.log("line two")`] }],
        },
      },
    });
    await waitForPodPhase(cluster, ns, "logger", ["Succeeded"]);
    const log = await cluster.core.readNamespacedPodLog({ name: "logger", namespace: ns, container: "main" });
    assert.equal(log, "line one\nline two\n");
  });

  it("rolls out a Deployment and reaches it through a ClusterIP Service by IP and by DNS name", async () => {
    await cluster.apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: "web" },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "main", image: SHELL_IMAGE, command: ["node", "-e", HTTP_SERVER], readinessProbe: { httpGet: { path: "/", port: 8080 }, periodSeconds: 1 } }] },
          },
        },
      },
    });
    await waitFor(
      "deployment web rolled out",
      async () => {
        const d = await cluster.apps.readNamespacedDeployment({ name: "web", namespace: ns });
        const s = d.status;
        const done = s?.observedGeneration === d.metadata?.generation && s?.updatedReplicas === 2 && s?.availableReplicas === 2;
        return done ? d : undefined;
      },
      { timeoutMs: 120_000 },
    );
    const svc = await cluster.core.createNamespacedService({
      namespace: ns,
      body: { metadata: { name: "web" }, spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 8080 }] } },
    });
    const clusterIP = svc.spec?.clusterIP;
    assert.ok(clusterIP, "service has a ClusterIP");

    await cluster.core.createNamespacedPod({ namespace: ns, body: pod("client", "setInterval(() => {}, 1 << 30)") });
    await waitForPodPhase(cluster, ns, "client", ["Running"]);
    const target = { namespace: ns, pod: "client", container: "main" };
    const fetchOnce = (url: string): string[] => [
      "node",
      "-e",
      `fetch(${JSON.stringify(url)}).then((r) => r.text()).then((t) => process.stdout.write(t), (e) => { console.error(String(e.cause ?? e)); process.exit(1); })`,
    ];
    for (const url of [`http://${clusterIP}/`, `http://web.${ns}.svc.cluster.local/`]) {
      // kube-proxy programs the Service asynchronously: poll until it answers. On a cluster
      // just brought up, an early exec has ended with code 0 and no output; poll past that too.
      const body = await waitFor(`GET ${url} from a pod`, async () => {
        const r = await exec(cluster, target, fetchOnce(url));
        return r.exitCode === 0 && r.stdout !== "" ? r.stdout : undefined;
      }, { timeoutMs: 60_000, intervalMs: 1000 });
      assert.match(body, /^hello from web-/);
    }
  });

  it("garbage-collects what a deleted namespace held", async () => {
    const doomed = await createNamespace(cluster, "e2e-gc");
    await cluster.core.createNamespacedConfigMap({ namespace: doomed, body: { metadata: { name: "cm" }, data: { a: "b" } } });
    await cluster.core.createNamespacedPod({ namespace: doomed, body: pod("sleeper", "setInterval(() => {}, 1 << 30)") });
    await waitForPodPhase(cluster, doomed, "sleeper", ["Running"]);
    await cluster.core.deleteNamespace({ name: doomed });
    await waitFor(
      `namespace ${doomed} gone`,
      async () => {
        try {
          await cluster.core.readNamespace({ name: doomed });
          return undefined;
        } catch (error) {
          if (isNotFound(error)) return true;
          throw error;
        }
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const pods = await cluster.core.listNamespacedPod({ namespace: doomed });
    assert.equal(pods.items.length, 0);
    const cms = await cluster.core.listNamespacedConfigMap({ namespace: doomed });
    assert.equal(cms.items.length, 0);
  });
});
