import { AgentSession } from "../../../crds/agentsession.js";
import { AgentTemplateSpec } from "../../../crds/agenttemplate.js";
import type { PlatformOptions } from "../../../operator/desired.js";

export const platform: PlatformOptions = {
  image: "agentbox/platform:dev",
  serviceAccountName: "default",
  tokenAudience: "vault",
  vault: { address: "http://vault.vault:8200", role: "agentbox", mount: "kubernetes" },
  extraEgress: [],
  // The platform's bound (ADR 0004) lets the fixtures' 10.0.0.0/8 through.
  allowPrivateBound: ["10.0.0.0/8"],
};

export function session(name: string, spec: Record<string, unknown>, extra: Record<string, unknown> = {}): AgentSession {
  return AgentSession.parse({
    apiVersion: "agentbox.dev/v1alpha1",
    kind: "AgentSession",
    metadata: { name, namespace: "team-a", uid: `uid-${name}`, generation: 1, ...extra },
    spec,
  });
}

export const template = (spec: Record<string, unknown>): AgentTemplateSpec => AgentTemplateSpec.parse(spec);

const vault = (key: string): Record<string, unknown> => ({ vault: { path: "kv/data/agents/x", key } });

export const SESSIONS: Record<string, Record<string, unknown>> = {
  minimal: { agent: { image: "registry.local/agent:dev" } },
  anthropic: {
    agent: { image: "registry.local/claude:dev", command: ["claude"], env: [{ name: "TERM", value: "xterm-256color" }] },
    credentials: [{ name: "anthropic", env: "ANTHROPIC_API_KEY", hosts: ["api.anthropic.com"], inject: { headers: ["x-api-key", "authorization"] }, source: vault("api_key") }],
    egress: { allow: ["*.github.com"] },
  },
  secretRefs: {
    agent: { image: "registry.local/codex:dev", runAsUser: 2000 },
    credentials: [
      { name: "openai", env: "OPENAI_API_KEY", hosts: ["api.openai.com"], source: { secretKeyRef: { name: "openai-real", key: "key" } } },
      { name: "github", env: "GH_TOKEN", hosts: ["github.com", "api.github.com"], format: "github-fine-grained", source: { secretKeyRef: { name: "gh-real", key: "token" } } },
    ],
    workspace: { storage: { size: "5Gi", storageClassName: "local-path" }, mountPath: "/src" },
    isolation: { runtimeClassName: "gvisor" },
    egress: { allow: [], allowPrivate: ["10.0.0.0/8"] },
  },
  batch: { agent: { image: "registry.local/agent:dev", args: ["--print", "fix it"] }, lifecycle: { mode: "Batch", ttlSecondsAfterFinished: 30 } },
  fromTemplate: { templateRef: { name: "claude-code" }, agent: { env: [{ name: "EXTRA", value: "1" }] } },
};

export const TEMPLATES: Record<string, AgentTemplateSpec | undefined> = {
  none: undefined,
  claudeCode: template({
    agent: { image: "registry.local/claude:dev", command: ["claude"] },
    credentials: [{ name: "anthropic", env: "ANTHROPIC_API_KEY", hosts: ["api.anthropic.com"], source: vault("api_key") }],
    lifecycle: { mode: "Interactive", idleTimeoutSeconds: 600 },
    isolation: { runtimeClassName: "kata" },
    locked: ["agent.image"],
  }),
  open: template({ agent: { image: "registry.local/base:dev", resources: { limits: { memory: "2Gi" } } }, egress: { allow: ["registry.npmjs.org"] } }),
};
