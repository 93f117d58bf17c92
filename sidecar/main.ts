// Entry point of the sidecar container:
//   node /app/dist/sidecar/main.js --config /etc/agentbox/sidecar/config.json
import { watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import pino from "pino";
import { DEFAULT_DNS_PORT, loadSidecarConfig, parseSidecarConfig, readCommandLine, startupOptionsHelp, type StartupOptions } from "./config.js";
import { DnsResponder } from "./dns.js";
import { Sidecar, type SidecarOptions } from "./sidecar.js";
import { parseHostsFile, staticResolver, type StaticEntry } from "./static-resolver.js";
import { createLogger, BatchedDestination } from "./telemetry.js";
import { systemResolver } from "./upstream.js";
import type { RunningSidecar } from "./vault/attach.js";

const USAGE = `agentbox sidecar: the egress proxy of an agent pod.

Usage: node sidecar/main.js --config <file> [options]

${startupOptionsHelp()}

Port 0 picks a free port. Once listening, the bound ports are printed as one JSON line on
stdout: {"ports":{"explicit":…,"transparentTls":…,"transparentHttp":…,"admin":…,"dns":{"udp":…,"tcp":…}}}
(without the transparent listeners and dns under --explicit-only).
The CA certificate is written to <caDir>/ca.crt; its key never leaves memory.
Invalid options exit with status 2.
`;

/** The static entries of --resolve, then of the --hosts file. */
async function staticEntries(options: StartupOptions): Promise<StaticEntry[]> {
  if (options.hosts === undefined) return options.resolve;
  let text: string;
  try {
    text = await readFile(options.hosts, "utf8");
  } catch (cause) {
    throw new Error(`cannot read the hosts file ${options.hosts}`, { cause });
  }
  return [...options.resolve, ...parseHostsFile(text, options.hosts)];
}

/** The command line and the files it names, or exit 2 with what to fix (exit 1 stays for failures at run time). */
async function startupOptions(): Promise<{ options: StartupOptions; entries: StaticEntry[] }> {
  try {
    const options = readCommandLine(process.argv.slice(2));
    if (options === "help") {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    return { options, entries: await staticEntries(options) };
  } catch (error) {
    process.stderr.write(`agentbox sidecar: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
}

async function main(): Promise<void> {
  const { options, entries } = await startupOptions();
  const configPath = options.config;
  // Synchronous writes to stdout, batched (at most 50 ms late, flushed on exit): pino's default
  // destination is asynchronous, which costs a thread-pool hop and two wake-ups per audit
  // record (~0.2 ms of CPU per credentialed request in bench:sidecar) and can lose the last
  // records when the process is killed; a write per record costs a system call and a wake-up
  // of the log reader each.
  const stdout = new BatchedDestination(pino.destination({ dest: 1, sync: true }));
  const logger = createLogger(stdout);
  const config = await loadSidecarConfig(configPath);
  const resolver = entries.length === 0 ? systemResolver : staticResolver(entries, systemResolver);
  const transparent = !options["explicit-only"];
  const running = await start({
    config,
    logger,
    resolver,
    listen: {
      explicit: options.explicit,
      transparentTls: transparent && options["transparent-tls"],
      transparentHttp: transparent && options["transparent-http"],
      admin: options.admin,
    },
  });
  const { sidecar } = running;
  await sidecar.listen();
  const dns = new DnsResponder({ policy: () => sidecar.policy, resolver, logger });
  if (!transparent) {
    // Only captured DNS comes here; without a capture there is none.
  } else if (options.dns !== undefined) {
    await dns.listen(options.dns);
  } else {
    await dns.listen({ host: "127.0.0.1", port: DEFAULT_DNS_PORT });
    // The IPv6 redirect target, where the namespace has IPv6 loopback at all.
    await dns.listen({ host: "::1", port: DEFAULT_DNS_PORT }).catch(() => undefined);
  }
  logger.info({ addresses: sidecar.addresses, credentials: config.credentials.map((credential) => credential.name) }, "sidecar ready");
  // Through the log's destination, so the line never lands inside a batch of log lines.
  stdout.write(`${JSON.stringify({ ports: boundPorts(sidecar, transparent ? dns : undefined) })}\n`);
  stdout.flush();
  watchConfig(configPath, running, logger);
  const stop = (): void => {
    logger.info("shutting down");
    void Promise.all([running.close(), dns.close()]).then(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

/** What a caller that started the sidecar with port 0 needs to reach it. */
function boundPorts(sidecar: Sidecar, dns: DnsResponder | undefined): Record<string, unknown> {
  const ports: Record<string, unknown> = {};
  for (const [name, address] of Object.entries(sidecar.addresses)) ports[name] = address.port;
  if (dns !== undefined) ports.dns = { udp: dns.udpPort, tcp: dns.tcpPort };
  return ports;
}

/**
 * Creates the sidecar; node-vault and its dependencies (~19 MB of resident memory) are loaded
 * only when the configuration names Vault.
 */
async function start(options: SidecarOptions): Promise<Pick<RunningSidecar, "sidecar" | "reload" | "close">> {
  if (options.config.vault === undefined) {
    const sidecar = await Sidecar.create(options);
    return { sidecar, reload: (next) => sidecar.reload(next), close: () => sidecar.close() };
  }
  const { createSidecar } = await import("./vault/attach.js");
  return createSidecar(options);
}

/** Reloads when the file's content changes; Kubernetes swaps a ConfigMap by renaming a symlink in its directory. */
function watchConfig(path: string, sidecar: Pick<Sidecar, "reload">, logger: ReturnType<typeof createLogger>): void {
  let last: string | undefined;
  let pending: NodeJS.Timeout | undefined;
  const check = async (): Promise<void> => {
    const text = await readFile(path, "utf8");
    if (text === last) return;
    const config = parseSidecarConfig(JSON.parse(text) as unknown, `sidecar config ${path}`);
    await sidecar.reload(config);
    last = text;
  };
  void readFile(path, "utf8").then((text) => (last = text), () => undefined);
  watch(dirname(path), () => {
    // Coalesce the burst of events one update produces.
    clearTimeout(pending);
    pending = setTimeout(() => {
      check().catch((error: unknown) => logger.error({ err: error instanceof Error ? error.message : String(error) }, "configuration reload failed; keeping the previous one"));
    }, 200);
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`agentbox sidecar: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
