// The gossip machine: convergence to a certificate at every honest node, message counts near the lower bound
// (one proposal plus one packet per vote) on a lossless medium, recovery through HAVE/WANT at 30 % loss, the
// vote guard across a restart, counted refusals of bad input, and a fuzz loop that never throws.
// Deterministic: virtual clock, seeded randomness; seeds are in the assertion messages.
import { test } from "node:test";
import assert from "node:assert/strict";
import { toHex, utf8 } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { buildCertificate, verifyCertificate } from "../../runtime/quorum/certificate.js";
import { MessageType, QUORUM_LIMITS } from "../../runtime/quorum/limits.js";
import { QuorumMachine } from "../../runtime/quorum/machine.js";
import { createMembership, withCertificate } from "../../runtime/quorum/membership.js";
import { membershipChangeProposal } from "../../runtime/quorum/chain.js";
import { encodeCertMessages, encodeHave, encodeProposalMessage, encodeVoteMessages } from "../../runtime/quorum/messages.js";
import { createProposal } from "../../runtime/quorum/proposal.js";
import { Choice, signVote } from "../../runtime/quorum/vote.js";
import { certificateAt, eventsOf, identities, Net, T0, uniform } from "./net.js";

const MESH = { kind: "broadcast", iface: "mesh" } as const;

function decide(net: Net, seed: number, n: number, loss: number, deadlineMs = T0 + 60_000) {
  const p = net.node(0).machine.propose({ kind: "alarm.confirm", payload: utf8("smoke at depot 3"), deadlineMs }, net.nowMs);
  assert.ok(p.ok, `seed ${seed}: propose`);
  net.collect(net.node(0));
  net.run(deadlineMs + QUORUM_LIMITS.defaultSkewMs + 1);
  for (const node of net.nodes) {
    const c = net.nodes[node.index]!.machine.certificate(p.value.id);
    assert.ok(c !== null, `seed ${seed} n=${n} loss=${loss}: node ${node.index} has no certificate`);
    assert.ok(verifyCertificate(c, net.membership).ok, `seed ${seed}: node ${node.index} certificate verifies`);
    const at = certificateAt(node);
    assert.ok(at !== null && at <= deadlineMs, `seed ${seed}: node ${node.index} certificate before the deadline`);
  }
  return p.value;
}

test("lossless broadcast: every node certifies, with one proposal, one packet per vote and a HAVE or two", () => {
  for (const n of [5, 10, 20]) {
    const seed = 100 + n;
    const net = new Net({ seed, n });
    decide(net, seed, n, 0);
    const proposals = net.sentOfType(MessageType.PROPOSAL);
    const votes = net.sentOfType(MessageType.VOTE);
    const haves = net.sentOfType(MessageType.HAVE);
    const wants = net.sentOfType(MessageType.WANT);
    assert.equal(proposals, 1, `n=${n}`);
    assert.equal(votes, n, `n=${n}: one VOTE per member`);
    assert.equal(wants, 0, `n=${n}`);
    // A HAVE or two to settle, then (certificate held) one a minute around until the deadline, for members
    // that missed the proposal.
    assert.ok(haves <= 4, `n=${n}: ${haves} HAVE beacons`);
    assert.ok(net.sent.length <= n + 5, `n=${n}: ${net.sent.length} messages against a lower bound of ${n + 1}`);
    for (const node of net.nodes) assert.deepEqual(node.machine.stats.dropped, {}, `n=${n}: nothing refused on a clean run`);
  }
});

test("30 % loss: missing proposals and votes are recovered through HAVE/WANT before the deadline", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const n = 10;
    const net = new Net({ seed, n, loss: 0.3 });
    decide(net, seed, n, 0.3);
    assert.ok(net.sentOfType(MessageType.HAVE) > 0, `seed ${seed}`);
    const recovered = net.nodes.reduce((s, x) => s + x.machine.stats.orphansRecovered, 0) + net.sentOfType(MessageType.WANT);
    assert.ok(recovered > 0 || net.sentOfType(MessageType.VOTE) > n, `seed ${seed}: anti-entropy did work`);
    assert.ok(net.sent.length < 6 * n, `seed ${seed}: ${net.sent.length} messages for n=${n}`);
  }
});

test("a threshold of no votes rejects; a split vote expires without a certificate", () => {
  const net = new Net({ seed: 7, n: 5, decide: () => Choice.NO });
  const p = decide(net, 7, 5, 0);
  assert.equal(net.node(3).machine.view(p.id)!.status, "rejected");
  const split = new Net({ seed: 8, n: 5, decide: (node) => (node.index < 3 ? Choice.YES : Choice.NO) });
  const q = split.node(0).machine.propose({ kind: "supply.release", payload: utf8("cache 2"), deadlineMs: T0 + 30_000 }, split.nowMs);
  assert.ok(q.ok);
  split.collect(split.node(0));
  split.run(T0 + 40_000);
  for (const node of split.nodes) {
    assert.equal(node.machine.certificate(q.value.id), null);
    assert.equal(node.machine.view(q.value.id)!.status, "expired");
    assert.ok(eventsOf(node, "status").some((e) => e.view.status === "expired"));
  }
  assert.ok(split.sent.length < 15, `${split.sent.length} messages: beacons stop at the deadline`);
});

test("vote guard: nothing is sent before the vote is durable, and a restart cannot change the choice", () => {
  const net = new Net({ seed: 11, n: 4, autoPersist: false, decide: () => null });
  const p = net.node(0).machine.propose({ kind: "firmware.accept", payload: utf8("v2.1"), deadlineMs: T0 + 60_000 }, net.nowMs);
  assert.ok(p.ok);
  net.collect(net.node(0));
  net.run(T0 + 100);
  const m1 = net.node(1).machine;
  const c = m1.cast(p.value.id, Choice.YES, net.nowMs);
  assert.ok(c.ok);
  const actions = m1.takeActions();
  assert.deepEqual(actions.map((a) => a.type), ["persistVote"], "only the request to persist");
  assert.equal(m1.cast(p.value.id, Choice.NO, net.nowMs).ok, false, "a pending vote binds too");
  const persist = actions[0]!;
  assert.ok(persist.type === "persistVote");
  net.node(1).journal.push(persist.vote);
  m1.votePersisted(p.value.id, net.nowMs);
  const sent = m1.takeActions();
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.type === "broadcast" && sent[0]!.bytes[0], MessageType.VOTE);
  // Restart: a fresh machine fed the journal refuses another choice, before and after the proposal is known.
  const old = net.crash(1);
  const fresh = net.addNode(1, old.journal);
  const refused = fresh.machine.cast(p.value.id, Choice.NO, net.nowMs);
  assert.ok(!refused.ok && refused.reason === "already-voted");
  fresh.machine.receive(encodeProposalMessage(p.value.encoded), MESH, net.nowMs);
  assert.equal(fresh.machine.view(p.value.id)!.yes, 1, "the journal's vote counts once the proposal is known");
  const again = fresh.machine.cast(p.value.id, Choice.NO, net.nowMs);
  assert.ok(!again.ok && again.reason === "already-voted");
  const same = fresh.machine.cast(p.value.id, Choice.YES, net.nowMs);
  assert.ok(same.ok && same.value.timeMs === c.value.timeMs, "the same choice re-sends the same signed vote");
  assert.ok(fresh.machine.takeActions().some((a) => a.type === "broadcast" && a.bytes[0] === MessageType.VOTE));
});

function loneMachine(seed = 21) {
  const ids = identities(seed, 7);
  const m = createMembership({ members: ids.map((i) => i.publicKey) });
  const machine = new QuorumMachine({ identity: ids[0]!, trust: { genesisIds: [m.id] }, random: seededRandom(seed), nowMs: T0, interfaces: ["mesh"] });
  assert.ok(machine.addMembership(m).ok);
  const p = createProposal(ids[1]!, m, { kind: "alarm.confirm", payload: utf8("x"), deadlineMs: T0 + 60_000, createdMs: T0 });
  return { ids, m, machine, p };
}

test("bad input is refused and counted by reason", () => {
  const { ids, m, machine, p } = loneMachine();
  const outsiders = identities(99, 7);
  const foreign = createMembership({ members: outsiders.map((i) => i.publicKey) });
  const rx = (b: Uint8Array, at = T0 + 10): void => machine.receive(b, MESH, at);
  rx(Uint8Array.of(0xff, 1, 2, 3));
  rx(new Uint8Array(600));
  rx(encodeVoteMessages(p.id, [signVote(ids[2]!, p, m, Choice.YES, T0 + 5)], 383)[0]!); // before its proposal
  rx(encodeProposalMessage(createProposal(outsiders[0]!, foreign, { kind: "k", payload: utf8("x"), deadlineMs: T0 + 9000, createdMs: T0 }).encoded));
  rx(encodeProposalMessage(p.encoded));
  assert.equal(machine.stats.orphansRecovered, 1, "the early vote counts once its proposal arrived");
  const forged = { ...signVote(ids[3]!, p, m, Choice.YES, T0 + 5), signature: new Uint8Array(64).fill(7) };
  rx(encodeVoteMessages(p.id, [forged], 383)[0]!);
  const wrongVoter = { ...signVote(ids[3]!, p, m, Choice.YES, T0 + 5), voter: 4 };
  rx(encodeVoteMessages(p.id, [wrongVoter], 383)[0]!);
  const bogus = encodeVoteMessages(p.id, [signVote(ids[3]!, p, m, Choice.YES, T0 + 6)], 383)[0]!;
  bogus[17] = 9; // voter 9 of 7
  rx(bogus);
  rx(encodeVoteMessages(p.id, [signVote(ids[4]!, p, m, Choice.YES, T0 + 60_001)], 383)[0]!);
  const fine = encodeVoteMessages(p.id, [signVote(ids[5]!, p, m, Choice.YES, T0 + 7)], 383)[0]!;
  rx(fine);
  rx(fine);
  const other = createProposal(ids[2]!, m, { kind: "k", payload: utf8("other"), deadlineMs: T0 + 60_000, createdMs: T0 });
  const replayed = { ...signVote(ids[2]!, other, m, Choice.NO, T0 + 9), proposalId: p.id };
  rx(encodeVoteMessages(p.id, [replayed], 383)[0]!, T0 + 11);
  rx(encodeVoteMessages(p.id, [signVote(ids[6]!, p, m, Choice.YES, T0 + 8)], 383)[0]!, T0 + 60_000 + QUORUM_LIMITS.defaultSkewMs + 1);
  const d = machine.stats.dropped;
  assert.deepEqual(
    { malformed: d["malformed"], oversized: d["oversized"], unknownProposal: d["unknown-proposal"], unknownMembership: d["unknown-membership"], badSignature: d["bad-signature"],
      notMember: d["not-member"], late: d["late"], duplicate: d["duplicate"], lateArrival: d["late-arrival"] },
    { malformed: 1, oversized: 1, unknownProposal: 1, unknownMembership: 1, badSignature: 3, notMember: 1, late: 1, duplicate: 1, lateArrival: 1 },
  );
  assert.equal(machine.stats.votesCounted, 2);
  assert.ok(eventsOfMachine(machine).some((e) => e.type === "drop" && e.reason === "bad-signature"));
});

function eventsOfMachine(m: QuorumMachine) {
  return m.takeEvents();
}

test("stale memberships: after a certified change, proposals naming the old one are refused", () => {
  const { ids, m, machine } = loneMachine(31);
  const next = createMembership({ members: ids.slice(0, 6).map((i) => i.publicKey), previous: m });
  const change = membershipChangeProposal(ids[1]!, m, next, T0, T0 + 60_000);
  const c = buildCertificate(change, "approved", [0, 1, 2, 3, 4].map((i) => signVote(ids[i]!, change, m, Choice.YES, T0 + 10)));
  const v2 = withCertificate(next, c.encoded);
  assert.ok(machine.addMembership(v2).ok);
  assert.equal(machine.currentMembership()!.version, 2);
  const skipped = createMembership({ members: ids.map((i) => i.publicKey), previous: createMembership({ members: ids.slice(1).map((i) => i.publicKey), previous: v2 }) });
  assert.equal(machine.addMembership(withCertificate(skipped, c.encoded)).ok, false, "a version whose predecessor is unknown");
  const old = createProposal(ids[2]!, m, { kind: "k", payload: utf8("old"), deadlineMs: T0 + 60_000, createdMs: T0 + 1 });
  machine.receive(encodeProposalMessage(old.encoded), MESH, T0 + 20);
  assert.equal(machine.stats.dropped["stale-membership"], 1);
  const fresh = createProposal(ids[2]!, v2, { kind: "k", payload: utf8("new"), deadlineMs: T0 + 60_000, createdMs: T0 + 1 });
  machine.receive(encodeProposalMessage(fresh.encoded), MESH, T0 + 20);
  assert.ok(machine.proposal(fresh.id) !== null);
  const forgedChange = withCertificate(createMembership({ members: ids.slice(0, 5).map((i) => i.publicKey), previous: v2 }), c.encoded);
  assert.equal(machine.addMembership(forgedChange).ok, false, "a certificate for another membership");
});

test("after the deadline plain votes are refused but CERT votes still form the certificate", () => {
  const { ids, m, machine, p } = loneMachine(41);
  const late = T0 + 60_000 + QUORUM_LIMITS.defaultSkewMs + 100;
  machine.receive(encodeProposalMessage(p.encoded), MESH, late);
  const yes = [1, 2, 3, 4, 5].map((i) => signVote(ids[i]!, p, m, Choice.YES, T0 + 100));
  for (const msg of encodeVoteMessages(p.id, yes, 383)) machine.receive(msg, MESH, late);
  assert.equal(machine.certificate(p.id), null);
  assert.equal(machine.stats.dropped["late-arrival"], 5);
  for (const msg of encodeCertMessages(p.id, "approved", yes, 383)) machine.receive(msg, MESH, late);
  const c = machine.certificate(p.id);
  assert.ok(c !== null && verifyCertificate(c, m).ok);
  // Votes carried as CERT must match its outcome.
  const { ids: ids2, m: m2, machine: m2c, p: p2 } = loneMachine(42);
  m2c.receive(encodeProposalMessage(p2.encoded), MESH, T0 + 10);
  m2c.receive(encodeCertMessages(p2.id, "approved", [signVote(ids2[3]!, p2, m2, Choice.NO, T0 + 5)], 383)[0]!, MESH, T0 + 10);
  assert.equal(m2c.stats.dropped["wrong-outcome"], 1);
});

test("equivocation seen on the air becomes evidence, is spread once, and the member stops counting", () => {
  const n = 7;
  const net = new Net({ seed: 51, n, machines: 6 });
  const p = net.node(0).machine.propose({ kind: "alarm.confirm", payload: utf8("flood"), deadlineMs: T0 + 60_000 }, net.nowMs);
  assert.ok(p.ok);
  net.collect(net.node(0));
  net.run(T0 + 10);
  const liar = net.ids[6]!;
  const y = signVote(liar, p.value, net.membership, Choice.YES, T0 + 20);
  const no = signVote(liar, p.value, net.membership, Choice.NO, T0 + 21);
  net.transmit(6, encodeVoteMessages(p.value.id, [y], 383)[0]!, [0, 1, 2]);
  net.transmit(6, encodeVoteMessages(p.value.id, [no], 383)[0]!, [3, 4, 5]);
  net.transmit(6, encodeVoteMessages(p.value.id, [no], 383)[0]!.map((b) => b), [0]);
  net.run(T0 + 70_000);
  const evidence = eventsOf(net.node(0), "evidence");
  assert.equal(evidence.length, 1);
  assert.deepEqual(net.node(0).machine.view(p.value.id)!.equivocators, [6]);
  for (const node of net.nodes) {
    const c = node.machine.certificate(p.value.id);
    assert.ok(c !== null && verifyCertificate(c, net.membership).ok);
  }
  const spread = net.nodes.filter((x) => eventsOf(x, "evidence").length > 0).length;
  assert.ok(spread >= 4, `evidence reached ${spread} nodes`);
});

test("fuzz: random bytes and bit-flipped valid messages never throw, never count a vote, and are all counted", () => {
  const { ids, m, machine, p } = loneMachine(61);
  machine.receive(encodeProposalMessage(p.encoded), MESH, T0 + 1);
  const rng = seededRandom(6161);
  const valid = [
    encodeVoteMessages(p.id, [signVote(ids[3]!, p, m, Choice.YES, T0 + 2)], 383)[0]!,
    encodeCertMessages(p.id, "approved", [signVote(ids[4]!, p, m, Choice.YES, T0 + 2)], 383)[0]!,
    encodeHave(p.id, 0, Uint8Array.of(0x7f)),
    encodeProposalMessage(createProposal(ids[2]!, m, { kind: "k", payload: utf8("fuzz"), deadlineMs: T0 + 9_000, createdMs: T0 }).encoded),
  ];
  let inputs = 0;
  for (let i = 0; i < 3000; i++) {
    let b: Uint8Array;
    if (i % 3 === 0) b = rng.bytes(Math.floor(uniform(rng) * 520));
    else {
      b = valid[i % valid.length]!.slice();
      const flips = 1 + Math.floor(uniform(rng) * 3);
      for (let f = 0; f < flips; f++) {
        const at = Math.floor(uniform(rng) * b.length);
        b[at]! ^= 1 << Math.floor(uniform(rng) * 8);
      }
    }
    machine.receive(b, MESH, T0 + 5 + i);
    inputs++;
    machine.takeActions();
    machine.takeEvents();
  }
  machine.tick(T0 + 100_000);
  assert.equal(machine.stats.messagesIn, inputs + 1);
  assert.equal(machine.stats.votesCounted, 0, "a flipped bit never yields a counted vote");
  const dropped = Object.values(machine.stats.dropped).reduce((s, x) => s + x, 0);
  assert.ok(dropped > 1500, `${dropped} refusals counted: ${JSON.stringify(machine.stats.dropped)}`);
  assert.equal(toHex(machine.proposal(p.id)!.id), toHex(p.id));
});

test("over links: a node with no broadcast interface gets proposals, votes and HAVEs through send actions", () => {
  const ids = identities(71, 3);
  const m = createMembership({ members: ids.map((i) => i.publicKey), threshold: 2 });
  const mk = (i: number) => new QuorumMachine({ identity: ids[i]!, trust: { genesisIds: [m.id] }, random: seededRandom(i), nowMs: T0 });
  const a = mk(0);
  const b = mk(1);
  for (const x of [a, b]) assert.ok(x.addMembership(m).ok);
  a.linkUp("b", T0);
  b.linkUp("a", T0);
  const p = a.propose({ kind: "k", payload: utf8("over a link"), deadlineMs: T0 + 60_000 }, T0);
  assert.ok(p.ok);
  const pump = (now: number): number => {
    let moved = 0;
    for (let round = 0; round < 20; round++) {
      let any = false;
      for (const [from, to, peer] of [[a, b, "a"], [b, a, "b"]] as const) {
        for (const act of from.takeActions()) {
          assert.notEqual(act.type, "broadcast", "no interface: nothing is broadcast");
          if (act.type === "send") {
            to.receive(act.bytes, { kind: "link", peer }, now);
            any = true;
            moved++;
          } else if (act.type === "persistVote") {
            from.votePersisted(act.proposalId, now);
            any = true;
          }
        }
      }
      if (!any) break;
    }
    return moved;
  };
  pump(T0 + 1);
  assert.ok(b.proposal(p.value.id) !== null);
  assert.ok(a.cast(p.value.id, Choice.YES, T0 + 2).ok);
  assert.ok(b.cast(p.value.id, Choice.YES, T0 + 2).ok);
  assert.ok(pump(T0 + 3) >= 2);
  for (const x of [a, b]) assert.equal(x.certificate(p.value.id)?.outcome, "approved", "2 of 3 yes over the link");
});

test("a HAVE heard on one interface suppresses the beacon there only: a node between two segments still beacons on the other", () => {
  const ids = identities(71, 3);
  const m = createMembership({ members: ids.map((i) => i.publicKey) });
  const hub = new QuorumMachine({ identity: ids[0]!, trust: { genesisIds: [m.id] }, random: seededRandom(5), nowMs: T0, interfaces: ["x", "y"] });
  assert.ok(hub.addMembership(m).ok);
  const p = createProposal(ids[1]!, m, { kind: "alarm.confirm", payload: utf8("depot"), deadlineMs: T0 + 60_000, createdMs: T0 });
  hub.receive(encodeProposalMessage(p.encoded), { kind: "broadcast", iface: "x" }, T0);
  // The proposer's HAVE (nothing held yet) on x, the same as the hub would say.
  hub.receive(encodeHave(p.id, 0, new Uint8Array(1)), { kind: "broadcast", iface: "x" }, T0 + 10);
  hub.takeActions();
  const haves: string[] = [];
  for (let t = T0 + 20; t < T0 + QUORUM_LIMITS.haveMinIntervalMs; t += 50) {
    hub.tick(t);
    haves.push(...hub.takeActions().filter((a) => a.type === "broadcast" && a.bytes[0] === MessageType.HAVE).map((a) => (a as { iface: string }).iface));
  }
  assert.deepEqual(haves, ["y"], "beacon on y, where nobody said it; not on x, where the proposer did");
});
