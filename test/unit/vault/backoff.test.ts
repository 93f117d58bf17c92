import { test } from "node:test";
import assert from "node:assert/strict";
import { backoffDelays } from "../../../sidecar/vault/backoff.js";

test("backoff: doubling, capped, one wait fewer than the attempts", () => {
  const cases: Array<[{ attempts: number; initialDelayMs: number; maxDelayMs: number }, number[]]> = [
    [{ attempts: 1, initialDelayMs: 200, maxDelayMs: 5_000 }, []],
    [{ attempts: 2, initialDelayMs: 200, maxDelayMs: 5_000 }, [200]],
    [{ attempts: 5, initialDelayMs: 200, maxDelayMs: 5_000 }, [200, 400, 800, 1_600]],
    [{ attempts: 8, initialDelayMs: 200, maxDelayMs: 5_000 }, [200, 400, 800, 1_600, 3_200, 5_000, 5_000]],
    [{ attempts: 4, initialDelayMs: 0, maxDelayMs: 5_000 }, [0, 0, 0]],
    [{ attempts: 3, initialDelayMs: 1_000, maxDelayMs: 500 }, [500, 500]],
  ];
  for (const [bounds, expected] of cases) assert.deepEqual(backoffDelays(bounds), expected, JSON.stringify(bounds));
});
