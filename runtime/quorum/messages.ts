// Gossip messages: a type byte, then fixed binary fields (votes are the bulk of the traffic and the smallest
// possible on air: one vote is an 89-byte message).
//   PROPOSAL  0x01 | proposal (canonical MessagePack, see proposal.ts)
//   VOTE      0x02 | proposalId (16) | record (72) x k, k >= 1         one vote, or a batch that fits the MDU
//   HAVE      0x03 | proposalId (16) | flags u8 | bitmap (1..8)         votes held, bit i = member i (LSB first)
//                                                                        flags: 1 approved / 2 rejected certificate held
//   WANT      0x04 | proposalId (16) | flags u8 | bitmap (0..8)         votes wanted; flags: 1 proposal, 2 certificate
//   CERT      0x05 | proposalId (16) | outcome u8 | record (72) x k     votes of a certificate (1 approved, 2 rejected);
//                                                                        accepted after the deadline, as proof
import { concat, type Bytes } from "../core/bytes.js";
import { ID_LENGTH, MessageType, QUORUM_LIMITS, VOTE_RECORD_LENGTH, qerr, qok, type QResult } from "./limits.js";
import type { Outcome } from "./certificate.js";
import { decodeVoteRecord, encodeVoteRecord, type Vote } from "./vote.js";

export const HAVE_APPROVED = 1;
export const HAVE_REJECTED = 2;
export const WANT_PROPOSAL = 1;
export const WANT_CERT = 2;
const MAX_BITMAP = QUORUM_LIMITS.maxMembers / 8;

export type QuorumMessage =
  | { type: typeof MessageType.PROPOSAL; proposal: Bytes }
  | { type: typeof MessageType.VOTE; proposalId: Bytes; votes: Vote[] }
  | { type: typeof MessageType.HAVE; proposalId: Bytes; flags: number; bitmap: Bytes }
  | { type: typeof MessageType.WANT; proposalId: Bytes; flags: number; bitmap: Bytes }
  | { type: typeof MessageType.CERT; proposalId: Bytes; outcome: Outcome; votes: Vote[] };

export const encodeProposalMessage = (proposal: Bytes): Bytes => concat(Uint8Array.of(MessageType.PROPOSAL), proposal);

function records(type: number, proposalId: Bytes, extra: number[], votes: readonly Vote[]): Bytes {
  const head = 1 + ID_LENGTH + extra.length;
  const out = new Uint8Array(head + votes.length * VOTE_RECORD_LENGTH);
  out[0] = type;
  out.set(proposalId, 1);
  out.set(extra, 1 + ID_LENGTH);
  votes.forEach((v, i) => encodeVoteRecord(v, out, head + i * VOTE_RECORD_LENGTH));
  return out;
}

/** Votes per VOTE (or CERT) message at a given MDU. */
export const votesPerMessage = (mdu: number): number => Math.floor((mdu - 2 - ID_LENGTH) / VOTE_RECORD_LENGTH);

/** VOTE messages carrying `votes` (all of one proposal), each at most `mdu` bytes. */
export function encodeVoteMessages(proposalId: Bytes, votes: readonly Vote[], mdu: number): Bytes[] {
  const per = votesPerMessage(mdu);
  if (per < 1) throw new RangeError(`an MDU of ${mdu} bytes cannot carry a vote`);
  const out: Bytes[] = [];
  for (let i = 0; i < votes.length; i += per) out.push(records(MessageType.VOTE, proposalId, [], votes.slice(i, i + per)));
  return out;
}

export function encodeCertMessages(proposalId: Bytes, outcome: Outcome, votes: readonly Vote[], mdu: number): Bytes[] {
  const per = votesPerMessage(mdu);
  if (per < 1) throw new RangeError(`an MDU of ${mdu} bytes cannot carry a vote`);
  const out: Bytes[] = [];
  for (let i = 0; i < votes.length; i += per) out.push(records(MessageType.CERT, proposalId, [outcome === "approved" ? 1 : 2], votes.slice(i, i + per)));
  return out;
}

export function encodeHave(proposalId: Bytes, flags: number, bitmap: Bytes): Bytes {
  return concat(Uint8Array.of(MessageType.HAVE), proposalId, Uint8Array.of(flags), bitmap);
}

export function encodeWant(proposalId: Bytes, flags: number, bitmap: Bytes): Bytes {
  return concat(Uint8Array.of(MessageType.WANT), proposalId, Uint8Array.of(flags), bitmap);
}

function decodeRecords(proposalId: Bytes, b: Bytes, at: number): QResult<Vote[]> {
  const rest = b.length - at;
  if (rest < VOTE_RECORD_LENGTH || rest % VOTE_RECORD_LENGTH !== 0) return qerr("malformed", "vote records");
  const votes: Vote[] = [];
  for (let i = at; i < b.length; i += VOTE_RECORD_LENGTH) {
    const v = decodeVoteRecord(proposalId, b, i);
    if (!v.ok) return v;
    votes.push(v.value);
  }
  return qok(votes);
}

/** Decodes one message from remote bytes. Never throws. */
export function decodeMessage(b: Bytes): QResult<QuorumMessage> {
  if (b.length > QUORUM_LIMITS.maxInputBytes) return qerr("oversized", `message of ${b.length} bytes`);
  if (b.length < 2) return qerr("malformed", "short message");
  const type = b[0]!;
  if (type === MessageType.PROPOSAL) return qok({ type, proposal: b.slice(1) });
  if (b.length < 1 + ID_LENGTH + 1) return qerr("malformed", "short message");
  const proposalId = b.slice(1, 1 + ID_LENGTH);
  switch (type) {
    case MessageType.VOTE: {
      const r = decodeRecords(proposalId, b, 1 + ID_LENGTH);
      return r.ok ? qok({ type, proposalId, votes: r.value }) : r;
    }
    case MessageType.CERT: {
      const o = b[1 + ID_LENGTH];
      if (o !== 1 && o !== 2) return qerr("malformed", "outcome");
      const r = decodeRecords(proposalId, b, 2 + ID_LENGTH);
      return r.ok ? qok({ type, proposalId, outcome: o === 1 ? "approved" : "rejected", votes: r.value }) : r;
    }
    case MessageType.HAVE:
    case MessageType.WANT: {
      const flags = b[1 + ID_LENGTH]!;
      const bitmap = b.slice(2 + ID_LENGTH);
      if (flags > 3 || bitmap.length > MAX_BITMAP || (type === MessageType.HAVE && bitmap.length === 0)) return qerr("malformed", "flags or bitmap");
      return qok({ type, proposalId, flags, bitmap });
    }
    default:
      return qerr("malformed", `unknown message type ${type}`);
  }
}

export const bitSet = (bitmap: Bytes, i: number): boolean => ((bitmap[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;

export function bitmapOf(indices: Iterable<number>, n: number): Bytes {
  const b = new Uint8Array(Math.ceil(n / 8));
  for (const i of indices) if (i < n) b[i >> 3]! |= 1 << (i & 7);
  return b;
}
