// Link timings and sizes from RNS 1.4.2 (RNS/Link.py, RNS/Reticulum.py, RNS/Resource.py), and kos-edge's own
// bounds on every table and queue a Link keeps. Times are in milliseconds here, seconds in the reference.
import { HEADER_1_LENGTH, IFAC_MIN_SIZE, MTU, TOKEN_OVERHEAD, AES_BLOCK } from "../../core/limits.js";

/** Reticulum.DEFAULT_PER_HOP_TIMEOUT: establishment allowance per hop, and the base first-hop timeout. */
export const PER_HOP_TIMEOUT_MS = 6_000;
/** Link.KEEPALIVE_MAX / KEEPALIVE_MIN: keepalive interval bounds; the interval scales with the RTT. */
export const KEEPALIVE_MAX_MS = 360_000;
export const KEEPALIVE_MIN_MS = 5_000;
/** Link.KEEPALIVE_MAX_RTT: the RTT at which the keepalive interval reaches its maximum. */
export const KEEPALIVE_MAX_RTT_MS = 1_750;
/** Link.STALE_FACTOR: no inbound traffic for this many keepalive intervals makes a link stale. */
export const STALE_FACTOR = 2;
/** Link.KEEPALIVE_TIMEOUT_FACTOR and STALE_GRACE: how long a stale link waits before it is torn down. */
export const KEEPALIVE_TIMEOUT_FACTOR = 4;
export const STALE_GRACE_MS = 5_000;
/**
 * Link.WATCHDOG_MAX_SLEEP: the reference's watchdog never sleeps longer than this, so a stale link is in
 * practice torn down this long after it went stale, whatever the formula above gives.
 */
export const WATCHDOG_MAX_SLEEP_MS = 5_000;
/** Link.TRAFFIC_TIMEOUT_FACTOR and TRAFFIC_TIMEOUT_MIN_MS: packet receipt timeout = max(rtt * 6, 5 ms). */
export const TRAFFIC_TIMEOUT_FACTOR = 6;
export const TRAFFIC_TIMEOUT_MIN_MS = 5;
/** Resource.RESPONSE_MAX_GRACE_TIME, which the reference's default request timeout adds (times 1.125). */
export const RESPONSE_MAX_GRACE_MS = 10_000;

/** Link.LINK_MTU_SIZE: the MTU-and-mode signalling bytes at the end of LINKREQUEST and LRPROOF data. */
export const SIGNALLING_LENGTH = 3;
/** Link.MTU_BYTEMASK and MODE_BYTEMASK over the 24-bit signalling value (mode in the top three bits). */
export const MTU_MASK = 0x1fffff;
/** Link.MODE_AES256_CBC, the one mode the reference enables (and its default). */
export const MODE_AES256_CBC = 0x01;
/** Link.ECPUBSIZE: X25519 public key (32) + Ed25519 public key (32) in a link request. */
export const LINK_REQUEST_KEYS_LENGTH = 64;

/**
 * Plaintext that fits one encrypted link packet at `mtu` (Link.update_mdu): 431 at MTU 500, 8111 at 8192.
 * Link packets always travel with HEADER_1 at their origin, hence the minimum header.
 */
export function linkMdu(mtu: number): number {
  return Math.floor((mtu - IFAC_MIN_SIZE - HEADER_1_LENGTH - TOKEN_OVERHEAD) / AES_BLOCK) * AES_BLOCK - 1;
}

/** kos-edge's bounds for one link. */
export const linkLimits = {
  /** Smallest link MTU: Reticulum requires every interface to carry MTU-sized (500-byte) packets. */
  minMtu: MTU,
  /** Largest link MTU we agree to: kos-edge's framers carry at most 8192 bytes plus IFAC (MAX_FRAME_LENGTH). */
  maxMtu: 8192,
  /** Requests awaiting a response; request() refuses more. */
  maxPendingRequests: 64,
  /**
   * Requests a responder holds while its link waits for the initiator's RTT packet (the reference's initiator
   * counts its link active, and may send, before that packet leaves); more are dropped.
   */
  maxHeldRequests: 8,
  /** Sent packets awaiting a proof; the oldest is given up when full (the reference culls alike). */
  maxReceipts: 256,
  /** Packets the link made on its own (keepalives, RTT, proofs, close) and not yet taken. */
  maxQueuedPackets: 64,
  /** Events not yet taken; the oldest is dropped (and counted) when full. */
  maxQueuedEvents: 256,
  /** Nesting depth of MessagePack values we pack or accept. */
  maxMsgpackDepth: 32,
} as const;
