// The action-log store's on-disk format: segment headers and record frames. Pure functions over bytes.
//
// A segment file (<data dir>/log/NNNNNNNN.seg, NNNNNNNN = segment number, 8 decimal digits) is:
//   header  16 bytes: "KOSLSEG" 0x01 (magic + format version) | segment number u32 BE | CRC-32C of bytes 0..11 u32 BE
//   records back to back, from offset 16:
//     length  u32 BE   payload length, 1 .. MAX_PAYLOAD_BYTES
//     crc     u32 BE   CRC-32C of the payload
//     payload          record type u8 (1 = entry, 2 = fork evidence) + the canonical MessagePack entry
// Nothing else: no footer, no padding. A segment is closed at a size limit and never written again.
import { equal, type Bytes } from "../core/bytes.js";
import { crc32c } from "./crc32c.js";
import { LOG_LIMITS } from "./entry.js";

export const SEGMENT_MAGIC: Bytes = new Uint8Array([0x4b, 0x4f, 0x53, 0x4c, 0x53, 0x45, 0x47, 0x01]); // "KOSLSEG" 1
export const SEGMENT_HEADER_BYTES = 16;
export const RECORD_HEADER_BYTES = 8;
/** Payload: one type byte and the largest entry. */
export const MAX_PAYLOAD_BYTES = 1 + LOG_LIMITS.maxEntryBytes;
export const MAX_RECORD_BYTES = RECORD_HEADER_BYTES + MAX_PAYLOAD_BYTES;

export const RECORD_ENTRY = 1;
/** A validly signed entry that conflicts with the author's chain: kept as evidence, never served as the chain. */
export const RECORD_FORK = 2;
export type RecordType = typeof RECORD_ENTRY | typeof RECORD_FORK;

/** Every entry's MessagePack starts so: fixarray(9), version 1, bin8 of 16 bytes (the author). */
const ENTRY_PREFIX = [0x99, 0x01, 0xc4, 0x10] as const;

export const segmentName = (n: number): string => `${String(n).padStart(8, "0")}.seg`;
const SEGMENT_NAME = /^(\d{8})\.seg$/;
export function parseSegmentName(name: string): number | null {
  const m = SEGMENT_NAME.exec(name);
  return m === null ? null : Number(m[1]);
}

export function encodeSegmentHeader(n: number): Bytes {
  const b = new Uint8Array(SEGMENT_HEADER_BYTES);
  const v = new DataView(b.buffer);
  b.set(SEGMENT_MAGIC, 0);
  v.setUint32(8, n >>> 0);
  v.setUint32(12, crc32c(b.subarray(0, 12)));
  return b;
}

/** The segment number in a header, or why the header is not one. */
export function checkSegmentHeader(b: Bytes): { ok: true; number: number } | { ok: false; reason: string } {
  if (b.length < SEGMENT_HEADER_BYTES) return { ok: false, reason: `header cut short (${b.length} of ${SEGMENT_HEADER_BYTES} bytes)` };
  if (!equal(b.subarray(0, 8), SEGMENT_MAGIC)) return { ok: false, reason: "not a kos-edge log segment (bad magic)" };
  const v = new DataView(b.buffer, b.byteOffset, SEGMENT_HEADER_BYTES);
  if (v.getUint32(12) !== crc32c(b.subarray(0, 12))) return { ok: false, reason: "segment header checksum mismatch" };
  return { ok: true, number: v.getUint32(8) };
}

/** Writes one framed record at `pos` of `target` (which must have room); returns the position after it. */
export function frameInto(target: Uint8Array, pos: number, type: RecordType, encoded: Bytes): number {
  const len = 1 + encoded.length;
  if (len > MAX_PAYLOAD_BYTES) throw new RangeError(`record of ${len} bytes exceeds ${MAX_PAYLOAD_BYTES}`);
  const v = new DataView(target.buffer, target.byteOffset);
  target[pos + RECORD_HEADER_BYTES] = type;
  target.set(encoded, pos + RECORD_HEADER_BYTES + 1);
  v.setUint32(pos, len);
  v.setUint32(pos + 4, crc32c(target.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + len)));
  return pos + RECORD_HEADER_BYTES + len;
}

export function frameRecord(type: RecordType, encoded: Bytes): Bytes {
  const out = new Uint8Array(RECORD_HEADER_BYTES + 1 + encoded.length);
  frameInto(out, 0, type, encoded);
  return out;
}

export const recordBytes = (encoded: Bytes): number => RECORD_HEADER_BYTES + 1 + encoded.length;

/** What lies at an offset of a buffer holding a segment (or bundle) from its start to its end. */
export type RecordAt =
  | { kind: "record"; type: RecordType; entry: Bytes; offset: number; next: number }
  /** The record runs past the end of the bytes: a write that did not finish. */
  | { kind: "incomplete"; offset: number; reason: string }
  /** A complete frame that is not a valid record. */
  | { kind: "bad"; offset: number; reason: string };

/** Parses the record at `offset`; `buf` ends where the file ends. Never throws. */
export function recordAt(buf: Bytes, offset: number): RecordAt {
  const left = buf.length - offset;
  if (left < RECORD_HEADER_BYTES) return { kind: "incomplete", offset, reason: `record header cut short (${left} of ${RECORD_HEADER_BYTES} bytes)` };
  const v = new DataView(buf.buffer, buf.byteOffset + offset, RECORD_HEADER_BYTES);
  const len = v.getUint32(0);
  if (len < 1 + ENTRY_PREFIX.length || len > MAX_PAYLOAD_BYTES) return { kind: "bad", offset, reason: `impossible record length ${len}` };
  if (left < RECORD_HEADER_BYTES + len) return { kind: "incomplete", offset, reason: `record of ${len} bytes cut short at ${left - RECORD_HEADER_BYTES}` };
  const payload = buf.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + len);
  if (crc32c(payload) !== v.getUint32(4)) return { kind: "bad", offset, reason: "record checksum mismatch" };
  const type = payload[0]!;
  if (type !== RECORD_ENTRY && type !== RECORD_FORK) return { kind: "bad", offset, reason: `unknown record type ${type}` };
  return { kind: "record", type, entry: payload.subarray(1), offset, next: offset + RECORD_HEADER_BYTES + len };
}

/**
 * After a bad record: the next offset (from `from` on) where a valid record starts, or -1. A cheap look at the
 * type byte and the entry's first bytes comes before the checksum, so a garbage segment costs one pass.
 */
export function resync(buf: Bytes, from: number): number {
  const last = buf.length - RECORD_HEADER_BYTES - 1 - ENTRY_PREFIX.length;
  for (let o = from; o <= last; o++) {
    const p = o + RECORD_HEADER_BYTES;
    if (buf[p + 1] !== ENTRY_PREFIX[0] || buf[p + 2] !== ENTRY_PREFIX[1] || buf[p + 3] !== ENTRY_PREFIX[2] || buf[p + 4] !== ENTRY_PREFIX[3]) continue;
    if (buf[p] !== RECORD_ENTRY && buf[p] !== RECORD_FORK) continue;
    if (recordAt(buf, o).kind === "record") return o;
  }
  return -1;
}

/** True when every byte from `from` to the end is zero (a file extended but never written, after power loss). */
export function zeroFrom(buf: Bytes, from: number): boolean {
  for (let i = from; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Author (a view) and seq of an encoded entry, read from its canonical prefix without decoding it: the author
 * is bytes 4..20, the seq follows in MessagePack's smallest unsigned form. Null when the bytes are no entry.
 */
export function peekAuthorSeq(entry: Bytes): { author: Bytes; seq: number } | null {
  if (entry.length < 30 || entry[0] !== ENTRY_PREFIX[0] || entry[1] !== ENTRY_PREFIX[1] || entry[2] !== ENTRY_PREFIX[2] || entry[3] !== ENTRY_PREFIX[3]) return null;
  const v = new DataView(entry.buffer, entry.byteOffset, entry.length);
  const t = entry[20]!;
  let seq: number;
  if (t < 0x80) seq = t;
  else if (t === 0xcc) seq = entry[21]!;
  else if (t === 0xcd) seq = v.getUint16(21);
  else if (t === 0xce) seq = v.getUint32(21);
  else if (t === 0xcf) seq = Number(v.getBigUint64(21));
  else return null;
  return { author: entry.subarray(4, 20), seq };
}

/** The fields recovery needs from an entry, read by walking its canonical MessagePack without decoding it. */
export interface EntryHead {
  author: Bytes;
  seq: number;
  prev: Bytes;
  authorKey: Bytes;
}

/**
 * Walks an encoded entry's nine fields in their canonical forms (as decodeEntry accepts them) and returns the
 * ones the index needs, or null when the bytes are not shaped so. Several times cheaper than decodeEntry: used on
 * open for records whose checksum already proved they are the bytes that were appended (and checked) before.
 */
export function peekEntry(b: Bytes): EntryHead | null {
  const head = peekAuthorSeq(b);
  if (head === null) return null;
  const v = new DataView(b.buffer, b.byteOffset, b.length);
  let p = 20;
  const uint = (): number | null => {
    const t = b[p];
    if (t === undefined) return null;
    if (t < 0x80) return (p += 1), t;
    const width = t === 0xcc ? 1 : t === 0xcd ? 2 : t === 0xce ? 4 : t === 0xcf ? 8 : 0;
    if (width === 0 || p + 1 + width > b.length) return null;
    const n = width === 1 ? b[p + 1]! : width === 2 ? v.getUint16(p + 1) : width === 4 ? v.getUint32(p + 1) : Number(v.getBigUint64(p + 1));
    p += 1 + width;
    return n;
  };
  const sized = (kind: "bin" | "str"): Bytes | null => {
    const t = b[p];
    if (t === undefined) return null;
    let len: number;
    let hdr: number;
    if (kind === "str" && t >= 0xa0 && t <= 0xbf) [len, hdr] = [t - 0xa0, 1];
    else if (t === (kind === "bin" ? 0xc4 : 0xd9) && p + 2 <= b.length) [len, hdr] = [b[p + 1]!, 2];
    else if (t === (kind === "bin" ? 0xc5 : 0xda) && p + 3 <= b.length) [len, hdr] = [v.getUint16(p + 1), 3];
    else if (kind === "bin" && t === 0xc6 && p + 5 <= b.length) [len, hdr] = [v.getUint32(p + 1), 5];
    else return null;
    if (p + hdr + len > b.length) return null;
    const out = b.subarray(p + hdr, p + hdr + len);
    p += hdr + len;
    return out;
  };
  if (uint() !== head.seq) return null;
  const prev = sized("bin");
  if (prev === null || prev.length !== (head.seq === 1 ? 0 : 32)) return null;
  if (uint() === null || sized("str") === null || sized("bin") === null) return null;
  const authorKey = sized("bin");
  if (authorKey === null || authorKey.length !== (head.seq === 1 ? 64 : 0)) return null;
  const signature = sized("bin");
  if (signature === null || signature.length !== 64 || p !== b.length) return null;
  return { author: head.author, seq: head.seq, prev, authorKey };
}
