import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { FIELD_MANAGER } from "./names.js";

export interface Clients {
  kc: KubeConfig;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  objects: KubernetesObjectApi;
  coordination: CoordinationV1Api;
}

export function makeClients(kc: KubeConfig): Clients {
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    objects: KubernetesObjectApi.makeApiClient(kc),
    coordination: kc.makeApiClient(CoordinationV1Api),
  };
}

/** The HTTP status of a failed API call, if it was one. */
export const statusOf = (e: unknown): number | undefined => {
  const c = (e as { code?: unknown; statusCode?: unknown }).code ?? (e as { statusCode?: unknown }).statusCode;
  return typeof c === "number" ? c : undefined;
};

/** Server-side apply under the operator's single field manager; force takes fields back from kubectl edits. */
export async function apply<T extends KubernetesObject>(c: Clients, obj: T): Promise<T> {
  return c.objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
}

/** Creates an object; returns what the API server stored, or undefined when one of that name already exists. */
export async function createIfAbsent<T extends KubernetesObject>(c: Clients, obj: T): Promise<T | undefined> {
  try {
    return await c.objects.create(obj, undefined, undefined, FIELD_MANAGER);
  } catch (e) {
    if (statusOf(e) === 409) return undefined;
    throw e;
  }
}

/** Reads an object, or undefined when it does not exist. */
export async function readOptional<T extends KubernetesObject>(c: Clients, obj: T): Promise<T | undefined> {
  try {
    return (await c.objects.read({ apiVersion: obj.apiVersion!, kind: obj.kind!, metadata: { name: obj.metadata!.name!, namespace: obj.metadata!.namespace! } })) as T;
  } catch (e) {
    if (statusOf(e) === 404) return undefined;
    throw e;
  }
}

export const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
