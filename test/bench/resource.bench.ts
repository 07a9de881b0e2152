// Resource benchmark: wall-clock throughput of a 5 MiB resource at MTU 500 (5 segments, about 11,300 parts),
// sender and receiver in one process over the fake link of test/mesh/resource.harness.ts with real link
// encryption and every packet through encodePacket/decodePacket. The link itself is virtual and fast (1 Gbit/s,
// 1 ms), so the figure is what the two machines and the codecs cost, not a radio's speed. Median of 3 runs.
import { performance } from "node:perf_hooks";
import { equal } from "../../runtime/core/bytes.js";
import { ResourceSim, testData } from "../mesh/resource.harness.js";
import { median, type Figure } from "./measure.js";

const SIZE_BYTES = 5 * 1024 * 1024;
const RUNS = 3;

function runOnce(seed: number, lossRate: number): number {
  const sim = new ResourceSim({ seed, latencyMs: 1, bitrateBps: 1_000_000_000, lossRate, log: false });
  const data = testData(SIZE_BYTES, seed);
  const start = performance.now();
  const sender = sim.send({ data });
  sim.run({ maxEvents: 10_000_000 });
  const elapsedMs = performance.now() - start;
  if (sender.status !== "complete" || sim.receiver?.status !== "complete" || !equal(sim.receiver.data!, data)) {
    throw new Error(`resource benchmark transfer did not complete (sender ${sender.status}, receiver ${sim.receiver?.status})`);
  }
  return SIZE_BYTES / 1e6 / (elapsedMs / 1000);
}

export async function benchResource(): Promise<Figure[]> {
  runOnce(1, 0); // warm up the JIT
  const clean = median(Array.from({ length: RUNS }, (_, i) => runOnce(10 + i, 0)));
  const lossy = median(Array.from({ length: RUNS }, (_, i) => runOnce(20 + i, 0.02)));
  return [
    { name: "resource 5 MiB at MTU 500, in-process", value: clean, unit: "MB/s", higherIsBetter: true, note: "sender + receiver, real AES/HMAC" },
    { name: "resource 5 MiB at MTU 500, 2% loss", value: lossy, unit: "MB/s", higherIsBetter: true, note: "retransmit requests on a virtual clock" },
  ];
}
