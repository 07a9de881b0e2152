// Summaries of a log for sync: per author the highest seq and the first bytes of the head hash, in author
// order, and a digest over the full heads so two equal logs recognise each other from 8 bytes.
//
// Digest: the first 8 bytes of SHA-256 over, for every author in ascending author-hash order, author (16) ||
// seq (uint32 BE) || head hash (32). Equal heads mean equal logs (each head hash commits to its whole chain);
// fork evidence held on the side does not enter the digest.
//
// Buckets: with more authors than one summary packet holds, HELLO also carries a 4-byte digest per bucket
// (authors split by their first byte into B = 2^k buckets, author[0] * B >> 8), computed the same way over the
// bucket's authors; summaries then cover only the buckets that differ (a scope: B and a bit mask).
import type { Bytes } from "../../core/bytes.js";
import { sha256 } from "../../crypto/hashes.js";
import { BUCKET_DIGEST_LENGTH, DIGEST_LENGTH, HEAD_PREFIX_LENGTH, MAX_SEQ, SYNC_LIMITS } from "./limits.js";
import type { Head, LogView } from "./view.js";

export interface SummaryRecord {
  author: Bytes;
  /** Lowercase hex of author: the key every map of the sync machine uses (hex order is byte order). */
  hex: string;
  seq: number;
  /** First HEAD_PREFIX_LENGTH bytes of the head hash. */
  prefix: Bytes;
}

/** Which authors a summary covers: all (buckets 0), or the buckets whose bit is set in mask (bit i of byte i>>3). */
export interface Scope {
  buckets: number;
  mask: Bytes;
}
export const WHOLE_LOG: Scope = { buckets: 0, mask: new Uint8Array(0) };

export interface LocalRecord extends SummaryRecord {
  hash: Bytes;
}

export interface LocalSummary {
  records: LocalRecord[];
  digest: Bytes;
  /** Entries on the main chains (the sum of head seqs). */
  entryCount: number;
  /** True when the view had more authors than a summary carries (SYNC_LIMITS.maxSummaryAuthors). */
  truncated: boolean;
}

/** The summary of a view's heads, authors in ascending hash order. */
export function summarize(view: LogView): LocalSummary {
  return summarizeHeads(view.heads());
}

export function summarizeHeads(heads: ReadonlyMap<string, Head>): LocalSummary {
  const keys = [...heads.keys()].sort();
  const truncated = keys.length > SYNC_LIMITS.maxSummaryAuthors;
  if (truncated) keys.length = SYNC_LIMITS.maxSummaryAuthors;
  const buf = new Uint8Array(keys.length * 52);
  const dv = new DataView(buf.buffer);
  const records: LocalRecord[] = [];
  let entryCount = 0;
  keys.forEach((hex, i) => {
    const h = heads.get(hex)!;
    if (h.seq > MAX_SEQ) throw new RangeError(`seq ${h.seq} of ${hex} exceeds what sync carries`);
    buf.set(h.author, i * 52);
    dv.setUint32(i * 52 + 16, h.seq);
    buf.set(h.hash, i * 52 + 20);
    records.push({ author: h.author, hex, seq: h.seq, prefix: h.hash.subarray(0, HEAD_PREFIX_LENGTH), hash: h.hash });
    entryCount += h.seq;
  });
  return { records, digest: sha256(buf).subarray(0, DIGEST_LENGTH), entryCount, truncated };
}


export function bucketOf(author: Bytes, buckets: number): number {
  return buckets === 0 ? 0 : (author[0]! * buckets) >> 8;
}

export function inScope(author: Bytes, scope: Scope): boolean {
  if (scope.buckets === 0) return true;
  const b = bucketOf(author, scope.buckets);
  return ((scope.mask[b >> 3] ?? 0) & (1 << (b & 7))) !== 0;
}

/** 4 bytes per bucket: SHA-256 over the bucket's records as the digest takes them. */
export function bucketDigests(records: readonly LocalRecord[], buckets: number): Bytes {
  const out = new Uint8Array(buckets * BUCKET_DIGEST_LENGTH);
  if (buckets === 0) return out;
  const per: LocalRecord[][] = Array.from({ length: buckets }, () => []);
  for (const r of records) per[bucketOf(r.author, buckets)]!.push(r);
  per.forEach((rs, i) => {
    const buf = new Uint8Array(rs.length * 52);
    const dv = new DataView(buf.buffer);
    rs.forEach((r, j) => {
      buf.set(r.author, j * 52);
      dv.setUint32(j * 52 + 16, r.seq);
      buf.set(r.hash, j * 52 + 20);
    });
    out.set(sha256(buf).subarray(0, BUCKET_DIGEST_LENGTH), i * BUCKET_DIGEST_LENGTH);
  });
  return out;
}

/** The scope of buckets whose digests differ between ours and `theirs` (same bucket count). */
export function differingScope(records: readonly LocalRecord[], theirs: Bytes): Scope {
  const buckets = theirs.length / BUCKET_DIGEST_LENGTH;
  const ours = bucketDigests(records, buckets);
  const mask = new Uint8Array(Math.ceil(buckets / 8));
  for (let b = 0; b < buckets; b++) {
    const at = b * BUCKET_DIGEST_LENGTH;
    for (let i = 0; i < BUCKET_DIGEST_LENGTH; i++) {
      if (ours[at + i] !== theirs[at + i]) {
        mask[b >> 3]! |= 1 << (b & 7);
        break;
      }
    }
  }
  return { buckets, mask };
}

/**
 * Buckets for a HELLO: none when the whole summary fits one packet. Else, for one changed author, HELLO costs
 * 4B bytes and the two summaries about 2 x 28 x authors/B: least near B = sqrt(14 x authors), a power of two.
 */
export function chooseBuckets(authors: number, recordsPerPacket: number, maxBuckets: number): number {
  if (authors <= recordsPerPacket) return 0;
  const target = Math.sqrt(14 * authors);
  let b = 2;
  while (b < maxBuckets && b * 1.41 < target) b *= 2;
  return b;
}
