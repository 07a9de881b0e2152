// Validator for region presets of the board schema (./schema.ts): sub-bands with their limits, each citing
// the regulation. Every sub-band needs at least one power limit; ids are unique within the region.
import { Fields, arrayOf, idText, int, nullable, num, text, type Reader } from "./check.js";
import { childPath } from "./json.js";
import type { EntryBase, Region, SubBand } from "./schema.js";

type Body<T> = Omit<T, keyof EntryBase | "kind">;
const HZ = (): Reader<number> => int(1_000_000, 10_000_000_000);
const dbm = (): Reader<number | null> => nullable(num(-30, 60));

const subBand: Reader<SubBand> = (v, path, out) => {
  const f = new Fields(v, path, out, [
    "id", "designation", "minHz", "maxHz", "maxConductedDbm", "maxErpDbm", "maxEirpDbm", "maxEirpDensity", "minBandwidthHz",
    "maxBandwidthHz", "dutyCyclePct", "dwell", "caution", "notes",
  ]);
  const id = f.req("id", idText());
  const designation = f.req("designation", text({ maxChars: 200 }));
  const minHz = f.req("minHz", HZ());
  const maxHz = f.req("maxHz", HZ());
  const maxConductedDbm = f.opt("maxConductedDbm", dbm(), null);
  const maxErpDbm = f.opt("maxErpDbm", dbm(), null);
  const maxEirpDbm = f.opt("maxEirpDbm", dbm(), null);
  const maxEirpDensity = f.opt("maxEirpDensity", nullable<{ dbm: number; perHz: number }>((w, p, o) => {
    const g = new Fields(w, p, o, ["dbm", "perHz"]);
    const d = g.req("dbm", num(-60, 60));
    const perHz = g.req("perHz", int(1, 100_000_000));
    return g.clean() ? { dbm: d!, perHz: perHz! } : undefined;
  }), null);
  const minBandwidthHz = f.opt("minBandwidthHz", nullable(int(1, 100_000_000)), null);
  const maxBandwidthHz = f.opt("maxBandwidthHz", nullable(int(1, 100_000_000)), null);
  const dutyCyclePct = f.req("dutyCyclePct", num(0, 100, { aboveMin: true, what: "a percentage above 0 and at most 100 (100: no duty-cycle limit)" }));
  const dwell = f.opt("dwell", nullable<{ maxMs: number; windowMs: number | null }>((w, p, o) => {
    const g = new Fields(w, p, o, ["maxMs", "windowMs"]);
    const maxMs = g.req("maxMs", num(0, 3_600_000, { aboveMin: true }));
    const windowMs = g.opt("windowMs", nullable(num(0, 86_400_000, { aboveMin: true })), null);
    if (maxMs !== undefined && windowMs !== undefined && windowMs !== null && windowMs < maxMs) o.add(p, `windowMs ${windowMs} is shorter than maxMs ${maxMs}`);
    return g.clean() ? { maxMs: maxMs!, windowMs: windowMs! } : undefined;
  }), null);
  const caution = f.opt("caution", nullable(text({ maxChars: 600 })), null);
  const notes = f.opt("notes", arrayOf(text({ maxChars: 600 }), { max: 16 }), []);
  if (minHz !== undefined && maxHz !== undefined && minHz >= maxHz) out.add(path, `minHz ${minHz} must be below maxHz ${maxHz}`);
  if (f.ok && maxConductedDbm === null && maxErpDbm === null && maxEirpDbm === null) out.add(path, "needs at least one of maxConductedDbm, maxErpDbm, maxEirpDbm");
  if (typeof minBandwidthHz === "number" && typeof maxBandwidthHz === "number" && minBandwidthHz > maxBandwidthHz) out.add(path, `minBandwidthHz ${minBandwidthHz} is above maxBandwidthHz ${maxBandwidthHz}`);
  if (!f.clean()) return undefined;
  return {
    id: id!, designation: designation!, minHz: minHz!, maxHz: maxHz!, maxConductedDbm: maxConductedDbm!, maxErpDbm: maxErpDbm!, maxEirpDbm: maxEirpDbm!,
    maxEirpDensity: maxEirpDensity!, minBandwidthHz: minBandwidthHz!, maxBandwidthHz: maxBandwidthHz!, dutyCyclePct: dutyCyclePct!, dwell: dwell!,
    caution: caution!, notes: notes!,
  };
};

export function region(f: Fields): Body<Region> | undefined {
  const regulation = f.req("regulation", arrayOf(text({ maxChars: 600 }), { min: 1, max: 16 }));
  const operatorNotice = f.req("operatorNotice", text({ maxChars: 600 }));
  const dutyCycleWindowMs = f.req("dutyCycleWindowMs", int(60_000, 86_400_000, "a window in milliseconds from 60000 to 86400000"));
  const subBands = f.req("subBands", arrayOf(subBand, { min: 1, max: 32 }));
  if (subBands) {
    const seen = new Set<string>();
    subBands.forEach((b, i) => {
      if (seen.has(b.id)) f.out.add(childPath(childPath(childPath(f.path, "subBands"), i), "id"), `sub-band id "${b.id}" is used twice`);
      seen.add(b.id);
    });
  }
  if (!f.clean()) return undefined;
  return { regulation: regulation!, operatorNotice: operatorNotice!, dutyCycleWindowMs: dutyCycleWindowMs!, subBands: subBands! };
}
