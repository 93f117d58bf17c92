import type { Writable } from "node:stream";
import type { OutputFormat } from "../args.js";
import type { SessionApiClient } from "../client.js";
import { templatesTable } from "../format.js";

export async function templatesCommand(client: SessionApiClient, output: OutputFormat, stdout: Writable): Promise<number> {
  const templates = await client.listTemplates();
  if (output === "json") stdout.write(JSON.stringify({ items: templates }, null, 2) + "\n");
  else if (output === "name") stdout.write(templates.map((t) => `${t.metadata.name}\n`).join(""));
  else if (templates.length === 0) stdout.write(`no templates in namespace ${client.namespace}; the chart installs examples with --set templates.install=true\n`);
  else stdout.write(templatesTable(templates));
  return 0;
}
