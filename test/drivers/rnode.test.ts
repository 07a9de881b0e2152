// Compliance suite for the RNode driver, run against emulated radios (hil/rnode on PTYs made by socat) and,
// when KOS_RNODE_PORT names one, a real radio. Tests that need what only the emulator can do (a second radio,
// unplugging, injecting bytes) report pending on real hardware with the reason; the whole real-radio suite
// reports pending when no radio is named. Every wait is bounded; every PTY, socat and driver is cleaned up.
//
// Real radio: KOS_RNODE_PORT=/dev/ttyUSB0 [KOS_RNODE_PORT_B=/dev/ttyACM0] [KOS_RNODE_FREQUENCY=869525000]
// [KOS_RNODE_BANDWIDTH=125000] [KOS_RNODE_TXPOWER=2]. It transmits: choose a frequency and power you may use.
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createServer } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { SerialPort } from "serialport";
import { concat, toHex } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { KissDecoder, kissEncode, KISS_CMD } from "../../runtime/wire/kiss.js";
import { RNodeDriver, type RNodeDriverOptions } from "../../drivers/rnode/driver.js";
import type { FrameMeta } from "../../drivers/port.js";
import { Medium } from "../../hil/medium/medium.js";
import { RealtimeAir } from "../../hil/rnode/air.js";
import { RNodeEmulator, type RNodeEmulatorOptions } from "../../hil/rnode/emulator.js";

const C = KISS_CMD;
const FAST = { initialMs: 50, maxMs: 400, jitter: 0.2 };
const PATH_LOSS_DB = 110;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string | (() => string), timeoutMs = 8000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    await sleep(10);
  }
}

const SOCAT = spawnSync("socat", ["-V"], { stdio: "ignore" }).status === 0;

/** Radios under test and how to reach them. */
interface Rig {
  emulated: boolean;
  portA: string;
  portB: string | null;
  settings: Pick<RNodeDriverOptions, "frequencyHz" | "bandwidthHz" | "txPowerDbm" | "spreadingFactor" | "codingRate">;
  air?: RealtimeAir;
  emuA?: RNodeEmulator;
  emuB?: RNodeEmulator;
  drivers: RNodeDriver[];
  dir?: string;
}

interface Target {
  name: string;
  emulated: boolean;
  /** Why the whole suite is pending, or null. */
  pending: string | null;
  rig(t: TestContext, o?: { radios?: 1 | 2; emulator?: Partial<RNodeEmulatorOptions>; plugA?: boolean }): Promise<Rig>;
}

const emulatedTarget: Target = {
  name: "emulated RNode (hil/rnode on a PTY)",
  emulated: true,
  pending: SOCAT ? null : "socat is not installed (apt-get install socat)",
  async rig(t, o = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kos-rnode-"));
    const air = new RealtimeAir(new Medium({ seed: 7, defaultPathLossDb: PATH_LOSS_DB }));
    const rig: Rig = {
      emulated: true, portA: path.join(dir, "a"), portB: (o.radios ?? 1) === 2 ? path.join(dir, "b") : null,
      settings: { frequencyHz: 868_000_000, bandwidthHz: 500_000, txPowerDbm: 14, spreadingFactor: 7, codingRate: 5 },
      air, drivers: [], dir,
    };
    t.after(() => teardown(rig));
    rig.emuA = new RNodeEmulator({ air, ptyPath: rig.portA, bootMs: 100, ...o.emulator });
    if (o.plugA ?? true) await rig.emuA.plug();
    if (rig.portB !== null) {
      rig.emuB = new RNodeEmulator({ air, ptyPath: rig.portB, bootMs: 100 });
      await rig.emuB.plug();
    }
    return rig;
  },
};

const REAL_PORT = process.env["KOS_RNODE_PORT"] ?? null;
const realTarget: Target = {
  name: `real RNode${REAL_PORT !== null ? ` at ${REAL_PORT}` : ""} (KOS_RNODE_PORT)`,
  emulated: false,
  pending: REAL_PORT === null ? "no radio attached: set KOS_RNODE_PORT=/dev/ttyUSB0 (and KOS_RNODE_PORT_B for two-radio tests)" : null,
  async rig(t, o = {}) {
    const rig: Rig = {
      emulated: false, portA: REAL_PORT!, portB: (o.radios ?? 1) === 2 ? (process.env["KOS_RNODE_PORT_B"] ?? null) : null,
      settings: {
        frequencyHz: Number(process.env["KOS_RNODE_FREQUENCY"] ?? 869_525_000),
        bandwidthHz: Number(process.env["KOS_RNODE_BANDWIDTH"] ?? 125_000),
        txPowerDbm: Number(process.env["KOS_RNODE_TXPOWER"] ?? 2),
        spreadingFactor: 7,
        codingRate: 5,
      },
      drivers: [],
    };
    t.after(() => teardown(rig));
    return rig;
  },
};

async function teardown(rig: Rig): Promise<void> {
  await Promise.all(rig.drivers.map((d) => d.stop()));
  await Promise.all([rig.emuA?.close(), rig.emuB?.close()]);
  rig.air?.close();
  if (rig.dir !== undefined) fs.rmSync(rig.dir, { recursive: true, force: true });
}

function startDriver(rig: Rig, port: string, o: Partial<RNodeDriverOptions> = {}): RNodeDriver {
  // A real board may reset when its port opens and take a few seconds to boot.
  const detectTimeoutMs = rig.emulated ? 3000 : 8000;
  const d = new RNodeDriver({ port, ...rig.settings, backoff: FAST, random: seededRandom(3), detectTimeoutMs, detectRetryMs: 150, tickMs: 50, ...o });
  rig.drivers.push(d);
  d.start();
  return d;
}

function collect(d: RNodeDriver): { frame: Uint8Array; meta: FrameMeta | undefined }[] {
  const got: { frame: Uint8Array; meta: FrameMeta | undefined }[] = [];
  d.on("frame", (frame, meta) => got.push({ frame, meta }));
  return got;
}

const up = (d: RNodeDriver, timeoutMs = 8000): Promise<void> => waitFor(() => d.state === "up", `${d.info.name} up (last error: ${d.lastError?.message ?? "none"})`, timeoutMs);

/** A packet of `n` bytes with every byte value, FEND and FESC included. */
function packet(seed: number, n: number): Uint8Array {
  const p = seededRandom(seed).bytes(n);
  p[0] = 0xc0;
  p[n - 1] = 0xdb;
  return p;
}

function complianceSuite(target: Target): void {
  describe(target.name, { skip: target.pending ?? false }, () => {
    test("detects the radio and reads its firmware version, platform, MCU and board", async (t) => {
      const rig = await target.rig(t);
      const d = startDriver(rig, rig.portA);
      await up(d);
      const dev = d.status().device;
      assert.equal(dev.detected, true);
      if (rig.emulated) assert.deepEqual(dev, { detected: true, firmware: "1.86", platform: 0x80, mcu: 0x81, board: 0x3d });
      else {
        assert.match(dev.firmware ?? "", /^\d+\.\d+$/);
        assert.ok([0x70, 0x80, 0x90].includes(dev.platform!), `platform 0x${dev.platform?.toString(16)}`);
      }
      // The driver set DTR and RTS as it opened the port (a PTY has no modem lines: "unsupported";
      // test/drivers/serial-link.test.ts checks the calls themselves).
      assert.equal(d.status().modemLines, rig.emulated ? "unsupported" : "set");
      assert.equal(d.info.kind, "rnode");
      assert.equal(d.info.hwMtu, 508);
      assert.equal(d.info.ifacSize, 8);
    });

    test("configures every setting and confirms it by reading it back once the radio is on", async (t) => {
      const rig = await target.rig(t);
      const d = startDriver(rig, rig.portA);
      await up(d);
      const r = d.status().radio;
      const s = rig.settings;
      assert.ok(Math.abs(r.frequency! - s.frequencyHz) <= 100);
      assert.deepEqual([r.bandwidth, r.txPower, r.spreadingFactor, r.codingRate, r.radioState], [s.bandwidthHz, s.txPowerDbm, s.spreadingFactor, s.codingRate, 1]);
      await waitFor(() => d.status().phy !== null, "PHY parameters");
      if (rig.emulated) {
        const fw = rig.emuA!.firmware.snapshot();
        assert.deepEqual([fw.online, fw.frequencyHz, fw.bandwidthHz, fw.txPowerDbm, fw.spreadingFactor, fw.codingRate], [true, s.frequencyHz, s.bandwidthHz, s.txPowerDbm, 7, 5]);
        assert.deepEqual(d.status().phy, { symbolTimeMs: 0.256, symbolRate: 3906, preambleSymbols: 94, preambleTimeMs: 25, csmaSlotMs: 24, difsMs: 48 });
      }
    });

    test("refuses a radio that reports another bandwidth than configured, naming the setting", async (t) => {
      const rig = await target.rig(t);
      const d = startDriver(rig, rig.portA, { bandwidthHz: 100_000 }); // the modem only has 62.5 and 125 kHz steps
      await waitFor(() => d.lastError?.code === "config-mismatch", "a config mismatch");
      assert.equal(d.lastError!.setting, "bandwidth");
      assert.equal(d.lastError!.wanted, 100_000);
      assert.notEqual(d.lastError!.reported, 100_000);
      if (rig.emulated) assert.match(d.lastError!.message, /reports bandwidth 125000 Hz, configured 100000 Hz/);
      assert.notEqual(d.state, "up");
      assert.equal(d.connections, 0);
      if (rig.emulated) await waitFor(() => !rig.emuA!.firmware.snapshot().online, "the refused radio switched off");
    });

    test("refuses a TX power above what the radio accepts", async (t) => {
      if (!target.emulated) return void t.skip("only on the emulator: a real board's limit is not known here");
      const rig = await target.rig(t);
      const d = startDriver(rig, rig.portA, { txPowerDbm: 30 }); // SX1262 without PA: 22 dBm
      await waitFor(() => d.lastError?.code === "config-mismatch", "a config mismatch");
      assert.deepEqual([d.lastError!.setting, d.lastError!.wanted, d.lastError!.reported], ["txPower", 30, 22]);
      assert.notEqual(d.state, "up");
    });

    test("accepts a frequency the SX127x register rounds by less than 100 Hz", async (t) => {
      const rig = await target.rig(t, { emulator: { board: "tbeam" } });
      if (!rig.emulated) return void t.skip("only on the emulator (an SX127x board)");
      const d = startDriver(rig, rig.portA, { frequencyHz: 867_200_000 });
      await up(d);
      assert.equal(d.status().radio.frequency, 867_199_951); // frf = floor(f * 2^19 / 32 MHz)
      assert.equal(d.status().device.board, 0x33);
    });

    test("carries packets both ways between two radios, with RSSI and SNR for each", async (t) => {
      const rig = await target.rig(t, { radios: 2 });
      if (rig.portB === null) return void t.skip("needs a second radio: set KOS_RNODE_PORT_B");
      const a = startDriver(rig, rig.portA);
      const b = startDriver(rig, rig.portB);
      const gotA = collect(a);
      const gotB = collect(b);
      await Promise.all([up(a), up(b)]);
      const sizes = [20, 100, 254, 255, 500, 508];
      const sent = sizes.map((n, i) => packet(i + 1, n));
      for (const p of sent) {
        assert.equal(a.send(p), true);
        await waitFor(() => gotB.length === sent.indexOf(p) + 1, `packet of ${p.length} B at b`);
      }
      assert.deepEqual(gotB.map((g) => toHex(g.frame)), sent.map(toHex));
      const back = packet(99, 300);
      assert.equal(b.send(back), true);
      await waitFor(() => gotA.length === 1, "packet at a");
      assert.equal(toHex(gotA[0]!.frame), toHex(back));
      for (const g of [...gotB, ...gotA]) {
        assert.equal(typeof g.meta?.rssiDbm, "number");
        assert.equal(typeof g.meta?.snrDb, "number");
      }
      if (rig.emulated) {
        const rssi = rig.settings.txPowerDbm - PATH_LOSS_DB;
        const snr = rssi - rig.air!.medium.noiseFloorDbm(rig.settings.bandwidthHz);
        assert.equal(gotB[0]!.meta!.rssiDbm, rssi);
        assert.ok(Math.abs(gotB[0]!.meta!.snrDb! - snr) <= 0.25, `SNR ${gotB[0]!.meta!.snrDb} vs ${snr}`);
        assert.deepEqual(b.status().lastPacket, { rssiDbm: gotB.at(-1)!.meta!.rssiDbm, snrDb: gotB.at(-1)!.meta!.snrDb });
      }
      assert.equal(a.counters.txFrames, sent.length);
      assert.equal(b.counters.rxFrames, sent.length);
      assert.deepEqual(a.counters.drops, {});
      assert.deepEqual(b.counters.drops, {});
    });

    test("sets the airtime limits and confirms them; over the short-term limit the radio holds packets", async (t) => {
      const rig = await target.rig(t);
      const d = startDriver(rig, rig.portA, { airtimeLimitShortPct: 1.5, airtimeLimitLongPct: 0.5 });
      await up(d);
      assert.equal(d.status().radio.airtimeLimitShort, 150);
      assert.equal(d.status().radio.airtimeLimitLong, 50);
      if (!rig.emulated) return;
      const fw = rig.emuA!.firmware;
      assert.ok(Math.abs(fw.snapshot().shortTermLimit - 0.015) < 1e-6);
      // One 500-byte packet at SF7/500 kHz is about 240 ms: 1.6 % of the firmware's 15 s short-term window.
      d.send(packet(1, 500));
      await waitFor(() => fw.snapshot().airtimeLocked, "the airtime lock");
      d.send(packet(2, 500));
      await sleep(1500);
      const snap = fw.snapshot();
      assert.equal(snap.transmitted, 1, "the second packet waits");
      assert.equal(snap.queuedPackets, 1);
      assert.equal(snap.airtimeLocked, true);
      assert.ok(d.status().channel!.airtimeShortPct > 1.5, `airtime ${d.status().channel!.airtimeShortPct} %`);
    });

    test("with flow control it asks for CMD_READY after each packet and holds the next until ready", async (t) => {
      const rig = await target.rig(t, { radios: 2 });
      const a = startDriver(rig, rig.portA, { flowControl: true });
      const b = rig.portB !== null ? startDriver(rig, rig.portB) : null;
      const gotB = b !== null ? collect(b) : [];
      await Promise.all([up(a), ...(b !== null ? [up(b)] : [])]);
      const sent = [1, 2, 3, 4, 5].map((i) => packet(i, 200));
      for (const p of sent) assert.equal(a.send(p), true);
      assert.ok(a.status().queuedFrames >= 3, `held ${a.status().queuedFrames} packets`);
      await waitFor(() => a.status().queuedFrames === 0, "the queue drained by READY answers", 10_000);
      assert.equal(a.state, "up");
      if (b === null) return;
      await waitFor(() => gotB.length === sent.length, "every packet at b");
      assert.deepEqual(gotB.map((g) => toHex(g.frame)), sent.map(toHex));
      // Without flow control (b) nothing waits for the radio.
      const gotA = collect(a);
      for (const p of sent) assert.equal(b.send(p), true);
      assert.equal(b.status().queuedFrames, 0);
      await waitFor(() => gotA.length === sent.length, "every packet at a");
    });

    test("counts error frames from the radio; a transmit failure makes it reconfigure", async (t) => {
      const rig = await target.rig(t);
      if (!rig.emulated) return void t.skip("only on the emulator (it injects radio errors)");
      const d = startDriver(rig, rig.portA);
      await up(d);
      rig.emuA!.injectSerial(concat(kissEncode(C.CMD_ERROR, Uint8Array.of(C.ERROR_QUEUE_FULL)), kissEncode(C.CMD_ERROR, Uint8Array.of(C.ERROR_MEMORY_LOW)), kissEncode(C.CMD_ERROR, Uint8Array.of(0x33))));
      await waitFor(() => Object.keys(d.status().radioErrors).length === 3, "three errors counted");
      assert.deepEqual(d.status().radioErrors, { "queue-full": 1, "memory-low": 1, "error-0x33": 1 });
      assert.equal(d.state, "up");
      // A modem that stops answering: the firmware reports MODEM_TIMEOUT and TXFAILED, then restarts.
      const states: string[] = [];
      d.on("state", (s) => states.push(s));
      rig.emuA!.firmware.failNextTransmit = true;
      d.send(packet(1, 50));
      await waitFor(() => states.includes("down") && d.state === "up", "down and up again");
      assert.equal(d.status().radioErrors["modem-timeout"], 1);
      assert.equal(d.status().radioErrors["tx-failed"], 1);
      assert.equal(d.connections, 2);
      assert.equal(rig.emuA!.firmware.snapshot().online, true);
      // A modem that does not start: ERROR_INITRADIO while configuring, then a new attempt.
      states.length = 0;
      rig.emuA!.firmware.failNextRadioStart = true;
      rig.emuA!.reset();
      await waitFor(() => d.lastError?.code === "radio-init-failed", () => `radio-init-failed (last error ${d.lastError?.code})`);
      await waitFor(() => d.state === "up", "up after the failed start");
      assert.equal(d.status().radioErrors["init-radio"], 1);
    });

    test("garbage, truncated, oversized, malformed and unknown frames from the radio are counted, never fatal", async (t) => {
      const rig = await target.rig(t, { radios: 2 });
      if (!rig.emulated) return void t.skip("only on the emulator (it injects bytes)");
      const a = startDriver(rig, rig.portA);
      const b = startDriver(rig, rig.portB!);
      const gotB = collect(b);
      await Promise.all([up(a), up(b)]);
      const emu = rig.emuB!;
      // Every FEND opens the next frame, so stray text after one reads as a frame with an unknown command ('g').
      emu.injectSerial(new TextEncoder().encode("garbage after a frame\r\n"));
      emu.injectSerial(Uint8Array.of(0xc0, 0xfe, 0xfe, 0xfe, 0xc0)); // CMD_UNKNOWN bytes are skipped: 3 garbage bytes
      emu.injectSerial(Uint8Array.of(0xc0, 0x00, 1, 2, 3, 4, 5, 0xc0)); // too short for a packet
      emu.injectSerial(concat(Uint8Array.of(0xc0, 0x00), new Uint8Array(1200).fill(0x55), Uint8Array.of(0xc0))); // oversized
      emu.injectSerial(kissEncode(C.CMD_STAT_CHTM, new Uint8Array(5))); // wrong length
      emu.injectSerial(kissEncode(0x77, Uint8Array.of(1, 2))); // unknown command
      emu.injectSerial(kissEncode(C.CMD_STAT_SNR, Uint8Array.of(1, 2, 3))); // wrong length
      const drops = b.counters.drops;
      await waitFor(() => drops["kiss-command"] === 2 && drops["kiss-malformed"] === 2, () => `drops counted: ${JSON.stringify(drops)}`);
      emu.injectSerial(Uint8Array.of(0xc0, 0x00, 9, 9, 9)); // a data frame that never ends
      await sleep(300);
      emu.injectSerial(kissEncode(C.CMD_DETECT, Uint8Array.of(C.DETECT_RESP)));
      await waitFor(() => drops["kiss-timeout"] === 1, "the unfinished frame dropped");
      // The decoder also skips what follows an oversized frame's limit until the next FEND.
      assert.ok(drops["garbage-bytes"]! >= 3, `garbage bytes ${drops["garbage-bytes"]}`);
      const { "garbage-bytes": _skipped, ...rest } = drops;
      assert.deepEqual(rest, { "too-short": 1, oversize: 1, "kiss-malformed": 2, "kiss-command": 2, "kiss-timeout": 1 });
      assert.equal(b.state, "up");
      const p = packet(5, 120);
      a.send(p);
      await waitFor(() => gotB.length === 1, "traffic after the noise");
      assert.equal(toHex(gotB[0]!.frame), toHex(p));
    });

    test("a radio unplugged mid-traffic goes down, and comes back configured when plugged in again", async (t) => {
      const rig = await target.rig(t, { radios: 2 });
      if (!rig.emulated) return void t.skip("needs a rig that can unplug the radio (emulator only)");
      const a = startDriver(rig, rig.portA);
      const b = startDriver(rig, rig.portB!);
      const gotB = collect(b);
      await Promise.all([up(a), up(b)]);
      let n = 0;
      const traffic = setInterval(() => a.send(packet(100 + n++, 60)), 100);
      t.after(() => clearInterval(traffic));
      await waitFor(() => gotB.length >= 3, "traffic flowing");
      await rig.emuB!.unplug();
      await waitFor(() => b.state === "down", "b down", 3000);
      assert.equal(b.lastError?.code, "port-lost");
      assert.equal(fs.existsSync(rig.portB!), false, "the PTY is gone");
      await sleep(300);
      assert.equal(a.state, "up");
      const before = gotB.length;
      await rig.emuB!.plug();
      await up(b);
      assert.equal(b.connections, 2);
      const fw = rig.emuB!.firmware.snapshot();
      assert.deepEqual([fw.online, fw.frequencyHz, fw.bandwidthHz, fw.spreadingFactor], [true, 868_000_000, 500_000, 7]);
      await waitFor(() => gotB.length >= before + 3, "traffic again");
      clearInterval(traffic);
    });

    test("a radio missing at start is picked up when it appears", async (t) => {
      const rig = await target.rig(t, { plugA: false });
      if (!rig.emulated) return void t.skip("needs a rig that can plug the radio in (emulator only)");
      const d = startDriver(rig, rig.portA, { backoff: { initialMs: 2000, maxMs: 10_000, jitter: 0 } });
      await waitFor(() => d.lastError?.code === "port-missing", "port-missing");
      assert.equal(d.state, "down");
      const t0 = performance.now();
      await rig.emuA!.plug();
      await up(d);
      assert.ok(performance.now() - t0 < 1500, "picked up by the device watch, not after the 2 s backoff");
    });

    test("a radio that resets comes back configured", async (t) => {
      const rig = await target.rig(t);
      const d = startDriver(rig, rig.portA);
      await up(d);
      const states: string[] = [];
      d.on("state", (s) => states.push(s));
      assert.equal(d.resetRadio(), true);
      await waitFor(() => states.includes("down") && d.state === "up", "down and up again after CMD_RESET", 15_000);
      // A board on native USB may vanish and come back instead of announcing its reset.
      assert.ok(["radio-reset", "port-lost", "link-silent"].includes(d.lastError!.code), d.lastError!.code);
      if (!rig.emulated) return;
      assert.equal(d.lastError!.code, "radio-reset");
      assert.equal(rig.emuA!.firmware.snapshot().online, true);
      states.length = 0;
      rig.emuA!.reset(); // the reset button
      await waitFor(() => states.includes("down") && d.state === "up", "down and up again after a reset");
      assert.equal(d.connections, 3);
      assert.equal(rig.emuA!.firmware.snapshot().online, true);
    });

    test("firmware older than 1.52 is refused with a clear error", async (t) => {
      const rig = await target.rig(t, { emulator: { firmwareVersion: [1, 40] } });
      if (!rig.emulated) return void t.skip("only on the emulator");
      const d = startDriver(rig, rig.portA);
      await waitFor(() => d.lastError !== null, "an error");
      assert.equal(d.lastError!.code, "firmware-too-old");
      assert.match(d.lastError!.message, /1\.40 is older than 1\.52/);
    });

    test("a port that is not an RNode times out detection with a clear error", async (t) => {
      if (!target.emulated) return void t.skip("only on the emulator");
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kos-silent-"));
      const sock = path.join(dir, "s.sock");
      const server = createServer((c) => c.on("data", () => undefined));
      await new Promise<void>((r) => server.listen(sock, () => r()));
      const { spawn } = await import("node:child_process");
      const socat = spawn("socat", [`PTY,link=${path.join(dir, "tty")},rawer,echo=0`, `UNIX-CONNECT:${sock}`], { stdio: "ignore" });
      t.after(async () => {
        socat.kill();
        await new Promise<void>((r) => (socat.exitCode !== null ? r() : socat.once("exit", () => r())));
        await new Promise<void>((r) => server.close(() => r()));
        fs.rmSync(dir, { recursive: true, force: true });
      });
      await waitFor(() => fs.existsSync(path.join(dir, "tty")), "the silent PTY");
      const d = new RNodeDriver({ port: path.join(dir, "tty"), frequencyHz: 868_000_000, bandwidthHz: 125_000, txPowerDbm: 2, spreadingFactor: 7, codingRate: 5, detectTimeoutMs: 700, backoff: FAST, tickMs: 50 });
      t.after(() => d.stop());
      d.start();
      await waitFor(() => d.lastError !== null, "detect to time out", 3000);
      assert.equal(d.lastError!.code, "detect-timeout");
      assert.match(d.lastError!.message, /no RNode answered on .* within 700 ms/);
      assert.notEqual(d.state, "up");
    });
  });
}

complianceSuite(emulatedTarget);
complianceSuite(realTarget);

describe("emulated firmware toward a raw host", { skip: SOCAT ? false : "socat is not installed" }, () => {
  test("ignores unknown commands and answers detect, version and queries as firmware 1.86 does", async (t) => {
    const rig = await emulatedTarget.rig(t);
    await waitFor(() => rig.emuA!.firmware.booted, "boot");
    const port = new SerialPort({ path: rig.portA, baudRate: 115200, autoOpen: false });
    await new Promise<void>((r, j) => port.open((e) => (e ? j(e) : r())));
    t.after(() => new Promise<void>((r) => (port.isOpen ? port.close(() => r()) : r())));
    const decoder = new KissDecoder();
    const frames: { command: number; payload: string }[] = [];
    port.on("data", (d: Buffer) => frames.push(...decoder.push(new Uint8Array(d)).map((f) => ({ command: f.command, payload: toHex(f.payload) }))));
    // Shared FENDs, as RNodeInterface.detect writes them; an unknown command first.
    port.write(Buffer.from([0xc0, 0x77, 0x01, 0xc0, 0x08, 0x73, 0xc0, 0x50, 0x00, 0xc0, 0x48, 0x00, 0xc0, 0x49, 0x00, 0xc0, 0x47, 0x00, 0xc0, 0x04, 0xff, 0xc0, 0x06, 0xff, 0xc0]));
    await waitFor(() => frames.length >= 7, "seven answers");
    await sleep(100);
    assert.deepEqual(frames.filter((f) => f.command !== C.CMD_RESET), [
      { command: C.CMD_DETECT, payload: "46" },
      { command: C.CMD_FW_VERSION, payload: "0156" },
      { command: C.CMD_PLATFORM, payload: "80" },
      { command: C.CMD_MCU, payload: "81" },
      { command: C.CMD_BOARD, payload: "3d" },
      { command: C.CMD_SF, payload: "00" },
      { command: C.CMD_RADIO_STATE, payload: "00" },
    ]);
    // Radio on while locked (no frequency yet) stays off; asking READY answers ready with an empty queue.
    frames.length = 0;
    port.write(Buffer.from([0xc0, 0x06, 0x01, 0xc0, 0x0f, 0x00, 0xc0]));
    await waitFor(() => frames.length >= 3, "three answers");
    assert.deepEqual(frames, [{ command: C.CMD_RADIO_STATE, payload: "00" }, { command: C.CMD_RADIO_STATE, payload: "00" }, { command: C.CMD_READY, payload: "01" }]);
  });
});
