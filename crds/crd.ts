import type { z } from "zod";
import { AgentSessionSpec, AgentSessionStatus, GROUP, VERSION } from "./agentsession.js";
import { AgentTemplateSpec } from "./agenttemplate.js";
import { toStructural, type JSONSchemaProps } from "./structural.js";

export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  description: string;
  priority?: number;
}

interface KindOptions {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: z.ZodType;
  status?: z.ZodType;
  columns: PrinterColumn[];
}

export interface CustomResourceDefinition {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; labels: Record<string, string> };
  spec: Record<string, unknown>;
}

const envelope = (o: KindOptions): JSONSchemaProps => {
  const properties: Record<string, JSONSchemaProps> = {
    apiVersion: { type: "string", description: "apiVersion: the versioned schema of this object, agentbox.dev/v1alpha1." },
    kind: { type: "string", description: `kind: ${o.kind}.` },
    // The API server refuses anything but `type` here: metadata's schema is its own.
    metadata: { type: "object" },
    spec: toStructural(o.spec),
  };
  if (o.status) properties.status = toStructural(o.status);
  return { type: "object", description: o.description, properties, required: ["spec"] };
};

function crd(o: KindOptions): CustomResourceDefinition {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${o.plural}.${GROUP}`, labels: { "app.kubernetes.io/name": "agentbox", "app.kubernetes.io/part-of": "agentbox" } },
    spec: {
      group: GROUP,
      scope: "Namespaced",
      names: { kind: o.kind, listKind: `${o.kind}List`, plural: o.plural, singular: o.singular, shortNames: o.shortNames, categories: ["agentbox"] },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: envelope(o) },
          ...(o.status ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: o.columns,
        },
      ],
    },
  };
}

const age: PrinterColumn = { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "Time since the object was created." };

/** The two CRDs, built from the zod schemas; `npm run gen` writes them as YAML. */
export function customResourceDefinitions(): CustomResourceDefinition[] {
  return [
    crd({
      kind: "AgentSession",
      plural: "agentsessions",
      singular: "agentsession",
      shortNames: ["as"],
      description: "AgentSession runs one coding agent in an isolated pod that holds only stub credentials.",
      spec: AgentSessionSpec,
      status: AgentSessionStatus,
      columns: [
        { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Where the session is in its life." },
        { name: "Mode", type: "string", jsonPath: ".status.mode", description: "Interactive or Batch, after the template and the default." },
        { name: "Pod", type: "string", jsonPath: ".status.podName", description: "The session's pod." },
        { name: "Exit", type: "integer", jsonPath: ".status.exitCode", description: "The agent's exit code (Batch).", priority: 1 },
        { name: "Template", type: "string", jsonPath: ".spec.templateRef.name", description: "The AgentTemplate used.", priority: 1 },
        age,
      ],
    }),
    crd({
      kind: "AgentTemplate",
      plural: "agenttemplates",
      singular: "agenttemplate",
      shortNames: ["ast"],
      description: "AgentTemplate holds values AgentSessions start from, and the parts they may not change.",
      spec: AgentTemplateSpec,
      columns: [{ name: "Image", type: "string", jsonPath: ".spec.agent.image", description: "The agent image." }, age],
    }),
  ];
}
