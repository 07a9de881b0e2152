// Quorum gossip over links (runtime/engine/quorum-app.ts): two members joined only through a transport node
// that does not run quorum reach a certificate over a link between them, and cannot with links off (PLAIN
// gossip is never forwarded). A non-member's link is refused and counted, an unidentified one is closed after
// the grace, and malformed messages on a member's link are counted by the machine, never a crash.
// In-process engines on the simulator's virtual clock (hil/sim), wired segments, seeded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { toHex, utf8 } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { QUORUM_LINK_LIMITS, quorumLinkDestination } from "../../runtime/engine/quorum-app.js";
import { verifyCertificate } from "../../runtime/quorum/certificate.js";
import type { NodeSpec } from "../../hil/sim/node.js";
import { QuorumSim } from "../../hil/sim/quorum.js";
import { Simulator } from "../../hil/sim/sim.js";

const base = { respondToProbes: false, lora: null, position: [0, 0] as const, startMs: 0, announceOnStart: true, announceIntervalMs: null, persistIntervalMs: 600_000, fileReceiver: false };

/**
 * m0 —(a)— relay —(b)— m1, and optionally m2 next to m0 on segment a; the relay is a transport node without quorum.
 * `late` boots m0 (or m1, with startMs huge: never) after the others' announces went by.
 */
function setup(seed: number, links: boolean, third = false, late: { m0StartMs?: number; m1StartMs?: number; pathRequests?: boolean } = {}) {
  const nodes: NodeSpec[] = [
    { ...base, name: "m0", transport: false, wired: ["a"], startMs: late.m0StartMs ?? 0 },
    { ...base, name: "relay", transport: true, wired: ["a", "b"] },
    { ...base, name: "m1", transport: false, wired: ["b"], startMs: late.m1StartMs ?? 0 },
    ...(third ? [{ ...base, name: "m2", transport: false, wired: ["a"] }] : []),
  ];
  const sim = new Simulator({
    seed, nodes, maxEvents: 2_000_000,
    wired: [{ name: "a", delayMs: 10, lossProbability: 0, bitrateBps: 1_000_000 }, { name: "b", delayMs: 10, lossProbability: 0, bitrateBps: 1_000_000 }],
  });
  const members = third ? ["m0", "m1", "m2"] : ["m0", "m1"];
  const q = new QuorumSim(sim, { members, threshold: members.length, relays: [], vote: "yes", voteDelayMs: 500, fsyncMs: 0, links,
    ...(late.pathRequests === false ? { pathRequests: false } : {}) });
  return { sim, q };
}

function decide(seed: number, links: boolean, third = false) {
  const { sim, q } = setup(seed, links, third);
  sim.at(15_000, () => void q.propose({ name: "p", node: "m0", lifetimeMs: 60_000 }));
  sim.run(15_000 + 60_000 + 10_000);
  assert.deepEqual(sim.bugs, [], `seed ${seed}: no node threw`);
  const rec = q.proposal("p")!;
  assert.ok(rec.proposal !== null, `seed ${seed}: proposed (${rec.error})`);
  return { sim, q, first: q.firstCertificates(rec.proposal.id), deadlineMs: rec.deadlineMs };
}

test("two members behind a transport node that does not run quorum certify over a link", () => {
  for (const seed of [1, 2, 3]) {
    const { q, first, deadlineMs } = decide(seed, true);
    for (const name of ["m0", "m1"]) {
      const c = first.get(name);
      assert.ok(c !== undefined, `seed ${seed}: ${name} certified`);
      assert.ok(c.atMs <= deadlineMs, `seed ${seed}: ${name} certified by the deadline`);
      assert.equal(c.certificate.outcome, "approved");
      assert.ok(verifyCertificate(c.certificate, q.membership).ok);
    }
    const a = q.nodes.get("m0")!.app!.stats;
    const b = q.nodes.get("m1")!.app!.stats;
    // One link, opened by the proposer (the other side had no open proposal yet), accepted as a member's.
    assert.equal(a.linksOpened + b.linksOpened, 1, `seed ${seed}: one link opened`);
    assert.equal(a.linksAccepted + b.linksAccepted, 1, `seed ${seed}: and accepted`);
    assert.ok(a.linkPacketsIn > 0 && b.linkPacketsIn > 0, `seed ${seed}: gossip flowed both ways on it`);
    assert.equal(a.linksRefusedNotMember + b.linksRefusedNotMember + a.linksRefusedUnidentified + b.linksRefusedUnidentified, 0);
    assert.equal(a.linkPacketsDropped + b.linkPacketsDropped, 0, `seed ${seed}: messages ahead of the identify were held, not lost`);
  }
});

test("with links off the same members cannot certify: PLAIN gossip stops at the relay", () => {
  for (const seed of [1, 2]) {
    const { q, first } = decide(seed, false);
    assert.equal(first.size, 0, `seed ${seed}: nobody certified`);
    assert.equal(q.nodes.get("m1")!.app!.machine.proposal(q.proposal("p")!.proposal!.id), null, `seed ${seed}: m1 never heard the proposal`);
  }
});

test("a direct neighbour gets no link (broadcast reaches it); the far member does, and the link closes once idle", () => {
  const { sim, q, first } = decide(4, true, true);
  assert.equal(first.size, 3, "all three certified");
  const m0 = q.nodes.get("m0")!.app!;
  const m2 = q.nodes.get("m2")!.app!;
  const far = toHex(sim.node("m1").identity.publicKey);
  // Both m0 and m2 are two hops from m1: each may link to it; neither links to the other (one hop).
  for (const app of [m0, m2]) for (const l of app.links()) assert.equal(l.member, far);
  assert.ok(m0.stats.linksOpened + m2.stats.linksOpened >= 1);
  sim.run(sim.nowMs + QUORUM_LINK_LIMITS.idleMs + 2 * QUORUM_LINK_LIMITS.checkEveryMs + 10_000);
  for (const name of ["m0", "m1", "m2"]) assert.deepEqual(q.nodes.get(name)!.app!.links(), [], `${name}: idle links closed`);
  assert.ok(m0.stats.linksIdleClosed + m2.stats.linksIdleClosed + q.nodes.get("m1")!.app!.stats.linksIdleClosed >= 1);
});

test("a non-member's link is refused and counted; an unidentified one is closed after the grace; malformed messages are counted", () => {
  const { sim, q } = setup(5, true);
  const m1 = sim.node("m1");
  const dest = quorumLinkDestination(m1.identity.hash);
  const stranger = Identity.generate(seededRandom(77));
  const opened: Record<string, Uint8Array> = {};
  // The relay (no quorum) plays the stranger: one link that identifies as a non-member, one that never identifies.
  const relay = sim.node("relay");
  relay.listeners.add((ev) => {
    if (ev.kind !== "link" || ev.event.kind !== "established") return;
    sim.call(relay, (engine, now) => {
      if (toHex(ev.linkId) === toHex(opened["stranger"] ?? new Uint8Array())) engine.linkIdentify(ev.linkId, stranger, now);
      // Gossip-shaped garbage on both, before and after identifying: dropped, never handed to the machine.
      engine.linkSend(ev.linkId, utf8("\x02not a vote"), now);
    });
  });
  sim.at(10_000, () => sim.call(relay, (engine, now) => {
    const a = engine.openLink(dest, now);
    const b = engine.openLink(dest, now);
    assert.ok(a.ok && b.ok, "the relay knows m1's quorum link destination from its announce");
    opened["stranger"] = a.value;
    opened["silent"] = b.value;
  }));
  sim.run(10_000 + QUORUM_LINK_LIMITS.identifyGraceMs + 2 * QUORUM_LINK_LIMITS.checkEveryMs);
  assert.deepEqual(sim.bugs, []);
  const app = q.nodes.get("m1")!.app!;
  assert.equal(app.stats.linksRefusedNotMember, 1, "the stranger's link was refused");
  assert.equal(app.stats.linksRefusedUnidentified, 1, "the silent link was closed after the grace");
  assert.ok(app.stats.linkPacketsDropped >= 1, "messages on links not identified as a member were dropped");
  assert.equal(app.stats.linkPacketsIn, 0);
  assert.deepEqual(app.links(), []);
  for (const id of Object.values(opened)) assert.equal(relay.engine!.link(id), undefined, "both links are gone at the relay too");

  // A member's link carrying malformed messages: counted by the machine, the link and the decision go on.
  sim.at(sim.nowMs + 1000, () => void q.propose({ name: "p", node: "m0", lifetimeMs: 60_000 }));
  let garbageSent = 0;
  sim.at(sim.nowMs + 3000, () => {
    const m0 = q.nodes.get("m0")!.app!;
    const up = m0.links().find((l) => l.up);
    assert.ok(up !== undefined, "m0 opened its link to m1");
    sim.call(sim.node("m0"), (engine, now) => {
      const id = Uint8Array.from(Buffer.from(up.linkId, "hex"));
      for (const junk of [new Uint8Array(0), utf8("\x09??"), utf8("\x02short"), new Uint8Array(300).fill(0x05)]) if (engine.linkSend(id, junk, now)) garbageSent++;
    });
  });
  const before = { ...app.machine.stats.dropped };
  sim.run(sim.nowMs + 70_000);
  assert.deepEqual(sim.bugs, []);
  assert.equal(garbageSent, 4);
  const malformed = (app.machine.stats.dropped["malformed"] ?? 0) - (before["malformed"] ?? 0);
  assert.ok(malformed >= 4, `malformed messages counted (${JSON.stringify(app.machine.stats.dropped)})`);
  assert.equal(q.firstCertificates(q.proposal("p")!.proposal!.id).size, 2, "both still certified");
});

/** m0 boots at 20 s, well after m1's announce (and the relay's rebroadcasts of it) went by; m0 proposes at 25 s. */
function lateBoot(seed: number, pathRequests: boolean) {
  const { sim, q } = setup(seed, true, false, { m0StartMs: 20_000, pathRequests });
  sim.at(25_000, () => void q.propose({ name: "p", node: "m0", lifetimeMs: 60_000 }));
  sim.run(25_000 + 60_000 + 10_000);
  assert.deepEqual(sim.bugs, [], `seed ${seed}: no node threw`);
  const rec = q.proposal("p")!;
  assert.ok(rec.proposal !== null, `seed ${seed}: proposed (${rec.error})`);
  return { sim, q, rec, first: q.firstCertificates(rec.proposal.id) };
}

test("a member whose link destination never reached us by announce is found by a path request, answered by the relay", () => {
  for (const seed of [1, 2, 3]) {
    const { sim, q, rec, first } = lateBoot(seed, true);
    const m0 = q.nodes.get("m0")!.app!;
    const m1Link = quorumLinkDestination(sim.node("m1").identity.hash);
    for (const name of ["m0", "m1"]) {
      const c = first.get(name);
      assert.ok(c !== undefined, `seed ${seed}: ${name} certified`);
      assert.ok(c.atMs <= rec.deadlineMs, `seed ${seed}: ${name} certified by the deadline`);
      assert.ok(verifyCertificate(c.certificate, q.membership).ok);
    }
    // One request (the answer came at once), the relay answered it from its path table, and m0's link carried the decision.
    assert.equal(m0.stats.pathRequests, 1, `seed ${seed}: one path request`);
    assert.ok(sim.node("relay").engine!.transport.stats.totals.pathResponsesSent >= 1, `seed ${seed}: the relay answered it`);
    assert.equal(sim.node("m0").engine!.transport.hopsTo(m1Link), 2, `seed ${seed}: m0 knows the path now`);
    assert.equal(m0.stats.linksOpened, 1, `seed ${seed}: m0 opened the link`);
    assert.equal(q.nodes.get("m1")!.app!.stats.pathRequests, 0, `seed ${seed}: m1 heard m0's announce: nothing to ask`);
  }
});

test("with path requests off, the same late member never learns the far member's link destination and nobody certifies", () => {
  for (const seed of [1, 2]) {
    const { sim, q, first } = lateBoot(seed, false);
    assert.equal(first.size, 0, `seed ${seed}: nobody certified`);
    assert.equal(q.nodes.get("m0")!.app!.stats.pathRequests, 0);
    assert.equal(sim.node("m0").engine!.transport.hopsTo(quorumLinkDestination(sim.node("m1").identity.hash)), null, `seed ${seed}: no path to m1's link destination`);
  }
});

test("path requests for a member nobody knows are spaced, back off and stop at the bound; none while no proposal is open", () => {
  // m1 never boots: nobody can answer. A proposal open for an hour, an hour with none open, then a short one.
  const L = QUORUM_LINK_LIMITS;
  const { sim, q } = setup(6, true, false, { m1StartMs: 1e12 });
  const asked: number[] = [];
  const m0 = sim.node("m0");
  const secondAtMs = 15_000 + 2 * 3_600_000;
  sim.at(15_000, () => void q.propose({ name: "p1", node: "m0", lifetimeMs: 3_600_000 }));
  sim.at(secondAtMs, () => void q.propose({ name: "p2", node: "m0", lifetimeMs: 120_000 }));
  for (let t = 15_000; t <= secondAtMs + 200_000; t += 1_000) {
    sim.at(t, () => {
      const n = q.nodes.get("m0")!.app!.stats.pathRequests;
      while (asked.length < n) asked.push(sim.nowMs);
    });
  }
  sim.run(secondAtMs + 200_000);
  assert.deepEqual(sim.bugs, []);
  const first = asked.filter((t) => t < secondAtMs);
  const second = asked.filter((t) => t >= secondAtMs);
  // Unbounded, the hour would hold 10 requests (30 s doubling to 10 min); the bound stops it at pathRequestsMax.
  assert.equal(first.length, L.pathRequestsMax, `bounded: ${first.join(", ")}`);
  assert.ok(first[0]! >= 15_000 + L.pathRequestDelayMs && first[0]! <= 15_000 + L.pathRequestDelayMs + L.checkEveryMs + 1_000, `the first request went out once the proposal had gone undecided a while (${first[0]})`);
  for (const run of [first, second]) {
    for (let i = 1; i < run.length; i++) {
      const gap = run[i]! - run[i - 1]!;
      const want = Math.min(L.pathRequestMaxMs, L.pathRequestMinMs * 2 ** (i - 1));
      assert.ok(gap >= want && gap <= want + L.checkEveryMs + 1_000, `request ${i} came ${gap} ms after the one before (want ${want})`);
    }
  }
  assert.ok(first.at(-1)! < 15_000 + 3_600_000, "none after the first proposal closed");
  // A proposal opening after none was open asks again, from the shortest wait: 0, 30, 90 s after the delay, within its 120 s.
  assert.equal(second.length, 3, `the second proposal asked again: ${second.join(", ")}`);
  assert.ok(second[0]! <= secondAtMs + L.pathRequestDelayMs + L.checkEveryMs + 1_000);
  assert.equal(m0.engine!.transport.stats.totals.pathRequestsSent, asked.length, "every request the app counted went on the air");
});
