// Resource hashmaps, part requests and hashmap updates (RNS 1.4.2 Resource.get_map_hash/request/request_next).
// A part's map hash is the first 4 bytes of SHA-256(part || random hash). The sender keeps map hashes unique
// within any COLLISION_GUARD_SIZE consecutive parts, so a 4-byte hash names one part wherever it is looked up.
// RESOURCE_REQ plaintext: flag (0x00, or 0xFF + the last map hash the receiver holds when it needs more of the
//   hashmap) || resource hash (32) || requested map hashes.
// RESOURCE_HMU plaintext: resource hash (32) || msgpack [segment, map hashes of that hashmap segment].
import { concat, equal, type Bytes } from "../../core/bytes.js";
import { err, ok, type Result } from "../../core/result.js";
import { sha256Head32 } from "../../crypto/hashes.js";
import {
  COLLISION_GUARD_SIZE,
  HASHMAP_EXHAUSTED,
  HASHMAP_MAX_LENGTH,
  HASHMAP_NOT_EXHAUSTED,
  MAPHASH_LENGTH,
  RESOURCE_HASH_LENGTH,
} from "./limits.js";
import { asBytes, asCount, unpackb } from "./msgpack.js";

/** A map hash as a number (big-endian uint32), for cheap comparison. */
export function mapKey(hash: Bytes, offset = 0): number {
  return ((hash[offset]! << 24) | (hash[offset + 1]! << 16) | (hash[offset + 2]! << 8) | hash[offset + 3]!) >>> 0;
}

// Parts are hashed with their random hash appended in one reused buffer, and the key is read straight from
// the digest: a part per packet makes an allocation per hash measurable.
let scratch = new Uint8Array(512);
/** The view of `scratch` last hashed: parts of one resource all have the same length but the last. */
let scratchView = scratch.subarray(0, 0);
/** The random hash that follows the part in `scratch` (random hashes are never modified once drawn). */
let scratchTail: Bytes | null = null;

/** The map hash of one part, as a key. */
export function partKey(part: Bytes, randomHash: Bytes): number {
  const length = part.length + randomHash.length;
  if (scratch.length < length) {
    scratch = new Uint8Array(length);
    scratchTail = null;
  }
  scratch.set(part, 0);
  if (scratchView.buffer !== scratch.buffer || scratchView.length !== length || scratchTail !== randomHash) {
    scratch.set(randomHash, part.length);
    scratchTail = randomHash;
    scratchView = scratch.subarray(0, length);
  }
  return sha256Head32(scratchView);
}

/**
 * Map hashes of every `sdu`-byte part of `stream`, or null when two hashes collide within the guard window
 * (the sender then draws another random hash). Returns the concatenated hashes and their keys.
 */
export function buildHashmap(stream: Bytes, sdu: number, randomHash: Bytes): { hashmap: Bytes; keys: Uint32Array } | null {
  const parts = Math.ceil(stream.length / sdu);
  const hashmap = new Uint8Array(parts * MAPHASH_LENGTH);
  const keys = new Uint32Array(parts);
  // The guard window (the COLLISION_GUARD_SIZE parts before this one) is counted by the low 16 bits of
  // each key; only a part whose bucket is occupied is compared with the window's keys. Honest data meets
  // an occupied bucket for about one part in 300, so this is one array lookup per part instead of a Map.
  const buckets = new Uint8Array(0x10000);
  for (let i = 0; i < parts; i++) {
    const key = partKey(stream.subarray(i * sdu, Math.min((i + 1) * sdu, stream.length)), randomHash);
    const leaving = i - COLLISION_GUARD_SIZE - 1;
    if (leaving >= 0) buckets[keys[leaving]! & 0xffff]!--;
    if (buckets[key & 0xffff] !== 0) {
      for (let j = Math.max(0, i - COLLISION_GUARD_SIZE); j < i; j++) if (keys[j] === key) return null;
    }
    buckets[key & 0xffff]!++;
    keys[i] = key;
    const o = i * MAPHASH_LENGTH;
    hashmap[o] = key >>> 24;
    hashmap[o + 1] = (key >>> 16) & 0xff;
    hashmap[o + 2] = (key >>> 8) & 0xff;
    hashmap[o + 3] = key & 0xff;
  }
  return { hashmap, keys };
}

/** The map hashes of hashmap segment `segment` (HASHMAP_MAX_LENGTH parts each). */
export function hashmapSegment(hashmap: Bytes, segment: number): Bytes {
  const parts = hashmap.length / MAPHASH_LENGTH;
  const start = Math.min(segment * HASHMAP_MAX_LENGTH, parts);
  const end = Math.min((segment + 1) * HASHMAP_MAX_LENGTH, parts);
  return hashmap.subarray(start * MAPHASH_LENGTH, end * MAPHASH_LENGTH);
}

export interface PartRequest {
  /** The receiver ran out of map hashes and asks for the hashmap segment after `lastMapHash`. */
  exhausted: boolean;
  lastMapHash: Bytes | null;
  hash: Bytes;
  /** Requested map hashes, MAPHASH_LENGTH bytes each. */
  requested: Bytes;
}

export function encodeRequest(r: PartRequest): Bytes {
  if (r.hash.length !== RESOURCE_HASH_LENGTH) throw new RangeError("resource hash must be 32 bytes");
  if (r.requested.length % MAPHASH_LENGTH !== 0) throw new RangeError("requested map hashes must be 4 bytes each");
  if (r.exhausted) {
    if (r.lastMapHash === null || r.lastMapHash.length !== MAPHASH_LENGTH) throw new RangeError("an exhausted request names its last map hash");
    return concat(Uint8Array.of(HASHMAP_EXHAUSTED), r.lastMapHash, r.hash, r.requested);
  }
  return concat(Uint8Array.of(HASHMAP_NOT_EXHAUSTED), r.hash, r.requested);
}

/** Reads a request; like the reference, any flag byte other than 0xFF means "not exhausted". */
export function decodeRequest(plaintext: Bytes): Result<PartRequest> {
  if (plaintext.length < 1) return err("too-short", "empty request");
  const exhausted = plaintext[0] === HASHMAP_EXHAUSTED;
  const pad = exhausted ? 1 + MAPHASH_LENGTH : 1;
  if (plaintext.length < pad + RESOURCE_HASH_LENGTH) return err("too-short", `request of ${plaintext.length} bytes`);
  const tail = plaintext.subarray(pad + RESOURCE_HASH_LENGTH);
  return ok({
    exhausted,
    lastMapHash: exhausted ? plaintext.subarray(1, 1 + MAPHASH_LENGTH) : null,
    hash: plaintext.subarray(pad, pad + RESOURCE_HASH_LENGTH),
    // Trailing bytes short of a whole map hash are ignored, as the reference's integer division does.
    requested: tail.subarray(0, tail.length - (tail.length % MAPHASH_LENGTH)),
  });
}

export interface HashmapUpdate {
  hash: Bytes;
  segment: number;
  hashes: Bytes;
}

// A transfer sends one update per HASHMAP_MAX_LENGTH parts, so the two-element body is written and read by
// hand, in the bytes umsgpack gives: fixarray(2), the segment as the smallest unsigned integer, the hashes as
// bin 8/16/32. Bodies in any other shape go through the general decoder.
export function encodeHashmapUpdate(u: HashmapUpdate): Bytes {
  const seg = u.segment;
  if (!Number.isInteger(seg) || seg < 0 || seg > 0xffffffff) throw new RangeError(`hashmap segment ${seg}`);
  const n = u.hashes.length;
  const segLength = seg < 0x80 ? 1 : seg < 0x100 ? 2 : seg < 0x10000 ? 3 : 5;
  const binHeader = n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
  const out = new Uint8Array(u.hash.length + 1 + segLength + binHeader + n);
  out.set(u.hash, 0);
  let o = u.hash.length;
  out[o++] = 0x92;
  if (segLength === 1) out[o++] = seg;
  else {
    out[o++] = segLength === 2 ? 0xcc : segLength === 3 ? 0xcd : 0xce;
    o = writeUintBE(out, o, seg, segLength - 1);
  }
  out[o++] = binHeader === 2 ? 0xc4 : binHeader === 3 ? 0xc5 : 0xc6;
  o = writeUintBE(out, o, n, binHeader - 1);
  out.set(u.hashes, o);
  return out;
}

function writeUintBE(out: Bytes, o: number, v: number, length: number): number {
  for (let k = length - 1; k >= 0; k--) out[o + k] = Math.floor(v / 2 ** (8 * (length - 1 - k))) & 0xff;
  return o + length;
}

function readUintBE(b: Bytes, o: number, length: number): number {
  let v = 0;
  for (let k = 0; k < length; k++) v = v * 256 + b[o + k]!;
  return v;
}

/** The common body [uint, bin] read directly; null when it has any other shape. */
function readUpdateBody(b: Bytes): { segment: number; hashes: Bytes } | null {
  if (b.length < 3 || b[0] !== 0x92) return null;
  let o = 1;
  const t = b[o++]!;
  const segLength = t < 0x80 ? 0 : t === 0xcc ? 1 : t === 0xcd ? 2 : t === 0xce ? 4 : -1;
  if (segLength < 0 || o + segLength >= b.length) return null;
  const segment = segLength === 0 ? t : readUintBE(b, o, segLength);
  o += segLength;
  const bt = b[o++]!;
  const lengthBytes = bt === 0xc4 ? 1 : bt === 0xc5 ? 2 : bt === 0xc6 ? 4 : -1;
  if (lengthBytes < 0 || o + lengthBytes > b.length) return null;
  const n = readUintBE(b, o, lengthBytes);
  o += lengthBytes;
  if (o + n !== b.length) return null;
  return { segment, hashes: b.subarray(o) };
}

export function decodeHashmapUpdate(plaintext: Bytes): Result<HashmapUpdate> {
  if (plaintext.length <= RESOURCE_HASH_LENGTH) return err("too-short", "hashmap update without body");
  const direct = readUpdateBody(plaintext.subarray(RESOURCE_HASH_LENGTH));
  if (direct !== null) {
    if (direct.hashes.length % MAPHASH_LENGTH !== 0) return err("bad-length", "hashmap update of partial map hashes");
    return ok({ hash: plaintext.subarray(0, RESOURCE_HASH_LENGTH), segment: direct.segment, hashes: direct.hashes });
  }
  const body = unpackb(plaintext.subarray(RESOURCE_HASH_LENGTH));
  if (!body.ok) return body;
  const v = body.value;
  if (!Array.isArray(v) || v.length !== 2) return err("bad-encoding", "hashmap update is not [segment, hashes]");
  const segment = asCount(v[0]);
  const hashes = asBytes(v[1]);
  if (segment === null || hashes === null) return err("bad-encoding", "hashmap update field types");
  if (hashes.length % MAPHASH_LENGTH !== 0) return err("bad-length", "hashmap update of partial map hashes");
  return ok({ hash: plaintext.subarray(0, RESOURCE_HASH_LENGTH), segment, hashes });
}

/** Does `plaintext` (ICL, RCL, HMU) start with `hash`? */
export function namesResource(plaintext: Bytes | null, hash: Bytes): boolean {
  return plaintext !== null && plaintext.length >= RESOURCE_HASH_LENGTH && equal(plaintext.subarray(0, RESOURCE_HASH_LENGTH), hash);
}
