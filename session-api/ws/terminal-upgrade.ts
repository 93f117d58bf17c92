// WebSocket upgrades for terminals. Every check (path, Origin, query token, subprotocol, token,
// RBAC and access lists, session state) runs before the handshake; a refusal is a plain HTTP
// response with the API's error body, so no socket is ever opened for a request that fails one.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { Logger } from "../log.js";
import type { Authenticator, Authorizer, Identity } from "../auth/identity.js";
import { terminalRole, watchRightMatters } from "../auth/terminal-access.js";
import { ApiError, toApiError } from "../http/errors.js";
import { authenticate } from "../http/authn.js";
import { SessionParams } from "../http/schemas.js";
import { parseInput } from "../http/validate.js";
import { fromStore } from "../http/app.js";
import type { AgentSession, SessionStore } from "../store/store.js";
import { SUBPROTOCOL, type Role } from "../terminal/protocol.js";
import { originAllowed } from "./origin.js";

const TERMINAL_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/sessions\/([^/]+)\/(terminal|shell)$/;
// A terminal may be opened as soon as the session exists: checked now, attached the moment its pod
// runs (the viewer is told it is waiting), so the checks and the connect are off the start's path.
const ATTACHABLE = new Set(["Pending", "Starting", "Running"]);

export interface TerminalRequest {
  /** terminal: the session's shared terminal; shell: a fresh private shell in the agent container. */
  kind: "terminal" | "shell";
  namespace: string;
  name: string;
  session: AgentSession;
  identity: Identity;
  role: Role;
  /** How long authentication and authorization (with the session read) took, for the timing log. */
  checksMs: { authn: number; authz: number };
}

export interface UpgradeDeps {
  authenticator: Authenticator;
  authorizer: Authorizer;
  store: SessionStore;
  allowedOrigins: readonly string[];
  /** Whether fresh shells (/shell) can be opened at all. */
  shells: boolean;
  log: Logger;
  /** Hands the opened socket to the terminal hub. */
  onTerminal: (ws: WebSocket, request: TerminalRequest) => void;
}

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export function terminalUpgradeHandler(deps: UpgradeDeps): UpgradeHandler {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 1 << 20,
    // Compressing every output frame for every viewer costs more CPU than it saves on a LAN.
    perMessageDeflate: false,
    // Never echo the bearer subprotocol back; only our protocol name is ever selected.
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  return (req, socket, head) => {
    socket.on("error", () => undefined);
    checkUpgrade(req, deps).then(
      (request) => {
        wss.handleUpgrade(req, socket, head, (ws) => deps.onTerminal(ws, request));
      },
      (err: unknown) => refuse(socket, toApiError(err), deps.log),
    );
  };
}

async function checkUpgrade(req: IncomingMessage, deps: UpgradeDeps): Promise<TerminalRequest> {
  const url = new URL(req.url ?? "/", "http://x");
  const match = TERMINAL_PATH.exec(url.pathname);
  if (!match) throw new ApiError("NotFound", "no WebSocket endpoint here; terminals are at /api/v1/namespaces/{namespace}/sessions/{name}/terminal (or /shell)");
  const kind = match[3] === "shell" ? "shell" : "terminal";
  if (kind === "shell" && !deps.shells) throw new ApiError("NotFound", "this server does not open fresh shells; use the session's /terminal");
  if (!originAllowed(req.headers.origin, req.headers.host, deps.allowedOrigins)) {
    throw new ApiError("Forbidden", `WebSocket from origin ${req.headers.origin ?? ""} is not allowed; add it to the session API's allowed origins`);
  }
  const protocols = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
  if (!protocols.includes(SUBPROTOCOL)) {
    throw new ApiError("BadRequest", `request the WebSocket subprotocol ${SUBPROTOCOL} (and send the token as agentbox.bearer.<token>)`);
  }
  const started = performance.now();
  const identity = await authenticate(req, deps.authenticator);
  const authenticated = performance.now();
  const { namespace, name } = parseInput(
    SessionParams,
    { namespace: decodePart(match[1]), name: decodePart(match[2]) },
    "path",
  );
  const mode = url.searchParams.get("mode");
  if (mode !== null && mode !== "view") throw new ApiError("BadRequest", 'query parameter mode must be "view" or absent');
  const check = (verb: "create" | "get"): Promise<boolean> =>
    deps.authorizer.allowed(identity, { verb, resource: "agentsessions", subresource: "terminal", namespace, name }).catch((err: unknown) => {
      throw new ApiError("Unavailable", "cannot check permissions right now; try again shortly", undefined, { cause: err });
    });
  // The session is read alongside the first review to save a round trip to the API server;
  // nothing about it is told before the person is known to be allowed.
  const read = deps.store.getSession(namespace, name).then(
    (session) => ({ session }),
    (err: unknown) => ({ error: fromStore(err) }),
  );
  const [rbacCreate, outcome] = await Promise.all([check("create"), read]);
  const session = "session" in outcome ? outcome.session : undefined;
  const access = { username: identity.username, rbacCreate, access: session?.spec.access, wantsReadOnly: mode === "view" };
  const rbacGet = watchRightMatters(access, session !== undefined) ? await check("get") : false;
  if (!rbacCreate && !rbacGet) {
    throw new ApiError("Forbidden", `${identity.username} may not open the terminal of ${namespace}/${name}; ask for the agentbox-agent-user or agentbox-agent-viewer role`);
  }
  if ("error" in outcome) throw outcome.error;
  if (!session) throw new ApiError("NotFound", `no session ${name} in namespace ${namespace}`);
  const role = terminalRole({ ...access, rbacGet });
  if (!role) throw new ApiError("Forbidden", `${identity.username} is not on the access lists of session ${namespace}/${name}`);
  if (kind === "shell" && role !== "rw") {
    throw new ApiError("Forbidden", `${identity.username} may only watch ${namespace}/${name}; a shell needs create on agentsessions/terminal`);
  }
  const phase = session.status?.phase ?? "Pending";
  if (!ATTACHABLE.has(phase)) throw new ApiError("Conflict", `session ${namespace}/${name} is ${phase}; its terminal is gone (see its logs)`);
  const checksMs = { authn: Math.round(authenticated - started), authz: Math.round(performance.now() - authenticated) };
  return { kind, namespace, name, session, identity, role, checksMs };
}

function decodePart(part: string | undefined): string {
  try {
    return decodeURIComponent(part ?? "");
  } catch {
    throw new ApiError("BadRequest", "the URL path is not valid percent-encoding");
  }
}

function refuse(socket: Duplex, error: ApiError, log: Logger): void {
  if (error.kind === "Internal") log.error({ err: error.cause }, "terminal upgrade failed");
  const body = JSON.stringify(error.body());
  const head = [
    `HTTP/1.1 ${error.status} ${error.kind}`,
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "Connection: close",
    ...(error.kind === "Unauthenticated" ? ['WWW-Authenticate: Bearer realm="agentbox"'] : []),
  ];
  if (socket.writable) socket.end(`${head.join("\r\n")}\r\n\r\n${body}`);
  else socket.destroy();
}
