// Waiting for the peer: a timer per thing we wait for (an answer to HELLO, the rest of its summary, wanted
// entries), with exponential backoff and jitter, and a patience limit measured from the last progress after
// which the session reports "stalled" instead of asking again.
import type { RandomSource } from "../../core/ports.js";
import { SYNC_LIMITS } from "./limits.js";

export interface Wait {
  /** Last progress (or when the wait began). */
  sinceMs: number;
  /** When to act; Infinity while the question waits to be sent. */
  dueMs: number;
  retries: number;
}

export class RetryPolicy {
  readonly #random: RandomSource;
  readonly #baseMs: number;
  readonly patienceMs: number;

  /** `packetMs`: time one full packet takes on the link (slow links wait longer before asking again). */
  constructor(random: RandomSource, packetMs: number, patienceMs: number) {
    this.#random = random;
    this.#baseMs = Math.max(SYNC_LIMITS.minRetryMs, SYNC_LIMITS.retryPacketTimes * packetMs);
    this.patienceMs = patienceMs;
  }

  intervalMs(retries: number): number {
    const jitter = 1 + (this.#random.bytes(1)[0]! / 255) * 0.25;
    return Math.min(SYNC_LIMITS.maxRetryIntervalMs, this.#baseMs * 2 ** Math.min(retries, 20)) * jitter;
  }

  /** A wait that starts (or made progress) now. */
  fresh(nowMs: number): Wait {
    return { sinceMs: nowMs, dueMs: nowMs + this.intervalMs(0), retries: 0 };
  }

  /** The question went out (again): due one interval from now, progress unchanged. */
  armed(w: Wait | null, nowMs: number): Wait {
    return w === null ? this.fresh(nowMs) : { sinceMs: w.sinceMs, dueMs: nowMs + this.intervalMs(w.retries), retries: w.retries };
  }

  /** Time is up and nothing came: the next retry, to be armed when its question leaves. */
  retried(w: Wait): Wait {
    return { sinceMs: w.sinceMs, dueMs: Infinity, retries: w.retries + 1 };
  }

  /** Time is up but there is nothing to ask: check again later. */
  later(w: Wait, nowMs: number): Wait {
    return { sinceMs: w.sinceMs, dueMs: nowMs + this.intervalMs(w.retries + 1), retries: w.retries + 1 };
  }

  exhausted(w: Wait, nowMs: number): boolean {
    return nowMs - w.sinceMs > this.patienceMs;
  }
}
