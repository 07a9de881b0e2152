// Link benchmarks, in-process: establishment of a pair (request, proof, RTT, each encoded and decoded) and
// packet throughput on an established link (send -> encodePacket -> decodePacket -> handle -> the data event)
// at MTU 500 and 8192 with full-MDU plaintexts. Byte rates count plaintext (10^6 bytes per MB).
//
// The reference does the same work in one Python process (reference_mesh_bench.py link): RNS.Link pairs,
// RNS.Packet pack/unpack, Link.receive, Transport replaced by an in-process queue as here. It is measured
// twice for packets: delivering each packet to an application callback (how an RNS app receives link data;
// the reference starts a thread per packet for it) and with no callback (decrypt and discard).
import type { Figure } from "./measure.js";
import { measureOps } from "./measure.js";
import { establish, pairSetup, wire, type PairSetup } from "./link-pair.js";
import { runReferenceMesh, type ReferenceEnv } from "./reference.js";
import { seededRandom } from "../../runtime/core/ports.js";

const T0_MS = 1_763_700_000_000;
const TIMING = { rounds: 3, roundMs: 500 };
const MTUS = [500, 8192] as const;

interface Throughput {
  mtu: number;
  mdu: number;
  packetsPerSec: number;
}

function throughput(s: PairSetup, hwMtu: number): Throughput {
  const { a, b } = establish(s, T0_MS, hwMtu);
  const plaintext = seededRandom(hwMtu).bytes(a.mdu);
  let received = 0;
  const packetsPerSec = measureOps((i) => {
    const now = T0_MS + 10 + i;
    b.handle(wire(a.send(plaintext, now), a.mtu), now);
    for (const ev of b.takeEvents()) if (ev.kind === "data") received++;
  }, TIMING);
  if (received === 0) throw new Error("no packet arrived");
  return { mtu: hwMtu, mdu: a.mdu, packetsPerSec };
}

export async function benchLink(o: { root: string; reference: ReferenceEnv }): Promise<Figure[]> {
  const s = pairSetup();
  const establishPerSec = measureOps((i) => void establish(s, T0_MS + i * 10), { ...TIMING, batch: 8 });
  const ours = MTUS.map((mtu) => throughput(s, mtu));

  const ref = runReferenceMesh(o.root, o.reference, "link", { ownerPrivateKey: s.ownerPrivateKeyHex, mtus: MTUS });
  const r = (key: string): { reference?: number } => {
    const v = ref.ok ? ref.value[key] : undefined;
    return typeof v === "number" ? { reference: v } : {};
  };
  if (!ref.ok && o.reference.available) process.stdout.write(`reference link benchmark failed: ${ref.error}\n`);

  const figures: Figure[] = [
    {
      name: "link establishment (in-process pair)",
      value: 1e3 / establishPerSec,
      unit: "ms",
      higherIsBetter: false,
      note: "request, proof and RTT, each encoded and decoded",
      ...r("link establishment (in-process pair)"),
    },
  ];
  // The reference reports microseconds per establishment; shown in ms like ours.
  if (figures[0]!.reference !== undefined) figures[0]!.reference /= 1e3;
  for (const t of ours) {
    const app = r(`link packets, MTU ${t.mtu}`);
    const bare = r(`link packets, MTU ${t.mtu}, no app callback`);
    const note = `${t.mdu}-byte plaintext per packet`;
    figures.push({ name: `link packets, MTU ${t.mtu}`, opsPerSec: t.packetsPerSec, note: `${note}; reference delivers to an app callback`, ...app });
    figures.push({
      name: `link plaintext, MTU ${t.mtu}`,
      value: (t.packetsPerSec * t.mdu) / 1e6,
      unit: "MB/s",
      higherIsBetter: true,
      ...(app.reference !== undefined ? { reference: (app.reference * t.mdu) / 1e6 } : {}),
    });
    figures.push({ name: `link packets, MTU ${t.mtu}, ref. no callback`, opsPerSec: t.packetsPerSec, note: "same figure of ours; reference decrypts and discards", ...bare });
  }
  return figures;
}
