// Opening an RNode's serial port must not reset an ESP32 board or hold it in its bootloader. A PTY has no
// modem lines, so these tests open the port over serialport's mock binding, wrapped to record what the link
// asks of DTR and RTS, and play those calls through a model of the two-transistor auto-reset circuit of
// ESP32 boards (T-Beam, Heltec, LoRa32): EN is pulled low (reset) when RTS is asserted without DTR, IO0 low
// (boot into the bootloader) when DTR is asserted without RTS; equal lines leave the chip running.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SerialPortMock, type SerialPort } from "serialport";
import { kissEncode, KISS_CMD } from "../../runtime/wire/kiss.js";
import { SerialLink, type ModemLinePolicy } from "../../drivers/rnode/serial-link.js";
import type { DeviceEvent } from "../../drivers/rnode/protocol.js";

interface Lines { dtr?: boolean; rts?: boolean }
type Binding = typeof SerialPortMock.binding;
type PortClass = new (o: ConstructorParameters<typeof SerialPort>[0]) => SerialPort;
const MockBinding = SerialPortMock.binding;

/** A mock binding that records the open options and every modem-line call; `failSet` makes set() fail as a PTY's does. */
function recordingPortClass(failSet = false): { portClass: PortClass; calls: Lines[]; hupcl: () => boolean | undefined } {
  const calls: Lines[] = [];
  let hupcl: boolean | undefined;
  const binding: Binding = {
    ...MockBinding,
    async open(options) {
      hupcl = options.hupcl;
      const port = await MockBinding.open(options);
      const set = port.set.bind(port);
      port.set = async (o) => {
        calls.push({ ...(o.dtr !== undefined ? { dtr: o.dtr } : {}), ...(o.rts !== undefined ? { rts: o.rts } : {}) });
        if (failSet) throw Object.assign(new Error("Inappropriate ioctl for device"), { code: "ENOTTY" });
        return set(o);
      };
      return port;
    },
  };
  // SerialPortMock takes a binding given in its options over its own.
  class RecordingPort extends SerialPortMock {
    constructor(o: ConstructorParameters<typeof SerialPort>[0]) {
      super({ ...o, binding } as unknown as ConstructorParameters<typeof SerialPortMock>[0]);
    }
  }
  return { portClass: RecordingPort as unknown as PortClass, calls, hupcl: () => hupcl };
}

/** Plays modem-line calls through the auto-reset circuit; returns every state the chip saw after the open. */
function esp32AutoReset(calls: Lines[]): { dtr: boolean; rts: boolean; chip: "running" | "reset" | "bootloader" }[] {
  // Linux raises DTR and RTS when a tty opens: the state before the first call.
  let dtr = true;
  let rts = true;
  return calls.map((c) => {
    dtr = c.dtr ?? dtr;
    rts = c.rts ?? rts;
    return { dtr, rts, chip: dtr === rts ? "running" : rts ? "reset" : "bootloader" };
  });
}

let n = 0;
async function openLink(policy: ModemLinePolicy, failSet = false): Promise<{ link: SerialLink; calls: Lines[]; hupcl: boolean | undefined; path: string; events: DeviceEvent[] }> {
  const path = `/dev/ttyMOCK${n++}`;
  MockBinding.createPort(path, { echo: false, record: true });
  const rec = recordingPortClass(failSet);
  const events: DeviceEvent[] = [];
  const link = new SerialLink(
    { path, baudRate: 115200, modemLines: policy, partialFrameTimeoutMs: 100, maxWriteBufferBytes: 4096, portClass: rec.portClass },
    { event: (e) => events.push(e), drop: () => undefined, lost: () => undefined },
  );
  await link.open();
  return { link, calls: rec.calls, hupcl: rec.hupcl(), path, events };
}

test("by default both lines are asserted in one call: an ESP32 keeps running, an nRF52 sees its host (DTR)", async (t) => {
  const { link, calls, hupcl } = await openLink("assert");
  t.after(() => link.close());
  assert.deepEqual(calls, [{ dtr: true, rts: true }], "one call setting both lines, never one after the other");
  assert.ok(esp32AutoReset(calls).every((s) => s.chip === "running"));
  assert.equal(link.modemLines, "set");
  assert.equal(hupcl, false, "asks not to drop the lines at close");
});

test("deassert releases both lines together; leave makes no call at all", async (t) => {
  const released = await openLink("deassert");
  t.after(() => released.link.close());
  assert.deepEqual(released.calls, [{ dtr: false, rts: false }]);
  assert.ok(esp32AutoReset(released.calls).every((s) => s.chip === "running"));
  const left = await openLink("leave");
  t.after(() => left.link.close());
  assert.deepEqual(left.calls, []);
  assert.equal(left.link.modemLines, "left");
});

test("the model catches a sequence that would reset or hold the board: setting the lines one at a time", () => {
  assert.deepEqual(esp32AutoReset([{ dtr: false }, { rts: false }]).map((s) => s.chip), ["reset", "running"]);
  assert.deepEqual(esp32AutoReset([{ rts: false }, { dtr: false }]).map((s) => s.chip), ["bootloader", "running"]);
});

test("a port without modem lines (a PTY, some adapters) is recorded as unsupported and still carries frames", async (t) => {
  const { link, calls, events } = await openLink("assert", true);
  t.after(() => link.close());
  assert.deepEqual(calls, [{ dtr: true, rts: true }]);
  assert.equal(link.modemLines, "unsupported");
  assert.equal(link.isClosed, false);
  // The radio's answer to detect arrives as an event: the link works without the lines.
  const port = (link as unknown as { port: { port: { emitData(d: Buffer): void } } }).port;
  port.port.emitData(Buffer.from(kissEncode(KISS_CMD.CMD_DETECT, Uint8Array.of(KISS_CMD.DETECT_RESP))));
  const deadline = Date.now() + 2000;
  while (events.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(events, [{ kind: "detect", ok: true }]);
});
