// Resource advertisement (RESOURCE_ADV plaintext, RNS 1.4.2 ResourceAdvertisement.pack/unpack): a msgpack map
// with the keys, in this order, t (transfer size), d (data size), n (parts), h (hash), r (random hash),
// o (original hash: the first segment's), i (segment index, from 1), l (segments), q (request id or nil),
// f (flags), m (the first HASHMAP_MAX_LENGTH map hashes). The link encrypts it like any link packet.
import { type Bytes } from "../../core/bytes.js";
import { err, ok, type Result } from "../../core/result.js";
import {
  Flag,
  HASHMAP_MAX_LENGTH,
  MAPHASH_LENGTH,
  MAX_TRANSFER_SIZE,
  RANDOM_HASH_LENGTH,
  RESOURCE_HASH_LENGTH,
} from "./limits.js";
import { asBytes, asCount, packb, unpackb } from "./msgpack.js";

/** Request ids are truncated packet hashes (16 bytes); anything longer than a full hash is refused. */
const MAX_REQUEST_ID_LENGTH = 32;

export interface Advertisement {
  /** t: bytes on the wire, the encrypted (and possibly compressed) stream of this segment. */
  transferSize: number;
  /** d: data plus packed-metadata bytes of the whole resource (every segment carries the same total). */
  dataSize: number;
  /** n: parts of this segment. */
  parts: number;
  /** h: SHA-256 of this segment's data (metadata prefix included) || random hash. */
  hash: Bytes;
  /** r: 4 random bytes that salt the hash and the map hashes. */
  randomHash: Bytes;
  /** o: the first segment's hash, which names a multi-segment resource. */
  originalHash: Bytes;
  /** i: this segment, from 1. */
  segmentIndex: number;
  /** l: segments in the resource. */
  totalSegments: number;
  /** q: the request this resource carries or answers, or null. */
  requestId: Bytes | null;
  /** f: Flag bits. */
  flags: number;
  /** m: map hashes carried by this advertisement (parts 0 .. min(n, HASHMAP_MAX_LENGTH) - 1). */
  hashmap: Bytes;
}

export const hasFlag = (a: { flags: number }, flag: number): boolean => (a.flags & flag) !== 0;

/** Flags as the reference assembles them: x<<5 | p<<4 | u<<3 | s<<2 | c<<1 | e. */
export function advertisementFlags(o: {
  encrypted: boolean;
  compressed: boolean;
  split: boolean;
  isRequest: boolean;
  isResponse: boolean;
  hasMetadata: boolean;
}): number {
  return (
    (o.encrypted ? Flag.ENCRYPTED : 0) |
    (o.compressed ? Flag.COMPRESSED : 0) |
    (o.split ? Flag.SPLIT : 0) |
    (o.isRequest ? Flag.IS_REQUEST : 0) |
    (o.isResponse ? Flag.IS_RESPONSE : 0) |
    (o.hasMetadata ? Flag.HAS_METADATA : 0)
  );
}

/** Packs an advertisement; `hashmap` must already be cut to what one advertisement carries. */
export function encodeAdvertisement(a: Advertisement): Bytes {
  if (a.hashmap.length > HASHMAP_MAX_LENGTH * MAPHASH_LENGTH) throw new RangeError("advertisement hashmap too long");
  // Key order is part of the bytes: the reference's dict literal order.
  return packb({
    t: a.transferSize,
    d: a.dataSize,
    n: a.parts,
    h: a.hash,
    r: a.randomHash,
    o: a.originalHash,
    i: a.segmentIndex,
    l: a.totalSegments,
    q: a.requestId,
    f: a.flags,
    m: a.hashmap,
  });
}

/** Reads an advertisement from remote bytes: every field checked for type and size, never throws. */
export function decodeAdvertisement(plaintext: Bytes): Result<Advertisement> {
  const unpacked = unpackb(plaintext);
  if (!unpacked.ok) return err("bad-advertisement", unpacked.detail);
  const v = unpacked.value;
  if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Uint8Array || v instanceof Map) {
    return err("bad-advertisement", "not a map");
  }
  const m = v as Record<string, unknown>;
  const t = asCount(m["t"]);
  const d = asCount(m["d"]);
  const n = asCount(m["n"]);
  const i = asCount(m["i"]);
  const l = asCount(m["l"]);
  const f = asCount(m["f"]);
  const h = asBytes(m["h"]);
  const r = asBytes(m["r"]);
  const o = asBytes(m["o"]);
  const hm = asBytes(m["m"]);
  const q = m["q"] === null ? null : asBytes(m["q"]);
  if (t === null || d === null || n === null || i === null || l === null || f === null) {
    return err("bad-advertisement", "missing or non-integer size field");
  }
  if (h === null || h.length !== RESOURCE_HASH_LENGTH) return err("bad-advertisement", "bad hash");
  if (o === null || o.length !== RESOURCE_HASH_LENGTH) return err("bad-advertisement", "bad original hash");
  if (r === null || r.length !== RANDOM_HASH_LENGTH) return err("bad-advertisement", "bad random hash");
  if (hm === null || hm.length % MAPHASH_LENGTH !== 0) return err("bad-advertisement", "bad hashmap");
  if (!("q" in m) || (m["q"] !== null && (q === null || q.length > MAX_REQUEST_ID_LENGTH))) {
    return err("bad-advertisement", "bad request id");
  }
  if (t > MAX_TRANSFER_SIZE) return err("bad-advertisement", `transfer size ${t} exceeds ${MAX_TRANSFER_SIZE}`);
  if (n < 1 || i < 1 || l < 1 || i > l) return err("bad-advertisement", `bad counts n=${n} i=${i} l=${l}`);
  if (f > 0xff) return err("bad-advertisement", "bad flags");
  const carried = Math.min(n, HASHMAP_MAX_LENGTH);
  if (hm.length !== carried * MAPHASH_LENGTH) {
    return err("bad-advertisement", `hashmap of ${hm.length / MAPHASH_LENGTH} hashes for ${n} parts`);
  }
  return ok({
    transferSize: t,
    dataSize: d,
    parts: n,
    hash: new Uint8Array(h),
    randomHash: new Uint8Array(r),
    originalHash: new Uint8Array(o),
    segmentIndex: i,
    totalSegments: l,
    requestId: q === null ? null : new Uint8Array(q),
    flags: f,
    hashmap: new Uint8Array(hm),
  });
}
