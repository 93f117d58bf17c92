// The chart's copies of the CRDs and example templates match their sources, and every example
// manifest is valid under the API's own zod schemas. Needs no helm.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { AgentSession } from "../../../crds/agentsession.js";
import { AgentTemplate } from "../../../crds/agenttemplate.js";

const root = resolve(import.meta.dirname, "../../..");

test("helm/sync-crds.sh --check: the chart's CRDs and templates equal crds/ and examples/templates/", () => {
  const r = spawnSync("bash", [join(root, "helm/sync-crds.sh"), "--check"], { encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
});

test("helm/sync-crds.sh --check fails on a stale copy and the script repairs it", () => {
  const scratch = mkdtempSync(join(tmpdir(), "agentbox-sync-"));
  try {
    for (const dir of ["helm", "crds", "examples/templates"]) cpSync(join(root, dir), join(scratch, dir), { recursive: true });
    const crd = join(scratch, "helm/agentbox/crds/agentbox.dev_agentsessions.yaml");
    writeFileSync(crd, readFileSync(crd, "utf8") + "# edited by hand\n");
    const stale = spawnSync("bash", [join(scratch, "helm/sync-crds.sh"), "--check"], { encoding: "utf8" });
    assert.equal(stale.status, 1);
    assert.match(stale.stderr, /stale: .*agentbox.dev_agentsessions.yaml/);
    assert.equal(spawnSync("bash", [join(scratch, "helm/sync-crds.sh")]).status, 0);
    assert.equal(spawnSync("bash", [join(scratch, "helm/sync-crds.sh"), "--check"]).status, 0);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

const manifests = (dir: string): [string, unknown][] =>
  readdirSync(join(root, dir)).filter((f) => f.endsWith(".yaml")).map((f) => [`${dir}/${f}`, parse(readFileSync(join(root, dir, f), "utf8"))]);

test("example templates are valid AgentTemplates; shell, claude-code and codex use the :dev agent images", () => {
  const templates = manifests("examples/templates");
  const images: Record<string, string | undefined> = {};
  for (const [file, doc] of templates) {
    const parsed = AgentTemplate.safeParse(doc);
    assert.ok(parsed.success, `${file}: ${parsed.success ? "" : parsed.error.message}`);
    images[parsed.data.metadata.name] = parsed.data.spec.agent?.image;
  }
  assert.equal(images.shell, "agentbox/agent-shell:dev");
  assert.equal(images["claude-code"], "agentbox/claude-code:dev");
  assert.equal(images.codex, "agentbox/codex:dev");
});

test("example sessions are valid AgentSessions", () => {
  const sessions = manifests("examples/sessions");
  assert.ok(sessions.length >= 3);
  for (const [file, doc] of sessions) {
    const parsed = AgentSession.safeParse(doc);
    assert.ok(parsed.success, `${file}: ${parsed.success ? "" : parsed.error.message}`);
  }
});
