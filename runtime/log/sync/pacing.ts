// Pacing: how fast sync messages may leave. A message of n plaintext bytes is one encrypted link packet of
// linkPacketBytes(n) bytes on the air; on a LoRa-like link (an airtime model is given) it occupies the channel
// for its airtime and draws on the duty-cycle budget, else it takes its bits over the interface's bitrate.
//
// The pacer never lets more than the link can carry wait in front of it: on LoRa one packet at a time (the
// next is released when the previous one's airtime has passed and the budget allows it); on fast links at
// most SYNC_LIMITS.maxBurstMs of link time ahead. It consults the budget and, unless told to, does not record
// into it: the radio driver records every packet it sends (announces and keepalives too), so counting here as
// well would count twice.
import { AES_BLOCK, HEADER_1_LENGTH, TOKEN_OVERHEAD } from "../../core/limits.js";
import type { DutyCycleBudget } from "../../radio/duty-cycle.js";
import { rnodePacketAirtimeMs, type LoraChip } from "../../radio/airtime.js";
import { SYNC_LIMITS } from "./limits.js";

export interface AirtimeModel {
  sf: number;
  bwHz: number;
  /** Coding rate denominator, 5-8 (4/5..4/8). */
  cr: number;
  /** The interface's duty-cycle budget, if its region has one. */
  budget?: DutyCycleBudget;
  chip?: LoraChip;
  /** Record each released message's airtime into the budget (only when no driver records it). Default false. */
  recordsAirtime?: boolean;
}

/**
 * Bytes on the air of one link DATA packet carrying `plaintext` bytes: the 19-byte header plus the Token
 * (16-byte IV, AES-CBC with PKCS#7 padding to a whole block, 32-byte HMAC). 499 for a full 431-byte MDU.
 * `ifacBytes` adds an interface access code when the interface has one.
 */
export function linkPacketBytes(plaintext: number, ifacBytes = 0): number {
  return HEADER_1_LENGTH + ifacBytes + TOKEN_OVERHEAD + (Math.floor(plaintext / AES_BLOCK) + 1) * AES_BLOCK;
}

export class Pacer {
  readonly #bitrateBps: number;
  readonly #airtime: AirtimeModel | null;
  /** When the channel is free of what we released. */
  #freeAtMs = -Infinity;
  /** Airtime (or link time) released so far, for stats. */
  airtimeMs = 0;

  constructor(bitrateBps: number, airtime: AirtimeModel | null) {
    if (!(bitrateBps > 0)) throw new RangeError(`bitrate must be positive, got ${bitrateBps}`);
    this.#bitrateBps = bitrateBps;
    this.#airtime = airtime;
  }

  /** Time the message of `plaintext` bytes occupies the link. */
  durationMs(plaintext: number): number {
    const bytes = linkPacketBytes(plaintext);
    const a = this.#airtime;
    if (a !== null) return rnodePacketAirtimeMs(bytes, { spreadingFactor: a.sf, bandwidthHz: a.bwHz, codingRate: a.cr }, a.chip ?? "sx127x");
    return (bytes * 8 * 1000) / this.#bitrateBps;
  }

  /** The earliest time, nowMs or later, a message of `plaintext` bytes may be released (Infinity: never). */
  nextSendMs(plaintext: number, nowMs: number): number {
    const burst = this.#airtime === null ? SYNC_LIMITS.maxBurstMs : 0;
    let t = Math.max(nowMs, this.#freeAtMs - burst);
    // The budget is asked about nowMs only: it takes a later time as the clock moving, and an earlier one
    // after that as the clock going back. Usage only falls as time passes, so the later of the two holds.
    const budget = this.#airtime?.budget;
    if (budget !== undefined) t = Math.max(t, budget.nextAllowedMs(this.durationMs(plaintext), nowMs));
    return t;
  }

  canSend(plaintext: number, nowMs: number): boolean {
    return this.nextSendMs(plaintext, nowMs) <= nowMs;
  }

  /**
   * A message of `plaintext` bytes from the peer arrived at nowMs. On a half-duplex radio its airtime held
   * the channel, and whatever of ours was queued then went out that much later: so does what comes next.
   */
  heard(plaintext: number, nowMs: number): void {
    if (this.#airtime === null) return;
    const d = this.durationMs(plaintext);
    if (this.#freeAtMs > nowMs - d) this.#freeAtMs += d;
  }

  /** A message was released at nowMs. */
  sent(plaintext: number, nowMs: number): void {
    const d = this.durationMs(plaintext);
    this.#freeAtMs = Math.max(nowMs, this.#freeAtMs) + d;
    this.airtimeMs += d;
    const a = this.#airtime;
    if (a?.budget !== undefined && a.recordsAirtime === true) a.budget.record(d, nowMs);
  }
}
