// Resource benchmark: a 5 MiB resource at MTU 500 (5 segments, about 11,300 parts) between the two ends of a
// real, freshly established link pair in one process, on the wall clock, each end's resources run by the
// engine's LinkResources (what kosd runs), every packet through encodePacket/decodePacket and delivered as
// soon as it is sent. The figure is what the machines and codecs cost, not a network's speed: from starting
// the sender to both ends complete, median of 5 runs after 3 warm-up runs.
//
// The reference does the same in one Python process (reference_mesh_bench.py resource): RNS.Resource over an
// RNS.Link pair, auto_compress off, until the receiver's and the sender's concluded callbacks have both run.
// A second figure of ours, with 2 % loss on a virtual clock (test/mesh/resource.harness.ts), has no
// reference counterpart.
import { performance } from "node:perf_hooks";
import { equal, type Bytes } from "../../runtime/core/bytes.js";
import { cryptoRandom } from "../../runtime/core/ports.js";
import { decodePacket, encodePacket } from "../../runtime/wire/packet.js";
import type { Link } from "../../runtime/mesh/link/link.js";
import { LinkResources } from "../../runtime/engine/resources.js";
import { ResourceSim, testData } from "../mesh/resource.harness.js";
import { median, type Figure } from "./measure.js";
import { establish, pairSetup, wallMs, type PairSetup } from "./link-pair.js";
import { runReferenceMesh, type ReferenceEnv } from "./reference.js";

const SIZE_BYTES = 5 * 1024 * 1024;
const RUNS = 5;
/** Runs before the measured ones (JIT, heap growth), the same number on both sides. */
const WARMUP = 3;
/** Bounds one transfer: packets handled and wall time. */
const MAX_STEPS = 1_000_000;
const MAX_MS = 120_000;

interface End {
  link: Link;
  resources: LinkResources;
}

export function transferOnce(s: PairSetup, data: Bytes): number {
  const { a, b } = establish(s, wallMs());
  const ends: [End, End] = [
    { link: a, resources: new LinkResources(a, cryptoRandom) },
    { link: b, resources: new LinkResources(b, cryptoRandom) },
  ];
  ends[1].resources.acceptUpToBytes = data.length;
  // A FIFO whose taken slots are cleared at once, as the reference's deque.popleft() lets go of its packets
  // (holding thousands of delivered packets until the next compaction only fed the garbage collector).
  const queue: Array<{ raw: Bytes; to: 0 | 1 } | null> = [];
  let head = 0;
  let sent = false;
  let received: Bytes | null = null;
  const collect = (from: 0 | 1): void => {
    const e = ends[from];
    for (const p of e.link.takePackets()) queue.push({ raw: encodePacket(p, e.link.mtu), to: (1 - from) as 0 | 1 });
    for (const p of e.resources.takePackets()) queue.push({ raw: encodePacket(p, e.link.mtu), to: (1 - from) as 0 | 1 });
    for (const ev of e.resources.takeEvents()) {
      if (ev.status === "failed") throw new Error(`resource benchmark transfer failed: ${ev.reason ?? "?"}`);
      if (ev.status !== "complete") continue;
      if (ev.direction === "out") sent = true;
      else received = ev.data ?? null;
    }
  };

  const start = performance.now();
  ends[0].resources.send(data, null, wallMs());
  collect(0);
  for (let step = 0; !(sent && received !== null); step++) {
    if (step > MAX_STEPS || performance.now() - start > MAX_MS) throw new Error("resource benchmark transfer did not finish");
    if (head === queue.length) {
      // Nothing in flight: only a deadline can move things on (none is expected on a lossless line).
      const now = wallMs();
      for (const [i, e] of ends.entries()) {
        e.link.tick(now);
        e.resources.tick(now);
        collect(i as 0 | 1);
      }
      continue;
    }
    const f = queue[head]!;
    queue[head++] = null;
    if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    const d = decodePacket(f.raw);
    if (!d.ok) throw new Error(`resource benchmark packet does not decode: ${d.reason}`);
    const e = ends[f.to];
    const now = wallMs();
    e.link.handle(d.value, now);
    for (const ev of e.link.takeEvents()) {
      if (ev.kind === "data" && e.resources.handles(ev.context)) e.resources.handle(ev.context, ev.packet, ev.plaintext, now);
    }
    collect(f.to);
  }
  const elapsedMs = performance.now() - start;
  if (!equal(received!, data)) throw new Error("resource benchmark: received data differs");
  return SIZE_BYTES / 1e6 / (elapsedMs / 1000);
}

function lossyOnce(seed: number): number {
  const sim = new ResourceSim({ seed, latencyMs: 1, bitrateBps: 1_000_000_000, lossRate: 0.02, log: false });
  const data = testData(SIZE_BYTES, seed);
  const start = performance.now();
  const sender = sim.send({ data });
  sim.run({ maxEvents: 10_000_000 });
  const elapsedMs = performance.now() - start;
  if (sender.status !== "complete" || sim.receiver?.status !== "complete" || !equal(sim.receiver.data!, data)) {
    throw new Error(`lossy resource benchmark did not complete (sender ${sender.status}, receiver ${sim.receiver?.status})`);
  }
  return SIZE_BYTES / 1e6 / (elapsedMs / 1000);
}

export async function benchResource(o: { root: string; reference: ReferenceEnv }): Promise<Figure[]> {
  const s = pairSetup();
  const data = testData(SIZE_BYTES, 10);
  for (let i = 0; i < WARMUP; i++) transferOnce(s, data);
  const runs = Array.from({ length: RUNS }, () => transferOnce(s, data));
  lossyOnce(1);
  const lossy = median(Array.from({ length: RUNS }, (_, i) => lossyOnce(20 + i)));

  const ref = runReferenceMesh(o.root, o.reference, "resource", { ownerPrivateKey: s.ownerPrivateKeyHex, sizeBytes: SIZE_BYTES, runs: RUNS, warmup: WARMUP });
  if (!ref.ok && o.reference.available) process.stdout.write(`reference resource benchmark failed: ${ref.error}\n`);
  const refValue = ref.ok ? ref.value["resource 5 MiB at MTU 500, in-process"] : undefined;
  const refRuns = ref.ok && Array.isArray(ref.value["runs"]) ? (ref.value["runs"] as number[]) : [];
  const refFailures = ref.ok && typeof ref.value["failures"] === "number" ? (ref.value["failures"] as number) : 0;
  const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join("/");
  return [
    {
      name: "resource 5 MiB at MTU 500, in-process",
      value: median(runs),
      unit: "MB/s",
      higherIsBetter: true,
      note:
        `link pair, real AES/HMAC; runs ${fmt(runs)}${refRuns.length ? `, reference ${fmt(refRuns)}` : ""}` +
        (refFailures > 0 ? `; ${refFailures} reference transfer(s) failed (its watchdog gave up), retried and not counted` : ""),
      ...(typeof refValue === "number" ? { reference: refValue } : {}),
    },
    { name: "resource 5 MiB at MTU 500, 2% loss", value: lossy, unit: "MB/s", higherIsBetter: true, note: "ours only: retransmissions on a virtual clock" },
  ];
}
