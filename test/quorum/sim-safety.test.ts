// Seeded safety and liveness of local quorum over the simulator (sim-runs.ts describes a run): real Engines
// gossiping PLAIN packets over the LoRa medium model (SF7, airtime, collisions, loss) and wired segments, with
// partitions, crashes and f < n/3 Byzantine members (equivocating, forging, replaying, voting late, silent).
// Safety is checked in every run; liveness when a threshold of connected honest members vote alike.
// QUORUM_SIM_SEEDS=N runs N seeds (default 3,000, on two worker threads); QUORUM_SIM_SEED=S replays one run
// exactly, in this thread. A failure names its seed and every parameter of its run.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as os from "node:os";
import { Worker } from "node:worker_threads";
import { describe as describeRun, paramsOf, runSeed } from "./sim-runs.js";

const one = process.env["QUORUM_SIM_SEED"];

if (one !== undefined) {
  test(`quorum over the simulator: replay of seed ${one}`, () => {
    const seed = Number(one);
    assert.ok(Number.isSafeInteger(seed) && seed >= 0, "QUORUM_SIM_SEED must be a non-negative integer");
    process.stdout.write(`# seed ${seed}: ${describeRun(paramsOf(seed))}\n`);
    const r = runSeed(seed);
    assert.ok(r.ok, r.message);
  });
} else {
  test("quorum over the simulator: safety in every run, liveness when a threshold of connected honest members agree (thousands of seeds)", async () => {
    const count = Number(process.env["QUORUM_SIM_SEEDS"] ?? 3000);
    assert.ok(Number.isSafeInteger(count) && count > 0, "QUORUM_SIM_SEEDS must be a positive integer");
    const workers = Math.max(1, Math.min(2, os.availableParallelism()));
    const seeds = Array.from({ length: count }, (_, i) => i + 1);
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: workers }, (_, w) => new Promise<{ runs: number; liveness: number; failures: string[] }>((resolve, reject) => {
        const worker = new Worker(new URL("./sim-runs.js", import.meta.url), { workerData: { kind: "quorum-sim", seeds: seeds.filter((_, i) => i % workers === w) } });
        worker.once("message", resolve);
        worker.once("error", reject);
        worker.once("exit", (code) => (code !== 0 ? reject(new Error(`worker exited with ${code}`)) : undefined));
      })),
    );
    const runs = results.reduce((s, r) => s + r.runs, 0);
    const liveness = results.reduce((s, r) => s + r.liveness, 0);
    const failures = results.flatMap((r) => r.failures);
    process.stdout.write(`# ${runs} seeded runs (${liveness} with the liveness condition) in ${((performance.now() - started) / 1000).toFixed(1)} s on ${workers} threads\n`);
    assert.equal(runs, count);
    // Liveness must actually be exercised, not vacuous.
    assert.ok(liveness >= count / 4, `only ${liveness} of ${count} runs met the liveness condition`);
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${runs} runs failed`);
  });
}
