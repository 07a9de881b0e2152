// kosd's radio airtime gate and budget file (runtime/host/radio.ts): packets within the sub-band's duty cycle
// go out at once, the rest wait in a bounded queue for the budget, and nothing goes out over it; the budget
// survives a restart through airtime.json, and a damaged file starts it spent.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { seededRandom, systemClock, type Logger } from "../../runtime/core/ports.js";
import { DutyCycleBudget } from "../../runtime/radio/duty-cycle.js";
import { rnodePacketAirtimeMs } from "../../runtime/radio/airtime.js";
import { formatIssue, loadConfigText } from "../../runtime/host/config/load.js";
import type { RNodeConfig } from "../../runtime/host/config/schema.js";
import { AirtimeBudgets, buildRadio, RADIO_LIMITS, RadioGate, radioPortName, subBandOf, type RadioDriver } from "../../runtime/host/radio.js";
import type { RNodeStatus } from "../../drivers/rnode/driver.js";

function rnodeConfig(extra: string): RNodeConfig {
  const r = loadConfigText(
    `[interfaces]\n  [[LoRa]]\n    type = RNodeInterface\n    enabled = yes\n    port = /dev/ttyUSB0\n    frequency = 869525000\n    bandwidth = 125000\n` +
      `    spreadingfactor = 7\n    codingrate = 5\n    txpower = 14\n${extra}`,
    "kosd.conf",
  );
  if (!r.ok) assert.fail(r.errors.map(formatIssue).join("\n"));
  return r.config.interfaces[0] as RNodeConfig;
}

class FakeRadio implements RadioDriver {
  state: "down" | "connecting" | "up" | "closed" = "up";
  connections = 1;
  sent: Uint8Array[] = [];
  send(frame: Uint8Array): boolean {
    if (this.state !== "up") return false;
    this.sent.push(frame);
    return true;
  }
  stop(): Promise<void> {
    this.state = "closed";
    return Promise.resolve();
  }
  status(): RNodeStatus {
    return {
      port: "/dev/ttyUSB0", phase: "up", lastError: null, device: { detected: true, firmware: "1.86", platform: 0x80, mcu: 0x81, board: 0x3d },
      radio: { frequency: null, bandwidth: null, txPower: null, spreadingFactor: null, codingRate: null, radioState: null, airtimeLimitShort: null, airtimeLimitLong: null },
      bitrateBps: 5468, modemLines: "unsupported", channel: null, phy: null, csma: null, battery: null, temperatureC: null, lastPacket: null, radioErrors: {}, queuedFrames: 0,
    };
  }
}

const packet = (n: number): Uint8Array => seededRandom(n).bytes(n);

test("a radio's sub-band comes from its region; no region, no budget", () => {
  assert.deepEqual(subBandOf(rnodeConfig("    region = eu868\n"))?.key, "eu868/g3");
  assert.equal(subBandOf(rnodeConfig("")), null);
});

test("packets within the duty cycle go at once; the rest wait in a bounded queue, are released by the budget, and expire", (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  const config = rnodeConfig("    region = eu868\n    board = lilygo-tbeam-supreme\n");
  // 2 % of a 30 s window: 600 ms of airtime.
  const budget = new DutyCycleBudget({ dutyCyclePct: 2, windowMs: 30_000, bucketMs: 1000 });
  let changes = 0;
  const radio = new FakeRadio();
  const gate = new RadioGate(radio, config, { key: "eu868/g3", budget, changed: () => changes++ }, systemClock);
  const air = gate.airtimeMs(100);
  // The board's SX1262 (sx126x preamble), as the firmware puts it on air.
  assert.equal(air, rnodePacketAirtimeMs(100, { spreadingFactor: 7, bandwidthHz: 125_000, codingRate: 5 }, "sx126x"));
  const fit = Math.floor(600 / air);
  assert.ok(fit >= 2, `${fit} packets fit`);
  for (let i = 0; i < fit; i++) assert.equal(gate.send(packet(100)), true);
  assert.equal(radio.sent.length, fit);
  assert.ok(changes > 0, "recorded airtime is saved");
  // Over the budget: held, not sent.
  for (let i = 0; i < RADIO_LIMITS.maxHeldPackets; i++) assert.equal(gate.send(packet(100)), true);
  assert.equal(radio.sent.length, fit);
  assert.equal(gate.status().airtime!.heldPackets, RADIO_LIMITS.maxHeldPackets);
  assert.equal(gate.send(packet(100)), false, "the queue is full");
  assert.deepEqual(gate.drops, { "duty-cycle-queue-full": 1 });
  assert.ok(budget.usedMs(Date.now()) <= budget.allowedMs);
  // The first airtime leaves the window 30 s after it ended: as many as fit go then.
  t.mock.timers.tick(30_000 + Math.ceil(air) - 5);
  assert.equal(radio.sent.length, fit);
  t.mock.timers.tick(10);
  assert.equal(radio.sent.length, 2 * fit);
  assert.ok(budget.usedMs(Date.now()) <= budget.allowedMs + 1e-6);
  // The next turn would come after a minute in the queue: the rest expire instead.
  t.mock.timers.tick(30_000);
  assert.equal(radio.sent.length, 2 * fit);
  assert.equal(gate.status().airtime!.heldPackets, 0);
  assert.deepEqual(gate.drops, { "duty-cycle-queue-full": 1, "duty-cycle-expired": RADIO_LIMITS.maxHeldPackets - fit });
});

test("a packet longer than the whole allowance is dropped; a radio that is down is not charged; no region, no gate", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 5_000 });
  const config = rnodeConfig("    region = eu868\n");
  const budget = new DutyCycleBudget({ dutyCyclePct: 0.01, windowMs: 1_000_000, bucketMs: 1000 }); // 100 ms
  const radio = new FakeRadio();
  const gate = new RadioGate(radio, config, { key: "k", budget, changed: () => undefined }, systemClock);
  // Without a board every chip family is considered and the longest airtime counts.
  const m = { spreadingFactor: 7, bandwidthHz: 125_000, codingRate: 5 };
  assert.equal(gate.airtimeMs(500), Math.max(...(["sx127x", "sx126x", "sx128x"] as const).map((c) => rnodePacketAirtimeMs(500, m, c))));
  assert.equal(gate.send(packet(500)), false);
  assert.deepEqual(gate.drops, { "duty-cycle-too-long": 1 });
  radio.state = "down";
  assert.equal(gate.send(packet(30)), false);
  assert.equal(budget.usedMs(Date.now()), 0);
  radio.state = "up";
  assert.equal(gate.send(packet(30)), true);
  assert.ok(budget.usedMs(Date.now()) > 0);
  await gate.stop();

  const free = new FakeRadio();
  const open = new RadioGate(free, rnodeConfig(""), null, systemClock);
  for (let i = 0; i < 100; i++) assert.equal(open.send(packet(500)), true);
  assert.equal(free.sent.length, 100);
  assert.equal(open.status().airtime, null);
});

function logger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { lines, log: { log: (level, message, fields) => lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`) } };
}

test("the airtime budget survives a restart; a damaged file or a refused state starts it spent, with a warning", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kos-airtime-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, "airtime.json");
  const opts = { dutyCyclePct: 10, windowMs: 3_600_000, bucketMs: 60_000 };
  const now = Date.now();

  const first = new AirtimeBudgets(file, logger().log, systemClock);
  first.load();
  const b = first.budget("eu868/g3", opts);
  assert.equal(b.usedMs(now), 0, "first start: nothing spent");
  assert.equal(first.budget("eu868/g3", opts), b, "one budget per sub-band, shared");
  b.record(1234, now);
  first.stop();
  const other = JSON.parse(fs.readFileSync(file, "utf8"));
  other.budgets["eu433/x"] = new DutyCycleBudget(opts).export();
  fs.writeFileSync(file, JSON.stringify(other));

  const second = new AirtimeBudgets(file, logger().log, systemClock);
  second.load();
  assert.equal(second.budget("eu868/g3", opts).usedMs(Date.now()), 1234);
  second.save();
  assert.ok(JSON.parse(fs.readFileSync(file, "utf8")).budgets["eu433/x"], "states of sub-bands not in use are kept");

  for (const [what, body] of [["not JSON", "{ this is not json"], ["wrong version", JSON.stringify({ version: 7, budgets: {} })]] as const) {
    fs.writeFileSync(file, body);
    const l = logger();
    const broken = new AirtimeBudgets(file, l.log, systemClock);
    broken.load();
    const spent = broken.budget("eu868/g3", opts);
    assert.equal(spent.remainingMs(Date.now()), 0, `${what}: starts spent`);
    assert.equal(spent.canTransmit(1, Date.now()), false);
    assert.match(l.lines.join("\n"), /warn airtime budget file unreadable: starting with the budget spent/);
    broken.save();
    const rewritten = JSON.parse(fs.readFileSync(file, "utf8"));
    assert.equal(rewritten.version, 1, `${what}: replaced by a sound file that still says spent`);
    assert.equal(DutyCycleBudget.fromState(rewritten.budgets["eu868/g3"], opts).ok, true);
  }

  fs.writeFileSync(file, JSON.stringify({ version: 1, budgets: { "eu868/g3": { ...new DutyCycleBudget({ ...opts, windowMs: 60_000 }).export() } } }));
  const l = logger();
  const refused = new AirtimeBudgets(file, l.log, systemClock);
  refused.load();
  assert.equal(refused.budget("eu868/g3", opts).remainingMs(Date.now()), 0);
  assert.match(l.lines.join("\n"), /airtime budget state refused.*60000 ms window/);
});

test("buildRadio drives ble:// radios through BlueZ on the system bus; tcp:// is refused with the reason", async (t) => {
  const config = (port: string, extra = ""): RNodeConfig => {
    const r = loadConfigText(`[interfaces]\n  [[LoRa]]\n    type = RNodeInterface\n    enabled = yes\n    port = ${port}\n    frequency = 869525000\n    bandwidth = 125000\n    spreadingfactor = 7\n    codingrate = 5\n${extra}`, "kosd.conf");
    if (!r.ok) assert.fail(r.errors.map(formatIssue).join("\n"));
    return r.config.interfaces[0] as RNodeConfig;
  };
  assert.equal(radioPortName(config("ble://RNode 3B87").port), "ble://RNode 3B87");
  assert.equal(radioPortName(config("ble://").port), "ble://");
  assert.equal(radioPortName(config("/dev/ttyACM0").port), "/dev/ttyACM0");
  const deps = { random: seededRandom(1), clock: systemClock, budgets: new AirtimeBudgets(null, logger().log, systemClock) };
  assert.throws(() => buildRadio(config("tcp://10.0.0.7"), deps, {}), /RNode radios over TCP \(tcp:\/\/\) are not driven yet/);
  // The system bus is wherever DBUS_SYSTEM_BUS_ADDRESS says: here nowhere, so the driver stays down with a
  // D-Bus error (a serial driver would report the device path missing instead) and keeps retrying.
  const saved = process.env["DBUS_SYSTEM_BUS_ADDRESS"];
  process.env["DBUS_SYSTEM_BUS_ADDRESS"] = `unix:path=${path.join(os.tmpdir(), `kos-no-bus-${process.pid}`, "bus")}`;
  const gate = buildRadio(config("ble://aa:bb:cc:dd:ee:ff", "    ble_adapter = hci1\n"), deps, {});
  t.after(async () => {
    await gate.stop();
    if (saved === undefined) delete process.env["DBUS_SYSTEM_BUS_ADDRESS"];
    else process.env["DBUS_SYSTEM_BUS_ADDRESS"] = saved;
  });
  assert.equal(gate.status().port, "ble://AA:BB:CC:DD:EE:FF");
  gate.driver.start();
  const deadline = Date.now() + 10_000;
  while (gate.driver.lastError === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.notEqual(gate.driver.state, "up");
  assert.ok(["port-lost", "port-open-failed"].includes(gate.driver.lastError!.code), gate.driver.lastError!.message);
  assert.match(gate.driver.lastError!.message, /^ble:\/\/AA:BB:CC:DD:EE:FF: .*(D-Bus|ENOENT)/);
});
