import { test } from "node:test";
import assert from "node:assert/strict";
import { captureRules, DEFAULT_CAPTURE } from "../../../sidecar/capture.js";

const v4 = captureRules(DEFAULT_CAPTURE, 4).split("\n");
const v6 = captureRules(DEFAULT_CAPTURE, 6).split("\n");

/** Rules of a chain, in order. */
function chain(lines: string[], name: string): string[] {
  return lines.filter((line) => line.startsWith(`-A ${name} `)).map((line) => line.slice(`-A ${name} `.length));
}

test("nat: sidecar exempt first, DNS before the loopback exemption, 443 and 80 redirected", () => {
  assert.deepEqual(chain(v4, "AGENTBOX_OUTPUT"), [
    "-m owner --uid-owner 1337 -j RETURN",
    "-p udp --dport 53 -j REDIRECT --to-ports 15053",
    "-p tcp --dport 53 -j REDIRECT --to-ports 15053",
    "-o lo -j RETURN",
    "-p tcp --dport 443 -j REDIRECT --to-ports 15002",
    "-p tcp --dport 80 -j REDIRECT --to-ports 15003",
  ]);
  assert.ok(v4.includes("-A OUTPUT -j AGENTBOX_OUTPUT"));
});

test("filter: other TCP reset, everything else (UDP, QUIC, ICMP) dropped", () => {
  assert.deepEqual(chain(v4, "AGENTBOX_EGRESS"), [
    "-m conntrack --ctstate ESTABLISHED,RELATED --ctdir REPLY -j RETURN",
    "-m owner --uid-owner 1337 -j RETURN",
    "-o lo -j RETURN",
    "-m conntrack --ctstate DNAT -j RETURN",
    "-p tcp -j REJECT --reject-with tcp-reset",
    "-j DROP",
  ]);
});

test("IPv6 keeps neighbour discovery and otherwise matches IPv4", () => {
  const rules = chain(v6, "AGENTBOX_EGRESS");
  assert.equal(rules.at(-1), "-j DROP");
  assert.ok(rules.some((rule) => rule.includes("neighbour-solicitation")));
  assert.ok(!rules.some((rule) => rule.includes("echo-request")));
  assert.deepEqual(chain(v6, "AGENTBOX_OUTPUT"), chain(v4, "AGENTBOX_OUTPUT"));
});

test("ports and uid come from the options; each table is committed", () => {
  const custom = captureRules({ sidecarUid: 2000, tlsPort: 1, httpPort: 2, dnsPort: 3 }, 4);
  assert.match(custom, /--uid-owner 2000 -j RETURN/);
  assert.match(custom, /--dport 443 -j REDIRECT --to-ports 1\n/);
  assert.match(custom, /--dport 80 -j REDIRECT --to-ports 2\n/);
  assert.equal(custom.match(/^COMMIT$/gm)?.length, 2);
});
