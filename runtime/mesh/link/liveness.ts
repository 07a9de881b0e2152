// Link liveness (RNS 1.4.2, the ACTIVE branch of Link.__watchdog_job and the KEEPALIVE handling in receive).
// How it works: an active link counts as heard from at the latest of its last inbound packet, its last valid
// proof and its activation. When either direction has been quiet for a keepalive interval, the initiator sends
// a keepalive (0xFF) at most once per interval and the responder answers one (0xFE) unless it sent something
// within the interval. Not heard from for two intervals, the link goes stale; stale links are torn down
// (staleCloseDelayMs) unless a packet arrives first. The interval scales with the RTT (timing.ts).
import { KEEPALIVE_MAX_MS } from "./limits.js";
import { keepaliveIntervalMs, staleTimeMs } from "./timing.js";

export class Liveness {
  lastInboundMs = 0;
  lastOutboundMs = 0;
  lastKeepaliveMs = 0;
  lastProofMs = 0;
  /** Last packet in either direction other than a keepalive. */
  lastDataMs = 0;
  activatedAtMs: number | null = null;
  keepaliveMs = KEEPALIVE_MAX_MS;
  staleTimeMs = staleTimeMs(KEEPALIVE_MAX_MS);

  constructor(readonly initiator: boolean) {}

  /** Sets the keepalive interval and stale time from a measured RTT. */
  setRtt(rttMs: number): void {
    this.keepaliveMs = keepaliveIntervalMs(rttMs);
    this.staleTimeMs = staleTimeMs(this.keepaliveMs);
  }

  inbound(nowMs: number, keepalive: boolean): void {
    this.lastInboundMs = nowMs;
    if (!keepalive) this.lastDataMs = nowMs;
  }

  outbound(nowMs: number, keepalive: boolean): void {
    this.lastOutboundMs = nowMs;
    if (keepalive) this.lastKeepaliveMs = nowMs;
    else this.lastDataMs = nowMs;
  }

  #heardAtMs(): number {
    return Math.max(this.lastInboundMs, this.lastProofMs, this.activatedAtMs ?? 0);
  }

  /** When the initiator next owes a keepalive (Infinity for the responder, which only answers them). */
  keepaliveDueMs(): number {
    if (!this.initiator) return Infinity;
    const quietSince = Math.min(this.#heardAtMs(), this.lastOutboundMs);
    return Math.max(quietSince + this.keepaliveMs, this.lastKeepaliveMs + this.keepaliveMs);
  }

  staleDueMs(): number {
    return this.#heardAtMs() + this.staleTimeMs;
  }

  /** The next moment an active link needs a tick. */
  nextDeadlineMs(): number {
    return Math.min(this.keepaliveDueMs(), this.staleDueMs());
  }

  /** The responder answers a keepalive unless it sent something within the interval. */
  shouldAnswerKeepalive(nowMs: number): boolean {
    return !this.initiator && nowMs >= this.lastOutboundMs + this.keepaliveMs;
  }
}
