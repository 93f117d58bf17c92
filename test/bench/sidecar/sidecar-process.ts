// The sidecar as the benchmark runs it: the real Sidecar in its own process, with a named
// bench resolver (bench names → 127.0.0.1) in place of DNS. Prints its addresses.
import pino from "pino";
import { loadSidecarConfig } from "../../../sidecar/config.js";
import { Sidecar } from "../../../sidecar/sidecar.js";
import { createLogger, BatchedDestination } from "../../../sidecar/telemetry.js";
import type { Resolver } from "../../../sidecar/upstream.js";

const benchResolver: Resolver = async (host) => {
  if (host === "localhost" || host.endsWith(".bench.test")) return [{ address: "127.0.0.1", family: 4 }];
  throw Object.assign(new Error(`bench resolver: ${host} is unknown`), { code: "ENOTFOUND" });
};

const configPath = process.argv[2];
if (configPath === undefined) throw new Error("usage: sidecar-process.js <config.json>");
const config = await loadSidecarConfig(configPath);
const any = { host: "127.0.0.1", port: 0 };
const sidecar = await Sidecar.create({
  config,
  resolver: benchResolver,
  // Audit records go to a file: a pipe to the benchmark process would couple the two loops.
  // Written as sidecar/main.ts writes them to stdout: synchronously, in batches.
  logger: createLogger(new BatchedDestination(pino.destination({ dest: `${configPath}.log`, sync: true }))),
  listen: { explicit: any, transparentTls: false, transparentHttp: false, admin: any },
});
await sidecar.listen();
process.stdout.write(`${JSON.stringify({ explicit: sidecar.addresses.explicit?.port, admin: sidecar.addresses.admin?.port })}\n`);
process.once("SIGTERM", () => {
  void sidecar.close().then(() => process.exit(0));
});
