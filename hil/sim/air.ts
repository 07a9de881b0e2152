// The LoRa medium of the simulator: the rules of hil/medium/medium.ts (same outcomes, same order of checks,
// same airtime, same seeded loss draws) over a sparse neighbour table, so 1,000 radios cost what their
// neighbourhoods cost rather than N² per packet.
//
// How it works: radios are numbered; each keeps the radios it has a link with (path loss, optional loss
// probability), sorted by number. A radio with no link to another never hears it nor is disturbed by it (the
// Medium's "out-of-range", which is simply not reported here). transmit() puts a packet on air and marks the
// channel busy, until the packet ends, at every neighbour that can detect it (carrier sense). settle(t), called
// at the packet's end, decides each neighbour's outcome in the Medium's order: radio-off, other-channel,
// other-coding-rate, retuned, partitioned, below-sensitivity, half-duplex, collision (capture threshold), loss,
// received. Packets that ended long enough ago that they can overlap no undecided packet are forgotten.
import { seededRandom } from "../../runtime/core/ports.js";
import { rnodePacketAirtimeMs } from "../medium/airtime.js";
import { DEMOD_SNR_FLOOR_DB, sameChannel, type LossReason, type RadioSettings } from "../medium/medium.js";

export interface AirOptions {
  seed: number;
  /** Loss probability of links without their own. */
  lossProbability?: number;
  /** A packet survives an overlap when it is this much stronger than every overlapping one; null: overlaps always collide. */
  captureThresholdDb?: number | null;
  noiseFigureDb?: number;
  requireMatchingCodingRate?: boolean;
}

export interface AirTransmission {
  readonly id: number;
  readonly from: number;
  readonly bytes: Uint8Array;
  readonly startMs: number;
  readonly endMs: number;
  readonly airtimeMs: number;
  readonly settings: Readonly<RadioSettings>;
}

export type AirOutcome =
  | { radio: number; received: true; rssiDbm: number; snrDb: number }
  | { radio: number; received: false; reason: LossReason; rssiDbm?: number };

interface AirLink {
  pathLossDb: number;
  /** null: the medium's current default. */
  lossProbability: number | null;
}

interface AirRadio {
  readonly id: string;
  settings: RadioSettings | null;
  sinceMs: number;
  /** Partition group, -1 when not in any. */
  group: number;
  readonly links: Map<number, AirLink>;
  /** Neighbours in ascending order (outcomes are decided in this order, as the Medium decides them). */
  order: number[];
  /** The channel is busy here until this time, as far as packets that have started tell. */
  busyUntilMs: number;
  /** When the latest busy period (overlapping packets back to back) began. */
  busyFromMs: number;
}

export class SimAir {
  readonly #radios: AirRadio[] = [];
  /** Packets on air or recently ended, by start time. */
  #recent: AirTransmission[] = [];
  #nextId = 1;
  #longestAirtimeMs = 0;
  readonly #random: ReturnType<typeof seededRandom>;
  #lossProbability: number;
  readonly #capture: number | null;
  readonly #noiseFigureDb: number;
  readonly #matchCr: boolean;
  readonly #noiseFloor = new Map<number, number>();

  constructor(options: AirOptions) {
    this.#random = seededRandom(options.seed);
    this.#lossProbability = checkProbability(options.lossProbability ?? 0);
    this.#capture = options.captureThresholdDb ?? null;
    this.#noiseFigureDb = options.noiseFigureDb ?? 6;
    this.#matchCr = options.requireMatchingCodingRate ?? true;
  }

  get radioCount(): number {
    return this.#radios.length;
  }

  radioId(index: number): string {
    return this.#radio(index).id;
  }

  noiseFloorDbm(bandwidthHz: number): number {
    let v = this.#noiseFloor.get(bandwidthHz);
    if (v === undefined) {
      v = -174 + 10 * Math.log10(bandwidthHz) + this.#noiseFigureDb;
      this.#noiseFloor.set(bandwidthHz, v);
    }
    return v;
  }

  addRadio(id: string, settings: RadioSettings | null, nowMs: number): number {
    this.#radios.push({ id, settings: settings === null ? null : { ...settings }, sinceMs: nowMs, group: -1, links: new Map(), order: [], busyUntilMs: -Infinity, busyFromMs: -Infinity });
    return this.#radios.length - 1;
  }

  /** Tunes a radio (null: off). Retuning while a packet is on air loses that packet, as in the Medium. */
  setRadio(index: number, settings: RadioSettings | null, nowMs: number): void {
    const r = this.#radio(index);
    if (!sameReception(r.settings, settings)) r.sinceMs = nowMs;
    r.settings = settings === null ? null : { ...settings };
  }

  radioSettings(index: number): Readonly<RadioSettings> | null {
    return this.#radio(index).settings;
  }

  /** The link between two radios, both ways; null removes it (out of range). */
  setLink(a: number, b: number, pathLossDb: number | null, lossProbability: number | null = null): void {
    if (a === b) throw new RangeError("a link needs two radios");
    const ra = this.#radio(a);
    const rb = this.#radio(b);
    if (pathLossDb === null) {
      ra.links.delete(b);
      rb.links.delete(a);
    } else {
      if (!Number.isFinite(pathLossDb)) throw new RangeError(`path loss ${pathLossDb} must be finite`);
      if (lossProbability !== null) checkProbability(lossProbability);
      ra.links.set(b, { pathLossDb, lossProbability });
      rb.links.set(a, { pathLossDb, lossProbability });
    }
    ra.order = [...ra.links.keys()].sort((x, y) => x - y);
    rb.order = [...rb.links.keys()].sort((x, y) => x - y);
  }

  /** Changes the loss probability of one existing link (null: back to the default). */
  setLinkLoss(a: number, b: number, lossProbability: number | null): boolean {
    const l = this.#radio(a).links.get(b);
    if (l === undefined) return false;
    if (lossProbability !== null) checkProbability(lossProbability);
    l.lossProbability = lossProbability;
    this.#radio(b).links.get(a)!.lossProbability = lossProbability;
    return true;
  }

  setDefaultLoss(p: number): void {
    this.#lossProbability = checkProbability(p);
  }

  linkBetween(a: number, b: number): Readonly<AirLink> | null {
    return this.#radio(a).links.get(b) ?? null;
  }

  neighbours(index: number): readonly number[] {
    return this.#radio(index).order;
  }

  partition(groups: readonly (readonly number[])[]): void {
    for (const r of this.#radios) r.group = -1;
    groups.forEach((g, i) => g.forEach((x) => (this.#radio(x).group = i)));
  }

  heal(): void {
    for (const r of this.#radios) r.group = -1;
  }

  partitioned(a: number, b: number): boolean {
    const ga = this.#radios[a]!.group;
    const gb = this.#radios[b]!.group;
    return ga !== -1 && gb !== -1 && ga !== gb;
  }

  /** Until when this radio hears a packet on air (carrier sense), as far as packets started by now tell. */
  busyUntilMs(index: number): number {
    return this.#radio(index).busyUntilMs;
  }

  /** When the latest busy period heard by this radio began (-Infinity: never busy). */
  busyFromMs(index: number): number {
    return this.#radio(index).busyFromMs;
  }

  transmit(index: number, bytes: Uint8Array, nowMs: number): AirTransmission {
    const r = this.#radio(index);
    if (r.settings === null) throw new RangeError(`radio ${r.id} is off and cannot transmit`);
    const airtimeMs = rnodePacketAirtimeMs(bytes.length, r.settings, r.settings.chip ?? "sx127x");
    const t: AirTransmission = { id: this.#nextId++, from: index, bytes, startMs: nowMs, endMs: nowMs + airtimeMs, airtimeMs, settings: r.settings };
    this.#recent.push(t);
    if (airtimeMs > this.#longestAirtimeMs) this.#longestAirtimeMs = airtimeMs;
    for (const n of r.order) {
      const nr = this.#radios[n]!;
      if (t.endMs > nr.busyUntilMs && this.#audible(t, n) !== null) {
        if (nr.busyUntilMs < t.startMs) nr.busyFromMs = t.startMs;
        nr.busyUntilMs = t.endMs;
      }
    }
    return t;
  }

  /** Decides what every neighbour made of `t`; call at t.endMs, packets in order of end time. */
  settle(t: AirTransmission, nowMs: number): AirOutcome[] {
    const overlapping: AirTransmission[] = [];
    for (const o of this.#recent) {
      if (o.startMs >= t.endMs) break;
      if (o !== t && o.endMs > t.startMs) overlapping.push(o);
    }
    const out: AirOutcome[] = [];
    for (const n of this.#radio(t.from).order) out.push(this.#outcome(t, n, overlapping));
    this.#forget(nowMs);
    return out;
  }

  #outcome(t: AirTransmission, index: number, overlapping: readonly AirTransmission[]): AirOutcome {
    const r = this.#radios[index]!;
    const s = r.settings;
    if (s === null) return { radio: index, received: false, reason: "radio-off" };
    if (!sameChannel(s, t.settings)) return { radio: index, received: false, reason: "other-channel" };
    if (this.#matchCr && s.codingRate !== t.settings.codingRate) return { radio: index, received: false, reason: "other-coding-rate" };
    if (r.sinceMs > t.startMs) return { radio: index, received: false, reason: "retuned" };
    if (this.partitioned(t.from, index)) return { radio: index, received: false, reason: "partitioned" };
    const link = r.links.get(t.from)!;
    const rssiDbm = t.settings.txPowerDbm - link.pathLossDb;
    const snrDb = rssiDbm - this.noiseFloorDbm(s.bandwidthHz);
    if (snrDb < DEMOD_SNR_FLOOR_DB[s.spreadingFactor]!) return { radio: index, received: false, reason: "below-sensitivity", rssiDbm };
    for (const o of overlapping) if (o.from === index) return { radio: index, received: false, reason: "half-duplex", rssiDbm };
    for (const o of overlapping) {
      if (!sameChannel(o.settings, t.settings) || this.partitioned(o.from, index)) continue;
      const ol = r.links.get(o.from);
      if (ol === undefined) continue;
      const interferenceDbm = o.settings.txPowerDbm - ol.pathLossDb;
      if (this.#capture === null || rssiDbm - interferenceDbm < this.#capture) return { radio: index, received: false, reason: "collision", rssiDbm };
    }
    const p = link.lossProbability ?? this.#lossProbability;
    if (p > 0 && this.#random.next32() / 2 ** 32 < p) return { radio: index, received: false, reason: "loss", rssiDbm };
    return { radio: index, received: true, rssiDbm, snrDb };
  }

  /** RSSI of `t` at a radio that can detect it (same channel, in range, not partitioned, above the floor), else null. */
  #audible(t: AirTransmission, index: number): number | null {
    const r = this.#radios[index]!;
    const s = r.settings;
    if (s === null || !sameChannel(s, t.settings) || this.partitioned(t.from, index)) return null;
    const link = r.links.get(t.from);
    if (link === undefined) return null;
    const rssi = t.settings.txPowerDbm - link.pathLossDb;
    return rssi - this.noiseFloorDbm(s.bandwidthHz) >= DEMOD_SNR_FLOOR_DB[s.spreadingFactor]! ? rssi : null;
  }

  /** Drops packets that ended before any undecided packet can have started. */
  #forget(nowMs: number): void {
    const horizon = nowMs - this.#longestAirtimeMs - 1;
    let drop = 0;
    while (drop < this.#recent.length && this.#recent[drop]!.endMs < horizon) drop++;
    if (drop > 64 || drop === this.#recent.length) this.#recent = this.#recent.slice(drop);
  }

  #radio(index: number): AirRadio {
    const r = this.#radios[index];
    if (r === undefined) throw new RangeError(`no radio ${index} on the air`);
    return r;
  }
}

function checkProbability(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`loss probability ${p}: 0..1`);
  return p;
}

function sameReception(a: RadioSettings | null, b: RadioSettings | null): boolean {
  if (a === null || b === null) return a === b;
  return a.frequencyHz === b.frequencyHz && a.bandwidthHz === b.bandwidthHz && a.spreadingFactor === b.spreadingFactor && a.codingRate === b.codingRate;
}
