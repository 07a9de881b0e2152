// Transport routing in small simulated networks: learning paths from announces, relaying data, proofs and
// links through a transport node, path requests answered from a table or by the destination.
import { test } from "node:test";
import assert from "node:assert/strict";
import { concat, equal } from "../../runtime/core/bytes.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { buildProofData, proofDestinationHash } from "../../runtime/wire/proof.js";
import { Context, DestinationType, HeaderType, PacketType, decodePacket, packetHash, type Packet } from "../../runtime/wire/packet.js";
import { linkIdOf } from "../../runtime/mesh/transport/link-mtu.js";
import type { TransportEvent } from "../../runtime/mesh/types.js";
import { Harness, T0, dataPacket, hostDestination, type SimNode } from "./harness.js";

/** A – T – B with T transport-enabled, B hosting a destination that announced; the network has settled. */
function chain() {
  const h = new Harness(7);
  const a = h.addNode("A");
  const t = h.addNode("T", { transportEnabled: true });
  const b = h.addNode("B");
  const at = h.connect(a, t);
  const tb = h.connect(t, b);
  const dest = hostDestination(b, "kos", "chain");
  b.transport.outbound(dest.announce(h.nowMs), h.nowMs);
  h.runFor(10_000);
  return { h, a, t, b, at, tb, dest };
}

/** Plays the engine's part for proofs: every packet delivered to a local SINGLE destination is proved. */
function proveEverything(node: SimNode): void {
  node.onEvent = (ev, n, nowMs) => {
    if (ev.kind !== "packet" || ev.packet.packetType !== PacketType.DATA || ev.packet.destinationType !== DestinationType.SINGLE) return;
    const hash = packetHash(ev.packet.raw);
    const proof: Packet = {
      ...dataPacket(proofDestinationHash(hash), buildProofData(n.identity, hash)),
      packetType: PacketType.PROOF,
    };
    n.transport.outbound(proof, nowMs, { interfaceId: ev.interfaceId });
  };
}

test("two neighbours learn each other's paths from announces, one hop away", () => {
  const h = new Harness(1);
  const a = h.addNode("A");
  const b = h.addNode("B");
  h.connect(a, b);
  const da = hostDestination(a, "kos", "a");
  const db = hostDestination(b, "kos", "b");
  a.transport.outbound(da.announce(h.nowMs), h.nowMs);
  b.transport.outbound(db.announce(h.nowMs), h.nowMs);
  h.runFor(1_000);
  assert.equal(a.transport.hopsTo(db.hash), 1);
  assert.equal(b.transport.hopsTo(da.hash), 1);
  assert.ok(equal(a.transport.pathTo(db.hash)!.nextHop, db.hash), "a neighbour's next hop is the destination itself");
  const announces = a.eventsOf("announce");
  assert.equal(announces.length, 1);
  assert.ok(equal(announces[0]!.announce.destinationHash, db.hash));
  assert.equal(announces[0]!.hops, 1);
  assert.equal(a.eventsOf("path").length, 1);
});

test("a node that does not route for others never rebroadcasts an announce", () => {
  const h = new Harness(2);
  const a = h.addNode("A");
  const m = h.addNode("M");
  const b = h.addNode("B");
  h.connect(a, m);
  h.connect(m, b);
  const db = hostDestination(b, "kos", "b");
  b.transport.outbound(db.announce(h.nowMs), h.nowMs);
  h.runFor(30_000);
  assert.equal(m.transport.hopsTo(db.hash), 1);
  assert.equal(a.transport.hasPath(db.hash), false);
  assert.equal(m.transport.stats.totals.announcesRebroadcast, 0);
});

test("through a transport node, A learns B's path with 2 hops and T's transport id as next hop", () => {
  const { a, t, dest } = chain();
  const path = a.transport.pathTo(dest.hash)!;
  assert.equal(path.hops, 2);
  assert.ok(equal(path.nextHop, t.identity.hash));
  assert.equal(t.transport.hopsTo(dest.hash), 1);
});

test("a transport node sends each rebroadcast twice (PATHFINDER_R retries) when no neighbour passes it on", () => {
  const { t } = chain();
  assert.equal(t.transport.stats.totals.announcesRebroadcast, 2);
  assert.equal(t.transport.stats.tables.announces, 0, "the announce table is empty once retries are done");
});

test("A's data to B travels as HEADER_2 to T, is delivered to B, and B's proof returns to A by the reverse table", () => {
  const { h, a, t, b, dest } = chain();
  proveEverything(b);
  const sent = a.transport.outbound(dataPacket(dest.hash, Uint8Array.of(1, 2, 3)), h.nowMs, { wantProof: true });
  assert.ok(sent.sent);
  const onAir = decodePacket(sent.raw!);
  assert.ok(onAir.ok);
  assert.equal(onAir.value.headerType, HeaderType.HEADER_2);
  assert.ok(equal(onAir.value.transportId!, t.identity.hash));
  h.runFor(1_000);
  const delivered = b.eventsOf("packet");
  assert.equal(delivered.length, 1);
  assert.equal(delivered[0]!.packet.headerType, HeaderType.HEADER_1, "the last hop strips the transport header");
  assert.equal(delivered[0]!.packet.hops, 2);
  assert.deepEqual(delivered[0]!.packet.data, Uint8Array.of(1, 2, 3));
  const proofs = a.eventsOf("proof");
  assert.equal(proofs.length, 1);
  assert.ok(equal(proofs[0]!.packet.destinationHash, proofDestinationHash(packetHash(sent.raw!))));
  assert.equal(t.transport.stats.totals.forwarded, 2);
  assert.equal(t.transport.stats.tables.reverse, 0, "a proof consumes its reverse table entry");
});

test("a link request from A to B through T gets its link proof back and link packets flow both ways", () => {
  const { h, a, t, b, dest } = chain();
  const linkKeys = Identity.generate(a.random).publicKey;
  const request: Packet = { ...dataPacket(dest.hash, linkKeys), packetType: PacketType.LINKREQUEST };
  const sent = a.transport.outbound(request, h.nowMs);
  const linkId = linkIdOf(sent.raw!, linkKeys.length);
  a.transport.registerLink(linkId);
  let bLinkInterface = -1;
  b.onEvent = (ev, n, nowMs) => {
    if (ev.kind !== "packet" || ev.packet.packetType !== PacketType.LINKREQUEST) return;
    const id = linkIdOf(ev.packet.raw, ev.packet.data.length);
    n.transport.registerLink(id, ev.interfaceId);
    bLinkInterface = ev.interfaceId;
    const responderKey = Identity.generate(n.random).encryptionPublicKey;
    const signature = n.identity.sign(concat(id, responderKey, n.identity.signingPublicKey));
    const proof: Packet = {
      ...dataPacket(id, concat(signature, responderKey), { destinationType: DestinationType.LINK, context: Context.LRPROOF }),
      packetType: PacketType.PROOF,
    };
    n.transport.outbound(proof, nowMs, { interfaceId: ev.interfaceId });
  };
  h.runFor(1_000);
  assert.equal(t.transport.stats.tables.links, 1);
  const lrproof = a.eventsOf("packet").filter((e) => e.packet.context === Context.LRPROOF);
  assert.equal(lrproof.length, 1, "A receives the link proof");
  assert.ok(equal(lrproof[0]!.packet.destinationHash, linkId));
  assert.ok(bLinkInterface > 0);

  a.transport.outbound(dataPacket(linkId, Uint8Array.of(0xaa), { destinationType: DestinationType.LINK }), h.nowMs);
  b.transport.outbound(dataPacket(linkId, Uint8Array.of(0xbb), { destinationType: DestinationType.LINK }), h.nowMs);
  h.runFor(1_000);
  const atB = b.eventsOf("packet").filter((e) => e.packet.destinationType === DestinationType.LINK && e.packet.packetType === PacketType.DATA);
  const atA = a.eventsOf("packet").filter((e) => e.packet.destinationType === DestinationType.LINK && e.packet.packetType === PacketType.DATA);
  assert.deepEqual(atB.map((e) => [...e.packet.data]), [[0xaa]]);
  assert.deepEqual(atA.map((e) => [...e.packet.data]), [[0xbb]]);
});

test("a link proof with a bad signature is not relayed and is counted", () => {
  const { h, a, t, b, dest, tb } = chain();
  const request: Packet = { ...dataPacket(dest.hash, Identity.generate(a.random).publicKey), packetType: PacketType.LINKREQUEST };
  const sent = a.transport.outbound(request, h.nowMs);
  const linkId = linkIdOf(sent.raw!, 64);
  a.transport.registerLink(linkId);
  h.runFor(100);
  const forged: Packet = {
    ...dataPacket(linkId, new Uint8Array(96).fill(7), { destinationType: DestinationType.LINK, context: Context.LRPROOF }),
    packetType: PacketType.PROOF,
  };
  b.transport.outbound(forged, h.nowMs, { interfaceId: h.interfaceOf(b, tb) });
  h.runFor(1_000);
  assert.equal(a.eventsOf("packet").length, 0);
  assert.equal(t.transport.stats.totals.drops["bad-proof"], 1);
});

test("a path request from A for B is answered by T from its table, after the grace time", () => {
  const { h, a, t, dest } = chain();
  a.transport.dropPath(dest.hash);
  const before = a.eventsOf("announce").length;
  assert.ok(a.transport.requestPath(dest.hash, h.nowMs));
  h.runFor(300);
  assert.equal(a.transport.hasPath(dest.hash), false, "T waits PATH_REQUEST_GRACE before answering");
  h.runFor(1_000);
  const answers = a.eventsOf("announce").slice(before);
  assert.equal(answers.length, 1);
  assert.equal(answers[0]!.pathResponse, true);
  assert.equal(a.transport.hopsTo(dest.hash), 2);
  assert.equal(t.transport.stats.totals.pathResponsesSent, 1);
});

test("a path request for a local destination becomes a path-request event, and the engine's answer gives the path", () => {
  const h = new Harness(3);
  const a = h.addNode("A");
  const b = h.addNode("B");
  h.connect(a, b);
  const dest = hostDestination(b, "kos", "direct");
  b.onEvent = (ev, n, nowMs) => {
    if (ev.kind === "path-request" && equal(ev.destinationHash, dest.hash)) {
      n.transport.outbound(dest.announce(nowMs, { pathResponse: true }), nowMs, { interfaceId: ev.interfaceId });
    }
  };
  a.transport.requestPath(dest.hash, h.nowMs);
  h.runFor(1_000);
  const requests = b.eventsOf("path-request");
  assert.equal(requests.length, 1);
  assert.equal(requests[0]!.tag!.length, 16);
  assert.equal(a.transport.hopsTo(dest.hash), 1);
  assert.equal(a.eventsOf("announce")[0]!.pathResponse, true);
});

test("a transport node that does not know a path asks on behalf of a gateway interface and relays the answer", () => {
  const h = new Harness(4);
  const a = h.addNode("A");
  const t = h.addNode("T", { transportEnabled: true });
  const b = h.addNode("B");
  h.connect(a, t, { mode: "gateway" });
  h.connect(t, b);
  const dest = hostDestination(b, "kos", "far");
  b.onEvent = (ev, n, nowMs) => {
    if (ev.kind === "path-request") n.transport.outbound(dest.announce(nowMs, { pathResponse: true }), nowMs, { interfaceId: ev.interfaceId });
  };
  a.transport.requestPath(dest.hash, h.nowMs);
  h.runFor(2_000);
  assert.equal(b.eventsOf("path-request").length, 1, "T forwarded the request to B");
  assert.equal(a.transport.hopsTo(dest.hash), 2);
  assert.ok(equal(a.transport.pathTo(dest.hash)!.nextHop, t.identity.hash));
});

test("on a full-mode interface a transport node does not search for unknown paths, as the reference", () => {
  const h = new Harness(5);
  const a = h.addNode("A");
  const t = h.addNode("T", { transportEnabled: true });
  const b = h.addNode("B");
  h.connect(a, t);
  h.connect(t, b);
  hostDestination(b, "kos", "far");
  a.transport.requestPath(hostDestination(b, "kos", "other").hash, h.nowMs);
  h.runFor(2_000);
  assert.equal(b.eventsOf("path-request").length, 0);
});

test("requestPath is held back for PATH_REQUEST_MI after a request for the same destination", () => {
  const h = new Harness(6);
  const a = h.addNode("A");
  const b = h.addNode("B");
  h.connect(a, b);
  const dest = new Uint8Array(16).fill(9);
  assert.equal(a.transport.requestPath(dest, h.nowMs), true);
  assert.equal(a.transport.requestPath(dest, h.nowMs + 19_999), false);
  assert.equal(a.transport.requestPath(dest, h.nowMs + 20_000), true);
});

test("a path request is sent with the reference's layout: destination, [transport id], 16-byte tag", () => {
  const h = new Harness(8);
  const a = h.addNode("A");
  const t = h.addNode("T", { transportEnabled: true });
  h.connect(a, t);
  const dest = new Uint8Array(16).fill(3);
  a.transport.requestPath(dest, T0);
  t.transport.requestPath(dest, T0);
  const fromA = decodePacket(a.transport.takeTransmits()[0]!.raw);
  const fromT = decodePacket(t.transport.takeTransmits()[0]!.raw);
  assert.ok(fromA.ok && fromT.ok);
  assert.equal(fromA.value.data.length, 32);
  assert.equal(fromT.value.data.length, 48);
  assert.ok(equal(fromT.value.data.subarray(16, 32), t.identity.hash));
  assert.equal(fromA.value.destinationType, DestinationType.PLAIN);
});

test("events carry the incremented hop count and the interface the packet came in on", () => {
  const { a, at, h } = chain();
  const ev = a.eventsOf("announce")[0] as Extract<TransportEvent, { kind: "announce" }>;
  assert.equal(ev.packet.hops, 2);
  assert.equal(ev.interfaceId, h.interfaceOf(a, at));
});

test("a link request relayed but never proved is forgotten after its proof timeout, and T asks for the path again", () => {
  const { h, a, t, dest, tb } = chain();
  h.connect(t, h.addNode("C"));
  const request: Packet = { ...dataPacket(dest.hash, Identity.generate(a.random).publicKey), packetType: PacketType.LINKREQUEST };
  a.transport.outbound(request, h.nowMs);
  h.runFor(100);
  assert.equal(t.transport.stats.tables.links, 1);
  const requestsBefore = t.transport.stats.totals.pathRequestsSent;
  tb.partitioned = true;
  // Proof timeout: airtime of one MTU on the receiving interface + 6 s per hop (1 hop to B).
  h.runFor(20_000);
  assert.equal(t.transport.stats.tables.links, 0);
  assert.ok(t.transport.stats.totals.pathRequestsSent > requestsBefore, "T asked for B's path again");
});

test("reverse table entries for unproved packets expire after REVERSE_TIMEOUT", () => {
  const { h, a, t, dest } = chain();
  a.transport.outbound(dataPacket(dest.hash, Uint8Array.of(1)), h.nowMs);
  h.runFor(1_000);
  assert.equal(t.transport.stats.tables.reverse, 1);
  h.runFor(8 * 60_000);
  assert.equal(t.transport.stats.tables.reverse, 0);
});

test("an announce sent across a partitioned link is lost; once healed, a path request finds the destination", () => {
  const h = new Harness(9);
  const a = h.addNode("A");
  const b = h.addNode("B");
  const link = h.connect(a, b);
  const dest = hostDestination(b, "kos", "p");
  b.onEvent = (ev, n, nowMs) => {
    if (ev.kind === "path-request") n.transport.outbound(dest.announce(nowMs, { pathResponse: true }), nowMs, { interfaceId: ev.interfaceId });
  };
  link.partitioned = true;
  b.transport.outbound(dest.announce(h.nowMs), h.nowMs);
  h.runFor(1_000);
  assert.equal(a.transport.hasPath(dest.hash), false);
  assert.ok(h.lost > 0);
  link.partitioned = false;
  a.transport.requestPath(dest.hash, h.nowMs);
  h.runFor(1_000);
  assert.equal(a.transport.hopsTo(dest.hash), 1);
});

test("over a lossy link the transport node's retry still carries the announce most of the time (seeded loss)", () => {
  const seed = 77;
  console.log(`lossy link seed ${seed}`);
  let delivered = 0;
  const runs = 40;
  for (let run = 0; run < runs; run++) {
    const h = new Harness((seed + run * 7919) >>> 0);
    const s = h.addNode("S");
    const t = h.addNode("T", { transportEnabled: true });
    const a = h.addNode("A");
    h.connect(s, t);
    h.connect(t, a, { lossRate: 0.5 });
    const d = hostDestination(s, "kos", "lossy");
    s.transport.outbound(d.announce(h.nowMs), h.nowMs);
    h.runFor(30_000);
    assert.equal(t.transport.stats.totals.announcesRebroadcast, 2);
    if (a.transport.hasPath(d.hash)) delivered++;
  }
  // Two tries at 50 % loss get through three times in four; a single try would half the time.
  assert.ok(delivered > runs * 0.6, `announce arrived in ${delivered} of ${runs} runs`);
});
