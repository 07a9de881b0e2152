// Packet proofs: the receiver signs the full packet hash. Implicit proofs (the reference's default) carry
// the signature alone; explicit ones carry packet hash || signature. A proof travels to the destination
// named by the first 16 bytes of the proved packet's hash.
import { concat, equal, type Bytes } from "../core/bytes.js";
import { FULL_HASH_LENGTH, SIGNATURE_LENGTH, TRUNCATED_HASH_LENGTH } from "../core/limits.js";
import { err, ok, type Result } from "../core/result.js";
import type { Identity } from "../crypto/identity.js";

export function buildProofData(signer: Identity, provedPacketHash: Bytes, implicit = true): Bytes {
  const signature = signer.sign(provedPacketHash);
  return implicit ? signature : concat(provedPacketHash, signature);
}

export function proofDestinationHash(provedPacketHash: Bytes): Bytes {
  return provedPacketHash.subarray(0, TRUNCATED_HASH_LENGTH);
}

/** Checks a proof for a packet we sent, against the identity expected to prove it. */
export function validateProof(proofData: Bytes, provedPacketHash: Bytes, prover: Identity): Result<"explicit" | "implicit"> {
  if (proofData.length === FULL_HASH_LENGTH + SIGNATURE_LENGTH) {
    if (!equal(proofData.subarray(0, FULL_HASH_LENGTH), provedPacketHash)) return err("bad-destination", "proof for another packet");
    return prover.verify(proofData.subarray(FULL_HASH_LENGTH), provedPacketHash) ? ok("explicit") : err("bad-signature");
  }
  if (proofData.length === SIGNATURE_LENGTH) {
    return prover.verify(proofData, provedPacketHash) ? ok("implicit") : err("bad-signature");
  }
  return err("bad-length", `proof of ${proofData.length} bytes`);
}
