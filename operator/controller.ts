import { type Informer, type KubernetesObject, type ObjectCache, type V1Pod } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { GROUP, VERSION } from "../crds/agentsession.js";
import type { PlatformOptions } from "./desired.js";
import { makeSlimInformer } from "./informer.js";
import type { Clients } from "./kube.js";
import type { OperatorMetrics } from "./metrics.js";
import { MANAGED_BY, MANAGER, SESSION_LABEL, WARM_POOL_LABEL } from "./names.js";
import { WorkQueue } from "./queue.js";
import { PermanentError, reconcile, type AppliedRecord, type Caches, type Diagnosis, type WarmPoolHooks } from "./reconcile.js";
import { reconcilePool, type PoolState } from "./warm-pool-reconcile.js";

export interface ControllerOptions {
  clients: Clients;
  platform: PlatformOptions;
  log: Logger;
  /** Empty watches every namespace. */
  namespace: string;
  workers: number;
  resyncSeconds: number;
  metrics?: OperatorMetrics;
}

type Watched<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

const keyOf = (o: KubernetesObject): string => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
/** Queue keys of warm pools: no namespace contains ':', so these never clash with a session's key. */
const POOL_PREFIX = "pool:";
const poolKey = (namespace: string, template: string): string => `${POOL_PREFIX}${namespace}/${template}`;

/**
 * Informers for AgentSessions, AgentTemplates and the pods sessions own feed one work queue of
 * session keys; workers reconcile them. Informers run from construction (a standby replica has
 * a warm cache); workers run only between `startWorkers` and `stop`, i.e. while leading.
 */
export class Controller {
  readonly queue = new WorkQueue({ baseDelayMs: 200, maxDelayMs: 60_000 });
  readonly sessions: Watched<KubernetesObject>;
  private readonly templates: Watched<KubernetesObject>;
  private readonly pods: Watched<V1Pod>;
  private readonly synced = new Set<string>();
  private readonly applied = new Map<string, AppliedRecord>();
  private readonly diagnoses = new Map<string, Diagnosis>();
  private readonly poolState: PoolState = { pending: new Map(), verified: new Set(), taken: new Set(), lastAdoption: new Map(), warned: new Set() };
  /** Warm pods an adoption in this process is trying right now. */
  private readonly claims = new Set<string>();
  private readonly workersDone: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;
  private stopping = false;

  constructor(private readonly o: ControllerOptions) {
    const { core, custom } = o.clients;
    const ns = o.namespace;
    const crPath = (plural: string): string => (ns ? `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${plural}` : `/apis/${GROUP}/${VERSION}/${plural}`);
    // client-node's informers emit "connect" before their list, not after: a cache counts as
    // synced once its list has come back. The informer fills its cache from that result in
    // microtasks that run before any /readyz request can be served.
    const syncedAfter =
      <L>(label: string, list: () => Promise<L>) =>
      async (): Promise<L> => {
        const result = await list();
        this.synced.add(label);
        return result;
      };
    const listCr = (plural: string) =>
      syncedAfter(plural, async () =>
        (ns
          ? await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural })
          : await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as { items: KubernetesObject[]; metadata?: { resourceVersion?: string } });
    const selector = `${MANAGED_BY}=${MANAGER}`;
    this.sessions = this.watch("agentsessions", makeSlimInformer(o.clients.kc, crPath("agentsessions"), listCr("agentsessions")));
    this.templates = this.watch("agenttemplates", makeSlimInformer(o.clients.kc, crPath("agenttemplates"), listCr("agenttemplates")));
    this.pods = this.watch(
      "pods",
      makeSlimInformer<V1Pod>(
        o.clients.kc,
        ns ? `/api/v1/namespaces/${ns}/pods` : "/api/v1/pods",
        syncedAfter("pods", () => (ns ? core.listNamespacedPod({ namespace: ns, labelSelector: selector }) : core.listPodForAllNamespaces({ labelSelector: selector }))),
        selector,
      ),
    );
    const enqueue = (obj: KubernetesObject): void => this.queue.add(keyOf(obj));
    this.sessions.on("delete", (s) => {
      this.applied.delete(s.metadata?.uid ?? "");
      this.diagnoses.delete(s.metadata?.uid ?? "");
    });
    this.sessions.on("add", (s) => {
      o.log.debug({ session: keyOf(s) }, "session seen");
      this.enqueueSession(s);
    });
    for (const verb of ["update", "delete"] as const) this.sessions.on(verb, enqueue);
    for (const verb of ["add", "update", "delete"] as const) {
      this.templates.on(verb, (t) => {
        this.enqueueUsersOf(t);
        this.queue.add(poolKey(t.metadata?.namespace ?? "", t.metadata?.name ?? ""));
      });
      this.pods.on(verb, (p) => {
        const session = p.metadata?.labels?.[SESSION_LABEL];
        if (session) this.queue.add(`${p.metadata?.namespace ?? ""}/${session}`);
        const pool = p.metadata?.labels?.[WARM_POOL_LABEL];
        if (pool) this.queue.add(poolKey(p.metadata?.namespace ?? "", pool));
      });
    }
  }

  /** The read side the reconciler uses: always the informers' latest view. */
  caches(): Caches {
    return {
      session: (ns, name) => this.sessions.get(name, ns),
      template: (ns, name) => this.templates.get(name, ns),
      pod: (ns, name) => this.pods.get(name, ns),
      podsIn: (ns) => this.pods.list(ns),
    };
  }

  /** Warm pods that are Ready, across templates: the warm-pool gauge. */
  readyWarmPods(): number {
    return this.pods.list().filter((p) => p.metadata?.labels?.[WARM_POOL_LABEL] && !p.metadata.deletionTimestamp && p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length;
  }

  private hooks(): WarmPoolHooks {
    return {
      adopted: (ns, template, pod) => {
        this.o.metrics?.warmAdoptions.inc({ result: "adopted" });
        this.poolState.taken.add(`${ns}/${pod}`);
        this.claims.delete(`${ns}/${pod}`);
        this.poolState.lastAdoption.set(`${ns}/${template}`, Date.now());
        // The pod no longer carries the pool's label, so its own update event does not reach the pool.
        this.queue.add(poolKey(ns, template));
      },
      cold: () => this.o.metrics?.warmAdoptions.inc({ result: "cold" }),
      claim: (id) => {
        if (this.claims.has(id) || this.poolState.taken.has(id)) return false;
        this.claims.add(id);
        return true;
      },
      release: (id) => {
        this.claims.delete(id);
      },
    };
  }

  get hasSynced(): boolean {
    return this.synced.size === 3;
  }

  async startInformers(): Promise<void> {
    await Promise.all([this.sessions.start(), this.templates.start(), this.pods.start()]);
  }

  startWorkers(): void {
    for (let i = 0; i < this.o.workers; i++) this.workersDone.push(this.worker());
    for (const s of this.sessions.list()) this.enqueueSession(s);
    for (const t of this.templates.list()) this.queue.add(poolKey(t.metadata?.namespace ?? "", t.metadata?.name ?? ""));
    this.resyncTimer = setInterval(() => {
      for (const s of this.sessions.list()) this.queue.add(keyOf(s));
      for (const t of this.templates.list()) this.queue.add(poolKey(t.metadata?.namespace ?? "", t.metadata?.name ?? ""));
    }, this.o.resyncSeconds * 1000);
    this.resyncTimer.unref();
  }

  /** Stops taking work, lets in-flight reconciles finish, stops the watches. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.resyncTimer);
    this.queue.shutDown();
    await Promise.all(this.workersDone);
    await Promise.all([this.sessions.stop(), this.templates.stop(), this.pods.stop()]);
  }

  private watch<T extends KubernetesObject>(label: string, informer: Watched<T>): Watched<T> {
    let delay = 500;
    informer.on("connect", () => {
      delay = 500;
    });
    // makeInformer stops on errors other than 410 and timeouts: restart it, with backoff.
    informer.on("error", (err) => {
      if (this.stopping) return;
      this.o.log.warn({ err, informer: label, retryInMs: delay }, "watch failed; restarting");
      const t = setTimeout(() => {
        if (this.stopping) return;
        informer.start().catch((e: unknown) => this.o.log.warn({ err: e, informer: label }, "watch restart failed"));
      }, delay);
      t.unref();
      delay = Math.min(delay * 2, 30_000);
    });
    return informer;
  }

  /** A session never reconciled (no status yet) has no pod yet either: it goes first. */
  private enqueueSession(s: KubernetesObject): void {
    this.queue.add(keyOf(s), { urgent: (s as { status?: unknown }).status === undefined });
  }

  private enqueueUsersOf(template: KubernetesObject): void {
    const ns = template.metadata?.namespace ?? "";
    for (const s of this.sessions.list(ns)) {
      if ((s as { spec?: { templateRef?: { name?: string } } }).spec?.templateRef?.name === template.metadata?.name) this.queue.add(keyOf(s));
    }
  }

  private async worker(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const end = this.o.metrics?.reconcileDuration.startTimer();
      const waitedMs = this.queue.waitedMs(key);
      const started = performance.now();
      try {
        const r: { requeueAfterMs?: number; phase?: string } = key.startsWith(POOL_PREFIX)
          ? await reconcilePool({ clients: this.o.clients, caches: this.caches(), platform: this.o.platform, log: this.o.log, state: this.poolState }, key.slice(POOL_PREFIX.length))
          : await reconcile({ clients: this.o.clients, caches: this.caches(), platform: this.o.platform, log: this.o.log, applied: this.applied, diagnoses: this.diagnoses, reapplyAfterMs: this.o.resyncSeconds * 1000, pool: this.hooks() }, key);
        this.queue.forget(key);
        if (r.requeueAfterMs !== undefined) this.queue.addAfter(key, r.requeueAfterMs);
        end?.({ result: "ok" });
        this.o.log.debug({ session: key, waitedMs, tookMs: Math.round(performance.now() - started), phase: r.phase }, "reconciled");
      } catch (err) {
        end?.({ result: "error" });
        const permanent = err instanceof PermanentError;
        this.o.metrics?.reconcileErrors.inc({ kind: permanent ? "permanent" : "transient" });
        if (permanent) {
          this.o.log.error({ err, session: key }, "reconcile cannot succeed until the object changes");
        } else {
          const retryInMs = this.queue.addRateLimited(key);
          this.o.log.warn({ err, session: key, retryInMs }, "reconcile failed; will retry");
        }
      } finally {
        this.queue.done(key);
      }
    }
  }
}
