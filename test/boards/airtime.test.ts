// LoRa airtime (runtime/radio/airtime.ts): the textbook formula against published figures, the RNode
// firmware's preamble and two-frame split, and the 500-byte pins in REFERENCE-NOTES.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  RNODE_AIR, loraFrameAirtimeMs, lowDataRateOptimize, programmedPreambleSymbols, rnodeBitrateBps, rnodeFrameLengths,
  rnodePacketAirtimeMs, rnodePreambleSymbols, symbolTimeMs, textbookAirtimeMs,
} from "../../runtime/radio/airtime.js";

const SF7 = { spreadingFactor: 7, bandwidthHz: 125_000, codingRate: 5 };
const SF12 = { spreadingFactor: 12, bandwidthHz: 125_000, codingRate: 5 };
const close = (a: number, b: number, tol = 1e-6): void => assert.ok(Math.abs(a - b) <= tol, `${a} is not ${b}`);

test("the textbook formula matches published time-on-air figures", () => {
  // Semtech's calculator / LoRaWAN airtime tables: 8-symbol preamble, explicit header, CRC on.
  close(loraFrameAirtimeMs(13, SF7, { preambleSymbols: 8 }), 46.336);
  close(loraFrameAirtimeMs(51, SF12, { preambleSymbols: 8 }), 2465.792);
  close(loraFrameAirtimeMs(12, { spreadingFactor: 9, bandwidthHz: 125_000, codingRate: 5 }, { preambleSymbols: 8 }), 144.384);
});

test("symbol time is 2^SF over the bandwidth", () => {
  close(symbolTimeMs(SF7), 1.024);
  close(symbolTimeMs(SF12), 32.768);
});

test("low data rate optimisation follows the firmware's integer rule", () => {
  assert.equal(lowDataRateOptimize(SF12), true);
  assert.equal(lowDataRateOptimize({ ...SF12, spreadingFactor: 11 }), false, "2048/125 truncates to 16, not above 16");
  assert.equal(lowDataRateOptimize({ spreadingFactor: 11, bandwidthHz: 62_500, codingRate: 5 }), true);
});

test("the firmware's preamble is about 24 ms and never under 18 symbols", () => {
  assert.equal(rnodePreambleSymbols(SF7), 24);
  assert.equal(rnodePreambleSymbols(SF12), 18);
  assert.equal(rnodePreambleSymbols({ spreadingFactor: 7, bandwidthHz: 500_000, codingRate: 5 }), 94);
  // Above 30 kbit/s the target drops to 6 ms: SF5 at 500 kHz is 62.5 kbit/s.
  assert.ok(rnodeBitrateBps({ spreadingFactor: 5, bandwidthHz: 500_000, codingRate: 5 }) > 30_000);
  assert.equal(rnodePreambleSymbols({ spreadingFactor: 5, bandwidthHz: 500_000, codingRate: 5 }), 94);
});

test("packets over 254 bytes go out as a 255-byte frame and the rest, each with a header byte", () => {
  assert.deepEqual(rnodeFrameLengths(1), [2]);
  assert.deepEqual(rnodeFrameLengths(254), [255]);
  assert.deepEqual(rnodeFrameLengths(255), [255, 2]);
  assert.deepEqual(rnodeFrameLengths(500), [255, 247]);
  assert.deepEqual(rnodeFrameLengths(RNODE_AIR.mtuBytes), [255, 255]);
  assert.throws(() => rnodeFrameLengths(509), RangeError);
  assert.throws(() => rnodeFrameLengths(0), RangeError);
});

test("an SX127x gets the firmware's preamble count minus 4 in its register, an SX126x the count itself", () => {
  assert.equal(programmedPreambleSymbols(24, "sx127x"), 20);
  assert.equal(programmedPreambleSymbols(24, "sx126x"), 24);
  // Four symbols per frame: two frames at SF7 differ by 8 x 1.024 ms.
  close(rnodePacketAirtimeMs(500, SF7, "sx126x") - rnodePacketAirtimeMs(500, SF7, "sx127x"), 8 * 1.024);
});

test("a 500-byte packet at SF7/125 kHz/CR 4/5 takes about 814 ms on an SX1276, 4-9 % over the single-frame textbook figure", () => {
  const ms = rnodePacketAirtimeMs(500, SF7, "sx127x");
  close(ms, 813.568, 0.001);
  assert.ok(Math.abs(ms - 814) / 814 < 0.005, `${ms} ms is within 0.5 % of 814 ms`);
  for (const chip of ["sx127x", "sx126x"] as const) {
    const ratio = rnodePacketAirtimeMs(500, SF7, chip) / textbookAirtimeMs(500, SF7);
    assert.ok(ratio >= 1.04 && ratio <= 1.09, `${chip}: ratio ${ratio}`);
  }
});

test("a 500-byte packet at SF12/125 kHz/CR 4/5 takes about 18.3 s on an SX1276, 4-9 % over the textbook figure", () => {
  const ms = rnodePacketAirtimeMs(500, SF12, "sx127x");
  assert.ok(Math.abs(ms - 18_300) / 18_300 < 0.005, `${ms} ms is within 0.5 % of 18.3 s`);
  for (const chip of ["sx127x", "sx126x"] as const) {
    const ratio = rnodePacketAirtimeMs(500, SF12, chip) / textbookAirtimeMs(500, SF12);
    assert.ok(ratio >= 1.04 && ratio <= 1.09, `${chip}: ratio ${ratio}`);
  }
});

test("the SX1280 uses low data rate optimisation above SF10", () => {
  const m = { spreadingFactor: 11, bandwidthHz: 812_500, codingRate: 5 };
  assert.deepEqual([lowDataRateOptimize(m, "sx128x"), lowDataRateOptimize(m, "sx126x")], [true, false]);
  assert.ok(rnodePacketAirtimeMs(200, m, "sx128x") > rnodePacketAirtimeMs(200, m, "sx126x"));
});

test("a promiscuous raw frame is one frame without a header byte", () => {
  close(rnodePacketAirtimeMs(100, SF7, "sx126x", true), loraFrameAirtimeMs(100, SF7, { preambleSymbols: 24 }));
});

test("SF5 and SF6 use the SX126x variant of the formula", () => {
  // SX1262 datasheet 6.1.4: Npre + 6.25 + 8 + ceil((8*PL + 16 - 4*SF + 20) / (4*SF)) * (CR + 4).
  const m = { spreadingFactor: 5, bandwidthHz: 500_000, codingRate: 5 };
  close(loraFrameAirtimeMs(10, m, { preambleSymbols: 8 }), (8 + 6.25 + 8 + Math.ceil((80 + 16 - 20 + 20) / 20) * 5) * symbolTimeMs(m));
});

test("bad modulation parameters are local misuse and throw", () => {
  assert.throws(() => symbolTimeMs({ spreadingFactor: 13, bandwidthHz: 125_000, codingRate: 5 }), RangeError);
  assert.throws(() => loraFrameAirtimeMs(10, { ...SF7, codingRate: 4 }, { preambleSymbols: 8 }), RangeError);
  assert.throws(() => loraFrameAirtimeMs(-1, SF7, { preambleSymbols: 8 }), RangeError);
});
