// Offline checks of quorum certificates against their membership chains, from action-log entries alone: kosd
// answers `kosctl vote verify ID` from its log, and kosctl checks the certificates in a log bundle file with
// no kosd at all (a laptop at headquarters). Nothing here reads a clock or the network.
import * as fs from "node:fs";
import { equal, toHex, type Bytes } from "../core/bytes.js";
import { Identity } from "../crypto/identity.js";
import { decodeEntry, type LogEntry } from "../log/entry.js";
import { recordAt, RECORD_ENTRY } from "../log/format.js";
import { BUNDLE_MAGIC } from "../log/bundle.js";
import { decodeCertificate, verifyCertificate } from "../quorum/certificate.js";
import { verifyMembershipChain, type MembershipTrust } from "../quorum/chain.js";
import { MEMBERSHIP_KIND, membershipFromEntry, type Membership } from "../quorum/membership.js";
import { choiceName } from "../quorum/vote.js";

/** Action-log kinds written by kosd's quorum service (the membership kind comes from runtime/quorum). */
export const QUORUM_KINDS = {
  membership: MEMBERSHIP_KIND,
  /** A membership successor under discussion (body: the draft membership, no certificate yet). */
  draft: "quorum.draft",
  proposal: "quorum.proposal",
  certificate: "quorum.certificate",
  evidence: "quorum.evidence",
  outcome: "quorum.outcome",
} as const;

/** Trust as configured: membership ids and author identity hashes or public keys, all in hex. */
export interface TrustSpec {
  genesisIds: readonly string[];
  /** 32 hex digits (identity hash) or 128 (public key). */
  authors: readonly string[];
}

export interface CertificateCheck {
  ok: boolean;
  proposal: string;
  kind: string;
  outcome: string;
  votes: number;
  threshold: number | null;
  membership: string;
  version: number | null;
  /** Versions from the trusted genesis to the certificate's membership. */
  chain: number;
  problem: string | null;
  /** The voters of the certificate as member indices and choices. */
  voters: Array<{ voter: number; choice: string; timeMs: number }>;
}

/**
 * Resolves author trust into public keys: 128-hex keys as given, 32-hex identity hashes through the first
 * entry of that author among `entries` (seq 1 carries the author's key; its hash must match).
 */
export function resolveTrust(spec: TrustSpec, keyOf: (authorHex: string) => Bytes | null): MembershipTrust {
  const keys: Bytes[] = [];
  for (const a of spec.authors) {
    if (a.length === 128) keys.push(Uint8Array.from(Buffer.from(a, "hex")));
    else {
      const k = keyOf(a);
      if (k !== null && toHex(Identity.fromPublicKey(k).hash) === a) keys.push(k);
    }
  }
  return { genesisIds: spec.genesisIds.map((h) => Uint8Array.from(Buffer.from(h, "hex"))), genesisAuthorKeys: keys };
}

/** The author key of each author's seq-1 entry, from a list of entries. */
export function authorKeysOf(entries: Iterable<LogEntry>): Map<string, Bytes> {
  const out = new Map<string, Bytes>();
  for (const e of entries) if (e.seq === 1 && e.authorKey.length > 0) out.set(toHex(e.author), e.authorKey);
  return out;
}

/**
 * Checks one certificate (the body of a quorum.certificate entry) against the membership entries given: the
 * chain from a trusted genesis to the membership its proposal names, then the certificate itself.
 */
export function checkCertificate(certBody: Bytes, membershipEntries: readonly LogEntry[], trust: MembershipTrust): CertificateCheck {
  const d = decodeCertificate(certBody);
  if (!d.ok) return { ok: false, proposal: "?", kind: "?", outcome: "?", votes: 0, threshold: null, membership: "?", version: null, chain: 0, problem: `not a certificate: ${d.detail ?? d.reason}`, voters: [] };
  const c = d.value;
  const base: CertificateCheck = {
    ok: false, proposal: toHex(c.proposal.id), kind: c.proposal.kind, outcome: c.outcome, votes: c.votes.length, threshold: null,
    membership: toHex(c.proposal.membershipId), version: null, chain: 0, problem: null,
    voters: c.votes.map((v) => ({ voter: v.voter, choice: choiceName(v.choice), timeMs: v.timeMs })),
  };
  // Memberships by id, each with the entries that carry it (several authors may log the same one).
  const byId = new Map<string, { m: Membership; entries: LogEntry[] }>();
  for (const e of membershipEntries.slice(0, 100_000)) {
    const m = membershipFromEntry(e);
    if (!m.ok) continue;
    const k = toHex(m.value.id);
    const have = byId.get(k);
    if (have === undefined) byId.set(k, { m: m.value, entries: [e] });
    else have.entries.push(e);
  }
  const chain: Membership[] = [];
  let at = byId.get(base.membership);
  if (at === undefined) return { ...base, problem: `membership ${base.membership} is not in the log` };
  for (let i = 0; i < 100_000 && at !== undefined; i++) {
    chain.unshift(at.m);
    if (at.m.previousId === null) break;
    const prev: string = toHex(at.m.previousId);
    at = byId.get(prev);
    if (at === undefined) return { ...base, problem: `membership ${prev} (version ${chain[0]!.version - 1}) is not in the log` };
  }
  const genesis = byId.get(toHex(chain[0]!.id))!;
  // Any entry carrying the genesis may be the trusted one (signed by a trusted author).
  let verified: Membership | null = null;
  let problem = "genesis not trusted";
  for (const e of genesis.entries) {
    const r = verifyMembershipChain(chain, trust, e);
    if (r.ok) {
      verified = r.value;
      break;
    }
    problem = r.detail ?? r.reason;
  }
  if (verified === null) return { ...base, chain: chain.length, problem: `membership chain: ${problem}` };
  const v = verifyCertificate(c, verified);
  return { ...base, ok: v.ok, threshold: verified.threshold, version: verified.version, chain: chain.length, problem: v.ok ? null : `${v.reason}${v.detail ? `: ${v.detail}` : ""}` };
}

/** True when an entry of the certificate kind certifies the proposal whose id starts with `prefix` (hex). */
export function certificateMatches(e: LogEntry, prefix: string): boolean {
  if (e.kind !== QUORUM_KINDS.certificate) return false;
  const d = decodeCertificate(e.body);
  return d.ok && toHex(d.value.proposal.id).startsWith(prefix);
}

export const MAX_BUNDLE_READ_BYTES = 256 * 1024 * 1024;

/** The entries of a log bundle file (damaged records skipped); throws an Error with a message for the operator. */
export function readBundleEntries(file: string): { entries: LogEntry[]; damaged: number } {
  let data: Uint8Array;
  try {
    const st = fs.statSync(file);
    if (st.size > MAX_BUNDLE_READ_BYTES) throw new Error(`${file} is larger than ${MAX_BUNDLE_READ_BYTES} bytes`);
    data = new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    throw new Error((e as NodeJS.ErrnoException).code !== undefined ? `cannot read ${file}: ${(e as NodeJS.ErrnoException).code}` : (e as Error).message);
  }
  if (data.length < 16 || !equal(data.subarray(0, 8), BUNDLE_MAGIC)) throw new Error(`${file} is not a kos-edge log bundle (kosctl log export writes one)`);
  const entries: LogEntry[] = [];
  let damaged = 0;
  let pos = 16;
  for (let guard = 0; pos < data.length - 16 && guard < 10_000_000; guard++) {
    const r = recordAt(data, pos);
    if (r.kind !== "record") {
      damaged++;
      break;
    }
    if (r.type === RECORD_ENTRY) {
      const e = decodeEntry(r.entry.slice());
      if (e.ok) entries.push(e.value);
      else damaged++;
    }
    pos = r.next;
  }
  return { entries, damaged };
}
