// kosd on an RNode over Bluetooth LE, end to end: kosd (the bundle) with an RNodeInterface on
// ble://ADDRESS, against BlueZ's D-Bus API as python3-dbusmock serves it on a private bus
// (test/drivers/ble-mock: the bluez5 template plus the RNode's GATT service, bridged to hil/rnode's firmware
// model), found through DBUS_SYSTEM_BUS_ADDRESS as kosd finds the real system bus. A second kosd hears it on
// a serial-attached emulated radio (socat PTY) on the same simulated medium.
//
// What it checks: a radio BlueZ does not know yet at start leaves the interface down with port-missing and
// kosd running; once it appears, the interface comes up configured (kosctl status: frequency, SF, firmware,
// the ble:// port); packets flow both ways over the air (the serial node probes the BLE node: a path request
// out, its answer back, the proof); a link dropped from the BlueZ side and a radio switched off (BlueZ cannot
// connect) take the interface down with the reason, and it comes back configured on the same kosd process,
// with traffic again. Skipped, with the reason printed, where dbus, python3-dbusmock or socat is missing or
// the mock will not start.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { toHex } from "../../runtime/core/bytes.js";
import { destinationHashOf } from "../../runtime/wire/destination.js";
import { Medium } from "../../hil/medium/medium.js";
import { RealtimeAir } from "../../hil/rnode/air.js";
import { RNodeEmulator } from "../../hil/rnode/emulator.js";
import { availability, MockBluez } from "../drivers/ble-mock/bluez.js";
import { BleRadio } from "../drivers/ble-mock/radio.js";
import { eventually, kosctl, makeNode, startNode, stopNode, tempRoot, type NodeHandle } from "./mesh-harness.js";

const SOCAT = spawnSync("socat", ["-V"], { stdio: "ignore" }).status === 0;
const MOCK = availability();
const SKIP = MOCK ?? (SOCAT ? null : "socat is not installed (apt-get install socat)");
if (SKIP !== null) process.stdout.write(`# kosd over BLE skipped: ${SKIP}\n`);

const ADDRESS = "AA:BB:CC:00:0B:01";
const NAME = "RNode kosd";

const radioConfig = (port: string, extra = ""): string =>
  `  respond_to_probes = yes\n[interfaces]\n  [[LoRa]]\n    type = RNodeInterface\n    enabled = yes\n    port = ${port}\n` +
  `    frequency = 869525000\n    bandwidth = 125000\n    spreadingfactor = 7\n    codingrate = 5\n    txpower = 14\n` +
  `    board = lilygo-tbeam-supreme\n    region = eu868\n${extra}`;

type Json = Record<string, any>;

async function radioOf(n: NodeHandle): Promise<Json | null> {
  const s = await kosctl(n, ["status", "--json"], 10_000);
  if (s.code !== 0) return null;
  return (JSON.parse(s.stdout).interfaces as Json[]).find((i) => i["type"] === "RNodeInterface") ?? null;
}

async function waitRadio(n: NodeHandle, cond: (i: Json) => boolean, timeoutMs: number, what: string): Promise<Json> {
  let last: Json | null = null;
  const ok = await eventually(async () => {
    last = await radioOf(n);
    return last !== null && cond(last);
  }, timeoutMs, 200);
  assert.ok(ok, `${n.name}: ${what}; last status ${JSON.stringify(last)}\n${n.output.slice(-1500)}`);
  return last!;
}

test("kosd drives an RNode over BLE (BlueZ mock): absent at start, up configured, traffic, disconnect and power cycle without a restart", { skip: SKIP ?? false, timeout: 240_000 }, async (t) => {
  let bluez: MockBluez;
  try {
    bluez = await MockBluez.start();
  } catch (e) {
    t.skip(`the BlueZ mock did not start: ${(e as Error).message}`);
    process.stdout.write(`# kosd over BLE skipped: the BlueZ mock did not start: ${(e as Error).message}\n`);
    return;
  }
  const root = tempRoot(t);
  const air = new RealtimeAir(new Medium({ seed: 17, defaultPathLossDb: 110 }));
  const bleRadio = new BleRadio({ air, radioId: "ble", socketPath: path.join(root, "radio.sock"), seed: 5 });
  const serial = new RNodeEmulator({ air, ptyPath: path.join(root, "tty-s"), radioId: "serial", board: "tbeam-supreme" });
  const a = makeNode(root, "a", radioConfig(`ble://${ADDRESS.toLowerCase()}`, "    ble_adapter = hci0\n"));
  a.env = { DBUS_SYSTEM_BUS_ADDRESS: bluez.busAddress };
  const b = makeNode(root, "b", radioConfig(serial.ptyPath));
  t.after(async () => {
    for (const n of [a, b]) await stopNode(n);
    await serial.close();
    await bleRadio.close();
    air.close();
    await bluez.stop();
  });
  await bluez.addAdapter("hci0");
  await bleRadio.powerOn();
  await serial.plug();

  // BlueZ does not know the radio yet (not paired with this host): the interface is down, kosd runs on.
  await startNode(a);
  const missing = await waitRadio(a, (i) => i["radio"]["lastError"]?.["code"] === "port-missing", 20_000, "port-missing before BlueZ knows the radio");
  assert.notEqual(missing["state"], "up");
  assert.equal(missing["radio"]["port"], `ble://${ADDRESS}`);
  assert.match(missing["radio"]["lastError"]["message"], /no BLE RNode AA:BB:CC:00:0B:01 among the devices BlueZ knows or found in a \d+ ms scan/);
  assert.doesNotMatch(a.output, /interface not started/);

  // Paired now: the next attempt finds it, and the interface comes up with the radio configured.
  await bluez.addRNode({ address: ADDRESS, name: NAME, bridge: path.join(root, "radio.sock") });
  await startNode(b);
  const upA = await waitRadio(a, (i) => i["state"] === "up", 40_000, "radio up over BLE");
  const r = upA["radio"];
  assert.equal(r["device"]["firmware"], "1.86");
  assert.deepEqual([r["frequencyHz"], r["bandwidthHz"], r["spreadingFactor"], r["codingRate"], r["txPowerDbm"]], [869_525_000, 125_000, 7, 5, 14]);
  assert.deepEqual([r["region"], r["subBand"], r["airtime"]["dutyCyclePct"]], ["eu868", "g3", 10]);
  assert.equal(r["connections"], 1);
  const fw = bleRadio.firmware.snapshot();
  assert.deepEqual([fw.online, fw.frequencyHz, fw.bandwidthHz, fw.spreadingFactor, fw.codingRate, fw.txPowerDbm], [true, 869_525_000, 125_000, 7, 5, 14], "the radio itself was configured over BLE");
  const text = (await kosctl(a, ["status"])).stdout;
  assert.match(text, /Radio {3}: 869\.525 MHz {2}125 kHz {2}SF7 {2}CR4\/5 {2}14 dBm {2}\(eu868 g3, lilygo-tbeam-supreme\)/);
  assert.match(text, /Port {4}: ble:\/\/AA:BB:CC:00:0B:01, firmware 1\.86, board 0x3d/);
  await waitRadio(b, (i) => i["state"] === "up", 20_000, "serial radio up");

  // Traffic both ways over the air: B probes A (a path request goes out from B, A answers over BLE, B proves).
  const pid = a.child!.pid;
  const probeA = toHex(destinationHashOf("rnstransport.probe", a.identity().hash));
  const probe = async (): Promise<boolean> => eventually(async () => (await kosctl(b, ["probe", probeA, "--timeout", "15"], 40_000)).code === 0, 60_000, 500);
  assert.ok(await probe(), `B could not probe A over the air\n${a.output.slice(-1500)}\n${b.output.slice(-1500)}`);
  const afterProbe = (await radioOf(a))!;
  assert.ok(afterProbe["txBytes"] > 0 && afterProbe["rxBytes"] > 0, `A sent and received over BLE: ${JSON.stringify([afterProbe["txBytes"], afterProbe["rxBytes"]])}`);
  assert.equal(afterProbe["radio"]["lastPacket"]["rssiDbm"], 14 - 110, "A heard B's packets with their RSSI");
  const stats = await bluez.stats(ADDRESS);
  assert.ok(Number(stats["writes"]) > 0 && Number(stats["notifications"]) > 0, JSON.stringify(stats));
  assert.equal(stats["connections"], 1);

  // The link drops on the BlueZ side: down with the reason, then up again, configured, on the same process.
  await bluez.disconnect(ADDRESS);
  const dropped = await waitRadio(a, (i) => i["state"] !== "up" || i["radio"]["connections"] >= 2, 10_000, "the dropped link seen");
  assert.equal(dropped["radio"]["lastError"]["code"], "port-lost");
  assert.match(dropped["radio"]["lastError"]["message"], /the BLE link to "RNode kosd" \(AA:BB:CC:00:0B:01\) dropped/);
  const back = await waitRadio(a, (i) => i["state"] === "up" && i["radio"]["connections"] === 2, 30_000, "up again after the disconnect");
  assert.equal(back["radio"]["device"]["firmware"], "1.86");
  assert.equal((await bluez.stats(ADDRESS))["connections"], 2);
  assert.equal(a.child?.pid, pid);
  assert.equal(a.child?.exitCode, null);
  assert.equal(a.output.match(/interface state interface=RNodeInterface\[LoRa\] state=up/g)?.length, 2, "kosd logged the interface up twice");

  // The radio switched off (or out of range): BlueZ cannot connect; the driver retries until it is back.
  await bleRadio.powerOff();
  const off = await waitRadio(a, (i) => i["state"] !== "up" && i["radio"]["lastError"]?.["code"] === "port-open-failed", 20_000, "a failed reconnect while the radio is off");
  assert.match(off["radio"]["lastError"]["message"], /cannot connect to "RNode kosd" \(AA:BB:CC:00:0B:01\).*org\.bluez\.Error\.Failed/);
  assert.match((await kosctl(a, ["status"])).stdout, /Error {3}: .*cannot connect to "RNode kosd".*\(port-open-failed\)/);
  assert.equal(bleRadio.firmware.snapshot().online, false);
  await bleRadio.powerOn();
  const again = await waitRadio(a, (i) => i["state"] === "up" && i["radio"]["connections"] === 3, 90_000, "up again after the power cycle");
  assert.equal(again["radio"]["frequencyHz"], 869_525_000);
  const fw2 = bleRadio.firmware.snapshot();
  assert.deepEqual([fw2.online, fw2.frequencyHz, fw2.spreadingFactor], [true, 869_525_000, 7], "configured again after the power cycle");
  assert.equal(a.child?.pid, pid, "kosd not restarted");

  // Traffic again: a probe answered over the new link (the path is known; the answer and proof are new packets).
  const rxBefore = again["rxBytes"] as number;
  assert.ok(await probe(), `B could not probe A after the reconnects\n${a.output.slice(-1500)}`);
  const end = (await radioOf(a))!;
  assert.ok(end["rxBytes"] > rxBefore, "A received over the new link");

  // kosd stops: the radio is switched off over BLE and the link released.
  assert.equal(await stopNode(a), 0);
  assert.equal(bleRadio.firmware.snapshot().online, false, "radio off written before the link closed");
  const last = await bluez.stats(ADDRESS);
  assert.deepEqual([last["connected"], last["notifying"]], [false, false]);
});
