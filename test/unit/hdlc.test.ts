// Unit tests for runtime/wire/hdlc.ts: Reticulum's HDLC-like framing (RNS 1.4.2 TCPInterface.py).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fromHex } from "../../runtime/core/bytes.js";
import { HDLC_MIN_FRAME_LENGTH, HdlcDecoder, hdlcEncode } from "../../runtime/wire/hdlc.js";

/** A packet-sized payload (the decoder passes up only frames of 20 bytes or more by default). */
function packet(length: number, fill = 0x41): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

function cat(...parts: Array<Uint8Array | number[]>): Uint8Array {
  const arrays = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of arrays) {
    out.set(a, o);
    o += a.length;
  }
  return out;
}

test("hdlcEncode wraps a payload without special bytes in two flags", () => {
  assert.deepEqual(hdlcEncode(Uint8Array.from([1, 2, 3])), Uint8Array.from([0x7e, 1, 2, 3, 0x7e]));
});

test("hdlcEncode escapes FLAG as 7D 5E and ESC as 7D 5D", () => {
  assert.deepEqual(hdlcEncode(Uint8Array.from([0x7e, 0x7d])), fromHex("7e7d5e7d5d7e"));
});

test("hdlcEncode escapes ESC before FLAG so an escaped FLAG is not escaped again", () => {
  assert.deepEqual(hdlcEncode(Uint8Array.from([0x7d, 0x5e])), fromHex("7e7d5d5e7e"));
});

test("hdlcEncode of an empty payload is two flags", () => {
  assert.deepEqual(hdlcEncode(new Uint8Array(0)), Uint8Array.from([0x7e, 0x7e]));
});

test("hdlcEncode rejects a payload that is not a Uint8Array", () => {
  assert.throws(() => hdlcEncode([1, 2] as unknown as Uint8Array), TypeError);
});

test("decoder returns a frame delivered in one chunk", () => {
  const p = packet(40);
  assert.deepEqual(new HdlcDecoder().push(hdlcEncode(p)), [p]);
});

test("decoder returns a frame delivered one byte at a time", () => {
  const p = Uint8Array.from({ length: 256 }, (_, i) => i);
  const d = new HdlcDecoder();
  const frames = [];
  for (const b of hdlcEncode(p)) frames.push(...d.push(Uint8Array.of(b)));
  assert.deepEqual(frames, [p]);
});

test("decoder ignores garbage before the first flag", () => {
  const p = packet(30);
  const d = new HdlcDecoder();
  assert.deepEqual(d.push(cat([1, 2, 3, 0x7d, 0x5e], hdlcEncode(p))), [p]);
  assert.equal(d.stats.skippedBytes, 5);
});

test("decoder reads a shared flag as the end of one frame and the start of the next", () => {
  const a = packet(25, 1);
  const b = packet(25, 2);
  assert.deepEqual(new HdlcDecoder().push(cat([0x7e], a, [0x7e], b, [0x7e])), [a, b]);
});

test("decoder skips empty frames from back-to-back flags without counting a drop", () => {
  const p = packet(20);
  const d = new HdlcDecoder();
  assert.deepEqual(d.push(cat([0x7e, 0x7e, 0x7e], hdlcEncode(p), [0x7e, 0x7e])), [p]);
  assert.deepEqual(d.stats.dropped, { oversize: 0, badEscape: 0, tooShort: 0 });
});

test("decoder completes an escape split across two chunks", () => {
  const p = cat(packet(20), [0x7e]);
  const wire = hdlcEncode(p);
  const d = new HdlcDecoder();
  const split = wire.length - 2; // just after the ESC of the escaped FLAG
  assert.equal(wire[split - 1], 0x7d);
  assert.deepEqual(d.push(wire.subarray(0, split)), []);
  assert.deepEqual(d.push(wire.subarray(split)), [p]);
});

test("decoder drops frames of 19 bytes (HEADER_MINSIZE) as too short, like check_frame_len", () => {
  const d = new HdlcDecoder();
  assert.deepEqual(d.push(hdlcEncode(packet(19))), []);
  assert.equal(d.stats.dropped.tooShort, 1);
});

test("decoder passes up a frame of 20 bytes, the reference's shortest", () => {
  assert.equal(HDLC_MIN_FRAME_LENGTH, 20);
  assert.equal(new HdlcDecoder().push(hdlcEncode(packet(20))).length, 1);
});

test("decoder applies the too-short rule to the unescaped length", () => {
  const p = packet(19, 0x7e); // 40 bytes on the wire, 19 after unescaping
  assert.deepEqual(new HdlcDecoder().push(hdlcEncode(p)), []);
});

test("minFrameLength 1 lets short frames through", () => {
  const p = Uint8Array.of(9);
  assert.deepEqual(new HdlcDecoder({ minFrameLength: 1 }).push(hdlcEncode(p)), [p]);
});

test("decoder keeps an invalid escape as a literal ESC, as the reference's replace passes do", () => {
  const d = new HdlcDecoder({ minFrameLength: 1 });
  assert.deepEqual(d.push(fromHex("7e017d4102" + "7e")), [fromHex("017d4102")]);
  assert.equal(d.stats.badEscapes, 1);
  assert.equal(d.stats.dropped.badEscape, 0);
});

test("decoder keeps an ESC just before the closing flag as a literal 7D", () => {
  const d = new HdlcDecoder({ minFrameLength: 1 });
  assert.deepEqual(d.push(fromHex("7e01027d7e")), [fromHex("01027d")]);
  assert.equal(d.stats.badEscapes, 1);
});

test("decoder reads ESC ESC 5E as 7D 7E, matching replace(7D5E) then replace(7D5D)", () => {
  const d = new HdlcDecoder({ minFrameLength: 1 });
  assert.deepEqual(d.push(fromHex("7e7d7d5e7e")), [fromHex("7d7e")]);
});

test("decoder with badEscape drop discards the frame and decodes the next one", () => {
  const d = new HdlcDecoder({ badEscape: "drop" });
  const good = packet(24);
  assert.deepEqual(d.push(cat([0x7e], packet(24), [0x7d, 0x41], packet(3), hdlcEncode(good))), [good]);
  assert.equal(d.stats.dropped.badEscape, 1);
});

test("decoder drops a frame longer than maxFrameLength and decodes the next", () => {
  const d = new HdlcDecoder({ maxFrameLength: 100 });
  const good = packet(100, 2);
  assert.deepEqual(d.push(cat(hdlcEncode(packet(101, 1)), hdlcEncode(good))), [good]);
  assert.equal(d.stats.dropped.oversize, 1);
});

test("decoder accepts a frame of exactly maxFrameLength", () => {
  const p = packet(64);
  assert.deepEqual(new HdlcDecoder({ maxFrameLength: 64 }).push(hdlcEncode(p)), [p]);
});

test("decoder buffer never grows past maxFrameLength on a frame that never ends", () => {
  const d = new HdlcDecoder({ maxFrameLength: 3000 });
  d.push(Uint8Array.of(0x7e));
  for (let i = 0; i < 10; i++) d.push(packet(1000));
  assert.ok(d.bufferCapacityBytes <= 3000);
  assert.equal(d.stats.dropped.oversize, 1);
});

test("reset forgets a partial frame", () => {
  const d = new HdlcDecoder();
  d.push(cat([0x7e], packet(30)));
  d.reset();
  const p = packet(20, 3);
  assert.deepEqual(d.push(cat(packet(5), hdlcEncode(p))), [p]);
});

test("decoder returns copies that later input does not overwrite", () => {
  const d = new HdlcDecoder();
  const [first] = d.push(hdlcEncode(packet(20, 1)));
  d.push(hdlcEncode(packet(20, 2)));
  assert.deepEqual(first, packet(20, 1));
});

test("decoder counts bytes in and frames out", () => {
  const d = new HdlcDecoder();
  const wire = cat(hdlcEncode(packet(20)), hdlcEncode(packet(30)));
  d.push(wire);
  assert.equal(d.stats.bytesIn, wire.length);
  assert.equal(d.stats.frames, 2);
});

test("decoder constructor rejects impossible lengths", () => {
  assert.throws(() => new HdlcDecoder({ maxFrameLength: 0 }), RangeError);
  assert.throws(() => new HdlcDecoder({ maxFrameLength: 10, minFrameLength: 11 }), RangeError);
  assert.throws(() => new HdlcDecoder({ badEscape: "ignore" as "keep" }), RangeError);
});

test("push rejects a chunk that is not a Uint8Array", () => {
  assert.throws(() => new HdlcDecoder().push("7e" as unknown as Uint8Array), TypeError);
});
