// Checks RNode radio settings against a board's radio (band, power range, the chip's bandwidths and spreading
// factors) and a region's sub-bands (the whole channel inside the sub-band, bandwidth bounds, conducted,
// e.r.p., EIRP and density limits). Pure: it returns the accepted settings with the sub-band they fall in,
// or every refusal, each naming the limit. Data: boards/ (schema in boards/schema.ts).
//
// How a sub-band is chosen: the one named (sub_band), else every sub-band holding the centre frequency is
// tried and, of those that accept the settings, the one allowing the most airtime wins (file order breaks
// ties). Radiated power is the TX power plus the antenna gain (EIRP), less 2.15 dB for e.r.p.; the default
// gain of 2.15 dBi (a dipole) makes e.r.p. equal to the TX power.
import type { ResolvedRNodeBoard, ResolvedVariant } from "../../boards/index.js";
import type { Region, SubBand } from "../../boards/schema.js";
import { RNODE_AIR, rnodePacketAirtimeMs, type LoraChip } from "./airtime.js";

export interface RadioSettings {
  frequencyHz: number;
  bandwidthHz: number;
  txPowerDbm: number;
  spreadingFactor: number;
  codingRate: number;
}

/** Which setting a refusal is about (the config loader reports it on that option's line). */
export type LimitField = "frequency" | "bandwidth" | "txPower" | "spreadingFactor" | "codingRate" | "subBand";
export interface Refusal {
  field: LimitField;
  message: string;
}

export interface LimitsInput {
  settings: RadioSettings;
  board?: ResolvedRNodeBoard | null;
  region?: Region | null;
  /** A sub-band id of the region; null or absent: chosen from the frequency. */
  subBandId?: string | null;
  antennaGainDbi?: number | null;
}

export type LimitsResult =
  | { ok: true; settings: RadioSettings; variant: ResolvedVariant | null; subBand: SubBand | null; warnings: Refusal[] }
  | { ok: false; refusals: Refusal[]; warnings: Refusal[] };

export const DEFAULT_ANTENNA_GAIN_DBI = 2.15;
/** e.r.p. is referred to a half-wave dipole, 2.15 dB above isotropic. */
const DIPOLE_GAIN_DBI = 2.15;
const EPSILON = 1e-9;

const mhz3 = (hz: number): string => (hz / 1e6).toFixed(3);
const mhzShort = (hz: number): string => (hz / 1e6).toFixed(3).replace(/0{1,2}$/, "");
const khz = (hz: number): string => String(Math.round(hz) / 1000);
const db = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(1));
const dbi = (x: number): string => String(Math.round(x * 100) / 100);

/** The ranges RNS 1.4.2 RNodeInterface accepts; outside them nothing else is worth checking. */
function checkRanges(s: RadioSettings): Refusal[] {
  const out: Refusal[] = [];
  const bad = (field: LimitField, v: number, lo: number, hi: number, what: string, unit = ""): void => {
    if (!Number.isFinite(v) || v < lo || v > hi || (field !== "frequency" && field !== "bandwidth" && !Number.isInteger(v))) {
      out.push({ field, message: `${what} ${v}${unit} is outside ${lo}-${hi}${unit}` });
    }
  };
  bad("frequency", s.frequencyHz, 137_000_000, 3_000_000_000, "frequency", " Hz");
  bad("bandwidth", s.bandwidthHz, 7800, 1_625_000, "bandwidth", " Hz");
  bad("txPower", s.txPowerDbm, 0, 37, "tx power", " dBm");
  bad("spreadingFactor", s.spreadingFactor, 5, 12, "spreading factor");
  bad("codingRate", s.codingRate, 5, 8, "coding rate");
  return out;
}

function checkBoard(s: RadioSettings, board: ResolvedRNodeBoard, out: Refusal[]): ResolvedVariant | null {
  const lo = s.frequencyHz - s.bandwidthHz / 2;
  const hi = s.frequencyHz + s.bandwidthHz / 2;
  const inBand = (v: ResolvedVariant, a: number, b: number): boolean => a >= v.band.minMHz * 1e6 - EPSILON && b <= v.band.maxMHz * 1e6 + EPSILON;
  const fitting = board.variants.filter((v) => inBand(v, lo, hi));
  if (fitting.length === 0) {
    const holding = board.variants.filter((v) => inBand(v, s.frequencyHz, s.frequencyHz));
    const bands = (vs: ResolvedVariant[]): string => vs.map((v) => `${mhz3(v.band.minMHz * 1e6)}-${mhz3(v.band.maxMHz * 1e6)} MHz`).join(", ");
    if (holding.length > 0) {
      out.push({ field: "bandwidth", message: `bandwidth ${khz(s.bandwidthHz)} kHz does not fit inside the ${bands(holding)} band of the ${board.name}: at ${mhz3(s.frequencyHz)} MHz the channel spans ${mhz3(lo)}-${mhz3(hi)} MHz` });
    } else {
      out.push({ field: "frequency", message: `frequency ${mhz3(s.frequencyHz)} MHz is outside the bands of the ${board.name} (${bands(board.variants)})` });
    }
  }
  const candidates = fitting.length > 0 ? fitting : board.variants;
  const maxTx = Math.max(...candidates.map((v) => v.maxTxPowerDbm));
  const minTx = Math.min(...candidates.map((v) => v.minTxPowerDbm));
  if (s.txPowerDbm > maxTx) out.push({ field: "txPower", message: `tx power ${db(s.txPowerDbm)} dBm exceeds the board's maximum of ${db(maxTx)} dBm (${board.name})` });
  if (s.txPowerDbm < minTx) {
    out.push({ field: "txPower", message: `tx power ${db(s.txPowerDbm)} dBm is below the board's minimum of ${db(minTx)} dBm (${board.name}): its firmware would set and report a higher power` });
  }
  const chips = [...new Map(candidates.map((v) => [v.chip.id, v.chip])).values()];
  const chipNames = chips.map((c) => c.name).join(" or ");
  if (!chips.some((c) => c.bandwidthsHz.includes(s.bandwidthHz))) {
    const list = [...new Set(chips.flatMap((c) => c.bandwidthsHz))].sort((a, b) => a - b).map(khz).join(", ");
    out.push({ field: "bandwidth", message: `bandwidth ${s.bandwidthHz} Hz is not one the ${chipNames} supports (${list} kHz); the firmware would round it up and report a different bandwidth` });
  }
  if (!chips.some((c) => s.spreadingFactor >= c.spreadingFactor.min && s.spreadingFactor <= c.spreadingFactor.max)) {
    const ranges = chips.map((c) => `${c.spreadingFactor.min}-${c.spreadingFactor.max} on the ${c.name}`).join(", ");
    out.push({ field: "spreadingFactor", message: `spreading factor ${s.spreadingFactor} is not supported with an explicit header (${ranges})` });
  }
  return fitting[0] ?? null;
}

function subBandName(sb: SubBand, region: Region): string {
  return `sub-band ${sb.id} (${mhzShort(sb.minHz)}-${mhzShort(sb.maxHz)} MHz) in ${region.id}`;
}

/** Every way the settings break one sub-band's limits. */
function subBandRefusals(s: RadioSettings, sb: SubBand, region: Region, gainDbi: number, gainGiven: boolean): Refusal[] {
  const out: Refusal[] = [];
  const name = subBandName(sb, region);
  const lo = s.frequencyHz - s.bandwidthHz / 2;
  const hi = s.frequencyHz + s.bandwidthHz / 2;
  if (lo < sb.minHz - EPSILON || hi > sb.maxHz + EPSILON) {
    out.push({ field: "bandwidth", message: `bandwidth ${khz(s.bandwidthHz)} kHz does not fit inside ${name}: at ${mhz3(s.frequencyHz)} MHz the channel spans ${mhz3(lo)}-${mhz3(hi)} MHz` });
  }
  if (sb.maxBandwidthHz !== null && s.bandwidthHz > sb.maxBandwidthHz) out.push({ field: "bandwidth", message: `bandwidth ${khz(s.bandwidthHz)} kHz is wider than the ${khz(sb.maxBandwidthHz)} kHz ${name} allows` });
  if (sb.minBandwidthHz !== null && s.bandwidthHz < sb.minBandwidthHz) out.push({ field: "bandwidth", message: `bandwidth ${khz(s.bandwidthHz)} kHz is narrower than the ${khz(sb.minBandwidthHz)} kHz ${name} requires` });
  const tx = s.txPowerDbm;
  const eirp = tx + gainDbi;
  const antenna = `with a ${dbi(gainDbi)} dBi antenna${gainGiven ? "" : " (the default; antenna_gain sets it)"}`;
  if (sb.maxConductedDbm !== null && tx > sb.maxConductedDbm + EPSILON) out.push({ field: "txPower", message: `tx power ${db(tx)} dBm exceeds the ${db(sb.maxConductedDbm)} dBm conducted limit of ${name}` });
  if (sb.maxErpDbm !== null) {
    const erp = eirp - DIPOLE_GAIN_DBI;
    if (erp > sb.maxErpDbm + EPSILON) {
      out.push({
        field: "txPower",
        message: Math.abs(gainDbi - DIPOLE_GAIN_DBI) < EPSILON
          ? `tx power ${db(tx)} dBm exceeds the ${db(sb.maxErpDbm)} dBm ERP limit of ${name}`
          : `tx power ${db(tx)} dBm ${antenna} is ${db(erp)} dBm ERP, above the ${db(sb.maxErpDbm)} dBm ERP limit of ${name}`,
      });
    }
  }
  if (sb.maxEirpDbm !== null && eirp > sb.maxEirpDbm + EPSILON) {
    out.push({ field: "txPower", message: `tx power ${db(tx)} dBm ${antenna} is ${db(eirp)} dBm EIRP, above the ${db(sb.maxEirpDbm)} dBm EIRP limit of ${name}` });
  }
  if (sb.maxEirpDensity !== null) {
    const d = sb.maxEirpDensity;
    const allowed = d.dbm + 10 * Math.log10(s.bandwidthHz / d.perHz);
    if (eirp > allowed + EPSILON) {
      out.push({
        field: "txPower",
        message: `tx power ${db(tx)} dBm ${antenna} is ${db(eirp)} dBm EIRP over ${khz(s.bandwidthHz)} kHz, above the ${db(allowed)} dBm that the ${db(d.dbm)} dBm per ${khz(d.perHz)} kHz density limit of ${name} allows`,
      });
    }
  }
  return out;
}

function checkRegion(
  s: RadioSettings, region: Region, subBandId: string | null, gainDbi: number, gainGiven: boolean, chip: LoraChip, out: Refusal[], warnings: Refusal[],
): SubBand | null {
  let candidates: SubBand[];
  const list = region.subBands.map((b) => `${b.id} ${mhzShort(b.minHz)}-${mhzShort(b.maxHz)} MHz`).join(", ");
  if (subBandId !== null) {
    const sb = region.subBands.find((b) => b.id === subBandId.trim().toLowerCase());
    if (sb === undefined) {
      out.push({ field: "subBand", message: `sub-band "${subBandId}" is not one of region ${region.id} (${region.subBands.map((b) => b.id).join(", ")})` });
      return null;
    }
    if (s.frequencyHz < sb.minHz || s.frequencyHz > sb.maxHz) {
      out.push({ field: "frequency", message: `frequency ${mhz3(s.frequencyHz)} MHz is outside ${subBandName(sb, region)}` });
      return null;
    }
    candidates = [sb];
  } else {
    candidates = region.subBands.filter((b) => s.frequencyHz >= b.minHz && s.frequencyHz <= b.maxHz);
    if (candidates.length === 0) {
      const min = Math.min(...region.subBands.map((b) => b.minHz));
      const max = Math.max(...region.subBands.map((b) => b.maxHz));
      out.push({
        field: "frequency",
        message: s.frequencyHz < min || s.frequencyHz > max
          ? `frequency ${mhz3(s.frequencyHz)} MHz is outside every band of region ${region.id} (${mhz3(min)}-${mhz3(max)} MHz)`
          : `frequency ${mhz3(s.frequencyHz)} MHz is in no sub-band of region ${region.id}; its sub-bands are ${list}`,
      });
      return null;
    }
  }
  const tried = candidates.map((sb) => ({ sb, refusals: subBandRefusals(s, sb, region, gainDbi, gainGiven) }));
  const accepting = tried.filter((t) => t.refusals.length === 0);
  if (accepting.length === 0) {
    // Report the sub-bands the channel itself fits (only their power is wrong); if none, every refusal.
    const shaped = tried.filter((t) => t.refusals.every((r) => r.field !== "bandwidth"));
    const seen = new Set<string>();
    for (const r of (shaped.length > 0 ? shaped : tried).flatMap((t) => t.refusals)) {
      if (!seen.has(r.message)) out.push(r);
      seen.add(r.message);
    }
    return null;
  }
  const chosen = accepting.reduce((best, t) => (t.sb.dutyCyclePct > best.sb.dutyCyclePct ? t : best)).sb;
  if (chosen.caution !== null) warnings.push({ field: "subBand", message: `${subBandName(chosen, region)}: ${chosen.caution}` });
  if (chosen.dwell !== null) {
    const m = { spreadingFactor: s.spreadingFactor, bandwidthHz: s.bandwidthHz, codingRate: s.codingRate };
    // The largest single frame: a packet of 254 bytes plus the firmware's header byte.
    const frameMs = rnodePacketAirtimeMs(RNODE_AIR.singleFrameBytes - RNODE_AIR.headerBytes, m, chip);
    if (frameMs > chosen.dwell.maxMs) {
      const per = chosen.dwell.windowMs === null ? "per transmission" : `per ${chosen.dwell.windowMs / 1000} s`;
      warnings.push({
        field: "spreadingFactor",
        message: `a full ${RNODE_AIR.singleFrameBytes}-byte LoRa frame takes ${Math.round(frameMs)} ms at SF${s.spreadingFactor}/${khz(s.bandwidthHz)} kHz, longer than the ${chosen.dwell.maxMs} ms ${per} dwell time of ${subBandName(chosen, region)}`,
      });
    }
  }
  return chosen;
}

/** Accepts the settings, or lists every limit they break. */
export function checkRadioSettings(input: LimitsInput): LimitsResult {
  const s = input.settings;
  const refusals = checkRanges(s);
  const warnings: Refusal[] = [];
  if (refusals.length > 0) return { ok: false, refusals, warnings };
  const variant = input.board ? checkBoard(s, input.board, refusals) : null;
  const gainGiven = input.antennaGainDbi !== undefined && input.antennaGainDbi !== null;
  const gain = gainGiven ? input.antennaGainDbi! : DEFAULT_ANTENNA_GAIN_DBI;
  // Without a board, airtime is reckoned for an SX126x, whose longer on-air preamble is the safe side.
  const chip = variant?.chip.family ?? "sx126x";
  const subBand = input.region ? checkRegion(s, input.region, input.subBandId ?? null, gain, gainGiven, chip, refusals, warnings) : null;
  if (refusals.length > 0) return { ok: false, refusals, warnings };
  return { ok: true, settings: { ...s }, variant, subBand, warnings };
}
