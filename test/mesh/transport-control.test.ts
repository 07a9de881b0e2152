// Announce propagation control: the per-interface announce cap, ingress control of new or bursting
// interfaces, per-destination announce rate targets, rebroadcast retries ended by neighbours, and the
// interface-mode rules for where announces may go.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { decodePacket, encodePacket } from "../../runtime/wire/packet.js";
import { Transport } from "../../runtime/mesh/transport/transport.js";
import type { InterfaceMode } from "../../runtime/mesh/types.js";
import { Harness, SimDestination, T0, hostDestination } from "./harness.js";

const signer = Identity.generate(seededRandom(77));
/** Distinct remote destinations sharing one identity (cheap to make many). */
function remotes(n: number, prefix = "r"): SimDestination[] {
  return Array.from({ length: n }, (_, i) => new SimDestination(signer, ["kos", `${prefix}${i}`], seededRandom(1000 + i)));
}

function transportNode(ifaces: { id: number; mode?: InterfaceMode; bitrateBps?: number; ingressControl?: boolean; rateTargetMs?: number }[]) {
  const random = seededRandom(11);
  const t = new Transport({ identity: Identity.generate(random), random, transportEnabled: true });
  for (const f of ifaces) {
    t.addInterface(
      {
        id: f.id,
        name: `if${f.id}`,
        mode: f.mode ?? "full",
        bitrateBps: f.bitrateBps ?? 1_000_000,
        hwMtu: 500,
        out: true,
        announceCap: 0.02,
        ingressControl: f.ingressControl ?? false,
        ...(f.rateTargetMs !== undefined ? { announceRateTargetMs: f.rateTargetMs, announceRateGrace: 0 } : {}),
      },
      T0,
    );
  }
  return t;
}

/** Ticks a machine on its own deadlines until `untilMs`, collecting transmits with their time. */
function runAlone(t: Transport, untilMs: number): { atMs: number; interfaceId: number; raw: Uint8Array }[] {
  const out: { atMs: number; interfaceId: number; raw: Uint8Array }[] = [];
  for (let i = 0; i < 100_000; i++) {
    const next = t.nextDeadlineMs();
    if (next > untilMs) break;
    t.tick(next);
    for (const x of t.takeTransmits()) out.push({ atMs: next, ...x });
  }
  return out;
}

test("rebroadcasts on a slow interface are spaced by the announce cap, fewest hops first", () => {
  const t = transportNode([{ id: 1 }, { id: 2, bitrateBps: 1_200 }]);
  const ds = remotes(4);
  // Two announces from 3 hops away, then two from 1 hop away, all at once.
  ds.forEach((d, i) => t.inbound(1, encodePacket({ ...d.announce(T0), hops: i < 2 ? 2 : 0 }), T0));
  const sent = runAlone(t, T0 + 600_000).filter((x) => x.interfaceId === 2);
  const firstRound = sent.slice(0, 4).map((x) => decodePacket(x.raw));
  assert.ok(firstRound.every((p) => p.ok));
  // The first goes at once (the queue was empty); after it, the 1-hop announces go before the 3-hop one left.
  const hops = firstRound.map((p) => (p.ok ? p.value.hops : -1));
  assert.deepEqual(hops.slice(1, 3), [1, 1]);
  const gapMs = sent[1]!.atMs - sent[0]!.atMs;
  const expectedMs = ((sent[0]!.raw.length * 8) / 1_200 / 0.02) * 1000;
  assert.ok(Math.abs(gapMs - expectedMs) < 1, `gap ${gapMs} ms, cap allows one every ${expectedMs} ms`);
});

test("locally originated announces are not held back by the cap", () => {
  const h = new Harness(21);
  const a = h.addNode("A");
  const b = h.addNode("B");
  h.connect(a, b, { bitrateBps: 1_200 });
  for (const d of [hostDestination(a, "kos", "x"), hostDestination(a, "kos", "y"), hostDestination(a, "kos", "z")]) {
    assert.ok(a.transport.outbound(d.announce(h.nowMs), h.nowMs).sent);
  }
  assert.equal(a.transport.takeTransmits().length, 3);
});

test("a new interface hearing a burst of announces holds those for unknown destinations, then lets them in one by one", () => {
  const t = transportNode([{ id: 1, ingressControl: true }, { id: 2 }]);
  const ds = remotes(12);
  ds.forEach((d, i) => t.inbound(1, encodePacket(d.announce(T0)), T0 + i * 50));
  const learned = t.paths().length;
  assert.ok(learned < 12, `only the first announces pass before the burst is seen (${learned})`);
  assert.equal(t.stats.interfaces[1]!.announcesHeld + learned, 12);
  // Burst hold (15 s) and penalty pass, then one held announce is released per 5 s.
  runAlone(t, T0 + 20_000);
  const after20s = t.paths().length;
  runAlone(t, T0 + 120_000);
  assert.equal(t.paths().length, 12, "every held announce was eventually processed");
  assert.ok(after20s < 12);
  assert.equal(t.stats.tables.announcesHeld, 0);
  assert.equal(t.nextDeadlineMs() > T0 + 120_000, true, "nothing left to release");
});

test("a destination announcing faster than the interface's rate target still updates its path but is not rebroadcast", () => {
  const t = transportNode([{ id: 1, rateTargetMs: 60_000 }, { id: 2 }]);
  const [d] = remotes(1);
  t.inbound(1, encodePacket(d!.announce(T0)), T0);
  t.inbound(1, encodePacket(d!.announce(T0 + 10_000)), T0 + 10_000);
  assert.equal(t.pathTo(d!.hash)!.announcedAtMs, T0 + 10_000);
  assert.equal(t.stats.totals.rebroadcastsBlocked, 1);
});

test("a transport node stops retrying once the next node is heard passing the announce on", () => {
  const h = new Harness(22);
  const s = h.addNode("S");
  const t1 = h.addNode("T1", { transportEnabled: true });
  const t2 = h.addNode("T2", { transportEnabled: true });
  const a = h.addNode("A");
  h.connect(s, t1);
  h.connect(t1, t2);
  h.connect(t2, a);
  const d = hostDestination(s, "kos", "src");
  s.transport.outbound(d.announce(h.nowMs), h.nowMs);
  h.runFor(30_000);
  assert.equal(t1.transport.stats.totals.announcesRebroadcast, 1, "T1 heard T2 pass it on");
  assert.equal(t2.transport.stats.totals.announcesRebroadcast, 2, "nobody passes on T2's rebroadcast");
  assert.equal(a.transport.hopsTo(d.hash), 3);
});

test("on a shared medium, hearing LOCAL_REBROADCASTS_MAX neighbours rebroadcast ends a node's retries", () => {
  const h = new Harness(23);
  const s = h.addNode("S");
  const ts = [1, 2, 3].map((i) => h.addNode(`T${i}`, { transportEnabled: true }));
  h.medium([s, ...ts]);
  const d = hostDestination(s, "kos", "radio");
  s.transport.outbound(d.announce(h.nowMs), h.nowMs);
  h.runFor(30_000);
  const counts = ts.map((n) => n.transport.stats.totals.announcesRebroadcast);
  // Without neighbours each would send twice (6); the first two to send hear two others and stop.
  assert.equal(counts.reduce((x, y) => x + y, 0), 4, `rebroadcasts per node ${counts.join(",")}`);
});

test("access point interfaces carry no broadcast announces, not even local ones", () => {
  const h = new Harness(24);
  const a = h.addNode("A");
  const b = h.addNode("B");
  h.connect(a, b, { mode: "access_point" });
  const d = hostDestination(a, "kos", "ap");
  assert.equal(a.transport.outbound(d.announce(h.nowMs), h.nowMs).sent, false);
  h.runFor(1_000);
  assert.equal(b.transport.hasPath(d.hash), false);
});

test("announces learned on a roaming interface are not rebroadcast onto another roaming interface", () => {
  const h = new Harness(25);
  const s = h.addNode("S");
  const t = h.addNode("T", { transportEnabled: true });
  const r = h.addNode("R");
  const f = h.addNode("F");
  h.connect(s, t, { mode: "roaming" });
  h.connect(t, r, { mode: "roaming" });
  h.connect(t, f);
  const d = hostDestination(s, "kos", "roamer");
  s.transport.outbound(d.announce(h.nowMs), h.nowMs);
  h.runFor(30_000);
  assert.equal(r.transport.hasPath(d.hash), false);
  assert.equal(f.transport.hopsTo(d.hash), 2);
});

test("announces learned on a roaming interface are not rebroadcast onto a boundary interface", () => {
  const h = new Harness(26);
  const s = h.addNode("S");
  const t = h.addNode("T", { transportEnabled: true });
  const b = h.addNode("B");
  h.connect(s, t, { mode: "roaming" });
  h.connect(t, b, { mode: "boundary" });
  const d = hostDestination(s, "kos", "roamer");
  s.transport.outbound(d.announce(h.nowMs), h.nowMs);
  h.runFor(30_000);
  assert.equal(b.transport.hasPath(d.hash), false);
});
