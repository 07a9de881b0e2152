// Resource building blocks: advertisement, request and hashmap-update codecs, map hashes and their collision
// guard, window adaptation, segment slicing, bounded bz2 and msgpack bytes as the reference's umsgpack writes them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { concat, equal, fromHex, toHex, type Bytes } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { advertisementFlags, decodeAdvertisement, encodeAdvertisement, type Advertisement } from "../../runtime/mesh/resource/advertisement.js";
import { bunzip2 } from "../../runtime/mesh/resource/bz2.js";
import {
  buildHashmap,
  decodeHashmapUpdate,
  decodeRequest,
  encodeHashmapUpdate,
  encodeRequest,
  mapKey,
  partKey,
} from "../../runtime/mesh/resource/hashmap.js";
import {
  COLLISION_GUARD_SIZE,
  Flag,
  MAX_EFFICIENT_SIZE,
  MAX_TRANSFER_SIZE,
  WINDOW_MAX_FAST,
  WINDOW_MAX_SLOW,
  WINDOW_MAX_VERY_SLOW,
  WINDOW_MIN,
} from "../../runtime/mesh/resource/limits.js";
import { packb, unpackb } from "../../runtime/mesh/resource/msgpack.js";
import { ResourceReceiver } from "../../runtime/mesh/resource/receiver.js";
import { segmentCount, segmentSlice } from "../../runtime/mesh/resource/segments.js";
import { TransferWindow } from "../../runtime/mesh/resource/window.js";
import { Context, decodePacket, encodePacket } from "../../runtime/wire/packet.js";
import { FakeLink } from "./resource.harness.js";

const sample = (over: Partial<Advertisement> = {}): Advertisement => ({
  transferSize: 1392,
  dataSize: 1300,
  parts: 3,
  hash: new Uint8Array(32).fill(1),
  randomHash: Uint8Array.of(9, 8, 7, 6),
  originalHash: new Uint8Array(32).fill(1),
  segmentIndex: 1,
  totalSegments: 1,
  requestId: null,
  flags: Flag.ENCRYPTED,
  hashmap: new Uint8Array(12).fill(3),
  ...over,
});

test("msgpack bytes are umsgpack's: smallest integers, bin for bytes, str 8 from 32 bytes, float64", () => {
  const cases: Array<[unknown, string]> = [
    [0, "00"], [127, "7f"], [128, "cc80"], [255, "ccff"], [256, "cd0100"], [65535, "cdffff"], [65536, "ce00010000"],
    [2 ** 32 - 1, "ceffffffff"], [-1, "ff"], [-33, "d0df"], [-200, "d1ff38"], [1.5, "cb3ff8000000000000"], [null, "c0"],
    [true, "c3"], ["a".repeat(31), "bf" + "61".repeat(31)], ["a".repeat(32), "d920" + "61".repeat(32)],
    [Uint8Array.of(1, 1, 1), "c403010101"], [[1, Uint8Array.of(2)], "9201c40102"],
    [{ name: new TextEncoder().encode("file.bin") }, "81a46e616d65c40866696c652e62696e"],
  ];
  for (const [value, bytes] of cases) assert.equal(toHex(packb(value)), bytes, JSON.stringify(value));
  assert.equal(toHex(packb(new Uint8Array(300)).subarray(0, 3)), "c5012c");
});

test("msgpack decoding of remote bytes yields a result and never throws", () => {
  assert.equal(unpackb(fromHex("92")).ok, false);
  assert.equal(unpackb(fromHex("0102")).ok, false);
  assert.equal(unpackb(fromHex("c70105")).ok, false);
  assert.equal(unpackb(fromHex("ddffffffff")).ok, false);
});

test("an advertisement survives encoding with every field, request id and flag", () => {
  const a = sample({ requestId: new Uint8Array(16).fill(4), flags: Flag.ENCRYPTED | Flag.IS_RESPONSE | Flag.HAS_METADATA, totalSegments: 2, segmentIndex: 2 });
  const d = decodeAdvertisement(encodeAdvertisement(a));
  assert.ok(d.ok);
  assert.deepEqual({ ...d.value }, a);
});

test("advertisement flags are the reference's bits: encrypted 1, compressed 2, split 4, request 8, response 16, metadata 32", () => {
  const none = { encrypted: false, compressed: false, split: false, isRequest: false, isResponse: false, hasMetadata: false };
  assert.equal(advertisementFlags({ ...none, encrypted: true }), 0x01);
  assert.equal(advertisementFlags({ ...none, compressed: true }), 0x02);
  assert.equal(advertisementFlags({ ...none, split: true }), 0x04);
  assert.equal(advertisementFlags({ ...none, isRequest: true }), 0x08);
  assert.equal(advertisementFlags({ ...none, isResponse: true }), 0x10);
  assert.equal(advertisementFlags({ ...none, hasMetadata: true }), 0x20);
});

test("malformed advertisements are refused with a reason", () => {
  const bad: Array<[string, Bytes]> = [
    ["not msgpack", fromHex("c1")],
    ["an array", packb([1, 2, 3])],
    ["missing q", packb({ t: 1, d: 1, n: 1, h: new Uint8Array(32), r: new Uint8Array(4), o: new Uint8Array(32), i: 1, l: 1, f: 1, m: new Uint8Array(4) })],
    ["short hash", encodeAdvertisement(sample({ hash: new Uint8Array(31) }))],
    ["long random hash", encodeAdvertisement(sample({ randomHash: new Uint8Array(5) }))],
    ["too large", encodeAdvertisement(sample({ transferSize: MAX_TRANSFER_SIZE + 1 }))],
    ["segment past the count", encodeAdvertisement(sample({ segmentIndex: 2 }))],
    ["no parts", encodeAdvertisement(sample({ parts: 0, hashmap: new Uint8Array(0) }))],
    ["hashmap of the wrong count", encodeAdvertisement(sample({ hashmap: new Uint8Array(8) }))],
    ["string request id", packb({ ...(unpackb(encodeAdvertisement(sample())) as { value: object }).value, q: "abc" })],
    ["negative size", packb({ ...(unpackb(encodeAdvertisement(sample())) as { value: object }).value, t: -5 })],
  ];
  for (const [what, bytes] of bad) {
    const r = decodeAdvertisement(bytes);
    assert.equal(r.ok, false, what);
  }
});

test("random and mutated advertisements never throw in decoding or acceptance (seeded)", (t) => {
  const seed = 0xad5;
  t.diagnostic(`advertisement fuzz seed ${seed}`);
  const rng = seededRandom(seed);
  const base = encodeAdvertisement(sample());
  const link = new FakeLink({ key: new Uint8Array(64), linkId: new Uint8Array(16), random: rng });
  for (let i = 0; i < 1500; i++) {
    let bytes: Bytes;
    if (i % 3 === 0) bytes = rng.bytes(rng.next32() % 200);
    else {
      bytes = base.slice(0, base.length - (i % 5 === 0 ? rng.next32() % base.length : 0));
      for (let k = 0; k < 1 + (rng.next32() % 4); k++) if (bytes.length > 0) bytes[rng.next32() % bytes.length] = rng.next32() & 0xff;
    }
    try {
      decodeAdvertisement(bytes);
      ResourceReceiver.accept(bytes, { link, random: rng, nowMs: 0, maxSizeBytes: 1 << 20 });
    } catch (e) {
      assert.fail(`seed ${seed} case ${i} (${toHex(bytes)}): ${(e as Error).message}`);
    }
  }
});

test("a request is flag, [last map hash], resource hash, requested map hashes", () => {
  const hash = new Uint8Array(32).fill(0xaa);
  const plain = encodeRequest({ exhausted: false, lastMapHash: null, hash, requested: fromHex("0102030405060708") });
  assert.equal(toHex(plain), "00" + "aa".repeat(32) + "0102030405060708");
  const more = encodeRequest({ exhausted: true, lastMapHash: fromHex("deadbeef"), hash, requested: new Uint8Array(0) });
  assert.equal(toHex(more), "ffdeadbeef" + "aa".repeat(32));
  const d = decodeRequest(more);
  assert.ok(d.ok);
  assert.equal(d.value.exhausted, true);
  assert.equal(toHex(d.value.lastMapHash!), "deadbeef");
  assert.ok(equal(d.value.hash, hash));
  assert.equal(decodeRequest(more.subarray(0, 36)).ok, false);
  assert.equal(decodeRequest(new Uint8Array(0)).ok, false);
});

test("a hashmap update is the resource hash and msgpack [segment, map hashes]", () => {
  const hash = new Uint8Array(32).fill(0x11);
  const u = encodeHashmapUpdate({ hash, segment: 2, hashes: fromHex("0a0b0c0d") });
  assert.equal(toHex(u), "11".repeat(32) + "9202c4040a0b0c0d");
  const d = decodeHashmapUpdate(u);
  assert.ok(d.ok && d.value.segment === 2 && toHex(d.value.hashes) === "0a0b0c0d");
  assert.equal(decodeHashmapUpdate(concat(hash, packb(["x", new Uint8Array(4)]))).ok, false);
  assert.equal(decodeHashmapUpdate(concat(hash, packb([1, new Uint8Array(3)]))).ok, false);
  assert.equal(decodeHashmapUpdate(hash).ok, false);
});

test("hashmap updates are written byte for byte as umsgpack would, for every integer and bin width", () => {
  const hash = new Uint8Array(32).fill(0x22);
  const random = seededRandom(8);
  for (const segment of [0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff]) {
    for (const count of [1, 63, 64, 74, 16383, 16384]) {
      const hashes = random.bytes(count * 4);
      const u = encodeHashmapUpdate({ hash, segment, hashes });
      // msgpackr with the resource settings writes umsgpack's bytes (resource-vectors checks it against them).
      assert.equal(toHex(u), toHex(concat(hash, packb([segment, hashes]))), `segment ${segment}, ${count} hashes`);
      const d = decodeHashmapUpdate(u);
      assert.ok(d.ok && d.value.segment === segment && equal(d.value.hashes, hashes), `segment ${segment}, ${count} hashes`);
    }
  }
  assert.throws(() => encodeHashmapUpdate({ hash, segment: -1, hashes: new Uint8Array(4) }), RangeError);
  assert.throws(() => encodeHashmapUpdate({ hash, segment: 2 ** 32, hashes: new Uint8Array(4) }), RangeError);
});

test("hashmap updates in other shapes go through the general decoder", () => {
  const hash = new Uint8Array(32).fill(0x33);
  const four = fromHex("01020304");
  // uint64 segment (0xcf), trailing bytes, a truncated bin, a map instead of an array.
  const u64 = concat(hash, fromHex("92cf0000000000000005c40401020304"));
  const d = decodeHashmapUpdate(u64);
  assert.ok(d.ok && d.value.segment === 5 && equal(d.value.hashes, four));
  assert.equal(decodeHashmapUpdate(concat(hash, fromHex("9205c4040102030400"))).ok, false);
  assert.equal(decodeHashmapUpdate(concat(hash, fromHex("9205c405010203"))).ok, false);
  assert.equal(decodeHashmapUpdate(concat(hash, fromHex("9205c40401020304"))).ok, true);
  assert.equal(decodeHashmapUpdate(concat(hash, fromHex("92d005c40401020304"))).ok, true);
  assert.equal(decodeHashmapUpdate(concat(hash, fromHex("92ffc40401020304"))).ok, false);
  assert.equal(decodeHashmapUpdate(concat(hash, fromHex("81a17805"))).ok, false);
});

test("a map hash is the first 4 bytes of SHA-256(part || random hash)", () => {
  const part = seededRandom(3).bytes(464);
  const random = Uint8Array.of(1, 2, 3, 4);
  const expected = createHash("sha256").update(part).update(random).digest().subarray(0, 4);
  assert.equal(partKey(part, random), mapKey(expected));
});

test("map hashes colliding within the guard window are refused, farther apart they are allowed", () => {
  // Find two 8-byte parts with the same map hash (a birthday search over 4-byte hashes).
  const random = Uint8Array.of(5, 6, 7, 8);
  const seen = new Map<number, Bytes>();
  let a: Bytes | null = null;
  let b: Bytes | null = null;
  for (let i = 0; a === null && i < 1_000_000; i++) {
    const part = new Uint8Array(8);
    new DataView(part.buffer).setUint32(0, i);
    const k = partKey(part, random);
    const prior = seen.get(k);
    if (prior !== undefined) [a, b] = [prior, part];
    else seen.set(k, part);
  }
  assert.ok(a !== null && b !== null);
  const filler = (n: number): Bytes[] => Array.from({ length: n }, (_, i) => Uint8Array.of(0xff, 0xfe, 0, 0, 0, 0, i >> 8, i & 0xff));
  assert.equal(buildHashmap(concat(a, ...filler(10), b), 8, random), null);
  assert.equal(buildHashmap(concat(a, ...filler(COLLISION_GUARD_SIZE - 1), b), 8, random), null);
  assert.notEqual(buildHashmap(concat(a, ...filler(COLLISION_GUARD_SIZE), b), 8, random), null);
});

test("a completed round grows the window and drags its minimum along", () => {
  const w = new TransferWindow();
  for (let i = 0; i < 20; i++) w.grow();
  assert.equal(w.window, WINDOW_MAX_SLOW);
  assert.equal(w.min, WINDOW_MAX_SLOW - 3);
});

test("a timed-out round shrinks window and maximum, never below the minimum", () => {
  const w = new TransferWindow();
  w.shrink();
  assert.deepEqual([w.window, w.max], [3, 8]); // max follows, and keeps within the flexibility of the window
  for (let i = 0; i < 20; i++) w.shrink();
  assert.equal(w.window, WINDOW_MIN);
  assert.ok(w.max >= w.min);
});

test("four fast rounds open the fast maximum; very slow rounds cap a never-fast link", () => {
  const fast = new TransferWindow();
  for (let i = 0; i < 3; i++) fast.noteFastRate(10_000);
  assert.equal(fast.max, WINDOW_MAX_SLOW);
  fast.noteFastRate(10_000);
  assert.equal(fast.max, WINDOW_MAX_FAST);
  const slow = new TransferWindow();
  slow.noteVerySlowRate(100);
  slow.noteVerySlowRate(100);
  assert.equal(slow.max, WINDOW_MAX_VERY_SLOW);
  const once = new TransferWindow();
  once.noteFastRate(10_000);
  once.noteVerySlowRate(100);
  once.noteVerySlowRate(100);
  assert.equal(once.max, WINDOW_MAX_SLOW);
});

test("segments cover the data once, the first leaving room for the metadata prefix", () => {
  assert.equal(segmentCount(MAX_EFFICIENT_SIZE, 0), 1);
  assert.equal(segmentCount(MAX_EFFICIENT_SIZE, 1), 2);
  const length = 3_000_000;
  const meta = 18;
  const total = segmentCount(length, meta);
  assert.equal(total, 3);
  let next = 0;
  for (let i = 1; i <= total; i++) {
    const s = segmentSlice(i, total, length, meta);
    assert.equal(s.dataOffset, next);
    assert.equal(s.dataLength + (i === 1 ? meta : 0) <= MAX_EFFICIENT_SIZE, true);
    next += s.dataLength;
  }
  assert.equal(next, length);
  assert.equal(segmentSlice(1, 3, length, meta).dataLength, MAX_EFFICIENT_SIZE - meta);
});

// Python: bz2.compress(b"hello world " * 1000)
const HELLO_BZ2 = fromHex(
  "425a6839314159265359bd9b12d80009c39180400006449080200070430204d55199479520ca90654832a41da906d4836a41daa41f54836a419520fc5dc914e14242f66c4b60",
);

test("bz2 from the reference inflates exactly", () => {
  const r = bunzip2(HELLO_BZ2, 12_000);
  assert.ok(r.ok);
  assert.equal(new TextDecoder().decode(r.value), "hello world ".repeat(1000));
});

test("bz2 output past the limit is refused before it is all inflated", () => {
  const r = bunzip2(HELLO_BZ2, 11_999);
  assert.equal(r.ok, false);
  assert.equal(!r.ok && r.reason, "too-large");
});

test("truncated or damaged bz2 streams fail without throwing", () => {
  assert.equal(bunzip2(HELLO_BZ2.subarray(0, 40), 1 << 20).ok, false);
  assert.equal(bunzip2(new Uint8Array(0), 1 << 20).ok, false);
  assert.equal(bunzip2(seededRandom(1).bytes(100), 1 << 20).ok, false);
  const damaged = HELLO_BZ2.slice();
  damaged[50]! ^= 0x10;
  assert.equal(bunzip2(damaged, 1 << 20).ok, false);
});

test("mutated bz2 streams never throw and never inflate past the limit (seeded)", (t) => {
  const seed = 0xb22;
  t.diagnostic(`bz2 fuzz seed ${seed}`);
  const rng = seededRandom(seed);
  for (let i = 0; i < 500; i++) {
    const bytes = HELLO_BZ2.slice(0, HELLO_BZ2.length - (i % 7 === 0 ? rng.next32() % HELLO_BZ2.length : 0));
    for (let k = 0; k < 1 + (rng.next32() % 3); k++) if (bytes.length > 4) bytes[4 + (rng.next32() % (bytes.length - 4))]! ^= 1 << (rng.next32() % 8);
    let r: ReturnType<typeof bunzip2>;
    try {
      r = bunzip2(bytes, 20_000);
    } catch (e) {
      assert.fail(`seed ${seed} case ${i} (${toHex(bytes)}): ${(e as Error).message}`);
    }
    if (r.ok) assert.ok(r.value.length <= 20_000, `seed ${seed} case ${i}`);
  }
});

test("a part whose map hash two requested parts share is stored at both, as the reference stores it", () => {
  // No honest sender makes such a hashmap (buildHashmap refuses it); a receiver must still not misplace data.
  const rng = seededRandom(12);
  const link = new FakeLink({ key: new Uint8Array(64).fill(5), linkId: new Uint8Array(16).fill(6), random: rng });
  const a = rng.bytes(464);
  const b = rng.bytes(464);
  const randomHash = Uint8Array.of(1, 2, 3, 4);
  const stream = concat(a, a, b);
  const data = stream.subarray(4); // unencrypted: the stream is the random prefix and the data
  const hash = new Uint8Array(createHash("sha256").update(data).update(randomHash).digest());
  const key = (part: Bytes): Bytes => {
    const k = partKey(part, randomHash);
    return Uint8Array.of(k >>> 24, (k >>> 16) & 0xff, (k >>> 8) & 0xff, k & 0xff);
  };
  const adv = encodeAdvertisement({
    transferSize: stream.length, dataSize: data.length, parts: 3, hash, randomHash, originalHash: hash,
    segmentIndex: 1, totalSegments: 1, requestId: null,
    flags: advertisementFlags({ encrypted: false, compressed: false, split: false, isRequest: false, isResponse: false, hasMetadata: false }),
    hashmap: concat(key(a), key(a), key(b)),
  });
  const accepted = ResourceReceiver.accept(adv, { link, random: rng, nowMs: 0, maxSizeBytes: 1 << 20 });
  assert.ok(accepted.ok);
  const r = accepted.value;
  const deliver = (part: Bytes): void => {
    const d = decodePacket(encodePacket(link.packet(Context.RESOURCE, part), 500));
    assert.ok(d.ok);
    r.handle(d.value, part, 1);
  };
  deliver(a);
  assert.equal(r.status, "transferring");
  deliver(a); // both places are filled: a repeat is unexpected
  assert.equal(r.drops["unexpected-part"], 1);
  deliver(b);
  assert.equal(r.status, "complete");
  assert.ok(equal(r.data!, data));
});
