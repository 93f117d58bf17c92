// A stand-in for the parts of the Kubernetes API server the session API calls, on loopback:
// plain HTTP and WebSocket with the real paths, verbs, content types and v5 channel framing,
// so the real client code (client-node, our ws upstream) is exercised without a cluster.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";
import { WebSocketServer, type WebSocket } from "ws";

export const API_TOKEN = "fake-apiserver-token-0123456789";
/** A token TokenReview accepts for a user RBAC allows everything. */
export const TYPIST_TOKEN = "kube-typist-token";
const TYPIST = "system:serviceaccount:team:typist";
/** A token TokenReview accepts for a user RBAC grants terminals by resourceNames only: session s1. */
export const PAIR_TOKEN = "kube-pair-token";
const PAIR = "system:serviceaccount:team:pair";

/** The audience the session API asks TokenReview for by default. */
export const SESSION_API_AUDIENCE = "agentbox-session-api";
/** The API server's own audience: what a token made without --audience is for. */
export const APISERVER_AUDIENCE = "https://kubernetes.default.svc.cluster.local";
/** ci's token as plain `kubectl create token` makes it: for the API server only. */
export const APISERVER_AUDIENCE_TOKEN = "kube-apiserver-audience-token";
/** A token an authenticator without audience support vouches for: its answer names no audiences. */
export const AUDIENCE_AGNOSTIC_TOKEN = "kube-audience-agnostic-token";

const CI = { username: "system:serviceaccount:team:ci", uid: "u-1", groups: ["system:serviceaccounts"] };
/** Each token's user and the audiences it was issued for (undefined: the authenticator ignores audiences). */
const REVIEWED_USERS = new Map<string, { user: typeof CI; audiences?: string[] }>([
  ["kube-user-token", { user: CI, audiences: [SESSION_API_AUDIENCE] }],
  [TYPIST_TOKEN, { user: { username: TYPIST, uid: "u-2", groups: ["system:serviceaccounts"] }, audiences: [SESSION_API_AUDIENCE] }],
  [PAIR_TOKEN, { user: { username: PAIR, uid: "u-3", groups: ["system:serviceaccounts"] }, audiences: [SESSION_API_AUDIENCE] }],
  [APISERVER_AUDIENCE_TOKEN, { user: CI, audiences: [APISERVER_AUDIENCE] }],
  [AUDIENCE_AGNOSTIC_TOKEN, { user: CI }],
]);

/** A TokenReview's answer as the API server gives it: audiences are checked against the token's. */
function review(token: string, audiences: string[] | undefined): Record<string, unknown> {
  const entry = REVIEWED_USERS.get(token);
  if (!entry) return { authenticated: false, error: "[invalid bearer token]" };
  if (!entry.audiences) return { authenticated: true, user: entry.user };
  // Without spec.audiences the API server checks for its own audience.
  const wanted = audiences?.length ? audiences : [APISERVER_AUDIENCE];
  const matched = entry.audiences.filter((audience) => wanted.includes(audience));
  if (matched.length === 0) {
    return { authenticated: false, error: `[invalid bearer token, token audiences ${JSON.stringify(entry.audiences)} is invalid for the target audiences ${JSON.stringify(wanted)}]` };
  }
  return { authenticated: true, user: entry.user, audiences: matched };
}

export interface Recorded {
  method: string;
  url: string;
  contentType?: string;
  body?: unknown;
  /** Impersonate-User and every Impersonate-Group header line, when the request had them. */
  impersonate?: { user?: string; groups: string[] };
}

/** An admission refusal for a write (POST, PATCH, DELETE) of an AgentSession, or undefined to let it through. */
export type Admission = (request: { method: string; body: unknown; headers: IncomingHttpHeaders }) => { code: number; reason: string; message: string } | undefined;

export interface FakeApiServer {
  url: string;
  kubeConfig(): KubeConfig;
  requests: Recorded[];
  objects: Map<string, Record<string, unknown>>;
  /** Handles one pods/attach or pods/exec stream. */
  onStream: (ws: WebSocket, req: IncomingMessage) => void;
  /** What the WebSocket upgrade answers: 101 with this subprotocol, or an HTTP status. */
  upgrade: { status: number; protocol: string };
  /** Added before every REST answer, to stand in for an API server under load (benches). */
  latencyMs: number;
  /** Asked before every AgentSession write; undefined admits everything. */
  admission: Admission | undefined;
  /** TCP connections accepted so far. */
  connections: number;
  /** Open watches (GET …/agentsessions?watch=true), each on one object named by its fieldSelector. */
  watches: Set<{ key: string; send: (type: string, object: unknown) => void }>;
  /** Tells the watches of an object that a test changed it (as the operator would). */
  changed(plural: string, namespace: string, name: string): void;
  close(): Promise<void>;
}

const status = (res: ServerResponse, code: number, message: string, reason: string): void => {
  res.writeHead(code, { "content-type": "application/json" });
  res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", status: "Failure", message, reason, code }));
};

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString();
  return text ? JSON.parse(text) : undefined;
}

const SESSIONS = /^\/apis\/agentbox\.dev\/v1alpha1\/namespaces\/([^/]+)\/(agentsessions|agenttemplates)(?:\/([^/?]+))?(?:\?.*)?$/;
const LOGS = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log\?(.*)$/;

// Every header line, as the API server's impersonation filter reads them (never comma-split).
function impersonation(req: IncomingMessage): Pick<Recorded, "impersonate"> {
  const user = req.headersDistinct["impersonate-user"];
  const groups = req.headersDistinct["impersonate-group"] ?? [];
  if (!user && groups.length === 0) return {};
  return { impersonate: { ...(user ? { user: user.join("\n") } : {}), groups } };
}

export async function startFakeApiServer(): Promise<FakeApiServer> {
  let created = 0;
  const fake: FakeApiServer = {
    url: "",
    requests: [],
    objects: new Map(),
    onStream: (ws) => ws.close(),
    upgrade: { status: 101, protocol: "v5.channel.k8s.io" },
    latencyMs: 0,
    admission: undefined,
    connections: 0,
    watches: new Set(),
    changed(plural, namespace, name) {
      const key = `${plural}/${namespace}/${name}`;
      const now = fake.objects.get(key);
      for (const watch of fake.watches) if (watch.key === key && now) watch.send("MODIFIED", now);
    },
    kubeConfig() {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: "fake", server: fake.url, skipTLSVerify: true }],
        users: [{ name: "fake", token: API_TOKEN }],
        contexts: [{ name: "fake", cluster: "fake", user: "fake" }],
        currentContext: "fake",
      });
      return kc;
    },
    close: () => new Promise((resolve) => {
      wss.close();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => status(res, 500, String(err), "InternalError"));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (fake.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, fake.latencyMs));
    const url = req.url ?? "/";
    fake.requests.push({
      method: req.method ?? "",
      url,
      ...(req.headers["content-type"] ? { contentType: req.headers["content-type"] } : {}),
      body,
      ...impersonation(req),
    });
    if (req.headers.authorization !== `Bearer ${API_TOKEN}`) return status(res, 401, "Unauthorized", "Unauthorized");
    const json = (code: number, value: unknown): void => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    if (req.method === "POST" && url === "/apis/authentication.k8s.io/v1/tokenreviews") {
      const spec = (body as { spec: { token: string; audiences?: string[] } }).spec;
      return json(201, { ...(body as object), status: review(spec.token, spec.audiences) });
    }
    if (req.method === "POST" && url === "/apis/authorization.k8s.io/v1/subjectaccessreviews") {
      const spec = (body as { spec: { user: string; resourceAttributes: { verb: string; subresource?: string; name?: string } } }).spec;
      const attributes = spec.resourceAttributes;
      // ci may do everything but type; typist may do everything; pair may type and watch in s1
      // only (a rule with resourceNames, which matches no request without a name).
      const allowed =
        spec.user === TYPIST ||
        (spec.user === "system:serviceaccount:team:ci" && !(attributes.subresource === "terminal" && attributes.verb === "create")) ||
        (spec.user === PAIR && attributes.subresource === "terminal" && attributes.name === "s1");
      return json(201, { ...(body as object), status: { allowed } });
    }
    const logs = LOGS.exec(url);
    if (logs && req.method === "GET") {
      const query = new URLSearchParams(logs[3]);
      res.writeHead(200, { "content-type": "text/plain" });
      const lines = ["a", "b", "c"].slice(-Number(query.get("tailLines") ?? 3));
      res.end(`${query.get("container")}:${logs[2]}:${lines.join(",")}`);
      return;
    }
    const match = SESSIONS.exec(url);
    if (!match) return status(res, 404, `no route ${url}`, "NotFound");
    const [, namespace, plural, name] = match;
    const refused = req.method !== "GET" ? fake.admission?.({ method: req.method ?? "", body, headers: req.headers }) : undefined;
    if (refused) return status(res, refused.code, refused.message, refused.reason);
    const key = (n: string): string => `${plural}/${namespace}/${n}`;
    const query = new URL(url, "http://x").searchParams;
    if (req.method === "GET" && !name && query.get("watch") === "true") {
      const watched = key((query.get("fieldSelector") ?? "").replace(/^metadata\.name=/, ""));
      res.writeHead(200, { "content-type": "application/json" });
      const watch = { key: watched, send: (type: string, object: unknown): void => void res.write(`${JSON.stringify({ type, object })}\n`) };
      const now = fake.objects.get(watched);
      if (now) watch.send("ADDED", now);
      fake.watches.add(watch);
      req.socket.once("close", () => fake.watches.delete(watch));
      res.once("close", () => fake.watches.delete(watch));
      return;
    }
    if (req.method === "GET" && !name) {
      return json(200, { items: [...fake.objects.entries()].filter(([k]) => k.startsWith(`${plural}/${namespace}/`)).map(([, v]) => v) });
    }
    if (req.method === "POST" && !name) {
      const object = body as { metadata: { name?: string; generateName?: string } };
      const objectName = object.metadata.name ?? `${object.metadata.generateName ?? ""}x1y2z`;
      if (fake.objects.has(key(objectName))) return status(res, 409, `agentsessions.agentbox.dev "${objectName}" already exists`, "AlreadyExists");
      const stored = { ...object, metadata: { ...object.metadata, name: objectName, uid: `uid-${++created}`, generation: 1 } };
      fake.objects.set(key(objectName), stored);
      return json(201, stored);
    }
    if (!name) return status(res, 405, "method not allowed", "MethodNotAllowed");
    const existing = fake.objects.get(key(name));
    if (!existing) return status(res, 404, `${plural}.agentbox.dev "${name}" not found`, "NotFound");
    if (req.method === "GET") return json(200, existing);
    if (req.method === "DELETE") {
      fake.objects.delete(key(name));
      for (const watch of fake.watches) if (watch.key === key(name)) watch.send("DELETED", existing);
      return json(200, { kind: "Status", status: "Success" });
    }
    if (req.method === "PATCH") {
      if (req.headers["content-type"] !== "application/merge-patch+json") return status(res, 415, "unsupported patch type", "UnsupportedMediaType");
      const patch = body as { metadata: { annotations: Record<string, string> } };
      const metadata = existing.metadata as { annotations?: Record<string, string> };
      metadata.annotations = { ...metadata.annotations, ...patch.metadata.annotations };
      return json(200, existing);
    }
    return status(res, 405, "method not allowed", "MethodNotAllowed");
  }

  server.on("connection", () => {
    fake.connections++;
  });
  const wss = new WebSocketServer({ noServer: true, handleProtocols: () => fake.upgrade.protocol });
  server.on("upgrade", (req, socket, head) => {
    fake.requests.push({ method: "UPGRADE", url: req.url ?? "" });
    if (req.headers.authorization !== `Bearer ${API_TOKEN}`) {
      socket.end("HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n");
      return;
    }
    if (fake.upgrade.status !== 101) {
      socket.end(`HTTP/1.1 ${fake.upgrade.status} Refused\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => fake.onStream(ws, req));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}
