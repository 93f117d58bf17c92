// Everything a configuration (re)load produces, swapped in as one object so a request always
// sees one consistent version of the policy, its scrub patterns and its upstream roots.
import { readFile } from "node:fs/promises";
import { createSecureContext, rootCertificates, type SecureContext } from "node:tls";
import type { SidecarConfig } from "./config.js";
import { Policy, type BoundCredential } from "./policy.js";
import { readSecrets, type SecretReader } from "./secrets.js";
import { SecretScrubber } from "./secret-scrubber.js";

/** A value a credential held before a rotation, still scrubbed from responses until `until`. */
export interface RetiredValue {
  readonly credential: string;
  readonly stub: string;
  readonly secret: string;
  /** Epoch milliseconds after which it is no longer scrubbed. */
  readonly until: number;
}

/**
 * How many previous values per credential are kept, and for how long. A response can carry a
 * value after it was rotated out (the echo of a request still in flight, a cached upstream
 * response), and Vault rotations often leave the old value valid for a while; a bounded set
 * keeps scrubbing cheap and lets a value go once nothing can plausibly still reflect it.
 */
export const RETIREMENT = { perCredential: 2, ms: 15 * 60_000 } as const;

export interface PolicyState {
  readonly config: SidecarConfig;
  readonly policy: Policy;
  /** Values rotated out of their credential recently; scrubbed like the current ones. */
  readonly retired: readonly RetiredValue[];
  /** Finds every real value (current and retired) in responses, however encoded, and puts its stub in its place. */
  readonly scrubber: SecretScrubber;
  /** The roots that verify upstreams when upstreamCaFile is set. Undefined: Node's default. */
  readonly upstreamRoots: UpstreamRoots | undefined;
}

/**
 * The client TLS context that verifies upstreams: the system roots plus upstreamCaFile. Built on
 * the first upstream dial and then once per load (building it per connection costs
 * milliseconds), not at load: a store of every system root costs ~1 MB that an idle sidecar
 * would otherwise hold (bench:sidecar's idle RSS).
 */
export class UpstreamRoots {
  private built: SecureContext | undefined;

  constructor(private readonly extraPem: string) {}

  get context(): SecureContext {
    this.built ??= createSecureContext({ ca: [...rootCertificates, this.extraPem] });
    return this.built;
  }
}

export interface BuildOptions {
  reader?: SecretReader | undefined;
  /** The state being replaced: values it held that changed become retired values. */
  previous?: PolicyState | undefined;
  now?: number;
}

export async function buildState(config: SidecarConfig, options: BuildOptions = {}): Promise<PolicyState> {
  const secrets = await readSecrets(config, options.reader);
  const policy = new Policy(config, secrets);
  const now = options.now ?? Date.now();
  const retired = retireValues({
    before: options.previous?.policy.credentials ?? [],
    retired: options.previous?.retired ?? [],
    after: policy.credentials,
    now,
  });
  let upstreamRoots: UpstreamRoots | undefined;
  if (config.upstreamCaFile !== undefined) {
    let extra: string;
    try {
      extra = await readFile(config.upstreamCaFile, "utf8");
    } catch (cause) {
      throw new Error(`cannot read upstreamCaFile ${config.upstreamCaFile}`, { cause });
    }
    upstreamRoots = new UpstreamRoots(extra);
  }
  return withRetired({ config, policy, upstreamRoots }, retired);
}

/** The same state with another set of retired values (and the scrub forms that follow). */
export function withRetired(state: Pick<PolicyState, "config" | "policy" | "upstreamRoots">, retired: readonly RetiredValue[]): PolicyState {
  return {
    config: state.config,
    policy: state.policy,
    retired,
    scrubber: new SecretScrubber([...state.policy.credentials, ...retired]),
    upstreamRoots: state.upstreamRoots,
  };
}

export interface RetireInput {
  before: readonly Pick<BoundCredential, "name" | "stub" | "secret">[];
  retired: readonly RetiredValue[];
  after: readonly Pick<BoundCredential, "name" | "stub" | "secret">[];
  now: number;
}

/**
 * The retired values after a reload: a credential's previous value joins them when it changed;
 * expired ones, ones that are current again, and all but the newest `perCredential` of each
 * credential are dropped. A credential removed from the configuration keeps its retired values
 * (and its last value) for the same bounded time: responses in flight may still carry it. Pure.
 */
export function retireValues(input: RetireInput, limits: { perCredential: number; ms: number } = RETIREMENT): RetiredValue[] {
  const current = new Map(input.after.map((credential) => [credential.name, credential.secret]));
  const fresh: RetiredValue[] = input.before
    .filter((credential) => current.get(credential.name) !== credential.secret)
    .map((credential) => ({ credential: credential.name, stub: credential.stub, secret: credential.secret, until: input.now + limits.ms }));
  const kept: RetiredValue[] = [];
  const counts = new Map<string, number>();
  // Newest first, so the per-credential bound drops the oldest.
  for (const value of [...fresh, ...[...input.retired].sort((a, b) => b.until - a.until)]) {
    if (value.until <= input.now || current.get(value.credential) === value.secret) continue;
    if (kept.some((other) => other.credential === value.credential && other.secret === value.secret)) continue;
    const count = counts.get(value.credential) ?? 0;
    if (count >= limits.perCredential) continue;
    counts.set(value.credential, count + 1);
    kept.push(value);
  }
  return kept;
}

/** Retired values still in force at `now`; the same array when none expired. */
export function unexpired(retired: readonly RetiredValue[], now: number): readonly RetiredValue[] {
  return retired.every((value) => value.until > now) ? retired : retired.filter((value) => value.until > now);
}
