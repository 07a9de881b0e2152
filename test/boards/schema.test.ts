// The board schema (boards/schema.ts) and its JSON reader (boards/json.ts): good entries pass typed, bad ones
// fail with the field path and line of each problem, and nothing thrown at them ever throws.
import { test } from "node:test";
import assert from "node:assert/strict";
import { buildCatalog, formatSchemaIssue, validateEntry, type BoardEntry, type SchemaIssue } from "../../boards/index.js";
import { parseJsonWithPositions } from "../../boards/json.js";

const CHIP = {
  kind: "chip", id: "sx1262", name: "Semtech SX1262", family: "sx126x", frequency: { minMHz: 150, maxMHz: 960 }, maxOutputDbm: 22,
  spreadingFactor: { min: 5, max: 12 }, bandwidthsHz: [125000, 250000, 500000], sources: ["datasheet"],
};
const BOARD = {
  kind: "rnode", id: "test-board", name: "Test Board", aliases: ["tb"], boardCode: "0x33", productCode: "0xE0", mcu: "esp32",
  variants: [{ model: "0xE8", chip: "sx1262", band: { minMHz: 850, maxMHz: 950 }, maxTxPowerDbm: 22 }],
  tcxo: true, bluetooth: "classic", wifi: false, display: "oled", battery: true, sources: ["Boards.h"],
};
const REGION = {
  kind: "region", id: "test-region", name: "Test Region", regulation: ["a rule"], operatorNotice: "check local rules", dutyCycleWindowMs: 3600000,
  subBands: [{ id: "a", designation: "band a", minHz: 868000000, maxHz: 868600000, maxErpDbm: 14, dutyCyclePct: 1 }], sources: ["a rule"],
};
const SBC = {
  kind: "sbc", id: "test-pi", name: "Test Pi", soc: "BCM2711", gpio: { chipLabel: "pinctrl-bcm2711", lineCount: 58 },
  header: [{ pin: 29, line: 5 }, { pin: 31, line: 6 }, { pin: 3, line: 2 }], reservedLines: [{ line: 2, use: "I2C1 SDA" }],
  leds: [{ id: "act", sysfsNames: ["ACT"] }], buttons: [{ id: "b", line: 6, headerPin: 31, activeLow: true }],
  radioReset: { line: 5, headerPin: 29, activeLow: true }, relays: [], sources: ["pinout"],
};
const MODEM = { kind: "modem", id: "m", name: "M", spreadingFactor: 7, bandwidthHz: 125000, codingRate: 5, sources: ["x"] };

const clone = <T>(x: T): T => structuredClone(x);
function issues(value: unknown): string[] {
  const r = validateEntry(value);
  assert.equal(r.ok, false, "expected the entry to be refused");
  return r.ok ? [] : r.issues.map(formatSchemaIssue);
}

test("a valid entry of every kind comes back typed, with defaults filled in", () => {
  for (const e of [CHIP, BOARD, REGION, SBC, MODEM]) {
    const r = validateEntry(e);
    assert.ok(r.ok, r.ok ? "" : r.issues.map(formatSchemaIssue).join("\n"));
  }
  const board = validateEntry(BOARD);
  assert.ok(board.ok && board.entry.kind === "rnode");
  assert.deepEqual([board.entry.pa, board.entry.lna, board.entry.notes, board.entry.variants[0]!.minTxPowerDbm], [null, null, [], 0]);
  const region = validateEntry(REGION);
  assert.ok(region.ok && region.entry.kind === "region");
  assert.deepEqual(region.entry.subBands[0], {
    id: "a", designation: "band a", minHz: 868000000, maxHz: 868600000, maxConductedDbm: null, maxErpDbm: 14, maxEirpDbm: null, maxEirpDensity: null,
    minBandwidthHz: null, maxBandwidthHz: null, dutyCyclePct: 1, dwell: null, caution: null, notes: [],
  });
  const sbc = validateEntry(SBC);
  assert.ok(sbc.ok && sbc.entry.kind === "sbc");
  assert.deepEqual(sbc.entry.leds[0], { id: "act", source: "sysfs-led", sysfsNames: ["ACT"] });
});

test("a bad value is reported with its field path and what was expected", () => {
  const b = clone(BOARD);
  b.variants[0]!.maxTxPowerDbm = 40;
  assert.deepEqual(issues(b), ["variants[0].maxTxPowerDbm: must be a whole number from 0 to 37, got 40"]);
  const r = clone(REGION) as Record<string, unknown> & typeof REGION;
  r.subBands[0]!.dutyCyclePct = 0;
  assert.deepEqual(issues(r), ["subBands[0].dutyCyclePct: must be a percentage above 0 and at most 100 (100: no duty-cycle limit), got 0"]);
});

test("a misspelt field is unknown, with the field it probably meant", () => {
  const b = { ...clone(BOARD), maxTxPower: 22 };
  assert.deepEqual(issues(b), ["maxTxPower: unknown field"]);
  const c = { ...clone(CHIP), bandwidthHz: [125000] } as Record<string, unknown>;
  delete c["bandwidthsHz"];
  assert.deepEqual(issues(c), ['bandwidthHz: unknown field; did you mean "bandwidthsHz"?', 'missing field "bandwidthsHz"']);
});

test("a missing required field is named", () => {
  const c = clone(REGION) as Record<string, unknown>;
  delete c["operatorNotice"];
  assert.deepEqual(issues(c), ['missing field "operatorNotice"']);
});

test("an unknown kind, or a kind in the wrong folder, is refused", () => {
  assert.deepEqual(issues({ ...MODEM, kind: "radio" }), ['kind: must be one of "chip", "rnode", "sbc", "region", "modem", got "radio"']);
  assert.deepEqual(issues([1, 2]), ["must be a JSON object"]);
  const r = validateEntry(MODEM, "chip");
  assert.ok(!r.ok);
  assert.deepEqual(r.issues.map(formatSchemaIssue), ['kind: is "modem" but the file is in the folder of "chip" entries']);
});

test("ranges must be ordered and sub-bands need a power limit", () => {
  const b = clone(BOARD);
  b.variants[0]!.band = { minMHz: 950, maxMHz: 850 };
  assert.deepEqual(issues(b), ["variants[0].band: minMHz 950 must be below maxMHz 850"]);
  const r = clone(REGION);
  delete (r.subBands[0] as Record<string, unknown>)["maxErpDbm"];
  assert.deepEqual(issues(r), ["subBands[0]: needs at least one of maxConductedDbm, maxErpDbm, maxEirpDbm"]);
});

test("ids are lower-case words and board codes are hex bytes as Boards.h writes them", () => {
  assert.deepEqual(issues({ ...BOARD, id: "Test Board", boardCode: "51" }), [
    'id: must be an id of lower-case letters, digits, "-" and "." (at most 64), got "Test Board"',
    'boardCode: must be a byte in hex like "0xE8" (upper-case digits), got "51"',
  ]);
});

test("SBC wiring must match the header table and avoid reserved or reused lines", () => {
  const s = clone(SBC);
  s.buttons[0]!.line = 7;
  s.relays = [{ id: "r1", line: 2, headerPin: 3, activeLow: true }, { id: "r2", line: 5, headerPin: 29, activeLow: true }] as never;
  assert.deepEqual(issues(s), [
    "buttons[0].line: header pin 31 is line 6, not 7",
    "relays[0].line: line 2 is reserved (I2C1 SDA)",
    "relays[1].line: line 5 is already used by radioReset",
  ]);
});

test("the JSON reader gives each field's line and column and refuses duplicate keys", () => {
  const text = '{\n  "kind": "modem",\n  "id": "m",\n  "spreadingFactor": 13\n}\n';
  const p = parseJsonWithPositions(text);
  assert.ok(p.ok);
  assert.deepEqual(p.positions.get("spreadingFactor"), { line: 4, column: 3 });
  const dup = parseJsonWithPositions('{\n  "a": 1,\n  "a": 2\n}');
  assert.deepEqual(dup, { ok: false, line: 3, column: 3, message: 'duplicate key "a"' });
  assert.deepEqual(parseJsonWithPositions('{"a": [1, 2,]}'), { ok: false, line: 1, column: 13, message: 'unexpected "]"' });
  assert.equal(parseJsonWithPositions("[".repeat(40) + "]".repeat(40)).ok, false);
});

test("problems found in a file carry its name and the line of the field", () => {
  const text = JSON.stringify({ ...MODEM, spreadingFactor: 13 }, null, 2);
  const p = parseJsonWithPositions(text);
  assert.ok(p.ok);
  const r = buildCatalog([{ file: "modem/m.json", value: p.value, positions: p.positions }]);
  assert.ok(!r.ok);
  const line = text.split("\n").findIndex((l) => l.includes('"spreadingFactor"')) + 1;
  assert.deepEqual(r.issues.map(formatSchemaIssue), [`modem/m.json:${line}:3: spreadingFactor: must be a whole number from 5 to 12, got 13`]);
});

test("the validator never throws on random or mutated input", () => {
  let seed = 12345;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const junk = (depth: number): unknown => {
    const k = Math.floor(rand() * 8);
    if (depth > 3 || k < 3) return [null, true, -1, 1e308, "", "x", 0.5, "__proto__"][Math.floor(rand() * 8)];
    if (k < 5) return Array.from({ length: Math.floor(rand() * 4) }, () => junk(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, (_, i) => [["kind", "id", "variants", "subBands", "header", `k${i}`][Math.floor(rand() * 6)]!, junk(depth + 1)]));
  };
  const mutate = (v: unknown): unknown => {
    if (typeof v !== "object" || v === null) return rand() < 0.3 ? junk(2) : v;
    if (Array.isArray(v)) return v.map(mutate);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rand() < 0.15 ? junk(1) : mutate(x)]));
  };
  for (let i = 0; i < 3000; i++) {
    const base = [CHIP, BOARD, REGION, SBC, MODEM][i % 5]!;
    const value = i % 3 === 0 ? junk(0) : mutate(base);
    const r = validateEntry(value);
    if (r.ok) assertIsEntry(r.entry);
    else assert.ok(r.issues.length > 0 && r.issues.every((x: SchemaIssue) => typeof x.message === "string"));
  }
});

function assertIsEntry(e: BoardEntry): void {
  assert.ok(["chip", "rnode", "sbc", "region", "modem"].includes(e.kind) && typeof e.id === "string");
}
