// Transport benchmark: CPU per packet a transport node relays between two interfaces (decode, hash, dedup,
// path lookup, header rewrite, reverse table entry), for HEADER_2 data relayed to a further transport node
// (next hop) and to the destination itself (last hop, transport header stripped). Each packet is distinct
// (a counter in the payload) so dedup never short-circuits; the machine's tables run at steady state.
//
// The reference runs the same packets through its real Transport.inbound (reference_mesh_bench.py
// transport): a transport-enabled RNS.Reticulum with this node's identity, two stub interfaces, the same two
// announces for its paths. Both sides are timed on the wall clock, one thread, median of three rounds.
import { concat, toHex, type Bytes } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { announceRandomHash, buildAnnounce } from "../../runtime/wire/announce.js";
import { destinationHash, nameHash } from "../../runtime/wire/destination.js";
import { DestinationType, encodePacket, HeaderType, PacketType, TransportType } from "../../runtime/wire/packet.js";
import { Transport } from "../../runtime/mesh/transport/transport.js";
import { median, type Figure } from "./measure.js";
import { runReferenceMesh, type ReferenceEnv } from "./reference.js";

const PAYLOAD = 100;

interface Case {
  name: string;
  hops: 1 | 2;
  destination: Bytes;
  packet: Bytes;
}

interface Setup {
  identity: Identity;
  announces: Bytes[];
  cases: Case[];
}

/** The node's identity, announces giving it a 1-hop and a 2-hop path, and a data packet for each. */
function makeSetup(nowMs: number): Setup {
  const rng = seededRandom(3);
  const identity = Identity.generate(rng);
  const announces: Bytes[] = [];
  const cases: Case[] = [];
  for (const [hops, name] of [
    [2, "next hop, HEADER_2 rewritten"],
    [1, "last hop, HEADER_1 out"],
  ] as const) {
    const owner = Identity.generate(rng);
    const nh = nameHash("kos", ["bench", "transport"]);
    const announce = buildAnnounce(owner, nh, { randomHash: announceRandomHash(rng, nowMs) });
    announces.push(
      hops === 1
        ? encodePacket(announce)
        : encodePacket({ ...announce, headerType: HeaderType.HEADER_2, transportType: TransportType.TRANSPORT, transportId: rng.bytes(16), hops: 1 }),
    );
    const dest = destinationHash(nh, owner.hash);
    const packet = encodePacket({
      headerType: HeaderType.HEADER_2,
      contextFlag: false,
      transportType: TransportType.TRANSPORT,
      destinationType: DestinationType.SINGLE,
      packetType: PacketType.DATA,
      hops: 0,
      transportId: identity.hash,
      destinationHash: dest,
      context: 0,
      data: concat(new Uint8Array(4), rng.bytes(PAYLOAD - 4)),
    });
    cases.push({ name, hops, destination: dest, packet });
  }
  return { identity, announces, cases };
}

interface Relay {
  /** Packets relayed per second of wall time (median of rounds). */
  rate: number;
  /** Process CPU time (user + system, every thread) per relayed packet, µs (median of rounds). */
  cpuUs: number;
}

/**
 * Time-bounded rounds of `fn` after a warm-up, like measureOps, also reading the process's CPU time: on a
 * shared machine wall time includes waiting for a core, CPU time does not.
 */
function measureRelay(fn: () => void, rounds = 3, roundMs = 700, batch = 64): Relay {
  for (let i = 0; i < batch * 4; i++) fn();
  const rates: number[] = [];
  const cpus: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < roundMs && n < 10_000_000) {
      for (let i = 0; i < batch; i++) fn();
      n += batch;
      elapsed = performance.now() - start;
    }
    const cpu = process.cpuUsage(cpu0);
    rates.push((n * 1000) / elapsed);
    cpus.push((cpu.user + cpu.system) / n);
  }
  return { rate: median(rates), cpuUs: median(cpus) };
}

function forwardRate(s: Setup, c: Case, nowMs: number): Relay {
  const t = new Transport({ identity: s.identity, random: seededRandom(4), transportEnabled: true });
  for (const id of [1, 2]) {
    t.addInterface({ id, name: `bench${id}`, mode: "full", bitrateBps: 10_000_000, hwMtu: 500, out: true, announceCap: 0.02, ingressControl: false }, nowMs);
  }
  for (const raw of s.announces) t.inbound(2, raw, nowMs);
  if (t.hopsTo(c.destination) !== c.hops) throw new Error(`bench setup: expected a ${c.hops}-hop path`);
  t.takeEvents();
  t.tick(nowMs + 10_000);
  t.takeTransmits();
  const template = c.packet.slice();
  const at = template.length - PAYLOAD;
  let forwarded = 0;
  let i = 0;
  const relay = measureRelay(() => {
    i++;
    // A distinct packet each time: the counter sits in the payload, which the packet hash covers.
    template[at] = i & 0xff;
    template[at + 1] = (i >>> 8) & 0xff;
    template[at + 2] = (i >>> 16) & 0xff;
    template[at + 3] = (i >>> 24) & 0xff;
    t.inbound(1, template, nowMs + 20_000);
    forwarded += t.takeTransmits().length;
  });
  if (forwarded === 0 || t.stats.totals.drops["duplicate"] !== undefined) throw new Error("bench: packets were not forwarded");
  return relay;
}

export async function benchTransport(o: { root: string; reference: ReferenceEnv }): Promise<Figure[]> {
  // Announce timestamps must be recent for the reference to take them: use the real clock.
  const nowMs = Date.now();
  const s = makeSetup(nowMs);
  const rates = s.cases.map((c) => forwardRate(s, c, nowMs));
  const ref = runReferenceMesh(o.root, o.reference, "transport", {
    transportPrivateKey: toHex(s.identity.privateKey),
    transportHash: toHex(s.identity.hash),
    announces: s.announces.map(toHex),
    cases: s.cases.map((c) => ({ name: c.name, hops: c.hops, destination: toHex(c.destination), packet: toHex(c.packet) })),
    payloadBytes: PAYLOAD,
  });
  if (!ref.ok && o.reference.available) process.stdout.write(`reference transport benchmark failed: ${ref.error}\n`);
  const figures: Figure[] = [];
  for (const [k, c] of s.cases.entries()) {
    const ours = rates[k]!;
    const refRate = ref.ok && typeof ref.value[c.name] === "number" ? (ref.value[c.name] as number) : undefined;
    const refCpu = ref.ok && typeof ref.value[`${c.name}, cpu`] === "number" ? (ref.value[`${c.name}, cpu`] as number) : undefined;
    figures.push({ name: `relay (${c.name})`, opsPerSec: ours.rate, note: `${PAYLOAD} B payload, distinct packets, wall clock`, ...(refRate !== undefined ? { reference: refRate } : {}) });
    figures.push({
      name: `relay CPU/packet (${c.name})`,
      value: ours.cpuUs,
      unit: "µs",
      higherIsBetter: false,
      note: "process CPU time (user + system, all threads) per relayed packet",
      ...(refCpu !== undefined ? { reference: refCpu } : {}),
    });
  }
  return figures;
}
