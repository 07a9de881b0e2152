// The pure core of local quorum: encodings and their sizes, signatures, membership chains, certificates that
// verify offline (and the ways they must not), and tally statuses with equivocation and conflict.
import { test } from "node:test";
import assert from "node:assert/strict";
import { equal, utf8 } from "../../runtime/core/bytes.js";
import { createEntry } from "../../runtime/log/entry.js";
import {
  buildCertificate, buildEquivocation, decodeCertificate, decodeEquivocation, verifyCertificate, verifyEquivocation, type Certificate,
} from "../../runtime/quorum/certificate.js";
import { membershipChangeProposal, trustedGenesis, verifyMembershipChain, verifyMembershipEntries, verifyMembershipStep } from "../../runtime/quorum/chain.js";
import { MessageType, QUORUM_LIMITS, VOTE_LENGTH } from "../../runtime/quorum/limits.js";
import {
  createMembership, decodeMembership, defaultThreshold, membershipEntry, membershipFromEntry, safetyTolerance, withCertificate, type Membership,
} from "../../runtime/quorum/membership.js";
import { decodeMessage, encodeHave, encodeProposalMessage, encodeVoteMessages, encodeWant, votesPerMessage } from "../../runtime/quorum/messages.js";
import { createProposal, decodeProposal, verifyProposal, type Proposal } from "../../runtime/quorum/proposal.js";
import { Tally } from "../../runtime/quorum/tally.js";
import { Choice, decodeVote, encodeVote, signVote, voteSignatureValid, type Vote } from "../../runtime/quorum/vote.js";
import { identities, T0 } from "./net.js";

const ids = identities(1, 7);
const outsider = identities(2, 1)[0]!;
const M = createMembership({ members: ids.map((i) => i.publicKey) });
const DEADLINE = T0 + 60_000;

function proposal(m: Membership = M, payload = utf8("sensor 7 reads 80 C"), by = 0): Proposal {
  return createProposal(ids[by]!, m, { kind: "alarm.confirm", payload, deadlineMs: DEADLINE, createdMs: T0 });
}
const P = proposal();
const votes = (p: Proposal, choice: Choice, who: number[], m: Membership = M, at = T0 + 1000): Vote[] => who.map((i) => signVote(ids[i]!, p, m, choice, at));

test("thresholds: default floor(2n/3)+1, a strict majority at least, tolerance 2t-n-1", () => {
  assert.deepEqual([1, 3, 4, 5, 7, 10, 20].map(defaultThreshold), [1, 3, 3, 4, 5, 7, 14]);
  assert.equal(M.threshold, 5);
  assert.equal(safetyTolerance(7, 5), 2);
  assert.equal(safetyTolerance(10, 7), 3);
  assert.equal(safetyTolerance(4, 3), 1);
  assert.equal(safetyTolerance(4, 3) >= Math.ceil(4 / 3) - 1, true);
  assert.throws(() => createMembership({ members: ids.map((i) => i.publicKey), threshold: 3 }), /threshold must be 4\.\.7/);
  assert.throws(() => createMembership({ members: [ids[0]!.publicKey, ids[0]!.publicKey] }), /twice/);
  assert.equal(createMembership({ members: ids.map((i) => i.publicKey), threshold: 4 }).threshold, 4);
});

test("a vote is 72 bytes in a message, 88 alone, and a one-vote VOTE message is 89 bytes", () => {
  const [v] = votes(P, Choice.YES, [3]);
  const alone = encodeVote(v!);
  assert.equal(alone.length, VOTE_LENGTH);
  assert.equal(VOTE_LENGTH, 88);
  const d = decodeVote(alone);
  assert.ok(d.ok && d.value.voter === 3 && d.value.choice === Choice.YES && d.value.timeMs === T0 + 1000 && equal(d.value.signature, v!.signature));
  const [msg] = encodeVoteMessages(P.id, [v!], QUORUM_LIMITS.defaultMdu);
  assert.equal(msg!.length, 89);
  assert.equal(votesPerMessage(QUORUM_LIMITS.defaultMdu), 5);
  const five = encodeVoteMessages(P.id, votes(P, Choice.NO, [0, 1, 2, 3, 4, 5]), QUORUM_LIMITS.defaultMdu);
  assert.deepEqual(five.map((m) => m.length <= QUORUM_LIMITS.defaultMdu), [true, true]);
  const back = decodeMessage(five[0]!);
  assert.ok(back.ok && back.value.type === MessageType.VOTE && back.value.votes.length === 5);
});

test("vote signatures bind proposal, membership, choice and time", () => {
  const [v] = votes(P, Choice.YES, [2]);
  assert.ok(voteSignatureValid(v!, P, M));
  assert.equal(voteSignatureValid({ ...v!, choice: Choice.NO }, P, M), false);
  assert.equal(voteSignatureValid({ ...v!, timeMs: v!.timeMs - 1 }, P, M), false);
  assert.equal(voteSignatureValid({ ...v!, voter: 3 }, P, M), false);
  const other = proposal(M, utf8("another"));
  assert.equal(voteSignatureValid({ ...v!, proposalId: other.id }, other, M), false, "a vote replayed onto another proposal");
  assert.throws(() => signVote(outsider, P, M, Choice.YES, T0), /not a member/);
});

test("proposals round-trip, are signed by a member, and fit one packet at the largest payload", () => {
  const d = decodeProposal(P.encoded);
  assert.ok(d.ok && equal(d.value.id, P.id) && d.value.kind === "alarm.confirm");
  assert.ok(verifyProposal(P, M).ok);
  const big = createProposal(ids[1]!, M, { kind: "x".repeat(QUORUM_LIMITS.maxKindBytes), payload: new Uint8Array(QUORUM_LIMITS.maxPayloadBytes), deadlineMs: 2 ** 47, createdMs: 2 ** 47 - 1000 });
  assert.ok(big.encoded.length <= QUORUM_LIMITS.maxProposalBytes, `${big.encoded.length} bytes`);
  assert.ok(encodeProposalMessage(big.encoded).length <= QUORUM_LIMITS.defaultMdu);
  assert.throws(() => createProposal(ids[1]!, M, { kind: "k", payload: new Uint8Array(QUORUM_LIMITS.maxPayloadBytes + 1), deadlineMs: DEADLINE, createdMs: T0 }), /exceeds/);
  assert.throws(() => createProposal(outsider, M, { kind: "k", payload: new Uint8Array(1), deadlineMs: DEADLINE, createdMs: T0 }), /not a member/);
  const forged = { ...P, signature: P.signature.map((b, i) => (i === 5 ? b ^ 1 : b)) };
  assert.equal(verifyProposal(forged, M).ok, false);
  const tampered = decodeProposal(createProposal(ids[0]!, M, { kind: "k", payload: utf8("a"), deadlineMs: DEADLINE, createdMs: T0 }).encoded.map((b, i, a) => (i === a.length - 70 ? b ^ 1 : b)));
  assert.ok(!tampered.ok || !verifyProposal(tampered.value, M).ok, "a flipped bit never verifies");
  const oversized = new Uint8Array(QUORUM_LIMITS.maxProposalBytes + 1);
  assert.equal((decodeProposal(oversized) as { reason: string }).reason, "oversized");
});

test("HAVE and WANT round-trip; malformed messages are refused with a reason", () => {
  const h = decodeMessage(encodeHave(P.id, 1, Uint8Array.of(0x7f)));
  assert.ok(h.ok && h.value.type === MessageType.HAVE && h.value.flags === 1 && h.value.bitmap[0] === 0x7f);
  const w = decodeMessage(encodeWant(P.id, 2, new Uint8Array(0)));
  assert.ok(w.ok && w.value.type === MessageType.WANT && w.value.flags === 2);
  for (const bad of [new Uint8Array(0), Uint8Array.of(9, 1, 2), encodeHave(P.id, 9, Uint8Array.of(1)), encodeHave(P.id, 0, new Uint8Array(9)), encodeVoteMessages(P.id, votes(P, 1, [1]), 383)[0]!.slice(0, 60)]) {
    const r = decodeMessage(bad);
    assert.equal(r.ok, false);
  }
  assert.equal((decodeMessage(new Uint8Array(501)) as { reason: string }).reason, "oversized");
});

function cert(outcome: "approved" | "rejected", who: number[], p = P, m = M): Certificate {
  return buildCertificate(p, outcome, votes(p, outcome === "approved" ? Choice.YES : Choice.NO, who, m));
}

test("a certificate verifies offline after a round trip through bytes", () => {
  const c = cert("approved", [0, 2, 3, 5, 6]);
  const d = decodeCertificate(c.encoded);
  assert.ok(d.ok);
  assert.ok(verifyCertificate(d.value, M).ok);
  assert.equal(d.value.votes.length, 5);
  assert.ok(c.encoded.length < 5 * 72 + 200, `${c.encoded.length} bytes`);
});

test("certificate verification refuses too few, duplicates, another membership, late, forged and mixed votes", () => {
  const reason = (c: Certificate, m = M): string => {
    const r = verifyCertificate(c, m);
    return r.ok ? "ok" : r.reason;
  };
  assert.equal(reason(cert("approved", [0, 1, 2, 3])), "too-few");
  const c = cert("approved", [0, 1, 2, 3, 4]);
  assert.equal(reason({ ...c, votes: [...c.votes.slice(0, 4), c.votes[0]!] }), "duplicate");
  const M2 = createMembership({ members: ids.map((i) => i.publicKey), threshold: 6 });
  assert.equal(reason(c, M2), "unknown-membership");
  const late = signVote(ids[4]!, P, M, Choice.YES, DEADLINE + 1);
  assert.equal(reason({ ...c, votes: [...c.votes.slice(0, 4), late] }), "late");
  assert.throws(() => buildCertificate(P, "approved", [...c.votes.slice(0, 4), late]), /after the deadline/);
  const forged = { ...c.votes[4]!, signature: c.votes[3]!.signature };
  assert.equal(reason({ ...c, votes: [...c.votes.slice(0, 4), forged] }), "bad-signature");
  const no = signVote(ids[4]!, P, M, Choice.NO, T0 + 5);
  assert.equal(reason({ ...c, votes: [...c.votes.slice(0, 4), no] }), "wrong-outcome");
  const other = proposal(M, utf8("other"));
  const replayed = { ...votes(other, Choice.YES, [4])[0]!, proposalId: P.id };
  assert.equal(reason({ ...c, votes: [...c.votes.slice(0, 4), replayed] }), "bad-signature");
  assert.equal(reason(c), "ok");
});

test("equivocation evidence verifies offline; the same choice twice is no evidence", () => {
  const a = signVote(ids[3]!, P, M, Choice.YES, T0 + 1);
  const b = signVote(ids[3]!, P, M, Choice.NO, T0 + 2);
  const e = buildEquivocation(P, a, b);
  const d = decodeEquivocation(e.encoded);
  assert.ok(d.ok && verifyEquivocation(d.value, M).ok);
  const again = signVote(ids[3]!, P, M, Choice.YES, T0 + 3);
  assert.equal(verifyEquivocation({ ...e, b: again }, M).ok, false);
  assert.equal(verifyEquivocation({ ...e, b: { ...b, signature: a.signature } }, M).ok, false);
});

test("tally: pending, reached, rejected, expired, with reachability", () => {
  const t = new Tally(P, M);
  for (const v of votes(P, Choice.YES, [0, 1])) assert.equal((t.add(v) as { value: { kind: string } }).value.kind, "counted");
  for (const v of votes(P, Choice.NO, [2, 3, 4])) t.add(v);
  let v = t.view(T0 + 2000);
  assert.deepEqual([v.status, v.yes, v.no, v.canApprove, v.canReject], ["pending", 2, 3, false, true], "2 yes + 2 undecided cannot make 5");
  t.add(votes(P, Choice.YES, [5])[0]!);
  v = t.view(T0 + 2000);
  assert.deepEqual([v.canApprove, v.canReject], [false, false], "neither side can reach 5 any more");
  assert.equal(t.view(DEADLINE + 1).status, "expired");
  const t2 = new Tally(P, M);
  let formed = null;
  for (const x of votes(P, Choice.YES, [0, 1, 2, 3, 4])) {
    const r = t2.add(x);
    if (r.ok && r.value.kind === "counted" && r.value.formed !== null) formed = r.value.formed;
  }
  assert.ok(formed !== null && verifyCertificate(formed, M).ok);
  v = t2.view(DEADLINE + 10);
  assert.deepEqual([v.status, v.canApprove, v.canReject], ["reached", true, false], "a certificate outlives the deadline");
  const t3 = new Tally(P, M);
  for (const x of votes(P, Choice.NO, [6, 5, 4, 3, 2])) t3.add(x);
  assert.equal(t3.view(T0).status, "rejected");
  const t4 = new Tally(P, M);
  for (const x of votes(P, Choice.ABSTAIN, [0, 1, 2])) t4.add(x);
  v = t4.view(T0);
  assert.deepEqual([v.abstain, v.canApprove, v.canReject], [3, false, false], "abstentions count toward neither outcome");
});

test("tally: late, forged and outsider votes are refused; repeats are duplicates keeping the earliest", () => {
  const t = new Tally(P, M);
  const reason = (x: Vote): string => {
    const r = t.add(x);
    return r.ok ? r.value.kind : r.reason;
  };
  assert.equal(reason(signVote(ids[0]!, P, M, Choice.YES, DEADLINE + 1)), "late");
  assert.equal(reason({ ...votes(P, Choice.YES, [1])[0]!, voter: 2 }), "bad-signature");
  assert.equal(reason({ ...votes(P, Choice.YES, [1])[0]!, voter: 9 }), "not-member");
  const later = signVote(ids[1]!, P, M, Choice.YES, T0 + 500);
  const earlier = signVote(ids[1]!, P, M, Choice.YES, T0 + 100);
  assert.equal(reason(later), "counted");
  assert.equal(reason(later), "duplicate");
  assert.equal(reason(earlier), "duplicate");
  assert.equal(t.vote(1)!.timeMs, T0 + 100);
  assert.equal(t.view(T0).yes, 1);
});

test("tally: an equivocator yields evidence and stops counting; certificates for both outcomes are a conflict", () => {
  const t = new Tally(P, M);
  for (const x of votes(P, Choice.YES, [0, 1, 2, 3])) t.add(x);
  const r = t.add(signVote(ids[3]!, P, M, Choice.NO, T0 + 2));
  assert.ok(r.ok && r.value.kind === "equivocation" && verifyEquivocation(r.value.evidence, M).ok);
  assert.equal(t.view(T0).yes, 3);
  assert.deepEqual(t.view(T0).equivocators, [3]);
  const again = t.add(signVote(ids[3]!, P, M, Choice.YES, T0 + 3));
  assert.ok(again.ok && again.value.kind === "excluded");
  assert.equal(t.add(signVote(ids[4]!, P, M, Choice.YES, T0 + 3)).ok, true);
  assert.equal(t.view(T0).status, "pending", "4 counted yes of 5 needed: the equivocator no longer counts");
  // Three equivocators out of 7 (tolerance 2) can make both certificates: adopted from elsewhere, that is a conflict.
  const yes = cert("approved", [0, 1, 2, 3, 4]);
  const no = cert("rejected", [2, 3, 4, 5, 6]);
  assert.ok(verifyCertificate(yes, M).ok && verifyCertificate(no, M).ok);
  const t2 = new Tally(P, M);
  t2.adopt(yes);
  assert.equal(t2.view(T0).status, "reached");
  t2.adopt(no);
  assert.equal(t2.view(T0).status, "conflict");
});

test("membership chain: genesis trusted by id or pinned author, successors by certificate of the previous", () => {
  const next = createMembership({ members: [...ids.slice(0, 6).map((i) => i.publicKey), outsider.publicKey], previous: M });
  const change = membershipChangeProposal(ids[0]!, M, next, T0, DEADLINE);
  const c = buildCertificate(change, "approved", votes(change, Choice.YES, [0, 1, 2, 3, 4]));
  const v2 = withCertificate(next, c.encoded);
  assert.equal(v2.version, 2);
  assert.ok(equal(v2.id, next.id), "the certificate is not part of the id");
  assert.ok(verifyMembershipStep(M, v2).ok);
  assert.ok(verifyMembershipChain([M, v2], { genesisIds: [M.id] }).ok);
  assert.equal(verifyMembershipChain([M, v2], {}).ok, false, "an untrusted genesis");
  // As action-log entries, trusted through a pinned author.
  const admin = ids[6]!;
  const e1 = membershipEntry(admin, null, T0, M);
  const e2 = membershipEntry(admin, e1, T0 + 1, v2);
  assert.ok(trustedGenesis(M, { genesisAuthorKeys: [admin.publicKey] }, e1));
  assert.equal(trustedGenesis(M, { genesisAuthorKeys: [outsider.publicKey] }, e1), false);
  const back = membershipFromEntry(e2);
  assert.ok(back.ok && equal(back.value.id, v2.id));
  assert.ok(verifyMembershipEntries([e1, e2], { genesisAuthorKeys: [admin.publicKey] }).ok);
  assert.equal(membershipFromEntry(createEntry(admin, null, T0, "supply.handout", M.encoded)).ok, false);
  const dec = decodeMembership(v2.encoded);
  assert.ok(dec.ok && equal(dec.value.encoded, v2.encoded));
});

test("membership chain: forged, skipped, rejected and mismatched certificates are refused", () => {
  const next = createMembership({ members: ids.slice(1).map((i) => i.publicKey), previous: M });
  const change = membershipChangeProposal(ids[0]!, M, next, T0, DEADLINE);
  const reason = (m: Membership, prev = M): string => {
    const r = verifyMembershipStep(prev, m);
    return r.ok ? "ok" : r.reason;
  };
  // Forged: one signature replaced.
  const good = buildCertificate(change, "approved", votes(change, Choice.YES, [0, 1, 2, 3, 4]));
  const forgedVotes = [...good.votes.slice(0, 4), { ...good.votes[4]!, signature: new Uint8Array(64) }];
  assert.equal(reason(withCertificate(next, buildCertificate(change, "approved", forgedVotes).encoded)), "bad-signature");
  // Too few votes.
  assert.equal(reason(withCertificate(next, buildCertificate(change, "approved", votes(change, Choice.YES, [0, 1, 2, 3])).encoded)), "too-few");
  // Rejected change.
  assert.equal(reason(withCertificate(next, buildCertificate(change, "rejected", votes(change, Choice.NO, [0, 1, 2, 3, 4])).encoded)), "wrong-outcome");
  // A certificate for another draft.
  const other = createMembership({ members: ids.slice(2).map((i) => i.publicKey), previous: M });
  const otherChange = membershipChangeProposal(ids[0]!, M, other, T0, DEADLINE);
  assert.equal(reason(withCertificate(next, buildCertificate(otherChange, "approved", votes(otherChange, Choice.YES, [0, 1, 2, 3, 4])).encoded)), "wrong-outcome");
  // A certificate approving some other kind of proposal.
  const alarm = proposal(M, next.bodyHash);
  assert.equal(reason(withCertificate(next, buildCertificate(alarm, "approved", votes(alarm, Choice.YES, [0, 1, 2, 3, 4])).encoded)), "wrong-outcome");
  // A skipped version: v3 presented against v1.
  const v2 = withCertificate(next, good.encoded);
  const v3draft = createMembership({ members: ids.map((i) => i.publicKey), previous: v2 });
  assert.equal(reason(v3draft, M), "unknown-membership");
  assert.equal(verifyMembershipChain([M, withCertificate(v3draft, good.encoded)], { genesisIds: [M.id] }).ok, false);
});
