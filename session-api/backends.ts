// Where sessions, permissions and terminals come from: the cluster, or (for development) FAKEs
// and a local shell.
import { readFile } from "node:fs/promises";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "./log.js";
import type { Authorizer } from "./auth/identity.js";
import { parseStaticTokens } from "./auth/static-tokens.js";
import { cachedAuthorizer, subjectAccessReviewAuthorizer } from "./auth/kubernetes.js";
import { namespaceWideFirst } from "./auth/namespace-wide.js";
import { FakeAuthorizer, fakeAgentUser } from "./auth/fake-authorizer.js";
import { FakeSessionStore } from "./store/fake-store.js";
import { kubeSessionStore } from "./store/kube-store.js";
import { coalescedReads } from "./store/coalesced-reads.js";
import type { AgentSession } from "./store/store.js";
import type { ServerDeps } from "./server.js";
import { kubeStreamFactory } from "./terminal/kube-stream.js";
import { localPtyFactory } from "./terminal/local-pty.js";
import type { UpstreamFactory } from "./terminal/upstream.js";

export type Backend = Pick<ServerDeps, "store" | "authorizer" | "upstreamFor" | "shellFor">;

// Prefer bash when the image has it; every agent image has sh.
const SHELL = ["/bin/sh", "-c", "command -v bash >/dev/null 2>&1 && exec bash -l || exec sh -l"];

/** The real thing: custom objects, SubjectAccessReview, pods/attach and pods/exec. */
export function clusterBackend(kc: KubeConfig, agentContainer = "agent"): Backend {
  const stream = (session: AgentSession, mode: "attach" | "exec"): UpstreamFactory => (size) => {
    const pod = session.status?.podName;
    const namespace = session.metadata.namespace;
    if (!pod || !namespace) return Promise.reject(new Error(`session ${session.metadata.name} has no pod yet`));
    return kubeStreamFactory(kc, { namespace, pod, container: agentContainer, mode, ...(mode === "exec" ? { command: SHELL } : {}) })(size);
  };
  return {
    store: coalescedReads(kubeSessionStore(kc)),
    authorizer: namespaceWideFirst(cachedAuthorizer(subjectAccessReviewAuthorizer(kc))),
    upstreamFor: (session) => stream(session, "attach"),
    shellFor: (session) => stream(session, "exec"),
  };
}

/** --dev-fake: in-memory FAKE store and authorizer, a local shell per session. */
export async function devBackend(staticTokenFile: string, shell: string, log: Logger): Promise<Backend> {
  const store = new FakeSessionStore();
  store.addTemplate("default", "shell", { agent: { image: "local-shell" }, locked: [] });
  // Every user in the token file is an agent user: this mode is for one developer's machine.
  const users = parseStaticTokens(await readFile(staticTokenFile, "utf8")).map((e) => e.identity.username);
  const authorizer: Authorizer = new FakeAuthorizer(users.map(fakeAgentUser));
  log.warn("running with the in-memory FAKE store and authorizer (--dev-fake): for development only");
  const local = localPtyFactory({ command: [shell] });
  return { store, authorizer, upstreamFor: () => local, shellFor: () => local };
}
