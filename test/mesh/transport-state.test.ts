// Path lifetimes by interface mode, table culling on the machine's own deadlines, interface removal, and
// persistence: a restarted transport node answers path requests from its restored table; corrupt state
// is refused with a reason.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { concat } from "../../runtime/core/bytes.js";
import { decodePacket, encodePacket, Context, DestinationType, HeaderType } from "../../runtime/wire/packet.js";
import { PATH_REQUEST_DESTINATION } from "../../runtime/mesh/transport/path-requests.js";
import { Transport } from "../../runtime/mesh/transport/transport.js";
import type { InterfaceMode } from "../../runtime/mesh/types.js";
import { SimDestination, T0, dataPacket } from "./harness.js";

const HOUR = 3600_000;
const signer = Identity.generate(seededRandom(61));
const dests = ["full", "ap", "roam"].map((n, i) => new SimDestination(signer, ["kos", n], seededRandom(70 + i)));

function node(modes: InterfaceMode[], transportEnabled = true, seed = 12) {
  const random = seededRandom(seed);
  const identity = Identity.generate(random);
  const t = new Transport({ identity, random, transportEnabled });
  modes.forEach((mode, i) =>
    t.addInterface({ id: i + 1, name: `if-${mode}`, mode, bitrateBps: 1_000_000, hwMtu: 500, out: true, announceCap: 0.02, ingressControl: false }, T0),
  );
  return { t, identity, random };
}

/** Ticks on the machine's own deadlines up to `untilMs`; returns how many ticks it took. */
function idle(t: Transport, untilMs: number): number {
  let ticks = 0;
  for (; ticks < 10_000; ticks++) {
    const next = t.nextDeadlineMs();
    if (next > untilMs) break;
    t.tick(next);
    t.takeTransmits();
    t.takeEvents();
  }
  return ticks;
}

function learnThree(t: Transport): void {
  dests.forEach((d, i) => t.inbound(i + 1, encodePacket(d.announce(T0)), T0));
}

test("paths expire by the mode of their interface: 6 h roaming, 1 day access point, 1 week otherwise", () => {
  const { t } = node(["full", "access_point", "roaming"], false);
  learnThree(t);
  idle(t, T0 + 6 * HOUR - 1_000);
  assert.deepEqual(dests.map((d) => t.hasPath(d.hash)), [true, true, true]);
  idle(t, T0 + 6 * HOUR + 10_000);
  assert.deepEqual(dests.map((d) => t.hasPath(d.hash)), [true, true, false]);
  idle(t, T0 + 24 * HOUR + 10_000);
  assert.deepEqual(dests.map((d) => t.hasPath(d.hash)), [true, false, false]);
  idle(t, T0 + 7 * 24 * HOUR + 10_000);
  assert.deepEqual(dests.map((d) => t.hasPath(d.hash)), [false, false, false]);
  assert.equal(t.nextDeadlineMs(), Infinity, "an empty machine sleeps");
});

test("an idle machine with paths wakes only when something can expire, not every few seconds", () => {
  const { t } = node(["full"], false);
  t.inbound(1, encodePacket(dests[0]!.announce(T0)), T0);
  assert.ok(idle(t, T0 + 6 * 24 * HOUR) <= 2);
});

test("pathTo reports when a path expires, and using a path in transport extends it", () => {
  const { t, identity } = node(["roaming", "full"]);
  t.inbound(1, encodePacket(dests[0]!.announce(T0)), T0);
  assert.equal(t.pathTo(dests[0]!.hash)!.expiresMs, T0 + 6 * HOUR);
  const inTransport = { ...dataPacket(dests[0]!.hash, Uint8Array.of(1)), headerType: HeaderType.HEADER_2, transportType: 1 as const, transportId: identity.hash };
  t.inbound(2, encodePacket(inTransport), T0 + 3 * HOUR);
  assert.equal(t.takeTransmits().length, 1);
  assert.equal(t.pathTo(dests[0]!.hash)!.expiresMs, T0 + 9 * HOUR);
});

test("removing an interface drops the paths learned on it", () => {
  const { t } = node(["full", "full"], false);
  t.inbound(1, encodePacket(dests[0]!.announce(T0)), T0);
  t.inbound(2, encodePacket(dests[1]!.announce(T0)), T0);
  t.removeInterface(1, T0 + 1);
  assert.equal(t.hasPath(dests[0]!.hash), false);
  assert.equal(t.hasPath(dests[1]!.hash), true);
});

test("exported state restores paths and keys in a new machine, which then answers path requests from it", () => {
  const { t } = node(["full", "access_point", "roaming"]);
  learnThree(t);
  const saved = JSON.parse(JSON.stringify(t.exportState())) as unknown;
  const { t: t2 } = node(["full", "boundary"], true, 13);
  // Interface names match those of the first machine only for "if-full".
  const restored = t2.importState(saved, T0 + 1_000);
  assert.ok(restored.ok, JSON.stringify(restored));
  assert.equal(restored.value, 1);
  assert.equal(t2.hopsTo(dests[0]!.hash), 1);
  assert.ok(t2.recall(dests[1]!.hash) !== null, "known keys are restored even where the path is not");
  // A neighbour on if 2 asks for dests[0]: answered from the restored cache as a HEADER_2 path response.
  const request = pathRequestRaw(dests[0]!.hash, 1);
  t2.inbound(2, request, T0 + 2_000);
  idle(t2, T0 + 3_000);
  t2.inbound(2, request, T0 + 2_000);
  const out = t2.takeTransmits();
  assert.equal(out.length, 0, "a repeated request (same tag) is not answered again");
  assert.equal(t2.stats.totals.pathResponsesSent, 1);
});

/** A path request as a non-transport neighbour sends it: destination hash and a 16-byte tag. */
function pathRequestRaw(dest: Uint8Array, tagFill: number): Uint8Array {
  return encodePacket(dataPacket(PATH_REQUEST_DESTINATION, concat(dest, new Uint8Array(16).fill(tagFill)), { destinationType: DestinationType.PLAIN }));
}

test("a path response from a restored table carries the PATH_RESPONSE context and our transport id", () => {
  const { t } = node(["full", "access_point", "roaming"]);
  learnThree(t);
  const { t: t2, identity } = node(["full", "full"], true, 14);
  assert.ok(t2.importState(t.exportState(), T0).ok);
  t2.inbound(2, pathRequestRaw(dests[0]!.hash, 2), T0);
  let sent: Uint8Array | null = null;
  for (let i = 0; i < 10 && sent === null; i++) {
    t2.tick(t2.nextDeadlineMs());
    sent = t2.takeTransmits()[0]?.raw ?? null;
  }
  const p = decodePacket(sent!);
  assert.ok(p.ok);
  assert.equal(p.value.context, Context.PATH_RESPONSE);
  assert.equal(p.value.headerType, HeaderType.HEADER_2);
  assert.deepEqual(p.value.transportId, identity.hash);
  assert.equal(p.value.hops, 1);
});

test("corrupt state is refused with a reason and changes nothing", () => {
  const { t } = node(["full"]);
  t.inbound(1, encodePacket(dests[0]!.announce(T0)), T0);
  const good = t.exportState();
  const cases: [string, unknown][] = [
    ["not an object", 42],
    ["null", null],
    ["wrong format", { ...good, format: "something else" }],
    ["wrong version", { ...good, version: 2 }],
    ["paths not an array", { ...good, paths: {} }],
    ["bad destination hash", { ...good, paths: [{ ...good.paths[0]!, destinationHash: "zz" }] }],
    ["short next hop", { ...good, paths: [{ ...good.paths[0]!, nextHop: "00" }] }],
    ["hops out of range", { ...good, paths: [{ ...good.paths[0]!, hops: 200 }] }],
    ["time not a number", { ...good, paths: [{ ...good.paths[0]!, timestampMs: "yesterday" }] }],
    ["tampered announce", { ...good, paths: [{ ...good.paths[0]!, announce: good.paths[0]!.announce.slice(0, -2) + "00" }] }],
    ["announce for another destination", { ...good, paths: [{ ...good.paths[0]!, destinationHash: "00".repeat(16) }] }],
    ["bad random blob", { ...good, paths: [{ ...good.paths[0]!, randomBlobs: ["abcd"] }] }],
    ["bad known key", { ...good, knownDestinations: [{ ...good.knownDestinations[0]!, publicKey: "00" }] }],
    ["known entry not an object", { ...good, knownDestinations: ["x"] }],
  ];
  const { t: fresh } = node(["full"], true, 15);
  for (const [name, state] of cases) {
    const r = fresh.importState(state, T0);
    assert.equal(r.ok, false, name);
    assert.ok(!r.ok && typeof r.reason === "string" && r.reason.length > 0, name);
  }
  assert.equal(fresh.paths().length, 0);
  assert.equal(fresh.recall(dests[0]!.hash), null);
  assert.ok(fresh.importState(good, T0).ok, "the intact state still imports");
});

test("random JSON never makes importState throw (seeded)", () => {
  const seed = 424242;
  console.log(`importState fuzz seed ${seed}`);
  const rng = seededRandom(seed);
  const { t } = node(["full"]);
  t.inbound(1, encodePacket(dests[0]!.announce(T0)), T0);
  const text = JSON.stringify(t.exportState());
  const { t: fresh } = node(["full"], true, 16);
  for (let i = 0; i < 500; i++) {
    const chars = [...text];
    for (let k = 0; k < 3; k++) chars[rng.next32() % chars.length] = String.fromCharCode(32 + (rng.next32() % 90));
    let parsed: unknown;
    try {
      parsed = JSON.parse(chars.join(""));
    } catch {
      continue;
    }
    assert.doesNotThrow(() => fresh.importState(parsed, T0), `case ${i}`);
  }
});
