import { test } from "node:test";
import assert from "node:assert/strict";
import { terminalRole, watchRightMatters, type TerminalAccessInput } from "../../../session-api/auth/terminal-access.js";
import { originAllowed } from "../../../session-api/ws/origin.js";

test("terminalRole combines RBAC with the session's access lists", () => {
  const base: TerminalAccessInput = { username: "ann", rbacCreate: true, rbacGet: true, wantsReadOnly: false };
  const cases: Array<[Partial<TerminalAccessInput>, string | undefined]> = [
    [{}, "rw"],
    [{ wantsReadOnly: true }, "ro"],
    [{ rbacCreate: false }, "ro"],
    [{ rbacCreate: false, rbacGet: false }, undefined],
    [{ access: { users: [], viewers: [] } }, "rw"], // empty lists: RBAC alone
    [{ access: { users: ["ann"] } }, "rw"],
    [{ access: { users: ["bo"], viewers: ["ann"] } }, "ro"],
    [{ access: { users: ["bo"] } }, undefined],
    [{ access: { viewers: ["ann"] }, rbacGet: false, rbacCreate: false }, undefined], // lists never widen RBAC
    [{ access: { users: ["ann"] }, rbacCreate: false }, "ro"],
  ];
  for (const [override, want] of cases) assert.equal(terminalRole({ ...base, ...override }), want, JSON.stringify(override));
});

test("originAllowed", () => {
  const cases: Array<[string | undefined, string | undefined, string[], boolean]> = [
    [undefined, "api:8080", [], true], // not a browser
    ["http://api:8080", "api:8080", [], true], // same origin when no list is configured
    ["http://API:8080", "api:8080", [], true],
    ["http://evil:8080", "api:8080", [], false],
    ["https://ui.example.com", "api:8080", ["https://ui.example.com"], true],
    ["https://ui.example.com:444", "api:8080", ["https://ui.example.com"], false],
    ["http://api:8080", "api:8080", ["https://ui.example.com"], false], // a list replaces same-origin
    ["null", "api:8080", [], false],
    ["file://", "api:8080", [], false],
    ["not a url", "api:8080", [], false],
  ];
  for (const [origin, host, list, want] of cases) assert.equal(originAllowed(origin, host, list), want, `${origin} ${host} ${list.join()}`);
});

test("watchRightMatters: get is only reviewed when its answer can change the role", () => {
  const base = { username: "ann", rbacCreate: true, wantsReadOnly: false };
  const cases: Array<[Partial<typeof base> & { access?: { users?: string[]; viewers?: string[] } }, boolean, boolean]> = [
    [{}, true, false], // may type, no lists: rw either way
    [{ wantsReadOnly: true }, true, false], // ro either way
    [{ rbacCreate: false }, true, true], // get decides between ro and 403
    [{ rbacCreate: false }, false, true], // no session: get still decides 403 vs going on
    [{}, false, false], // may type, session unknown: 404 or a store error follows either way
    [{ access: { users: ["ann"] } }, true, false],
    [{ access: { users: ["bo"], viewers: ["ann"] } }, true, true], // listed as viewer: get decides ro vs none
    [{ access: { users: ["bo"] } }, true, false], // on no list: refused either way
  ];
  for (const [override, sessionKnown, want] of cases) {
    const input = { ...base, ...override };
    assert.equal(watchRightMatters(input, sessionKnown), want, JSON.stringify([override, sessionKnown]));
    // Whenever it is skipped, both answers really give the same role.
    if (!want && sessionKnown) assert.equal(terminalRole({ ...input, rbacGet: false }), terminalRole({ ...input, rbacGet: true }));
  }
});
