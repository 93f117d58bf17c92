import { test } from "node:test";
import assert from "node:assert/strict";
import { judge, type RunFigures } from "../../bench/terminal/targets.js";

const echo = (p50: number): { p50: number; p95: number; samples: number } => ({ p50, p95: p50 * 2, samples: 200 });
const verdicts = (r: RunFigures): Record<string, boolean> => Object.fromEntries(judge(r).map((v) => [v.target, v.met]));

test("bench:terminal targets, judged from a run's figures", () => {
  const cases: Array<{ name: string; run: RunFigures; want: Record<string, boolean> }> = [
    {
      name: "attach slower than kubectl exec but not than kubectl attach: the miss is the runtime's",
      run: {
        throughput: { reference: { mbPerSec: 12.4 }, sessionApi: { mbPerSec: 10 } },
        kubectlAttach: { throughput: { mbPerSec: 7 } },
        throughputShell: { sessionApi: { mbPerSec: 16.7 } },
      },
      want: {
        "throughput, attach >= kubectl exec": false,
        "throughput, attach >= kubectl attach": true,
        "throughput, exec shell >= kubectl exec": true,
      },
    },
    {
      name: "echo within 2 ms is met at the edge and missed past it",
      run: {
        echoIdle: { reference: echo(1), sessionApi: echo(3) },
        echoStreaming: { reference: echo(4), sessionApi: echo(6.01) },
        echoShell: { idle: echo(0.5), streaming: echo(25) },
      },
      want: {
        "echo idle, attach, p50 within 2 ms of kubectl exec": true,
        "echo streaming, attach, p50 within 2 ms of kubectl exec": false,
        "echo idle, exec shell, p50 within 2 ms of kubectl exec": true,
        "echo streaming, exec shell, p50 within 2 ms of kubectl exec": false,
      },
    },
    {
      name: "2-byte lines are judged on their own row, against both references",
      run: { throughputYes: { reference: { mbPerSec: 11 }, sessionApi: { mbPerSec: 1.2 } }, kubectlAttach: { throughputYes: { mbPerSec: 1.1 } } },
      want: { "throughput yes, attach >= kubectl exec": false, "throughput yes, attach >= kubectl attach": true },
    },
    { name: "viewers: 1 s is the limit", run: { fanOut: { maxLagMs: 1000 } }, want: { "every viewer within 1000 ms of live": true } },
    { name: "viewers: past it", run: { fanOut: { maxLagMs: 1001 } }, want: { "every viewer within 1000 ms of live": false } },
    { name: "parts not run are not judged", run: {}, want: {} },
  ];
  for (const c of cases) assert.deepEqual(verdicts(c.run), c.want, c.name);
});

test("bench:terminal targets name the run's reference (local mode compares with a local PTY)", () => {
  const names = judge({ throughput: { reference: { mbPerSec: 13 }, sessionApi: { mbPerSec: 22 } }, echoIdle: { reference: echo(0.3), sessionApi: echo(0.5) } }, "the local PTY").map((v) => v.target);
  assert.deepEqual(names, ["throughput, attach >= the local PTY", "echo idle, attach, p50 within 2 ms of the local PTY"]);
});
