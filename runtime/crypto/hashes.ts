// SHA-256, HMAC-SHA256 and HKDF (RFC 5869) as Reticulum uses them, on node:crypto.
//
// Speed: for packet-sized inputs the cost of node:crypto is not the hashing but allocating the Buffer it
// returns. Asking for a "binary" (latin1) string instead and copying its 32 char codes into a small (on-heap)
// Uint8Array is 2-3x faster than a Buffer digest, so every digest here goes that way.
import * as nc from "node:crypto";
import type { Bytes } from "../core/bytes.js";
import { FULL_HASH_LENGTH, TRUNCATED_HASH_LENGTH } from "../core/limits.js";

// crypto.hash() exists from Node 20.12; older 20.x use createHash().
const oneShot = (nc as unknown as { hash?: (alg: string, data: Bytes, enc: "binary") => string }).hash;

function latin1Bytes(s: string, length = s.length): Bytes {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function sha256(data: Bytes): Bytes {
  if (oneShot !== undefined) return latin1Bytes(oneShot("sha256", data, "binary"));
  return latin1Bytes(nc.createHash("sha256").update(data).digest("binary"));
}

/**
 * SHA-256 of `data` followed by any of several tails, with one pass over `data`: the hash state after `data`
 * is kept and copied for each tail. Resources hash their whole data twice with different 32-byte tails (the
 * resource hash, then the proof over the data and that hash); this halves that work and copies nothing.
 */
export function sha256WithTails(data: Bytes): (tail: Bytes) => Bytes {
  const prefix = nc.createHash("sha256").update(data);
  return (tail) => latin1Bytes(prefix.copy().update(tail).digest("binary"));
}

/**
 * The first 4 bytes of SHA-256(data) as a big-endian uint32, read straight from the digest string: the
 * resource map hash of a part, taken once per part on both ends, with nothing allocated for the digest.
 */
export function sha256Head32(data: Bytes): number {
  const s = oneShot !== undefined ? oneShot("sha256", data, "binary") : nc.createHash("sha256").update(data).digest("binary");
  return ((s.charCodeAt(0) << 24) | (s.charCodeAt(1) << 16) | (s.charCodeAt(2) << 8) | s.charCodeAt(3)) >>> 0;
}

/** First 16 bytes of SHA-256: identity, destination and truncated packet hashes. */
export function truncatedHash(data: Bytes): Bytes {
  const s = oneShot !== undefined ? oneShot("sha256", data, "binary") : nc.createHash("sha256").update(data).digest("binary");
  return latin1Bytes(s, TRUNCATED_HASH_LENGTH);
}

export function hmacSha256(key: Bytes, data: Bytes): Bytes {
  return latin1Bytes(nc.createHmac("sha256", key).update(data).digest("binary"));
}

/**
 * HKDF-SHA256. The reference passes an all-zero salt when none is given and an empty context,
 * which is plain RFC 5869. Written over HMAC: hkdfSync builds key objects per call and costs more.
 */
export function hkdf(length: number, ikm: Bytes, salt: Bytes | null, info: Bytes | null = null): Bytes {
  if (!Number.isInteger(length) || length < 1 || length > 255 * FULL_HASH_LENGTH) {
    throw new RangeError(`hkdf: invalid output length ${length}`);
  }
  if (ikm.length === 0) throw new RangeError("hkdf: empty input key material");
  const s = salt === null || salt.length === 0 ? new Uint8Array(FULL_HASH_LENGTH) : salt;
  const prk = hmacSha256(s, ikm);
  const out = new Uint8Array(length);
  let block: Bytes = new Uint8Array(0);
  for (let i = 0, o = 0; o < length; i++) {
    const h = nc.createHmac("sha256", prk).update(block);
    if (info !== null) h.update(info);
    block = latin1Bytes(h.update(Uint8Array.of(i + 1)).digest("binary"));
    out.set(block.subarray(0, Math.min(FULL_HASH_LENGTH, length - o)), o);
    o += FULL_HASH_LENGTH;
  }
  return out;
}
