// The real SessionStore: AgentSessions and AgentTemplates as custom objects on the API server.
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type KubeConfig,
} from "@kubernetes/client-node";
import { z } from "zod";
import { API_VERSION, AgentSession, GROUP, VERSION } from "../../crds/agentsession.js";
import { AgentTemplate } from "../../crds/agenttemplate.js";
import { asActor, unsendable, type Actor } from "./impersonation.js";
import {
  ACTIVITY_ANNOTATION,
  StoreError,
  type LogOptions,
  type NewSession,
  type SessionStore,
} from "./store.js";

const SESSIONS = "agentsessions";
const TEMPLATES = "agenttemplates";
const List = z.object({ items: z.array(z.unknown()) });

/**
 * Maps an API server failure to a StoreError a person can act on. A refusal of the person's own
 * write (RBAC or admission: 403, 422) carries the API server's message, which says which rule
 * refused it; a refusal to let the session API impersonate is its own misconfiguration.
 */
function storeError(err: unknown, what: string): StoreError {
  if (err instanceof ApiException) {
    const message = apiMessage(err.body) ?? `HTTP ${err.code}`;
    if (err.code === 404) return new StoreError("not-found", `${what}: not found`, { cause: err });
    if (err.code === 409) return new StoreError("conflict", `${what}: ${message}`, { cause: err });
    if (err.code === 422 || err.code === 400) return new StoreError("invalid", `${what}: ${message}`, { cause: err });
    if (err.code === 403 && /cannot impersonate/.test(message)) {
      return new StoreError("unavailable", `${what}: the session API may not act as you; its ClusterRole needs the impersonate verb (see the chart's README)`, { cause: err });
    }
    if (err.code === 403) return new StoreError("forbidden", `${what}: ${message}`, { cause: err });
  }
  return new StoreError("unavailable", `${what}: the Kubernetes API server did not answer as expected`, { cause: err });
}

/** Options that make a write `actor`'s; refuses a name no HTTP header can carry. */
function writeAs(actor: Actor, what: string): ReturnType<typeof asActor> {
  const bad = unsendable(actor);
  if (bad !== undefined) throw new StoreError("invalid", `${what}: the name ${JSON.stringify(bad)} cannot be passed to the Kubernetes API server (printable ASCII only)`);
  return asActor(actor);
}

function apiMessage(body: unknown): string | undefined {
  const text = typeof body === "string" ? body : JSON.stringify(body ?? "");
  try {
    const parsed = z.object({ message: z.string() }).safeParse(JSON.parse(text));
    return parsed.success ? parsed.data.message : undefined;
  } catch {
    return undefined;
  }
}

/** Objects the API server returns that do not match our schema are skipped rather than failing a list. */
function parseAll<T>(schema: z.ZodType<T>, items: unknown[]): T[] {
  return items.flatMap((item) => {
    const parsed = schema.safeParse(item);
    return parsed.success ? [parsed.data] : [];
  });
}

export function kubeSessionStore(kc: KubeConfig): SessionStore {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const core = kc.makeApiClient(CoreV1Api);
  const at = (namespace: string, plural: string): { group: string; version: string; namespace: string; plural: string } => ({
    group: GROUP,
    version: VERSION,
    namespace,
    plural,
  });

  const getSession = async (namespace: string, name: string): Promise<AgentSession | undefined> => {
    try {
      return AgentSession.parse(await custom.getNamespacedCustomObject({ ...at(namespace, SESSIONS), name }));
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined;
      if (err instanceof z.ZodError) throw new StoreError("invalid", `session ${namespace}/${name} does not match the AgentSession schema`, { cause: err });
      throw storeError(err, `get session ${namespace}/${name}`);
    }
  };

  return {
    async listSessions(namespace) {
      try {
        return parseAll(AgentSession, List.parse(await custom.listNamespacedCustomObject(at(namespace, SESSIONS))).items);
      } catch (err) {
        throw storeError(err, `list sessions in ${namespace}`);
      }
    },
    getSession,
    async createSession(namespace, input: NewSession, actor) {
      const what = `create session in ${namespace}`;
      const options = writeAs(actor, what);
      const body = {
        apiVersion: API_VERSION,
        kind: "AgentSession",
        metadata: {
          ...(input.name ? { name: input.name } : { generateName: input.generateName ?? "session-" }),
          namespace,
          ...(input.annotations ? { annotations: input.annotations } : {}),
        },
        spec: input.spec,
      };
      try {
        return AgentSession.parse(await custom.createNamespacedCustomObject({ ...at(namespace, SESSIONS), body }, options));
      } catch (err) {
        throw storeError(err, what);
      }
    },
    async deleteSession(namespace, name, actor) {
      const what = `delete session ${namespace}/${name}`;
      const options = writeAs(actor, what);
      try {
        await custom.deleteNamespacedCustomObject({ ...at(namespace, SESSIONS), name, propagationPolicy: "Foreground" }, options);
        return true;
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) return false;
        throw storeError(err, what);
      }
    },
    async listTemplates(namespace) {
      try {
        return parseAll(AgentTemplate, List.parse(await custom.listNamespacedCustomObject(at(namespace, TEMPLATES))).items);
      } catch (err) {
        throw storeError(err, `list templates in ${namespace}`);
      }
    },
    async getTemplate(namespace, name) {
      try {
        return AgentTemplate.parse(await custom.getNamespacedCustomObject({ ...at(namespace, TEMPLATES), name }));
      } catch (err) {
        if (err instanceof ApiException && err.code === 404) return undefined;
        throw storeError(err, `get template ${namespace}/${name}`);
      }
    },
    async logs(namespace, name, options: LogOptions) {
      const session = await getSession(namespace, name);
      const pod = session?.status?.podName;
      if (!pod) throw new StoreError("not-found", `session ${namespace}/${name} has no pod yet`);
      try {
        return await core.readNamespacedPodLog({
          name: pod,
          namespace,
          container: options.container,
          ...(options.tailLines === undefined ? {} : { tailLines: options.tailLines }),
        });
      } catch (err) {
        throw storeError(err, `logs of session ${namespace}/${name}`);
      }
    },
    async recordActivity(namespace, name, when) {
      // As the session API, not the person typing: it is the terminal's bookkeeping (idle expiry
      // reads it), written at most every 30 s for whoever types, and a viewer who may type may
      // still lack patch on agentsessions; admission judges people's own writes, not this one.
      try {
        await custom.patchNamespacedCustomObject(
          { ...at(namespace, SESSIONS), name, body: { metadata: { annotations: { [ACTIVITY_ANNOTATION]: when.toISOString() } } } },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        );
      } catch (err) {
        throw storeError(err, `record activity on session ${namespace}/${name}`);
      }
    },
    async watchSession(namespace, name, onChange, onEnd) {
      // Without a resourceVersion the API server first sends the object as it is (ADDED), so no
      // change between the caller's last read and this watch is missed.
      const path = `/apis/${GROUP}/${VERSION}/namespaces/${encodeURIComponent(namespace)}/${SESSIONS}`;
      let stopped = false;
      const controller = await new Watch(kc).watch(
        path,
        { fieldSelector: `metadata.name=${name}`, timeoutSeconds: 300 },
        (type: string, object: unknown) => {
          if (stopped) return;
          if (type === "DELETED") return onChange(undefined);
          if (type !== "ADDED" && type !== "MODIFIED") return;
          const parsed = AgentSession.safeParse(object);
          if (parsed.success) onChange(parsed.data);
        },
        (err: unknown) => {
          if (stopped) return;
          stopped = true;
          onEnd(err ? storeError(err, `watch session ${namespace}/${name}`) : undefined);
        },
      );
      return () => {
        stopped = true;
        controller.abort();
      };
    },
  };
}
