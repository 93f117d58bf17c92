// Per-call cost of the pure steps of an intercepted keep-alive request (no sockets), hot:
//   node --import tsx test/bench/sidecar/hot-path.ts
// For spotting a step that got slow; the figures that count come from bench:sidecar.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildState } from "../../../sidecar/state.js";
import { parseSidecarConfig } from "../../../sidecar/config.js";
import { parseResponseHead, parseSimpleRequest, responseFraming, reusable, serializeHead } from "../../../sidecar/http1.js";
import { endToEndHeaders, framingProblem } from "../../../sidecar/http-framing.js";
import { verifyDestination } from "../../../sidecar/destination.js";
import { substituteHeaders } from "../../../sidecar/substitute.js";
const SECRET = "sk-ant-api03-" + "BENCHrealREALrealREALrealREALrealREALreal0";
const STUB = "sk-ant-api03-" + "BENCHstubSTUBstubSTUBstubSTUBstubSTUBstub1";
const dir = mkdtempSync(join(tmpdir(), "hot-path-"));
writeFileSync(join(dir, "secret"), SECRET);
const config = parseSidecarConfig({ egress: { allow: [], allowPrivate: ["127.0.0.0/8"] }, credentials: [{ name: "bench", stub: STUB, hosts: ["localhost"], inject: { headers: ["x-api-key"] }, source: { file: { path: join(dir, "secret") } } }], caDir: dir });
const state = await buildState(config, {});
const request = parseSimpleRequest(`GET /bench HTTP/1.1\r\nHost: localhost:4443\r\nx-api-key: ${STUB}\r\naccept: application/json`)!;
const body = Buffer.from(JSON.stringify({ ok: true, text: "x".repeat(64) }));
// A ~1 KiB JSON body of the usual shape: escaped quotes and slashes, ids, words.
const items = Array.from({ length: 12 }, (_, i) => ({ id: `msg_${i}abc`, type: "message", role: i % 2 ? "user" : "assistant", content: [{ type: "text", text: 'The quick brown fox jumps over the lazy dog, "quoted" and path/with/slashes.' }] }));
const jsonKiB = Buffer.from(JSON.stringify({ ok: true, items }).slice(0, 1024));
const requestHead = `GET /bench HTTP/1.1\r\nHost: localhost:4443\r\nx-api-key: ${STUB}\r\naccept: application/json`;
const responseHead = `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 80\r\nDate: Thu, 26 Nov 2026 03:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=60`;
const parsedResponse = parseResponseHead(responseHead);
const steps: Record<string, () => unknown> = {
  parseRequest: () => parseSimpleRequest(requestHead),
  parseResponse: () => parseResponseHead(responseHead),
  framingReusable: () => reusable(parsedResponse, responseFraming("GET", parsedResponse)),
  serializeHead: () => Buffer.from(serializeHead("GET /bench HTTP/1.1", request.headers), "latin1"),
  framing: () => framingProblem(request.headers),
  verify: () => verifyDestination({ connect: "localhost:4443", sni: "localhost", host: "localhost:4443", defaultPort: 4443 }),
  isAllowed: () => state.policy.isAllowed("localhost") && state.policy.intercepts("localhost") && state.policy.boundTo("localhost"),
  e2e: () => endToEndHeaders(request.headers),
  substitute: () => substituteHeaders({ host: "localhost", tls: true, target: "/bench", headers: request.headers, credentials: state.policy.credentials }),
  scrubBody: () => { const r = state.scrubber.stream(); r.push(body); return r.end(); },
  scrubBody1k: () => { const r = state.scrubber.stream(); r.push(jsonKiB); return r.end(); },
  scrubHeaders: () => ["application/json", "80", "Thu, 26 Nov 2026 03:00:00 GMT", "keep-alive", "timeout=60"].map((v) => state.scrubber.scrubString(v)),
};
for (const [name, fn] of Object.entries(steps)) {
  for (let i = 0; i < 50000; i++) fn();
  const n = 100000; const t = performance.now();
  for (let i = 0; i < n; i++) fn();
  console.log(name, ((performance.now() - t) * 1000 / n).toFixed(3), "us");
}
rmSync(dir, { recursive: true, force: true });
