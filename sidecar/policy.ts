// The egress policy as it applies at one moment: which hosts are allowed, which credentials are
// bound to a host, and which address ranges may be dialled although private. Built once per
// configuration (re)load from the validated config and the real values read from its sources.
import type { BlockList } from "node:net";
import { allowListFrom } from "./address-guard.js";
import type { SidecarConfig } from "./config.js";
import { matchesAny } from "./hosts.js";

export interface BoundCredential {
  readonly name: string;
  readonly stub: string;
  readonly secret: string;
  readonly hosts: readonly string[];
  readonly headers: ReadonlySet<string>;
  readonly body: boolean;
}

export class Policy {
  readonly credentials: readonly BoundCredential[];
  readonly allowedAddresses: BlockList;
  private readonly allow: readonly string[];

  constructor(config: SidecarConfig, secrets: ReadonlyMap<string, string>) {
    this.credentials = config.credentials.map((credential) => {
      const secret = secrets.get(credential.name);
      if (secret === undefined) throw new Error(`no value was read for credential "${credential.name}"`);
      return {
        name: credential.name,
        stub: credential.stub,
        secret,
        hosts: credential.hosts,
        headers: new Set(credential.inject.headers),
        body: credential.inject.body,
      };
    });
    this.allow = [...config.egress.allow, ...config.credentials.flatMap((credential) => credential.hosts)];
    this.allowedAddresses = allowListFrom(config.egress.allowPrivate);
  }

  /** True when the agent may reach this (normalized) host at all. */
  isAllowed(host: string): boolean {
    return matchesAny(host, this.allow);
  }

  /** The credentials whose stubs are swapped towards this host. */
  boundTo(host: string): BoundCredential[] {
    return this.credentials.filter((credential) => matchesAny(host, credential.hosts));
  }

  /** True when connections to this host are intercepted (it carries a credential). */
  intercepts(host: string): boolean {
    return this.credentials.some((credential) => matchesAny(host, credential.hosts));
  }

  /** Concrete (non-wildcard) bound host names, for pre-minting leaf certificates. */
  boundHostNames(): string[] {
    return [...new Set(this.credentials.flatMap((credential) => credential.hosts.filter((host) => !host.startsWith("*."))))];
  }
}
