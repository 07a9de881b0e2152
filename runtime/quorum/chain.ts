// Membership chains: a genesis trusted by configuration (a pinned id, or an entry signed by a pinned author),
// then each later version approved by a certificate of the one before it. Everything here is offline.
import { equal, type Bytes } from "../core/bytes.js";
import type { Identity } from "../crypto/identity.js";
import { verifyEntry, type LogEntry } from "../log/entry.js";
import { QUORUM_LIMITS, qerr, qok, type QResult } from "./limits.js";
import { MEMBERSHIP_KIND, membershipFromEntry, type Membership } from "./membership.js";
import { decodeCertificate, verifyCertificate, type Certificate } from "./certificate.js";
import { createProposal, type Proposal } from "./proposal.js";

export interface MembershipTrust {
  /** Genesis membership ids trusted as they are. */
  genesisIds?: readonly Bytes[];
  /** Public keys (64 bytes) of authors whose signed membership entries are trusted as a genesis. */
  genesisAuthorKeys?: readonly Bytes[];
}

/** Whether `m` is a genesis this configuration trusts (by id, or by the signed entry that carries it). */
export function trustedGenesis(m: Membership, trust: MembershipTrust, entry?: LogEntry): boolean {
  if (m.version !== 1 || m.previousId !== null) return false;
  if (trust.genesisIds?.some((id) => equal(id, m.id)) === true) return true;
  if (entry === undefined || entry.kind !== MEMBERSHIP_KIND || !equal(entry.body, m.encoded)) return false;
  return trust.genesisAuthorKeys?.some((k) => verifyEntry(entry, k).ok) === true;
}

/**
 * Checks that `next` succeeds `prev`: the next version, naming prev's id, carrying prev's certificate approving
 * a "quorum.membership" proposal whose payload is next's body hash. Returns the certificate.
 */
export function verifyMembershipStep(prev: Membership, next: Membership): QResult<Certificate> {
  if (next.previousId === null || !equal(next.previousId, prev.id)) return qerr("unknown-membership", "does not name the previous membership");
  if (next.version !== prev.version + 1) return qerr("stale-membership", `version ${next.version} does not follow ${prev.version}`);
  if (next.certificate === null) return qerr("malformed", "no certificate");
  const c = decodeCertificate(next.certificate);
  if (!c.ok) return c;
  const v = verifyCertificate(c.value, prev);
  if (!v.ok) return v;
  const p = c.value.proposal;
  if (c.value.outcome !== "approved") return qerr("wrong-outcome", "the change was rejected");
  if (p.kind !== MEMBERSHIP_KIND) return qerr("wrong-outcome", `certificate approves a ${p.kind}, not a membership`);
  if (!equal(p.payload, next.bodyHash)) return qerr("wrong-outcome", "certificate approves another membership");
  return qok(c.value);
}

/** Verifies a chain from a trusted genesis to its last version; returns the last. */
export function verifyMembershipChain(chain: readonly Membership[], trust: MembershipTrust, genesisEntry?: LogEntry): QResult<Membership> {
  if (chain.length === 0 || chain.length > 1_000_000) return qerr("malformed", "empty chain");
  if (!trustedGenesis(chain[0]!, trust, genesisEntry)) return qerr("unknown-membership", "genesis not trusted");
  for (let i = 1; i < chain.length; i++) {
    const s = verifyMembershipStep(chain[i - 1]!, chain[i]!);
    if (!s.ok) return qerr(s.reason, `version ${chain[i]!.version}: ${s.detail ?? s.reason}`);
  }
  return qok(chain[chain.length - 1]!);
}

/** Same, from action-log entries of kind "quorum.membership" (in version order). */
export function verifyMembershipEntries(entries: readonly LogEntry[], trust: MembershipTrust): QResult<Membership> {
  const chain: Membership[] = [];
  for (const e of entries.slice(0, QUORUM_LIMITS.maxProposals * 1024)) {
    const m = membershipFromEntry(e);
    if (!m.ok) return m;
    chain.push(m.value);
  }
  return verifyMembershipChain(chain, trust, entries[0]);
}

/** The proposal that asks `current` to approve `draft` (a createMembership with `previous: current`). */
export function membershipChangeProposal(proposer: Identity, current: Membership, draft: Membership, createdMs: number, deadlineMs: number): Proposal {
  if (draft.previousId === null || !equal(draft.previousId, current.id)) throw new TypeError("the draft does not succeed the current membership");
  return createProposal(proposer, current, { kind: MEMBERSHIP_KIND, payload: draft.bodyHash, createdMs, deadlineMs });
}
