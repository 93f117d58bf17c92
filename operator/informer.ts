import { ListWatch, Watch, type Informer, type KubeConfig, type KubernetesObject, type KubernetesListObject, type ObjectCache } from "@kubernetes/client-node";

/** Annotations nothing in the operator reads, and that can be as large as the object itself. */
const DROPPED_ANNOTATIONS = ["kubectl.kubernetes.io/last-applied-configuration"];

/**
 * The object as the cache keeps it: without `managedFields` (server-side apply's bookkeeping:
 * one entry per field manager, often larger than the pod spec) and kubectl's last-applied
 * annotation. Reconciles read specs, statuses, labels and owners, never these; the writes are
 * server-side applies and merge patches that do not send them back. Mutates and returns `obj`:
 * it was just parsed from the wire and nothing else holds it yet.
 */
export function slim<T extends KubernetesObject>(obj: T): T {
  const meta = obj.metadata;
  if (!meta) return obj;
  delete meta.managedFields;
  const annotations = meta.annotations;
  if (annotations) {
    for (const a of DROPPED_ANNOTATIONS) delete annotations[a];
  }
  return obj;
}

/** A watch whose events carry slimmed objects. */
class SlimWatch extends Watch {
  override watch(...[path, query, callback, done]: Parameters<Watch["watch"]>): Promise<AbortController> {
    return super.watch(path, query, (phase: string, obj: unknown, raw?: unknown) => callback(phase, obj !== null && typeof obj === "object" ? slim(obj as KubernetesObject) : obj, raw), done);
  }
}

/**
 * `makeInformer` with every object slimmed (see `slim`) before the cache stores it, from both
 * the list and the watch: with a hundred sessions starting, the pods' managedFields alone were
 * megabytes of the operator's heap, kept for nothing.
 */
export function makeSlimInformer<T extends KubernetesObject>(kc: KubeConfig, path: string, list: () => Promise<KubernetesListObject<T>>, labelSelector?: string): Informer<T> & ObjectCache<T> {
  const slimList = async (): Promise<KubernetesListObject<T>> => {
    const result = await list();
    for (const item of result.items) slim(item);
    return result;
  };
  return new ListWatch<T>(path, new SlimWatch(kc), slimList, false, labelSelector);
}
