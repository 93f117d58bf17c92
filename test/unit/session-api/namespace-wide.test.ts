import { test } from "node:test";
import assert from "node:assert/strict";
import { authorizationQuestions, namespaceWideFirst } from "../../../session-api/auth/namespace-wide.js";
import { cachedAuthorizer } from "../../../session-api/auth/kubernetes.js";
import type { Authorizer, Identity, ResourceAttributes } from "../../../session-api/auth/identity.js";

const ann: Identity = { username: "ann", groups: ["dev"], via: "kubernetes" };
const terminal = (verb: "create" | "get", name?: string): ResourceAttributes => ({
  verb,
  resource: "agentsessions",
  subresource: "terminal",
  namespace: "team",
  ...(name === undefined ? {} : { name }),
});

test("authorizationQuestions: a named question is preceded by the same question without its name", () => {
  assert.deepEqual(authorizationQuestions(terminal("create", "s1")), [terminal("create"), terminal("create", "s1")]);
  assert.deepEqual(authorizationQuestions(terminal("get", "s1")), [terminal("get"), terminal("get", "s1")]);
  assert.deepEqual(authorizationQuestions(terminal("create")), [terminal("create")]);
  const list: ResourceAttributes = { verb: "list", resource: "agentsessions", namespace: "team" };
  assert.deepEqual(authorizationQuestions(list), [list]);
  // The namespace-wide question has no name key at all, so the review sends none.
  assert.equal("name" in (authorizationQuestions(terminal("create", "s1"))[0] ?? {}), false);
});

interface Rule { verb: string; resourceNames?: string[] }

/** RBAC as the API server evaluates it: additive rules; resourceNames only match a named request. */
function rbac(rules: Rule[], asked: string[]): Authorizer {
  return {
    allowed: (_identity, attributes) => {
      asked.push(`${attributes.verb}:${attributes.name ?? "*"}`);
      const name = attributes.name;
      return Promise.resolve(
        rules.some((rule) => rule.verb === attributes.verb && (rule.resourceNames === undefined || (name !== undefined && rule.resourceNames.includes(name)))),
      );
    },
  };
}

test("namespaceWideFirst: who is allowed, and which reviews it takes", async () => {
  const cases: Array<{ what: string; rules: Rule[]; question: ResourceAttributes; allowed: boolean; asked: string[] }> = [
    { what: "a namespace-wide grant answers with one review", rules: [{ verb: "create" }], question: terminal("create", "s1"), allowed: true, asked: ["create:*"] },
    { what: "a grant by resourceNames is still found", rules: [{ verb: "create", resourceNames: ["s1"] }], question: terminal("create", "s1"), allowed: true, asked: ["create:*", "create:s1"] },
    { what: "a grant for another name does not leak", rules: [{ verb: "create", resourceNames: ["s1"] }], question: terminal("create", "s2"), allowed: false, asked: ["create:*", "create:s2"] },
    { what: "another verb's grant does not count", rules: [{ verb: "get" }], question: terminal("create", "s1"), allowed: false, asked: ["create:*", "create:s1"] },
    { what: "no grant: refused after both", rules: [], question: terminal("get", "s1"), allowed: false, asked: ["get:*", "get:s1"] },
    { what: "an unnamed question is asked once", rules: [], question: terminal("get"), allowed: false, asked: ["get:*"] },
  ];
  for (const c of cases) {
    const asked: string[] = [];
    assert.equal(await namespaceWideFirst(rbac(c.rules, asked)).allowed(ann, c.question), c.allowed, c.what);
    assert.deepEqual(asked, c.asked, c.what);
  }
});

test("namespaceWideFirst: a failed review is an error, not a refusal", async () => {
  const failing: Authorizer = { allowed: () => Promise.reject(new Error("API server down")) };
  await assert.rejects(namespaceWideFirst(failing).allowed(ann, terminal("create", "s1")), /down/);
});

test("in front of the cache: twenty sessions opened at once by one person cost one review", async () => {
  const asked: string[] = [];
  const authorizer = namespaceWideFirst(cachedAuthorizer(rbac([{ verb: "create" }], asked)));
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => authorizer.allowed(ann, terminal("create", `s${i}`))));
  assert.deepEqual(answers, Array<boolean>(20).fill(true));
  assert.deepEqual(asked, ["create:*"]);
  // Another person is reviewed on their own.
  assert.equal(await authorizer.allowed({ ...ann, username: "bo" }, terminal("create", "s1")), true);
  assert.deepEqual(asked, ["create:*", "create:*"]);
});

test("in front of the cache: a namespace-wide refusal is remembered, each named grant asked once", async () => {
  const asked: string[] = [];
  const authorizer = namespaceWideFirst(cachedAuthorizer(rbac([{ verb: "create", resourceNames: ["s1", "s2"] }], asked)));
  const answers = await Promise.all(["s1", "s2", "s3", "s1"].map((name) => authorizer.allowed(ann, terminal("create", name))));
  assert.deepEqual(answers, [true, true, false, true]);
  assert.deepEqual(asked, ["create:*", "create:s1", "create:s2", "create:s3"]);
});
