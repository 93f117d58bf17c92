// Everything a configuration (re)load produces, swapped in as one object so a request always
// sees one consistent version of the policy, its scrub patterns and its upstream roots.
import { readFile } from "node:fs/promises";
import { createSecureContext, rootCertificates, type SecureContext } from "node:tls";
import type { SidecarConfig } from "./config.js";
import { Policy } from "./policy.js";
import { secretForms, type Replacement } from "./scrub.js";
import { readSecrets, type SecretReader } from "./secrets.js";

export interface PolicyState {
  readonly config: SidecarConfig;
  readonly policy: Policy;
  /** Forms of every real value, each replaced by the same form of its stub, in responses. */
  readonly scrubForms: readonly Replacement[];
  /** True when every scrub replacement keeps the length, so Content-Length stays valid. */
  readonly scrubKeepsLength: boolean;
  /**
   * The client TLS context that verifies upstreams: the system roots plus upstreamCaFile, built
   * once per load (building it per connection costs milliseconds). Undefined: Node's default.
   */
  readonly upstreamTls: SecureContext | undefined;
}

export async function buildState(config: SidecarConfig, reader?: SecretReader): Promise<PolicyState> {
  const secrets = await readSecrets(config, reader);
  const policy = new Policy(config, secrets);
  const scrubForms = policy.credentials
    .flatMap((credential) => secretForms(credential.secret, credential.stub))
    .sort((a, b) => b[0].length - a[0].length);
  let upstreamTls: SecureContext | undefined;
  if (config.upstreamCaFile !== undefined) {
    let extra: string;
    try {
      extra = await readFile(config.upstreamCaFile, "utf8");
    } catch (cause) {
      throw new Error(`cannot read upstreamCaFile ${config.upstreamCaFile}`, { cause });
    }
    upstreamTls = createSecureContext({ ca: [...rootCertificates, extra] });
  }
  return {
    config,
    policy,
    scrubForms,
    scrubKeepsLength: scrubForms.every(([from, to]) => from.length === to.length),
    upstreamTls,
  };
}
