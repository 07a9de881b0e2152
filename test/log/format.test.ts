// The store's record format: frames, segment headers, resynchronisation after damage, and the cheap entry
// walk used on open agreeing with the full decoder.
import { test } from "node:test";
import assert from "node:assert/strict";
import { concat, utf8 } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { createEntry, decodeEntry, type LogEntry } from "../../runtime/log/entry.js";
import {
  MAX_PAYLOAD_BYTES,
  RECORD_ENTRY,
  RECORD_FORK,
  checkSegmentHeader,
  encodeSegmentHeader,
  frameRecord,
  parseSegmentName,
  peekEntry,
  recordAt,
  resync,
  segmentName,
} from "../../runtime/log/format.js";
import { packMsgpack } from "../../runtime/wire/msgpack.js";

const rng = seededRandom(81);
const alice = Identity.generate(rng);

/** Entries with every width of seq and time, short and long kinds and bodies. */
function variety(): LogEntry[] {
  const out: LogEntry[] = [createEntry(alice, null, 0, "k", new Uint8Array(0))];
  const seqs = [1, 126, 127, 200, 255, 256, 65_535, 65_536, 2 ** 32 - 2, 2 ** 32 + 5];
  const times = [5, 1_763_700_000_000, 2 ** 32 - 1];
  const kinds = ["a", "x".repeat(31), "y".repeat(32), "z".repeat(64), "supply.handout"];
  const bodies = [new Uint8Array(0), rng.bytes(255), rng.bytes(256), rng.bytes(16_384), packMsgpack({ a: 1 })];
  for (const [i, seq] of seqs.entries()) {
    const prev = { author: alice.hash, seq, hash: rng.bytes(32) } as LogEntry;
    out.push(createEntry(alice, prev, times[i % times.length]!, kinds[i % kinds.length]!, bodies[i % bodies.length]!));
  }
  return out;
}

test("segment names and headers round-trip; a damaged header says why", () => {
  assert.equal(segmentName(7), "00000007.seg");
  assert.equal(parseSegmentName("00000007.seg"), 7);
  assert.equal(parseSegmentName("7.seg"), null);
  assert.deepEqual(checkSegmentHeader(encodeSegmentHeader(42)), { ok: true, number: 42 });
  const h = encodeSegmentHeader(42);
  h[9]! ^= 1;
  assert.deepEqual(checkSegmentHeader(h), { ok: false, reason: "segment header checksum mismatch" });
  assert.equal(checkSegmentHeader(h.subarray(0, 10)).ok, false);
});

test("a frame reads back as its record; cut short it is incomplete, damaged it is bad", () => {
  const e = variety()[3]!;
  const f = frameRecord(RECORD_FORK, e.encoded);
  const r = recordAt(f, 0);
  assert.equal(r.kind, "record");
  assert.deepEqual([(r as { type: number }).type, (r as { entry: Uint8Array }).entry], [RECORD_FORK, e.encoded]);
  for (let cut = 0; cut < f.length; cut++) assert.equal(recordAt(f.subarray(0, cut), 0).kind, "incomplete", `cut ${cut}`);
  for (let i = 0; i < f.length; i++) {
    const bad = f.slice();
    bad[i]! ^= 0x20;
    assert.notEqual(recordAt(bad, 0).kind, "record", `flipped byte ${i}`);
  }
  assert.throws(() => frameRecord(RECORD_ENTRY, new Uint8Array(MAX_PAYLOAD_BYTES)), RangeError);
});

test("after damage, resync finds the next record boundary and nothing in garbage", () => {
  const es = variety();
  const frames = es.slice(0, 4).map((e) => frameRecord(RECORD_ENTRY, e.encoded));
  const all = concat(...frames);
  const damaged = all.slice();
  damaged[10]! ^= 0xff;
  assert.equal(resync(damaged, 1), frames[0]!.length);
  assert.equal(resync(seededRandom(9).bytes(100_000), 0), -1);
});

test("the cheap walk used on open reads what the full decoder reads, for every field width", () => {
  for (const e of variety()) {
    const d = decodeEntry(e.encoded);
    assert.ok(d.ok, `decodes: seq ${e.seq}`);
    const p = peekEntry(e.encoded);
    assert.ok(p !== null, `walks: seq ${e.seq}, kind ${e.kind.length} bytes, body ${e.body.length} bytes`);
    assert.deepEqual([p.author, p.seq, p.prev, p.authorKey], [e.author, e.seq, e.prev, e.authorKey]);
  }
});

test("the cheap walk never throws and refuses anything cut short or with trailing bytes", () => {
  const e = variety()[5]!.encoded;
  for (let cut = 0; cut < e.length; cut++) assert.equal(peekEntry(e.subarray(0, cut)), null, `cut ${cut}`);
  assert.equal(peekEntry(concat(e, utf8("x"))), null);
  const r = seededRandom(82);
  for (let i = 0; i < 20_000; i++) {
    const m = e.slice();
    m[r.next32() % m.length] = r.next32() & 0xff;
    const p = peekEntry(m);
    if (p !== null) assert.equal(typeof p.seq, "number");
  }
  for (let i = 0; i < 5000; i++) peekEntry(r.bytes(r.next32() % 400));
});
