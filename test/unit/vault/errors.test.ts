import { test } from "node:test";
import assert from "node:assert/strict";
import { classifyVaultError, VaultProblem, type VaultOperation } from "../../../sidecar/vault/errors.js";

const read: VaultOperation = { kind: "read", path: "kv/data/agents/anthropic", key: "api_key" };
const login: VaultOperation = { kind: "login", method: "kubernetes", mount: "kubernetes" };

function apiError(statusCode: number, errors: string[] = []): Error {
  // The shape node-vault rejects with; its config would also hold the token, never copied.
  return Object.assign(new Error(errors[0] ?? `Status ${statusCode}`), {
    response: { statusCode, body: { errors } },
    config: { headers: { "X-Vault-Token": "hvs.SECRET-TOKEN" }, data: '{"jwt":"eyJSECRET"}' },
  });
}

function netError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:8200`), { code, config: { headers: { "X-Vault-Token": "hvs.SECRET-TOKEN" } } });
}

test("Vault errors: one mapping to a reason, a message a person can act on, and what to do next", () => {
  const cases: Array<[unknown, VaultOperation, { reason: string; retryable: boolean; relogin: boolean; message: RegExp }]> = [
    [apiError(403, ["1 error occurred:\n\t* permission denied\n\n"]), read, { reason: "PermissionDenied", retryable: false, relogin: true, message: /permission denied reading kv\/data\/agents\/anthropic.*policy/ }],
    [apiError(404), read, { reason: "PathMissing", retryable: false, relogin: false, message: /no secret at kv\/data\/agents\/anthropic/ }],
    [apiError(503, ["Vault is sealed"]), read, { reason: "Sealed", retryable: true, relogin: false, message: /sealed.*Vault said "Vault is sealed"/ }],
    [apiError(500, ["internal error"]), read, { reason: "Unavailable", retryable: true, relogin: false, message: /answered 500/ }],
    [apiError(429), read, { reason: "Unavailable", retryable: true, relogin: false, message: /answered 429/ }],
    [apiError(400, ["invalid request"]), read, { reason: "InvalidResponse", retryable: false, relogin: false, message: /answered 400/ }],
    [apiError(403, ["permission denied"]), login, { reason: "LoginFailed", retryable: false, relogin: false, message: /refused the login \(403\).*auth\/kubernetes.*role/ }],
    [apiError(400, ['invalid role name "x"']), login, { reason: "LoginFailed", retryable: false, relogin: false, message: /invalid role name/ }],
    [apiError(503), login, { reason: "Sealed", retryable: true, relogin: false, message: /sealed/ }],
    [netError("ECONNREFUSED"), read, { reason: "Unreachable", retryable: true, relogin: false, message: /unreachable \(ECONNREFUSED\).*vault\.address/ }],
    [netError("ENOTFOUND"), login, { reason: "Unreachable", retryable: true, relogin: false, message: /unreachable \(ENOTFOUND\) while logging in/ }],
    [netError("UNABLE_TO_VERIFY_LEAF_SIGNATURE"), read, { reason: "Unreachable", retryable: false, relogin: false, message: /TLS certificate.*vault\.caFile/ }],
    [netError("ERR_TLS_CERT_ALTNAME_INVALID"), read, { reason: "Unreachable", retryable: false, relogin: false, message: /TLS certificate/ }],
    [new Error("timeout of 10000ms exceeded"), read, { reason: "Unreachable", retryable: true, relogin: false, message: /unreachable \(timeout\)/ }],
    ["not even an error", read, { reason: "Unreachable", retryable: true, relogin: false, message: /no response/ }],
    [new VaultProblem({ reason: "KeyMissing", message: "no key", retryable: false, relogin: false }), read, { reason: "KeyMissing", retryable: false, relogin: false, message: /^no key$/ }],
  ];
  for (const [error, operation, expected] of cases) {
    const failure = classifyVaultError(error, operation);
    const label = `${JSON.stringify((error as { response?: unknown }).response ?? (error as { code?: unknown }).code ?? String(error))} ${operation.kind}`;
    assert.equal(failure.reason, expected.reason, label);
    assert.equal(failure.retryable, expected.retryable, label);
    assert.equal(failure.relogin, expected.relogin, label);
    assert.match(failure.message, expected.message, label);
    assert.ok(!failure.message.includes("SECRET"), `${label}: no token or JWT in the message`);
  }
});
