// Seeded property test: with f < n/3 Byzantine members (equivocating to different neighbours, forging votes of
// honest members, replaying votes of another proposal, voting late, pushing their votes as CERT messages) over
// a lossy broadcast medium, no two certificates with different outcomes ever form for one proposal anywhere,
// every certificate formed verifies offline, and when enough honest members vote alike the certificate forms at
// every honest node before the deadline. QUORUM_SEEDS=N runs more seeds; QUORUM_SEED=S replays one.
import { test } from "node:test";
import assert from "node:assert/strict";
import { utf8 } from "../../runtime/core/bytes.js";
import { verifyCertificate } from "../../runtime/quorum/certificate.js";
import { MessageType } from "../../runtime/quorum/limits.js";
import { decodeMessage, encodeCertMessages, encodeVoteMessages } from "../../runtime/quorum/messages.js";
import { createProposal, type Proposal } from "../../runtime/quorum/proposal.js";
import { Choice, signVote, voteSignatureValid, type Vote } from "../../runtime/quorum/vote.js";
import { certificateAt, eventsOf, Net, T0, uniform, type Rng } from "./net.js";

const DEADLINE = T0 + 60_000;
const pick = (rng: Rng, k: number): number => Math.floor(uniform(rng) * k);

function subset(rng: Rng, of: number[]): number[] {
  return of.filter(() => uniform(rng) < 0.5);
}

function runSeed(seed: number): void {
  const rng0 = (): Rng => net.rng;
  const n = 4 + (seed % 7); // 4..10
  const maxF = Math.ceil(n / 3) - 1;
  const f = 1 + (seed % maxF);
  const honest = n - f;
  const loss = (seed % 4) * 0.1;
  const votes = new Map<number, Choice>();
  const net: Net = new Net({
    seed, n, machines: honest, loss,
    decide: (node) => votes.get(node.index) ?? null,
  });
  const rng = rng0();
  // Honest choices: all yes a third of the time (liveness is checked then), else a random split.
  const unanimous = seed % 3 === 0;
  for (let i = 0; i < honest; i++) votes.set(i, unanimous ? Choice.YES : ([Choice.YES, Choice.NO, Choice.YES, Choice.NO, Choice.ABSTAIN] as Choice[])[pick(rng, 5)]!);
  const p = net.node(0).machine.propose({ kind: "alarm.confirm", payload: utf8(`seed ${seed}`), deadlineMs: DEADLINE }, net.nowMs);
  assert.ok(p.ok, `seed ${seed}`);
  net.collect(net.node(0));
  const honestIdx = Array.from({ length: honest }, (_, i) => i);
  const decoy = createProposal(net.ids[0]!, net.membership, { kind: "alarm.confirm", payload: utf8("decoy"), deadlineMs: DEADLINE, createdMs: T0 });
  const byzVotes: Vote[] = [];
  const attack = (b: number, at: number): void => {
    net.run(at);
    const me = net.ids[b]!;
    const y = signVote(me, p.value, net.membership, Choice.YES, Math.min(DEADLINE, Math.floor(net.nowMs)));
    const no = signVote(me, p.value, net.membership, Choice.NO, Math.min(DEADLINE, Math.floor(net.nowMs)));
    byzVotes.push(y, no);
    const half = subset(rng, honestIdx);
    const other = honestIdx.filter((i) => !half.includes(i));
    switch (pick(rng, 5)) {
      case 0: // equivocate, each half hears one choice
        net.transmit(b, encodeVoteMessages(p.value.id, [y], 383)[0]!, half);
        net.transmit(b, encodeVoteMessages(p.value.id, [no], 383)[0]!, other);
        break;
      case 1: { // forge an honest member's vote
        const victim = pick(rng, honest);
        const forged: Vote = { proposalId: p.value.id, voter: victim, choice: uniform(rng) < 0.5 ? Choice.YES : Choice.NO, timeMs: T0 + 5, signature: rng.bytes(64) };
        net.transmit(b, encodeVoteMessages(p.value.id, [forged], 383)[0]!);
        break;
      }
      case 2: { // replay an honest vote of another proposal as if it were for this one
        const victim = pick(rng, honest);
        const real = signVote(net.ids[victim]!, decoy, net.membership, Choice.NO, T0 + 5);
        net.transmit(b, encodeVoteMessages(p.value.id, [{ ...real, proposalId: p.value.id }], 383)[0]!);
        break;
      }
      case 3: { // a validly signed vote after the deadline, plain and as CERT
        const late = signVote(me, p.value, net.membership, uniform(rng) < 0.5 ? Choice.YES : Choice.NO, DEADLINE + 1 + pick(rng, 5000));
        net.transmit(b, encodeVoteMessages(p.value.id, [late], 383)[0]!);
        net.transmit(b, encodeCertMessages(p.value.id, late.choice === Choice.YES ? "approved" : "rejected", [late], 383)[0]!);
        break;
      }
      default: // push both choices as CERT votes to different halves, to complete either certificate
        net.transmit(b, encodeCertMessages(p.value.id, "approved", [y], 383)[0]!, half);
        net.transmit(b, encodeCertMessages(p.value.id, "rejected", [no], 383)[0]!, other);
    }
  };
  const times = Array.from({ length: f * 2 }, () => T0 + pick(rng, 70_000)).sort((a, b) => a - b);
  times.forEach((t, k) => attack(honest + (k % f), t));
  net.run(DEADLINE + 20 * 60_000);

  // Safety: certificates anywhere agree and verify offline.
  const outcomes = new Set<string>();
  for (const node of net.nodes) {
    for (const e of eventsOf(node, "certificate")) {
      assert.ok(verifyCertificate(e.certificate, net.membership).ok, `seed ${seed}: node ${node.index} holds a certificate that does not verify`);
      outcomes.add(e.certificate.outcome);
    }
    assert.equal(eventsOf(node, "conflict").length, 0, `seed ${seed}: conflict at node ${node.index}`);
  }
  assert.ok(outcomes.size <= 1, `seed ${seed}: certificates for ${[...outcomes].join(" and ")} (n=${n} f=${f} loss=${loss})`);
  // Even an adversary holding every valid vote ever sent cannot make both certificates.
  const valid = new Map<string, Set<number>>([["1", new Set()], ["2", new Set()]]);
  const all: Vote[] = [...byzVotes];
  for (const s of net.sent) {
    const d = decodeMessage(s.bytes);
    if (d.ok && (d.value.type === MessageType.VOTE || d.value.type === MessageType.CERT)) all.push(...d.value.votes);
  }
  for (const v of all) if (v.timeMs <= DEADLINE && v.choice !== Choice.ABSTAIN && voteSignatureValid(v, p.value as Proposal, net.membership)) valid.get(String(v.choice))!.add(v.voter);
  const t = net.membership.threshold;
  assert.ok(valid.get("1")!.size < t || valid.get("2")!.size < t, `seed ${seed}: both certificates could be assembled from the air`);
  // Liveness: a threshold of honest members voting yes, all in reach: every honest node certifies in time.
  if (unanimous && honest >= t) {
    for (const node of net.nodes) {
      const at = certificateAt(node);
      assert.ok(at !== null && at <= DEADLINE, `seed ${seed}: honest node ${node.index} has no certificate by the deadline (n=${n} f=${f} loss=${loss})`);
      assert.equal(eventsOf(node, "certificate")[0]!.certificate.outcome, "approved", `seed ${seed}`);
    }
  }
}

test("safety and liveness with f < n/3 Byzantine members over a lossy medium, many seeds", () => {
  const one = process.env["QUORUM_SEED"];
  const seeds = one !== undefined ? [Number(one)] : Array.from({ length: Number(process.env["QUORUM_SEEDS"] ?? 150) }, (_, i) => i + 1);
  for (const seed of seeds) runSeed(seed);
});
