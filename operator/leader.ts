import { V1MicroTime, type CoordinationV1Api, type V1Lease } from "@kubernetes/client-node";
import type { Logger } from "pino";

export interface LeaderOptions {
  api: CoordinationV1Api;
  name: string;
  namespace: string;
  identity: string;
  leaseDurationSeconds: number;
  log: Logger;
  /** Injected for tests; defaults to the wall clock. */
  now?: () => Date;
}

export type LeaseVerdict = "acquire" | "renew" | "wait";

/** Whether `identity` may take or keep the Lease now. Pure, so the rules are table-tested. */
export function leaseVerdict(spec: V1Lease["spec"] | undefined, identity: string, now: Date): LeaseVerdict {
  const holder = spec?.holderIdentity ?? "";
  if (holder === identity) return "renew";
  if (holder === "") return "acquire";
  const renewed = spec?.renewTime ? new Date(spec.renewTime as unknown as string).getTime() : 0;
  const duration = (spec?.leaseDurationSeconds ?? 15) * 1000;
  return now.getTime() > renewed + duration ? "acquire" : "wait";
}

const code = (e: unknown): number | undefined => (e as { code?: number }).code;
// The API server parses Lease times as RFC 3339 with exactly six fractional digits; a plain
// Date serialises with three and is refused, so every time written goes through V1MicroTime.
const micro = (t: Date | string | undefined, fallback: V1MicroTime): V1MicroTime => (t === undefined ? fallback : new V1MicroTime(new Date(t).getTime()));

/**
 * Leader election on a coordination.k8s.io Lease with optimistic concurrency: every write
 * carries the resourceVersion read, so of two replicas racing for an expired Lease exactly one
 * wins. `run` resolves when leadership is lost or `stop` is called.
 */
export class LeaderElector {
  private stopped = false;
  private leading = false;
  private wake: (() => void) | undefined;

  constructor(private readonly o: LeaderOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  /** Tries once to take or renew the Lease; returns whether this replica holds it afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { api, name, namespace, identity, leaseDurationSeconds } = this.o;
    const now = this.o.now?.() ?? new Date();
    let lease: V1Lease | undefined;
    try {
      lease = await api.readNamespacedLease({ name, namespace });
    } catch (e) {
      if (code(e) !== 404) throw new Error(`cannot read Lease ${namespace}/${name}`, { cause: e });
    }
    const verdict = leaseVerdict(lease?.spec, identity, now);
    if (verdict === "wait") return false;
    const stamp = new V1MicroTime(now.getTime());
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds,
      renewTime: stamp,
      acquireTime: verdict === "acquire" ? stamp : micro(lease?.spec?.acquireTime, stamp),
      leaseTransitions: (lease?.spec?.leaseTransitions ?? 0) + (verdict === "acquire" && lease ? 1 : 0),
    };
    try {
      if (!lease) await api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec } });
      else await api.replaceNamespacedLease({ name, namespace, body: { metadata: { ...lease.metadata, name, namespace }, spec } });
      return true;
    } catch (e) {
      if (code(e) === 409) return false; // someone else wrote first
      throw new Error(`cannot write Lease ${namespace}/${name}`, { cause: e });
    }
  }

  /**
   * Waits for leadership, calls `onLead`, keeps renewing; resolves once leadership is lost (a
   * renewal did not succeed within the lease duration) or after `stop`.
   */
  async run(onLead: () => void): Promise<void> {
    const retryMs = Math.max(200, (this.o.leaseDurationSeconds * 1000) / 5);
    let lastRenew = 0;
    while (!this.stopped) {
      let held = false;
      try {
        held = await this.tryAcquireOrRenew();
      } catch (e) {
        this.o.log.warn({ err: e }, "leader election: Lease update failed; retrying");
      }
      const now = Date.now();
      if (held) {
        lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.o.log.info({ identity: this.o.identity }, "became leader");
          onLead();
        }
      } else if (this.leading && now - lastRenew > this.o.leaseDurationSeconds * 1000 * 0.8) {
        this.leading = false;
        this.o.log.error("lost the leader Lease");
        return;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, retryMs);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Stops campaigning and, if leading, hands the Lease back so another replica takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    if (!this.leading) return;
    this.leading = false;
    const { api, name, namespace } = this.o;
    try {
      const lease = await api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      const spec = lease.spec;
      const t = new V1MicroTime();
      await api.replaceNamespacedLease({
        name,
        namespace,
        body: { metadata: lease.metadata, spec: { holderIdentity: "", leaseDurationSeconds: spec.leaseDurationSeconds, leaseTransitions: spec.leaseTransitions, renewTime: t, acquireTime: micro(spec.acquireTime, t) } },
      });
    } catch (e) {
      this.o.log.warn({ err: e }, "could not release the leader Lease; it will expire");
    }
  }
}
