// Announce rate control (RNS 1.4.2 Interfaces/Interface.py and Transport.py): the per-interface announce
// cap (announces queued and released within a share of the bitrate, fewest hops first), ingress control
// (an interface that is new or bursting holds announces for unknown destinations and lets them in one by
// one once it calms down), and per-destination announce rate targets.
//
// How the cap works: sending an announce of n bytes at bitrate b books the interface for (8n / b) / cap
// seconds. Until then, further rebroadcasts wait in the queue; at `allowedAtMs` the queue releases the
// oldest of its lowest-hop entries and books the interface again. Locally originated announces (hops 0)
// and announces sent on a chosen interface bypass the cap, as in the reference.
import type { Bytes } from "../../core/bytes.js";
import { MAX_HOPS } from "../../core/limits.js";
import {
  FREQ_DECAY_MS,
  FREQ_SAMPLES,
  IC_BURST_FREQ_HZ,
  IC_BURST_FREQ_NEW_HZ,
  IC_BURST_HOLD_MS,
  IC_BURST_PENALTY_MS,
  IC_DEQUE_MIN_SAMPLE,
  IC_HELD_RELEASE_INTERVAL_MS,
  IC_NEW_TIME_MS,
  IC_PR_BURST_FREQ_HZ,
  IC_PR_BURST_FREQ_NEW_HZ,
  MAX_RATE_TIMESTAMPS,
  QUEUED_ANNOUNCE_LIFE_MS,
} from "./limits.js";
import { BoundedMap } from "./table.js";

/** Arrival times of the last FREQ_SAMPLES events, for a frequency in Hz. */
export class FrequencyCounter {
  readonly #times: number[] = [];

  get samples(): number {
    return this.#times.length;
  }

  record(nowMs: number): void {
    this.#times.push(nowMs);
    if (this.#times.length > FREQ_SAMPLES) this.#times.shift();
  }

  /** Events per second over the kept samples; 0 with too few. Lets the oldest go once it has decayed. */
  frequencyHz(nowMs: number): number {
    const n = this.#times.length;
    if (n <= IC_DEQUE_MIN_SAMPLE) return 0;
    const spanMs = nowMs - this.#times[0]!;
    if (spanMs > FREQ_DECAY_MS) this.#times.shift();
    if (spanMs <= 0) return 0;
    return n / (spanMs / 1000);
  }
}

export interface HeldAnnounce {
  raw: Bytes;
  hops: number;
}

/**
 * Ingress control of one interface. `ageMs` is the interface's age (new interfaces are stricter). The
 * reference compares times strictly but polls every 250 ms, so its releases come just after the moment;
 * we run exactly at the moment, so "at or after" stands in for its "after".
 */
export class IngressControl {
  readonly announces = new FrequencyCounter();
  readonly pathRequests = new FrequencyCounter();
  readonly held = new Map<string, HeldAnnounce>();
  burstActive = false;
  #burstActivatedMs = 0;
  prBurstActive = false;
  #prBurstActivatedMs = 0;
  #heldReleaseMs = 0;

  constructor(
    readonly enabled: boolean,
    readonly maxHeld: number,
  ) {}

  shouldLimitAnnounces(nowMs: number, ageMs: number): boolean {
    if (!this.enabled) return false;
    const threshold = ageMs < IC_NEW_TIME_MS ? IC_BURST_FREQ_NEW_HZ : IC_BURST_FREQ_HZ;
    const hz = this.announces.frequencyHz(nowMs);
    if (this.burstActive) {
      if (hz < threshold && nowMs >= this.#burstActivatedMs + IC_BURST_HOLD_MS && this.announces.samples >= IC_DEQUE_MIN_SAMPLE) {
        this.burstActive = false;
      }
      return true;
    }
    if (hz > threshold) {
      this.burstActive = true;
      this.#burstActivatedMs = nowMs;
      this.#heldReleaseMs = nowMs + IC_BURST_PENALTY_MS;
      return true;
    }
    return false;
  }

  shouldLimitPathRequests(nowMs: number, ageMs: number): boolean {
    if (!this.enabled) return false;
    const threshold = ageMs < IC_NEW_TIME_MS ? IC_PR_BURST_FREQ_NEW_HZ : IC_PR_BURST_FREQ_HZ;
    const hz = this.pathRequests.frequencyHz(nowMs);
    if (this.prBurstActive) {
      if (hz < threshold && nowMs >= this.#prBurstActivatedMs + IC_BURST_HOLD_MS) this.prBurstActive = false;
      return true;
    }
    if (hz > threshold) {
      this.prBurstActive = true;
      this.#prBurstActivatedMs = nowMs;
      return true;
    }
    return false;
  }

  /** Holds an announce (a newer one for the same destination replaces it). False when it was refused. */
  hold(destinationKey: string, announce: HeldAnnounce): boolean {
    if (announce.hops >= MAX_HOPS - 1) return false;
    if (this.held.has(destinationKey) || this.held.size < this.maxHeld) {
      this.held.set(destinationKey, announce);
      return true;
    }
    return false;
  }

  /** The held announce to let in now (fewest hops), if the interface has calmed down and the interval passed. */
  release(nowMs: number, ageMs: number): HeldAnnounce | null {
    if (this.held.size === 0 || nowMs < this.#heldReleaseMs) return null;
    const threshold = ageMs < IC_NEW_TIME_MS ? IC_BURST_FREQ_NEW_HZ : IC_BURST_FREQ_HZ;
    if (this.announces.frequencyHz(nowMs) >= threshold) return null;
    let bestKey: string | null = null;
    let best: HeldAnnounce | null = null;
    for (const [k, a] of this.held) {
      if (best === null || a.hops < best.hops) {
        best = a;
        bestKey = k;
      }
    }
    if (bestKey === null || best === null) return null;
    this.#heldReleaseMs = nowMs + IC_HELD_RELEASE_INTERVAL_MS;
    this.held.delete(bestKey);
    return best;
  }

  /** Whether interface jobs must keep running for this interface. */
  get busy(): boolean {
    return this.held.size > 0 || this.burstActive || this.prBurstActive;
  }
}

interface QueuedAnnounce {
  destinationKey: string;
  queuedAtMs: number;
  hops: number;
  emittedS: number;
  raw: Bytes;
}

/** The announce cap of one interface. */
export class AnnounceQueue {
  readonly entries: QueuedAnnounce[] = [];
  allowedAtMs = 0;

  constructor(
    readonly bitrateBps: number,
    readonly cap: number,
    readonly maxQueued: number,
  ) {}

  /** Books the interface after sending `length` bytes of announce (or path request) traffic. */
  book(nowMs: number, length: number): void {
    if (this.bitrateBps > 0 && this.cap > 0) this.allowedAtMs = nowMs + ((length * 8) / this.bitrateBps / this.cap) * 1000;
  }

  /** May an announce go out right now? (Nothing queued ahead of it and the interface is not booked.) */
  clear(nowMs: number): boolean {
    if (!(this.bitrateBps > 0) || !(this.cap > 0)) return true;
    return this.entries.length === 0 && nowMs > this.allowedAtMs;
  }

  /** Queues an announce; one entry per destination, replaced by a more recently emitted one. */
  offer(entry: QueuedAnnounce): "queued" | "updated" | "kept" | "full" {
    const existing = this.entries.find((e) => e.destinationKey === entry.destinationKey);
    if (existing !== undefined) {
      if (entry.emittedS <= existing.emittedS) return "kept";
      Object.assign(existing, entry);
      return "updated";
    }
    if (this.entries.length >= this.maxQueued) return "full";
    this.entries.push(entry);
    return "queued";
  }

  /** Drops entries older than QUEUED_ANNOUNCE_LIFE; returns how many. */
  dropStale(nowMs: number): number {
    let n = 0;
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (nowMs > this.entries[i]!.queuedAtMs + QUEUED_ANNOUNCE_LIFE_MS) {
        this.entries.splice(i, 1);
        n++;
      }
    }
    return n;
  }

  /** Takes the next announce to send: fewest hops, then longest queued. Books the interface for it. */
  take(nowMs: number): Bytes | null {
    if (this.entries.length === 0) return null;
    let bi = 0;
    for (let i = 1; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      const b = this.entries[bi]!;
      if (e.hops < b.hops || (e.hops === b.hops && e.queuedAtMs < b.queuedAtMs)) bi = i;
    }
    const [selected] = this.entries.splice(bi, 1);
    this.book(nowMs, selected!.raw.length);
    return selected!.raw;
  }

  /** When the queue wants to run next (Infinity when empty). */
  get nextMs(): number {
    return this.entries.length > 0 ? this.allowedAtMs : Infinity;
  }
}

interface RateEntry {
  lastMs: number;
  violations: number;
  blockedUntilMs: number;
  timestamps: number[];
}

export interface RateTarget {
  targetMs: number;
  grace: number;
  penaltyMs: number;
}

/** Per-destination announce rate targets (Transport.announce_rate_table). */
export class AnnounceRateTable {
  readonly #table: BoundedMap<RateEntry>;

  constructor(maxEntries: number) {
    this.#table = new BoundedMap(maxEntries);
  }

  get size(): number {
    return this.#table.size;
  }

  /** Records an announce for the destination; true when its rebroadcast must be blocked. */
  blocked(destinationKey: string, nowMs: number, target: RateTarget): boolean {
    const e = this.#table.get(destinationKey);
    if (e === undefined) {
      this.#table.set(destinationKey, { lastMs: nowMs, violations: 0, blockedUntilMs: 0, timestamps: [nowMs] });
      return false;
    }
    e.timestamps.push(nowMs);
    while (e.timestamps.length > MAX_RATE_TIMESTAMPS) e.timestamps.shift();
    if (nowMs <= e.blockedUntilMs) return true;
    const intervalMs = nowMs - e.lastMs;
    if (intervalMs < target.targetMs) e.violations++;
    else e.violations = Math.max(0, e.violations - 1);
    if (e.violations > target.grace) {
      e.blockedUntilMs = e.lastMs + target.targetMs + target.penaltyMs;
      return true;
    }
    e.lastMs = nowMs;
    return false;
  }
}
