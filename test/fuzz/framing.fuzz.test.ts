// Property and fuzz tests for runtime/wire/hdlc.ts and kiss.ts, with models of the RNS 1.4.2 read loops and
// @serialport/parser-slip-encoder as oracles. Seeded: FUZZ_SEED=<n> replays; every failure message names its seed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { SlipEncoder } from "@serialport/parser-slip-encoder";
import { toHex } from "../../runtime/core/bytes.js";
import { MAX_FRAME_LENGTH } from "../../runtime/core/limits.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { HdlcDecoder, hdlcEncode } from "../../runtime/wire/hdlc.js";
import type { BadEscapePolicy } from "../../runtime/wire/hdlc.js";
import { KissDecoder, kissEncode } from "../../runtime/wire/kiss.js";
import type { KissFrame } from "../../runtime/wire/kiss.js";

const BASE_SEED = Number(process.env["FUZZ_SEED"] ?? 0x5eed) >>> 0;
const HDLC_SPECIALS = [0x7e, 0x7d, 0x5e, 0x5d];
const KISS_SPECIALS = [0xc0, 0xdb, 0xdc, 0xdd, 0x00, 0xfe];

class Rng {
  private readonly source: ReturnType<typeof seededRandom>;
  constructor(readonly seed: number) {
    this.source = seededRandom(seed);
  }
  /** Uniform-enough integer in 0..n-1. */
  int(n: number): number {
    return this.source.next32() % n;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** Random bytes of which about a quarter are drawn from `specials`. */
  bytes(length: number, specials: readonly number[]): Uint8Array {
    const out = this.source.bytes(length);
    for (let i = 0; i < length; i++) if ((out[i]! & 3) === 0) out[i] = this.pick(specials);
    return out;
  }
  /** Lengths 0..max, weighted toward small packets but reaching max. */
  length(max: number): number {
    const k = this.int(20);
    if (k === 0) return max;
    if (k < 10) return this.int(Math.min(65, max + 1));
    if (k < 17) return this.int(Math.min(601, max + 1));
    return this.int(max + 1);
  }
  /** Splits data into chunks: single bytes, small, large or whole. */
  chunks(data: Uint8Array): Uint8Array[] {
    const mode = this.int(4);
    if (mode === 3) return [data];
    const limit = mode === 0 && data.length <= 4096 ? 1 : mode === 1 ? 16 : 1024;
    const out: Uint8Array[] = [];
    for (let o = 0; o < data.length; ) {
      const n = 1 + this.int(limit);
      out.push(data.subarray(o, o + n));
      o += n;
    }
    return out;
  }
}

function cat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function feed<T>(decoder: { push(chunk: Uint8Array): T[] }, chunks: Uint8Array[]): T[] {
  const out: T[] = [];
  for (const c of chunks) out.push(...decoder.push(c));
  return out;
}

const hexes = (frames: Uint8Array[]): string[] => frames.map(toHex);

/** Python's bytes.replace: left to right, non-overlapping. */
function replaceAll(data: Uint8Array, from: readonly [number, number], to: number): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < data.length; i++) {
    if (data[i] === from[0] && data[i + 1] === from[1]) {
      out.push(to);
      i++;
    } else out.push(data[i]!);
  }
  return Uint8Array.from(out);
}

/** TCPInterface.read_loop on a whole stream: frames between flags, two replace passes, check_frame_len. */
function referenceHdlc(stream: Uint8Array, minFrameLength: number, maxFrameLength: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = stream.indexOf(0x7e);
  while (start !== -1) {
    const end = stream.indexOf(0x7e, start + 1);
    if (end === -1) break;
    const frame = replaceAll(replaceAll(stream.subarray(start + 1, end), [0x7d, 0x5e], 0x7e), [0x7d, 0x5d], 0x7d);
    if (frame.length !== 0 && frame.length >= minFrameLength && frame.length <= maxFrameLength) out.push(frame);
    start = end;
  }
  return out;
}

/**
 * RNodeInterface.readLoop's CMD_DATA path on a whole stream, with KissDecoder's two deliberate differences:
 * the reference leaves an armed escape set across FEND into the next frame (here every FEND disarms it), and
 * after closing a CMD_DATA frame it leaves frame mode until another FEND (here that FEND opens the next frame).
 */
function referenceKissData(stream: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let inFrame = false;
  let escape = false;
  let command = 0xfe;
  let data: number[] = [];
  for (let b of stream) {
    if (inFrame && b === 0xc0 && command === 0x00) {
      inFrame = true; // reference: false
      command = 0xfe; // reference: unchanged, as frame mode is left
      escape = false; // reference: unchanged
      out.push(Uint8Array.from(data));
      data = [];
    } else if (b === 0xc0) {
      inFrame = true;
      escape = false; // reference: unchanged
      command = 0xfe;
      data = [];
    } else if (inFrame) {
      if (data.length === 0 && command === 0xfe) command = b;
      else if (command === 0x00) {
        if (b === 0xdb) escape = true;
        else {
          if (escape) {
            if (b === 0xdc) b = 0xc0;
            if (b === 0xdd) b = 0xdb;
            escape = false;
          }
          data.push(b);
        }
      }
    }
  }
  return out;
}

/** Applies 1..4 random corruptions: overwrite, insert, delete, truncate, prepend garbage. */
function mutate(r: Rng, data: Uint8Array, specials: readonly number[]): Uint8Array {
  let bytes = Array.from(data);
  const n = 1 + r.int(4);
  for (let k = 0; k < n; k++) {
    const at = r.int(bytes.length + 1);
    const value = r.int(2) === 0 ? r.pick(specials) : r.int(256);
    switch (r.int(5)) {
      case 0:
        if (at < bytes.length) bytes[at] = value;
        break;
      case 1:
        bytes.splice(at, 0, value);
        break;
      case 2:
        bytes.splice(at, 1);
        break;
      case 3:
        bytes = bytes.slice(0, at);
        break;
      default:
        bytes = [...r.bytes(r.int(8), specials), ...bytes];
    }
  }
  return Uint8Array.from(bytes);
}

function kissCommand(r: Rng): number {
  for (;;) {
    const c = r.int(256);
    if (c !== 0xc0 && c !== 0xdb && c !== 0xfe) return c;
  }
}

function noFlags(data: Uint8Array, flag: number): Uint8Array {
  for (let i = 0; i < data.length; i++) if (data[i] === flag) data[i] = 0;
  return data;
}

test("hdlc: random payloads of every byte value and length 0..MAX survive encode, random chunking, decode", () => {
  for (let i = 0; i < 3000; i++) {
    const seed = BASE_SEED + i;
    const r = new Rng(seed);
    const payloads = Array.from({ length: 1 + r.int(4) }, () => r.bytes(r.length(MAX_FRAME_LENGTH), HDLC_SPECIALS));
    const decoder = new HdlcDecoder({ minFrameLength: 1 });
    const got = feed(decoder, r.chunks(cat(payloads.map(hdlcEncode))));
    assert.deepEqual(hexes(got), hexes(payloads.filter((p) => p.length > 0)), `seed ${seed}`);
  }
});

test("kiss: random commands and payloads of length 0..MAX survive encode, random chunking, decode", () => {
  for (let i = 0; i < 3000; i++) {
    const seed = BASE_SEED + i;
    const r = new Rng(seed);
    const frames: KissFrame[] = Array.from({ length: 1 + r.int(4) }, () => ({
      command: kissCommand(r),
      payload: r.bytes(r.length(MAX_FRAME_LENGTH), KISS_SPECIALS),
    }));
    const wire = cat(frames.map((f) => kissEncode(f.command, f.payload)));
    assert.deepEqual(feed(new KissDecoder(), r.chunks(wire)), frames, `seed ${seed}`);
  }
});

test("kiss: kissEncode equals SlipEncoder (bluetoothQuirk) on [command, ...payload]", () => {
  const encoder = new SlipEncoder({ bluetoothQuirk: true });
  for (let i = 0; i < 20000; i++) {
    const seed = BASE_SEED + i;
    const r = new Rng(seed);
    const command = kissCommand(r);
    const payload = r.bytes(r.length(600), KISS_SPECIALS);
    encoder.write(Buffer.from([command, ...payload]));
    const oracle = encoder.read() as Buffer;
    assert.equal(toHex(kissEncode(command, payload)), oracle.toString("hex"), `seed ${seed}`);
  }
});

test("hdlc: decoder never throws on random garbage and returns only in-bounds frames", () => {
  for (let i = 0; i < 20000; i++) {
    const seed = BASE_SEED + i;
    const r = new Rng(seed);
    const badEscape: BadEscapePolicy = i % 2 === 0 ? "keep" : "drop";
    const decoder = new HdlcDecoder({ maxFrameLength: 1 + r.int(300), minFrameLength: 0, badEscape });
    const frames = feed(decoder, r.chunks(r.bytes(r.int(400), HDLC_SPECIALS)));
    assert.equal(decoder.stats.frames, frames.length, `seed ${seed}`);
    for (const f of frames) assert.ok(f.length >= 1 && f.length <= decoder.maxFrameLength, `seed ${seed}`);
  }
});

test("kiss: decoder never throws on random garbage and returns only in-bounds frames", () => {
  for (let i = 0; i < 20000; i++) {
    const seed = BASE_SEED + i;
    const r = new Rng(seed);
    const badEscape = i % 2 === 0 ? "keep" : "drop";
    const decoder = new KissDecoder({ maxFrameLength: 1 + r.int(300), badEscape });
    const frames = feed(decoder, r.chunks(r.bytes(r.int(400), KISS_SPECIALS)));
    assert.equal(decoder.stats.frames, frames.length, `seed ${seed}`);
    for (const f of frames) {
      assert.ok(f.payload.length <= decoder.maxFrameLength && f.command !== 0xc0 && f.command !== 0xfe, `seed ${seed}`);
    }
  }
});

test("hdlc: on mutated frames the decoder returns exactly what the reference read loop passes up", () => {
  for (let i = 0; i < 20000; i++) {
    const seed = BASE_SEED + i;
    const r = new Rng(seed);
    const max = r.int(2) === 0 ? 64 : MAX_FRAME_LENGTH;
    const payloads = Array.from({ length: 1 + r.int(3) }, () => r.bytes(r.int(120), HDLC_SPECIALS));
    const wire = mutate(r, cat(payloads.map(hdlcEncode)), HDLC_SPECIALS);
    const got = feed(new HdlcDecoder({ maxFrameLength: max }), r.chunks(wire));
    assert.deepEqual(hexes(got), hexes(referenceHdlc(wire, 20, max)), `seed ${seed}`);
  }
});

test("hdlc: with badEscape drop the decoder returns a subsequence of what keep returns", () => {
  for (let i = 0; i < 20000; i++) {
    const seed = BASE_SEED + i;
    const r = new Rng(seed);
    const wire = mutate(r, cat([hdlcEncode(r.bytes(r.int(120), HDLC_SPECIALS)), hdlcEncode(r.bytes(40, HDLC_SPECIALS))]), HDLC_SPECIALS);
    const kept = hexes(new HdlcDecoder({ minFrameLength: 1 }).push(wire));
    const dropped = hexes(new HdlcDecoder({ minFrameLength: 1, badEscape: "drop" }).push(wire));
    let k = 0;
    for (const f of dropped) {
      while (k < kept.length && kept[k] !== f) k++;
      assert.ok(k < kept.length, `seed ${seed}: ${f} not among kept frames`);
      k++;
    }
  }
});

test("kiss: on mutated frames the decoder's CMD_DATA frames equal RNodeInterface.readLoop's", () => {
  for (let i = 0; i < 20000; i++) {
    const seed = BASE_SEED + i;
    const r = new Rng(seed);
    const frames = Array.from({ length: 1 + r.int(3) }, () =>
      kissEncode(r.int(3) === 0 ? kissCommand(r) : 0, r.bytes(r.int(120), KISS_SPECIALS)),
    );
    const wire = mutate(r, cat(frames), KISS_SPECIALS);
    const got = feed(new KissDecoder(), r.chunks(wire)).filter((f) => f.command === 0);
    assert.deepEqual(hexes(got.map((f) => f.payload)), hexes(referenceKissData(wire)), `seed ${seed}`);
  }
});

test("hdlc: buffer stays within maxFrameLength while 10 MB without a flag stream in", () => {
  const r = new Rng(BASE_SEED);
  const decoder = new HdlcDecoder();
  decoder.push(Uint8Array.of(0x7e));
  const garbage = noFlags(r.bytes(1 << 20, HDLC_SPECIALS), 0x7e);
  for (let mb = 0; mb < 10; mb++) {
    for (let o = 0; o < garbage.length; o += 65536) {
      assert.deepEqual(decoder.push(garbage.subarray(o, o + 65536)), [], `seed ${BASE_SEED}`);
      assert.ok(decoder.bufferCapacityBytes <= decoder.maxFrameLength, `seed ${BASE_SEED}`);
      assert.ok(decoder.bufferedBytes <= decoder.maxFrameLength, `seed ${BASE_SEED}`);
    }
  }
  assert.equal(decoder.stats.dropped.oversize, 1, `seed ${BASE_SEED}`);
  const good = r.bytes(500, HDLC_SPECIALS);
  assert.deepEqual(hexes(decoder.push(hdlcEncode(good))), [toHex(good)], `seed ${BASE_SEED}`);
});

test("kiss: buffer stays within maxFrameLength while 10 MB without a FEND stream in", () => {
  const r = new Rng(BASE_SEED);
  const decoder = new KissDecoder();
  decoder.push(Uint8Array.of(0xc0, 0x00));
  const garbage = noFlags(r.bytes(1 << 20, KISS_SPECIALS), 0xc0);
  for (let mb = 0; mb < 10; mb++) {
    for (let o = 0; o < garbage.length; o += 65536) {
      assert.deepEqual(decoder.push(garbage.subarray(o, o + 65536)), [], `seed ${BASE_SEED}`);
      assert.ok(decoder.bufferCapacityBytes <= decoder.maxFrameLength, `seed ${BASE_SEED}`);
      assert.ok(decoder.bufferedBytes <= decoder.maxFrameLength, `seed ${BASE_SEED}`);
    }
  }
  assert.equal(decoder.stats.dropped.oversize, 1, `seed ${BASE_SEED}`);
  const good = r.bytes(500, KISS_SPECIALS);
  assert.deepEqual(decoder.push(kissEncode(0, good)), [{ command: 0, payload: good }], `seed ${BASE_SEED}`);
});

test("hdlc: an oversized frame is dropped and the next good frame still decodes", () => {
  for (let i = 0; i < 500; i++) {
    const seed = BASE_SEED + i;
    const r = new Rng(seed);
    const max = i % 10 === 0 ? MAX_FRAME_LENGTH : 20 + r.int(600);
    const big = r.bytes(max + 1 + r.int(2 * max), HDLC_SPECIALS);
    const good = r.bytes(20 + r.int(max - 19), HDLC_SPECIALS);
    const decoder = new HdlcDecoder({ maxFrameLength: max });
    const got = feed(decoder, r.chunks(cat([hdlcEncode(big), hdlcEncode(good)])));
    assert.deepEqual(hexes(got), [toHex(good)], `seed ${seed}`);
    assert.equal(decoder.stats.dropped.oversize, 1, `seed ${seed}`);
  }
});

test("kiss: an oversized frame is dropped and the next good frame still decodes", () => {
  for (let i = 0; i < 500; i++) {
    const seed = BASE_SEED + i;
    const r = new Rng(seed);
    const max = i % 10 === 0 ? MAX_FRAME_LENGTH : 1 + r.int(600);
    const big = r.bytes(max + 1 + r.int(2 * max), KISS_SPECIALS);
    const good = { command: kissCommand(r), payload: r.bytes(r.int(max + 1), KISS_SPECIALS) };
    const decoder = new KissDecoder({ maxFrameLength: max });
    const wire = cat([kissEncode(kissCommand(r), big), kissEncode(good.command, good.payload)]);
    assert.deepEqual(feed(decoder, r.chunks(wire)), [good], `seed ${seed}`);
    assert.equal(decoder.stats.dropped.oversize, 1, `seed ${seed}`);
  }
});
