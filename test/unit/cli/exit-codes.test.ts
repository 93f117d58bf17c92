import { test } from "node:test";
import assert from "node:assert/strict";
import { EXIT, exitCodeForSession, exitCodeForStatus } from "../../../cli/exit-codes.js";

test("exitCodeForSession: the agent's code when known, else why it did not finish", () => {
  const cases: [string, { phase: string; exitCode?: number }, number][] = [
    ["succeeded", { phase: "Succeeded", exitCode: 0 }, 0],
    ["failed with 7", { phase: "Failed", exitCode: 7 }, 7],
    ["failed with 3", { phase: "Failed", exitCode: 3 }, 3],
    ["succeeded without a code", { phase: "Succeeded" }, 0],
    ["failed without a code (pod removed)", { phase: "Failed" }, EXIT.agentFailed],
    ["expired", { phase: "Expired" }, EXIT.timeout],
    ["killed by a signal (137)", { phase: "Failed", exitCode: 137 }, 137],
    ["negative code (signal number)", { phase: "Failed", exitCode: -9 }, 137],
    ["code beyond a byte", { phase: "Failed", exitCode: 1000 }, EXIT.agentFailed],
  ];
  for (const [name, session, code] of cases) assert.equal(exitCodeForSession(session), code, name);
});

test("exitCodeForStatus", () => {
  const cases: [number, number][] = [[401, EXIT.denied], [403, EXIT.denied], [404, EXIT.notFound], [400, EXIT.badRequest], [409, EXIT.badRequest], [422, EXIT.badRequest], [500, EXIT.unavailable], [503, EXIT.unavailable]];
  for (const [status, code] of cases) assert.equal(exitCodeForStatus(status), code, String(status));
});

test("the CLI's own codes are distinct", () => {
  const codes = Object.values(EXIT);
  assert.equal(new Set(codes).size, codes.length);
});

test("connectionHint says what to fix for each kind of connection failure", async () => {
  const { connectionHint } = await import("../../../cli/client.js");
  const cases: [string, RegExp][] = [
    ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", /--ca-file/],
    ["SELF_SIGNED_CERT_IN_CHAIN", /--ca-file/],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", /--ca-file/],
    ["UNABLE_TO_GET_ISSUER_CERT_LOCALLY", /--ca-file/],
    ["ERR_TLS_CERT_ALTNAME_INVALID", /does not name this host/],
    ["CERT_HAS_EXPIRED", /expired/],
    ["ENOTFOUND", /does not resolve/],
    ["ECONNREFUSED", /session API running/],
    ["", /session API running/],
  ];
  for (const [code, hint] of cases) assert.match(connectionHint(code), hint, code);
});
