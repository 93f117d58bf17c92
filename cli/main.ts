#!/usr/bin/env node
// The agentbox command: parses the command line, connects, runs one command, exits with its code.
import { parseCommand, type Command } from "./args.js";
import { SessionApiClient } from "./client.js";
import { attachCommand } from "./commands/attach.js";
import { logsCommand } from "./commands/logs.js";
import { lsCommand } from "./commands/ls.js";
import { rmCommand } from "./commands/rm.js";
import { runCommand } from "./commands/run.js";
import { templatesCommand } from "./commands/templates.js";
import { connect, resolveSettings } from "./config.js";
import { CliError } from "./errors.js";
import { EXIT } from "./exit-codes.js";
import { HELP } from "./help.js";

async function execute(command: Command, interrupt: AbortSignal): Promise<number> {
  if (command.kind === "help") {
    process.stdout.write(`${HELP[command.topic] ?? HELP.main}\n`);
    return 0;
  }
  const client = new SessionApiClient(await connect(resolveSettings(command.global, process.env)));
  switch (command.kind) {
    case "run":
      return runCommand(command, { client, stdout: process.stdout, stderr: process.stderr, interrupt });
    case "attach":
      return attachCommand(client, command.name, { view: command.view, io: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }, interrupt });
    case "ls":
      return lsCommand(client, command.output, process.stdout, new Date());
    case "logs":
      return logsCommand(client, command.name, command.follow, process.stdout, interrupt);
    case "rm":
      return rmCommand(client, command.names, process.stdout, process.stderr);
    case "templates":
      return templatesCommand(client, command.output, process.stdout);
  }
}

async function main(): Promise<void> {
  const interrupt = new AbortController();
  // The first Ctrl-C lets `run` delete its session; a second one exits at once.
  process.on("SIGINT", () => {
    if (interrupt.signal.aborted) process.exit(EXIT.interrupted);
    interrupt.abort();
  });
  process.on("SIGTERM", () => interrupt.abort());
  // A reader that went away (`agentbox run ... | head`) must not stop `run` from waiting for
  // the agent's exit code and deleting the session: later output is dropped instead.
  process.stdout.on("error", () => undefined);
  let code: number;
  try {
    code = await execute(parseCommand(process.argv.slice(2)), interrupt.signal);
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`agentbox: ${err.message}\n`);
      code = err.exitCode;
    } else {
      process.stderr.write(`agentbox: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      code = EXIT.agentFailed;
    }
  }
  // Let stdout drain before exiting so piped output is not cut short.
  if (process.stdout.writable) process.stdout.write("", () => process.exit(code));
  else process.exit(code);
}

await main();
