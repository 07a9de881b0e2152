// Constants of Reticulum resources (RNS 1.4.2, RNS/Resource.py and RNS/Link.py) and kos-edge's own bounds.
// Times are in milliseconds here; the reference states them in seconds.
import { AES_BLOCK, HEADER_1_LENGTH, HEADER_MAXSIZE, IFAC_MIN_SIZE, MTU, TOKEN_OVERHEAD } from "../../core/limits.js";

/** Window (parts requested per round) at the start of a transfer. */
export const WINDOW_INITIAL = 4;
export const WINDOW_MIN = 2;
/** Largest window before the link has shown itself fast. */
export const WINDOW_MAX_SLOW = 10;
/** Cap once the link has shown itself very slow. */
export const WINDOW_MAX_VERY_SLOW = 4;
/** Largest window on fast links, and the global maximum used for map and guard sizes. */
export const WINDOW_MAX_FAST = 75;
/** window_max - window_min never drops below this. */
export const WINDOW_FLEXIBILITY = 4;
/** Rounds above RATE_FAST before the fast window is allowed (WINDOW_MAX_SLOW - WINDOW - 2). */
export const FAST_RATE_THRESHOLD = WINDOW_MAX_SLOW - WINDOW_INITIAL - 2;
/** Rounds below RATE_VERY_SLOW before the window is capped at WINDOW_MAX_VERY_SLOW. */
export const VERY_SLOW_RATE_THRESHOLD = 2;
/** 50 kbit/s, in bytes per second as the reference keeps it. */
export const RATE_FAST_BYTES_PER_S = (50 * 1000) / 8;
/** 2 kbit/s, in bytes per second. */
export const RATE_VERY_SLOW_BYTES_PER_S = (2 * 1000) / 8;

/** Bytes of a part's map hash: SHA-256(part || random hash), truncated. */
export const MAPHASH_LENGTH = 4;
/** Bytes of the random hash and of the random stream prefix. */
export const RANDOM_HASH_LENGTH = 4;
export const RESOURCE_HASH_LENGTH = 32;

/** Largest segment: a resource whose data and metadata exceed it is sent in segments of this size. */
export const MAX_EFFICIENT_SIZE = 1024 * 1024 - 1;
/** Packed metadata is at most this long (its length travels in 3 bytes). */
export const METADATA_MAX_SIZE = 16 * 1024 * 1024 - 1;
/** The reference refuses advertisements whose transfer size exceeds this. */
export const MAX_TRANSFER_SIZE = MAX_EFFICIENT_SIZE * 3;

/** The reference's Link.MDU at the network MTU: the plaintext that fits one encrypted link packet. */
export const LINK_MDU_AT_MTU = Math.floor((MTU - IFAC_MIN_SIZE - HEADER_1_LENGTH - TOKEN_OVERHEAD) / AES_BLOCK) * AES_BLOCK - 1;
/** Advertisement bytes other than the hashmap, as the reference budgets them. */
export const ADVERTISEMENT_OVERHEAD = 134;
/** Map hashes per advertisement or hashmap update (74). The reference derives it from Link.MDU at MTU 500. */
export const HASHMAP_MAX_LENGTH = Math.floor((LINK_MDU_AT_MTU - ADVERTISEMENT_OVERHEAD) / MAPHASH_LENGTH);
/** Map hashes are unique within this many consecutive parts (224), and requests are looked up within it. */
export const COLLISION_GUARD_SIZE = 2 * WINDOW_MAX_FAST + HASHMAP_MAX_LENGTH;

/** Request flag byte: the receiver has map hashes left / needs the next hashmap segment. */
export const HASHMAP_NOT_EXHAUSTED = 0x00;
export const HASHMAP_EXHAUSTED = 0xff;

/** Advertisement flag bits. */
export const Flag = {
  ENCRYPTED: 0x01,
  COMPRESSED: 0x02,
  SPLIT: 0x04,
  IS_REQUEST: 0x08,
  IS_RESPONSE: 0x10,
  HAS_METADATA: 0x20,
} as const;

/** Part size on a link of `mtu`: the reference's link.mtu - HEADER_MAXSIZE - IFAC_MIN_SIZE (464 at MTU 500). */
export function sduForMtu(mtu: number): number {
  return mtu - HEADER_MAXSIZE - IFAC_MIN_SIZE;
}

// Timing (RNS/Resource.py and Link.TRAFFIC_TIMEOUT_FACTOR).
export const TRAFFIC_TIMEOUT_FACTOR = 6;
export const PART_TIMEOUT_FACTOR = 4;
export const PART_TIMEOUT_FACTOR_AFTER_RTT = 2;
export const PROOF_TIMEOUT_FACTOR = 3;
export const HMU_WAIT_FACTOR = 3.5;
export const MAX_RETRIES = 16;
export const MAX_ADV_RETRIES = 4;
/** Retries of the proof query (a cache request) before the sender gives up. */
export const MAX_PROOF_RETRIES = 3;
export const SENDER_GRACE_MS = 10_000;
export const PROCESSING_GRACE_MS = 1_000;
export const RETRY_GRACE_MS = 250;
export const PER_RETRY_DELAY_MS = 500;

/**
 * Bytes a link's establishment cost when the engine does not say (link request + proof + RTT packet). The
 * receiver's first rate estimate is establishment bytes per RTT, as in the reference.
 */
export const DEFAULT_ESTABLISHMENT_COST_BYTES = 200;

// kos-edge's own bounds.
export const limits = {
  /** Re-draws of the random hash when map hashes collide (one redraw is already a 1-in-10^7 event). */
  maxHashmapRemaps: 8,
  /** Request packet hashes a sender remembers to ignore duplicates delivered twice. */
  recentRequests: 64,
  /** Packets a machine holds for the engine before it drops the oldest (the engine drains after every call). */
  maxQueuedPackets: 1024,
  /**
   * How long a receiver waits for the advertisement of the next segment after proving one: the sender's
   * advertisement retries plus its grace time.
   */
  segmentGapGraceMs: SENDER_GRACE_MS,
} as const;
