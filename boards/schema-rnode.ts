// Validators for radio entries of the board schema (./schema.ts): LoRa chips, RNode boards and modem presets.
import { Fields, arrayOf, bool, hexByte, idText, int, nullable, num, oneOf, text, type Reader } from "./check.js";
import { childPath } from "./json.js";
import type { EntryBase, MHzRange, ModemPreset, RNodeBoard, RNodeVariant, RadioChip } from "./schema.js";

type Body<T> = Omit<T, keyof EntryBase | "kind">;
const note = (): Reader<string> => text({ maxChars: 600 });

export const mhzRange = (lo: number, hi: number): Reader<MHzRange> => (v, path, out) => {
  const f = new Fields(v, path, out, ["minMHz", "maxMHz"]);
  const minMHz = f.req("minMHz", num(lo, hi));
  const maxMHz = f.req("maxMHz", num(lo, hi));
  if (minMHz !== undefined && maxMHz !== undefined && minMHz >= maxMHz) out.add(path, `minMHz ${minMHz} must be below maxMHz ${maxMHz}`);
  return f.clean() ? { minMHz: minMHz!, maxMHz: maxMHz! } : undefined;
};

const DBM = (): Reader<number> => num(-30, 40, { integer: false });

export function chip(f: Fields): Body<RadioChip> | undefined {
  const family = f.req("family", oneOf(["sx127x", "sx126x", "sx128x"] as const));
  const frequency = f.req("frequency", mhzRange(100, 3000));
  const maxOutputDbm = f.req("maxOutputDbm", DBM());
  const spreadingFactor = f.req("spreadingFactor", (v, path, out) => {
    const g = new Fields(v, path, out, ["min", "max"]);
    const min = g.req("min", int(5, 12));
    const max = g.req("max", int(5, 12));
    if (min !== undefined && max !== undefined && min > max) out.add(path, `min ${min} is above max ${max}`);
    return g.clean() ? { min: min!, max: max! } : undefined;
  });
  const bandwidthsHz = f.req("bandwidthsHz", arrayOf(int(7800, 1_625_000), { min: 1, max: 16 }));
  if (bandwidthsHz && bandwidthsHz.some((b, i) => i > 0 && b <= bandwidthsHz[i - 1]!)) f.out.add(childPath(f.path, "bandwidthsHz"), "must list each bandwidth once, in ascending order");
  return f.clean() ? { family: family!, frequency: frequency!, maxOutputDbm: maxOutputDbm!, spreadingFactor: spreadingFactor!, bandwidthsHz: bandwidthsHz! } : undefined;
}

const variant: Reader<RNodeVariant> = (v, path, out) => {
  const f = new Fields(v, path, out, ["model", "chip", "band", "minTxPowerDbm", "maxTxPowerDbm", "notes"]);
  const model = f.req("model", hexByte());
  const chipId = f.req("chip", idText());
  const band = f.req("band", mhzRange(100, 3000));
  const minTx = f.opt("minTxPowerDbm", int(0, 37), 0);
  const maxTx = f.req("maxTxPowerDbm", int(0, 37));
  const notes = f.opt("notes", arrayOf(note(), { max: 8 }), []);
  if (minTx !== undefined && maxTx !== undefined && minTx > maxTx) out.add(childPath(path, "minTxPowerDbm"), `${minTx} is above maxTxPowerDbm ${maxTx}`);
  return f.clean() ? { model: model!, chip: chipId!, band: band!, minTxPowerDbm: minTx!, maxTxPowerDbm: maxTx!, notes: notes! } : undefined;
};

export function rnode(f: Fields): Body<RNodeBoard> | undefined {
  const boardCode = f.req("boardCode", hexByte());
  const productCode = f.req("productCode", nullable(hexByte()));
  const mcu = f.req("mcu", oneOf(["atmega1284p", "atmega2560", "esp32", "esp32s3", "nrf52840"] as const));
  const variants = f.req("variants", arrayOf(variant, { min: 1, max: 8 }));
  const pa = f.opt("pa", nullable<RNodeBoard["pa"] & object>((v, path, out) => {
    const g = new Fields(v, path, out, ["gainDb", "maxOutputDbm"]);
    const gain = g.req("gainDb", (w, p, o) => {
      const h = new Fields(w, p, o, ["min", "max"]);
      const min = h.req("min", num(0, 40));
      const max = h.req("max", num(0, 40));
      if (min !== undefined && max !== undefined && min > max) o.add(p, `min ${min} is above max ${max}`);
      return h.clean() ? { min: min!, max: max! } : undefined;
    });
    const maxOutputDbm = g.req("maxOutputDbm", DBM());
    return g.clean() ? { gainDb: gain!, maxOutputDbm: maxOutputDbm! } : undefined;
  }), null);
  const lna = f.opt("lna", nullable<{ gainDb: number }>((v, path, out) => {
    const g = new Fields(v, path, out, ["gainDb"]);
    const gainDb = g.req("gainDb", num(0, 40));
    return g.clean() ? { gainDb: gainDb! } : undefined;
  }), null);
  const tcxo = f.req("tcxo", bool());
  const bluetooth = f.req("bluetooth", oneOf(["none", "classic", "ble"] as const));
  const wifi = f.req("wifi", bool());
  const display = f.req("display", oneOf(["none", "oled", "tft", "epaper"] as const));
  const battery = f.req("battery", bool());
  if (variants) {
    const seen = new Set<string>();
    variants.forEach((x, i) => {
      if (seen.has(x.model)) f.out.add(childPath(childPath(childPath(f.path, "variants"), i), "model"), `model ${x.model} is listed twice`);
      seen.add(x.model);
    });
  }
  if (!f.clean()) return undefined;
  return { boardCode: boardCode!, productCode: productCode!, mcu: mcu!, variants: variants!, pa: pa!, lna: lna!, tcxo: tcxo!, bluetooth: bluetooth!, wifi: wifi!, display: display!, battery: battery! };
}

export function modem(f: Fields): Body<ModemPreset> | undefined {
  const spreadingFactor = f.req("spreadingFactor", int(5, 12));
  const bandwidthHz = f.req("bandwidthHz", int(7800, 1_625_000));
  const codingRate = f.req("codingRate", int(5, 8, "a coding rate from 5 to 8 (4/5 to 4/8)"));
  const preambleSymbols = f.opt("preambleSymbols", nullable(int(6, 65535)), null);
  if (!f.clean()) return undefined;
  return { spreadingFactor: spreadingFactor!, bandwidthHz: bandwidthHz!, codingRate: codingRate!, preambleSymbols: preambleSymbols! };
}
