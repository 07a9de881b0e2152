// Unit tests for runtime/wire/kiss.ts: KISS as RNode firmware (Framing.h) and RNS 1.4.2 RNodeInterface use it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fromHex } from "../../runtime/core/bytes.js";
import { KISS_CMD, KISS_TNC_CMD, KissDecoder, kissEncode } from "../../runtime/wire/kiss.js";
import type { KissFrame } from "../../runtime/wire/kiss.js";

const frame = (command: number, hex: string): KissFrame => ({ command, payload: fromHex(hex) });

test("KISS_CMD is frozen", () => {
  assert.ok(Object.isFrozen(KISS_CMD));
  assert.ok(Object.isFrozen(KISS_TNC_CMD));
});

test("KISS_CMD carries the Framing.h command values", () => {
  const expected: Record<string, number> = {
    CMD_DATA: 0x00, CMD_FREQUENCY: 0x01, CMD_BANDWIDTH: 0x02, CMD_TXPOWER: 0x03, CMD_SF: 0x04, CMD_CR: 0x05,
    CMD_RADIO_STATE: 0x06, CMD_RADIO_LOCK: 0x07, CMD_DETECT: 0x08, CMD_IMPLICIT: 0x09, CMD_LEAVE: 0x0a,
    CMD_ST_ALOCK: 0x0b, CMD_LT_ALOCK: 0x0c, CMD_PROMISC: 0x0e, CMD_READY: 0x0f, CMD_STAT_RX: 0x21,
    CMD_STAT_TX: 0x22, CMD_STAT_RSSI: 0x23, CMD_STAT_SNR: 0x24, CMD_STAT_CHTM: 0x25, CMD_STAT_PHYPRM: 0x26,
    CMD_STAT_BAT: 0x27, CMD_STAT_CSMA: 0x28, CMD_STAT_TEMP: 0x29, CMD_BLINK: 0x30, CMD_RANDOM: 0x40,
    CMD_FB_EXT: 0x41, CMD_FB_READ: 0x42, CMD_FB_WRITE: 0x43, CMD_FB_READL: 0x44, CMD_DISP_READ: 0x66,
    CMD_DISP_INT: 0x45, CMD_DISP_ADDR: 0x63, CMD_DISP_BLNK: 0x64, CMD_DISP_ROT: 0x67, CMD_DISP_RCND: 0x68,
    CMD_NP_INT: 0x65, CMD_BT_CTRL: 0x46, CMD_BT_UNPAIR: 0x70, CMD_BT_PIN: 0x62, CMD_DIS_IA: 0x69,
    CMD_WIFI_MODE: 0x6a, CMD_WIFI_SSID: 0x6b, CMD_WIFI_PSK: 0x6c, CMD_WIFI_CHN: 0x6e, CMD_WIFI_IP: 0x84,
    CMD_WIFI_NM: 0x85, CMD_BOARD: 0x47, CMD_PLATFORM: 0x48, CMD_MCU: 0x49, CMD_FW_VERSION: 0x50,
    CMD_CFG_READ: 0x6d, CMD_ROM_READ: 0x51, CMD_ROM_WRITE: 0x52, CMD_CONF_SAVE: 0x53, CMD_CONF_DELETE: 0x54,
    CMD_DEV_HASH: 0x56, CMD_DEV_SIG: 0x57, CMD_FW_HASH: 0x58, CMD_HASHES: 0x60, CMD_FW_UPD: 0x61,
    CMD_UNLOCK_ROM: 0x59, ROM_UNLOCK_BYTE: 0xf8, CMD_RESET: 0x55, CMD_RESET_BYTE: 0xf8, CMD_LOG: 0x80,
    CMD_TIME: 0x81, CMD_MUX_CHAIN: 0x82, CMD_MUX_DSCVR: 0x83, CMD_UNKNOWN: 0xfe, CMD_ERROR: 0x90,
  };
  for (const [name, value] of Object.entries(expected)) {
    assert.equal((KISS_CMD as Record<string, number>)[name], value, name);
  }
});

test("KISS_CMD carries detect, radio state, error and multi-radio values", () => {
  assert.equal(KISS_CMD.DETECT_REQ, 0x73);
  assert.equal(KISS_CMD.DETECT_RESP, 0x46);
  assert.deepEqual([KISS_CMD.RADIO_STATE_OFF, KISS_CMD.RADIO_STATE_ON, KISS_CMD.RADIO_STATE_ASK], [0, 1, 0xff]);
  assert.deepEqual(
    [KISS_CMD.ERROR_INITRADIO, KISS_CMD.ERROR_TXFAILED, KISS_CMD.ERROR_EEPROM_LOCKED, KISS_CMD.ERROR_QUEUE_FULL,
      KISS_CMD.ERROR_MEMORY_LOW, KISS_CMD.ERROR_MODEM_TIMEOUT],
    [1, 2, 3, 4, 5, 6],
  );
  assert.equal(KISS_CMD.CMD_SEL_INT, 0x1f);
  assert.equal(KISS_CMD.CMD_INTERFACES, 0x71);
});

test("every KISS_CMD value is a byte", () => {
  for (const [name, value] of Object.entries(KISS_CMD)) assert.ok(Number.isInteger(value) && value >= 0 && value <= 255, name);
});

test("kissEncode writes FEND, command, payload, FEND", () => {
  assert.deepEqual(kissEncode(KISS_CMD.CMD_SF, Uint8Array.of(7)), fromHex("c00407c0"));
});

test("kissEncode escapes FEND as FESC TFEND and FESC as FESC TFESC", () => {
  assert.deepEqual(kissEncode(0, Uint8Array.of(0xc0, 0xdb)), fromHex("c000dbdcdbddc0"));
});

test("kissEncode of a frequency matches RNodeInterface.setFrequency for 868 MHz", () => {
  // 868000000 = 0x33BCA100, no byte needs escaping.
  assert.deepEqual(kissEncode(KISS_CMD.CMD_FREQUENCY, fromHex("33bca100")), fromHex("c00133bca100c0"));
});

test("kissEncode leaves TFEND and TFESC bytes in the payload alone", () => {
  assert.deepEqual(kissEncode(0, Uint8Array.of(0xdc, 0xdd)), fromHex("c000dcddc0"));
});

test("kissEncode of an empty payload is FEND, command, FEND", () => {
  assert.deepEqual(kissEncode(KISS_CMD.CMD_READY, new Uint8Array(0)), fromHex("c00fc0"));
});

test("kissEncode rejects commands that cannot travel unescaped", () => {
  for (const c of [0xc0, 0xdb, 0xfe]) assert.throws(() => kissEncode(c, new Uint8Array(0)), RangeError);
});

test("kissEncode rejects a command that is not a byte", () => {
  assert.throws(() => kissEncode(256, new Uint8Array(0)), RangeError);
  assert.throws(() => kissEncode(1.5, new Uint8Array(0)), RangeError);
});

test("kissEncode rejects a payload that is not a Uint8Array", () => {
  assert.throws(() => kissEncode(0, [1] as unknown as Uint8Array), TypeError);
});

test("decoder returns a frame delivered in one chunk", () => {
  assert.deepEqual(new KissDecoder().push(fromHex("c000010203c0")), [frame(0, "010203")]);
});

test("decoder returns a frame delivered one byte at a time", () => {
  const payload = Uint8Array.from({ length: 256 }, (_, i) => i);
  const d = new KissDecoder();
  const frames = [];
  for (const b of kissEncode(0, payload)) frames.push(...d.push(Uint8Array.of(b)));
  assert.deepEqual(frames, [{ command: 0, payload }]);
});

test("decoder ignores garbage before the first FEND", () => {
  const d = new KissDecoder();
  assert.deepEqual(d.push(fromHex("0102dbdc" + "c00055c0")), [frame(0, "55")]);
  assert.equal(d.stats.skippedBytes, 4);
});

test("decoder skips FEND FEND as an empty frame without counting a drop", () => {
  const d = new KissDecoder();
  assert.deepEqual(d.push(fromHex("c0c0c0c00055c0c0")), [frame(0, "55")]);
  assert.equal(d.stats.frames, 1);
  assert.deepEqual(d.stats.dropped, { oversize: 0, badEscape: 0 });
});

test("decoder returns a command with an empty payload", () => {
  assert.deepEqual(new KissDecoder().push(fromHex("c00fc0")), [frame(0x0f, "")]);
});

test("decoder completes an escape split across two chunks", () => {
  const d = new KissDecoder();
  assert.deepEqual(d.push(fromHex("c00001db")), []);
  assert.deepEqual(d.push(fromHex("dc02c0")), [frame(0, "01c002")]);
});

test("decoder reads the FEND closing a data frame as the opening of the next, recovering a lost FEND", () => {
  // RNodeInterface.readLoop would lose "22" here: it leaves frame mode after a CMD_DATA frame.
  const d = new KissDecoder();
  assert.deepEqual(d.push(fromHex("c00011c00022c0c00033c0")), [frame(0, "11"), frame(0, "22"), frame(0, "33")]);
});

test("decoder reads the FEND closing a non-data frame as the opening of the next", () => {
  // The reference's detect request (RNodeInterface.detect) shares FENDs between commands.
  const d = new KissDecoder();
  assert.deepEqual(d.push(fromHex("c00873c05000c04800c04900c0")), [
    frame(KISS_CMD.CMD_DETECT, "73"),
    frame(KISS_CMD.CMD_FW_VERSION, "00"),
    frame(KISS_CMD.CMD_PLATFORM, "00"),
    frame(KISS_CMD.CMD_MCU, "00"),
  ]);
});

test("decoder returns a multi-radio interface selection before its data frame", () => {
  const d = new KissDecoder();
  assert.deepEqual(d.push(fromHex("c01f02c0c000aabbc0")), [frame(KISS_CMD.CMD_SEL_INT, "02"), frame(0, "aabb")]);
});

test("decoder returns the command byte raw, without masking the port nibble", () => {
  assert.deepEqual(new KissDecoder().push(fromHex("c01099c0")), [frame(0x10, "99")]);
});

test("decoder skips a CMD_UNKNOWN command byte and reads the next byte as the command", () => {
  assert.deepEqual(new KissDecoder().push(fromHex("c0fe0077c0")), [frame(0, "77")]);
});

test("decoder keeps the byte after an invalid escape and drops the FESC, as the reference does", () => {
  const d = new KissDecoder();
  assert.deepEqual(d.push(fromHex("c00001db4102c0")), [frame(0, "014102")]);
  assert.equal(d.stats.badEscapes, 1);
});

test("decoder reads FESC FESC TFEND as FEND: the second FESC re-arms the escape", () => {
  const d = new KissDecoder();
  assert.deepEqual(d.push(fromHex("c000dbdbdcc0")), [frame(0, "c0")]);
  assert.equal(d.stats.badEscapes, 1);
});

test("decoder drops nothing for an FESC left armed at the closing FEND but adds no byte", () => {
  const d = new KissDecoder();
  assert.deepEqual(d.push(fromHex("c00001dbc0")), [frame(0, "01")]);
  assert.equal(d.stats.badEscapes, 1);
});

test("decoder does not carry an armed escape into the next frame", () => {
  assert.deepEqual(new KissDecoder().push(fromHex("c00001dbc0c000dcc0")), [frame(0, "01"), frame(0, "dc")]);
});

test("decoder with badEscape drop discards the frame and decodes the next one", () => {
  const d = new KissDecoder({ badEscape: "drop" });
  assert.deepEqual(d.push(fromHex("c00001db4102c0c00003c0")), [frame(0, "03")]);
  assert.equal(d.stats.dropped.badEscape, 1);
});

test("decoder drops a payload longer than maxFrameLength and decodes the next frame", () => {
  const d = new KissDecoder({ maxFrameLength: 100 });
  const good = new Uint8Array(100).fill(2);
  const frames = d.push(Uint8Array.from([...kissEncode(0, new Uint8Array(101).fill(1)), ...kissEncode(0, good)]));
  assert.deepEqual(frames, [{ command: 0, payload: good }]);
  assert.equal(d.stats.dropped.oversize, 1);
});

test("decoder accepts a payload of exactly maxFrameLength", () => {
  const p = new Uint8Array(64).fill(0xc0);
  assert.deepEqual(new KissDecoder({ maxFrameLength: 64 }).push(kissEncode(0, p)), [{ command: 0, payload: p }]);
});

test("decoder buffer never grows past maxFrameLength on a frame that never ends", () => {
  const d = new KissDecoder({ maxFrameLength: 3000 });
  d.push(fromHex("c000"));
  for (let i = 0; i < 10; i++) d.push(new Uint8Array(1000).fill(0x41));
  assert.ok(d.bufferCapacityBytes <= 3000);
  assert.equal(d.stats.dropped.oversize, 1);
});

test("reset forgets a partial frame", () => {
  const d = new KissDecoder();
  d.push(fromHex("c0000102"));
  d.reset();
  assert.deepEqual(d.push(fromHex("0304c00005c0")), [frame(0, "05")]);
});

test("decoder returns copies that later input does not overwrite", () => {
  const d = new KissDecoder();
  const [first] = d.push(fromHex("c00011c0"));
  d.push(fromHex("c00022c0"));
  assert.deepEqual(first, frame(0, "11"));
});

test("decoder counts bytes in and frames out", () => {
  const d = new KissDecoder();
  d.push(fromHex("c00011c0c00f01c0"));
  assert.equal(d.stats.bytesIn, 8);
  assert.equal(d.stats.frames, 2);
});

test("decoder constructor rejects impossible options", () => {
  assert.throws(() => new KissDecoder({ maxFrameLength: -1 }), RangeError);
  assert.throws(() => new KissDecoder({ badEscape: "ignore" as "keep" }), RangeError);
});

test("push rejects a chunk that is not a Uint8Array", () => {
  assert.throws(() => new KissDecoder().push([0xc0] as unknown as Uint8Array), TypeError);
});
