// Link benchmarks: establishment of an in-process pair (request, proof, RTT, each encoded and decoded), and
// packet throughput on an established link (send -> encodePacket -> decodePacket -> handle) at MTU 500 and
// 8192 with full-MDU plaintexts. Byte rates count plaintext (10^6 bytes per MB).
import { cryptoRandom, seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { destinationHash, nameHash } from "../../runtime/wire/destination.js";
import { decodePacket, encodePacket, type Packet, type ReceivedPacket } from "../../runtime/wire/packet.js";
import { Link } from "../../runtime/mesh/link/link.js";
import { measureOps, type Figure } from "./measure.js";

const T0_MS = 1_763_700_000_000;
const TIMING = { rounds: 3, roundMs: 500 };

function wire(p: Packet, mtu: number): ReceivedPacket {
  const d = decodePacket(encodePacket(p, mtu));
  if (!d.ok) throw new Error(`bench packet does not decode: ${d.reason}`);
  return d.value;
}

interface Setup {
  owner: Identity;
  verifier: Identity;
  destination: Uint8Array;
}

function setup(): Setup {
  const owner = Identity.generate(seededRandom(71));
  return { owner, verifier: Identity.fromPublicKey(owner.publicKey), destination: destinationHash(nameHash("kos", ["bench"]), owner.hash) };
}

/** A full handshake between two fresh links; returns both, established. */
function establish(s: Setup, nowMs: number, hwMtu?: number): { a: Link; b: Link } {
  const mtuOpt = hwMtu !== undefined ? { hwMtu } : {};
  const { link: a, request } = Link.initiate({ destinationHash: s.destination, destinationIdentity: s.verifier, random: cryptoRandom, nowMs, hops: 1, ...mtuOpt });
  const r = Link.accept(wire(request, 500), { owner: s.owner, random: cryptoRandom, nowMs, ...mtuOpt });
  if (!r.ok) throw new Error(`bench accept failed: ${r.reason}`);
  const b = r.value.link;
  a.handle(wire(r.value.proof, b.mtu), nowMs + 1);
  const rtt = a.takePackets()[0];
  if (rtt === undefined) throw new Error("no RTT packet");
  b.handle(wire(rtt, a.mtu), nowMs + 2);
  if (a.status !== "active" || b.status !== "active") throw new Error("bench link did not establish");
  a.takeEvents();
  b.takeEvents();
  return { a, b };
}

function throughput(s: Setup, hwMtu: number): Figure[] {
  const { a, b } = establish(s, T0_MS, hwMtu);
  const plaintext = seededRandom(hwMtu).bytes(a.mdu);
  let received = 0;
  const packetsPerSec = measureOps((i) => {
    const now = T0_MS + 10 + i;
    b.handle(wire(a.send(plaintext, now), a.mtu), now);
    received += b.takeEvents().length;
  }, TIMING);
  if (received === 0) throw new Error("no packet arrived");
  const note = `${a.mdu}-byte plaintext per packet`;
  return [
    { name: `link packets, MTU ${hwMtu} (send to handle)`, opsPerSec: packetsPerSec, note },
    { name: `link plaintext throughput, MTU ${hwMtu}`, value: (packetsPerSec * a.mdu) / 1e6, unit: "MB/s", higherIsBetter: true, note },
  ];
}

export async function benchLink(): Promise<Figure[]> {
  const s = setup();
  const establishPerSec = measureOps((i) => void establish(s, T0_MS + i * 10), { ...TIMING, batch: 8 });
  return [
    { name: "link establishment (in-process pair)", value: 1e6 / establishPerSec, unit: "µs", higherIsBetter: false, note: "request, proof and RTT, each encoded and decoded" },
    ...throughput(s, 500),
    ...throughput(s, 8192),
  ];
}
