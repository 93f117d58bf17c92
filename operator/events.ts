import type { Logger } from "pino";
import { API_VERSION } from "../crds/agentsession.js";
import type { Clients } from "./kube.js";

/** The agentbox object an event is about. */
export interface Involved {
  kind: "AgentSession" | "AgentTemplate";
  namespace: string;
  name: string;
  uid?: string | undefined;
}

export interface EventNote {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
}

/**
 * Records a Kubernetes Event on `about`. An event is a courtesy: failing to record one is logged
 * and never fails the reconcile that wanted it, so this never throws.
 */
export async function recordEvent(clients: Clients, log: Logger, about: Involved, ev: EventNote, now: Date = new Date()): Promise<void> {
  const { kind, namespace, name, uid } = about;
  try {
    await clients.core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { generateName: `${name}.`, namespace },
        involvedObject: { apiVersion: API_VERSION, kind, name, namespace, ...(uid ? { uid } : {}) },
        reason: ev.reason,
        message: ev.message.slice(0, 1024),
        type: ev.type,
        source: { component: "agentbox-operator" },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  } catch (e) {
    log.warn({ err: e, [kind === "AgentSession" ? "session" : "template"]: `${namespace}/${name}` }, "could not record an event");
  }
}
