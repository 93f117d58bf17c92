// Entry point of the sidecar container:
//   node /app/dist/sidecar/main.js --config /etc/agentbox/sidecar/config.json
import { watch } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { parseArgs } from "node:util";
import pino from "pino";
import { loadSidecarConfig, parseSidecarConfig } from "./config.js";
import { parseAuthority } from "./destination.js";
import { DnsResponder } from "./dns.js";
import { DEFAULT_LISTEN, Sidecar, type ListenAddress, type SidecarOptions } from "./sidecar.js";
import { createLogger, BatchedDestination } from "./telemetry.js";
import { systemResolver } from "./upstream.js";
import type { RunningSidecar } from "./vault/attach.js";

const HELP = `agentbox sidecar: the egress proxy of an agent pod.

Usage: node sidecar/main.js --config <file> [options]

  --config <file>            sidecar configuration (JSON, see sidecar/config.ts); reloaded on change
  --explicit <host:port>     explicit HTTP proxy (CONNECT + absolute-form)   [${show(DEFAULT_LISTEN.explicit)}]
  --transparent-tls <h:p>    captured TLS (destination from SNI)             [${show(DEFAULT_LISTEN.transparentTls)}]
  --transparent-http <h:p>   captured plain HTTP (destination from Host)     [${show(DEFAULT_LISTEN.transparentHttp)}]
  --dns <host:port>          DNS responder, UDP and TCP                      [127.0.0.1:15053 and [::1]:15053]
  --admin <host:port>        /healthz, /readyz, /metrics                     [${show(DEFAULT_LISTEN.admin)}]
  --help                     this text

The CA certificate is written to <caDir>/ca.crt; its key never leaves memory.
`;

const DNS_LISTEN = { host: "127.0.0.1", port: 15053 };

function show(address: ListenAddress): string {
  return `${address.host}:${address.port}`;
}

function listenAddress(flag: string, value: string | undefined, fallback: ListenAddress): ListenAddress {
  if (value === undefined) return fallback;
  const authority = parseAuthority(value);
  if (authority?.port === undefined) throw new Error(`--${flag} must be host:port, got "${value}"`);
  return { host: authority.host, port: authority.port };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      config: { type: "string" },
      explicit: { type: "string" },
      "transparent-tls": { type: "string" },
      "transparent-http": { type: "string" },
      dns: { type: "string" },
      admin: { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    return;
  }
  if (values.config === undefined) throw new Error("--config <file> is required (see --help)");
  const configPath = values.config;
  // Synchronous writes to stdout, batched (at most 50 ms late, flushed on exit): pino's default
  // destination is asynchronous, which costs a thread-pool hop and two wake-ups per audit
  // record (~0.2 ms of CPU per credentialed request in bench:sidecar) and can lose the last
  // records when the process is killed; a write per record costs a system call and a wake-up
  // of the log reader each.
  const logger = createLogger(new BatchedDestination(pino.destination({ dest: 1, sync: true })));
  const config = await loadSidecarConfig(configPath);
  const running = await start({
    config,
    logger,
    listen: {
      explicit: listenAddress("explicit", values.explicit, DEFAULT_LISTEN.explicit),
      transparentTls: listenAddress("transparent-tls", values["transparent-tls"], DEFAULT_LISTEN.transparentTls),
      transparentHttp: listenAddress("transparent-http", values["transparent-http"], DEFAULT_LISTEN.transparentHttp),
      admin: listenAddress("admin", values.admin, DEFAULT_LISTEN.admin),
    },
  });
  const { sidecar } = running;
  await sidecar.listen();
  const dns = new DnsResponder({ policy: () => sidecar.policy, resolver: systemResolver, logger });
  if (values.dns !== undefined) {
    await dns.listen(listenAddress("dns", values.dns, DNS_LISTEN));
  } else {
    await dns.listen(DNS_LISTEN);
    // The IPv6 redirect target, where the namespace has IPv6 loopback at all.
    await dns.listen({ host: "::1", port: DNS_LISTEN.port }).catch(() => undefined);
  }
  logger.info({ addresses: sidecar.addresses, credentials: config.credentials.map((credential) => credential.name) }, "sidecar ready");
  watchConfig(configPath, running, logger);
  const stop = (): void => {
    logger.info("shutting down");
    void Promise.all([running.close(), dns.close()]).then(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
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
