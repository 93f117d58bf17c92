import { test } from "node:test";
import assert from "node:assert/strict";
import { identityFromClaims, type ClaimMapping } from "../../../session-api/auth/oidc-claims.js";
import { parseConfig } from "../../../session-api/config.js";

const DEFAULTS: ClaimMapping = { usernameClaim: "sub", groupsClaim: "groups", usernamePrefix: "oidc:", groupsPrefix: "oidc:" };

test("OIDC prefixes: username claim, groups claim, prefix settings", () => {
  const claims = { sub: "u-42", email: "ann@example.com", email_verified: true, groups: ["dev", "ops"], roles: "admins" };
  const cases: Array<[string, Partial<ClaimMapping>, string, string[]]> = [
    ["defaults", {}, "oidc:u-42", ["oidc:dev", "oidc:ops"]],
    ["email claim", { usernameClaim: "email" }, "oidc:ann@example.com", ["oidc:dev", "oidc:ops"]],
    ["own prefixes", { usernamePrefix: "corp#", groupsPrefix: "corp:" }, "corp#u-42", ["corp:dev", "corp:ops"]],
    ["no username prefix", { usernamePrefix: "" }, "u-42", ["oidc:dev", "oidc:ops"]],
    ["no prefixes", { usernamePrefix: "", groupsPrefix: "" }, "u-42", ["dev", "ops"]],
    ["a single-string groups claim", { groupsClaim: "roles" }, "oidc:u-42", ["oidc:admins"]],
    ["no groups claim", { groupsClaim: "teams" }, "oidc:u-42", []],
  ];
  for (const [what, mapping, username, groups] of cases) {
    const identity = identityFromClaims(claims, { ...DEFAULTS, ...mapping });
    assert.deepEqual(identity, { username, groups, uid: "u-42", via: "oidc" }, what);
  }
});

test("system: names are refused after prefixing, as the user name and as any group", () => {
  // With the default prefix a provider's "system:masters" is only oidc:system:masters: harmless.
  const prefixed = identityFromClaims({ sub: "system:admin", groups: ["system:masters"] }, DEFAULTS);
  assert.deepEqual([prefixed.username, prefixed.groups], ["oidc:system:admin", ["oidc:system:masters"]]);
  const cases: Array<[string, Record<string, unknown>, Partial<ClaimMapping>, RegExp]> = [
    ["user name, no prefix", { sub: "system:admin" }, { usernamePrefix: "" }, /user name "system:admin" is refused: names starting with "system:" are reserved/],
    ["service-account name, no prefix", { sub: "system:serviceaccount:kube-system:default" }, { usernamePrefix: "" }, /user name "system:serviceaccount:kube-system:default" is refused/],
    ["a prefix that makes one", { sub: "masters" }, { usernamePrefix: "system:" }, /user name "system:masters" is refused/],
    ["group, no prefix", { sub: "ann", groups: ["dev", "system:masters"] }, { groupsPrefix: "" }, /group "system:masters" is refused/],
    ["group from a single string", { sub: "ann", groups: "system:masters" }, { groupsPrefix: "" }, /group "system:masters" is refused/],
  ];
  for (const [what, claims, mapping, message] of cases) {
    assert.throws(() => identityFromClaims(claims, { ...DEFAULTS, ...mapping }), (err: Error) => err.name === "TokenRefused" && message.test(err.message), what);
  }
});

test("email_verified must be true (the boolean) when the user name is the email", () => {
  const withEmail = { ...DEFAULTS, usernameClaim: "email" };
  const cases: Array<[string, unknown, boolean]> = [
    ["true", true, true],
    ["false", false, false],
    ["missing", undefined, false],
    ['the string "true"', "true", false],
    ["1", 1, false],
  ];
  for (const [what, verified, accepted] of cases) {
    const claims = { sub: "u-1", email: "ann@example.com", ...(verified === undefined ? {} : { email_verified: verified }) };
    if (accepted) assert.equal(identityFromClaims(claims, withEmail).username, "oidc:ann@example.com", what);
    else assert.throws(() => identityFromClaims(claims, withEmail), /email is not verified \(email_verified is not true\); verify the address/, what);
  }
  // Another username claim does not depend on the email's verification.
  assert.equal(identityFromClaims({ sub: "u-1", email_verified: false }, DEFAULTS).username, "oidc:u-1");
  assert.throws(() => identityFromClaims({ email: "ann@example.com" }, DEFAULTS), /no "sub" claim to name you by/);
});

test("configuration: OIDC prefixes default to oidc:, '-' disables them; the token audience defaults to agentbox-session-api", () => {
  const config = (argv: string[]) => {
    const parsed = parseConfig(["--oidc-issuer=https://id.example.com", "--oidc-audience=agentbox", ...argv], {});
    assert.equal(parsed.help, false);
    return (parsed as Extract<typeof parsed, { help: false }>).config;
  };
  assert.deepEqual([config([]).oidc?.usernamePrefix, config([]).oidc?.groupsPrefix], ["oidc:", "oidc:"]);
  const own = config(["--oidc-username-prefix=-", "--oidc-groups-prefix=corp:"]).oidc;
  assert.deepEqual([own?.usernamePrefix, own?.groupsPrefix], ["", "corp:"]);
  assert.equal(config([]).tokenAudience, "agentbox-session-api");
  assert.equal(config(["--auth-kubernetes", "--token-audience=team-x-agentbox"]).tokenAudience, "team-x-agentbox");
  assert.throws(() => config(["--auth-kubernetes", "--token-audience="]), /tokenAudience/);
});
