// The OpenAPI 3.1 description of /api/v1, generated from the same zod schemas the handlers use.
import { z } from "zod";
import { AgentSessionSpec, CreateSessionBody, LogsQuery, Name } from "./schemas.js";
import { ERROR_STATUS } from "./errors.js";

type Json = Record<string, unknown>;

const schema = (s: z.ZodType): Json => z.toJSONSchema(s, { io: "input", unrepresentable: "any" }) as Json;

const errorResponse = (description: string): Json => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
});

const json = (description: string, ref: string): Json => ({
  description,
  content: { "application/json": { schema: { $ref: ref } } },
});

const common = {
  "400": errorResponse("Malformed input: bad JSON, wrong types, unknown fields, bad names, or a token in the query string."),
  "401": errorResponse("No bearer token, or one no authenticator accepts (bad, expired, wrong audience)."),
  "403": errorResponse("Authenticated, but Kubernetes RBAC (SubjectAccessReview) or the session's access lists deny it."),
};

const nsParam = { name: "namespace", in: "path", required: true, schema: schema(Name) };
const nameParam = { name: "name", in: "path", required: true, schema: schema(Name) };

export function openApiDocument(): Json {
  const logsQuery = schema(LogsQuery) as { properties?: Record<string, Json> };
  return {
    openapi: "3.1.0",
    info: {
      title: "agentbox session API",
      version: "v1",
      description:
        "Sessions, templates, logs and terminals. Authenticate with `Authorization: Bearer <token>` (Kubernetes, OIDC or a development static token). " +
        "Terminals are WebSockets at /api/v1/namespaces/{namespace}/sessions/{name}/terminal with subprotocols `agentbox.v1` and `agentbox.bearer.<token>`; " +
        "tokens are never accepted in a query string. Errors always have the Error shape. Status codes: " +
        Object.entries(ERROR_STATUS).map(([k, v]) => `${k}=${v}`).join(", "),
    },
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message"],
              properties: {
                code: { type: "string", enum: Object.keys(ERROR_STATUS) },
                message: { type: "string" },
                details: { type: "array", items: { type: "object", properties: { path: { type: "string" }, message: { type: "string" } } } },
              },
            },
          },
        },
        AgentSessionSpec: schema(AgentSessionSpec),
        CreateSession: { ...schema(CreateSessionBody), properties: { ...(schema(CreateSessionBody).properties as Json), spec: { $ref: "#/components/schemas/AgentSessionSpec" } } },
        AgentSession: { type: "object", description: "An agentbox.dev/v1alpha1 AgentSession as stored in Kubernetes." },
        List: { type: "object", properties: { items: { type: "array", items: { type: "object" } } } },
      },
    },
    security: [{ bearer: [] }],
    paths: {
      "/api/v1/whoami": { get: { summary: "The authenticated identity", responses: { "200": { description: "username and groups" }, ...common } } },
      "/api/v1/namespaces/{namespace}/sessions": {
        parameters: [nsParam],
        get: { summary: "List sessions", responses: { "200": json("Sessions", "#/components/schemas/List"), ...common } },
        post: {
          summary: "Create a session from a template plus overrides, or from a full spec",
          requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/CreateSession" } } } },
          responses: {
            "201": json("Created", "#/components/schemas/AgentSession"),
            ...common,
            "409": errorResponse("A session with this name exists."),
            "413": errorResponse("Body over 64 KiB."),
            "415": errorResponse("Body is not application/json."),
            "422": errorResponse("The template does not exist, or the spec breaks a rule of it or of the API server."),
          },
        },
      },
      "/api/v1/namespaces/{namespace}/sessions/{name}": {
        parameters: [nsParam, nameParam],
        get: { summary: "Get a session", responses: { "200": json("The session", "#/components/schemas/AgentSession"), ...common, "404": errorResponse("No such session.") } },
        delete: { summary: "Delete a session (and everything it owns)", responses: { "200": { description: "Deleted" }, ...common, "404": errorResponse("No such session.") } },
      },
      "/api/v1/namespaces/{namespace}/sessions/{name}/logs": {
        parameters: [nsParam, nameParam],
        get: {
          summary: "The agent's (or sidecar's) log; needs get on agentsessions/terminal",
          parameters: Object.entries(logsQuery.properties ?? {}).map(([name, s]) => ({ name, in: "query", required: false, schema: s })),
          responses: { "200": { description: "Log text", content: { "text/plain": {} } }, ...common, "404": errorResponse("No such session, or no pod yet.") },
        },
      },
      "/api/v1/namespaces/{namespace}/sessions/{name}/terminal": {
        parameters: [nsParam, nameParam, { name: "mode", in: "query", required: false, schema: { type: "string", enum: ["view"] } }],
        get: {
          summary: "WebSocket: the session's shared terminal (create on agentsessions/terminal to type, get to watch)",
          responses: { "101": { description: "Switching protocols to agentbox.v1" }, ...common, "404": errorResponse("No such session."), "409": errorResponse("The session is not running.") },
        },
      },
      "/api/v1/namespaces/{namespace}/sessions/{name}/shell": {
        parameters: [nsParam, nameParam],
        get: {
          summary: "WebSocket: a fresh private shell in the agent container (pods/exec); needs create on agentsessions/terminal",
          responses: { "101": { description: "Switching protocols to agentbox.v1" }, ...common, "404": errorResponse("No such session."), "409": errorResponse("The session is not running.") },
        },
      },
      "/api/v1/namespaces/{namespace}/templates": {
        parameters: [nsParam],
        get: { summary: "List templates", responses: { "200": json("Templates", "#/components/schemas/List"), ...common } },
      },
    },
  };
}
