import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { audit, createLogger, LabelledMetric, SecondsHistogram, SidecarMetrics, BatchedDestination, type AuditRecord } from "../../../sidecar/telemetry.js";

test("a labelled counter renders one sample per label set, in the Prometheus text format", () => {
  const counter = new LabelledMetric("t_total", "Test.", "counter", ["mode", "status"] as const);
  counter.inc({ mode: "intercepted", status: "2xx" });
  counter.inc({ mode: "intercepted", status: "2xx" });
  counter.inc({ mode: "tunnel", status: "-" });
  assert.equal(counter.render(), '# HELP t_total Test.\n# TYPE t_total counter\nt_total{mode="intercepted",status="2xx"} 2\nt_total{mode="tunnel",status="-"} 1\n');
});

test("label values are escaped and a label-less gauge starts at 0", () => {
  const counter = new LabelledMetric("t_total", "Test.", "counter", ["credential"] as const);
  counter.inc({ credential: 'a"b\\c\nd' });
  assert.match(counter.render(), /t_total\{credential="a\\"b\\\\c\\nd"\} 1\n/);
  const gauge = new LabelledMetric("g", "Gauge.", "gauge", [] as const);
  assert.match(gauge.render(), /\ng 0\n$/);
  gauge.inc({});
  gauge.inc({});
  gauge.dec({});
  assert.match(gauge.render(), /\ng 1\n$/);
});

test("a histogram counts each observation in every bucket it fits", () => {
  const histogram = new SecondsHistogram("h_seconds", "Hist.", [0.01, 0.1]);
  histogram.observe(0.005);
  histogram.observe(0.05);
  const text = histogram.render();
  assert.match(text, /h_seconds_bucket\{le="0.01"\} 1\n/);
  assert.match(text, /h_seconds_bucket\{le="0.1"\} 2\n/);
  assert.match(text, /h_seconds_bucket\{le="\+Inf"\} 2\nh_seconds_sum 0.055\nh_seconds_count 2\n/);
});

test("metrics registered in the prom-client registry (Vault's) are appended to the sidecar's own", async () => {
  const metrics = new SidecarMetrics();
  metrics.swaps.inc({ credential: "github" });
  assert.doesNotMatch(await metrics.render(), /extra_metric/);
  const { Gauge } = await import("prom-client");
  new Gauge({ name: "extra_metric", help: "Extra.", registers: [metrics.registry] }).set(3);
  const text = await metrics.render();
  assert.match(text, /agentbox_sidecar_credential_swaps_total\{credential="github"\} 1\n/);
  assert.match(text, /extra_metric 3/);
});

test("an audit record is written as pino writes it: same keys in the same order, no redaction needed", () => {
  const lines: string[] = [];
  const destination = { write: (line: string): void => void lines.push(line) };
  const logger = createLogger(destination);
  const record: AuditRecord = { event: "refused", credentials: ["github"], host: "x.test", method: "GET", path: "/a\"b", status: 403, bytesIn: 1, bytesOut: 0, durationMs: 0.5, reason: "stub of \"github\" towards x.test" };
  audit(logger, record);
  logger.info({ audit: record }, "request refused");
  assert.equal(lines.length, 2);
  const [ours, pinos] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  assert.ok(ours !== undefined && pinos !== undefined);
  assert.deepEqual(Object.keys(ours), Object.keys(pinos));
  assert.deepEqual({ ...ours, time: 0 }, { ...pinos, time: 0 });
  assert.ok(lines[0]?.endsWith("}\n"));
  logger.level = "warn";
  audit(logger, record);
  assert.equal(lines.length, 2, "a logger above info writes no audit record");
});

test("a batched destination writes its lines in one write, after at most its delay or at once past its size", async () => {
  const writes: string[] = [];
  const batched = new BatchedDestination({ write: (text: string) => writes.push(text) }, { maxDelayMs: 20, maxBytes: 10 });
  batched.write("a\n");
  batched.write("b\n");
  assert.deepEqual(writes, [], "nothing is written at once");
  const deadline = Date.now() + 5_000;
  while (writes.length === 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(writes, ["a\nb\n"]);
  batched.write("0123456789\n");
  assert.deepEqual(writes, ["a\nb\n", "0123456789\n"], "past maxBytes the batch goes at once");
  batched.write("c\n");
  let flushed = false;
  batched.flush(() => (flushed = true));
  assert.deepEqual(writes.at(-1), "c\n");
  assert.ok(flushed);
  batched.flush();
  assert.equal(writes.length, 3, "a flush with nothing pending writes nothing");
});

test("lines still pending when the process dies of an uncaught exception are written", async () => {
  const dir = await mkdtemp(join(tmpdir(), "batched-"));
  const file = join(dir, "log");
  const telemetry = new URL("../../../sidecar/telemetry.ts", import.meta.url).href;
  const script = `import pino from "pino"; import { createLogger, audit, BatchedDestination } from ${JSON.stringify(telemetry)};
const logger = createLogger(new BatchedDestination(pino.destination({ dest: ${JSON.stringify(file)}, sync: true })));
audit(logger, { event: "request", credentials: ["c"], host: "h", method: "GET", path: "/", status: 200, bytesIn: 0, bytesOut: 0, durationMs: 1 });
throw new Error("boom");`;
  const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", cwd: process.cwd() });
  assert.notEqual(child.status, 0);
  const text = await readFile(file, "utf8");
  assert.match(text, /"audit":\{"event":"request","credentials":\["c"\]/);
  await rm(dir, { recursive: true, force: true });
});
