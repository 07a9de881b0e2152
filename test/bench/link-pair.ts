// Two ends of a link in one process for the link and resource benchmarks: every packet goes through
// encodePacket and decodePacket, nothing through Transport (the reference's side, reference_mesh_bench.py,
// stands in for Transport the same way).
import { toHex, type Bytes } from "../../runtime/core/bytes.js";
import { cryptoRandom, seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { destinationHash, nameHash } from "../../runtime/wire/destination.js";
import { decodePacket, encodePacket, type Packet, type ReceivedPacket } from "../../runtime/wire/packet.js";
import { Link } from "../../runtime/mesh/link/link.js";

export interface PairSetup {
  owner: Identity;
  verifier: Identity;
  destination: Uint8Array;
  /** The owner's private key in hex, for the reference's run on the same destination. */
  ownerPrivateKeyHex: string;
}

export function pairSetup(seed = 71): PairSetup {
  const owner = Identity.generate(seededRandom(seed));
  return {
    owner,
    verifier: Identity.fromPublicKey(owner.publicKey),
    destination: destinationHash(nameHash("kos", ["bench"]), owner.hash),
    ownerPrivateKeyHex: toHex(owner.privateKey),
  };
}

export function wire(p: Packet, mtu: number): ReceivedPacket {
  const d = decodePacket(encodePacket(p, mtu));
  if (!d.ok) throw new Error(`bench packet does not decode: ${d.reason}`);
  return d.value;
}

/** A full handshake between two fresh links (request, proof, RTT); returns both ends, established. */
export function establish(s: PairSetup, nowMs: number, hwMtu?: number): { a: Link; b: Link } {
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

/** Read once: the getter costs as much as now() itself, and it is asked for every packet. */
const TIME_ORIGIN = performance.timeOrigin;

/** Wall-clock milliseconds with sub-millisecond resolution (both benchmarks' machines run on real time). */
export function wallMs(): number {
  return TIME_ORIGIN + performance.now();
}

export type { Bytes };
