// Transport benchmark: CPU per packet a transport node relays between two interfaces (decode, hash, dedup,
// path lookup, header rewrite, reverse table entry), for HEADER_2 data relayed to a further transport node
// (next hop) and to the destination itself (last hop, transport header stripped). Each packet is distinct
// (a counter in the payload) so dedup never short-circuits; the machine's tables run at steady state.
import { concat, type Bytes } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { announceRandomHash, buildAnnounce } from "../../runtime/wire/announce.js";
import { destinationHash, nameHash } from "../../runtime/wire/destination.js";
import { DestinationType, encodePacket, HeaderType, PacketType, TransportType } from "../../runtime/wire/packet.js";
import { Transport } from "../../runtime/mesh/transport/transport.js";
import { measureOps, type Figure } from "./measure.js";

const NOW_MS = 1_763_700_000_000;
const PAYLOAD = 100;

interface Setup {
  t: Transport;
  template: Bytes;
}

/** A transport node with a path to a destination: `hops` 1 (a neighbour) or 2 (through upstream transport X). */
function setup(hops: 1 | 2): Setup {
  const rng = seededRandom(hops);
  const identity = Identity.generate(rng);
  const t = new Transport({ identity, random: rng, transportEnabled: true });
  for (const id of [1, 2]) {
    t.addInterface({ id, name: `bench${id}`, mode: "full", bitrateBps: 10_000_000, hwMtu: 500, out: true, announceCap: 0.02, ingressControl: false }, NOW_MS);
  }
  const owner = Identity.generate(rng);
  const nh = nameHash("kos", ["bench", "transport"]);
  const announce = buildAnnounce(owner, nh, { randomHash: announceRandomHash(rng, NOW_MS) });
  const raw =
    hops === 1
      ? encodePacket(announce)
      : encodePacket({ ...announce, headerType: HeaderType.HEADER_2, transportType: TransportType.TRANSPORT, transportId: rng.bytes(16), hops: 1 });
  t.inbound(2, raw, NOW_MS);
  const dest = destinationHash(nh, owner.hash);
  if (t.hopsTo(dest) !== hops) throw new Error(`bench setup: expected a ${hops}-hop path`);
  t.takeEvents();
  t.tick(NOW_MS + 10_000);
  t.takeTransmits();
  const template = encodePacket({
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
  return { t, template };
}

function forwardRate(s: Setup): number {
  const { t, template } = s;
  const at = template.length - PAYLOAD;
  let forwarded = 0;
  let i = 0;
  const rate = measureOps(() => {
    i++;
    // A distinct packet each time: the counter sits in the payload, which the packet hash covers.
    template[at] = i & 0xff;
    template[at + 1] = (i >>> 8) & 0xff;
    template[at + 2] = (i >>> 16) & 0xff;
    template[at + 3] = (i >>> 24) & 0xff;
    t.inbound(1, template, NOW_MS + 20_000);
    forwarded += t.takeTransmits().length;
  });
  if (forwarded === 0 || t.stats.totals.drops["duplicate"] !== undefined) throw new Error("bench: packets were not forwarded");
  return rate;
}

export async function benchTransport(): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const [hops, label] of [
    [2, "next hop, HEADER_2 rewritten"],
    [1, "last hop, HEADER_1 out"],
  ] as const) {
    const rate = forwardRate(setup(hops));
    figures.push({ name: `transport relay (${label})`, opsPerSec: rate, higherIsBetter: true, note: `${PAYLOAD} B payload, distinct packets` });
    figures.push({ name: `transport relay CPU/packet (${label})`, value: 1e6 / rate, unit: "µs", higherIsBetter: false });
  }
  return figures;
}
