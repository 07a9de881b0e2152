// The receiver's request window and its rate adaptation (RNS 1.4.2 Resource.receive_part and watchdog).
//
// How it works: the receiver asks for `window` parts at a time. A round in which every requested part arrived
// grows the window by one up to `max`, dragging `min` along so that max - min stays within the flexibility.
// A timeout shrinks window and max. `max` starts at WINDOW_MAX_SLOW; after FAST_RATE_THRESHOLD rounds measured
// above RATE_FAST it becomes WINDOW_MAX_FAST, and a link that was never fast but measured below RATE_VERY_SLOW
// for VERY_SLOW_RATE_THRESHOLD rounds is capped at WINDOW_MAX_VERY_SLOW.
import {
  FAST_RATE_THRESHOLD,
  RATE_FAST_BYTES_PER_S,
  RATE_VERY_SLOW_BYTES_PER_S,
  VERY_SLOW_RATE_THRESHOLD,
  WINDOW_FLEXIBILITY,
  WINDOW_INITIAL,
  WINDOW_MAX_FAST,
  WINDOW_MAX_SLOW,
  WINDOW_MAX_VERY_SLOW,
  WINDOW_MIN,
} from "./limits.js";

export class TransferWindow {
  window: number;
  max = WINDOW_MAX_SLOW;
  min = WINDOW_MIN;
  private fastRounds = 0;
  private verySlowRounds = 0;

  /** `initial`: the window the link's previous resource ended with, as the reference carries it over. */
  constructor(initial: number = WINDOW_INITIAL) {
    if (!Number.isInteger(initial) || initial < WINDOW_MIN || initial > WINDOW_MAX_FAST) {
      throw new RangeError(`window must be ${WINDOW_MIN}..${WINDOW_MAX_FAST}, got ${initial}`);
    }
    this.window = initial;
  }

  /** Every part of the round arrived. */
  grow(): void {
    if (this.window < this.max) {
      this.window++;
      if (this.window - this.min > WINDOW_FLEXIBILITY - 1) this.min++;
    }
  }

  /** The round timed out. */
  shrink(): void {
    if (this.window > this.min) {
      this.window--;
      if (this.max > this.min) {
        this.max--;
        if (this.max - this.window > WINDOW_FLEXIBILITY - 1) this.max--;
      }
    }
  }

  /** A measured rate (bytes/s) counts towards the fast window while fewer than the threshold rounds were fast. */
  noteFastRate(bytesPerS: number): void {
    if (bytesPerS > RATE_FAST_BYTES_PER_S && this.fastRounds < FAST_RATE_THRESHOLD) {
      this.fastRounds++;
      if (this.fastRounds === FAST_RATE_THRESHOLD) this.max = WINDOW_MAX_FAST;
    }
  }

  /** A round's data rate (bytes/s) counts towards the very-slow cap on a link that was never fast. */
  noteVerySlowRate(bytesPerS: number): void {
    if (this.fastRounds === 0 && bytesPerS < RATE_VERY_SLOW_BYTES_PER_S && this.verySlowRounds < VERY_SLOW_RATE_THRESHOLD) {
      this.verySlowRounds++;
      if (this.verySlowRounds === VERY_SLOW_RATE_THRESHOLD) this.max = WINDOW_MAX_VERY_SLOW;
    }
  }
}
