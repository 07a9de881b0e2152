// A radio medium for emulated LoRa radios: who hears a packet, with what RSSI and SNR, and who loses it.
// Pure and deterministic: time comes in as nowMs, randomness from a seed, no timers inside.
//
// How it works: radios are tuned (frequency, bandwidth, SF, CR, TX power) or off. transmit() puts a packet on
// air from nowMs for its airtime (airtime.ts) and returns when it ends. settle(nowMs) then decides, for every
// transmission that has ended, what each other radio made of it, in this order:
//   radio-off, other-channel (frequency/bandwidth/SF differ), other-coding-rate, retuned (the receiver changed
//   its settings while the packet was on air), partitioned, out-of-range (no link), below-sensitivity (SNR
//   under the demodulator floor for the SF), half-duplex (the receiver was transmitting), collision (another
//   packet on the same channel overlapped and, with a capture threshold, was not at least that much weaker),
//   loss (the link's loss probability, drawn from the seeded generator), else received.
// A channel is (bandwidth, SF, frequency within a quarter of the bandwidth): LoRa's demodulator tolerates that
// offset, and different SFs are treated as orthogonal. RSSI = TX power - path loss; the noise floor is thermal
// noise over the bandwidth plus a noise figure; SNR = RSSI - noise floor.
// Time must not go backwards: transmit() and settle() refuse a nowMs before the last settle().
import { seededRandom, type RandomSource } from "../../runtime/core/ports.js";
import { checkModulation, rnodePacketAirtimeMs, type LoraChip } from "./airtime.js";

export interface RadioSettings {
  frequencyHz: number;
  bandwidthHz: number;
  spreadingFactor: number;
  codingRate: number;
  txPowerDbm: number;
  /** Decides the on-air preamble (airtime.ts); sx127x unless given. */
  chip?: LoraChip;
}

export interface LinkProperties {
  pathLossDb: number;
  /** Probability (0..1) that a packet that would be received is lost anyway. */
  lossProbability: number;
}

export interface MediumOptions {
  seed?: number;
  /** Path loss between radios without a link of their own; default 120 dB. */
  defaultPathLossDb?: number;
  /** Loss probability of links without their own; default 0. */
  lossProbability?: number;
  /** A packet survives an overlap when it is this much stronger than every overlapping one; null: overlaps always collide. */
  captureThresholdDb?: number | null;
  noiseFigureDb?: number;
  /** Explicit-header LoRa decodes any coding rate; the default (true) keeps radios on different CRs apart. */
  requireMatchingCodingRate?: boolean;
  /** How long settled transmissions stay queryable by busyIntervals(); default 60 s. */
  historyMs?: number;
}

export interface Transmission {
  readonly id: number;
  readonly from: string;
  readonly bytes: Uint8Array;
  /** A promiscuous-mode frame (no RNode header or split). */
  readonly raw: boolean;
  readonly startMs: number;
  readonly endMs: number;
  readonly airtimeMs: number;
  readonly settings: Readonly<RadioSettings>;
}

export type LossReason =
  | "radio-off"
  | "other-channel"
  | "other-coding-rate"
  | "retuned"
  | "partitioned"
  | "out-of-range"
  | "below-sensitivity"
  | "half-duplex"
  | "collision"
  | "loss";

export type Outcome =
  | { radioId: string; received: true; rssiDbm: number; snrDb: number }
  | { radioId: string; received: false; reason: LossReason; rssiDbm?: number };

export interface Settled {
  transmission: Transmission;
  /** One per other radio, in the order radios were added. */
  outcomes: Outcome[];
}

/** Demodulator SNR floor per spreading factor (SX1276/SX1262 datasheets). */
export const DEMOD_SNR_FLOOR_DB: Readonly<Record<number, number>> = Object.freeze({ 5: -2.5, 6: -5, 7: -7.5, 8: -10, 9: -12.5, 10: -15, 11: -17.5, 12: -20 });

interface RadioEntry {
  settings: RadioSettings | null;
  /** When the settings last changed. */
  sinceMs: number;
}

const DEFAULTS = { defaultPathLossDb: 120, lossProbability: 0, noiseFigureDb: 6, historyMs: 60_000 };

export function sameChannel(a: RadioSettings, b: RadioSettings): boolean {
  return a.bandwidthHz === b.bandwidthHz && a.spreadingFactor === b.spreadingFactor && Math.abs(a.frequencyHz - b.frequencyHz) <= a.bandwidthHz / 4;
}

export class Medium {
  private readonly radios = new Map<string, RadioEntry>();
  private readonly links = new Map<string, LinkProperties | null>();
  private readonly groups = new Map<string, number>();
  /** Unsettled and recent transmissions, by start time. */
  private transmissions: (Transmission & { settled: boolean })[] = [];
  private nextId = 1;
  private lastSettleMs = -Infinity;
  private readonly random: RandomSource & { next32(): number };
  private readonly options: Required<Omit<MediumOptions, "seed" | "captureThresholdDb">> & { captureThresholdDb: number | null };

  constructor(options: MediumOptions = {}) {
    this.random = seededRandom(options.seed ?? 1);
    this.options = {
      defaultPathLossDb: options.defaultPathLossDb ?? DEFAULTS.defaultPathLossDb,
      lossProbability: options.lossProbability ?? DEFAULTS.lossProbability,
      captureThresholdDb: options.captureThresholdDb ?? null,
      noiseFigureDb: options.noiseFigureDb ?? DEFAULTS.noiseFigureDb,
      requireMatchingCodingRate: options.requireMatchingCodingRate ?? true,
      historyMs: options.historyMs ?? DEFAULTS.historyMs,
    };
    checkProbability(this.options.lossProbability);
  }

  /** Thermal noise over the bandwidth plus the noise figure, in dBm. */
  noiseFloorDbm(bandwidthHz: number): number {
    return -174 + 10 * Math.log10(bandwidthHz) + this.options.noiseFigureDb;
  }

  addRadio(id: string, settings: RadioSettings | null = null, nowMs = 0): void {
    if (typeof id !== "string" || id.length === 0) throw new TypeError("radio id must be a non-empty string");
    if (this.radios.has(id)) throw new RangeError(`radio ${id} already on the medium`);
    if (settings !== null) checkSettings(settings);
    this.radios.set(id, { settings: settings === null ? null : { ...settings }, sinceMs: nowMs });
  }

  removeRadio(id: string): void {
    this.radios.delete(id);
    this.groups.delete(id);
  }

  /** Tunes a radio (null: off). A radio retuned while a packet is on air does not receive it. */
  setRadio(id: string, settings: RadioSettings | null, nowMs: number): void {
    const r = this.entry(id);
    if (settings !== null) checkSettings(settings);
    if (!sameReception(r.settings, settings)) r.sinceMs = nowMs;
    r.settings = settings === null ? null : { ...settings };
  }

  radioSettings(id: string): Readonly<RadioSettings> | null {
    return this.entry(id).settings;
  }

  get radioIds(): string[] {
    return [...this.radios.keys()];
  }

  /** The link between two radios, both ways; null puts them out of range of each other. */
  setLink(a: string, b: string, props: Partial<LinkProperties> | null): void {
    if (a === b) throw new RangeError("a link needs two radios");
    if (props === null) return void this.links.set(linkKey(a, b), null);
    const link = {
      pathLossDb: props.pathLossDb ?? this.options.defaultPathLossDb,
      lossProbability: props.lossProbability ?? this.options.lossProbability,
    };
    checkProbability(link.lossProbability);
    this.links.set(linkKey(a, b), link);
  }

  /** Path loss and loss probability between two radios, or null when they are out of range. */
  link(a: string, b: string): LinkProperties | null {
    const l = this.links.get(linkKey(a, b));
    if (l === undefined) return { pathLossDb: this.options.defaultPathLossDb, lossProbability: this.options.lossProbability };
    return l;
  }

  /** Splits the radios named into groups that cannot hear each other; radios not named are unaffected. */
  partition(...groups: string[][]): void {
    this.groups.clear();
    groups.forEach((g, i) => g.forEach((id) => this.groups.set(id, i)));
  }

  heal(): void {
    this.groups.clear();
  }

  partitioned(a: string, b: string): boolean {
    const ga = this.groups.get(a);
    const gb = this.groups.get(b);
    return ga !== undefined && gb !== undefined && ga !== gb;
  }

  /** Puts a packet on air from `radioId` at nowMs with its tuned settings. */
  transmit(radioId: string, bytes: Uint8Array, nowMs: number, options: { raw?: boolean } = {}): Transmission {
    if (!(bytes instanceof Uint8Array)) throw new TypeError("transmit: bytes must be a Uint8Array");
    this.checkTime(nowMs);
    const r = this.entry(radioId);
    if (r.settings === null) throw new RangeError(`radio ${radioId} is off and cannot transmit`);
    const raw = options.raw ?? false;
    const airtimeMs = rnodePacketAirtimeMs(bytes.length, r.settings, r.settings.chip ?? "sx127x", raw);
    const t = { id: this.nextId++, from: radioId, bytes: bytes.slice(), raw, startMs: nowMs, endMs: nowMs + airtimeMs, airtimeMs, settings: { ...r.settings }, settled: false };
    this.transmissions.push(t);
    return t;
  }

  /** When the next unsettled transmission ends, or null. */
  nextEndMs(): number | null {
    let next: number | null = null;
    for (const t of this.transmissions) if (!t.settled && (next === null || t.endMs < next)) next = t.endMs;
    return next;
  }

  /** Decides every transmission that ended by nowMs, in order of end time. */
  settle(nowMs: number): Settled[] {
    this.checkTime(nowMs);
    this.lastSettleMs = nowMs;
    const due = this.transmissions.filter((t) => !t.settled && t.endMs <= nowMs).sort((a, b) => a.endMs - b.endMs || a.id - b.id);
    const out: Settled[] = [];
    for (const t of due) {
      t.settled = true;
      const outcomes: Outcome[] = [];
      for (const id of this.radios.keys()) if (id !== t.from) outcomes.push(this.outcome(t, id));
      out.push({ transmission: t, outcomes });
    }
    // Keep what busyIntervals() may be asked about and whatever overlaps a packet not yet decided.
    let keepAfter = nowMs - this.options.historyMs;
    for (const t of this.transmissions) if (!t.settled) keepAfter = Math.min(keepAfter, t.startMs);
    this.transmissions = this.transmissions.filter((t) => !t.settled || t.endMs >= keepAfter);
    return out;
  }

  /** Carrier sense: the latest end among packets audible at the radio that are on air at nowMs, or null. */
  inAirUntil(radioId: string, nowMs: number): number | null {
    let until: number | null = null;
    for (const t of this.transmissions) {
      if (t.startMs <= nowMs && t.endMs > nowMs && this.audible(t, radioId) !== null) until = Math.max(until ?? 0, t.endMs);
    }
    return until;
  }

  /** Merged intervals within [fromMs, toMs] during which a packet audible at the radio was on air. */
  busyIntervals(radioId: string, fromMs: number, toMs: number): [number, number][] {
    const spans: [number, number][] = [];
    for (const t of this.transmissions) {
      if (t.endMs <= fromMs || t.startMs >= toMs || this.audible(t, radioId) === null) continue;
      spans.push([Math.max(t.startMs, fromMs), Math.min(t.endMs, toMs)]);
    }
    spans.sort((a, b) => a[0] - b[0]);
    const merged: [number, number][] = [];
    for (const s of spans) {
      const last = merged[merged.length - 1];
      if (last !== undefined && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
      else merged.push([s[0], s[1]]);
    }
    return merged;
  }

  /** Strongest audible signal on air at the radio, else its noise floor; null when the radio is off. */
  currentRssiDbm(radioId: string, nowMs: number): number | null {
    const s = this.entry(radioId).settings;
    if (s === null) return null;
    let rssi = this.noiseFloorDbm(s.bandwidthHz);
    for (const t of this.transmissions) {
      if (t.startMs > nowMs || t.endMs <= nowMs) continue;
      const a = this.audible(t, radioId);
      if (a !== null) rssi = Math.max(rssi, a);
    }
    return rssi;
  }

  /** RSSI of `t` at the radio when it is on the radio's channel, in range and above sensitivity, else null. */
  private audible(t: Transmission, radioId: string): number | null {
    if (t.from === radioId) return null;
    const s = this.radios.get(radioId)?.settings ?? null;
    if (s === null || !sameChannel(s, t.settings) || this.partitioned(t.from, radioId)) return null;
    const link = this.link(t.from, radioId);
    if (link === null) return null;
    const rssi = t.settings.txPowerDbm - link.pathLossDb;
    return rssi - this.noiseFloorDbm(s.bandwidthHz) >= DEMOD_SNR_FLOOR_DB[s.spreadingFactor]! ? rssi : null;
  }

  private outcome(t: Transmission, radioId: string): Outcome {
    const lost = (reason: LossReason, rssiDbm?: number): Outcome =>
      rssiDbm === undefined ? { radioId, received: false, reason } : { radioId, received: false, reason, rssiDbm };
    const r = this.entry(radioId);
    const s = r.settings;
    if (s === null) return lost("radio-off");
    if (!sameChannel(s, t.settings)) return lost("other-channel");
    if (this.options.requireMatchingCodingRate && s.codingRate !== t.settings.codingRate) return lost("other-coding-rate");
    if (r.sinceMs > t.startMs) return lost("retuned");
    if (this.partitioned(t.from, radioId)) return lost("partitioned");
    const link = this.link(t.from, radioId);
    if (link === null) return lost("out-of-range");
    const rssiDbm = t.settings.txPowerDbm - link.pathLossDb;
    const snrDb = rssiDbm - this.noiseFloorDbm(s.bandwidthHz);
    if (snrDb < DEMOD_SNR_FLOOR_DB[s.spreadingFactor]!) return lost("below-sensitivity", rssiDbm);
    for (const o of this.transmissions) {
      if (o === t || o.endMs <= t.startMs || o.startMs >= t.endMs) continue;
      if (o.from === radioId) return lost("half-duplex", rssiDbm);
    }
    for (const o of this.transmissions) {
      if (o === t || o.endMs <= t.startMs || o.startMs >= t.endMs || !sameChannel(o.settings, t.settings)) continue;
      if (this.partitioned(o.from, radioId)) continue;
      const ol = this.link(o.from, radioId);
      if (ol === null) continue;
      const interferenceDbm = o.settings.txPowerDbm - ol.pathLossDb;
      const capture = this.options.captureThresholdDb;
      if (capture === null || rssiDbm - interferenceDbm < capture) return lost("collision", rssiDbm);
    }
    if (link.lossProbability > 0 && this.random.next32() / 2 ** 32 < link.lossProbability) return lost("loss", rssiDbm);
    return { radioId, received: true, rssiDbm, snrDb };
  }

  private entry(id: string): RadioEntry {
    const r = this.radios.get(id);
    if (r === undefined) throw new RangeError(`no radio ${id} on the medium`);
    return r;
  }

  private checkTime(nowMs: number): void {
    if (!Number.isFinite(nowMs)) throw new RangeError(`nowMs ${nowMs} is not a finite time`);
    if (nowMs < this.lastSettleMs) throw new RangeError(`time went backwards: ${nowMs} < ${this.lastSettleMs}`);
  }
}

function linkKey(a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
}

function checkSettings(s: RadioSettings): void {
  checkModulation(s);
  if (!(s.frequencyHz > 0)) throw new RangeError(`frequency ${s.frequencyHz} must be positive`);
  if (!Number.isFinite(s.txPowerDbm)) throw new RangeError("txPowerDbm must be finite");
}

function checkProbability(p: number): void {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`loss probability ${p}: 0..1`);
}

/** Whether a receiver tuned as `a` and then as `b` kept listening (TX power does not matter). */
function sameReception(a: RadioSettings | null, b: RadioSettings | null): boolean {
  if (a === null || b === null) return a === b;
  return a.frequencyHz === b.frequencyHz && a.bandwidthHz === b.bandwidthHz && a.spreadingFactor === b.spreadingFactor && a.codingRate === b.codingRate;
}
