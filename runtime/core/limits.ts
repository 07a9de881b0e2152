// Every size and maximum of the packet layer in one place (RNS 1.4.2 wire constants and our own bounds).

/** Reticulum's network MTU: the largest packet on any interface unless a link negotiates more. */
export const MTU = 500;
/** Truncated hashes (destination, identity, packet) are 128 bits. */
export const TRUNCATED_HASH_LENGTH = 16;
export const FULL_HASH_LENGTH = 32;
/** Name hashes are the first 80 bits of SHA-256 of the expanded name. */
export const NAME_HASH_LENGTH = 10;
export const RANDOM_HASH_LENGTH = 10;
export const PUBLIC_KEY_LENGTH = 64;
export const PRIVATE_KEY_LENGTH = 64;
export const HALF_KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;
export const RATCHET_LENGTH = 32;
export const RATCHET_ID_LENGTH = 10;
/** IV (16) + HMAC-SHA256 (32). */
export const TOKEN_OVERHEAD = 48;
export const AES_BLOCK = 16;
/** Flags + hops + 16-byte destination + context. */
export const HEADER_1_LENGTH = 19;
/** HEADER_1 plus a 16-byte transport id. */
export const HEADER_2_LENGTH = 35;
export const HEADER_MAXSIZE = HEADER_2_LENGTH;
/** Ifac size: reference default when an interface has an access code. */
export const IFAC_MIN_SIZE = 1;
/** Maximum data unit of a packet: MTU less the largest header and the IFAC minimum. */
export const MDU = MTU - HEADER_MAXSIZE - IFAC_MIN_SIZE;
/** Largest plaintext in one packet encrypted to a SINGLE destination at MTU 500 (383 bytes). */
export const ENCRYPTED_MDU =
  Math.floor((MDU - TOKEN_OVERHEAD - HALF_KEY_LENGTH) / AES_BLOCK) * AES_BLOCK - 1;
/** Hop counts at or above this are malformed (the reference's PATHFINDER_M). */
export const MAX_HOPS = 128;
/** Smallest announce body: public key, name hash, random hash, signature. */
export const ANNOUNCE_MIN_DATA = PUBLIC_KEY_LENGTH + NAME_HASH_LENGTH + RANDOM_HASH_LENGTH + SIGNATURE_LENGTH;

/** Framers drop any frame larger than this (an HDLC/KISS link may carry link-MTU packets up to 8192 + IFAC). */
export const MAX_FRAME_LENGTH = 8192 + 64;
