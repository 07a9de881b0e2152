// Votes: one member's signed yes, no or abstain on one proposal.
//   record (in messages and certificates, 72 bytes)  voter u8 | choice u8 | timeMs u48 BE | signature (64)
//   standalone (journal, evidence, 88 bytes)           proposalId (16) | record
//   signed   "kos.quorum.vote.v1" || proposalId (16) || membershipId (16) || choice u8 || timeMs u64 BE
// The voter is an index into the membership (one byte, not a 16-byte hash): the membership maps it to a key.
import { concat, equal, readUintBE, uintBE, utf8, type Bytes } from "../core/bytes.js";
import type { Identity } from "../crypto/identity.js";
import { ID_LENGTH, QUORUM_LIMITS, VOTE_LENGTH, VOTE_RECORD_LENGTH, qerr, qok, type QResult } from "./limits.js";
import type { Membership } from "./membership.js";
import type { Proposal } from "./proposal.js";

export const Choice = { YES: 1, NO: 2, ABSTAIN: 3 } as const;
export type Choice = (typeof Choice)[keyof typeof Choice];
const DOMAIN = utf8("kos.quorum.vote.v1");

export interface Vote {
  proposalId: Bytes;
  voter: number;
  choice: Choice;
  timeMs: number;
  signature: Bytes;
}

export const isChoice = (c: unknown): c is Choice => c === 1 || c === 2 || c === 3;
export const choiceName = (c: Choice): "yes" | "no" | "abstain" => (c === 1 ? "yes" : c === 2 ? "no" : "abstain");

export function voteSigningBytes(proposalId: Bytes, membershipId: Bytes, choice: Choice, timeMs: number): Bytes {
  return concat(DOMAIN, proposalId, membershipId, Uint8Array.of(choice), uintBE(0, 2), uintBE(timeMs, 6));
}

/** Signs a vote; local misuse (wrong voter index, bad time) throws. The vote guard lives in the machine. */
export function signVote(voter: Identity, p: Proposal, m: Membership, choice: Choice, timeMs: number): Vote {
  const index = m.members.findIndex((k) => equal(k, voter.publicKey));
  if (index < 0) throw new TypeError("the voter is not a member");
  if (!isChoice(choice)) throw new RangeError("choice must be Choice.YES, NO or ABSTAIN");
  if (!Number.isSafeInteger(timeMs) || timeMs < 0 || timeMs >= 2 ** 48) throw new RangeError("vote time");
  return { proposalId: p.id.slice(), voter: index, choice, timeMs, signature: voter.sign(voteSigningBytes(p.id, m.id, choice, timeMs)) };
}

/** True when the vote is signed by member `vote.voter` of `m` for proposal `p`. */
export function voteSignatureValid(vote: Vote, p: Proposal, m: Membership): boolean {
  const who = m.identities[vote.voter];
  return who !== undefined && equal(vote.proposalId, p.id) && who.verify(vote.signature, voteSigningBytes(p.id, m.id, vote.choice, vote.timeMs));
}

export function encodeVoteRecord(v: Vote, out = new Uint8Array(VOTE_RECORD_LENGTH), at = 0): Bytes {
  out[at] = v.voter;
  out[at + 1] = v.choice;
  out.set(uintBE(v.timeMs, 6), at + 2);
  out.set(v.signature, at + 8);
  return out;
}

/** A record from remote bytes (shape only). Never throws. */
export function decodeVoteRecord(proposalId: Bytes, b: Bytes, at: number): QResult<Vote> {
  if (b.length - at < VOTE_RECORD_LENGTH) return qerr("malformed", "short vote record");
  const voter = b[at]!;
  const choice = b[at + 1]!;
  if (voter >= QUORUM_LIMITS.maxMembers) return qerr("not-member", `voter ${voter}`);
  if (!isChoice(choice)) return qerr("malformed", `choice ${choice}`);
  return qok({ proposalId: proposalId.slice(), voter, choice, timeMs: readUintBE(b, at + 2, 6), signature: b.slice(at + 8, at + VOTE_RECORD_LENGTH) });
}

export function encodeVote(v: Vote): Bytes {
  const out = new Uint8Array(VOTE_LENGTH);
  out.set(v.proposalId, 0);
  encodeVoteRecord(v, out, ID_LENGTH);
  return out;
}

export function decodeVote(b: Bytes): QResult<Vote> {
  if (b.length !== VOTE_LENGTH) return qerr(b.length > VOTE_LENGTH ? "oversized" : "malformed", `a vote is ${VOTE_LENGTH} bytes`);
  return decodeVoteRecord(b.subarray(0, ID_LENGTH), b, ID_LENGTH);
}

export const sameVote = (a: Vote, b: Vote): boolean =>
  a.voter === b.voter && a.choice === b.choice && a.timeMs === b.timeMs && equal(a.signature, b.signature) && equal(a.proposalId, b.proposalId);
