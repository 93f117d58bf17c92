// Benches measure the processes pods run. The platform image bundles its start-up entry points
// with esbuild (images/lib/platform.sh: BUNDLED_ENTRY_POINTS), and a bundle holds far less
// memory than the same code as hundreds of modules (@kubernetes/client-node alone: ~125 MB
// resident as modules, ~72 MB bundled), so a bench that ran tsc output would misreport RSS.
import { spawnSync } from "node:child_process";

/** The image's esbuild flags, with the `require` shim that lets bundled CommonJS load Node's built-ins. */
export const BUNDLE_FLAGS = [
  "--bundle",
  "--platform=node",
  "--format=esm",
  "--target=node20",
  "--banner:js=import { createRequire as __agentboxRequire } from 'node:module'; const require = __agentboxRequire(import.meta.url);",
  "--log-level=warning",
];

/** Bundles `entry` (a .ts or .js file) into `outfile` as the image would; throws with esbuild's output on failure. */
export function bundle(entry: string, outfile: string): void {
  const r = spawnSync("node_modules/.bin/esbuild", [entry, ...BUNDLE_FLAGS, `--outfile=${outfile}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`esbuild could not bundle ${entry} (it is a devDependency: npm ci):\n${r.stdout}${r.stderr}`);
}
