// Log-sync wire forms: every message round-trips, the entries builder counts bytes exactly, the announce
// hint round-trips and decides when to sync, and no remote bytes make a session throw (seeded fuzz; the
// seed is printed on failure, KOS_FUZZ_SEED replays it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { toHex, utf8 } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { decideSync, decodeLogHint, encodeLogHint } from "../../runtime/log/sync/announce-hint.js";
import { EntriesBuilder } from "../../runtime/log/sync/entries-codec.js";
import { MessageType } from "../../runtime/log/sync/limits.js";
import { MemoryView } from "../../runtime/log/sync/memory-view.js";
import {
  decodeMessage, encodeHello, encodeSummaryChunks, encodeSummaryRequest, encodeWantChunks, encodeWants,
} from "../../runtime/log/sync/messages.js";
import { SyncSession } from "../../runtime/log/sync/session.js";
import { StreamReceiver, StreamSender, isStreamPacket } from "../../runtime/log/sync/stream.js";
import { WHOLE_LOG, bucketDigests, differingScope, inScope, summarize } from "../../runtime/log/sync/summary.js";
import { packMsgpack } from "../../runtime/wire/msgpack.js";
import { authors, grow, T0 } from "./sync-sim.js";

const SEED = Number(process.env["KOS_FUZZ_SEED"] ?? 20261205);

function sampleView(): MemoryView {
  const ids = authors(31, 4);
  const v = new MemoryView();
  ids.forEach((id, i) => grow(v, id, 5 + i * 3, { entryBytes: 150 + i * 40, kindOf: (s) => (s % 4 === 0 ? "alarm.smoke" : "supply.handout") }));
  return v;
}

test("HELLO, SUMMARY, WANT and SUMMARY_REQ round-trip", () => {
  const v = sampleView();
  const s = summarize(v);
  const hello = decodeMessage(encodeHello(s.digest, s.entryCount, bucketDigests(s.records, 4)), 431);
  assert.ok(hello.ok && hello.value.type === MessageType.HELLO);
  assert.equal(toHex(hello.value.digest), toHex(s.digest));
  assert.equal(hello.value.bucketDigests.length, 16);
  const chunks = encodeSummaryChunks(s.digest, s.records, 128, WHOLE_LOG);
  assert.ok(chunks.length > 1 && chunks.every((c) => c.length <= 128));
  const back = chunks.map((c) => decodeMessage(c, 128)).flatMap((d) => (d.ok && d.value.type === MessageType.SUMMARY ? d.value.records : []));
  assert.deepEqual(back.map((r) => [r.hex, r.seq, toHex(r.prefix)]), s.records.map((r) => [r.hex, r.seq, toHex(r.prefix)]));
  const wants = s.records.map((r, i) => ({ author: r.author, hex: r.hex, fromSeq: i + 1, count: 3 }));
  const w = decodeMessage(encodeWants(wants), 431);
  assert.ok(w.ok && w.value.type === MessageType.WANT);
  assert.deepEqual(w.value.wants.map((x) => [x.hex, x.fromSeq, x.count]), wants.map((x) => [x.hex, x.fromSeq, x.count]));
  assert.ok(encodeWantChunks([...wants, ...wants, ...wants, ...wants, ...wants], 128).every((m) => m.length <= 128));
  const scope = differingScope(s.records, new Uint8Array(16));
  const req = decodeMessage(encodeSummaryRequest(scope), 431);
  assert.ok(req.ok && req.value.type === MessageType.SUMMARY_REQ && req.value.scope.buckets === 4);
  for (const r of s.records) assert.ok(inScope(r.author, scope), "every bucket differs from all-zero digests");
});

test("the entries builder counts every byte: its size is the built message's length", () => {
  const v = sampleView();
  const all = v.entries();
  const rng = seededRandom(SEED);
  for (let round = 0; round < 300; round++) {
    const room = 200 + (rng.next32() % 3000);
    const b = new EntriesBuilder(room);
    for (let k = 0; k < 40; k++) {
      const e = all[rng.next32() % all.length]!;
      const pred = e.seq > 1 && rng.next32() % 2 === 0 ? v.get(e.author, e.seq - 1) : null;
      if (b.holding(e.author, e.seq) !== null) continue;
      const before = b.size;
      const predicted = b.sizeWith(e, b.continues(e) ? null : pred);
      if (b.add(e, b.continues(e) ? null : pred)) assert.equal(b.size, predicted);
      else assert.equal(b.size, before);
    }
    if (b.count === 0) continue;
    const m = b.build();
    assert.equal(m.length, b.size, `seed ${SEED} round ${round}`);
    assert.ok(m.length <= room);
    assert.ok(decodeMessage(m, room).ok, `seed ${SEED} round ${round}`);
  }
});

test("the announce hint round-trips and anything else decodes to null", () => {
  const s = summarize(sampleView());
  const bytes = encodeLogHint({ digest: s.digest, entryCount: s.entryCount });
  assert.ok(bytes.length <= 26, `${bytes.length} bytes`);
  const h = decodeLogHint(bytes);
  assert.ok(h !== null && toHex(h.digest) === toHex(s.digest) && h.entryCount === s.entryCount);
  for (const junk of [null, new Uint8Array(0), utf8("node name"), packMsgpack(["kos-log", 2, s.digest, 1]), packMsgpack(["kos-log", 1, utf8("short"), 1]), packMsgpack(["kos-log", 1, s.digest, -1])]) {
    assert.equal(decodeLogHint(junk), null);
  }
  const rng = seededRandom(SEED);
  for (let i = 0; i < 5000; i++) decodeLogHint(rng.bytes(rng.next32() % 40));
});

test("a session is opened by the node that lacks most, by the lower hash on a tie, never when equal or too soon", () => {
  const ours = { digest: new Uint8Array(8).fill(1), entryCount: 100 };
  const base = { ours, ourIdentityHash: new Uint8Array(16).fill(1), peerIdentityHash: new Uint8Array(16).fill(2), nowMs: 10_000_000, lastContactMs: null };
  const hint = (entryCount: number, fill = 9) => ({ digest: new Uint8Array(8).fill(fill), entryCount });
  assert.deepEqual(decideSync({ ...base, hint: null }), { open: false, reason: "no-hint" });
  assert.deepEqual(decideSync({ ...base, hint: hint(100, 1) }), { open: false, reason: "in-sync" });
  assert.deepEqual(decideSync({ ...base, hint: hint(150) }), { open: true, reason: "peer-ahead" });
  assert.deepEqual(decideSync({ ...base, hint: hint(100) }), { open: true, reason: "tie-break-ours" });
  assert.deepEqual(decideSync({ ...base, hint: hint(100), ourIdentityHash: new Uint8Array(16).fill(3) }), { open: false, reason: "tie-break-theirs" });
  assert.deepEqual(decideSync({ ...base, hint: hint(50) }), { open: false, reason: "peer-behind" });
  assert.deepEqual(decideSync({ ...base, hint: hint(50), lastContactMs: base.nowMs - 900_000 }), { open: true, reason: "peer-behind-overdue" });
  assert.deepEqual(decideSync({ ...base, hint: hint(150), lastContactMs: base.nowMs - 1_000 }), { open: false, reason: "too-soon" });
});

function mutate(rng: ReturnType<typeof seededRandom>, input: Uint8Array): Uint8Array {
  const b = Array.from(input);
  const n = 1 + (rng.next32() % 4);
  for (let i = 0; i < n; i++) {
    const op = rng.next32() % 4;
    const at = b.length === 0 ? 0 : rng.next32() % b.length;
    if (op === 0 && b.length > 0) b[at] = rng.next32() & 0xff;
    else if (op === 1) b.splice(at, 0, rng.next32() & 0xff);
    else if (op === 2) b.splice(at, 1);
    else b.length = rng.next32() % (b.length + 1);
  }
  return Uint8Array.from(b);
}

/** Frames that begin in a STREAM packet (walking its frame headers from the start offset). */
function framesStartingIn(p: Uint8Array): number {
  if ((p[0]! & 0x40) === 0) return 0;
  let at = 3 + ((p[1]! << 8) | p[2]!);
  let n = 0;
  while (at + 2 <= p.length) {
    n++;
    at += 2 + ((p[at]! << 8) | p[at + 1]!);
  }
  return n;
}

/** Whether a STREAM packet begins with the rest of a frame started earlier. */
function continues(p: Uint8Array): boolean {
  return (p[0]! & 0x40) === 0 || (p[1]! << 8) + p[2]! > 0;
}

/** The STREAM packets that carry `messages`, at `mdu`. */
function streamPackets(messages: Uint8Array[], mdu: number): Uint8Array[] {
  const sender = new StreamSender(mdu);
  const queue = messages.slice(1);
  const out = [sender.packet(messages[0]!, () => queue.shift() ?? null)];
  while (sender.active || queue.length > 0) out.push(sender.packet(sender.active ? null : queue.shift()!, () => queue.shift() ?? null));
  return out;
}

test("STREAM packets carry messages of any size back to back in full packets; a lost packet costs only the frames it touched", () => {
  const rng = seededRandom(SEED);
  const messages = [300, 20, 1000, 17, 5, 640, 90, 2500, 33].map((n, i) => rng.bytes(n).map((b) => (b === 0 ? i + 1 : b)));
  const packets = streamPackets(messages, 128);
  assert.ok(packets.every((p) => p.length <= 128 && isStreamPacket(p)));
  assert.ok(packets.slice(0, -1).every((p) => p.length >= 128 - 2 - 24), "every packet but the last is filled (bar a tail too short to start a frame)");
  const payload = messages.reduce((n, m) => n + m.length, 0);
  const overhead = packets.reduce((n, p) => n + p.length, 0) - payload;
  assert.ok(overhead <= packets.length * 3 + messages.length * 2 + 24 * packets.length, `overhead ${overhead} bytes`);
  const rx = new StreamReceiver();
  const back = packets.flatMap((p) => {
    const r = rx.receive(p);
    assert.deepEqual(r.dropped, []);
    return r.messages;
  });
  assert.deepEqual(back.map(toHex), messages.map(toHex));
  // Lose each packet in turn: what comes out is always a subset of the messages, in order, and only the
  // frames the lost packet carried a byte of are missing.
  for (let lost = 0; lost < packets.length; lost++) {
    const r2 = new StreamReceiver();
    const got: string[] = [];
    const drops: string[] = [];
    packets.forEach((p, i) => {
      if (i === lost) return;
      const r = r2.receive(p);
      got.push(...r.messages.map(toHex));
      drops.push(...r.dropped);
    });
    const want = messages.map(toHex);
    let k = 0;
    for (const g of got) {
      while (k < want.length && want[k] !== g) k++;
      assert.ok(k < want.length, `packet ${lost} lost: a message came out that was not sent, or out of order`);
    }
    const touched = framesStartingIn(packets[lost]!) + (lost > 0 && continues(packets[lost]!) ? 1 : 0);
    assert.ok(messages.length - got.length <= touched, `packet ${lost} lost: ${messages.length - got.length} messages lost, it touched ${touched}`);
    // A frame cut by the loss is counted when the next packet shows the gap (a lost last packet, or one of
    // whole frames only, leaves nothing to see: the session's retry asks for those entries again).
    if (lost + 1 < packets.length && continues(packets[lost + 1]!)) assert.ok(drops.includes("stream-gap"), `packet ${lost} lost: the gap is counted`);
  }
});

test("a HELLO of another protocol version is dropped and counted, and gets no answer", () => {
  const v = sampleView();
  const s = summarize(v);
  const session = new SyncSession({ view: new MemoryView(), linkMdu: 431, bitrateBps: 1e6, role: "responder", nowMs: T0, random: seededRandom(1) });
  session.receive(packMsgpack([MessageType.HELLO, 1, s.digest, s.entryCount, new Uint8Array(0)]), T0);
  assert.equal(session.stats.dropped["version"], 1);
  assert.deepEqual(session.takeMessages(), []);
  session.receive(encodeHello(s.digest, s.entryCount, new Uint8Array(0)), T0 + 1);
  assert.ok(session.takeMessages().length > 0, "the current version is answered");
});

test("malformed and oversized messages never throw: they are dropped and counted (fuzz)", () => {
  const rng = seededRandom(SEED);
  const source = sampleView();
  const s = summarize(source);
  // Valid messages of every type to mutate, entries among them.
  const valid: Uint8Array[] = [
    encodeHello(s.digest, s.entryCount, new Uint8Array(0)),
    encodeHello(s.digest, s.entryCount, bucketDigests(s.records, 8)),
    ...encodeSummaryChunks(s.digest, s.records, 431, WHOLE_LOG),
    encodeWants(s.records.map((r) => ({ author: r.author, hex: r.hex, fromSeq: 1, count: r.seq }))),
    ...streamPackets([utf8("abc"), new Uint8Array(900).fill(3), utf8("de")], 431),
    encodeSummaryRequest(differingScope(s.records, new Uint8Array(32))),
  ];
  const all = source.entries();
  for (let i = 0; i + 3 < all.length; i += 3) {
    const b = new EntriesBuilder(431);
    for (const e of all.slice(i, i + 3)) b.add(e, b.continues(e) || e.seq === 1 ? null : source.get(e.author, e.seq - 1));
    if (b.count > 0) valid.push(b.build());
  }
  const view = MemoryView.of(all.filter((e) => e.seq <= 3));
  let session = new SyncSession({ view, linkMdu: 431, bitrateBps: 1e6, role: "responder", nowMs: T0, random: rng });
  let now = T0;
  const dropped: Record<string, number> = {};
  const tally = (): void => {
    for (const [k, n] of Object.entries(session.stats.dropped)) dropped[k] = (dropped[k] ?? 0) + n;
  };
  for (let i = 0; i < 30_000; i++) {
    const kind = rng.next32() % 10;
    const input =
      kind < 2 ? rng.bytes(rng.next32() % 500)
      : kind < 3 ? rng.bytes(432 + (rng.next32() % 2000))
      : kind < 4 ? packMsgpack([rng.next32() % 8, ...Array.from({ length: rng.next32() % 8 }, () => (rng.next32() % 2 === 0 ? rng.bytes(rng.next32() % 40) : rng.next32() % 70000))])
      : mutate(rng, valid[rng.next32() % valid.length]!);
    try {
      session.receive(input, now);
      if (i % 7 === 0) {
        now += rng.next32() % 20_000;
        session.tick(now);
      }
      for (const m of session.takeMessages()) assert.ok(m.length <= 431, "what the session sends fits the link");
      session.takeEvents();
      if (i % 5000 === 4999) tally();
      if (i % 5000 === 4999) session = new SyncSession({ view, linkMdu: 431, bitrateBps: 1e6, role: "responder", nowMs: now, random: rng });
    } catch (e) {
      assert.fail(`seed ${SEED} case ${i} (KOS_FUZZ_SEED=${SEED} replays it): ${(e as Error).stack}`);
    }
  }
  assert.ok((dropped["bad-encoding"] ?? 0) > 1000 && (dropped["too-long"] ?? 0) > 1000, JSON.stringify(dropped));
  assert.equal(view.entries().every((e) => e.seq <= 3 || source.get(e.author, e.seq)?.hash.every((b, k) => b === e.hash[k]) === true), true, "only genuine entries joined");
});
