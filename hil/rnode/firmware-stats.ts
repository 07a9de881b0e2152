// The emulated firmware's airtime and channel bookkeeping (RNode_Firmware.ino add_airtime, update_airtime,
// check_modem_status, update_csma_parameters; Utilities.h kiss_indicate_channel_stats) and its CSMA wait
// (tx_queue_handler), replayed over the medium's busy intervals instead of a 3 ms polling loop.
import { airtimeToWire, csmaBand, toUint8 } from "./firmware-math.js";

/** Config.h: 2500 DCD samples of 3 ms; airtime in 7.5 s bins over one hour. */
export const STATS_LIMITS = Object.freeze({ binMs: 7500, bins: 480, dcdWindowMs: 7500, rssiOffset: 157 });

/** Airtime bins, channel utilisation and the contention window band derived from them. */
export class AirtimeStats {
  airtime = 0;
  longtermAirtime = 0;
  totalUtil = 0;
  longtermUtil = 0;
  cwBand = 1;
  cwMin = 0;
  /** Config.h starts at 15; update_csma_parameters later uses band * 15 - 1. */
  cwMax = 15;
  private readonly bins = new Uint16Array(STATS_LIMITS.bins);
  private readonly longtermBins = new Float32Array(STATS_LIMITS.bins);

  /** init_channel_stats() at radio start. */
  reset(): void {
    this.bins.fill(0);
    this.longtermBins.fill(0);
    this.airtime = this.longtermAirtime = this.totalUtil = 0;
  }

  /** add_airtime(): books one frame's cost in the current bin (a uint16, as the firmware's). */
  addAirtime(costMs: number, nowMs: number): void {
    const cb = bin(nowMs);
    this.bins[cb] = (this.bins[cb]! + costMs) & 0xffff;
    this.bins[(cb + 1) % STATS_LIMITS.bins] = 0;
  }

  /** check_modem_status()'s once-a-second step: busy share of the last 7.5 s plus own airtime, long-term maximum. */
  utilisation(busyMs: number, nowMs: number): void {
    this.totalUtil = Math.min(1, Math.fround(busyMs / STATS_LIMITS.dcdWindowMs + this.airtime));
    const cb = bin(nowMs);
    if (this.totalUtil > this.longtermBins[cb]!) this.longtermBins[cb] = this.totalUtil;
    this.longtermBins[(cb + 1) % STATS_LIMITS.bins] = 0;
  }

  /** update_airtime(): recomputes the shares; returns true when the contention window band changed. */
  update(nowMs: number): boolean {
    const n = STATS_LIMITS.bins;
    const cb = bin(nowMs);
    this.bins[(cb + 1) % n] = 0;
    this.airtime = Math.fround((this.bins[cb]! + this.bins[(cb + n - 1) % n]!) / (2 * STATS_LIMITS.binMs));
    let sum = 0;
    for (const v of this.bins) sum += v;
    this.longtermAirtime = Math.fround(sum / (n * STATS_LIMITS.binMs));
    let util = 0;
    for (const v of this.longtermBins) util += v;
    this.longtermUtil = Math.fround(util / n);
    const band = csmaBand(this.airtime);
    if (band === this.cwBand) return false;
    this.cwBand = band;
    this.cwMin = (band - 1) * 15;
    this.cwMax = band * 15 - 1;
    return true;
  }

  /** CMD_STAT_CHTM payload: airtime and channel load (short, long) in 0.01 %, current RSSI, noise floor, interference. */
  channelReport(currentRssiDbm: number, noiseFloorDbm: number): number[] {
    const u16 = (share: number): number[] => {
      const v = airtimeToWire(share);
      return [v >> 8, v & 0xff];
    };
    return [
      ...u16(this.airtime), ...u16(this.longtermAirtime), ...u16(this.totalUtil), ...u16(this.longtermUtil),
      toUint8(currentRssiDbm + STATS_LIMITS.rssiOffset), toUint8(noiseFloorDbm + STATS_LIMITS.rssiOffset), 0xff,
    ];
  }
}

function bin(nowMs: number): number {
  return Math.floor((Math.floor(nowMs) % (STATS_LIMITS.bins * STATS_LIMITS.binMs)) / STATS_LIMITS.binMs);
}

/** tx_queue_handler's wait: DIFS of free channel, then the contention window, paused while the channel is busy. */
export interface CsmaWait {
  /** Chosen window in slots (csma_cw), -1 before the first look. */
  cw: number;
  /** Window time already waited (cw_wait_passed). */
  passedMs: number;
  /** Start of the current free stretch (difs_wait_start), null while busy or not waiting. */
  freeSinceMs: number | null;
  /** Time up to which the channel has been accounted. */
  clockMs: number;
}

export function newCsmaWait(nowMs: number): CsmaWait {
  return { cw: -1, passedMs: 0, freeSinceMs: null, clockMs: nowMs };
}

/**
 * Advances the wait to nowMs over the channel's busy intervals since the last call. Returns the time the
 * window ran out (transmit now) or, with fireAtMs null, when to look again.
 */
export function advanceCsma(w: CsmaWait, nowMs: number, targetMs: number, difsMs: number, busy: [number, number][], inAirUntilMs: number | null): { fireAtMs: number | null; wakeMs: number } {
  let t = Math.min(w.clockMs, nowMs);
  const consume = (from: number, to: number): number | null => {
    w.freeSinceMs ??= from;
    const difsEnd = w.freeSinceMs + difsMs;
    if (to <= difsEnd) return null;
    const cwFrom = Math.max(from, difsEnd);
    if (cwFrom + (targetMs - w.passedMs) <= to) return cwFrom + (targetMs - w.passedMs);
    w.passedMs += to - cwFrom;
    return null;
  };
  let fire: number | null = null;
  for (const [b0, b1] of busy) {
    if (b0 > t) fire = consume(t, b0);
    if (fire !== null) break;
    w.freeSinceMs = null; // busy: DIFS starts over, the window keeps what it waited
    t = b1;
  }
  if (fire === null && inAirUntilMs === null && t <= nowMs) fire = consume(t, nowMs);
  w.clockMs = nowMs;
  if (fire !== null) return { fireAtMs: fire, wakeMs: nowMs };
  if (inAirUntilMs !== null) return { fireAtMs: null, wakeMs: inAirUntilMs };
  return { fireAtMs: null, wakeMs: Math.max(nowMs, (w.freeSinceMs ?? nowMs) + difsMs) + (targetMs - w.passedMs) };
}
