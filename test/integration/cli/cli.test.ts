// The agentbox CLI as a real process against the real session API on loopback (fake store and
// authorizer, FAKE operator running agents as local processes, local PTY terminals).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { EXIT } from "../../../cli/exit-codes.js";
import { agentbox, NAMESPACE, startPlatform, TOKENS, until, type TestPlatform } from "./harness.js";

let api: TestPlatform;
before(async () => {
  api = await startPlatform();
});
after(async () => {
  await api.close();
});

const exists = async (name: string): Promise<boolean> => (await api.store.getSession(NAMESPACE, name)) !== undefined;

describe("agentbox run", () => {
  test("exit 0: streams the output, reports progress, deletes the session", async () => {
    const cli = agentbox(api, ["run", "-t", "shell-batch", "--name", "ok-run", "-e", "GREETING=hello", "--", "sh", "-c", 'echo "$GREETING from the agent"; echo to-stderr >&2']);
    assert.equal(await cli.exit, 0, cli.stderr());
    assert.match(cli.stdout(), /hello from the agent\n/);
    assert.match(cli.stdout(), /to-stderr/);
    assert.match(cli.stderr(), /created session ok-run in namespace team/);
    assert.match(cli.stderr(), /Starting: waiting for the agent container to start/);
    assert.match(cli.stderr(), /Succeeded with exit code 0/);
    assert.match(cli.stderr(), /deleted session ok-run/);
    assert.equal(await exists("ok-run"), false);
  });

  test("run returns only once a slow (foreground) deletion has finished", async () => {
    api.store.slowDeletes.set("slow-delete", 1500);
    const cli = agentbox(api, ["run", "-t", "shell-batch", "--name", "slow-delete", "--", "true"]);
    assert.equal(await cli.exit, 0, cli.stderr());
    assert.equal(await exists("slow-delete"), false);
    assert.match(cli.stderr(), /deleted session slow-delete/);
  });

  test("exit 7: the CLI exits 7 and the session is gone", async () => {
    const cli = agentbox(api, ["run", "-t", "shell-batch", "--name", "seven", "--", "sh", "-c", "echo about to fail; exit 7"]);
    assert.equal(await cli.exit, 7, cli.stderr());
    assert.match(cli.stdout(), /about to fail/);
    assert.match(cli.stderr(), /Failed with exit code 7/);
    assert.equal(await exists("seven"), false);
  });

  test("output that arrives while the agent runs is printed before it ends", async () => {
    const cli = agentbox(api, ["run", "-t", "shell-batch", "--name", "streaming", "--", "sh", "-c", "echo first; sleep 30; echo never"]);
    await until("the first line on the CLI's stdout", () => cli.stdout().includes("first\n"));
    assert.equal(cli.stdout().includes("never"), false);
    cli.child.kill("SIGINT");
    assert.equal(await cli.exit, EXIT.interrupted);
    assert.match(cli.stderr(), /interrupted; session streaming did not finish/);
    assert.equal(await exists("streaming"), false, "Ctrl-C still deletes the session");
  });

  test("a reader that goes away (| head) does not stop run from exiting with the agent's code and cleaning up", async () => {
    const cli = agentbox(api, ["run", "-t", "shell-batch", "--name", "piped", "--", "sh", "-c", "echo first; sleep 1; i=0; while [ $i -lt 2000 ]; do echo line $i; i=$((i+1)); done; exit 4"]);
    await until("the first line", () => cli.stdout().includes("first"));
    cli.child.stdout!.destroy();
    assert.equal(await cli.exit, 4, cli.stderr());
    assert.match(cli.stderr(), /deleted session piped/);
    assert.equal(await exists("piped"), false);
  });

  test("--keep keeps the finished session; logs and ls show it; rm deletes it", async () => {
    const run = agentbox(api, ["run", "-t", "shell-batch", "--name", "kept", "--keep", "-q", "--", "sh", "-c", "echo kept output; exit 3"]);
    assert.equal(await run.exit, 3);
    assert.equal(run.stderr(), "", "--quiet prints no progress");
    assert.equal(await exists("kept"), true);

    const logs = agentbox(api, ["logs", "kept"]);
    assert.equal(await logs.exit, 0, logs.stderr());
    assert.equal(logs.stdout(), "kept output\n");

    const ls = agentbox(api, ["ls"]);
    assert.equal(await ls.exit, 0, ls.stderr());
    assert.match(ls.stdout(), /^NAME\s+PHASE\s+MODE\s+TEMPLATE\/IMAGE\s+EXIT\s+AGE\n/);
    assert.match(ls.stdout(), /\nkept\s+Failed\s+Batch\s+shell-batch\s+3\s+\d+s\n/);

    const json = agentbox(api, ["ls", "-o", "json"]);
    assert.equal(await json.exit, 0);
    const items = (JSON.parse(json.stdout()) as { items: { metadata: { name: string }; status: { exitCode?: number } }[] }).items;
    assert.equal(items.find((s) => s.metadata.name === "kept")?.status.exitCode, 3);

    const rm = agentbox(api, ["rm", "kept"]);
    assert.equal(await rm.exit, 0, rm.stderr());
    assert.equal(rm.stdout(), "deleted kept\n");
    assert.equal(await exists("kept"), false);
    const again = agentbox(api, ["rm", "kept"]);
    assert.equal(await again.exit, EXIT.notFound);
    assert.match(again.stderr(), /no session kept in namespace team/);
  });

  test("--timeout ends the wait with 124 and deletes the session", async () => {
    const cli = agentbox(api, ["run", "-t", "shell-batch", "--name", "slow", "--timeout", "2s", "--", "sh", "-c", "echo started; sleep 30"]);
    assert.equal(await cli.exit, EXIT.timeout, cli.stderr());
    assert.match(cli.stderr(), /--timeout 2s passed; session slow did not finish/);
    assert.equal(await exists("slow"), false);
  });

  test("a session that cannot start exits 125 with the server's reason", async () => {
    const missing = agentbox(api, ["run", "-t", "no-such-template", "--", "true"]);
    assert.equal(await missing.exit, EXIT.startFailed);
    assert.match(missing.stderr(), /template no-such-template does not exist in namespace team/);
    const locked = agentbox(api, ["run", "-t", "locked-command", "--", "sh", "-c", "true"]);
    assert.equal(await locked.exit, EXIT.startFailed);
    assert.match(locked.stderr(), /locks agent.command/);
  });
});

describe("errors a person can act on", () => {
  test("no token → 78 naming AGENTBOX_TOKEN; a refused token → 77; no role → 77 naming the role", async () => {
    const none = agentbox(api, ["ls"], { token: null });
    assert.equal(await none.exit, EXIT.config);
    assert.match(none.stderr(), /set AGENTBOX_TOKEN or pass --token-file/);
    const bad = agentbox(api, ["ls"], { token: "not-a-valid-token-at-all" });
    assert.equal(await bad.exit, EXIT.denied);
    assert.match(bad.stderr(), /check AGENTBOX_TOKEN/);
    const mallory = agentbox(api, ["run", "-t", "shell-batch", "--", "true"], { token: TOKENS.mallory });
    assert.equal(await mallory.exit, EXIT.denied);
    assert.match(mallory.stderr(), /mallory may not create agentsessions in namespace team.*agentbox-agent-user/);
    assert.doesNotMatch(mallory.stderr() + bad.stderr(), /token-0123456789abcdef|not-a-valid-token/, "tokens never appear in errors");
  });

  test("an unreachable server → 69", async () => {
    const cli = agentbox({ url: "http://127.0.0.1:9" }, ["ls"]);
    assert.equal(await cli.exit, EXIT.unavailable);
    assert.match(cli.stderr(), /cannot reach the session API at http:\/\/127.0.0.1:9 \(ECONNREFUSED\)/);
  });

  test("templates lists names, images, modes and locks", async () => {
    const cli = agentbox(api, ["templates"]);
    assert.equal(await cli.exit, 0, cli.stderr());
    assert.match(cli.stdout(), /shell-batch\s+agentbox\/agent-shell:dev\s+Batch\s+-\s+agent.image\n/);
    assert.match(cli.stdout(), /locked-command\s+.*agent.image,agent.command/);
  });
});

describe("agentbox attach", () => {
  const interactive = async (name: string): Promise<void> => {
    await api.store.createSession(NAMESPACE, { name, spec: { agent: { image: "agentbox/agent-shell:dev" }, lifecycle: { mode: "Interactive" } } });
    api.store.setPhase(NAMESPACE, name, "Running");
  };

  test("types into the agent's terminal, sees its output, detaches with Ctrl-]", async () => {
    await interactive("shell-1");
    const cli = agentbox(api, ["attach", "shell-1"]);
    await until("the attached banner", () => cli.stderr().includes("attached; detach with Ctrl-]"));
    cli.child.stdin!.write("echo attach-$((6*7))\n");
    await until("the shell's answer", () => cli.stdout().includes("attach-42"));
    cli.child.stdin!.write("\x1d");
    assert.equal(await cli.exit, 0, cli.stderr());
    assert.match(cli.stderr(), /detached from shell-1; it keeps running/);
    assert.equal(await exists("shell-1"), true);
  });

  test("a reconnecting viewer first gets the screen as it is", async () => {
    const cli = agentbox(api, ["attach", "shell-1"]);
    await until("the earlier output in the snapshot", () => cli.stdout().includes("attach-42"));
    cli.child.stdin!.write("\x1d");
    assert.equal(await cli.exit, 0);
  });

  test("a viewer is told it is read-only; without a terminal, Ctrl-C (SIGINT) detaches", async () => {
    const cli = agentbox(api, ["attach", "shell-1"], { token: TOKENS.bob });
    await until("the read-only note", () => cli.stderr().includes("read-only"));
    cli.child.kill("SIGINT");
    assert.equal(await cli.exit, 0);
    assert.match(cli.stderr(), /detached from shell-1/);
  });

  test("exits with the agent's code when it ends", async () => {
    await interactive("shell-2");
    const cli = agentbox(api, ["attach", "shell-2"]);
    await until("the attached banner", () => cli.stderr().includes("attached"));
    // Once the session has finished the API does not re-attach a new shell.
    api.store.setPhase(NAMESPACE, "shell-2", "Succeeded");
    cli.child.stdin!.write("exit 5\n");
    assert.equal(await cli.exit, 5, cli.stderr());
    assert.match(cli.stderr(), /the agent ended with exit code 5/);
  });

  test("refusals: no such session, no permission", async () => {
    const missing = agentbox(api, ["attach", "nope"]);
    assert.equal(await missing.exit, EXIT.notFound);
    assert.match(missing.stderr(), /cannot attach \(HTTP 404\)/);
    const mallory = agentbox(api, ["attach", "shell-1"], { token: TOKENS.mallory });
    assert.equal(await mallory.exit, EXIT.denied);
    assert.match(mallory.stderr(), /HTTP 403/);
  });
});
