// The log store: durable appends with group commit, chain checks, forks as evidence, reads, follow, bundles.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { toHex, utf8 } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { BundleError, exportBundle, importBundle } from "../../runtime/log/bundle.js";
import { crc32c } from "../../runtime/log/crc32c.js";
import { createEntry, verifyChain, type LogEntry } from "../../runtime/log/entry.js";
import { nodeLogFs, type LogFs } from "../../runtime/log/fsio.js";
import { LogStore, type LogStoreOptions } from "../../runtime/log/store.js";
import { AUTHOR_OVERHEAD_BYTES, FORK_OVERHEAD_BYTES, LogIndex, MAX_FORKS_INDEXED, RECENT_PER_AUTHOR, SPARSE_EVERY, TAIL_LOCATIONS } from "../../runtime/log/index.js";
import { packMsgpack } from "../../runtime/wire/msgpack.js";

const rng = seededRandom(61);
const alice = Identity.generate(rng);
const bob = Identity.generate(rng);
const T0 = 1_763_700_000_000;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kos-log-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function open(dir: string, opts: Partial<LogStoreOptions> = {}): Promise<LogStore> {
  return LogStore.open({ dir: path.join(dir, "log"), ...opts });
}

function chain(who: Identity, n: number, from: LogEntry | null = null, kind = "supply.handout"): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = 0; i < n; i++) out.push(createEntry(who, out[i - 1] ?? from, T0 + i, kind, packMsgpack({ i })));
  return out;
}

/** Every entry of every author, read back through range, verifies as a chain. */
function assertChainsVerify(store: LogStore): void {
  for (const h of store.heads()) {
    const all = store.range(h.author, 1, h.count);
    assert.equal(all.length, h.seq, `all of <${toHex(h.author)}> read back`);
    assert.deepEqual(verifyChain(all), { ok: true });
    assert.deepEqual(all[all.length - 1]!.hash, h.hash);
  }
}

test("CRC-32C gives the check value of RFC 3720", () => {
  assert.equal(crc32c(utf8("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  const data = seededRandom(1).bytes(1000);
  assert.equal(crc32c(data.subarray(300), crc32c(data.subarray(0, 300))), crc32c(data), "continues across pieces");
});

test("local appends chain, survive a reopen, and roll over to new segments at the size limit", async (t) => {
  const dir = tempDir(t);
  let store = await open(dir, { segmentMaxBytes: 4096 });
  for (let i = 0; i < 60; i++) await store.appendLocal(alice, "note", packMsgpack({ i, text: "x".repeat(40) }), T0 + i);
  await Promise.all(Array.from({ length: 40 }, (_, i) => store.appendLocal(bob, "note", packMsgpack({ i }), T0 + i)));
  assert.ok(store.stats().segments > 2, `rolled: ${store.stats().segments} segments`);
  await store.close();
  store = await open(dir, { segmentMaxBytes: 4096 });
  assert.deepEqual(store.recovery.truncated, []);
  assert.deepEqual(store.recovery.quarantined, []);
  assert.deepEqual(
    store.heads().map((h) => [toHex(h.author), h.seq]).sort(),
    [[toHex(alice.hash), 60], [toHex(bob.hash), 40]].sort(),
  );
  assertChainsVerify(store);
  const next = await store.appendLocal(alice, "note", packMsgpack("after reopen"), T0 + 100);
  assert.equal(next.seq, 61);
  assert.equal(store.get(alice.hash, 61)!.kind, "note");
  assert.equal(store.get(alice.hash, 62), null);
  assert.equal(store.tail(3).length, 3);
  assert.deepEqual(store.tail(1)[0]!.hash, next.hash);
  await store.close();
});

test("concurrent appends are group-committed: far fewer fsyncs than appends", async (t) => {
  const dir = tempDir(t);
  let syncs = 0;
  const counting: LogFs = { ...nodeLogFs, fdatasync: (fd, cb) => (syncs++, nodeLogFs.fdatasync(fd, cb)) };
  const store = await open(dir, { fs: counting });
  const ids = Array.from({ length: 8 }, () => Identity.generate(rng));
  await Promise.all(ids.map(async (id) => {
    for (let i = 0; i < 50; i++) await store.appendLocal(id, "k", packMsgpack(i), T0 + i);
  }));
  assert.equal(store.stats().entries, 400);
  assert.ok(syncs <= 60, `${syncs} fsyncs for 400 appends`);
  await store.close();

  // For contrast, maxBatchRecords 1 gives one fsync per append.
  syncs = 0;
  const one = await LogStore.open({ dir: path.join(dir, "one"), fs: counting, maxBatchRecords: 1 });
  await Promise.all(Array.from({ length: 20 }, (_, i) => one.appendLocal(alice, "k", packMsgpack(i), T0 + i)));
  assert.equal(syncs, 20);
  await one.close();
});

test("entries from elsewhere are checked: genesis first, no gaps, valid signatures; duplicates are idempotent", async (t) => {
  const store = await open(tempDir(t));
  const c = chain(alice, 5);
  assert.deepEqual(await store.append(c[1]!.encoded), { status: "rejected", reason: "unknown-author", detail: `first entry seen from <${toHex(alice.hash)}> is seq 2, not its genesis` });
  assert.equal((await store.append(c[0]!.encoded)).status, "appended");
  assert.equal((await store.append(c[2]!.encoded)).status, "rejected", "seq 3 before seq 2 is a gap");
  assert.equal((await store.append(c[1]!.encoded)).status, "appended");
  const forged = c[2]!.encoded.slice();
  forged[forged.length - 1]! ^= 1;
  assert.equal(((await store.append(forged)) as { reason: string }).reason, "bad-signature");
  assert.equal(((await store.append(utf8("not an entry"))) as { reason: string }).reason, "bad-encoding");
  const outcomes = await Promise.all([c[2]!, c[3]!, c[4]!, c[4]!].map((e) => store.append(e.encoded)));
  assert.deepEqual(outcomes.map((o) => o.status), ["appended", "appended", "appended", "duplicate"]);
  assert.equal((await store.append(c[0]!.encoded)).status, "duplicate");
  assert.equal(store.head(alice.hash)!.seq, 5);
  assertChainsVerify(store);
  await store.close();
});

test("offer classifies at once, so a chain can be queued before any of it is durable", async (t) => {
  const store = await open(tempDir(t));
  const c = chain(alice, 4);
  const offers = c.map((e) => store.offer(e, { verified: true }));
  assert.deepEqual(offers.map((o) => o.outcome.status), ["appended", "appended", "appended", "appended"]);
  assert.equal(store.head(alice.hash), null, "readers see durable entries only");
  assert.equal(store.offer(c[2]!).outcome.status, "duplicate");
  await Promise.all(offers.map((o) => o.durable));
  assert.equal(store.head(alice.hash)!.seq, 4);
  await store.close();
});

test("a conflicting, validly signed entry is a fork: kept as evidence, never in place of the original", async (t) => {
  const dir = tempDir(t);
  let store = await open(dir);
  const c = chain(alice, 3);
  for (const e of c) await store.append(e.encoded);
  const other = createEntry(alice, c[0]!, T0 + 9, "supply.handout", packMsgpack("a different seq 2"));
  const fork = await store.append(other.encoded);
  assert.equal(fork.status, "fork");
  assert.equal((await store.append(other.encoded)).status, "duplicate", "the same evidence is stored once");
  const past = createEntry(alice, { ...other, seq: 3, hash: new Uint8Array(32).fill(7) }, T0, "x", utf8("y"));
  assert.equal((await store.append(past.encoded)).status, "fork", "seq 4 on a head we do not hold is evidence too");
  await store.close();
  store = await open(dir);
  assert.deepEqual(store.get(alice.hash, 2)!.hash, c[1]!.hash, "the original stays");
  assert.equal(store.forks().count, 2);
  assert.deepEqual(store.forkEntry(store.forks().indexed[0]!).hash, other.hash);
  assert.equal(store.head(alice.hash)!.forks, 2);
  assertChainsVerify(store);
  await store.close();
});

test("old entries beyond the recent window are found through the sparse index, among other authors' entries", async (t) => {
  const store = await open(tempDir(t), { segmentMaxBytes: 64 * 1024 });
  const batch: Array<Promise<unknown>> = [];
  for (let i = 0; i < 1500; i++) {
    batch.push(store.appendLocal(alice, "a", packMsgpack(i), T0 + i));
    if (i % 3 === 0) batch.push(store.appendLocal(bob, "b", packMsgpack(i), T0 + i));
  }
  await Promise.all(batch);
  for (const seq of [1, 2, 127, 128, 129, 200, 476, 1024, 1500]) assert.equal(store.get(alice.hash, seq)!.seq, seq);
  const r = store.range(alice.hash, 300, 700);
  assert.deepEqual(r.map((e) => e.seq), Array.from({ length: 700 }, (_, i) => 300 + i));
  assertChainsVerify(store);
  await store.close();
});

test("logs larger than one read, and entries larger than the first read, come back exactly once", async (t) => {
  const store = await open(tempDir(t), { segmentMaxBytes: 1024 * 1024 });
  const r = seededRandom(62);
  const sizes: number[] = [];
  const appends: Array<Promise<LogEntry>> = [];
  for (let i = 0; i < 1400; i++) {
    const size = i % 50 === 0 ? 16_000 : r.next32() % 600;
    sizes.push(size);
    appends.push(store.appendLocal(i % 2 === 0 ? alice : bob, "k", r.bytes(size), T0 + i));
  }
  const written = await Promise.all(appends);
  const read = [...store.records()];
  assert.equal(read.length, 1400);
  assert.ok(store.stats().bytes > 1024 * 1024, "more than one segment of reads");
  assert.deepEqual(read.map((x) => toHex(x.entry.hash)), written.map((e) => toHex(e.hash)));
  assertChainsVerify(store);
  await store.close();
});

test("follow yields each entry once it is durable, and ends when the store closes", async (t) => {
  const store = await open(tempDir(t));
  const seen: number[] = [];
  const done = (async () => {
    for await (const e of store.follow()) seen.push(e.seq);
  })();
  await store.appendLocal(alice, "k", packMsgpack(1), T0);
  await Promise.all([store.appendLocal(alice, "k", packMsgpack(2), T0), store.appendLocal(alice, "k", packMsgpack(3), T0)]);
  await new Promise((r) => setImmediate(r));
  await store.close();
  await done;
  assert.deepEqual(seen, [1, 2, 3]);
});

test("a bundle exported from one store imports into another: every entry verified, counts reported", async (t) => {
  const dir = tempDir(t);
  const a = await open(dir);
  for (let i = 0; i < 30; i++) await a.appendLocal(alice, "k", packMsgpack(i), T0 + i);
  for (let i = 0; i < 10; i++) await a.appendLocal(bob, "k", packMsgpack(i), T0 + i);
  const file = path.join(dir, "out.kosbundle");
  const ex = await exportBundle(a, file);
  assert.deepEqual([ex.entries, ex.forks], [40, 0]);
  const onlyBob = await exportBundle(a, path.join(dir, "bob.kosbundle"), [bob.hash]);
  assert.equal(onlyBob.entries, 10);

  const b = await LogStore.open({ dir: path.join(dir, "b") });
  const r1 = await importBundle(b, file);
  assert.deepEqual([r1.records, r1.accepted, r1.rejected, r1.damaged], [40, 40, 0, null]);
  const r2 = await importBundle(b, file);
  assert.deepEqual([r2.accepted, r2.duplicates], [0, 40], "importing twice changes nothing");
  assertChainsVerify(b);
  assert.deepEqual(b.heads().map((h) => h.hash), a.heads().map((h) => h.hash));
  await a.close();
  await b.close();
});

test("a damaged bundle adds only what verifies and says it is damaged; a non-bundle is refused", async (t) => {
  const dir = tempDir(t);
  const a = await open(dir);
  for (let i = 0; i < 20; i++) await a.appendLocal(alice, "k", packMsgpack(i), T0 + i);
  const file = path.join(dir, "b.kosbundle");
  await exportBundle(a, file);
  const bytes = fs.readFileSync(file);
  const flipped = Buffer.from(bytes);
  flipped[Math.floor(bytes.length / 2)]! ^= 0x10;
  fs.writeFileSync(path.join(dir, "flipped"), flipped);
  fs.writeFileSync(path.join(dir, "cut"), bytes.subarray(0, bytes.length - 100));
  fs.writeFileSync(path.join(dir, "garbage"), seededRandom(3).bytes(5000));

  const b = await LogStore.open({ dir: path.join(dir, "b") });
  const r = await importBundle(b, path.join(dir, "flipped"));
  assert.equal(r.rejected >= 1, true);
  assert.ok(r.reasons["damaged-record"] === 1 || r.reasons["bad-signature"] === 1, JSON.stringify(r.reasons));
  assert.notEqual(r.damaged, null);
  assert.ok(r.accepted >= 9 && r.accepted < 20, `accepted ${r.accepted}: the chain stops at the damaged entry`);
  assert.ok((r.reasons["gap"] ?? 0) > 0, "entries after the damaged one do not chain");
  const cut = await importBundle(b, path.join(dir, "cut"));
  assert.match(cut.damaged!, /cut short/);
  await assert.rejects(importBundle(b, path.join(dir, "garbage")), BundleError);
  await assert.rejects(importBundle(b, path.join(dir, "missing")), BundleError);
  assertChainsVerify(b);
  assert.ok(b.head(alice.hash)!.seq >= 19, "the cut bundle filled in the rest");
  await a.close();
  await b.close();
});

test("appends after close, or beyond the queue bound, fail with a typed error", async (t) => {
  const store = await open(tempDir(t), { maxQueuedRecords: 4 });
  const c = chain(alice, 6);
  const results = await Promise.allSettled(c.map((e) => store.append(e.encoded)));
  assert.deepEqual(results.map((r) => r.status), ["fulfilled", "fulfilled", "fulfilled", "fulfilled", "rejected", "rejected"]);
  assert.equal(((results[4] as PromiseRejectedResult).reason as { code: string }).code, "EBUSY");
  await store.close();
  await assert.rejects(store.appendLocal(alice, "k", utf8(""), T0), { code: "ECLOSED" });
});

test("the index stays bounded: recent locations capped per author, sparse points every 128 seqs, forks indexed up to a cap", () => {
  const index = new LogIndex();
  const authorsN = 4;
  const perAuthor = 250_000;
  const ids = Array.from({ length: authorsN }, (_, i) => new Uint8Array(16).fill(i + 1));
  const hash = new Uint8Array(32);
  for (let seq = 1; seq <= perAuthor; seq++) {
    for (let a = 0; a < authorsN; a++) {
      index.addEntry({ author: ids[a]!, seq, prev: seq === 1 ? new Uint8Array(0) : index.authors.get(toHex(ids[a]!))!.headHash, hash: hashOf(a, seq, hash), authorKey: new Uint8Array(64) }, { segment: 1 + (seq >> 12), offset: seq * 300 });
    }
  }
  for (let i = 0; i < MAX_FORKS_INDEXED + 500; i++) index.addFork({ author: ids[0]!, seq: 1 + i, prev: hash, hash: hashOf(9, i, new Uint8Array(32)), authorKey: new Uint8Array(64) }, { segment: 1, offset: i });
  assert.equal(index.entries, authorsN * perAuthor);
  for (const st of index.authors.values()) assert.equal(st.recent.capacity, RECENT_PER_AUTHOR, "the recent ring stops growing at its cap");
  assert.equal(index.forks.length, MAX_FORKS_INDEXED, "forks past the cap are counted, not indexed");
  assert.equal(index.forkCount, MAX_FORKS_INDEXED + 500);
  // The bound of runtime/log/README.md: per author its overhead, a full ring and one point per 128 seqs (the
  // sparse arrays double, so up to twice that), the global tail, the indexed forks.
  const bound = authorsN * (AUTHOR_OVERHEAD_BYTES + RECENT_PER_AUTHOR * 16 + 2 * Math.ceil(perAuthor / SPARSE_EVERY) * 16) + TAIL_LOCATIONS * 8 + MAX_FORKS_INDEXED * FORK_OVERHEAD_BYTES;
  const bytes = index.memoryBytes();
  assert.ok(bytes <= bound, `${bytes} bytes for ${index.entries} entries, bound ${bound}`);
  assert.ok(bytes / index.entries < 2.5, `${(bytes / index.entries).toFixed(2)} bytes per entry: the index does not grow with each entry`);
});

function hashOf(a: number, seq: number, out: Uint8Array): Uint8Array {
  const h = out.slice();
  h[0] = a;
  new DataView(h.buffer).setUint32(1, seq);
  return h;
}
