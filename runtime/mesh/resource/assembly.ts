// From a segment's received stream to its data (RNS 1.4.2 Resource.assemble): decrypt the whole stream with the
// link's Token (in place: the stream is the receiver's own buffer), strip the 4-byte random prefix, inflate bz2 when the compressed flag is set (never past the size
// budget: the zip-bomb guard), and check SHA-256(data || random hash) against the advertised hash. The proof,
// SHA-256(data || hash), comes out of the same pass over the data.
import { equal, type Bytes } from "../../core/bytes.js";
import { sha256WithTails } from "../../crypto/hashes.js";
import type { ResourceLink } from "../types.js";
import { hasFlag, type Advertisement } from "./advertisement.js";
import { bunzip2 } from "./bz2.js";
import { Flag, RANDOM_HASH_LENGTH } from "./limits.js";

export type Assembled = { ok: true; data: Bytes; proof: Bytes } | { ok: false; why: string };

export function assembleSegment(stream: Bytes, adv: Advertisement, link: ResourceLink, budgetBytes: number): Assembled {
  // The stream is the receiver's own buffer: decrypted where it lies, the data is a view into it.
  const plain = hasFlag(adv, Flag.ENCRYPTED) ? link.decryptInPlace(stream) : stream;
  if (plain === null || plain.length < RANDOM_HASH_LENGTH) return { ok: false, why: "stream does not decrypt" };
  let data = plain.subarray(RANDOM_HASH_LENGTH);
  if (hasFlag(adv, Flag.COMPRESSED)) {
    const inflated = bunzip2(data, budgetBytes);
    if (!inflated.ok) return { ok: false, why: inflated.reason === "too-large" ? `decompresses past ${budgetBytes} bytes` : "bad bz2 stream" };
    data = inflated.value;
  } else if (data.length > budgetBytes) {
    return { ok: false, why: `data of ${data.length} bytes exceeds ${budgetBytes}` };
  }
  const withTail = sha256WithTails(data);
  if (!equal(withTail(adv.randomHash), adv.hash)) return { ok: false, why: "hash mismatch" };
  return { ok: true, data, proof: withTail(adv.hash) };
}
