// Link timeouts as RNS 1.4.2 computes them (Link.py, Transport.first_hop_timeout, PacketReceipt), in ms.
import { MTU } from "../../core/limits.js";
import {
  KEEPALIVE_MAX_MS,
  KEEPALIVE_MAX_RTT_MS,
  KEEPALIVE_MIN_MS,
  KEEPALIVE_TIMEOUT_FACTOR,
  PER_HOP_TIMEOUT_MS,
  RESPONSE_MAX_GRACE_MS,
  STALE_FACTOR,
  STALE_GRACE_MS,
  TRAFFIC_TIMEOUT_FACTOR,
  TRAFFIC_TIMEOUT_MIN_MS,
  WATCHDOG_MAX_SLEEP_MS,
} from "./limits.js";

/**
 * Keepalive interval: scales with the RTT (360 s at an RTT of 1.75 s), kept within 5..360 s. Rounded to whole
 * milliseconds so that deadlines on an integer clock add up exactly: the responder answers a keepalive that
 * comes exactly one interval after its last answer, and a fraction of a millisecond must not decide that.
 */
export function keepaliveIntervalMs(rttMs: number): number {
  return Math.round(Math.max(Math.min(rttMs * (KEEPALIVE_MAX_MS / KEEPALIVE_MAX_RTT_MS), KEEPALIVE_MAX_MS), KEEPALIVE_MIN_MS));
}

/** No inbound traffic for this long makes an active link stale. */
export function staleTimeMs(keepaliveMs: number): number {
  return keepaliveMs * STALE_FACTOR;
}

/**
 * How long a stale link lingers before it is torn down: rtt * 4 + 5 s by the reference's formula, but its
 * watchdog sleeps at most 5 s between checks, so the teardown in fact comes 5 s after the link went stale.
 */
export function staleCloseDelayMs(rttMs: number): number {
  return Math.min(rttMs * KEEPALIVE_TIMEOUT_FACTOR + STALE_GRACE_MS, WATCHDOG_MAX_SLEEP_MS);
}

/**
 * Initiator's establishment timeout: the first-hop timeout (an MTU's airtime at the next hop's bitrate, when
 * known, plus 6 s) and 6 s per hop. The reference counts an unknown path as 128 hops.
 */
export function initiatorEstablishmentTimeoutMs(hops: number, firstHopBitrateBps?: number): number {
  const airtimeMs = firstHopBitrateBps !== undefined && firstHopBitrateBps > 0 ? ((MTU * 8) / firstHopBitrateBps) * 1000 : 0;
  return airtimeMs + PER_HOP_TIMEOUT_MS + PER_HOP_TIMEOUT_MS * Math.max(1, hops);
}

/** Responder's time to wait for the RTT packet: 6 s per hop plus a keepalive interval (360 s). */
export function responderEstablishmentTimeoutMs(hops: number): number {
  return PER_HOP_TIMEOUT_MS * Math.max(1, hops) + KEEPALIVE_MAX_MS;
}

/** Default request timeout: rtt * 6 plus 1.125 times the resource response grace (10 s). */
export function requestTimeoutMs(rttMs: number): number {
  return rttMs * TRAFFIC_TIMEOUT_FACTOR + RESPONSE_MAX_GRACE_MS * 1.125;
}

/** How long a packet sent on a link waits for its proof: max(rtt * 6, 5 ms). */
export function receiptTimeoutMs(rttMs: number): number {
  return Math.max(rttMs * TRAFFIC_TIMEOUT_FACTOR, TRAFFIC_TIMEOUT_MIN_MS);
}
