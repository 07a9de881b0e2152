// What Transport refuses, and counts: duplicates, replayed and forged announces, key conflicts, blackholed
// identities, hop limits, strays for other transport nodes; and that random input never throws.
import { test } from "node:test";
import assert from "node:assert/strict";
import { equal, toHex } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { announceRandomHash, buildAnnounce } from "../../runtime/wire/announce.js";
import { DestinationType, encodePacket, HeaderType, TransportType, type Packet } from "../../runtime/wire/packet.js";
import { Transport } from "../../runtime/mesh/transport/transport.js";
import { SimDestination, T0, dataPacket } from "./harness.js";

const IF = 1;

function node(opts: { transportEnabled?: boolean; blackholed?: Uint8Array[] } = {}) {
  const random = seededRandom(42);
  const identity = Identity.generate(random);
  const t = new Transport({
    identity,
    random,
    transportEnabled: opts.transportEnabled ?? false,
    ...(opts.blackholed !== undefined ? { blackholedIdentities: opts.blackholed } : {}),
  });
  t.addInterface({ id: IF, name: "test/if1", mode: "full", bitrateBps: 1_000_000, hwMtu: 500, out: true, announceCap: 0.02, ingressControl: false }, T0);
  const dest = new Uint8Array(16).fill(0x42);
  t.registerDestination(dest, DestinationType.SINGLE);
  return { t, identity, random, dest };
}

const remote = new SimDestination(Identity.generate(seededRandom(5)), ["kos", "remote"], seededRandom(6));
const drops = (t: Transport): Record<string, number> => t.stats.interfaces[IF]!.drops;

test("the same packet arriving twice is delivered once and the copy is counted as a duplicate", () => {
  const { t, dest } = node();
  const raw = encodePacket(dataPacket(dest, Uint8Array.of(1, 2, 3)));
  t.inbound(IF, raw, T0);
  t.inbound(IF, raw, T0 + 10);
  assert.equal(t.takeEvents().filter((e) => e.kind === "packet").length, 1);
  assert.equal(drops(t)["duplicate"], 1);
});

test("a packet differing only in hops or header is still the same packet for dedup", () => {
  const { t, dest } = node();
  const p = dataPacket(dest, Uint8Array.of(9));
  t.inbound(IF, encodePacket(p), T0);
  t.inbound(IF, encodePacket({ ...p, hops: 3 }), T0);
  assert.equal(drops(t)["duplicate"], 1);
});

test("link keepalives and PLAIN packets are never deduplicated, as in the reference's packet filter", () => {
  const { t } = node();
  const linkId = new Uint8Array(16).fill(0x11);
  t.registerLink(linkId, IF);
  const keepalive = encodePacket(dataPacket(linkId, Uint8Array.of(0xff), { destinationType: DestinationType.LINK, context: 0xfa }));
  t.inbound(IF, keepalive, T0);
  t.inbound(IF, keepalive, T0 + 1);
  assert.equal(t.takeEvents().length, 2);
  const plain = new Uint8Array(16).fill(0x22);
  t.registerDestination(plain, DestinationType.PLAIN);
  const p = encodePacket(dataPacket(plain, Uint8Array.of(1), { destinationType: DestinationType.PLAIN }));
  t.inbound(IF, p, T0);
  t.inbound(IF, p, T0 + 1);
  assert.equal(t.takeEvents().length, 2);
});

test("a PLAIN packet that has travelled more than one hop is dropped", () => {
  const { t } = node();
  const plain = new Uint8Array(16).fill(0x22);
  t.registerDestination(plain, DestinationType.PLAIN);
  t.inbound(IF, encodePacket({ ...dataPacket(plain, Uint8Array.of(1), { destinationType: DestinationType.PLAIN }), hops: 1 }), T0);
  assert.equal(t.takeEvents().length, 0);
  assert.equal(drops(t)["hops"], 1);
});

test("a packet that reaches 128 hops on receipt is dropped", () => {
  const { t, dest } = node();
  t.inbound(IF, encodePacket({ ...dataPacket(dest, Uint8Array.of(1)), hops: 127 }), T0);
  assert.equal(t.takeEvents().length, 0);
  assert.equal(drops(t)["hops"], 1);
});

test("a packet in transport for another transport node is ignored", () => {
  const { t, dest } = node({ transportEnabled: true });
  const p: Packet = { ...dataPacket(dest, Uint8Array.of(1)), headerType: HeaderType.HEADER_2, transportType: TransportType.TRANSPORT, transportId: new Uint8Array(16).fill(0xee) };
  t.inbound(IF, encodePacket(p), T0);
  assert.equal(t.takeEvents().length, 0);
  assert.equal(drops(t)["other-transport"], 1);
});

test("malformed frames are dropped and counted, never thrown", () => {
  const { t } = node();
  t.inbound(IF, Uint8Array.of(1, 2, 3), T0);
  t.inbound(IF, new Uint8Array(0), T0);
  assert.equal(drops(t)["malformed"], 2);
});

test("a replayed announce is ignored: one announce event, the copy counted as a replay", () => {
  const { t } = node();
  const raw = encodePacket(remote.announce(T0));
  t.inbound(IF, raw, T0);
  t.inbound(IF, raw, T0 + 60_000);
  assert.equal(t.takeEvents().filter((e) => e.kind === "announce").length, 1);
  assert.equal(drops(t)["replay"], 1);
});

test("an announce emitted earlier than the one that set the path is ignored", () => {
  const { t } = node();
  t.inbound(IF, encodePacket(remote.announce(T0 + 10_000)), T0 + 10_000);
  t.inbound(IF, encodePacket(remote.announce(T0)), T0 + 11_000);
  assert.equal(t.takeEvents().filter((e) => e.kind === "announce").length, 1);
  assert.equal(drops(t)["replay"], 1);
});

test("a newer announce replaces the path and is reported", () => {
  const { t } = node();
  t.inbound(IF, encodePacket(remote.announce(T0)), T0);
  t.inbound(IF, encodePacket(remote.announce(T0 + 5_000)), T0 + 5_000);
  assert.equal(t.takeEvents().filter((e) => e.kind === "announce").length, 2);
  assert.equal(t.pathTo(remote.hash)!.announcedAtMs, T0 + 5_000);
});

test("a forged announce (bad signature) is dropped and counted", () => {
  const { t } = node();
  const raw = encodePacket(remote.announce(T0));
  raw[raw.length - 1]! ^= 1;
  t.inbound(IF, raw, T0);
  assert.equal(t.hasPath(remote.hash), false);
  assert.equal(drops(t)["bad-announce"], 1);
});

test("an announce for a destination hash that its key does not produce is dropped", () => {
  const { t } = node();
  const p = remote.announce(T0);
  const other = new SimDestination(Identity.generate(seededRandom(8)), ["kos", "remote"], seededRandom(9));
  t.inbound(IF, encodePacket({ ...p, destinationHash: other.hash }), T0);
  assert.equal(drops(t)["bad-announce"], 1);
  assert.equal(t.hasPath(other.hash), false);
});

test("an announce whose identity is blackholed is dropped and counted", () => {
  const { t } = node({ blackholed: [remote.identity.hash] });
  t.inbound(IF, encodePacket(remote.announce(T0)), T0);
  assert.equal(t.hasPath(remote.hash), false);
  assert.equal(drops(t)["blackholed"], 1);
});

test("blackholing an identity later removes the paths to its destinations", () => {
  const { t } = node();
  t.inbound(IF, encodePacket(remote.announce(T0)), T0);
  assert.equal(t.hasPath(remote.hash), true);
  t.blackholeIdentity(remote.identity.hash);
  assert.equal(t.hasPath(remote.hash), false);
});

test("an echo of our own destination's announce does not make a path to it", () => {
  const random = seededRandom(3);
  const identity = Identity.generate(random);
  const t = new Transport({ identity, random, transportEnabled: false });
  t.addInterface({ id: IF, name: "if", mode: "full", bitrateBps: 1e6, hwMtu: 500, out: true, announceCap: 0.02, ingressControl: false }, T0);
  const mine = new SimDestination(identity, ["kos", "mine"], random);
  t.registerDestination(mine.hash, DestinationType.SINGLE);
  t.inbound(IF, encodePacket({ ...mine.announce(T0), hops: 1 }), T0);
  assert.equal(t.hasPath(mine.hash), false);
  assert.equal(drops(t)["local-destination"], 1);
});

test("random and mutated frames never throw (seeded)", () => {
  const seed = Number(process.env["KOS_FUZZ_SEED"] ?? 20260101);
  console.log(`transport fuzz seed ${seed}`);
  const rng = seededRandom(seed);
  const { t, dest } = node({ transportEnabled: true });
  const seeds = [
    encodePacket(remote.announce(T0)),
    encodePacket(dataPacket(dest, Uint8Array.of(1, 2))),
    encodePacket(buildAnnounce(remote.identity, remote.nameHash, { randomHash: announceRandomHash(rng, T0), pathResponse: true })),
  ];
  for (let i = 0; i < 3_000; i++) {
    let raw: Uint8Array;
    if (i % 3 === 0) raw = rng.bytes(rng.next32() % 200);
    else {
      raw = seeds[i % seeds.length]!.slice();
      const n = 1 + (rng.next32() % 3);
      for (let k = 0; k < n && raw.length > 0; k++) raw[rng.next32() % raw.length] = rng.next32() & 0xff;
    }
    assert.doesNotThrow(() => t.inbound(IF, raw, T0 + i), `case ${i} (seed ${seed})`);
    t.takeEvents();
    t.takeTransmits();
  }
  assert.doesNotThrow(() => t.tick(T0 + 10_000_000));
  assert.ok(equal(t.transportId, t.transportId));
});

test("an announce whose public key differs from the one known for its destination is refused (key conflict)", () => {
  const { t } = node();
  const otherKey = Identity.generate(seededRandom(12)).publicKey;
  const state = {
    format: "kos-edge transport state",
    version: 1,
    transportId: "00".repeat(16),
    paths: [],
    knownDestinations: [{ destinationHash: toHex(remote.hash), publicKey: toHex(otherKey), appData: null, lastSeenMs: T0 }],
  };
  assert.ok(t.importState(state, T0).ok);
  t.inbound(IF, encodePacket(remote.announce(T0)), T0);
  assert.equal(t.hasPath(remote.hash), false);
  assert.equal(drops(t)["key-conflict"], 1);
});
