// The RNodeInterface options that tie a radio to kos-edge's board data (boards/): board, region, sub_band,
// modem_preset and antenna_gain. readRadioOptions resolves the names (with "did you mean"); checkRadioLimits
// runs runtime/radio/limits.ts on the final settings and reports each refusal on the line of the option it
// is about, so `kosd --check-config` prints `kosd.conf:LINE: <refusal>`. Options: ./README.md.
import { builtinCatalog, type BoardCatalog, type ModemPreset, type Region, type ResolvedRNodeBoard } from "../../../boards/index.js";
import { checkRadioSettings, type LimitField } from "../../radio/limits.js";
import type { Reporter, RNodeConfig, SectionReader } from "./schema.js";

export interface RadioOptions {
  preset: ModemPreset | null;
  board: ResolvedRNodeBoard | null;
  region: Region | null;
  subBandId: string | null;
  antennaGainDbi: number | null;
  /** A named option did not resolve (already reported): skip the limits check. */
  failed: boolean;
}

/** What RNodeConfig.radio records: the data the settings were checked against. */
export interface RadioProfile {
  board: string | null;
  region: string | null;
  /** The sub-band the settings fall in (named, or chosen by the limits check). */
  subBand: string | null;
  modemPreset: string | null;
  antennaGainDbi: number | null;
  /** The chosen sub-band's duty cycle, for the airtime budget. */
  dutyCyclePct: number | null;
}

const NO_PROFILE: RadioProfile = { board: null, region: null, subBand: null, modemPreset: null, antennaGainDbi: null, dutyCyclePct: null };

export function readRadioOptions(r: SectionReader, rep: Reporter, catalog: () => BoardCatalog = builtinCatalog): RadioOptions {
  const out: RadioOptions = { preset: null, board: null, region: null, subBandId: null, antennaGainDbi: r.num("antenna_gain") ?? null, failed: false };
  const names = ["board", "region", "modem_preset"] as const;
  if (!names.some((n) => r.has(n)) && !r.has("sub_band") && !r.has("antenna_gain")) return out;
  const lookup = <K extends "rnode" | "region" | "modem">(option: string, kind: K, what: string) => {
    const text = r.text(option);
    if (text === undefined) return null;
    const found = catalog().find(kind, text);
    if (found === undefined) {
      const e = r.entry(option)!;
      const near = catalog().suggest(kind, text);
      const known = catalog().list(kind).map((x) => x.id).join(", ");
      rep.error(e.line, `${option}: unknown ${what} ${JSON.stringify(text)}${near ? `; did you mean "${near}"?` : ""} (known: ${known})`, e.valueColumn);
      out.failed = true;
      return null;
    }
    return found;
  };
  out.board = lookup("board", "rnode", "RNode board");
  out.region = lookup("region", "region", "region");
  out.preset = lookup("modem_preset", "modem", "modem preset");
  const subBand = r.entry("sub_band");
  if (subBand !== undefined) {
    if (!r.has("region")) {
      rep.error(subBand.line, "sub_band needs region: a sub-band is part of a region's frequency plan", subBand.column);
      out.failed = true;
    } else out.subBandId = r.text("sub_band")!;
  }
  const gain = r.entry("antenna_gain");
  if (gain !== undefined && !r.has("region")) rep.warn(gain.line, "antenna_gain has no effect without region: it only turns TX power into radiated power for the region's limits", gain.column);
  if (out.preset !== null) {
    const p = out.preset;
    const clash = (option: string, value: number, label: string): void => {
      const given = r.num(option);
      if (given !== undefined && given !== value) {
        const e = r.entry(option)!;
        rep.error(e.line, `${option} ${given} differs from modem_preset ${p.id} (${label} ${value}); remove one`, e.column);
        out.failed = true;
      }
    };
    clash("spreadingfactor", p.spreadingFactor, "spreading factor");
    clash("bandwidth", p.bandwidthHz, "bandwidth");
    clash("codingrate", p.codingRate, "coding rate");
  }
  return out;
}

/** Checks the interface's final settings against its board and region; fills config.radio. */
export function checkRadioLimits(config: RNodeConfig, opts: RadioOptions, r: SectionReader, rep: Reporter, sectionLine: number): void {
  config.radio = {
    ...NO_PROFILE, board: opts.board?.id ?? null, region: opts.region?.id ?? null, modemPreset: opts.preset?.id ?? null, antennaGainDbi: opts.antennaGainDbi,
  };
  if (opts.failed || (opts.board === null && opts.region === null)) return;
  const result = checkRadioSettings({
    settings: { frequencyHz: config.frequencyHz, bandwidthHz: config.bandwidthHz, txPowerDbm: config.txPowerDbm, spreadingFactor: config.spreadingFactor, codingRate: config.codingRate },
    board: opts.board,
    region: opts.region,
    subBandId: opts.subBandId,
    antennaGainDbi: opts.antennaGainDbi,
  });
  const OPTION: Record<LimitField, string[]> = {
    frequency: ["frequency"],
    bandwidth: ["bandwidth", "modem_preset"],
    spreadingFactor: ["spreadingfactor", "modem_preset"],
    codingRate: ["codingrate", "modem_preset"],
    txPower: ["txpower", "board"],
    subBand: ["sub_band", "region"],
  };
  const lineOf = (field: LimitField): number => {
    for (const o of OPTION[field]) {
      const e = r.entry(o);
      if (e !== undefined) return e.line;
    }
    return sectionLine;
  };
  for (const w of result.warnings) rep.warn(lineOf(w.field), w.message);
  if (!result.ok) {
    for (const x of result.refusals) rep.error(lineOf(x.field), x.message);
    return;
  }
  config.radio.subBand = result.subBand?.id ?? null;
  config.radio.dutyCyclePct = result.subBand?.dutyCyclePct ?? null;
}
