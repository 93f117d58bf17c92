// Session manifests shared by the unit tests (zod) and the e2e test that applies each one to a
// real API server: every malformed case must be refused by both, naming `field`.

export interface MalformedCase {
  name: string;
  /** A fragment of the field path the error message must name. */
  field: string;
  spec: Record<string, unknown>;
}

const image = "registry.local/agents/claude-code:dev";
const cred = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: "anthropic",
  env: "ANTHROPIC_API_KEY",
  hosts: ["api.anthropic.com"],
  source: { vault: { path: "kv/data/agents/anthropic", key: "api_key" } },
  ...over,
});

export const VALID_SPECS: Record<string, Record<string, unknown>>[] = [
  { minimal: { agent: { image } } },
  { templateOnly: { templateRef: { name: "claude-code" } } },
  {
    full: {
      templateRef: { name: "claude-code" },
      agent: { image, command: ["claude"], args: ["--print"], env: [{ name: "TERM", value: "xterm" }], workingDir: "/workspace/repo", tty: true, runAsUser: 1000, resources: { requests: { cpu: "500m", memory: "1Gi" }, limits: { memory: "4Gi" } } },
      credentials: [cred(), cred({ name: "github", env: "GH_TOKEN", hosts: ["github.com", "*.github.com"], format: "github-classic", source: { secretKeyRef: { name: "gh", key: "token" } } })],
      egress: { allow: ["registry.npmjs.org", "*.pypi.org"], allowPrivate: ["10.0.0.0/8"] },
      workspace: { storage: { size: "10Gi" }, mountPath: "/workspace" },
      lifecycle: { mode: "Batch", ttlSeconds: 3600, ttlSecondsAfterFinished: 60 },
      access: { users: ["alice"], viewers: ["bob"] },
      isolation: { runtimeClassName: "gvisor" },
    },
  },
];

export const MALFORMED: MalformedCase[] = [
  { name: "image of the wrong type", field: "agent.image", spec: { agent: { image: 42 } } },
  { name: "no image and no template", field: "agent", spec: { agent: { command: ["sh"] } } },
  { name: "unknown mode", field: "lifecycle.mode", spec: { agent: { image }, lifecycle: { mode: "Forever" } } },
  { name: "negative ttlSeconds", field: "lifecycle.ttlSeconds", spec: { agent: { image }, lifecycle: { ttlSeconds: -5 } } },
  { name: "negative ttlSecondsAfterFinished", field: "lifecycle.ttlSecondsAfterFinished", spec: { agent: { image }, lifecycle: { mode: "Batch", ttlSecondsAfterFinished: -1 } } },
  { name: "ttlSeconds not an integer", field: "lifecycle.ttlSeconds", spec: { agent: { image }, lifecycle: { ttlSeconds: 1.5 } } },
  { name: "ttlSecondsAfterFinished on an Interactive session", field: "ttlSecondsAfterFinished", spec: { agent: { image }, lifecycle: { mode: "Interactive", ttlSecondsAfterFinished: 10 } } },
  { name: "idleTimeoutSeconds on a Batch session", field: "idleTimeoutSeconds", spec: { agent: { image }, lifecycle: { mode: "Batch", idleTimeoutSeconds: 10 } } },
  { name: "host pattern with a scheme", field: "egress.allow", spec: { agent: { image }, egress: { allow: ["https://api.github.com"] } } },
  { name: "host pattern with a wildcard in the middle", field: "egress.allow", spec: { agent: { image }, egress: { allow: ["api.*.com"] } } },
  { name: "credential host with upper case and port", field: "credentials[0].hosts", spec: { agent: { image }, credentials: [cred({ hosts: ["API.anthropic.com:443"] })] } },
  { name: "credential with no hosts", field: "credentials[0].hosts", spec: { agent: { image }, credentials: [cred({ hosts: [] })] } },
  { name: "credential env colliding with agent.env", field: "credentials", spec: { agent: { image, env: [{ name: "ANTHROPIC_API_KEY", value: "x" }] }, credentials: [cred()] } },
  { name: "two credentials with the same env", field: "credentials", spec: { agent: { image }, credentials: [cred(), cred({ name: "other" })] } },
  { name: "credential source with both vault and secretKeyRef", field: "credentials[0].source", spec: { agent: { image }, credentials: [cred({ source: { vault: { path: "p", key: "k" }, secretKeyRef: { name: "s", key: "k" } } })] } },
  { name: "credential source with neither", field: "credentials[0].source", spec: { agent: { image }, credentials: [cred({ source: {} })] } },
  { name: "credential env not a variable name", field: "credentials[0].env", spec: { agent: { image }, credentials: [cred({ env: "1-BAD" })] } },
  { name: "credential name not a DNS label", field: "credentials[0].name", spec: { agent: { image }, credentials: [cred({ name: "Anthropic_Key" })] } },
  { name: "inject header with a space", field: "credentials[0].inject.headers", spec: { agent: { image }, credentials: [cred({ inject: { headers: ["x api key"] } })] } },
  { name: "unknown stub format", field: "credentials[0].format", spec: { agent: { image }, credentials: [cred({ format: "aws" })] } },
  { name: "agent.env shadowing HTTPS_PROXY", field: "agent.env", spec: { agent: { image, env: [{ name: "HTTPS_PROXY", value: "http://evil:3128" }] } } },
  { name: "agent running as the sidecar uid", field: "agent.runAsUser", spec: { agent: { image, runAsUser: 1337 } } },
  { name: "agent running as root", field: "agent.runAsUser", spec: { agent: { image, runAsUser: 0 } } },
  { name: "bad storage size", field: "workspace.storage.size", spec: { agent: { image }, workspace: { storage: { size: "ten gigs" } } } },
  { name: "relative mount path", field: "workspace.mountPath", spec: { agent: { image }, workspace: { mountPath: "workspace" } } },
  { name: "allowPrivate not a CIDR", field: "egress.allowPrivate", spec: { agent: { image }, egress: { allow: [], allowPrivate: ["10.0.0.1"] } } },
  { name: "bad memory quantity", field: "agent.resources.limits.memory", spec: { agent: { image, resources: { limits: { memory: "-1Gi" } } } } },
  { name: "tty not a boolean", field: "agent.tty", spec: { agent: { image, tty: "yes" } } },
];
