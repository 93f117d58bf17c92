import { test } from "node:test";
import assert from "node:assert/strict";
import { credentialsFromLog, shouldReadSidecarLog, unresolvedCondition, SIDECAR_GRACE_MS, SIDECAR_LOG_INTERVAL_MS, type SidecarCredentials, type UnresolvedCredential } from "../../../operator/sidecar-log.js";

const unresolved = (items: unknown[]): string => JSON.stringify({ level: 40, event: "credentials-unresolved", unresolved: items });
const resolved = JSON.stringify({ level: 30, event: "credentials-resolved" });
const denied: UnresolvedCredential = { credential: "anthropic", reason: "PermissionDenied", message: "403 on kv/data/agents/anthropic" };

const rows: { name: string; log: string; want: SidecarCredentials }[] = [
  { name: "no lines", log: "", want: { state: "unknown" } },
  { name: "only other log lines", log: `${JSON.stringify({ msg: "listening", port: 15001 })}\nplain text line\n`, want: { state: "unknown" } },
  { name: "unresolved", log: unresolved([denied]), want: { state: "unresolved", unresolved: [denied] } },
  { name: "resolved after unresolved", log: `${unresolved([denied])}\n${resolved}\n`, want: { state: "resolved" } },
  { name: "unresolved again after resolved: the latest wins", log: `${resolved}\n${unresolved([{ credential: "gh", reason: "Sealed", message: "" }])}`, want: { state: "unresolved", unresolved: [{ credential: "gh", reason: "Sealed", message: "" }] } },
  { name: "set changes: the latest set, not a union", log: `${unresolved([denied, { credential: "gh", reason: "PathMissing", message: "no kv/data/gh" }])}\n${unresolved([denied])}`, want: { state: "unresolved", unresolved: [denied] } },
  { name: "garbage lines around are skipped", log: `{not json\n${unresolved([denied])}\n{"event":"credentials-resolved"\n[1,2]\nnull`, want: { state: "unresolved", unresolved: [denied] } },
  { name: "an event with a malformed list is skipped", log: `${unresolved([denied])}\n${JSON.stringify({ event: "credentials-unresolved", unresolved: "all" })}`, want: { state: "unresolved", unresolved: [denied] } },
  { name: "an unknown reason reads as Unavailable", log: unresolved([{ credential: "a", reason: "Exploded", message: "m" }]), want: { state: "unresolved", unresolved: [{ credential: "a", reason: "Unavailable", message: "m" }] } },
  { name: "an empty unresolved list means resolved", log: unresolved([]), want: { state: "resolved" } },
  { name: "CRLF line ends", log: `${unresolved([denied])}\r\n`, want: { state: "unresolved", unresolved: [denied] } },
];

for (const row of rows) {
  test(`credentialsFromLog: ${row.name}`, () => assert.deepEqual(credentialsFromLog(row.log), row.want));
}

test("credentialsFromLog: long messages are cut so a status stays small", () => {
  const r = credentialsFromLog(unresolved([{ credential: "a", reason: "Unreachable", message: "x".repeat(5000) }]));
  assert.equal(r.state, "unresolved");
  assert.ok(r.state === "unresolved" && r.unresolved[0]!.message.length <= 300);
});

test("unresolvedCondition: the first reason, a message naming every credential", () => {
  const c = unresolvedCondition([denied, { credential: "gh", reason: "PathMissing", message: "" }]);
  assert.equal(c.reason, "PermissionDenied");
  assert.match(c.message, /credentials anthropic \(PermissionDenied: 403 on kv\/data\/agents\/anthropic\); gh \(PathMissing\)/);
});

const NOW = 1_000_000;
const reads: { name: string; o: Parameters<typeof shouldReadSidecarLog>[0]; want: boolean }[] = [
  { name: "sidecar started", o: { sidecarStarted: true, podCreatedMs: NOW - 60_000, lastReadMs: undefined, nowMs: NOW }, want: false },
  { name: "pod too young", o: { sidecarStarted: false, podCreatedMs: NOW - SIDECAR_GRACE_MS + 1, lastReadMs: undefined, nowMs: NOW }, want: false },
  { name: "pod creation time unknown", o: { sidecarStarted: false, podCreatedMs: undefined, lastReadMs: undefined, nowMs: NOW }, want: false },
  { name: "past the grace, never read", o: { sidecarStarted: false, podCreatedMs: NOW - SIDECAR_GRACE_MS, lastReadMs: undefined, nowMs: NOW }, want: true },
  { name: "read a moment ago", o: { sidecarStarted: false, podCreatedMs: NOW - 60_000, lastReadMs: NOW - 1_000, nowMs: NOW }, want: false },
  { name: "read an interval ago", o: { sidecarStarted: false, podCreatedMs: NOW - 60_000, lastReadMs: NOW - SIDECAR_LOG_INTERVAL_MS, nowMs: NOW }, want: true },
];
for (const row of reads) {
  test(`shouldReadSidecarLog: ${row.name}`, () => assert.equal(shouldReadSidecarLog(row.o), row.want));
}
