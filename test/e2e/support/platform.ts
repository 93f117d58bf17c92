// Shared set-up for the platform e2e tests: the whole product installed by its Helm chart into
// agentbox-system-e2e, from a platform image rebuilt from the current tree, and torn down again.
import { execFile } from "node:child_process";
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { once } from "node:events";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import { createSecureContext } from "node:tls";
import { existsSync } from "node:fs";
import { readFile, writeFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import * as k8s from "@kubernetes/client-node";
import { CertificateAuthority } from "../../../sidecar/ca.js";
import { DEFAULT_TOKEN_AUDIENCE } from "../../../session-api/auth/token-audience.js";
import { waitFor } from "../../support/wait.js";
import { DEFAULT_KUBECONFIG, isNotFound, type Cluster } from "./cluster.js";

const run = promisify(execFile);

export const ROOT = resolve(import.meta.dirname, "../../..");
export const RELEASE = "agentbox-e2e";
export const SYSTEM_NAMESPACE = "agentbox-system-e2e";
export const HELM = process.env.HELM ?? "/var/cache/agentbox/helm-v3.22.0/helm";
/** ConfigMap (key ca.crt) in each session namespace that the operator mounts as the sidecar's upstream roots. */
export const UPSTREAM_CA_CONFIGMAP = "agentbox-e2e-upstream-ca";
/** A fixed node port for the session API so tests (and a person) reach it at the node address. */
export const SESSION_API_NODE_PORT = 30917;
export const NODE_ADDRESS = "10.217.0.1";
export const SESSION_API_URL = `http://${NODE_ADDRESS}:${SESSION_API_NODE_PORT}`;

export interface Platform {
  /** The one namespace the operator of this release reconciles (other engineers' operators own theirs). */
  sessionNamespace: string;
  uninstall(): Promise<void>;
}

function kubeconfig(): string {
  return process.env.KUBECONFIG ?? DEFAULT_KUBECONFIG;
}

/** Builds (if its inputs changed) and loads the platform and shell images into the cluster. */
export async function loadImages(): Promise<void> {
  try {
    await run("bash", [join(ROOT, "test/cluster/images/up.sh"), "platform", "agent-shell"], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024, timeout: 900_000 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(`building/loading images failed (test/cluster/images/up.sh platform agent-shell): ${stderr.slice(-2000)}`, { cause: error });
  }
}

export async function helm(args: string[], timeoutMs = 300_000): Promise<string> {
  if (!existsSync(HELM)) throw new Error(`no helm at ${HELM}: run test/cluster/build-helm.sh or set HELM`);
  try {
    const { stdout } = await run(HELM, [...args, "--kubeconfig", kubeconfig()], { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? "";
    throw new Error(`helm ${args.slice(0, 2).join(" ")} failed: ${stderr.trim().slice(-2000)}`, { cause: error });
  }
}

export interface InstallOptions {
  /** Helm release and its namespace; a bench uses its own so it never meets a concurrent e2e run. */
  release?: string;
  systemNamespace?: string;
  nodePort?: number;
  /** Mount UPSTREAM_CA_CONFIGMAP into sidecars (every session namespace must then hold it). */
  upstreamCa?: boolean;
  /** The chart's cluster-wide <release>-agent-user/-viewer ClusterRoles. */
  agentRoles?: boolean;
}

/** Values for this cluster: local images, the operator confined to one namespace, a fixed NodePort. */
export function platformValues(sessionNamespace: string, options: InstallOptions = {}): Record<string, unknown> {
  const nodePort = options.nodePort ?? SESSION_API_NODE_PORT;
  return {
    image: { repository: "agentbox/platform", tag: "dev", pullPolicy: "IfNotPresent" },
    operator: { watchNamespace: sessionNamespace, logLevel: "info" },
    sessionApi: { service: { type: "NodePort", nodePort }, allowedOrigins: [`http://${NODE_ADDRESS}:${nodePort}`] },
    sessions: { upstreamCaConfigMap: options.upstreamCa === false ? "" : UPSTREAM_CA_CONFIGMAP },
    templates: { install: true, namespaces: [sessionNamespace] },
    rbac: { agentRoles: options.agentRoles ?? true },
    // The test upstreams listen on the node's private address; the platform's bound must allow
    // sessions to open it (egress.allowPrivate), and nothing else (ADR 0004).
    egress: { allowPrivateBound: [`${NODE_ADDRESS}/32`] },
  };
}

/** Rolls out the release with `helm upgrade --install`, then waits for both Deployments to be available. */
export async function installPlatform(cluster: Cluster, sessionNamespace: string, options: InstallOptions = {}): Promise<Platform> {
  const release = options.release ?? RELEASE;
  const systemNamespace = options.systemNamespace ?? SYSTEM_NAMESPACE;
  const dir = await mkdtemp(join(tmpdir(), "agentbox-e2e-values-"));
  const valuesFile = join(dir, "values.json");
  await writeFile(valuesFile, JSON.stringify(platformValues(sessionNamespace, options)));
  try {
    await helm(["upgrade", "--install", release, join(ROOT, "helm/agentbox"), "--namespace", systemNamespace, "--create-namespace", "-f", valuesFile, "--wait", "--timeout", "5m"], 330_000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  for (const component of ["operator", "session-api"]) await waitForRollout(cluster, systemNamespace, `${release}-${component}`);
  return { sessionNamespace, uninstall: () => uninstallPlatform(cluster, release, systemNamespace) };
}

export async function waitForRollout(cluster: Cluster, namespace: string, name: string, timeoutMs = 180_000): Promise<void> {
  await waitFor(
    `Deployment ${namespace}/${name} rolled out`,
    async () => {
      const d = await cluster.apps.readNamespacedDeployment({ name, namespace });
      const want = d.spec?.replicas ?? 1;
      const s = d.status;
      const done = (s?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) && s?.updatedReplicas === want && s.availableReplicas === want && (s.replicas ?? 0) === want;
      return done ? true : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** `helm uninstall --wait`, then waits until the system namespace is gone. */
export async function uninstallPlatform(cluster: Cluster, release = RELEASE, systemNamespace = SYSTEM_NAMESPACE): Promise<void> {
  const releases = await helm(["list", "--namespace", systemNamespace, "-q"]);
  if (releases.split("\n").includes(release)) await helm(["uninstall", release, "--namespace", systemNamespace, "--wait", "--timeout", "3m"], 200_000);
  await deleteNamespaceAndWait(cluster, systemNamespace);
}

export async function deleteNamespaceAndWait(cluster: Cluster, name: string, timeoutMs = 180_000): Promise<void> {
  try {
    await cluster.core.deleteNamespace({ name });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  await waitFor(
    `namespace ${name} deleted`,
    async () => {
      try {
        await cluster.core.readNamespace({ name });
        return undefined;
      } catch (error) {
        if (isNotFound(error)) return true;
        throw error;
      }
    },
    { timeoutMs, intervalMs: 500 },
  );
}

/** The chart's agent-user ClusterRole of the e2e release (named after the release). */
export const AGENT_USER_CLUSTER_ROLE = `${RELEASE}-agent-user`;

/** The rules of the chart's agent-user ClusterRole, for a release installed without it. */
const AGENT_USER_RULES: k8s.V1PolicyRule[] = [
  { apiGroups: ["agentbox.dev"], resources: ["agentsessions"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
  { apiGroups: ["agentbox.dev"], resources: ["agentsessions/terminal"], verbs: ["create", "get"] },
  { apiGroups: ["agentbox.dev"], resources: ["agenttemplates"], verbs: ["get", "list", "watch"] },
];

/**
 * A ServiceAccount bound in `namespace` to the e2e release's agent-user ClusterRole (or, with
 * `ownRole`, to a Role with the same rules), and a token of it.
 */
export async function agentUserToken(cluster: Cluster, namespace: string, name: string, ownRole = false): Promise<string> {
  const rbac = cluster.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
  await cluster.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  if (ownRole) await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules: AGENT_USER_RULES } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name },
      roleRef: ownRole ? { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name } : { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: AGENT_USER_CLUSTER_ROLE },
      subjects: [{ kind: "ServiceAccount", name, namespace }],
    },
  });
  // For the session API's audience only, as `kubectl create token <sa> --audience agentbox-session-api`.
  const request = await cluster.core.createNamespacedServiceAccountToken({ name, namespace, body: { spec: { expirationSeconds: 3600, audiences: [DEFAULT_TOKEN_AUDIENCE] } } });
  const token = request.status?.token;
  if (!token) throw new Error(`the API server issued no token for ${namespace}/${name}`);
  return token;
}

// A TLS upstream on the node (10.217.0.1:443), named in the cluster's CoreDNS hosts file, whose
// certificate comes from a test CA: what an agent's credential is bound to in the platform e2e.
export const HOSTS_FILE = process.env.AGENTBOX_HOSTS_FILE ?? "/var/lib/agentbox/cluster/hosts";

export interface SeenRequest {
  url: string;
  host: string;
  servername: string;
  authorization: string;
}

export interface NodeUpstream {
  caPem: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/**
 * Listens on NODE_ADDRESS:443 (and :80): the sidecar's transparent capture only takes dport 443 (and 80), so
 * this is the port an agent that ignores the proxy reaches. Answers every request with what it saw.
 */
export async function startNodeUpstream(): Promise<NodeUpstream> {
  const ca = await CertificateAuthority.create();
  const seen: SeenRequest[] = [];
  const server: Server = createServer({
    SNICallback: (name, callback) => {
      ca.mintLeaf(name).then(
        (leaf) => callback(null, createSecureContext({ key: leaf.keyPem, cert: leaf.certificatePem })),
        (error: Error) => callback(error),
      );
    },
  });
  const answer = (request: IncomingMessage, response: ServerResponse): void => {
    const entry: SeenRequest = {
      url: request.url ?? "",
      host: request.headers.host ?? "",
      servername: (request.socket as { servername?: string | false }).servername || "",
      authorization: request.headers.authorization ?? "",
    };
    seen.push(entry);
    response.writeHead(200, { "content-type": "application/json" });
    // Echoes only the host: echoing the header would put the real value into the agent's reach.
    response.end(JSON.stringify({ host: entry.host, authorized: entry.authorization !== "" }));
  };
  server.on("request", answer);
  // Plain HTTP on port 80 too (the other port the capture takes), where the sidecar sees every request.
  const plain = createHttpServer(answer);
  for (const [listener, port] of [[server, 443], [plain, 80]] as const) {
    listener.listen(port, NODE_ADDRESS);
    try {
      await once(listener, "listening");
    } catch (error) {
      throw new Error(`cannot listen on ${NODE_ADDRESS}:${port} for the test upstream (is another test using it?)`, { cause: error });
    }
  }
  return {
    caPem: ca.certificatePem,
    seen,
    close: async () => {
      for (const listener of [server, plain]) {
        listener.closeAllConnections();
        listener.close();
        await once(listener, "close");
      }
    },
  };
}

/** A UDP receiver on the node that counts datagrams. */
export async function startUdpSink(): Promise<{ port: number; received: () => number; close(): Promise<void> }> {
  const socket: UdpSocket = createSocket("udp4");
  let count = 0;
  socket.on("message", () => (count += 1));
  socket.bind(0, NODE_ADDRESS);
  await once(socket, "listening");
  return {
    port: socket.address().port,
    received: () => count,
    close: async () => {
      socket.close();
      await once(socket, "close");
    },
  };
}

/** Appends `NODE_ADDRESS names...` to CoreDNS's hosts file (reloaded every second); returns the undo. */
export async function addHosts(names: string[]): Promise<() => Promise<void>> {
  const line = `${NODE_ADDRESS} ${names.join(" ")} # agentbox platform e2e`;
  const before = await readFile(HOSTS_FILE, "utf8").catch(() => "");
  await writeFile(HOSTS_FILE, `${before}${before === "" || before.endsWith("\n") ? "" : "\n"}${line}\n`);
  return async () => {
    const now = await readFile(HOSTS_FILE, "utf8");
    await writeFile(HOSTS_FILE, now.split("\n").filter((l) => l !== line).join("\n"));
  };
}
