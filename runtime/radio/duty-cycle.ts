// A duty-cycle airtime budget for one region sub-band: airtime used over a sliding window (one hour, as ETSI
// EN 300 220 observes it) against duty cycle x window. Sans-IO: every call takes nowMs; export()/fromState()
// let the host persist it so a restart does not reset the count.
//
// How it works: airtime is kept in buckets. A record joins the newest bucket if it starts less than bucketMs
// after that bucket did, else opens a new one; each bucket remembers when its last transmission ended. A
// bucket counts, whole, until windowMs after that end, so every transmission counts at least as long as the
// window says and never less (the error is on the safe side, by at most bucketMs). With airtime per record
// capped at windowMs, at most 2 x window/bucket + 2 buckets are ever alive.
//
// Clocks: if nowMs goes backwards (NTP step, a Pi without RTC booting with an old time, a saved state from
// "the future"), the budget assumes no time passed since the latest time it saw and moves every bucket back
// by the jump, so recorded airtime keeps its age and is never forgotten early. A forward jump cannot be told
// from real time passing; it expires airtime as real time would.
import type { Region, SubBand } from "../../boards/schema.js";

export interface DutyCycleOptions {
  /** Share of the window this device may transmit, above 0 and at most 100. */
  dutyCyclePct: number;
  /** Default one hour. */
  windowMs?: number;
  /** Bucket length; default one minute. Smaller is more exact and keeps more buckets. */
  bucketMs?: number;
}

export interface DutyCycleState {
  version: 1;
  windowMs: number;
  bucketMs: number;
  /** The latest time the budget saw, or null if it never saw one. */
  highWaterMs: number | null;
  buckets: { startMs: number; endMs: number; usedMs: number }[];
}

interface Bucket {
  startMs: number;
  endMs: number;
  usedMs: number;
}

export const DEFAULT_WINDOW_MS = 3_600_000;
export const DEFAULT_BUCKET_MS = 60_000;
const EPSILON = 1e-6;

function checkTime(nowMs: number): void {
  if (!Number.isFinite(nowMs)) throw new RangeError(`nowMs must be a finite number, got ${nowMs}`);
}

export class DutyCycleBudget {
  readonly dutyCyclePct: number;
  readonly windowMs: number;
  readonly bucketMs: number;
  /** Airtime allowed in any window. */
  readonly allowedMs: number;
  readonly maxBuckets: number;
  #buckets: Bucket[] = [];
  #highWaterMs: number | null = null;

  constructor(opts: DutyCycleOptions) {
    const windowMs = opts.windowMs ?? DEFAULT_WINDOW_MS;
    const bucketMs = opts.bucketMs ?? DEFAULT_BUCKET_MS;
    if (!(opts.dutyCyclePct > 0 && opts.dutyCyclePct <= 100)) throw new RangeError(`dutyCyclePct must be above 0 and at most 100, got ${opts.dutyCyclePct}`);
    if (!Number.isSafeInteger(windowMs) || windowMs < 1) throw new RangeError(`windowMs must be a whole number of ms, got ${windowMs}`);
    if (!Number.isSafeInteger(bucketMs) || bucketMs < 1 || bucketMs > windowMs) throw new RangeError(`bucketMs must be 1 to windowMs, got ${bucketMs}`);
    this.dutyCyclePct = opts.dutyCyclePct;
    this.windowMs = windowMs;
    this.bucketMs = bucketMs;
    this.allowedMs = (opts.dutyCyclePct / 100) * windowMs;
    this.maxBuckets = 2 * Math.ceil(windowMs / bucketMs) + 2;
  }

  /** A budget with the whole allowance spent at nowMs: the safe start when a saved state is lost or refused. */
  static exhausted(opts: DutyCycleOptions, nowMs: number): DutyCycleBudget {
    const b = new DutyCycleBudget(opts);
    checkTime(nowMs);
    b.#highWaterMs = nowMs;
    b.#buckets.push({ startMs: nowMs, endMs: nowMs, usedMs: b.allowedMs });
    return b;
  }

  /** Restores an exported state; a string says why it was refused (the host then starts from exhausted()). */
  static fromState(state: unknown, opts: DutyCycleOptions): { ok: true; budget: DutyCycleBudget } | { ok: false; reason: string } {
    const b = new DutyCycleBudget(opts);
    const reason = b.#load(state);
    return reason === null ? { ok: true, budget: b } : { ok: false, reason };
  }

  #load(state: unknown): string | null {
    if (typeof state !== "object" || state === null || Array.isArray(state)) return "the state is not an object";
    const s = state as Record<string, unknown>;
    if (s["version"] !== 1) return `the state's version is ${JSON.stringify(s["version"]) ?? "missing"}, expected 1`;
    if (s["windowMs"] !== this.windowMs) return `the state was kept over a ${JSON.stringify(s["windowMs"])} ms window, this budget uses ${this.windowMs} ms`;
    if (s["bucketMs"] !== this.bucketMs) return `the state was kept in ${JSON.stringify(s["bucketMs"])} ms buckets, this budget uses ${this.bucketMs} ms`;
    const high = s["highWaterMs"];
    if (high !== null && (typeof high !== "number" || !Number.isFinite(high))) return "highWaterMs is not a time";
    const raw = s["buckets"];
    if (!Array.isArray(raw)) return "buckets is not a list";
    if (raw.length > this.maxBuckets) return `the state has ${raw.length} buckets, more than the ${this.maxBuckets} this window can hold`;
    if (raw.length > 0 && high === null) return "the state has buckets but no highWaterMs";
    const buckets: Bucket[] = [];
    for (const [i, x] of raw.entries()) {
      if (typeof x !== "object" || x === null) return `bucket ${i} is not an object`;
      const { startMs, endMs, usedMs } = x as Record<string, unknown>;
      if (typeof startMs !== "number" || typeof endMs !== "number" || typeof usedMs !== "number" || ![startMs, endMs, usedMs].every(Number.isFinite)) {
        return `bucket ${i} needs startMs, endMs and usedMs as numbers`;
      }
      if (usedMs < 0 || usedMs > this.windowMs) return `bucket ${i} uses ${usedMs} ms, outside 0-${this.windowMs}`;
      if (endMs < startMs) return `bucket ${i} ends before it starts`;
      if (startMs > (high as number)) return `bucket ${i} starts after the state's highWaterMs`;
      const prev = buckets[buckets.length - 1];
      if (prev !== undefined && startMs < prev.startMs + this.bucketMs) return `bucket ${i} starts less than one bucket after bucket ${i - 1}`;
      buckets.push({ startMs, endMs, usedMs });
    }
    this.#buckets = buckets;
    this.#highWaterMs = high as number | null;
    return null;
  }

  export(): DutyCycleState {
    return { version: 1, windowMs: this.windowMs, bucketMs: this.bucketMs, highWaterMs: this.#highWaterMs, buckets: this.#buckets.map((b) => ({ ...b })) };
  }

  /** Brings the budget to nowMs: handles a clock that went back, drops buckets that left the window. */
  #advance(nowMs: number): void {
    checkTime(nowMs);
    if (this.#highWaterMs !== null && nowMs < this.#highWaterMs) {
      const back = this.#highWaterMs - nowMs;
      for (const b of this.#buckets) {
        b.startMs -= back;
        b.endMs -= back;
      }
    }
    this.#highWaterMs = nowMs;
    this.#buckets = this.#buckets.filter((b) => b.endMs + this.windowMs > nowMs);
  }

  /** Airtime counted against the window at nowMs. */
  usedMs(nowMs: number): number {
    this.#advance(nowMs);
    return this.#buckets.reduce((sum, b) => sum + b.usedMs, 0);
  }

  remainingMs(nowMs: number): number {
    return Math.max(0, this.allowedMs - this.usedMs(nowMs));
  }

  canTransmit(airtimeMs: number, nowMs: number): boolean {
    this.#checkAirtime(airtimeMs);
    return this.usedMs(nowMs) + airtimeMs <= this.allowedMs + EPSILON;
  }

  /** Counts a transmission that started at nowMs. */
  record(airtimeMs: number, nowMs: number): void {
    this.#checkAirtime(airtimeMs);
    this.#advance(nowMs);
    const last = this.#buckets[this.#buckets.length - 1];
    if (last !== undefined && nowMs < last.startMs + this.bucketMs) {
      last.usedMs += airtimeMs;
      last.endMs = Math.max(last.endMs, nowMs + airtimeMs);
    } else {
      this.#buckets.push({ startMs: nowMs, endMs: nowMs + airtimeMs, usedMs: airtimeMs });
    }
  }

  /** The earliest time, nowMs or later, at which canTransmit(airtimeMs) holds; Infinity if never (more than the allowance). */
  nextAllowedMs(airtimeMs: number, nowMs: number): number {
    this.#checkAirtime(airtimeMs);
    if (airtimeMs > this.allowedMs + EPSILON) return Number.POSITIVE_INFINITY;
    let used = this.usedMs(nowMs);
    if (used + airtimeMs <= this.allowedMs + EPSILON) return nowMs;
    const expiries = this.#buckets.map((b) => ({ at: b.endMs + this.windowMs, usedMs: b.usedMs })).sort((a, b) => a.at - b.at);
    for (const e of expiries) {
      used -= e.usedMs;
      if (used + airtimeMs <= this.allowedMs + EPSILON) return e.at;
    }
    return Number.POSITIVE_INFINITY;
  }

  #checkAirtime(airtimeMs: number): void {
    if (!Number.isFinite(airtimeMs) || airtimeMs < 0 || airtimeMs > this.windowMs) throw new RangeError(`airtimeMs must be 0 to ${this.windowMs}, got ${airtimeMs}`);
  }
}

/** The budget of one sub-band of a region. */
export function budgetForSubBand(region: Region, subBand: SubBand, bucketMs: number = DEFAULT_BUCKET_MS): DutyCycleBudget {
  return new DutyCycleBudget({ dutyCyclePct: subBand.dutyCyclePct, windowMs: region.dutyCycleWindowMs, bucketMs: Math.min(bucketMs, region.dutyCycleWindowMs) });
}
