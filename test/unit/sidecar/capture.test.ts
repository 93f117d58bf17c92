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
    "-p tcp --sport 15021 --tcp-flags SYN SYN -m conntrack --ctdir REPLY -m owner ! --uid-owner 1337 -j DROP",
    "-p tcp --sport 15021 -m conntrack --ctstate ESTABLISHED --ctdir REPLY -j RETURN",
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
  const custom = captureRules({ sidecarUid: 2000, tlsPort: 1, httpPort: 2, dnsPort: 3, adminPort: 4 }, 4);
  assert.match(custom, /--uid-owner 2000 -j RETURN/);
  assert.match(custom, /--dport 443 -j REDIRECT --to-ports 1\n/);
  assert.match(custom, /--dport 80 -j REDIRECT --to-ports 2\n/);
  assert.match(custom, /--sport 4 -m conntrack --ctstate ESTABLISHED --ctdir REPLY -j RETURN\n/);
  assert.match(custom, /--sport 4 --tcp-flags SYN SYN -m conntrack --ctdir REPLY -m owner ! --uid-owner 2000 -j DROP\n/);
  assert.equal(custom.match(/^COMMIT$/gm)?.length, 2);
});

// Issue #14, item 3: which replies to a connection opened from outside the pod may leave.
// [what, the rule that would let it out (undefined: it falls through to the reset/drop)]
const replies: Array<[string, (rule: string) => boolean]> = [
  ["any reply by conntrack state alone, whatever its port", (rule) => /--ctstate [A-Z,]*ESTABLISHED/.test(rule) && !/--sport/.test(rule) && rule.endsWith("-j RETURN")],
  ["RELATED packets (ICMP errors, helpers) on inbound connections", (rule) => /RELATED/.test(rule)],
  ["UDP replies by conntrack state", (rule) => /-p udp/.test(rule) && /--ctstate/.test(rule) && rule.endsWith("-j RETURN")],
];

for (const family of [4, 6] as const) {
  for (const [what, letsOut] of replies) {
    test(`IPv${family} filter: no exemption for ${what}`, () => {
      const rules = chain(family === 4 ? v4 : v6, "AGENTBOX_EGRESS");
      assert.deepEqual(rules.filter(letsOut), []);
    });
  }

  test(`IPv${family} filter: the admin port's SYN-ACK from anyone but the sidecar is dropped before its replies are let out`, () => {
    const rules = chain(family === 4 ? v4 : v6, "AGENTBOX_EGRESS");
    const guard = rules.findIndex((rule) => rule.includes("--sport 15021 --tcp-flags SYN SYN") && rule.includes("! --uid-owner 1337") && rule.endsWith("-j DROP"));
    const exemption = rules.findIndex((rule) => rule.includes("--sport 15021") && rule.includes("--ctdir REPLY") && rule.endsWith("-j RETURN"));
    assert.ok(guard >= 0 && exemption > guard, rules.join("\n"));
  });
}
