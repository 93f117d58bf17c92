import { test } from "node:test";
import assert from "node:assert/strict";
import { checkPolicy, digest, expiresAt, fresh, ReviewCache, type CachePolicy } from "../../../session-api/auth/review-cache.js";
import { cachedAuthenticator, cachedAuthorizer } from "../../../session-api/auth/kubernetes.js";
import type { Identity, ResourceAttributes } from "../../../session-api/auth/identity.js";

const POLICY: CachePolicy = { allowTtlMs: 10_000, denyTtlMs: 2_000, maxEntries: 3 };

test("expiresAt and fresh: allowing answers live allowTtl, refusals denyTtl, expiry is exclusive", () => {
  const cases: Array<[boolean, number, boolean]> = [
    [true, 9_999, true],
    [true, 10_000, false],
    [false, 1_999, true],
    [false, 2_000, false],
    [false, 9_999, false],
  ];
  for (const [allowed, after, want] of cases) {
    assert.equal(fresh({ expiresAtMs: expiresAt(allowed, 1_000, POLICY) }, 1_000 + after), want, JSON.stringify([allowed, after]));
  }
});

test("checkPolicy refuses a refusal cached longer than a grant, a TTL above 10 s, an empty cache", () => {
  assert.doesNotThrow(() => checkPolicy(POLICY));
  assert.throws(() => checkPolicy({ ...POLICY, denyTtlMs: 11_000, allowTtlMs: 10_000 }), /denyTtlMs/);
  assert.throws(() => checkPolicy({ ...POLICY, allowTtlMs: 10_001 }), /10 s/);
  assert.throws(() => checkPolicy({ ...POLICY, maxEntries: 0 }), /maxEntries/);
});

test("digest: the exact parts in order; never the input itself", () => {
  assert.equal(digest(["token", "abc"]), digest(["token", "abc"]));
  assert.notEqual(digest(["token", "abc"]), digest(["token", "abd"]));
  assert.notEqual(digest(["a", "bc"]), digest(["ab", "c"]));
  assert.doesNotMatch(digest(["token", "secret-token-value"]), /secret/);
  assert.match(digest(["x"]), /^[0-9a-f]{64}$/);
});

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 0;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

test("ReviewCache serves an answer until its TTL, asks again after, and never remembers a failure", async () => {
  const time = clock();
  const cache = new ReviewCache<boolean>(POLICY, (v) => v, time.now);
  let asked = 0;
  const ask = (value: boolean) => () => { asked++; return Promise.resolve(value); };
  assert.equal(await cache.answer("k", ask(true)), true);
  time.advance(9_999);
  assert.equal(await cache.answer("k", ask(false)), true);
  assert.equal(asked, 1);
  time.advance(1);
  assert.equal(await cache.answer("k", ask(false)), false); // expired: asked again
  assert.equal(asked, 2);
  time.advance(1_999);
  assert.equal(await cache.answer("k", ask(true)), false); // a refusal, still fresh
  time.advance(1);
  assert.equal(await cache.answer("k", ask(true)), true); // refusal expired after 2 s
  assert.equal(asked, 3);
  await assert.rejects(cache.answer("e", () => Promise.reject(new Error("API server down"))), /down/);
  assert.equal(await cache.answer("e", ask(true)), true); // the failure was not remembered
});

test("ReviewCache shares one in-flight question between concurrent callers and stays bounded", async () => {
  const time = clock();
  const cache = new ReviewCache<boolean>(POLICY, (v) => v, time.now);
  let asked = 0;
  let release: (v: boolean) => void = () => undefined;
  const slow = (): Promise<boolean> => { asked++; return new Promise((resolve) => { release = resolve; }); };
  const answers = Promise.all([cache.answer("k", slow), cache.answer("k", slow), cache.answer("k", slow)]);
  release(true);
  assert.deepEqual(await answers, [true, true, true]);
  assert.equal(asked, 1);
  for (const key of ["a", "b", "c", "d", "e"]) await cache.answer(key, () => Promise.resolve(true));
  assert.equal(cache.size, POLICY.maxEntries);
});

test("cachedAuthenticator: one review per token, another token is reviewed itself", async () => {
  const reviewed: string[] = [];
  const authenticator = cachedAuthenticator({
    authenticate: (token) => {
      reviewed.push(token);
      return Promise.resolve(token === "good" ? { username: "ann", groups: [], via: "kubernetes" } : undefined);
    },
  });
  assert.equal((await authenticator.authenticate("good"))?.username, "ann");
  assert.equal((await authenticator.authenticate("good"))?.username, "ann");
  assert.equal(await authenticator.authenticate("bad"), undefined);
  assert.equal(await authenticator.authenticate("bad"), undefined);
  assert.equal(await authenticator.authenticate("goo"), undefined);
  assert.deepEqual(reviewed, ["good", "bad", "goo"]);
});

test("cachedAuthorizer: an answer is only reused for the same person and the same attributes", async () => {
  const asked: string[] = [];
  const authorizer = cachedAuthorizer({
    allowed: (identity, attributes) => {
      asked.push(`${identity.username}/${identity.groups.join("+")}:${attributes.verb}:${attributes.name ?? ""}`);
      return Promise.resolve(identity.username === "ann");
    },
  });
  const ann: Identity = { username: "ann", groups: ["dev"], via: "kubernetes" };
  const attrs: ResourceAttributes = { verb: "create", resource: "agentsessions", subresource: "terminal", namespace: "ns", name: "s1" };
  assert.equal(await authorizer.allowed(ann, attrs), true);
  assert.equal(await authorizer.allowed(ann, attrs), true);
  assert.equal(await authorizer.allowed(ann, { ...attrs, verb: "get" }), true);
  assert.equal(await authorizer.allowed(ann, { ...attrs, name: "s2" }), true);
  assert.equal(await authorizer.allowed({ ...ann, groups: ["dev", "admins"] }, attrs), true);
  assert.equal(await authorizer.allowed({ ...ann, username: "bo" }, attrs), false);
  assert.deepEqual(asked, ["ann/dev:create:s1", "ann/dev:get:s1", "ann/dev:create:s2", "ann/dev+admins:create:s1", "bo/dev:create:s1"]);
});
