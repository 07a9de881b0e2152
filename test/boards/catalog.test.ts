// The shipped board data (boards/*/*.json) through the loader (boards/index.ts): every file valid, every
// cross-reference checked, the built-in copy identical to the files, and the facts the radio code relies on.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { BUILTIN_FILES } from "../../boards/catalog.js";
import { buildCatalog, builtinCatalog, formatSchemaIssue, loadCatalogFromDir, type BoardCatalog, type DataFile } from "../../boards/index.js";
import { REPO_ROOT } from "../helpers.js";

const DIR = path.join(REPO_ROOT, "boards");

function fromDir(): BoardCatalog {
  const r = loadCatalogFromDir(DIR);
  assert.ok(r.ok, r.ok ? "" : r.issues.map(formatSchemaIssue).join("\n"));
  return r.catalog;
}

test("every shipped data file is valid and every cross-reference holds", () => {
  const c = fromDir();
  assert.ok(c.list("rnode").length >= 20 && c.list("region").length >= 8 && c.list("modem").length >= 12 && c.list("sbc").length >= 4);
});

test("catalog.ts lists exactly the data files on disk, and the built-in copy equals them", () => {
  const onDisk = ["chip", "rnode", "sbc", "region", "modem"].flatMap((k) => fs.readdirSync(path.join(DIR, k)).filter((f) => f.endsWith(".json")).map((f) => `${k}/${f}`)).sort();
  const listed = BUILTIN_FILES.map((f) => f.file).sort();
  assert.deepEqual(listed, onDisk, "add an import line to boards/catalog.ts for each new file");
  for (const f of BUILTIN_FILES) assert.deepEqual(f.value, JSON.parse(fs.readFileSync(path.join(DIR, f.file), "utf8")), f.file);
  const a = fromDir();
  const b = builtinCatalog();
  for (const kind of ["chip", "rnode", "sbc", "region", "modem"] as const) assert.deepEqual(b.list(kind), a.list(kind));
});

test("the boards and regions the brief names are there", () => {
  const c = builtinCatalog();
  for (const id of ["lilygo-tbeam-sx127x", "lilygo-tbeam-sx1262", "lilygo-lora32-v2.1", "lilygo-t3s3-sx1262", "lilygo-t3s3-sx1280", "heltec-lora32-v3", "rak4631", "rnode-v1", "rnode-v2.0", "rnode-v2.1"]) {
    assert.ok(c.find("rnode", id), id);
  }
  for (const id of ["eu868", "eu433", "us915", "au915", "as923", "in865", "kr920", "jp920"]) assert.ok(c.find("region", id), id);
  for (const id of ["raspberry-pi-4", "raspberry-pi-5", "raspberry-pi-zero-2-w", "raspberry-pi-3b-plus"]) assert.ok(c.find("sbc", id), id);
  for (const id of ["long-fast", "short-turbo", "sf7-bw125-cr45", "sf12-bw125-cr48"]) assert.ok(c.find("modem", id), id);
});

test("lookups take ids and aliases in any case, with _ or - or spaces", () => {
  const c = builtinCatalog();
  assert.equal(c.find("modem", "LONG_FAST")?.id, "long-fast");
  assert.equal(c.find("modem", "LongFast")?.id, "long-fast");
  assert.equal(c.find("rnode", "T-Beam SX1262")?.id, "lilygo-tbeam-sx1262");
  assert.equal(c.find("region", "EU868")?.id, "eu868");
  assert.equal(c.find("rnode", "nonexistent"), undefined);
  assert.equal(c.suggest("region", "eu686"), "eu868");
});

test("every region cites its regulation and tells operators to check local rules", () => {
  for (const r of builtinCatalog().list("region")) {
    assert.ok(r.regulation.length > 0 && r.sources.length > 0, r.id);
    assert.match(r.operatorNotice, /check the rules/, r.id);
    assert.equal(r.dutyCycleWindowMs, 3_600_000, r.id);
  }
});

test("the EU 868 plan holds the ETSI/ERC sub-bands with their powers and duty cycles", () => {
  const eu = builtinCatalog().find("region", "eu868")!;
  const plan = Object.fromEntries(eu.subBands.map((b) => [b.id, [b.minHz, b.maxHz, b.maxErpDbm, b.dutyCyclePct]]));
  assert.deepEqual(plan, {
    "g-low": [863_000_000, 865_000_000, 14, 0.1],
    g: [865_000_000, 868_000_000, 14, 1],
    g1: [868_000_000, 868_600_000, 14, 1],
    g2: [868_700_000, 869_200_000, 14, 0.1],
    g3: [869_400_000, 869_650_000, 27, 10],
    g4: [869_700_000, 870_000_000, 14, 1],
    "g4-5mw": [869_700_000, 870_000_000, 7, 100],
  });
  const eu433 = builtinCatalog().find("region", "eu433")!;
  assert.deepEqual(eu433.subBands.map((b) => [b.id, b.minHz, b.maxHz, b.maxErpDbm, b.dutyCyclePct]), [["f", 433_050_000, 434_790_000, 10, 10], ["f2", 434_040_000, 434_790_000, 10, 100]]);
});

test("board power limits follow the firmware's clamps", () => {
  const c = builtinCatalog();
  const max = (id: string): number[] => c.find("rnode", id)!.variants.map((v) => v.maxTxPowerDbm);
  assert.deepEqual(max("lilygo-tbeam-sx1262"), [22, 22]);
  assert.deepEqual(max("lilygo-tbeam-sx127x"), [17, 17]);
  assert.deepEqual(max("rnode-v1"), [14, 17]);
  assert.deepEqual(max("lilygo-t3s3-sx1280"), [20]);
  const v4 = c.find("rnode", "heltec-lora32-v4")!.variants[0]!;
  assert.deepEqual([v4.minTxPowerDbm, v4.maxTxPowerDbm, v4.chip.id], [13, 28, "sx1262"]);
});

function withFile(file: string, edit: (v: Record<string, unknown>) => void, extra: DataFile[] = []): string[] {
  const files = BUILTIN_FILES.map((f) => (f.file === file ? { file: f.file, value: structuredClone(f.value) } : f));
  edit(files.find((f) => f.file === file)!.value as Record<string, unknown>);
  const r = buildCatalog([...files, ...extra]);
  assert.ok(!r.ok, "expected a cross-reference error");
  return r.issues.map(formatSchemaIssue);
}

test("a board naming a chip that does not exist is refused", () => {
  const out = withFile("rnode/rak4631.json", (v) => ((v["variants"] as { chip: string }[])[0]!.chip = "sx1261"));
  assert.equal(out.length, 1);
  assert.match(out[0]!, /^rnode\/rak4631\.json: variants\[0\]\.chip: no chip "sx1261" under chip\//);
});

test("a band outside the chip's range, or more power than the chip gives, is refused", () => {
  const out = withFile("rnode/rak4631.json", (v) => {
    const x = (v["variants"] as { band: { maxMHz: number }; maxTxPowerDbm: number }[])[1]!;
    x.band.maxMHz = 1000;
    x.maxTxPowerDbm = 30;
  });
  assert.deepEqual(out, [
    "rnode/rak4631.json: variants[1].band: 779-1000 MHz is outside the Semtech SX1262's 150-960 MHz",
    "rnode/rak4631.json: variants[1].maxTxPowerDbm: 30 dBm is above the 22 dBm the Semtech SX1262 can deliver",
  ]);
});

test("model codes, ids and aliases are unique, and a file is named after its id", () => {
  const copy: DataFile = { file: "rnode/copy.json", value: { ...structuredClone(BUILTIN_FILES.find((f) => f.file === "rnode/rak4631.json")!.value as object), id: "copy", aliases: ["wisblock-rak4631"] } };
  const out = withFile("region/eu868.json", (v) => (v["id"] = "eu869"), [copy]);
  assert.deepEqual(out, [
    'region/eu868.json: id: is "eu869" but the file is named eu868.json; name the file after the id',
    'rnode/copy.json: aliases[0]: "wisblock-rak4631" is already a name of rnode "rak4631"',
    'rnode/copy.json: variants[0].model: model 0x11 is already a model of rnode "rak4631"',
    'rnode/copy.json: variants[1].model: model 0x12 is already a model of rnode "rak4631"',
  ]);
});

test("a file outside the kind folders is refused", () => {
  const r = buildCatalog([{ file: "misc/x.json", value: {} }]);
  assert.ok(!r.ok);
  assert.deepEqual(r.issues.map(formatSchemaIssue), ["misc/x.json: is not in a folder of entries (chip, rnode, sbc, region, modem)"]);
});
