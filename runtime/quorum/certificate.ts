// Certificates and equivocation evidence: the proofs local quorum leaves behind, checkable offline with the
// membership alone (no clock, no network).
//   certificate  [1, proposal (bin, its canonical encoding), outcome (1 approved, 2 rejected), votes (bin 72*k)]
//                votes: records of distinct members in ascending voter order, each choosing the outcome
//                (yes for approved, no for rejected), timed at or before the deadline; k >= threshold
//   evidence     [1, proposal (bin), voteA (bin 88), voteB (bin 88)]: one member, one proposal, two choices
import { type Bytes } from "../core/bytes.js";
import { packMsgpack, unpackMsgpack } from "../wire/msgpack.js";
import { QUORUM_LIMITS, VOTE_RECORD_LENGTH, qerr, qok, type QResult } from "./limits.js";
import type { Membership } from "./membership.js";
import { decodeProposal, verifyProposal, type Proposal } from "./proposal.js";
import { Choice, decodeVote, decodeVoteRecord, encodeVote, encodeVoteRecord, voteSignatureValid, type Vote } from "./vote.js";

export type Outcome = "approved" | "rejected";
export const outcomeChoice = (o: Outcome): Choice => (o === "approved" ? Choice.YES : Choice.NO);
const FORMAT = 1;

export interface Certificate {
  proposal: Proposal;
  outcome: Outcome;
  votes: readonly Vote[];
  encoded: Bytes;
}

/** Builds a certificate from votes already checked (sorted here); local misuse throws. */
export function buildCertificate(proposal: Proposal, outcome: Outcome, votes: readonly Vote[]): Certificate {
  const sorted = [...votes].sort((a, b) => a.voter - b.voter);
  const records = new Uint8Array(sorted.length * VOTE_RECORD_LENGTH);
  sorted.forEach((v, i) => {
    if (v.choice !== outcomeChoice(outcome)) throw new TypeError(`a ${outcome} certificate holds only ${outcome === "approved" ? "yes" : "no"} votes`);
    if (v.timeMs > proposal.deadlineMs) throw new RangeError("a vote after the deadline cannot enter a certificate");
    encodeVoteRecord(v, records, i * VOTE_RECORD_LENGTH);
  });
  return { proposal, outcome, votes: sorted, encoded: packMsgpack([FORMAT, proposal.encoded, outcome === "approved" ? 1 : 2, records]) };
}

/** Decodes a certificate (shape only; verifyCertificate checks it). Never throws. */
export function decodeCertificate(encoded: Bytes): QResult<Certificate> {
  if (encoded.length > QUORUM_LIMITS.maxCertificateBytes) return qerr("oversized", `certificate of ${encoded.length} bytes`);
  const u = unpackMsgpack(encoded);
  if (!u.ok) return qerr("malformed", u.detail);
  const a = u.value;
  if (!Array.isArray(a) || a.length !== 4 || a[0] !== FORMAT) return qerr("malformed", "a certificate is [1, proposal, outcome, votes]");
  const [, pb, o, records] = a as unknown[];
  if (!(pb instanceof Uint8Array) || !(records instanceof Uint8Array) || (o !== 1 && o !== 2)) return qerr("malformed", "certificate fields");
  if (records.length % VOTE_RECORD_LENGTH !== 0 || records.length / VOTE_RECORD_LENGTH > QUORUM_LIMITS.maxMembers) return qerr("malformed", "vote records");
  const p = decodeProposal(pb);
  if (!p.ok) return p;
  const votes: Vote[] = [];
  for (let at = 0; at < records.length; at += VOTE_RECORD_LENGTH) {
    const v = decodeVoteRecord(p.value.id, records, at);
    if (!v.ok) return v;
    votes.push(v.value);
  }
  return qok({ proposal: p.value, outcome: o === 1 ? "approved" : "rejected", votes, encoded: encoded.slice() });
}

/**
 * Verifies a certificate offline against the membership its proposal names: the proposal's signature, at
 * least `threshold` votes from distinct members, each for the outcome, timed at or before the deadline and
 * validly signed. Works on the object, so a certificate built in memory is held to the same rules.
 */
export function verifyCertificate(c: Certificate, m: Membership): QResult<Certificate> {
  const p = verifyProposal(c.proposal, m);
  if (!p.ok) return p;
  const want = outcomeChoice(c.outcome);
  const seen = new Set<number>();
  for (const v of c.votes) {
    if (v.voter < 0 || v.voter >= m.members.length) return qerr("not-member", `voter ${v.voter}`);
    if (seen.has(v.voter)) return qerr("duplicate", `voter ${v.voter} counted twice`);
    seen.add(v.voter);
    if (v.choice !== want) return qerr("wrong-outcome", `voter ${v.voter} did not vote ${c.outcome === "approved" ? "yes" : "no"}`);
    if (v.timeMs > c.proposal.deadlineMs) return qerr("late", `voter ${v.voter} voted after the deadline`);
    if (!voteSignatureValid(v, c.proposal, m)) return qerr("bad-signature", `voter ${v.voter}`);
  }
  if (seen.size < m.threshold) return qerr("too-few", `${seen.size} of ${m.threshold} votes`);
  return qok(c);
}

/** Proof that one member signed two different choices on one proposal. */
export interface Equivocation {
  proposal: Proposal;
  a: Vote;
  b: Vote;
  encoded: Bytes;
}

export function buildEquivocation(proposal: Proposal, a: Vote, b: Vote): Equivocation {
  if (a.voter !== b.voter || a.choice === b.choice) throw new TypeError("evidence needs two choices of one voter");
  return { proposal, a, b, encoded: packMsgpack([FORMAT, proposal.encoded, encodeVote(a), encodeVote(b)]) };
}

export function decodeEquivocation(encoded: Bytes): QResult<Equivocation> {
  if (encoded.length > QUORUM_LIMITS.maxCertificateBytes) return qerr("oversized", "evidence");
  const u = unpackMsgpack(encoded);
  if (!u.ok) return qerr("malformed", u.detail);
  const a = u.value;
  if (!Array.isArray(a) || a.length !== 4 || a[0] !== FORMAT) return qerr("malformed", "evidence is [1, proposal, voteA, voteB]");
  const [, pb, va, vb] = a as unknown[];
  if (!(pb instanceof Uint8Array) || !(va instanceof Uint8Array) || !(vb instanceof Uint8Array)) return qerr("malformed", "evidence fields");
  const p = decodeProposal(pb);
  const x = decodeVote(va);
  const y = decodeVote(vb);
  if (!p.ok) return p;
  if (!x.ok) return x;
  if (!y.ok) return y;
  return qok({ proposal: p.value, a: x.value, b: y.value, encoded: encoded.slice() });
}

/** Verifies evidence offline: a valid proposal of `m`, two validly signed votes of one member with different choices. */
export function verifyEquivocation(e: Equivocation, m: Membership): QResult<Equivocation> {
  const p = verifyProposal(e.proposal, m);
  if (!p.ok) return p;
  if (e.a.voter !== e.b.voter) return qerr("malformed", "two voters");
  if (e.a.choice === e.b.choice) return qerr("malformed", "the same choice twice is not equivocation");
  if (!voteSignatureValid(e.a, e.proposal, m) || !voteSignatureValid(e.b, e.proposal, m)) return qerr("bad-signature", "evidence vote");
  return qok(e);
}
