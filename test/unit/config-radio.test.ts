// RNodeInterface's board, region, sub_band, modem_preset and antenna_gain options (runtime/host/config/radio.ts):
// names resolve against the built-in board data, and settings outside a limit stop the config with the limit
// named on the line of the option it is about, in kosd --check-config too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { formatIssue, loadConfigText, type ConfigHost, type LoadResult } from "../../runtime/host/config/load.js";
import type { RNodeConfig } from "../../runtime/host/config/schema.js";
import { REPO_ROOT } from "../helpers.js";

const HOST: ConfigHost = { env: {}, cwd: "/work", homeDir: "/home/op", readText: () => ({ ok: false, message: "no such file" }) };

/** A config whose RNode stanza starts on line 2; option lines follow from line 4 (type, enabled, port first). */
function radio(options: string): string {
  return `[interfaces]\n  [[Radio]]\n    type = RNodeInterface\n    enabled = yes\n    port = /dev/ttyUSB0\n${options
    .trim()
    .split("\n")
    .map((l) => `    ${l.trim()}`)
    .join("\n")}\n`;
}
const load = (text: string): LoadResult => loadConfigText(text, "kosd.conf", {}, HOST);
function errors(options: string): string[] {
  const r = load(radio(options));
  assert.equal(r.ok, false, "expected the config to be refused");
  return r.ok ? [] : r.errors.map(formatIssue);
}
function rnode(options: string): { config: RNodeConfig; warnings: string[] } {
  const r = load(radio(options));
  if (!r.ok) assert.fail(r.errors.map(formatIssue).join("\n"));
  const c = r.config.interfaces[0]!;
  assert.ok(c.type === "RNodeInterface");
  return { config: c, warnings: r.warnings.map(formatIssue) };
}

const EU = `
frequency = 867200000
bandwidth = 125000
txpower = 7
spreadingfactor = 8
codingrate = 5`;

test("without board, region or preset an RNode is checked as before and records no profile", () => {
  const { config } = rnode(EU);
  assert.deepEqual(config.radio, { board: null, region: null, subBand: null, modemPreset: null, antennaGainDbi: null, dutyCyclePct: null });
});

test("settings inside the board's and region's limits load, with the sub-band and its duty cycle recorded", () => {
  const { config, warnings } = rnode(`${EU}\nboard = T-Beam-SX1262\nregion = EU868\nantenna_gain = 3`);
  assert.deepEqual(config.radio, { board: "lilygo-tbeam-sx1262", region: "eu868", subBand: "g", modemPreset: null, antennaGainDbi: 3, dutyCyclePct: 1 });
  assert.deepEqual(warnings, []);
});

test("a frequency outside the region is refused on the frequency's line", () => {
  assert.deepEqual(errors(EU.replace("867200000", "915000000") + "\nregion = eu868"), [
    "kosd.conf:6: frequency 915.000 MHz is outside every band of region eu868 (863.000-870.000 MHz)",
  ]);
});

test("tx power above a sub-band's limit and above the board's maximum are refused on the txpower line", () => {
  assert.deepEqual(errors(EU.replace("867200000", "868300000").replace("txpower = 7", "txpower = 30") + "\nregion = eu868\nsub_band = g1\nboard = lilygo-tbeam-sx1262"), [
    "kosd.conf:8: tx power 30 dBm exceeds the board's maximum of 22 dBm (LilyGO T-Beam SX1262/SX1268)",
    "kosd.conf:8: tx power 30 dBm exceeds the 14 dBm ERP limit of sub-band g1 (868.0-868.6 MHz) in eu868",
  ]);
});

test("a bandwidth that does not fit the sub-band is refused on the bandwidth line", () => {
  assert.deepEqual(errors(EU.replace("867200000", "868100000").replace("125000", "500000") + "\nregion = eu868"), [
    "kosd.conf:7: bandwidth 500 kHz does not fit inside sub-band g1 (868.0-868.6 MHz) in eu868: at 868.100 MHz the channel spans 867.850-868.350 MHz",
  ]);
});

test("a limit broken by a default or a preset is reported on the line that brought it in", () => {
  // txpower defaults to 0, below what the Heltec v4's PA can set: reported on the board line.
  assert.deepEqual(errors("frequency = 868100000\nbandwidth = 125000\nspreadingfactor = 8\ncodingrate = 5\nboard = heltec-lora32-v4"), [
    "kosd.conf:10: tx power 0 dBm is below the board's minimum of 13 dBm (Heltec WiFi LoRa 32 v4 with PA): its firmware would set and report a higher power",
  ]);
  // short-turbo's 500 kHz does not fit g1: reported on the modem_preset line.
  assert.match(errors("frequency = 868100000\nmodem_preset = short-turbo\nregion = eu868")[0]!, /^kosd\.conf:7: bandwidth 500 kHz does not fit inside sub-band g1/);
});

test("a modem preset fills in spreading factor, bandwidth and coding rate", () => {
  const { config } = rnode("frequency = 869525000\ntxpower = 20\nmodem_preset = LONG_FAST\nregion = eu868");
  assert.deepEqual([config.spreadingFactor, config.bandwidthHz, config.codingRate, config.radio.modemPreset, config.radio.subBand], [11, 250_000, 5, "long-fast", "g3"]);
});

test("a modem preset and an explicit value must agree", () => {
  assert.deepEqual(errors(`${EU}\nmodem_preset = long-fast`), [
    "kosd.conf:7: bandwidth 125000 differs from modem_preset long-fast (bandwidth 250000); remove one",
    "kosd.conf:9: spreadingfactor 8 differs from modem_preset long-fast (spreading factor 11); remove one",
  ]);
  assert.equal(rnode(`${EU}\nmodem_preset = sf8-bw125-cr45`).config.radio.modemPreset, "sf8-bw125-cr45");
});

test("unknown names are errors on their line, with the nearest known name", () => {
  const out = errors(`${EU}\nboard = lilygo-tbeam-sx1626\nregion = eu686\nmodem_preset = long-fsat`);
  assert.equal(out.length, 3);
  assert.match(out[0]!, /^kosd\.conf:11: board: unknown RNode board "lilygo-tbeam-sx1626"; did you mean "lilygo-tbeam-sx1262"\? \(known: heltec-lora32-v2, /);
  assert.match(out[1]!, /^kosd\.conf:12: region: unknown region "eu686"; did you mean "eu868"\? \(known: as923, au915, eu433, eu868, in865, jp920, kr920, us915\)$/);
  assert.match(out[2]!, /^kosd\.conf:13: modem_preset: unknown modem preset "long-fsat"; did you mean "long-fast"\?/);
});

test("sub_band needs region, and antenna_gain without region only warns", () => {
  assert.deepEqual(errors(`${EU}\nsub_band = g1`), ["kosd.conf:11: sub_band needs region: a sub-band is part of a region's frequency plan"]);
  const { warnings } = rnode(`${EU}\nantenna_gain = 5`);
  assert.deepEqual(warnings, ["kosd.conf:11: antenna_gain has no effect without region: it only turns TX power into radiated power for the region's limits"]);
});

test("a sub-band's caution and a long frame for its dwell time are warnings that do not stop kosd", () => {
  const { config, warnings } = rnode("frequency = 915000000\nbandwidth = 125000\ntxpower = 20\nspreadingfactor = 10\ncodingrate = 5\nregion = us915");
  assert.equal(config.radio.subBand, "fhss-125");
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /^kosd\.conf:9: a full 255-byte LoRa frame takes 2378 ms/);
  assert.match(warnings[1]!, /^kosd\.conf:11: sub-band fhss-125 \(902\.0-928\.0 MHz\) in us915: FCC 15\.247/);
});

test("a disabled interface is still checked against its limits", () => {
  const text = radio(EU.replace("867200000", "915000000") + "\nregion = eu868").replace("enabled = yes", "enabled = no");
  const r = load(text);
  assert.ok(!r.ok);
  assert.deepEqual(r.errors.map(formatIssue), ["kosd.conf:6: frequency 915.000 MHz is outside every band of region eu868 (863.000-870.000 MHz)"]);
});

test("a setting that is already invalid is reported alone, without limit checks on top", () => {
  assert.deepEqual(errors(EU.replace("spreadingfactor = 8", "spreadingfactor = 14") + "\nregion = eu868"), [
    'kosd.conf:9: spreadingfactor must be a spreading factor from 5 to 12, got "14"',
  ]);
});

test("kosd --check-config prints each refusal as file:line: message and exits 1", (t) => {
  const bundle = path.join(REPO_ROOT, "dist", "kosd.cjs");
  if (!fs.existsSync(bundle)) {
    t.skip("dist/kosd.cjs is not built (npm test builds it)");
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kos-radio-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, "kosd.conf"), radio(EU.replace("867200000", "915000000") + "\nregion = eu868\nboard = rak4631"));
  const r = spawnSync(process.execPath, [bundle, "--config", "kosd.conf", "--check-config"], { cwd: dir, encoding: "utf8", timeout: 20_000, env: { ...process.env, KOS_DATA_DIR: dir } });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, "kosd: kosd.conf:6: frequency 915.000 MHz is outside every band of region eu868 (863.000-870.000 MHz)\n");
  fs.writeFileSync(path.join(dir, "kosd.conf"), radio(EU + "\nregion = eu868\nboard = rak4631"));
  const ok = spawnSync(process.execPath, [bundle, "--config", "kosd.conf", "--check-config"], { cwd: dir, encoding: "utf8", timeout: 20_000, env: { ...process.env, KOS_DATA_DIR: dir } });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /kosd\.conf: ok, 1 interface\(s\)/);
});
