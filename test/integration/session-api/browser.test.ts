import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { startTestApi, TOKENS, type TestApi } from "./harness.js";

const CHROMIUM = "/usr/bin/chromium";
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing: apt-get install -y chromium`;

let api: TestApi;
let browser: Browser;
const contexts: BrowserContext[] = [];

before(async () => {
  if (skip) return;
  api = await startTestApi();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    // launch() always starts from a fresh temporary profile (user-data-dir) of its own.
  });
});

after(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await api?.close();
});

async function signIn(token: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${api.url}/ui/`);
  await page.fill("#token", token);
  await page.fill("#namespace", "team");
  await page.click("#sign-in button[type=submit]");
  await page.waitForSelector("#sessions-view:not([hidden])");
  return page;
}

/** The terminal's rows as the browser renders them. */
async function screenRows(page: Page): Promise<string[]> {
  const rows = await page.locator("#terminal .xterm-rows > div").allTextContents();
  return rows.map((row) => row.replace(/\u00a0/g, " ").trimEnd());
}

async function waitForRow(page: Page, predicate: (row: string) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await screenRows(page)).some(predicate)) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; screen: ${JSON.stringify(await screenRows(page))}`);
    await page.waitForTimeout(50);
  }
}

test("sign in, create a session, type, reload, share read-only, delete", { skip }, async () => {
  const page = await signIn(TOKENS.alice);
  await page.waitForSelector("#template option[value=shell]", { state: "attached" });
  await page.fill("#new-name", "web1");
  await page.click("#create button[type=submit]");
  const row = page.locator("tr[data-session=web1]");
  await row.locator(".phase-Running").waitFor();

  await row.getByRole("button", { name: "Open" }).click();
  await page.locator("#term-role", { hasText: "read-write" }).waitFor();
  await page.locator("#term-state", { hasText: "live" }).waitFor();
  await waitForRow(page, (r) => /^[#$]$/.test(r), "the shell prompt");
  await page.locator("#terminal").click();
  await page.keyboard.type("echo hi\n");
  await waitForRow(page, (r) => r === "hi", "the output line hi");
  const before = await screenRows(page);

  await page.reload();
  await page.locator("#term-state", { hasText: "live" }).waitFor();
  await waitForRow(page, (r) => r === "hi", "hi after reload");
  assert.deepEqual(await screenRows(page), before, "the same screen after a reload");

  await page.click("#share");
  const link = await page.inputValue("#share-link");
  assert.match(link, /#\/view\/team\/web1$/);
  const viewer = await signIn(TOKENS.bob);
  await viewer.goto(link);
  await viewer.locator("#term-role", { hasText: "read-only" }).waitFor();
  await waitForRow(viewer, (r) => r === "hi", "hi on the viewer's screen");
  await viewer.locator("#terminal").click();
  await viewer.keyboard.type("echo VIEWER-TYPED\n");
  await page.locator("#terminal").click();
  await page.keyboard.type("echo after-$((40+2))\n");
  await waitForRow(viewer, (r) => r === "after-42", "the user's later output on the viewer's screen");
  for (const screen of [await screenRows(viewer), await screenRows(page)]) {
    assert.ok(!screen.some((r) => r.includes("VIEWER-TYPED")), "the viewer's keystrokes never reached the shell");
  }

  await page.goto(`${api.url}/ui/#/`);
  page.once("dialog", (dialog) => void dialog.accept());
  await page.locator("tr[data-session=web1]").getByRole("button", { name: "Delete" }).click();
  await page.locator("tr[data-session=web1]").waitFor({ state: "detached" });
  assert.equal(await api.store.getSession("team", "web1"), undefined);
});

test("a bad token stays on the sign-in form with a message", { skip }, async () => {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${api.url}/ui/`);
  await page.fill("#token", "wrong-token-wrong-token");
  await page.click("#sign-in button[type=submit]");
  await page.locator("#error", { hasText: "not accepted" }).waitFor();
  assert.equal(await page.locator("#sign-in").isVisible(), true);
});
