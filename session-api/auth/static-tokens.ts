// Development-only bearer tokens from a file: one `token,user[,group...]` per line, `#` comments.
import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Authenticator, Identity } from "./identity.js";

interface Entry {
  digest: Buffer;
  identity: Identity;
}

const digest = (token: string): Buffer => createHash("sha256").update(token).digest();

/** Parses the file's text; throws naming the bad line (never echoing the token on it). */
export function parseStaticTokens(text: string): Array<{ token: string; identity: Identity }> {
  const entries: Array<{ token: string; identity: Identity }> = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const [token = "", username = "", ...groups] = line.split(",").map((field) => field.trim());
    if (token.length < 16 || username === "") {
      throw new Error(`static token file line ${index + 1}: expected "token,user[,group...]" with a token of 16+ characters`);
    }
    entries.push({ token, identity: { username, groups: groups.filter((g) => g !== ""), via: "static" } });
  });
  return entries;
}

export function staticTokenAuthenticator(entries: Array<{ token: string; identity: Identity }>): Authenticator {
  const table: Entry[] = entries.map((e) => ({ digest: digest(e.token), identity: e.identity }));
  return {
    authenticate(token) {
      const wanted = digest(token);
      // Compare digests in constant time and look at every entry, so timing says nothing.
      let found: Identity | undefined;
      for (const entry of table) if (timingSafeEqual(entry.digest, wanted)) found = entry.identity;
      return Promise.resolve(found);
    },
  };
}

export async function loadStaticTokens(path: string): Promise<Authenticator> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new Error(`cannot read static token file ${path}`, { cause: err });
  }
  return staticTokenAuthenticator(parseStaticTokens(text));
}
