// Entry point of the egress-capture init container (needs NET_ADMIN, exits when done):
//   node /app/dist/sidecar/capture-main.js
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { captureRules, DEFAULT_CAPTURE, type CaptureOptions } from "./capture.js";

const HELP = `agentbox egress capture: installs the pod's iptables/ip6tables rules, then exits.

  --sidecar-uid <uid>   uid whose traffic is not captured   [${DEFAULT_CAPTURE.sidecarUid}]
  --tls-port <port>     transparent TLS listener            [${DEFAULT_CAPTURE.tlsPort}]
  --http-port <port>    transparent HTTP listener           [${DEFAULT_CAPTURE.httpPort}]
  --dns-port <port>     DNS responder (UDP and TCP)         [${DEFAULT_CAPTURE.dnsPort}]
  --admin-port <port>   sidecar admin port (probes)         [${DEFAULT_CAPTURE.adminPort}]
  --print               print the rules instead of applying them
  --help                this text
`;

function port(flag: string, value: string | undefined, fallback: number, max = 65535): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > max) throw new Error(`--${flag} must be an integer from 0 to ${max}, got "${value}"`);
  return number;
}

/** True when the namespace has IPv6 on an interface other than loopback. */
function hasIpv6(): boolean {
  if (!existsSync("/proc/net/if_inet6")) return false;
  return readFileSync("/proc/net/if_inet6", "utf8")
    .split("\n")
    .some((line) => line.trim() !== "" && !line.trim().endsWith(" lo"));
}

function apply(command: string, rules: string): void {
  const result = spawnSync(command, ["-w", "5"], { input: rules, encoding: "utf8" });
  if (result.error !== undefined) throw new Error(`cannot run ${command}: is it installed?`, { cause: result.error });
  if (result.status !== 0) throw new Error(`${command} failed (exit ${String(result.status)}): ${result.stderr.trim()}`);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      "sidecar-uid": { type: "string" },
      "tls-port": { type: "string" },
      "http-port": { type: "string" },
      "dns-port": { type: "string" },
      "admin-port": { type: "string" },
      print: { type: "boolean" },
      help: { type: "boolean" },
    },
    strict: true,
  });
  if (values.help === true) {
    process.stdout.write(HELP);
    return;
  }
  const options: CaptureOptions = {
    sidecarUid: port("sidecar-uid", values["sidecar-uid"], DEFAULT_CAPTURE.sidecarUid, 2 ** 31 - 1),
    tlsPort: port("tls-port", values["tls-port"], DEFAULT_CAPTURE.tlsPort),
    httpPort: port("http-port", values["http-port"], DEFAULT_CAPTURE.httpPort),
    dnsPort: port("dns-port", values["dns-port"], DEFAULT_CAPTURE.dnsPort),
    adminPort: port("admin-port", values["admin-port"], DEFAULT_CAPTURE.adminPort),
  };
  if (values.print === true) {
    process.stdout.write(`# iptables\n${captureRules(options, 4)}# ip6tables\n${captureRules(options, 6)}`);
    return;
  }
  apply("iptables-restore", captureRules(options, 4));
  // IPv6 left open would be a way around the sidecar: it must be captured wherever it is up.
  if (hasIpv6()) apply("ip6tables-restore", captureRules(options, 6));
  process.stdout.write(`egress capture installed (sidecar uid ${options.sidecarUid}${hasIpv6() ? ", IPv4 and IPv6" : ", IPv4"})\n`);
}

try {
  main();
} catch (error) {
  process.stderr.write(`agentbox egress capture: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
