// Proposals: what a membership is asked to decide, by when.
//   encoded   [1, membershipId(bin 16), kind, payload(bin), deadlineMs, createdMs, proposer, signature(bin 64)]
//   signed    "kos.quorum.proposal.v1" || MessagePack of the first seven fields
//   id        SHA-256(signed)[:16]  (the signature is deterministic Ed25519 and checked, so it need not be hashed)
// At most QUORUM_LIMITS.maxProposalBytes (one LoRa packet with room to spare).
import { concat, equal, utf8, type Bytes } from "../core/bytes.js";
import { SIGNATURE_LENGTH } from "../core/limits.js";
import { truncatedHash } from "../crypto/hashes.js";
import type { Identity } from "../crypto/identity.js";
import { packMsgpack, unpackMsgpack } from "../wire/msgpack.js";
import { ID_LENGTH, QUORUM_LIMITS, qerr, qok, type QResult } from "./limits.js";
import { memberIndex, type Membership } from "./membership.js";

const FORMAT = 1;
const DOMAIN = utf8("kos.quorum.proposal.v1");

export interface Proposal {
  membershipId: Bytes;
  kind: string;
  payload: Bytes;
  deadlineMs: number;
  createdMs: number;
  /** Index of the proposer in the membership. */
  proposer: number;
  signature: Bytes;
  id: Bytes;
  encoded: Bytes;
}

type Fields = Omit<Proposal, "signature" | "id" | "encoded">;

function signedBytes(f: Fields): Bytes {
  return concat(DOMAIN, packMsgpack([FORMAT, f.membershipId, f.kind, f.payload, f.deadlineMs, f.createdMs, f.proposer]));
}

function finish(f: Fields, signature: Bytes): Proposal {
  const encoded = packMsgpack([FORMAT, f.membershipId, f.kind, f.payload, f.deadlineMs, f.createdMs, f.proposer, signature]);
  return { ...f, signature, id: truncatedHash(signedBytes(f)), encoded };
}

function checkFields(f: { kind: unknown; payload: unknown; deadlineMs: unknown; createdMs: unknown; proposer: unknown }): string | null {
  if (typeof f.kind !== "string" || f.kind.length === 0 || utf8(f.kind).length > QUORUM_LIMITS.maxKindBytes) return `kind must be 1..${QUORUM_LIMITS.maxKindBytes} bytes`;
  if (!(f.payload instanceof Uint8Array)) return "payload";
  if (typeof f.deadlineMs !== "number" || !Number.isSafeInteger(f.deadlineMs) || f.deadlineMs < 0 || f.deadlineMs >= 2 ** 48) return "deadline";
  if (typeof f.createdMs !== "number" || !Number.isSafeInteger(f.createdMs) || f.createdMs < 0) return "created";
  if (f.deadlineMs <= f.createdMs || f.deadlineMs - f.createdMs > QUORUM_LIMITS.maxLifetimeMs) return `the deadline must fall within ${QUORUM_LIMITS.maxLifetimeMs} ms after creation`;
  if (typeof f.proposer !== "number" || !Number.isInteger(f.proposer) || f.proposer < 0 || f.proposer >= QUORUM_LIMITS.maxMembers) return "proposer index";
  return null;
}

export interface ProposalSpec {
  kind: string;
  payload: Bytes;
  deadlineMs: number;
  createdMs: number;
}

/** Signs a proposal as a member of `m`; local misuse (not a member, sizes, times) throws. */
export function createProposal(proposer: Identity, m: Membership, spec: ProposalSpec): Proposal {
  const index = memberIndex(m, proposer.publicKey);
  if (index < 0) throw new TypeError("the proposer is not a member of the membership");
  if (spec.payload.length > QUORUM_LIMITS.maxPayloadBytes) throw new RangeError(`payload of ${spec.payload.length} bytes exceeds ${QUORUM_LIMITS.maxPayloadBytes}`);
  const f: Fields = { membershipId: m.id.slice(), kind: spec.kind, payload: spec.payload.slice(), deadlineMs: spec.deadlineMs, createdMs: spec.createdMs, proposer: index };
  const bad = checkFields(f);
  if (bad !== null) throw new RangeError(bad);
  return finish(f, proposer.sign(signedBytes(f)));
}

/** Decodes a proposal from remote bytes: shape, sizes and canonical form, not the signature. Never throws. */
export function decodeProposal(encoded: Bytes): QResult<Proposal> {
  if (encoded.length > QUORUM_LIMITS.maxProposalBytes) return qerr("oversized", `proposal of ${encoded.length} bytes`);
  const u = unpackMsgpack(encoded);
  if (!u.ok) return qerr("malformed", u.detail);
  const a = u.value;
  if (!Array.isArray(a) || a.length !== 8 || a[0] !== FORMAT) return qerr("malformed", "a proposal is an 8-element array");
  const [, membershipId, kind, payload, deadlineMs, createdMs, proposer, signature] = a as unknown[];
  if (!(membershipId instanceof Uint8Array) || membershipId.length !== ID_LENGTH) return qerr("malformed", "membership id");
  const bad = checkFields({ kind, payload, deadlineMs, createdMs, proposer });
  if (bad !== null) return qerr("malformed", bad);
  if ((payload as Bytes).length > QUORUM_LIMITS.maxPayloadBytes) return qerr("oversized", "payload");
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) return qerr("malformed", "signature");
  const p = finish({ membershipId: membershipId.slice(), kind: kind as string, payload: (payload as Bytes).slice(), deadlineMs: deadlineMs as number, createdMs: createdMs as number,
    proposer: proposer as number }, signature.slice());
  if (!equal(p.encoded, encoded)) return qerr("malformed", "not canonical");
  return qok(p);
}

/** Checks a proposal against its membership: the id it names and the proposer's signature. */
export function verifyProposal(p: Proposal, m: Membership): QResult<Proposal> {
  if (!equal(p.membershipId, m.id)) return qerr("unknown-membership", "the proposal names another membership");
  const who = m.identities[p.proposer];
  if (who === undefined) return qerr("not-member", `proposer ${p.proposer} of ${m.members.length}`);
  if (!who.verify(p.signature, signedBytes(p))) return qerr("bad-signature", "proposal");
  return qok(p);
}
