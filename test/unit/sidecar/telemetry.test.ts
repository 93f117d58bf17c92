import { test } from "node:test";
import assert from "node:assert/strict";
import { LabelledMetric, SecondsHistogram, SidecarMetrics } from "../../../sidecar/telemetry.js";

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
