// Issue 5, acceptance 2: with the platform installed by its Helm chart, Debian's chromium signs in
// to the session API's web UI with a Kubernetes service-account token, creates a session from the
// chart's `shell` template, opens its terminal and sees the agent's output; and `agentbox attach`,
// running on a real PTY, sees a real pod's output, types a line the agent answers, and detaches.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { chromium, type Browser, type Page } from "playwright-core";
import { waitFor } from "../support/wait.js";
import { connect, createNamespace, type Cluster } from "./support/cluster.js";
import { startLocalPty } from "../../session-api/terminal/local-pty.js";
import type { UpstreamEnd } from "../../session-api/terminal/upstream.js";
import { agentUserToken, deleteNamespaceAndWait, installPlatform, loadImages, ROOT, SESSION_API_URL, type Platform } from "./support/platform.js";

const CHROMIUM = "/usr/bin/chromium";
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: apt-get install -y chromium`;

let cluster: Cluster;
let platform: Platform | undefined;
let ns: string | undefined;
let browser: Browser | undefined;

before(async () => {
  if (skip) return;
  cluster = connect();
  await loadImages();
  ns = await createNamespace(cluster, "platform-web");
  // The shell template's sidecar mounts no upstream CA here: nothing in this namespace needs one.
  platform = await installPlatform(cluster, ns, { upstreamCa: false });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  await platform?.uninstall();
  if (ns) await deleteNamespaceAndWait(cluster, ns);
});

async function waitForRunning(name: string): Promise<void> {
  const custom = cluster.kc.makeApiClient(k8s.CustomObjectsApi);
  let last: unknown;
  await waitFor(
    `session ${name} Running`,
    async () => {
      last = await custom.getNamespacedCustomObject({ group: "agentbox.dev", version: "v1alpha1", namespace: ns!, plural: "agentsessions", name });
      return (last as { status?: { phase?: string } }).status?.phase === "Running" ? true : undefined;
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  ).catch(async (error: unknown) => {
    // The session's status says "Starting"; the pod's conditions and events say why (e.g. a node
    // full of other tests' pods: "Insufficient cpu", or a missing Secret: FailedMount).
    const events = await cluster.core.listNamespacedEvent({ namespace: ns!, fieldSelector: `involvedObject.name=${name}` }).catch(() => undefined);
    const why = (events?.items ?? []).filter((e) => e.type === "Warning").map((e) => `${e.reason}: ${e.message}`).slice(-3);
    throw new Error(`session ${name} never ran: ${JSON.stringify((last as { status?: unknown } | undefined)?.status)}; pod warnings: ${JSON.stringify(why)}`, { cause: error });
  });
}

async function screenRows(page: Page): Promise<string[]> {
  const rows = await page.locator("#terminal .xterm-rows > div").allTextContents();
  return rows.map((row) => row.replace(/\u00a0/g, " ").trimEnd());
}

async function waitForRow(page: Page, predicate: (row: string) => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await screenRows(page)).some(predicate)) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; screen: ${JSON.stringify(await screenRows(page))}`);
    await page.waitForTimeout(100);
  }
}

test("acceptance 2: a browser signs in, opens a real session's terminal and sees the agent's output", { skip, timeout: 300_000 }, async () => {
  assert.ok(browser && ns);
  const token = await agentUserToken(cluster, ns, "web-user");
  const page = await (await browser.newContext({ viewport: { width: 1100, height: 700 } })).newPage();
  await page.goto(`${SESSION_API_URL}/ui/`);
  await page.fill("#token", token);
  await page.fill("#namespace", ns);
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector("#sessions-view:not([hidden])");
  await page.waitForSelector("#template option[value=shell]", { state: "attached" });
  // Chosen explicitly: the form preselects the first template (claude-code), whose credential
  // needs a Secret this namespace does not hold, so its pod would never start.
  await page.selectOption("#template", "shell");
  await page.fill("#new-name", "web1");
  await page.click("#create button[type=submit]");
  await waitForRunning("web1");
  const row = page.locator("tr[data-session=web1]");
  await row.locator(".phase-Running").waitFor({ timeout: 30_000 });
  await row.getByRole("button", { name: "Open" }).click();
  await page.locator("#term-role", { hasText: "read-write" }).waitFor();
  await page.locator("#term-state", { hasText: "live" }).waitFor({ timeout: 60_000 });
  await page.locator("#terminal").click();
  // Typed until it shows: the shell may not have drawn its prompt when the terminal goes live.
  await page.keyboard.type("echo $((6 * 7))-from-the-pod\n");
  await waitForRow(page, (r) => r === "42-from-the-pod", "the agent's output 42-from-the-pod");
  // Its CPU request goes back to the shared node for the next test.
  await cluster.kc.makeApiClient(k8s.CustomObjectsApi).deleteNamespacedCustomObject({ group: "agentbox.dev", version: "v1alpha1", namespace: ns, plural: "agentsessions", name: "web1" });
});

test("acceptance 2: `agentbox attach` on a real terminal sees the agent's output, types a line, detaches with Ctrl-]", { skip, timeout: 300_000 }, async () => {
  assert.ok(ns);
  const token = await agentUserToken(cluster, ns, "tty-user");
  const custom = cluster.kc.makeApiClient(k8s.CustomObjectsApi);
  // The agent speaks every half second (output from before an attach is not replayed) and
  // answers each line it reads, so what comes back proves the keystrokes reached the pod. A small
  // CPU request: the node is shared with benches that fill it with pods.
  const script = 'while :; do echo "agent-alive-$((++n))"; if read -r -t 0.5 line; then echo "agent-got:${line}"; fi; done';
  await custom.createNamespacedCustomObject({
    group: "agentbox.dev",
    version: "v1alpha1",
    namespace: ns,
    plural: "agentsessions",
    body: { apiVersion: "agentbox.dev/v1alpha1", kind: "AgentSession", metadata: { name: "tty1" }, spec: { templateRef: { name: "shell" }, agent: { command: ["bash", "-c", script], resources: { requests: { cpu: "10m", memory: "64Mi" } } } } },
  });
  await waitForRunning("tty1");
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", TERM: "xterm-256color", AGENTBOX_URL: SESSION_API_URL, AGENTBOX_TOKEN: token, AGENTBOX_NAMESPACE: ns };
  const pty = startLocalPty({ command: [process.execPath, "--import", "tsx", join(ROOT, "cli/main.ts"), "attach", "tty1"], env, cwd: ROOT }, { cols: 100, rows: 30 });
  let screen = "";
  pty.onData((chunk) => (screen += chunk.toString("utf8")));
  const ended = new Promise<UpstreamEnd>((resolve) => pty.onEnd(resolve));
  const until = (what: string, check: () => boolean, timeoutMs = 60_000): Promise<true> => waitFor(what, () => (check() ? true : undefined), { timeoutMs, intervalMs: 100 });
  try {
    await until("the attached banner", () => screen.includes("attached; detach with Ctrl-]"));
    await until("the agent's output", () => /agent-alive-\d+/.test(screen));
    // Raw mode: Enter arrives as a carriage return, which the pod's terminal turns into a newline.
    pty.write(Buffer.from("typed-from-the-cli\r"));
    await until("the agent's answer to the typed line", () => screen.includes("agent-got:typed-from-the-cli"));
    pty.write(Buffer.from([0x1d]));
    const end = await ended;
    assert.equal(end.exitCode, 0);
    assert.match(screen, /detached from tty1/);
  } catch (error) {
    throw new Error(`${(error as Error).message}; the CLI's screen ends with:\n${screen.slice(-1500)}`, { cause: error });
  } finally {
    pty.close();
  }
  // Detaching leaves the session running.
  const after = (await custom.getNamespacedCustomObject({ group: "agentbox.dev", version: "v1alpha1", namespace: ns, plural: "agentsessions", name: "tty1" })) as { status?: { phase?: string } };
  assert.equal(after.status?.phase, "Running");
});
