/**
 * Whether a WebSocket upgrade from this Origin may proceed. Non-browser clients send no Origin;
 * browsers always do, and theirs must be on the allow-list, or, when the list is empty, be the
 * very origin this server is reached at (the web UI it serves).
 */
export function originAllowed(origin: string | undefined, host: string | undefined, allowList: readonly string[]): boolean {
  if (origin === undefined) return true;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    return false;
  }
  if (allowList.length > 0) return allowList.includes(parsed.origin);
  return host !== undefined && parsed.host === host.toLowerCase() && (parsed.protocol === "http:" || parsed.protocol === "https:");
}
