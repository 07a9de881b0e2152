// The one schema of every file under boards/: radio chips, RNode boards, single-board computers, region
// presets and modem presets. Each file is one entry whose "kind" says which; validateEntry checks any parsed
// JSON against it and returns the typed entry or every problem with its field path (never throws). Facts
// come from RNode_Firmware 1.86 (Boards.h, Utilities.h, sx12xx drivers), RNS 1.4.2 rnodeconf.py and the
// regulations each region file cites. Field meanings: ./README.md. No code branches on an entry's name.
import { Fields, Issues, arrayOf, idText, text, type Reader, type SchemaIssue } from "./check.js";
import { chip, modem, rnode } from "./schema-rnode.js";
import { region } from "./schema-region.js";
import { sbc } from "./schema-sbc.js";

export type { SchemaIssue } from "./check.js";
export { formatSchemaIssue } from "./check.js";

export const ENTRY_KINDS = ["chip", "rnode", "sbc", "region", "modem"] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

export interface EntryBase {
  id: string;
  name: string;
  /** Other names it is known by; config lookups also accept these (case and "_"/"-" ignored). */
  aliases: string[];
  notes: string[];
  /** Where the facts come from: files in the reference, regulations, datasheets. */
  sources: string[];
}

export interface MHzRange {
  minMHz: number;
  maxMHz: number;
}

/** A LoRa transceiver as the RNode firmware drives it. */
export interface RadioChip extends EntryBase {
  kind: "chip";
  family: "sx127x" | "sx126x" | "sx128x";
  frequency: MHzRange;
  /** The chip's own maximum output (datasheet). */
  maxOutputDbm: number;
  /** Spreading factors that work with an explicit header, which RNodes always use. */
  spreadingFactor: { min: number; max: number };
  /** Exactly the values the firmware reports back (getSignalBandwidth); anything else is rounded up. */
  bandwidthsHz: number[];
}

/** One radio build of a board: a model code from Boards.h with its chip, band and power range. */
export interface RNodeVariant {
  model: string;
  chip: string;
  band: MHzRange;
  /** Lowest power the firmware sets and reports as asked (a PA board cannot go lower). */
  minTxPowerDbm: number;
  /** Highest power the firmware sets on this model (its CMD_TXPOWER clamp, the output pin, the PA). */
  maxTxPowerDbm: number;
  notes: string[];
}

export interface RNodeBoard extends EntryBase {
  kind: "rnode";
  /** BOARD_* in Boards.h, as the firmware reports it. */
  boardCode: string;
  /** PRODUCT_* in Boards.h / rnodeconf, null where there is none. */
  productCode: string | null;
  mcu: "atmega1284p" | "atmega2560" | "esp32" | "esp32s3" | "nrf52840";
  variants: RNodeVariant[];
  /** An external power amplifier after the chip (HAS_LORA_PA / HAS_PA). */
  pa: { gainDb: { min: number; max: number }; maxOutputDbm: number } | null;
  /** An external low-noise amplifier (HAS_LORA_LNA). */
  lna: { gainDb: number } | null;
  tcxo: boolean;
  /** HAS_BLUETOOTH is classic Bluetooth (ESP32), HAS_BLE is Bluetooth Low Energy. */
  bluetooth: "none" | "classic" | "ble";
  wifi: boolean;
  display: "none" | "oled" | "tft" | "epaper";
  /** The firmware can read a battery (HAS_PMU). */
  battery: boolean;
}

/** A GPIO line of the SBC's main GPIO chip, by offset: the sysfs number is base + line at run time. */
export interface GpioPin {
  line: number;
  /** Physical pin of the 40-pin header it is wired to. */
  headerPin: number;
  activeLow: boolean;
}
/** An LED the kernel owns (/sys/class/leds/NAME, first name that exists) or one on a GPIO line. */
export type SbcLed = { id: string; source: "sysfs-led"; sysfsNames: string[] } | ({ id: string; source: "gpio" } & GpioPin);

export interface SbcBoard extends EntryBase {
  kind: "sbc";
  soc: string;
  /** The GPIO chip whose `label` file has this text; its `base` file gives the number of line 0. */
  gpio: { chipLabel: string; lineCount: number };
  /** Header pin to line offset, for every header pin that carries a GPIO line. */
  header: { pin: number; line: number }[];
  /** Lines with a fixed use (ID EEPROM, I2C, UART) that the wiring below must not take. */
  reservedLines: { line: number; use: string }[];
  leds: SbcLed[];
  buttons: ({ id: string } & GpioPin)[];
  /** Holds the radio in reset while asserted. */
  radioReset: GpioPin | null;
  relays: ({ id: string } & GpioPin)[];
}

/** One regulated band segment. Power limits are independent: every one given must hold. */
export interface SubBand {
  id: string;
  /** The regulation's own name for it, e.g. "ERC/REC 70-03 Annex 1 band h1.4". */
  designation: string;
  minHz: number;
  maxHz: number;
  maxConductedDbm: number | null;
  maxErpDbm: number | null;
  maxEirpDbm: number | null;
  /** A power spectral density limit, EIRP per `perHz` of bandwidth. */
  maxEirpDensity: { dbm: number; perHz: number } | null;
  minBandwidthHz: number | null;
  maxBandwidthHz: number | null;
  /** Share of time this device may transmit in the sub-band; 100 is no limit. */
  dutyCyclePct: number;
  /** Longest transmission allowed on one channel, and the period it applies to (null: per transmission). */
  dwell: { maxMs: number; windowMs: number | null } | null;
  /** Shown as a warning whenever this sub-band is used (a rule kos-edge cannot check). */
  caution: string | null;
  notes: string[];
}

export interface Region extends EntryBase {
  kind: "region";
  /** The regulations (with clause) each limit comes from. */
  regulation: string[];
  /** Always shown to operators: these files are a conservative summary, not legal advice. */
  operatorNotice: string;
  /** Observation window of the duty cycle (ETSI practice: one hour). */
  dutyCycleWindowMs: number;
  subBands: SubBand[];
}

export interface ModemPreset extends EntryBase {
  kind: "modem";
  spreadingFactor: number;
  bandwidthHz: number;
  /** Reticulum's codingrate (4/5 is 5). */
  codingRate: number;
  /** The preamble the preset's home project uses; null: the RNode firmware chooses (it always does on RNodes). */
  preambleSymbols: number | null;
}

export type BoardEntry = RadioChip | RNodeBoard | SbcBoard | Region | ModemPreset;

export type Validated<T> = { ok: true; entry: T } | { ok: false; issues: SchemaIssue[] };

const BASE_KEYS = ["kind", "id", "name", "aliases", "notes", "sources"];
const note = (): Reader<string> => text({ maxChars: 600 });

function base(f: Fields): EntryBase | undefined {
  const id = f.req("id", idText());
  const name = f.req("name", text({ maxChars: 80 }));
  const aliases = f.opt("aliases", arrayOf(idText(), { max: 16 }), []);
  const notes = f.opt("notes", arrayOf(note(), { max: 32 }), []);
  const sources = f.req("sources", arrayOf(text({ maxChars: 300 }), { min: 1, max: 32 }));
  if (id === undefined || name === undefined || aliases === undefined || notes === undefined || sources === undefined) return undefined;
  return { id, name, aliases, notes, sources };
}

const KIND_KEYS: Readonly<Record<EntryKind, readonly string[]>> = {
  chip: ["family", "frequency", "maxOutputDbm", "spreadingFactor", "bandwidthsHz"],
  rnode: ["boardCode", "productCode", "mcu", "variants", "pa", "lna", "tcxo", "bluetooth", "wifi", "display", "battery"],
  sbc: ["soc", "gpio", "header", "reservedLines", "leds", "buttons", "radioReset", "relays"],
  region: ["regulation", "operatorNotice", "dutyCycleWindowMs", "subBands"],
  modem: ["spreadingFactor", "bandwidthHz", "codingRate", "preambleSymbols"],
};

/** Checks one parsed data file. `expectKind` (from the file's folder) must match its "kind" when given. */
export function validateEntry(value: unknown, expectKind?: EntryKind): Validated<BoardEntry> {
  const out = new Issues();
  const kindValue = typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)["kind"] : undefined;
  const kind = (ENTRY_KINDS as readonly unknown[]).includes(kindValue) ? (kindValue as EntryKind) : undefined;
  if (kind === undefined) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) out.add("", "must be a JSON object");
    else out.add("kind", `must be one of ${ENTRY_KINDS.map((k) => JSON.stringify(k)).join(", ")}, got ${JSON.stringify(kindValue) ?? "nothing"}`);
    return { ok: false, issues: out.list };
  }
  if (expectKind !== undefined && kind !== expectKind) out.add("kind", `is "${kind}" but the file is in the folder of "${expectKind}" entries`);
  const f = new Fields(value, "", out, [...BASE_KEYS, ...KIND_KEYS[kind]]);
  const common = base(f);
  const rest = kind === "chip" ? chip(f) : kind === "rnode" ? rnode(f) : kind === "sbc" ? sbc(f) : kind === "region" ? region(f) : modem(f);
  if (out.count > 0 || common === undefined || rest === undefined) return { ok: false, issues: out.list };
  return { ok: true, entry: { kind, ...common, ...rest } as BoardEntry };
}
