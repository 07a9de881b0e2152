// The radio medium model: RNode airtime (REFERENCE-NOTES figures), collisions and capture, partitions and
// range, silence between radios on different settings, seeded loss. Pure: a virtual clock, no timers.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  loraFrameAirtimeMs,
  lowDataRateOptimize,
  rnodeFrameLengths,
  rnodePacketAirtimeMs,
  rnodePreambleSymbols,
  textbookAirtimeMs,
} from "../../hil/medium/airtime.js";
import { Medium, type Outcome, type RadioSettings } from "../../hil/medium/medium.js";

const SF7: RadioSettings = { frequencyHz: 868_000_000, bandwidthHz: 125_000, spreadingFactor: 7, codingRate: 5, txPowerDbm: 17 };
const bytes = (n: number, fill = 0x42): Uint8Array => new Uint8Array(n).fill(fill);

function outcomeFor(settled: ReturnType<Medium["settle"]>, txId: number, radio: string): Outcome {
  const s = settled.find((x) => x.transmission.id === txId);
  assert.ok(s, `transmission ${txId} settled`);
  const o = s.outcomes.find((x) => x.radioId === radio);
  assert.ok(o, `outcome for ${radio}`);
  return o;
}

function threeRadios(options: ConstructorParameters<typeof Medium>[0] = {}): Medium {
  const m = new Medium(options);
  for (const id of ["a", "b", "c"]) m.addRadio(id, SF7);
  return m;
}

test("a 500-byte packet at SF7/125 kHz/CR 4/5 takes about 814 ms, 4-9 % above the textbook single frame", () => {
  const t = rnodePacketAirtimeMs(500, SF7);
  assert.ok(Math.abs(t - 814) / 814 < 0.005, `airtime ${t.toFixed(1)} ms, expected 814 ms within 0.5 %`);
  const ratio = t / textbookAirtimeMs(500, SF7);
  assert.ok(ratio >= 1.04 && ratio <= 1.09, `ratio to the textbook figure ${ratio.toFixed(3)}`);
  assert.ok(Math.abs(1000 / t - 1.23) < 0.01, `${(1000 / t).toFixed(3)} packets/s`);
});

test("a 500-byte packet at SF12/125 kHz/CR 4/5 takes about 18.3 s, 4-9 % above the textbook single frame", () => {
  const m = { ...SF7, spreadingFactor: 12 };
  const t = rnodePacketAirtimeMs(500, m);
  assert.ok(Math.abs(t - 18_300) / 18_300 < 0.005, `airtime ${t.toFixed(0)} ms, expected 18.3 s within 0.5 %`);
  const ratio = t / textbookAirtimeMs(500, m);
  assert.ok(ratio >= 1.04 && ratio <= 1.09, `ratio to the textbook figure ${ratio.toFixed(3)}`);
});

test("the firmware splits packets over 254 bytes into two frames, each with a one-byte header", () => {
  assert.deepEqual(rnodeFrameLengths(1), [2]);
  assert.deepEqual(rnodeFrameLengths(254), [255]);
  assert.deepEqual(rnodeFrameLengths(255), [255, 2]);
  assert.deepEqual(rnodeFrameLengths(500), [255, 247]);
  assert.deepEqual(rnodeFrameLengths(508), [255, 255]);
  assert.throws(() => rnodeFrameLengths(509), RangeError);
  assert.throws(() => rnodeFrameLengths(0), RangeError);
  // The second frame costs a second preamble and header: 255 bytes take clearly longer than 254.
  assert.ok(rnodePacketAirtimeMs(255, SF7) - rnodePacketAirtimeMs(254, SF7) > 20);
});

test("preamble follows the firmware: 24 ms of symbols, at least 18, 6 ms above 30 kbit/s", () => {
  assert.equal(rnodePreambleSymbols(SF7), 24); // 24 ms / 1.024 ms = 23.4 -> 24
  assert.equal(rnodePreambleSymbols({ ...SF7, spreadingFactor: 12 }), 18);
  assert.equal(rnodePreambleSymbols({ ...SF7, bandwidthHz: 500_000 }), 94); // 21.9 kbit/s: not fast
  assert.equal(rnodePreambleSymbols({ ...SF7, spreadingFactor: 6, bandwidthHz: 500_000 }), 47); // 37.5 kbit/s: 6 ms / 0.128 ms
});

test("low data rate optimisation uses the firmware's truncated rule", () => {
  assert.equal(lowDataRateOptimize({ ...SF7, spreadingFactor: 12 }), true);
  assert.equal(lowDataRateOptimize({ ...SF7, spreadingFactor: 11 }), false); // long(16.384) > 16 is false
  assert.equal(lowDataRateOptimize({ ...SF7, spreadingFactor: 11, bandwidthHz: 62_500 }), true);
  assert.equal(lowDataRateOptimize(SF7), false);
  assert.equal(lowDataRateOptimize({ ...SF7, spreadingFactor: 8, bandwidthHz: 15_600 }), true); // 256 / 15 = 17 in C
});

test("frame airtime matches the datasheet formula for known cases", () => {
  // SX1276 calculator: SF7, 125 kHz, CR 4/5, 8-symbol preamble, explicit header, CRC, 10 bytes -> 41.2 ms.
  assert.ok(Math.abs(loraFrameAirtimeMs(10, SF7, { preambleSymbols: 8 }) - 41.216) < 0.01);
  // SF12/125 kHz with low data rate optimisation, 20 bytes: 40.25 symbols, 1318.9 ms.
  assert.ok(Math.abs(loraFrameAirtimeMs(20, { ...SF7, spreadingFactor: 12 }, { preambleSymbols: 8 }) - 1318.912) < 0.01);
});

test("transmit returns when the packet ends; settle names who received it with RSSI and SNR", () => {
  const m = threeRadios({ defaultPathLossDb: 110 });
  m.setLink("a", "c", { pathLossDb: 130 });
  const t = m.transmit("a", bytes(100), 1000);
  assert.equal(t.startMs, 1000);
  assert.equal(t.endMs, 1000 + rnodePacketAirtimeMs(100, SF7));
  assert.equal(m.nextEndMs(), t.endMs);
  assert.deepEqual(m.settle(t.endMs - 1), []);
  const settled = m.settle(t.endMs);
  assert.equal(settled.length, 1);
  const noise = m.noiseFloorDbm(125_000);
  assert.deepEqual(outcomeFor(settled, t.id, "b"), { radioId: "b", received: true, rssiDbm: -93, snrDb: -93 - noise });
  assert.deepEqual(outcomeFor(settled, t.id, "c"), { radioId: "c", received: true, rssiDbm: -113, snrDb: -113 - noise });
  assert.equal(m.nextEndMs(), null);
});

test("overlapping packets on one channel collide at a receiver that hears both", () => {
  const m = threeRadios();
  const t1 = m.transmit("a", bytes(50), 0);
  const t2 = m.transmit("b", bytes(50), 10);
  const s = m.settle(10_000);
  assert.equal(outcomeFor(s, t1.id, "c").received, false);
  assert.equal((outcomeFor(s, t1.id, "c") as { reason: string }).reason, "collision");
  assert.equal((outcomeFor(s, t2.id, "c") as { reason: string }).reason, "collision");
  // a and b were both transmitting: half duplex, they miss each other.
  assert.equal((outcomeFor(s, t1.id, "b") as { reason: string }).reason, "half-duplex");
});

test("packets back to back do not collide", () => {
  const m = threeRadios();
  const t1 = m.transmit("a", bytes(50), 0);
  const t2 = m.transmit("b", bytes(50), t1.endMs);
  const s = m.settle(t2.endMs);
  assert.equal(outcomeFor(s, t1.id, "c").received, true);
  assert.equal(outcomeFor(s, t2.id, "c").received, true);
  assert.equal(outcomeFor(s, t2.id, "a").received, true);
});

test("with a capture threshold the stronger packet survives an overlap and the weaker is lost", () => {
  const m = threeRadios({ captureThresholdDb: 6 });
  m.setLink("a", "c", { pathLossDb: 100 });
  m.setLink("b", "c", { pathLossDb: 110 });
  const strong = m.transmit("a", bytes(50), 0);
  const weak = m.transmit("b", bytes(50), 5);
  const s = m.settle(10_000);
  assert.equal(outcomeFor(s, strong.id, "c").received, true);
  assert.equal((outcomeFor(s, weak.id, "c") as { reason: string }).reason, "collision");
  // Within the threshold both are lost.
  m.setLink("b", "c", { pathLossDb: 104 });
  const x = m.transmit("a", bytes(50), 20_000);
  const y = m.transmit("b", bytes(50), 20_005);
  const s2 = m.settle(30_000);
  assert.equal(outcomeFor(s2, x.id, "c").received, false);
  assert.equal(outcomeFor(s2, y.id, "c").received, false);
});

test("an interferer out of range of the receiver does not collide (hidden terminal in reverse)", () => {
  const m = threeRadios();
  m.setLink("b", "c", null);
  const t1 = m.transmit("a", bytes(50), 0);
  m.transmit("b", bytes(50), 10);
  const s = m.settle(10_000);
  assert.equal(outcomeFor(s, t1.id, "c").received, true);
});

test("partitions and out-of-range links silence radios; heal restores them", () => {
  const m = threeRadios();
  m.partition(["a"], ["b", "c"]);
  const t1 = m.transmit("a", bytes(20), 0);
  let s = m.settle(t1.endMs);
  assert.equal((outcomeFor(s, t1.id, "b") as { reason: string }).reason, "partitioned");
  assert.equal((outcomeFor(s, t1.id, "c") as { reason: string }).reason, "partitioned");
  const t2 = m.transmit("b", bytes(20), t1.endMs);
  s = m.settle(t2.endMs);
  assert.equal(outcomeFor(s, t2.id, "c").received, true);
  m.heal();
  m.setLink("a", "c", null);
  const t3 = m.transmit("a", bytes(20), t2.endMs);
  s = m.settle(t3.endMs);
  assert.equal(outcomeFor(s, t3.id, "b").received, true);
  assert.equal((outcomeFor(s, t3.id, "c") as { reason: string }).reason, "out-of-range");
});

test("radios on a different frequency, bandwidth, SF or coding rate hear nothing", () => {
  const m = new Medium();
  m.addRadio("tx", SF7);
  m.addRadio("freq", { ...SF7, frequencyHz: 869_525_000 });
  m.addRadio("bw", { ...SF7, bandwidthHz: 250_000 });
  m.addRadio("sf", { ...SF7, spreadingFactor: 8 });
  m.addRadio("cr", { ...SF7, codingRate: 6 });
  m.addRadio("off", null);
  m.addRadio("near", { ...SF7, frequencyHz: 868_000_061 }); // PLL rounding: same channel
  const t = m.transmit("tx", bytes(30), 0);
  const s = m.settle(t.endMs);
  const reasons = Object.fromEntries(s[0]!.outcomes.map((o) => [o.radioId, o.received ? "received" : o.reason]));
  assert.deepEqual(reasons, { freq: "other-channel", bw: "other-channel", sf: "other-channel", cr: "other-coding-rate", off: "radio-off", near: "received" });
});

test("transmissions on other channels never collide", () => {
  const m = threeRadios();
  m.setRadio("b", { ...SF7, spreadingFactor: 9 }, 0);
  const t1 = m.transmit("a", bytes(50), 0);
  m.transmit("b", bytes(50), 5);
  assert.equal(outcomeFor(m.settle(10_000), t1.id, "c").received, true);
});

test("a receiver retuned while a packet is on air misses it", () => {
  const m = threeRadios();
  const t = m.transmit("a", bytes(50), 0);
  m.setRadio("b", { ...SF7, txPowerDbm: 10 }, 5); // TX power only: still listening
  m.setRadio("c", { ...SF7, frequencyHz: 869_000_000 }, 5);
  m.setRadio("c", SF7, 6);
  const s = m.settle(t.endMs);
  assert.equal(outcomeFor(s, t.id, "b").received, true);
  assert.equal((outcomeFor(s, t.id, "c") as { reason: string }).reason, "retuned");
});

test("packets below the demodulator floor are lost; SF12 reaches further than SF7", () => {
  const m = new Medium({ defaultPathLossDb: 145 });
  m.addRadio("a", SF7);
  m.addRadio("b", SF7);
  const t = m.transmit("a", bytes(20), 0);
  const o = outcomeFor(m.settle(t.endMs), t.id, "b");
  assert.equal(o.received, false);
  assert.equal((o as { reason: string }).reason, "below-sensitivity");
  m.setRadio("a", { ...SF7, spreadingFactor: 12 }, t.endMs);
  m.setRadio("b", { ...SF7, spreadingFactor: 12 }, t.endMs);
  const t2 = m.transmit("a", bytes(20), t.endMs);
  assert.equal(outcomeFor(m.settle(t2.endMs), t2.id, "b").received, true);
});

test("loss is drawn from the seed: the same seed loses the same packets", () => {
  const run = (seed: number): boolean[] => {
    const m = new Medium({ seed, lossProbability: 0.3 });
    m.addRadio("a", SF7);
    m.addRadio("b", SF7);
    let now = 0;
    const got: boolean[] = [];
    for (let i = 0; i < 200; i++) {
      const t = m.transmit("a", bytes(10), now);
      now = t.endMs;
      got.push(outcomeFor(m.settle(now), t.id, "b").received);
    }
    return got;
  };
  const a = run(42);
  assert.deepEqual(run(42), a, "seed 42 replays");
  const lost = a.filter((x) => !x).length;
  assert.ok(lost > 30 && lost < 90, `seed 42: ${lost} of 200 lost at p = 0.3`);
  assert.notDeepEqual(run(43), a);
  const m = new Medium({ seed: 1 });
  m.addRadio("a", SF7);
  m.addRadio("b", SF7);
  m.setLink("a", "b", { lossProbability: 1 });
  const t = m.transmit("a", bytes(10), 0);
  assert.equal((outcomeFor(m.settle(t.endMs), t.id, "b") as { reason: string }).reason, "loss");
});

test("carrier sense and busy intervals see audible packets only", () => {
  const m = threeRadios();
  m.setLink("a", "c", null);
  const t = m.transmit("a", bytes(100), 100);
  assert.equal(m.inAirUntil("b", 50), null);
  assert.equal(m.inAirUntil("b", 150), t.endMs);
  assert.equal(m.inAirUntil("c", 150), null, "c is out of range of a");
  assert.equal(m.inAirUntil("a", 150), null, "own packets are not carrier");
  assert.deepEqual(m.busyIntervals("b", 0, 10_000), [[100, t.endMs]]);
  const t2 = m.transmit("c", bytes(10), 120);
  assert.deepEqual(m.busyIntervals("b", 0, 10_000), [[100, Math.max(t.endMs, t2.endMs)]]);
  assert.ok(m.currentRssiDbm("b", 150)! > m.noiseFloorDbm(125_000));
  assert.equal(m.currentRssiDbm("b", 10_000), m.noiseFloorDbm(125_000));
});

test("time never goes backwards and misuse is refused", () => {
  const m = threeRadios();
  m.settle(100);
  assert.throws(() => m.transmit("a", bytes(10), 99), RangeError);
  assert.throws(() => m.transmit("zz", bytes(10), 100), RangeError);
  m.setRadio("a", null, 100);
  assert.throws(() => m.transmit("a", bytes(10), 100), RangeError);
  assert.throws(() => m.addRadio("b"), RangeError);
  assert.throws(() => m.setLink("a", "b", { lossProbability: 2 }), RangeError);
});
