// FAKE: an in-memory authorizer for tests and local development. Each rule grants verbs on a
// resource (optionally a subresource) to a user in any namespace, like a ClusterRoleBinding.
import type { Authorizer, ResourceAttributes } from "./identity.js";

export interface FakeRule {
  user: string;
  verbs: Array<ResourceAttributes["verb"] | "*">;
  /** "agentsessions", "agentsessions/terminal", "agenttemplates" or "*". */
  resources: string[];
}

export class FakeAuthorizer implements Authorizer {
  readonly checks: Array<{ user: string } & ResourceAttributes> = [];

  constructor(private readonly rules: FakeRule[]) {}

  allowed(identity: { username: string }, attributes: ResourceAttributes): Promise<boolean> {
    this.checks.push({ user: identity.username, ...attributes });
    const resource = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource;
    return Promise.resolve(
      this.rules.some(
        (rule) =>
          rule.user === identity.username &&
          (rule.verbs.includes("*") || rule.verbs.includes(attributes.verb)) &&
          (rule.resources.includes("*") || rule.resources.includes(resource)),
      ),
    );
  }
}

/** The two roles the chart ships, as fake rules for a user. */
export const fakeAgentUser = (user: string): FakeRule => ({ user, verbs: ["*"], resources: ["*"] });
export const fakeAgentViewer = (user: string): FakeRule => ({
  user,
  verbs: ["get", "list"],
  resources: ["agentsessions", "agenttemplates", "agentsessions/terminal"],
});
