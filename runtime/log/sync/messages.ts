// Log-sync messages: plain MessagePack arrays whose first element is the type, sized to fit one link packet.
//
//   HELLO        [0, version, digest(bin 8), entryCount, bucketDigests(bin 4*B, B = 0 or 2..64)]
//   SUMMARY      [1, digest(bin 8), index, total, records(bin 28*k), B, mask(bin ceil(B/8))]
//                record = author(16) || seq(uint32 BE) || head hash prefix(8); the records of the authors in
//                scope (B = 0: all; else the buckets whose bit is set in mask), split into `total` chunks;
//                total 0: an update (some heads that changed), not a whole scope
//   WANT         [2, wants(bin 24*k)]                                    want = author(16) || from(u32) || count(u32)
//   ENTRIES      [3, run, run, ...]                                      see entries-codec.ts
//   SUMMARY_REQ  [5, B, mask]                                            "send me your summary of this scope again"
//   (type 4 was PART in version 1; large entries now travel as STREAM packets, stream.ts, which are not arrays)
//
// Decoders take remote bytes and never throw: a message that does not fit is a result with a reason.
import { toHex, type Bytes } from "../../core/bytes.js";
import { err, ok, type Result } from "../../core/result.js";
import { packMsgpack, unpackMsgpack } from "../../wire/msgpack.js";
import { decodeRuns, type WireRun } from "./entries-codec.js";
import {
  BUCKET_DIGEST_LENGTH, DIGEST_LENGTH, HEAD_PREFIX_LENGTH, MAX_BUCKETS, MAX_SEQ, MessageType, SUMMARY_RECORD_LENGTH, SYNC_LIMITS, SYNC_VERSION,
  WANT_RECORD_LENGTH,
} from "./limits.js";
import { WHOLE_LOG, type Scope, type SummaryRecord } from "./summary.js";

export interface Want {
  author: Bytes;
  hex: string;
  fromSeq: number;
  count: number;
}

export type SyncMessage =
  | { type: typeof MessageType.HELLO; version: number; digest: Bytes; entryCount: number; bucketDigests: Bytes }
  | { type: typeof MessageType.SUMMARY; digest: Bytes; index: number; total: number; records: SummaryRecord[]; scope: Scope }
  | { type: typeof MessageType.WANT; wants: Want[] }
  | { type: typeof MessageType.ENTRIES; runs: WireRun[] }
  | { type: typeof MessageType.SUMMARY_REQ; scope: Scope };

// ---- encoders (local input: misuse throws) ---------------------------------------------------------------

export function encodeHello(digest: Bytes, entryCount: number, bucketDigests: Bytes): Bytes {
  return packMsgpack([MessageType.HELLO, SYNC_VERSION, digest, entryCount, bucketDigests]);
}

/** Largest SUMMARY header: index and total at 0xffff, a 3-byte bin header (chunks stay under 64 KiB), a full mask. */
const SUMMARY_OVERHEAD_MAX =
  packMsgpack([MessageType.SUMMARY, new Uint8Array(DIGEST_LENGTH), 0xffff, 0xffff, new Uint8Array(0x100), MAX_BUCKETS, new Uint8Array(MAX_BUCKETS / 8)]).length - 0x100;

export function encodeSummary(digest: Bytes, index: number, total: number, records: readonly SummaryRecord[], scope: Scope): Bytes {
  const bin = new Uint8Array(records.length * SUMMARY_RECORD_LENGTH);
  const dv = new DataView(bin.buffer);
  records.forEach((r, i) => {
    const at = i * SUMMARY_RECORD_LENGTH;
    bin.set(r.author, at);
    dv.setUint32(at + 16, r.seq);
    bin.set(r.prefix.subarray(0, HEAD_PREFIX_LENGTH), at + 20);
  });
  return packMsgpack([MessageType.SUMMARY, digest, index, total, bin, scope.buckets, scope.mask]);
}

/**
 * Splits a summary into SUMMARY messages of at most `mdu` bytes. An empty log still sends one chunk (the
 * digest and "no authors"), so the peer learns it is complete.
 */
export function encodeSummaryChunks(digest: Bytes, records: readonly SummaryRecord[], mdu: number, scope: Scope, update = false): Bytes[] {
  const perChunk = summaryRecordsPerPacket(mdu);
  if (perChunk < 1) throw new RangeError(`link MDU ${mdu} cannot carry a summary record`);
  const total = Math.max(1, Math.ceil(records.length / perChunk));
  const out: Bytes[] = [];
  for (let i = 0; i < total; i++) out.push(encodeSummary(digest, i, update ? 0 : total, records.slice(i * perChunk, (i + 1) * perChunk), scope));
  return out;
}

export function encodeWants(wants: readonly Want[]): Bytes {
  const bin = new Uint8Array(wants.length * WANT_RECORD_LENGTH);
  const dv = new DataView(bin.buffer);
  wants.forEach((w, i) => {
    const at = i * WANT_RECORD_LENGTH;
    bin.set(w.author, at);
    dv.setUint32(at + 16, w.fromSeq);
    dv.setUint32(at + 20, w.count);
  });
  return packMsgpack([MessageType.WANT, bin]);
}

/** WANT messages of at most `mdu` bytes for `wants`. */
export function encodeWantChunks(wants: readonly Want[], mdu: number): Bytes[] {
  const overhead = packMsgpack([MessageType.WANT, new Uint8Array(0x100)]).length - 0x100;
  const perMessage = Math.min(SYNC_LIMITS.maxWantsPerMessage, Math.floor((mdu - overhead) / WANT_RECORD_LENGTH));
  const out: Bytes[] = [];
  for (let i = 0; i < wants.length; i += perMessage) out.push(encodeWants(wants.slice(i, i + perMessage)));
  return out;
}

export function encodeSummaryRequest(scope: Scope): Bytes {
  return packMsgpack([MessageType.SUMMARY_REQ, scope.buckets, scope.mask]);
}

/** Records a packet of `mdu` bytes carries in one SUMMARY. */
export function summaryRecordsPerPacket(mdu: number): number {
  return Math.min(SYNC_LIMITS.maxRecordsPerChunk, Math.floor((mdu - SUMMARY_OVERHEAD_MAX) / SUMMARY_RECORD_LENGTH));
}

const HELLO_OVERHEAD_MAX = packMsgpack([MessageType.HELLO, SYNC_VERSION, new Uint8Array(DIGEST_LENGTH), 2 ** 40, new Uint8Array(0x100)]).length - 0x100;

/** Most buckets a HELLO may carry at `mdu`. */
export function maxBucketsFor(mdu: number): number {
  let b = MAX_BUCKETS;
  while (b > 2 && HELLO_OVERHEAD_MAX + b * BUCKET_DIGEST_LENGTH > mdu) b /= 2;
  return b;
}

// ---- decoder (remote input: never throws) ----------------------------------------------------------------

const isUint = (v: unknown, max = Number.MAX_SAFE_INTEGER): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0 && v <= max;
const isBin = (v: unknown, length?: number): v is Bytes => v instanceof Uint8Array && (length === undefined || v.length === length);

/** Decodes one sync message of at most `maxBytes`. */
export function decodeMessage(bytes: Bytes, maxBytes: number): Result<SyncMessage> {
  if (bytes.length > maxBytes) return err("too-long", `message of ${bytes.length} bytes over ${maxBytes}`);
  const u = unpackMsgpack(bytes);
  if (!u.ok) return u;
  const a = u.value;
  if (!Array.isArray(a) || a.length === 0) return err("bad-encoding", "a sync message is a non-empty array");
  switch (a[0]) {
    case MessageType.HELLO: {
      const [, version, digest, entryCount, buckets] = a as unknown[];
      if (a.length !== 5 || !isUint(version) || !isBin(digest, DIGEST_LENGTH) || !isUint(entryCount) || !isBin(buckets)) return err("bad-encoding", "HELLO");
      // Another version is decoded all the same: the session refuses it and counts it ("version").
      const n = buckets.length / BUCKET_DIGEST_LENGTH;
      if (n !== 0 && !validBucketCount(n)) return err("bad-encoding", "HELLO buckets");
      return ok({ type: MessageType.HELLO, version, digest: digest.slice(), entryCount, bucketDigests: buckets.slice() });
    }
    case MessageType.SUMMARY:
      return decodeSummary(a);
    case MessageType.WANT:
      return decodeWants(a);
    case MessageType.ENTRIES: {
      const runs = decodeRuns(a);
      return runs.ok ? ok({ type: MessageType.ENTRIES, runs: runs.value }) : runs;
    }
    case MessageType.SUMMARY_REQ: {
      const scope = a.length === 3 ? decodeScope(a[1], a[2]) : null;
      return scope === null ? err("bad-encoding", "SUMMARY_REQ") : ok({ type: MessageType.SUMMARY_REQ, scope });
    }
    default:
      return err("unknown", `message type ${String(a[0])}`);
  }
}

const validBucketCount = (n: number): boolean => Number.isInteger(n) && n >= 2 && n <= MAX_BUCKETS && (n & (n - 1)) === 0;

function decodeScope(buckets: unknown, mask: unknown): Scope | null {
  if (!isUint(buckets, MAX_BUCKETS) || !isBin(mask)) return null;
  if (buckets === 0) return mask.length === 0 ? WHOLE_LOG : null;
  return validBucketCount(buckets) && mask.length === Math.ceil(buckets / 8) ? { buckets, mask: mask.slice() } : null;
}

function decodeSummary(a: unknown[]): Result<SyncMessage> {
  const [, digest, index, total, bin, buckets, mask] = a;
  if (a.length !== 7 || !isBin(digest, DIGEST_LENGTH) || !isUint(total, SYNC_LIMITS.maxSummaryChunks) || !isUint(index) || !isBin(bin)) return err("bad-encoding", "SUMMARY");
  const scope = decodeScope(buckets, mask);
  if (scope === null) return err("bad-encoding", "SUMMARY scope");
  if (total > 0 && index >= total) return err("bad-encoding", "SUMMARY index past total");
  if (bin.length % SUMMARY_RECORD_LENGTH !== 0) return err("bad-encoding", "SUMMARY records");
  const n = bin.length / SUMMARY_RECORD_LENGTH;
  if (n > SYNC_LIMITS.maxRecordsPerChunk) return err("too-long", "SUMMARY records");
  const dv = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const records: SummaryRecord[] = [];
  for (let i = 0; i < n; i++) {
    const at = i * SUMMARY_RECORD_LENGTH;
    const author = bin.slice(at, at + 16);
    const seq = dv.getUint32(at + 16);
    if (seq < 1) return err("bad-encoding", "SUMMARY seq 0");
    records.push({ author, hex: toHex(author), seq, prefix: bin.slice(at + 20, at + 20 + HEAD_PREFIX_LENGTH) });
  }
  return ok({ type: MessageType.SUMMARY, digest: digest.slice(), index, total, records, scope });
}

function decodeWants(a: unknown[]): Result<SyncMessage> {
  const bin = a[1];
  if (a.length !== 2 || !isBin(bin) || bin.length % WANT_RECORD_LENGTH !== 0) return err("bad-encoding", "WANT");
  const n = bin.length / WANT_RECORD_LENGTH;
  if (n > SYNC_LIMITS.maxWantsPerMessage) return err("too-long", "WANT records");
  const dv = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const wants: Want[] = [];
  for (let i = 0; i < n; i++) {
    const at = i * WANT_RECORD_LENGTH;
    const author = bin.slice(at, at + 16);
    const fromSeq = dv.getUint32(at + 16);
    const count = dv.getUint32(at + 20);
    if (fromSeq < 1 || count < 1 || fromSeq + count - 1 > MAX_SEQ) return err("bad-encoding", "WANT range");
    wants.push({ author, hex: toHex(author), fromSeq, count });
  }
  return ok({ type: MessageType.WANT, wants });
}
