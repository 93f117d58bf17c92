// Issue #4's targets for bench:terminal, judged from one run's results. Pure, so the verdict the
// bench prints is tested (test/unit/session-api/bench-targets.test.ts).

export interface Echo {
  p50: number;
  p95: number;
  samples: number;
  /** Output received while sampling (the streaming loop's rate as this path let it run). */
  mbPerSec?: number;
}

/** The parts of a run's results the targets are judged on; any may be missing (BENCH_PARTS). */
export interface RunFigures {
  throughput?: { reference: { mbPerSec: number }; sessionApi: { mbPerSec: number } };
  /** The same with 2-byte lines (plain `yes`). */
  throughputYes?: { reference: { mbPerSec: number }; sessionApi: { mbPerSec: number } };
  throughputShell?: { sessionApi: { mbPerSec: number } };
  kubectlAttach?: { throughput?: { mbPerSec: number }; throughputYes?: { mbPerSec: number }; echoIdle?: Echo; echoStreaming?: Echo };
  echoIdle?: { reference: Echo; sessionApi: Echo };
  echoStreaming?: { reference: Echo; sessionApi: Echo };
  echoShell?: { idle: Echo; streaming: Echo };
  fanOut?: { maxLagMs: number };
}

export interface Verdict {
  target: string;
  measured: string;
  met: boolean;
}

const ECHO_SLACK_MS = 2;
const MAX_VIEWER_LAG_MS = 1000;

const mbs = (n: number): string => `${n.toFixed(1)} MB/s`;
const ms = (n: number): string => `${n.toFixed(2)} ms`;

/**
 * Each target of the issue for each path the run measured. The shared terminal (pods/attach) is
 * also judged against kubectl attach, the runtime's attach path on its own, so a miss that is the
 * runtime's shows as such.
 */
export function judge(r: RunFigures, reference = "kubectl exec"): Verdict[] {
  const out: Verdict[] = [];
  const t = r.throughput;
  if (t) {
    out.push({ target: `throughput, attach >= ${reference}`, measured: `${mbs(t.sessionApi.mbPerSec)} vs ${mbs(t.reference.mbPerSec)}`, met: t.sessionApi.mbPerSec >= t.reference.mbPerSec });
    const attach = r.kubectlAttach?.throughput;
    if (attach) out.push({ target: "throughput, attach >= kubectl attach", measured: `${mbs(t.sessionApi.mbPerSec)} vs ${mbs(attach.mbPerSec)}`, met: t.sessionApi.mbPerSec >= attach.mbPerSec });
    const shell = r.throughputShell?.sessionApi;
    if (shell) out.push({ target: `throughput, exec shell >= ${reference}`, measured: `${mbs(shell.mbPerSec)} vs ${mbs(t.reference.mbPerSec)}`, met: shell.mbPerSec >= t.reference.mbPerSec });
  }
  const y = r.throughputYes;
  if (y) {
    out.push({ target: `throughput yes, attach >= ${reference}`, measured: `${mbs(y.sessionApi.mbPerSec)} vs ${mbs(y.reference.mbPerSec)}`, met: y.sessionApi.mbPerSec >= y.reference.mbPerSec });
    const attach = r.kubectlAttach?.throughputYes;
    if (attach) out.push({ target: "throughput yes, attach >= kubectl attach", measured: `${mbs(y.sessionApi.mbPerSec)} vs ${mbs(attach.mbPerSec)}`, met: y.sessionApi.mbPerSec >= attach.mbPerSec });
  }
  const echo = (target: string, ours: Echo | undefined, theirs: Echo | undefined): void => {
    if (!ours || !theirs) return;
    out.push({ target: `${target} p50 within ${ECHO_SLACK_MS} ms of ${reference}`, measured: `${ms(ours.p50)} vs ${ms(theirs.p50)}`, met: ours.p50 <= theirs.p50 + ECHO_SLACK_MS });
  };
  echo("echo idle, attach,", r.echoIdle?.sessionApi, r.echoIdle?.reference);
  echo("echo streaming, attach,", r.echoStreaming?.sessionApi, r.echoStreaming?.reference);
  echo("echo idle, exec shell,", r.echoShell?.idle, r.echoIdle?.reference);
  echo("echo streaming, exec shell,", r.echoShell?.streaming, r.echoStreaming?.reference);
  if (r.fanOut) out.push({ target: `every viewer within ${MAX_VIEWER_LAG_MS} ms of live`, measured: `worst ${r.fanOut.maxLagMs.toFixed(0)} ms`, met: r.fanOut.maxLagMs <= MAX_VIEWER_LAG_MS });
  return out;
}
