// The RNode driver over BLE (drivers/ble) against BlueZ's D-Bus API as python3-dbusmock serves it on a private
// bus (test/drivers/ble-mock: the bluez5 template plus the RNode's GATT service, bridged to an emulated radio,
// hil/rnode's firmware model, on a shared medium with a serial-attached emulated radio). node-ble finds the
// bus through DBUS_SYSTEM_BUS_ADDRESS. Skipped, with the reason, where dbus or python3-dbusmock is missing or
// will not start. Every process, socket and driver is cleaned up.
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { concat, toHex } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { KissDecoder, KISS_CMD } from "../../runtime/wire/kiss.js";
import type { FrameMeta } from "../../drivers/port.js";
import { RNodeDriver, type RNodeDriverOptions } from "../../drivers/rnode/driver.js";
import { rnodeCommand as cmd, RNodeError } from "../../drivers/rnode/protocol.js";
import { bleCarrier, BleRNodeCarrier, parseBleTarget, type BleCarrierOptions } from "../../drivers/ble/rnode-carrier.js";
import { createRNodeDriver, rnodeCarrierFor } from "../../drivers/ble/rnode.js";
import { Medium } from "../../hil/medium/medium.js";
import { RealtimeAir } from "../../hil/rnode/air.js";
import { RNodeEmulator } from "../../hil/rnode/emulator.js";
import { availability, MockBluez } from "./ble-mock/bluez.js";
import { BleRadio } from "./ble-mock/radio.js";

const C = KISS_CMD;
const FAST = { initialMs: 50, maxMs: 400, jitter: 0.2 };
const PATH_LOSS_DB = 110;
const SETTINGS = { frequencyHz: 868_000_000, bandwidthHz: 500_000, txPowerDbm: 14, spreadingFactor: 7, codingRate: 5 } as const;
const BLE: BleCarrierOptions = { scanTimeoutMs: 300, connectTimeoutMs: 3000, callTimeoutMs: 3000 };
const SOCAT = spawnSync("socat", ["-V"], { stdio: "ignore" }).status === 0;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string | (() => string), timeoutMs = 8000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    await sleep(10);
  }
}

const up = (d: RNodeDriver, timeoutMs = 8000): Promise<void> => waitFor(() => d.state === "up", () => `${d.info.name} up (last error: ${d.lastError?.message ?? "none"})`, timeoutMs);

function collect(d: RNodeDriver): { frame: Uint8Array; meta: FrameMeta | undefined }[] {
  const got: { frame: Uint8Array; meta: FrameMeta | undefined }[] = [];
  d.on("frame", (frame, meta) => got.push({ frame, meta }));
  return got;
}

/** A packet of `n` bytes with every byte value, FEND and FESC included. */
function packet(seed: number, n: number): Uint8Array {
  const p = seededRandom(seed).bytes(n);
  p[0] = 0xc0;
  p[n - 1] = 0xdb;
  return p;
}

test("ble:// ports name a radio by address, by name, or not at all; anything else is not BLE", () => {
  assert.deepEqual(parseBleTarget("ble://"), { address: null, name: null });
  assert.deepEqual(parseBleTarget("BLE://RNode 3B87"), { address: null, name: "RNode 3B87" });
  assert.deepEqual(parseBleTarget("ble://f4:12:73:29:4e:89"), { address: "F4:12:73:29:4E:89", name: null });
  assert.equal(parseBleTarget("/dev/ttyUSB0"), null);
  assert.throws(() => parseBleTarget("ble://f4:12:73:29:4e:zz"), TypeError);
  assert.equal(rnodeCarrierFor("/dev/ttyACM0"), null);
  assert.equal(typeof rnodeCarrierFor("ble://RNode 3B87"), "function");
  assert.throws(() => rnodeCarrierFor("tcp://10.0.0.5"), /not supported yet/);
  assert.throws(() => bleCarrier("/dev/ttyUSB0"), TypeError);
});

test("an unreachable D-Bus leaves the BLE driver down with the reason, retrying, never throwing", async (t) => {
  const d = new RNodeDriver({
    port: "ble://RNode 0000", ...SETTINGS, backoff: FAST, random: seededRandom(1), tickMs: 50,
    carrier: bleCarrier("ble://RNode 0000", { ...BLE, busAddress: `unix:path=${path.join(os.tmpdir(), `kos-no-bus-${process.pid}`, "bus")}` }),
  });
  t.after(() => d.stop());
  d.start();
  await waitFor(() => d.failedAttempts >= 2, () => `two failed attempts (last error ${d.lastError?.message ?? "none"})`);
  assert.notEqual(d.state, "up");
  assert.ok(["port-lost", "port-open-failed"].includes(d.lastError!.code), d.lastError!.code);
  assert.match(d.lastError!.message, /D-Bus|ENOENT/);
  await d.stop();
  assert.equal(d.state, "closed");
});

const REASON = availability();

describe("RNode over BLE against BlueZ's D-Bus API (python3-dbusmock)", { skip: REASON ?? false }, () => {
  let bluez: MockBluez | null = null;
  let startError = "not started";
  const savedBus = process.env["DBUS_SYSTEM_BUS_ADDRESS"];
  let next = 0;

  before(async () => {
    try {
      bluez = await MockBluez.start();
      await bluez.addAdapter("hci0");
      process.env["DBUS_SYSTEM_BUS_ADDRESS"] = bluez.busAddress;
    } catch (e) {
      startError = (e as Error).message;
      await bluez?.stop();
      bluez = null;
      process.stdout.write(`# BLE tests skipped: the BlueZ mock did not start: ${startError}\n`);
    }
  });

  after(async () => {
    if (savedBus === undefined) delete process.env["DBUS_SYSTEM_BUS_ADDRESS"];
    else process.env["DBUS_SYSTEM_BUS_ADDRESS"] = savedBus;
    await bluez?.stop();
  });

  interface Rig {
    bluez: MockBluez;
    air: RealtimeAir;
    radio: BleRadio;
    address: string;
    name: string;
    port: string;
    dir: string;
    drivers: RNodeDriver[];
    serial?: { emulator: RNodeEmulator; driver: RNodeDriver };
  }

  /** A BLE radio in the mock (or null: the test is skipped), torn down after the test. */
  async function rig(t: TestContext, o: { paired?: boolean; mtu?: number; powered?: boolean } = {}): Promise<Rig | null> {
    if (bluez === null) {
      t.skip(`the BlueZ mock did not start: ${startError}`);
      return null;
    }
    const n = ++next;
    const hex = n.toString(16).padStart(2, "0").toUpperCase();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kos-ble-"));
    const air = new RealtimeAir(new Medium({ seed: 7, defaultPathLossDb: PATH_LOSS_DB }));
    const address = `AA:BB:CC:00:01:${hex}`;
    const name = `RNode B1${hex}`;
    const radio = new BleRadio({ air, radioId: `ble-${hex}`, socketPath: path.join(dir, "radio.sock"), seed: n });
    const r: Rig = { bluez, air, radio, address, name, port: `ble://${name}`, dir, drivers: [] };
    t.after(async () => {
      await Promise.all(r.drivers.map((d) => d.stop()));
      await r.serial?.driver.stop();
      await r.serial?.emulator.close();
      await radio.close();
      air.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    if (o.powered ?? true) await radio.powerOn();
    await bluez.addRNode({ address, name, bridge: path.join(dir, "radio.sock"), mtu: o.mtu ?? 185, paired: o.paired ?? true });
    return r;
  }

  function startDriver(r: Rig, o: Partial<RNodeDriverOptions> & { ble?: BleCarrierOptions } = {}): RNodeDriver {
    const { ble, ...rest } = o;
    const d = createRNodeDriver({ port: r.port, ...SETTINGS, backoff: FAST, random: seededRandom(3), detectTimeoutMs: 3000, detectRetryMs: 150, tickMs: 50, ble: { ...BLE, ...ble }, ...rest });
    r.drivers.push(d);
    d.start();
    return d;
  }

  /** A serial-attached emulated radio on the same medium, with its driver up. */
  async function serialPeer(r: Rig): Promise<RNodeDriver> {
    const emulator = new RNodeEmulator({ air: r.air, ptyPath: path.join(r.dir, "tty"), radioId: "serial", bootMs: 100 });
    await emulator.plug();
    const driver = new RNodeDriver({ port: emulator.ptyPath, ...SETTINGS, backoff: FAST, random: seededRandom(4), detectTimeoutMs: 3000, detectRetryMs: 150, tickMs: 50 });
    r.serial = { emulator, driver };
    driver.start();
    await up(driver);
    return driver;
  }

  /** Opens a carrier by hand and collects the radio's KISS frames. */
  async function openCarrier(t: TestContext, port: string, o: BleCarrierOptions = {}): Promise<{ carrier: BleRNodeCarrier; frames: { command: number; payload: string }[] }> {
    const carrier = bleCarrier(port, { ...BLE, ...o })();
    t.after(() => carrier.close());
    const decoder = new KissDecoder();
    const frames: { command: number; payload: string }[] = [];
    await carrier.open({ data: (b) => frames.push(...decoder.push(b).map((f) => ({ command: f.command, payload: toHex(f.payload) }))), lost: () => undefined });
    return { carrier, frames };
  }

  test("the carrier finds the radio by name, name prefix and address, writes within the MTU and reads notifications", async (t) => {
    const r = await rig(t, { mtu: 64 });
    if (r === null) return;
    await waitFor(() => r.radio.firmware.booted, "the radio booted");
    for (const port of [r.port, r.port.slice(0, -1), `ble://${r.address.toLowerCase()}`]) {
      const { carrier, frames } = await openCarrier(t, port);
      assert.deepEqual(carrier.info, { address: r.address, name: r.name, mtu: 64, chunkBytes: 61, writeType: "request" }, port);
      assert.equal(carrier.write(cmd.detect()), true);
      await waitFor(() => frames.length >= 5, `five answers over ${port}`);
      assert.deepEqual(frames.slice(0, 5), [
        { command: C.CMD_DETECT, payload: "46" },
        { command: C.CMD_FW_VERSION, payload: "0156" },
        { command: C.CMD_PLATFORM, payload: "80" },
        { command: C.CMD_MCU, payload: "81" },
        { command: C.CMD_BOARD, payload: "3d" },
      ]);
      await carrier.close();
      await waitFor(() => !r.radio.connected, "the link released");
    }
    // A long write goes out in pieces of at most MTU - 3, in order, whatever the caller's pieces were.
    const { carrier, frames } = await openCarrier(t, r.port);
    const before = await r.bluez.stats(r.address);
    const many = concat(...Array.from({ length: 30 }, () => cmd.frequency(0)));
    assert.equal(carrier.write(many.subarray(0, 100)), true);
    assert.equal(carrier.write(many.subarray(100)), true);
    await waitFor(() => frames.length >= 30, "thirty frequency reports");
    const after = await r.bluez.stats(r.address);
    assert.equal(Number(after["writeBytes"]) - Number(before["writeBytes"]), many.length);
    assert.equal(after["maxWrite"], 61);
    assert.equal(Number(after["writes"]) - Number(before["writes"]), Math.ceil(many.length / 61));
    assert.ok(Number(after["maxNotify"]) <= 61 && Number(after["notifications"]) > 0, JSON.stringify(after));
    assert.equal(after["notifying"], true);
    assert.equal(after["connections"], 4);
  });

  test("radios it cannot use are refused with a clear error: missing, not paired, ambiguous, not an RNode", async (t) => {
    const r = await rig(t, { paired: false });
    if (r === null) return;
    const refuse = async (port: string, code: string, message: RegExp, o: BleCarrierOptions = {}): Promise<void> => {
      const carrier = bleCarrier(port, { ...BLE, ...o })();
      const e = await carrier.open({ data: () => undefined, lost: () => undefined }).then(() => null, (err: unknown) => err);
      assert.ok(e instanceof RNodeError, `${port}: ${String(e)}`);
      assert.equal(e.code, code, `${port}: ${e.message}`);
      assert.match(e.message, message);
      await carrier.close();
    };
    await refuse("ble://AA:BB:CC:FF:FF:FF", "port-missing", /no BLE RNode AA:BB:CC:FF:FF:FF among the devices BlueZ knows or found in a 300 ms scan/);
    await refuse(r.port, "port-open-failed", /is not paired; pair it once \(bluetoothctl pair AA:BB:CC/);
    assert.equal(r.radio.counters.connections, 0, "never connected to an unpaired radio");
    await r.bluez.addRNode({ address: "AA:BB:CC:00:02:01", name: "RNode Twin 1", bridge: path.join(r.dir, "none.sock") });
    await r.bluez.addRNode({ address: "AA:BB:CC:00:02:02", name: "RNode Twin 2", bridge: path.join(r.dir, "none.sock") });
    await refuse("ble://RNode Twin", "port-open-failed", /2 radios match \("RNode Twin 1" \(AA:BB:CC:00:02:01\), "RNode Twin 2" \(AA:BB:CC:00:02:02\)\)/);
    // The radio is known but does not answer (off, out of range): BlueZ's Connect fails.
    await refuse("ble://RNode Twin 1", "port-open-failed", /cannot connect to "RNode Twin 1".*org\.bluez\.Error\.Failed/);
    // A paired device without the RNode service (bluez5's plain device never resolves services either).
    await r.bluez.addDevice("AA:BB:CC:00:03:01", "Headphones");
    await r.bluez.send("/", "org.bluez.Mock.PairDevice", "string:hci0", "string:AA:BB:CC:00:03:01", "int32:0");
    await refuse("ble://Headphones", "port-open-failed", /services were not resolved|no RNode BLE service/, { connectTimeoutMs: 1000 });
    await refuse("ble://RNode B1", "port-open-failed", /no Bluetooth adapter hci9/, { adapter: "hci9" });
  });

  test("ble:// picks the first paired device named \"RNode …\" on the adapter", async (t) => {
    const r = await rig(t);
    if (r === null) return;
    await r.bluez.addAdapter("hci1");
    await r.bluez.addDevice("AA:BB:CC:00:04:01", "Phone", "hci1");
    await r.bluez.send("/", "org.bluez.Mock.PairDevice", "string:hci1", "string:AA:BB:CC:00:04:01", "int32:0");
    await r.bluez.addRNode({ adapter: "hci1", address: "AA:BB:CC:00:04:02", name: "RNode 4402", bridge: path.join(r.dir, "none.sock"), paired: false });
    await r.bluez.addRNode({ adapter: "hci1", address: "AA:BB:CC:00:04:03", name: "RNode 4403", bridge: path.join(r.dir, "radio.sock") });
    const { carrier, frames } = await openCarrier(t, "ble://", { adapter: "hci1" });
    assert.equal(carrier.info?.address, "AA:BB:CC:00:04:03");
    await waitFor(() => r.radio.firmware.booted, "the radio booted"); // bytes sent before are lost, as on the radio
    carrier.write(cmd.probe());
    await waitFor(() => frames.some((f) => f.command === C.CMD_DETECT), "the detect answer");
  });

  test("the RNode driver detects and configures the radio over BLE", async (t) => {
    const r = await rig(t);
    if (r === null) return;
    const d = startDriver(r);
    await up(d);
    assert.equal(d.info.name, `RNodeInterface[${r.port}]`);
    const st = d.status();
    assert.deepEqual(st.device, { detected: true, firmware: "1.86", platform: 0x80, mcu: 0x81, board: 0x3d });
    assert.equal(st.port, r.port);
    assert.equal(st.modemLines, "left");
    assert.deepEqual([st.radio.frequency, st.radio.bandwidth, st.radio.txPower, st.radio.spreadingFactor, st.radio.codingRate, st.radio.radioState], [868_000_000, 500_000, 14, 7, 5, 1]);
    const fw = r.radio.firmware.snapshot();
    assert.deepEqual([fw.online, fw.frequencyHz, fw.bandwidthHz, fw.txPowerDbm, fw.spreadingFactor, fw.codingRate], [true, 868_000_000, 500_000, 14, 7, 5]);
    await waitFor(() => d.status().phy !== null && d.status().channel !== null, "PHY and channel reports over BLE");
    assert.deepEqual(d.counters.drops, {});
  });

  test("frames flow both ways between a BLE-attached and a serial-attached radio", { skip: SOCAT ? false : "socat is not installed (apt-get install socat)" }, async (t) => {
    const r = await rig(t);
    if (r === null) return;
    const a = startDriver(r);
    const b = await serialPeer(r);
    await up(a);
    const gotA = collect(a);
    const gotB = collect(b);
    const sent = [20, 100, 254, 255, 500, 508].map((n, i) => packet(i + 1, n));
    for (const p of sent) {
      assert.equal(a.send(p), true);
      await waitFor(() => gotB.length === sent.indexOf(p) + 1, `packet of ${p.length} B at the serial radio`);
    }
    assert.deepEqual(gotB.map((g) => toHex(g.frame)), sent.map(toHex));
    const back = [packet(50, 508), packet(51, 300), packet(52, 40)];
    for (const p of back) {
      assert.equal(b.send(p), true);
      await waitFor(() => gotA.length === back.indexOf(p) + 1, `packet of ${p.length} B over BLE`);
    }
    assert.deepEqual(gotA.map((g) => toHex(g.frame)), back.map(toHex));
    const rssi = SETTINGS.txPowerDbm - PATH_LOSS_DB;
    for (const g of gotA) {
      assert.equal(g.meta?.rssiDbm, rssi);
      assert.equal(typeof g.meta?.snrDb, "number");
    }
    assert.deepEqual([a.counters.txFrames, a.counters.rxFrames], [sent.length, back.length]);
    assert.deepEqual(a.counters.drops, {});
    assert.deepEqual(b.counters.drops, {});
    const stats = await r.bluez.stats(r.address);
    assert.ok(Number(stats["maxWrite"]) <= 182 && Number(stats["maxNotify"]) <= 182, JSON.stringify(stats));
  });

  test("a disconnect from the BlueZ side takes the driver down; it comes back configured", async (t) => {
    const r = await rig(t);
    if (r === null) return;
    const d = startDriver(r);
    await up(d);
    const states: string[] = [];
    d.on("state", (s) => states.push(s));
    await r.bluez.disconnect(r.address);
    await waitFor(() => states.includes("down"), "down", 3000);
    assert.equal(d.lastError?.code, "port-lost");
    assert.match(d.lastError!.message, /the BLE link to "RNode B1.." \(AA:BB:CC:00:01:..\) dropped/);
    await up(d);
    assert.equal(d.connections, 2);
    assert.equal((await r.bluez.stats(r.address))["connections"], 2);
    assert.equal(r.radio.firmware.snapshot().online, true);
    // The radio side ends the link: the same.
    states.length = 0;
    r.radio.dropLink();
    await waitFor(() => states.includes("down") && d.state === "up", "down and up again", 8000);
    assert.equal(d.connections, 3);
  });

  test("a radio that goes away (off, out of range) is retried until it is back, then reconfigured; traffic resumes", { skip: SOCAT ? false : "socat is not installed (apt-get install socat)" }, async (t) => {
    const r = await rig(t);
    if (r === null) return;
    const a = startDriver(r);
    const b = await serialPeer(r);
    await up(a);
    const gotB = collect(b);
    let n = 0;
    const traffic = setInterval(() => a.send(packet(100 + n++, 60)), 100);
    t.after(() => clearInterval(traffic));
    await waitFor(() => gotB.length >= 3, "traffic flowing");
    await r.radio.powerOff();
    await waitFor(() => a.state !== "up", "down", 3000);
    await waitFor(() => a.lastError?.code === "port-open-failed", () => `a failed reconnect (last error ${a.lastError?.message})`, 5000);
    assert.match(a.lastError!.message, /cannot connect to "RNode B1.."/);
    assert.equal(r.radio.firmware.snapshot().online, false);
    await sleep(300);
    const before = gotB.length;
    await r.radio.powerOn();
    await up(a);
    const fw = r.radio.firmware.snapshot();
    assert.deepEqual([fw.online, fw.frequencyHz, fw.bandwidthHz, fw.spreadingFactor], [true, 868_000_000, 500_000, 7], "configured again after the power cycle");
    await waitFor(() => gotB.length >= before + 3, "traffic again");
    clearInterval(traffic);
    assert.ok(a.connections >= 2);
  });

  test("a radio that appears later is picked up; stop() turns the radio off and releases the link", async (t) => {
    const r = await rig(t);
    if (r === null) return;
    const port = "ble://RNode Late";
    const d = startDriver(r, { port, carrier: bleCarrier(port, { ...BLE, scanTimeoutMs: 100 }) });
    await waitFor(() => d.lastError?.code === "port-missing", "port-missing");
    assert.equal(d.state, "down");
    await r.bluez.addRNode({ address: "AA:BB:CC:00:05:01", name: "RNode Late", bridge: path.join(r.dir, "radio.sock") });
    await up(d);
    assert.equal(r.radio.firmware.snapshot().online, true);
    await d.stop();
    assert.equal(d.state, "closed");
    assert.equal(r.radio.firmware.snapshot().online, false, "radio off written before the link closed");
    const stats = await r.bluez.stats("AA:BB:CC:00:05:01");
    assert.deepEqual([stats["connected"], stats["notifying"]], [false, false]);
  });
});
