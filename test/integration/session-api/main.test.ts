import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

test("main: --dev-fake serves the API on loopback and shuts down cleanly on SIGTERM", async () => {
  const dir = mkdtempSync(join(tmpdir(), "agentbox-main-"));
  const tokens = join(dir, "tokens");
  writeFileSync(tokens, "dev-token-0123456789abcdef,dev\n");
  const child = spawn(process.execPath, ["--import", "tsx", "session-api/main.ts", "--dev-fake", `--static-token-file=${tokens}`, "--host=127.0.0.1", "--port=0"], {
    env: { ...process.env, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout });
  let url: string | undefined;
  for await (const line of lines) {
    const entry = JSON.parse(line) as { msg?: string; url?: string };
    if (entry.msg === "session API listening") {
      url = entry.url;
      break;
    }
  }
  assert.ok(url, "the server logged where it listens");
  const whoami = await fetch(`${url}/api/v1/whoami`, { headers: { authorization: "Bearer dev-token-0123456789abcdef" } });
  assert.deepEqual(await whoami.json(), { username: "dev", groups: [] });
  const created = await fetch(`${url}/api/v1/namespaces/default/sessions`, {
    method: "POST",
    headers: { authorization: "Bearer dev-token-0123456789abcdef", "content-type": "application/json" },
    body: JSON.stringify({ template: "shell", name: "dev1" }),
  });
  assert.equal(created.status, 201);
  assert.equal((await fetch(`${url}/api/v1/whoami`)).status, 401);
  child.kill("SIGTERM");
  assert.equal(await exited, 0);
});
