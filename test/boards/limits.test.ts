// Radio settings against board and region limits (runtime/radio/limits.ts): each kind of refusal names the
// limit, the whole channel must fit, and the sub-band chosen is the one allowing the most airtime.
import { test } from "node:test";
import assert from "node:assert/strict";
import { builtinCatalog } from "../../boards/index.js";
import { checkRadioSettings, type LimitsInput, type RadioSettings } from "../../runtime/radio/limits.js";

const C = builtinCatalog();
const board = (id: string) => C.find("rnode", id)!;
const region = (id: string) => C.find("region", id)!;
const S = (o: Partial<RadioSettings> = {}): RadioSettings => ({ frequencyHz: 867_200_000, bandwidthHz: 125_000, txPowerDbm: 7, spreadingFactor: 8, codingRate: 5, ...o });

function refusals(input: LimitsInput): string[] {
  const r = checkRadioSettings(input);
  assert.equal(r.ok, false, "expected refusals");
  return r.ok ? [] : r.refusals.map((x) => `${x.field}: ${x.message}`);
}
function accepted(input: LimitsInput) {
  const r = checkRadioSettings(input);
  if (!r.ok) assert.fail(r.refusals.map((x) => x.message).join("\n"));
  return r;
}

test("settings inside the board and the region are accepted, with the model and sub-band they fall in", () => {
  const r = accepted({ settings: S(), board: board("lilygo-tbeam-sx1262"), region: region("eu868") });
  assert.deepEqual([r.variant?.model, r.subBand?.id, r.warnings], ["0xE8", "g", []]);
  assert.deepEqual(r.settings, S());
});

test("a frequency outside every band of the region is refused with the region's span", () => {
  assert.deepEqual(refusals({ settings: S({ frequencyHz: 915_000_000 }), region: region("eu868") }), [
    "frequency: frequency 915.000 MHz is outside every band of region eu868 (863.000-870.000 MHz)",
  ]);
});

test("a frequency between sub-bands is refused with the sub-bands listed", () => {
  const out = refusals({ settings: S({ frequencyHz: 868_650_000 }), region: region("eu868") });
  assert.equal(out.length, 1);
  assert.match(out[0]!, /^frequency: frequency 868\.650 MHz is in no sub-band of region eu868; its sub-bands are g-low 863\.0-865\.0 MHz, g 865\.0-868\.0 MHz, g1 868\.0-868\.6 MHz/);
});

test("tx power above a sub-band's e.r.p. limit names the sub-band and the region", () => {
  assert.deepEqual(refusals({ settings: S({ frequencyHz: 868_300_000, txPowerDbm: 22 }), region: region("eu868"), subBandId: "g1" }), [
    "txPower: tx power 22 dBm exceeds the 14 dBm ERP limit of sub-band g1 (868.0-868.6 MHz) in eu868",
  ]);
});

test("tx power above the board's maximum names the board", () => {
  assert.deepEqual(refusals({ settings: S({ frequencyHz: 915_000_000, txPowerDbm: 30 }), board: board("lilygo-tbeam-sx1262") }), [
    "txPower: tx power 30 dBm exceeds the board's maximum of 22 dBm (LilyGO T-Beam SX1262/SX1268)",
  ]);
});

test("tx power below what a PA board can set is refused, because its firmware would report another power", () => {
  assert.deepEqual(refusals({ settings: S({ frequencyHz: 868_100_000, txPowerDbm: 10 }), board: board("heltec-lora32-v4") }), [
    "txPower: tx power 10 dBm is below the board's minimum of 13 dBm (Heltec WiFi LoRa 32 v4 with PA): its firmware would set and report a higher power",
  ]);
});

test("the whole channel must fit inside the sub-band, not just its centre", () => {
  assert.deepEqual(refusals({ settings: S({ frequencyHz: 868_100_000, bandwidthHz: 500_000 }), region: region("eu868"), subBandId: "g1" }), [
    "bandwidth: bandwidth 500 kHz does not fit inside sub-band g1 (868.0-868.6 MHz) in eu868: at 868.100 MHz the channel spans 867.850-868.350 MHz",
  ]);
  // 250 kHz fits g3 only centred on 869.525 MHz.
  assert.equal(accepted({ settings: S({ frequencyHz: 869_525_000, bandwidthHz: 250_000, txPowerDbm: 20 }), region: region("eu868") }).subBand?.id, "g3");
  assert.equal(checkRadioSettings({ settings: S({ frequencyHz: 869_500_000, bandwidthHz: 250_000 }), region: region("eu868") }).ok, false);
});

test("the whole channel must also fit inside the board's band", () => {
  assert.deepEqual(refusals({ settings: S({ frequencyHz: 929_900_000, bandwidthHz: 500_000, txPowerDbm: 14 }), board: board("heltec-lora32-v4") }), [
    "bandwidth: bandwidth 500 kHz does not fit inside the 860.000-930.000 MHz band of the Heltec WiFi LoRa 32 v4 with PA: at 929.900 MHz the channel spans 929.650-930.150 MHz",
  ]);
  assert.deepEqual(refusals({ settings: S({ frequencyHz: 433_000_000, txPowerDbm: 14 }), board: board("heltec-lora32-v4") }), [
    "frequency: frequency 433.000 MHz is outside the bands of the Heltec WiFi LoRa 32 v4 with PA (860.000-930.000 MHz)",
  ]);
});

test("a bandwidth the chip would round, or a spreading factor it cannot use, is refused", () => {
  const out = refusals({ settings: S({ bandwidthHz: 100_000, spreadingFactor: 6 }), board: board("lilygo-tbeam-sx127x") });
  assert.deepEqual(out, [
    "bandwidth: bandwidth 100000 Hz is not one the Semtech SX1276 supports (7.8, 10.4, 15.6, 20.8, 31.25, 41.7, 62.5, 125, 250, 500 kHz); the firmware would round it up and report a different bandwidth",
    "spreadingFactor: spreading factor 6 is not supported with an explicit header (7-12 on the Semtech SX1276)",
  ]);
  assert.ok(checkRadioSettings({ settings: S({ spreadingFactor: 6 }), board: board("lilygo-tbeam-sx1262") }).ok, "SX1262 takes SF6");
});

test("bandwidth bounds of a sub-band are enforced both ways", () => {
  assert.deepEqual(refusals({ settings: S({ frequencyHz: 866_000_000, bandwidthHz: 250_000 }), region: region("in865") }), [
    "bandwidth: bandwidth 250 kHz is wider than the 200 kHz sub-band in-865-867 (865.0-867.0 MHz) in in865 allows",
  ]);
  assert.deepEqual(refusals({ settings: S({ frequencyHz: 915_000_000, bandwidthHz: 125_000, txPowerDbm: 20 }), region: region("us915"), subBandId: "dts" }), [
    "bandwidth: bandwidth 125 kHz is narrower than the 500 kHz sub-band dts (902.0-928.0 MHz) in us915 requires",
  ]);
});

test("conducted limits compare the TX power itself", () => {
  assert.deepEqual(refusals({ settings: S({ frequencyHz: 915_000_000, txPowerDbm: 31 }), region: region("us915") }), [
    "txPower: tx power 31 dBm exceeds the 30 dBm conducted limit of sub-band fhss-125 (902.0-928.0 MHz) in us915",
  ]);
});

test("EIRP and e.r.p. limits add the antenna gain, 2.15 dBi unless given", () => {
  assert.deepEqual(refusals({ settings: S({ frequencyHz: 920_000_000, txPowerDbm: 29 }), region: region("au915") }), [
    "txPower: tx power 29 dBm with a 2.15 dBi antenna (the default; antenna_gain sets it) is 31.1 dBm EIRP, above the 30 dBm EIRP limit of sub-band lipd-915 (915.0-928.0 MHz) in au915",
    "txPower: tx power 29 dBm with a 2.15 dBi antenna (the default; antenna_gain sets it) is 31.1 dBm EIRP over 125 kHz, above the 30.2 dBm that the 14 dBm per 3 kHz density limit of sub-band lipd-915 (915.0-928.0 MHz) in au915 allows",
  ]);
  assert.ok(checkRadioSettings({ settings: S({ frequencyHz: 920_000_000, txPowerDbm: 29 }), region: region("au915"), antennaGainDbi: 0 }).ok);
  assert.deepEqual(refusals({ settings: S({ txPowerDbm: 14 }), region: region("eu868"), antennaGainDbi: 6 }), [
    "txPower: tx power 14 dBm with a 6 dBi antenna is 17.9 dBm ERP, above the 14 dBm ERP limit of sub-band g (865.0-868.0 MHz) in eu868",
  ]);
});

test("a power density limit lowers the power allowed on narrow channels", () => {
  assert.deepEqual(refusals({ settings: S({ frequencyHz: 920_000_000, bandwidthHz: 62_500, txPowerDbm: 28 }), region: region("au915"), antennaGainDbi: 0 }), [
    "txPower: tx power 28 dBm with a 0 dBi antenna is 28 dBm EIRP over 62.5 kHz, above the 27.2 dBm that the 14 dBm per 3 kHz density limit of sub-band lipd-915 (915.0-928.0 MHz) in au915 allows",
  ]);
});

test("a named sub-band must exist and hold the frequency", () => {
  assert.deepEqual(refusals({ settings: S(), region: region("eu868"), subBandId: "g9" }), ['subBand: sub-band "g9" is not one of region eu868 (g-low, g, g1, g2, g3, g4, g4-5mw)']);
  assert.deepEqual(refusals({ settings: S(), region: region("eu868"), subBandId: "g1" }), ["frequency: frequency 867.200 MHz is outside sub-band g1 (868.0-868.6 MHz) in eu868"]);
});

test("of overlapping sub-bands that accept the settings, the one with the most airtime is chosen", () => {
  const at = (tx: number, bw = 125_000) => accepted({ settings: S({ frequencyHz: 869_850_000, txPowerDbm: tx, bandwidthHz: bw }), region: region("eu868") }).subBand;
  assert.deepEqual([at(7)?.id, at(7)?.dutyCyclePct], ["g4-5mw", 100]);
  assert.deepEqual([at(14)?.id, at(14)?.dutyCyclePct], ["g4", 1]);
  const eu433 = (bw: number) => accepted({ settings: S({ frequencyHz: 434_500_000, txPowerDbm: 10, bandwidthHz: bw }), region: region("eu433") }).subBand?.id;
  assert.deepEqual([eu433(20_800), eu433(125_000)], ["f2", "f"]);
});

test("when every candidate sub-band refuses, each one's refusal is reported", () => {
  assert.deepEqual(refusals({ settings: S({ frequencyHz: 869_850_000, txPowerDbm: 20 }), region: region("eu868") }), [
    "txPower: tx power 20 dBm exceeds the 14 dBm ERP limit of sub-band g4 (869.7-870.0 MHz) in eu868",
    "txPower: tx power 20 dBm exceeds the 7 dBm ERP limit of sub-band g4-5mw (869.7-870.0 MHz) in eu868",
  ]);
});

test("a sub-band's caution and a frame longer than its dwell time are warnings, not refusals", () => {
  const r = accepted({ settings: S({ frequencyHz: 915_000_000, spreadingFactor: 10, txPowerDbm: 20 }), board: board("rak4631"), region: region("us915") });
  assert.equal(r.subBand?.id, "fhss-125");
  assert.deepEqual(r.warnings.map((w) => w.field), ["subBand", "spreadingFactor"]);
  assert.match(r.warnings[0]!.message, /^sub-band fhss-125 \(902\.0-928\.0 MHz\) in us915: FCC 15\.247 allows up to 1 W below 500 kHz bandwidth only to frequency-hopping systems/);
  assert.equal(r.warnings[1]!.message, "a full 255-byte LoRa frame takes 2378 ms at SF10/125 kHz, longer than the 400 ms per 20 s dwell time of sub-band fhss-125 (902.0-928.0 MHz) in us915");
  const fast = accepted({ settings: S({ frequencyHz: 915_000_000, spreadingFactor: 7, bandwidthHz: 500_000, txPowerDbm: 20 }), region: region("us915") });
  assert.deepEqual([fast.subBand?.id, fast.warnings], ["dts", []]);
});

test("values outside what RNS accepts are refused before any other check", () => {
  assert.deepEqual(refusals({ settings: S({ spreadingFactor: 13, codingRate: 4 }), board: board("rak4631"), region: region("eu868") }), [
    "spreadingFactor: spreading factor 13 is outside 5-12",
    "codingRate: coding rate 4 is outside 5-8",
  ]);
});

test("every board and every region refuses nothing it should accept: each board's own band centre at low power", () => {
  for (const b of C.list("rnode")) {
    for (const v of b.variants) {
      const centre = Math.round(((v.band.minMHz + v.band.maxMHz) / 2) * 1e6);
      const bw = v.chip.bandwidthsHz.includes(125_000) ? 125_000 : v.chip.bandwidthsHz[0]!;
      const r = checkRadioSettings({ settings: S({ frequencyHz: centre, bandwidthHz: bw, txPowerDbm: v.minTxPowerDbm, spreadingFactor: 8 }), board: b });
      assert.ok(r.ok, `${b.id} ${v.model}: ${r.ok ? "" : r.refusals.map((x) => x.message).join("; ")}`);
    }
  }
});
