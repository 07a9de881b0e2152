// An announce flood of 10,000 distinct valid announces from one interface: every table and queue of the
// transport node stays within its bound, and the node still forwards ordinary traffic afterwards.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { encodePacket } from "../../runtime/wire/packet.js";
import type { TransportLimits } from "../../runtime/mesh/transport/transport.js";
import { Harness, SimDestination, dataPacket, hostDestination, type SimNode } from "./harness.js";

const FLOOD = 10_000;
const LIMITS: Partial<TransportLimits> = {
  maxPaths: 500,
  maxKnownDestinations: 600,
  maxAnnounceTable: 100,
  maxQueuedAnnounces: 50,
  maxHeldAnnounces: 64,
  maxPacketHashes: 2_000,
  maxPendingEvents: 1_000,
  maxPendingTransmits: 1_000,
};

// One identity, many names: distinct destinations whose announces all validate. Made once for both tests.
const floodSigner = Identity.generate(seededRandom(99));
const FLOOD_START = 1_763_700_000_000;
const floodRaws = Array.from({ length: FLOOD }, (_, i) =>
  encodePacket(new SimDestination(floodSigner, ["flood", `d${i}`], seededRandom(50_000 + i)).announce(FLOOD_START)),
);

function assertWithinBounds(node: SimNode): void {
  const s = node.transport.stats.tables;
  assert.ok(s.paths <= LIMITS.maxPaths!, `paths ${s.paths}`);
  assert.ok(s.knownDestinations <= LIMITS.maxKnownDestinations!, `known ${s.knownDestinations}`);
  assert.ok(s.announces <= LIMITS.maxAnnounceTable!, `announce table ${s.announces}`);
  assert.ok(s.heldByPathRequests <= LIMITS.maxAnnounceTable!, `held by path requests ${s.heldByPathRequests}`);
  assert.ok(s.packetHashes <= LIMITS.maxPacketHashes!, `hashes ${s.packetHashes}`);
  assert.ok(s.pendingEvents <= LIMITS.maxPendingEvents!, `events ${s.pendingEvents}`);
  assert.ok(s.pendingTransmits <= LIMITS.maxPendingTransmits!, `transmits ${s.pendingTransmits}`);
  for (const id of node.interfaceIds) {
    assert.ok(s.announcesQueued <= LIMITS.maxQueuedAnnounces! * node.interfaceIds.length, `queued ${s.announcesQueued}`);
    assert.ok(s.announcesHeld <= LIMITS.maxHeldAnnounces! * node.interfaceIds.length, `held ${s.announcesHeld} (if ${id})`);
  }
}

/** A – T – B, plus a flooder F on its own interface of T; B's destination is known everywhere. */
function network(ingressControl: boolean) {
  const h = new Harness(31, FLOOD_START);
  const a = h.addNode("A", { limits: LIMITS });
  const t = h.addNode("T", { transportEnabled: true, limits: LIMITS });
  const b = h.addNode("B", { limits: LIMITS });
  const f = h.addNode("F", { limits: LIMITS });
  h.connect(a, t);
  h.connect(t, b, { bitrateBps: 9_600 });
  const ft = h.connect(f, t, { control: { ingressControl } });
  const dest = hostDestination(b, "kos", "b");
  b.transport.outbound(dest.announce(h.nowMs), h.nowMs);
  h.runFor(10_000);
  assert.equal(a.transport.hopsTo(dest.hash), 2);
  // The flood: 10,000 announces injected at T's flooded interface, ten per millisecond.
  const floodIf = h.interfaceOf(t, ft);
  floodRaws.forEach((raw, i) => h.inject(t, floodIf, raw, h.nowMs + Math.floor(i / 10)));
  return { h, a, t, b, dest, floodIf };
}

function collectedOnlyRecent(nodes: SimNode[]): void {
  // Tests read a few events; keep the harness's own logs small.
  for (const n of nodes) n.events.length = 0;
}

test("an announce flood on an ingress-controlled interface is held within bounds, and traffic still flows", () => {
  const { h, a, t, b, dest, floodIf } = network(true);
  h.runFor(2_000);
  assertWithinBounds(t);
  const s = t.transport.stats;
  assert.ok(s.interfaces[floodIf]!.drops["ingress-limited"]! > FLOOD / 2, "most of the flood is refused at the door");
  assert.ok(t.transport.hasPath(dest.hash), "the flood did not evict B's path");
  collectedOnlyRecent([a, b, t]);
  a.transport.outbound(dataPacket(dest.hash, Uint8Array.of(5)), h.nowMs);
  h.runFor(2_000);
  assert.equal(b.eventsOf("packet").length, 1);
  h.runFor(60_000);
  assertWithinBounds(t);
});

test("an announce flood without ingress control fills every table only to its bound, and traffic still flows", () => {
  const { h, a, t, b, dest } = network(false);
  h.runFor(2_000);
  assertWithinBounds(t);
  assertWithinBounds(a);
  const s = t.transport.stats;
  assert.equal(s.tables.paths, LIMITS.maxPaths);
  assert.ok(s.totals.rebroadcastsBlocked > 0, "the announce table refused rebroadcasts once full");
  // B announces again; its path is back at once, and A's data reaches B.
  b.transport.outbound(dest.announce(h.nowMs), h.nowMs);
  h.runFor(30_000);
  assertWithinBounds(t);
  assert.equal(t.transport.hopsTo(dest.hash), 1);
  collectedOnlyRecent([a, b, t]);
  if (!a.transport.hasPath(dest.hash)) {
    a.transport.requestPath(dest.hash, h.nowMs);
    h.runFor(5_000);
  }
  assert.equal(a.transport.hopsTo(dest.hash), 2);
  a.transport.outbound(dataPacket(dest.hash, Uint8Array.of(6)), h.nowMs);
  h.runFor(2_000);
  assert.deepEqual(b.eventsOf("packet").map((e) => [...e.packet.data]), [[6]]);
});
