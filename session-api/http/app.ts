// The REST API: express 5, everything under /api/v1, one error shape, zod on every input.
import express, { type NextFunction, type Request, type Response } from "express";
import type { Logger } from "../log.js";
import type { Authenticator, Authorizer, Identity, ResourceAttributes } from "../auth/identity.js";
import { mergeTemplate } from "../../crds/merge.js";
import { CREATED_BY_ANNOTATION, StoreError, type AgentSessionSpec, type SessionStore } from "../store/store.js";
import { ApiError, toApiError } from "./errors.js";
import { authenticate } from "./authn.js";
import { parseInput } from "./validate.js";
import { openApiDocument } from "./openapi.js";
import {
  AgentSessionSpec as SpecSchema,
  CreateSessionBody,
  LogsQuery,
  NamespaceParams,
  NoQuery,
  SessionParams,
} from "./schemas.js";

export interface ApiDeps {
  store: SessionStore;
  authenticator: Authenticator;
  authorizer: Authorizer;
  log: Logger;
  /** Called after a session was deleted, e.g. to close its terminal. */
  onSessionDeleted?: (namespace: string, name: string) => void;
  /** Extra routes mounted before the API's catch-all (the web UI). */
  mount?: (app: express.Express) => void;
}

const identityOf = (res: Response): Identity => res.locals.identity as Identity;

const STORE_ERROR_KIND = { conflict: "Conflict", "not-found": "NotFound", invalid: "Unprocessable", forbidden: "Forbidden", unavailable: "Unavailable" } as const;

export function fromStore(err: unknown): ApiError {
  if (err instanceof StoreError) return new ApiError(STORE_ERROR_KIND[err.kind], err.message, undefined, { cause: err });
  return toApiError(err);
}

export function createApp(deps: ApiDeps): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("query parser", "simple");
  app.get("/healthz", (_req, res) => void res.json({ ok: true }));
  app.get("/readyz", (_req, res) => void res.json({ ok: true }));
  const document = openApiDocument();
  app.get("/api/v1/openapi.json", (_req, res) => void res.json(document));
  deps.mount?.(app);

  const api = express.Router();
  api.use(async (req: Request, res: Response, next: NextFunction) => {
    res.locals.identity = await authenticate(req, deps.authenticator);
    next();
  });
  api.use(express.json({ limit: "64kb", strict: true }));

  const allow = async (res: Response, attributes: ResourceAttributes): Promise<void> => {
    const identity = identityOf(res);
    let ok: boolean;
    try {
      ok = await deps.authorizer.allowed(identity, attributes);
    } catch (err) {
      throw new ApiError("Unavailable", "cannot check permissions right now; try again shortly", undefined, { cause: err });
    }
    if (!ok) {
      const what = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource;
      throw new ApiError(
        "Forbidden",
        `${identity.username} may not ${attributes.verb} ${what} in namespace ${attributes.namespace}; ask an administrator for the agentbox-agent-user or agentbox-agent-viewer role there`,
      );
    }
  };

  api.get("/whoami", (req, res) => {
    parseInput(NoQuery, req.query, "query");
    const { username, groups } = identityOf(res);
    res.json({ username, groups });
  });

  api
    .route("/namespaces/:namespace/sessions")
    .get(async (req, res) => {
      const { namespace } = parseInput(NamespaceParams, req.params, "path");
      parseInput(NoQuery, req.query, "query");
      await allow(res, { verb: "list", resource: "agentsessions", namespace });
      const items = await deps.store.listSessions(namespace).catch((err: unknown) => Promise.reject(fromStore(err)));
      res.json({ items });
    })
    .post(async (req, res) => {
      const { namespace } = parseInput(NamespaceParams, req.params, "path");
      parseInput(NoQuery, req.query, "query");
      if (!req.is("application/json")) throw new ApiError("UnsupportedMediaType", "send the body as JSON with Content-Type: application/json");
      const body = parseInput(CreateSessionBody, req.body, "body");
      await allow(res, { verb: "create", resource: "agentsessions", namespace });
      const spec = await resolveSpec(deps.store, namespace, body);
      const created = await deps.store
        .createSession(namespace, {
          ...(body.name ? { name: body.name } : { generateName: body.generateName ?? "session-" }),
          spec,
          annotations: { [CREATED_BY_ANNOTATION]: identityOf(res).username },
        }, identityOf(res))
        .catch((err: unknown) => Promise.reject(fromStore(err)));
      deps.log.info({ namespace, name: created.metadata.name, user: identityOf(res).username }, "session created");
      res.status(201).json(created);
    })
    .all(() => {
      throw new ApiError("MethodNotAllowed", "use GET to list sessions or POST to create one");
    });

  api
    .route("/namespaces/:namespace/sessions/:name")
    .get(async (req, res) => {
      const { namespace, name } = parseInput(SessionParams, req.params, "path");
      parseInput(NoQuery, req.query, "query");
      await allow(res, { verb: "get", resource: "agentsessions", namespace, name });
      const session = await deps.store.getSession(namespace, name).catch((err: unknown) => Promise.reject(fromStore(err)));
      if (!session) throw new ApiError("NotFound", `no session ${name} in namespace ${namespace}`);
      res.json(session);
    })
    .delete(async (req, res) => {
      const { namespace, name } = parseInput(SessionParams, req.params, "path");
      parseInput(NoQuery, req.query, "query");
      await allow(res, { verb: "delete", resource: "agentsessions", namespace, name });
      const deleted = await deps.store.deleteSession(namespace, name, identityOf(res)).catch((err: unknown) => Promise.reject(fromStore(err)));
      if (!deleted) throw new ApiError("NotFound", `no session ${name} in namespace ${namespace}`);
      deps.onSessionDeleted?.(namespace, name);
      deps.log.info({ namespace, name, user: identityOf(res).username }, "session deleted");
      res.json({ deleted: { namespace, name } });
    })
    .all(() => {
      throw new ApiError("MethodNotAllowed", "use GET or DELETE on a session");
    });

  api.get("/namespaces/:namespace/sessions/:name/logs", async (req, res) => {
    const { namespace, name } = parseInput(SessionParams, req.params, "path");
    const query = parseInput(LogsQuery, req.query, "query");
    await allow(res, { verb: "get", resource: "agentsessions", subresource: "terminal", namespace, name });
    const session = await deps.store.getSession(namespace, name).catch((err: unknown) => Promise.reject(fromStore(err)));
    if (!session) throw new ApiError("NotFound", `no session ${name} in namespace ${namespace}`);
    const text = await deps.store
      .logs(namespace, name, { container: query.container, ...(query.tailLines ? { tailLines: query.tailLines } : {}) })
      .catch((err: unknown) => Promise.reject(fromStore(err)));
    res.type("text/plain; charset=utf-8").send(text);
  });

  api.get("/namespaces/:namespace/templates", async (req, res) => {
    const { namespace } = parseInput(NamespaceParams, req.params, "path");
    parseInput(NoQuery, req.query, "query");
    await allow(res, { verb: "list", resource: "agenttemplates", namespace });
    const items = await deps.store.listTemplates(namespace).catch((err: unknown) => Promise.reject(fromStore(err)));
    res.json({ items });
  });

  api.use(() => {
    throw new ApiError("NotFound", "no such API path; see /api/v1/openapi.json");
  });

  app.use("/api/v1", api);
  app.use("/api", () => {
    throw new ApiError("NotFound", "unknown API version; this server speaks /api/v1 (see /api/v1/openapi.json)");
  });

  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const apiError = toApiError(err);
    if (apiError.kind === "Internal") deps.log.error({ err }, "request failed");
    else if (apiError.kind === "Unavailable") deps.log.warn({ err }, "dependency unavailable");
    if (apiError.kind === "Unauthenticated") res.set("WWW-Authenticate", 'Bearer realm="agentbox"');
    res.status(apiError.status).json(apiError.body());
  });
  return app;
}

/** The spec to store: the full spec, or the template reference plus overrides, checked against the template. */
async function resolveSpec(store: SessionStore, namespace: string, body: CreateSessionBody): Promise<AgentSessionSpec> {
  const raw = body.spec ?? {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ApiError("BadRequest", "invalid body: body.spec must be an object");
  }
  const given = raw as Record<string, unknown>;
  if (body.template !== undefined && given.templateRef !== undefined) {
    throw new ApiError("BadRequest", "invalid body: give the template as body.template or body.spec.templateRef, not both");
  }
  const withTemplate = body.template !== undefined ? { ...given, templateRef: { name: body.template } } : given;
  const spec = parseInput(SpecSchema, withTemplate, "body.spec");
  const templateName = spec.templateRef?.name;
  if (templateName === undefined) return spec;
  const template = await store.getTemplate(namespace, templateName).catch((err: unknown) => Promise.reject(fromStore(err)));
  if (!template) {
    throw new ApiError("Unprocessable", `template ${templateName} does not exist in namespace ${namespace}; GET /api/v1/namespaces/${namespace}/templates lists them`);
  }
  const merged = mergeTemplate(spec, template.spec, templateName);
  if (!merged.ok) {
    throw new ApiError(
      "Unprocessable",
      `the spec breaks template ${templateName}: ${merged.violations.join("; ")}`,
      merged.violations.map((message) => ({ path: "body.spec", message })),
    );
  }
  return spec;
}
