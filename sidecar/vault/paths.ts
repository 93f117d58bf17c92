// KV v2 paths as people write them ("kv/agents/anthropic", the CLI form) and as the HTTP API
// wants them ("kv/data/agents/anthropic"). Pure.

export interface KvPath {
  /** The secrets engine's mount, e.g. "kv". */
  readonly mount: string;
  /** The secret's name below the mount, e.g. "agents/anthropic". */
  readonly name: string;
  /** The API path that reads its latest version, e.g. "kv/data/agents/anthropic". */
  readonly readPath: string;
}

/**
 * Parses a KV v2 path. The first segment is the mount; a second segment "data" marks the API
 * form and is not part of the name. Returns an explanation instead when the path is unusable.
 */
export function parseKvPath(raw: string): KvPath | { error: string } {
  const trimmed = raw.trim().replace(/^\/+|\/+$/g, "");
  const segments = trimmed.split("/");
  if (trimmed === "" || segments.some((segment) => segment === "" || segment === "." || segment === "..")) {
    return { error: `"${raw}" is not a KV path: expected "<mount>/<name>" or "<mount>/data/<name>", without empty, "." or ".." segments` };
  }
  if (segments.some((segment) => !/^[A-Za-z0-9_.@+=:,-]+$/.test(segment))) {
    return { error: `"${raw}" is not a KV path: segments may hold letters, digits and _ . @ + = : , - only` };
  }
  const [mount, ...rest] = segments as [string, ...string[]];
  const nameSegments = rest[0] === "data" ? rest.slice(1) : rest;
  if (nameSegments.length === 0) {
    return { error: `"${raw}" names a mount, not a secret: expected "${mount}/<name>"` };
  }
  const name = nameSegments.join("/");
  return { mount, name, readPath: `${mount}/data/${name}` };
}
