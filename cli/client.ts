// The session API over HTTP(S): the REST routes the CLI uses, with every answer checked by zod
// and every failure turned into a CliError a person can act on.
import http from "node:http";
import https from "node:https";
import type { z } from "zod";
import type { Connection } from "./config.js";
import { CliError } from "./errors.js";
import { EXIT, exitCodeForStatus } from "./exit-codes.js";
import { errorMessage, SessionList, SessionView, TemplateList, type TemplateView } from "./schemas.js";

const MAX_BODY = 16 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 30_000;

/** The session API's create body: a name, optionally a template, and the spec (overrides on top of the template). */
export type CreateSessionBody = { name: string; template?: string; spec: Record<string, unknown> };

type Answer = { status: number; body: Buffer; contentType: string };

export class SessionApiClient {
  constructor(private readonly conn: Connection) {}

  /** The URL of a path under the namespace, keeping any path prefix the server URL has. */
  url(path: string): URL {
    const base = this.conn.server.href.endsWith("/") ? this.conn.server.href : `${this.conn.server.href}/`;
    return new URL(`api/v1/namespaces/${encodeURIComponent(this.conn.namespace)}/${path}`, base);
  }

  get namespace(): string {
    return this.conn.namespace;
  }

  async listSessions(): Promise<SessionView[]> {
    return (await this.json("GET", "sessions", SessionList)).items;
  }

  async getSession(name: string): Promise<SessionView> {
    return this.json("GET", `sessions/${encodeURIComponent(name)}`, SessionView);
  }

  async createSession(body: CreateSessionBody): Promise<SessionView> {
    return this.json("POST", "sessions", SessionView, body);
  }

  /** Deletes a session; false when it did not exist. */
  async deleteSession(name: string): Promise<boolean> {
    const answer = await this.send("DELETE", this.url(`sessions/${encodeURIComponent(name)}`));
    if (answer.status === 404) return false;
    if (answer.status >= 300) throw this.failure("DELETE", `sessions/${name}`, answer);
    return true;
  }

  async listTemplates(): Promise<TemplateView[]> {
    return (await this.json("GET", "templates", TemplateList)).items;
  }

  /** The agent's output so far (the API answers with the whole log as text). */
  async logs(name: string): Promise<string> {
    const path = `sessions/${encodeURIComponent(name)}/logs`;
    const answer = await this.send("GET", this.url(path));
    if (answer.status >= 300) throw this.failure("GET", path, answer);
    return answer.body.toString("utf8");
  }

  /** Headers and TLS options for the terminal WebSocket, which the terminal module opens itself. */
  get tls(): { ca?: string } {
    return this.conn.ca === undefined ? {} : { ca: this.conn.ca };
  }

  get token(): string {
    return this.conn.token;
  }

  private async json<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown): Promise<z.output<S>> {
    const answer = await this.send(method, this.url(path), body);
    if (answer.status >= 300) throw this.failure(method, path, answer);
    let raw: unknown;
    try {
      raw = JSON.parse(answer.body.toString("utf8"));
    } catch (cause) {
      throw new CliError(`${method} ${path}: the server did not answer with JSON (content-type ${answer.contentType || "none"}); is ${this.conn.server.origin} the agentbox session API?`, EXIT.protocol, { cause });
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join(".") || "(root)";
      throw new CliError(`${method} ${path}: unexpected answer from the server at ${where}: ${issue?.message ?? "invalid"}; the CLI and the session API versions may differ`, EXIT.protocol);
    }
    return parsed.data;
  }

  private async send(method: string, url: URL, body?: unknown): Promise<Answer> {
    const res = await this.open(method, url, body);
    return readAll(res, res.statusCode ?? 0);
  }

  private open(method: string, url: URL, body: unknown): Promise<http.IncomingMessage> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: http.OutgoingHttpHeaders = { authorization: `Bearer ${this.conn.token}`, accept: "application/json" };
    if (payload) {
      headers["content-type"] = "application/json";
      headers["content-length"] = payload.length;
    }
    const lib = url.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, { method, headers, ...(this.conn.ca ? { ca: this.conn.ca } : {}) }, resolve);
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000}s`)));
      req.once("error", (cause) => reject(unreachable(this.conn.server, cause)));
      req.end(payload);
    });
  }

  private failure(method: string, path: string, answer: Answer): CliError {
    let message: string | undefined;
    try {
      message = errorMessage(JSON.parse(answer.body.toString("utf8")));
    } catch {
      message = undefined;
    }
    const said = message ?? (answer.body.length > 0 && answer.body.length < 300 ? answer.body.toString("utf8").trim() : `HTTP ${answer.status}`);
    return new CliError(`${method} ${path}: ${said}${hintFor(answer.status, this.conn.namespace)}`, exitCodeForStatus(answer.status));
  }
}

function hintFor(status: number, namespace: string): string {
  if (status === 401) return " (the server refused the token: check AGENTBOX_TOKEN or --token-file, and that it has not expired)";
  if (status === 403) return ` (ask an administrator to bind you the agent-user ClusterRole, agentbox-agent-user in a release named agentbox, in namespace ${namespace})`;
  if (status >= 500) return " (a server-side failure: try again, and tell the platform team if it persists)";
  return "";
}

/** What to tell a person about a failed connection, from the error's code. */
export function connectionHint(code: string): string {
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return "its TLS certificate does not name this host: check AGENTBOX_URL";
  if (code === "CERT_HAS_EXPIRED") return "its TLS certificate has expired: tell the platform team";
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) return "its TLS certificate is not trusted: pass --ca-file with the CA that signed it";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "the host name does not resolve: check AGENTBOX_URL";
  return "is AGENTBOX_URL right and the session API running?";
}

function unreachable(server: URL, cause: unknown): CliError {
  const err = cause as NodeJS.ErrnoException;
  const code = err.code ?? "";
  return new CliError(`cannot reach the session API at ${server.origin} (${code || err.message}): ${connectionHint(code)}`, EXIT.unavailable, { cause });
}

function readAll(res: http.IncomingMessage, status: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        res.destroy();
        reject(new CliError(`the server's answer is larger than ${MAX_BODY} bytes`, EXIT.protocol));
        return;
      }
      chunks.push(chunk);
    });
    res.once("end", () => resolve({ status, body: Buffer.concat(chunks), contentType: String(res.headers["content-type"] ?? "") }));
    res.once("error", reject);
  });
}
