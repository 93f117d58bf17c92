// Serves the web UI: a page and a script of ours (kept as strings in modules so they ship inside
// dist/ with no build step) plus xterm.js and its fit addon straight from node_modules.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type express from "express";
import { PAGE_HTML } from "./page.js";
import { CLIENT_JS } from "./client.js";

const require = createRequire(import.meta.url);
const packageDir = (name: string): string => dirname(require.resolve(`${name}/package.json`));

export function mountWebUi(app: express.Express): void {
  const xterm = packageDir("@xterm/xterm");
  const fit = packageDir("@xterm/addon-fit");
  const vendor: Record<string, string> = {
    "/ui/vendor/xterm.js": join(xterm, "lib", "xterm.js"),
    "/ui/vendor/xterm.css": join(xterm, "css", "xterm.css"),
    "/ui/vendor/addon-fit.js": join(fit, "lib", "addon-fit.js"),
  };
  for (const [path, file] of Object.entries(vendor)) app.get(path, (_req, res) => res.sendFile(file));
  const security = (res: express.Response): void => {
    res.set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Referrer-Policy", "no-referrer");
  };
  app.get("/ui/", (_req, res) => {
    security(res);
    res.type("html").send(PAGE_HTML);
  });
  app.get("/ui/app.js", (_req, res) => {
    security(res);
    res.type("application/javascript").send(CLIENT_JS);
  });
  app.get(["/", "/ui"], (_req, res) => res.redirect("/ui/"));
}
