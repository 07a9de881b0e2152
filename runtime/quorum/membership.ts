// Memberships: who votes and how many must agree. A membership is carried as an action-log entry of kind
// "quorum.membership"; its body is
//   [1, version, members (array of 64-byte public keys; a member's index is its position), threshold,
//    previousId (nil for a genesis, else bin 16), certificate (nil for a genesis, else bin: the certificate of
//    the previous membership approving a "quorum.membership" proposal whose payload is this body hash)]
// The core is the same array without the certificate. id = SHA-256(core)[:16]; body hash = SHA-256(core).
// The certificate is left out of both because it cannot cover itself (its proposal names the body hash), and
// so that one membership has one id whichever set of votes proved it.
import { equal, toHex, type Bytes } from "../core/bytes.js";
import { PUBLIC_KEY_LENGTH } from "../core/limits.js";
import { sha256 } from "../crypto/hashes.js";
import { Identity } from "../crypto/identity.js";
import { createEntry, type LogEntry } from "../log/entry.js";
import { packMsgpack, unpackMsgpack } from "../wire/msgpack.js";
import { ID_LENGTH, QUORUM_LIMITS, qerr, qok, type QResult } from "./limits.js";

/** Log entry kind of a membership, and proposal kind of a membership change. */
export const MEMBERSHIP_KIND = "quorum.membership";
const FORMAT = 1;

export interface Membership {
  version: number;
  members: readonly Bytes[];
  threshold: number;
  previousId: Bytes | null;
  /** Encoded certificate of the previous membership (null for a genesis); checked by verifyMembershipStep. */
  certificate: Bytes | null;
  id: Bytes;
  bodyHash: Bytes;
  /** The log entry body. */
  encoded: Bytes;
  /** Members as identities (signature checks reuse their imported keys). */
  identities: readonly Identity[];
}

/** floor(2n/3) + 1: no two conflicting certificates while fewer than a third of the members equivocate. */
export const defaultThreshold = (n: number): number => Math.floor((2 * n) / 3) + 1;
/** The least threshold accepted: a strict majority. */
export const minThreshold = (n: number): number => Math.floor(n / 2) + 1;
/** Equivocating members a threshold survives without two conflicting certificates: 2t - n - 1 (at least 0). */
export const safetyTolerance = (n: number, t: number): number => Math.max(0, 2 * t - n - 1);
/** Silent or hostile members a threshold survives and still decides: n - t. */
export const livenessTolerance = (n: number, t: number): number => Math.max(0, n - t);

function core(version: number, members: readonly Bytes[], threshold: number, previousId: Bytes | null): Bytes {
  return packMsgpack([FORMAT, version, members, threshold, previousId]);
}

function checkFields(version: unknown, members: unknown, threshold: unknown, previousId: unknown): string | null {
  if (typeof version !== "number" || !Number.isSafeInteger(version) || version < 1) return "version must be a positive integer";
  if (!Array.isArray(members) || members.length < 1 || members.length > QUORUM_LIMITS.maxMembers) return `1..${QUORUM_LIMITS.maxMembers} members`;
  const seen = new Set<string>();
  for (const m of members) {
    if (!(m instanceof Uint8Array) || m.length !== PUBLIC_KEY_LENGTH) return "a member is a 64-byte public key";
    const h = toHex(m);
    if (seen.has(h)) return "a member is listed twice";
    seen.add(h);
  }
  const n = members.length;
  if (typeof threshold !== "number" || !Number.isInteger(threshold) || threshold < minThreshold(n) || threshold > n) {
    return `threshold must be ${minThreshold(n)}..${n} for ${n} members`;
  }
  if (previousId !== null && !(previousId instanceof Uint8Array && previousId.length === ID_LENGTH)) return "previous id";
  if ((version === 1) !== (previousId === null)) return "a genesis (version 1) and only a genesis has no previous membership";
  return null;
}

function build(version: number, members: Bytes[], threshold: number, previousId: Bytes | null, certificate: Bytes | null): Membership {
  const c = core(version, members, threshold, previousId);
  const bodyHash = sha256(c);
  return {
    version, members, threshold, previousId, certificate,
    id: bodyHash.slice(0, ID_LENGTH),
    bodyHash,
    encoded: packMsgpack([FORMAT, version, members, threshold, previousId, certificate]),
    identities: members.map((k) => Identity.fromPublicKey(k)),
  };
}

export interface MembershipSpec {
  members: readonly Bytes[];
  /** Default floor(2n/3)+1. */
  threshold?: number;
  /** The membership this one replaces (null or absent: a genesis, version 1). */
  previous?: Membership | null;
  /** The previous membership's certificate approving this one (see membershipChangeProposal); absent for a draft. */
  certificate?: Bytes | null;
}

/** Builds a membership; local misuse throws. Without a certificate a successor is a draft to propose. */
export function createMembership(spec: MembershipSpec): Membership {
  const members = spec.members.map((m) => m.slice());
  const threshold = spec.threshold ?? defaultThreshold(members.length);
  const prev = spec.previous ?? null;
  const version = prev === null ? 1 : prev.version + 1;
  const bad = checkFields(version, members, threshold, prev === null ? null : prev.id);
  if (bad !== null) throw new RangeError(bad);
  if (prev === null && spec.certificate != null) throw new TypeError("a genesis carries no certificate");
  return build(version, members, threshold, prev === null ? null : prev.id.slice(), spec.certificate?.slice() ?? null);
}

/** The same membership with its approving certificate attached. */
export function withCertificate(m: Membership, certificate: Bytes): Membership {
  if (m.previousId === null) throw new TypeError("a genesis carries no certificate");
  return build(m.version, m.members.slice(), m.threshold, m.previousId, certificate.slice());
}

/** Decodes a membership body (from a log entry or a file). Checks shape and rules, not the certificate. Never throws. */
export function decodeMembership(encoded: Bytes): QResult<Membership> {
  if (encoded.length > QUORUM_LIMITS.maxMembershipBytes) return qerr("oversized", `membership of ${encoded.length} bytes`);
  const u = unpackMsgpack(encoded);
  if (!u.ok) return qerr("malformed", u.detail);
  const a = u.value;
  if (!Array.isArray(a) || a.length !== 6 || a[0] !== FORMAT) return qerr("malformed", "a membership is [1, version, members, threshold, previousId, certificate]");
  const [, version, members, threshold, previousId, certificate] = a as unknown[];
  const bad = checkFields(version, members, threshold, previousId);
  if (bad !== null) return qerr("malformed", bad);
  if (certificate !== null && !(certificate instanceof Uint8Array)) return qerr("malformed", "certificate");
  if ((previousId === null) !== (certificate === null)) return qerr("malformed", "a successor carries a certificate, a genesis none");
  const m = build(version as number, (members as Bytes[]).map((k) => k.slice()), threshold as number, (previousId as Bytes | null)?.slice() ?? null,
    (certificate as Bytes | null)?.slice() ?? null);
  if (!equal(m.encoded, encoded)) return qerr("malformed", "not canonical");
  return qok(m);
}

/** The member index of a public key, or -1. */
export function memberIndex(m: Membership, publicKey: Bytes): number {
  return m.members.findIndex((k) => equal(k, publicKey));
}

/** A membership as the next entry of `author`'s action log. */
export function membershipEntry(author: Identity, prev: LogEntry | null, timeMs: number, m: Membership): LogEntry {
  return createEntry(author, prev, timeMs, MEMBERSHIP_KIND, m.encoded);
}

/** The membership an action-log entry carries (shape only: trust and certificates are checked by chain.ts). */
export function membershipFromEntry(e: LogEntry): QResult<Membership> {
  if (e.kind !== MEMBERSHIP_KIND) return qerr("malformed", `entry kind ${e.kind} is not ${MEMBERSHIP_KIND}`);
  return decodeMembership(e.body);
}
