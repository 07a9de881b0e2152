// Crash safety of the log store: SIGKILL at random moments never loses an acknowledged entry; torn tails,
// flipped bits, stray files and a full disk are survived without serving anything unverified.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { toHex } from "../../runtime/core/bytes.js";
import { seededRandom, type Logger } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { verifyChain } from "../../runtime/log/entry.js";
import { SEGMENT_HEADER_BYTES, recordAt, segmentName } from "../../runtime/log/format.js";
import { nodeLogFs, type LogFs } from "../../runtime/log/fsio.js";
import { LogStore } from "../../runtime/log/store.js";
import { packMsgpack } from "../../runtime/wire/msgpack.js";

const CHILD = fileURLToPath(new URL("./crash-child.js", import.meta.url));
const SEED = Number(process.env["KOS_CRASH_SEED"] ?? 20261121);
const ROUNDS = Number(process.env["KOS_CRASH_ROUNDS"] ?? 30);
const rng = seededRandom(71);
const alice = Identity.generate(rng);
const bob = Identity.generate(rng);
const T0 = 1_763_700_000_000;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kos-crash-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function capture(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, log: (level, message, fields) => lines.push(`${level} ${message} ${JSON.stringify(fields ?? {})}`) };
}

/** Reads every chain back and checks it from genesis; returns hash by "author seq". */
function readAll(store: LogStore): Map<string, string> {
  const held = new Map<string, string>();
  for (const h of store.heads()) {
    const entries = store.range(h.author, 1, h.seq);
    assert.equal(entries.length, h.seq, `chain of <${toHex(h.author)}> complete`);
    assert.deepEqual(verifyChain(entries), { ok: true }, `chain of <${toHex(h.author)}> verifies`);
    for (const e of entries) held.set(`${toHex(e.author)} ${e.seq}`, toHex(e.hash));
  }
  return held;
}

/** Runs the child until killed at a random moment; returns the acknowledged lines it printed. */
function killRound(dir: string, seed: number, killAfterMs: number, beforeReady: boolean): Promise<{ acks: string[]; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, dir, String(seed)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let stderr = "";
    const kill = (): void => void child.kill("SIGKILL");
    if (beforeReady) setTimeout(kill, killAfterMs);
    child.stdout.on("data", (b: Buffer) => {
      const had = out.includes("ready\n");
      out += b.toString();
      if (!beforeReady && !had && out.includes("ready\n")) setTimeout(kill, killAfterMs);
    });
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const guard = setTimeout(kill, 20_000);
    child.once("exit", () => {
      clearTimeout(guard);
      // Only whole lines count: a line cut by the kill was never fully printed.
      const lines = out.split("\n").slice(0, -1).filter((l) => l !== "ready");
      resolve({ acks: lines, stderr });
    });
  });
}

test(`SIGKILL at random moments (${ROUNDS} rounds, seed ${SEED}) never loses an acknowledged entry`, { timeout: 240_000 }, async (t) => {
  const dir = path.join(tempDir(t), "log");
  const r = seededRandom(SEED);
  const acked = new Map<string, string>();
  let total = 0;
  let truncations = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const beforeReady = r.next32() % 6 === 0;
    const delay = beforeReady ? 20 + (r.next32() % 150) : r.next32() % 300;
    const { acks, stderr } = await killRound(dir, SEED + round, delay, beforeReady);
    assert.equal(stderr, "", `round ${round}: the child failed on its own`);
    for (const line of acks) {
      const [author, seq, hash] = line.split(" ");
      acked.set(`${author} ${seq}`, hash!);
    }
    total += acks.length;
    const store = await LogStore.open({ dir });
    truncations += store.recovery.truncated.length;
    assert.deepEqual(store.recovery.quarantined, [], `round ${round}: nothing quarantined after a kill`);
    const held = readAll(store);
    for (const [key, hash] of acked) assert.equal(held.get(key), hash, `round ${round}: acknowledged entry ${key} is held unchanged`);
    await store.close();
  }
  t.diagnostic(`${ROUNDS} kills, ${total} acknowledged appends checked, ${truncations} torn tails truncated`);
  assert.ok(total > ROUNDS, "the child acknowledged appends before being killed");
});

/** A store of `n` entries written one commit each; returns the dir and the last segment's path. */
async function writeEntries(dir: string, n: number, segmentMaxBytes = 8 * 1024 * 1024): Promise<string> {
  const store = await LogStore.open({ dir, segmentMaxBytes });
  for (let i = 0; i < n; i++) await store.appendLocal(i % 3 === 0 ? bob : alice, "k", packMsgpack({ i, text: "torn".repeat(i % 7) }), T0 + i);
  await store.close();
  const segs = fs.readdirSync(dir).filter((f) => f.endsWith(".seg")).sort();
  return path.join(dir, segs[segs.length - 1]!);
}

function recordStarts(file: string): number[] {
  const buf = new Uint8Array(fs.readFileSync(file));
  const starts: number[] = [];
  for (let pos = SEGMENT_HEADER_BYTES; pos < buf.length; ) {
    const r = recordAt(buf, pos);
    assert.equal(r.kind, "record");
    starts.push(pos);
    pos = (r as { next: number }).next;
  }
  return starts;
}

test("a torn last record, cut at every byte, recovers to the last complete record", async (t) => {
  const dir = path.join(tempDir(t), "log");
  const last = await writeEntries(dir, 40, 2048);
  assert.ok(fs.readdirSync(dir).filter((f) => f.endsWith(".seg")).length >= 3, "several segments");
  const original = fs.readFileSync(last);
  const starts = recordStarts(last);
  const lastStart = starts[starts.length - 1]!;
  const before = await LogStore.open({ dir });
  const heads = new Map(before.heads().map((h) => [toHex(h.author), h.seq]));
  const lost = before.tail(1)[0]!;
  await before.close();
  for (let cut = lastStart; cut < original.length; cut++) {
    fs.writeFileSync(last, original.subarray(0, cut));
    const store = await LogStore.open({ dir });
    assert.equal(fs.statSync(last).size, lastStart, `cut at ${cut}: truncated to the last complete record`);
    assert.deepEqual(store.recovery.quarantined, []);
    assert.equal(store.recovery.truncated.length, cut > lastStart ? 1 : 0);
    assert.equal(store.head(lost.author)!.seq, heads.get(toHex(lost.author))! - 1);
    readAll(store);
    await store.close();
  }
  // And appends go on from there.
  const store = await LogStore.open({ dir });
  const e = await store.appendLocal(alice, "k", packMsgpack("after"), T0);
  assert.equal(e.seq, store.head(alice.hash)!.seq);
  readAll(store);
  await store.close();
});

test("a zero-filled tail and a segment cut inside its header are torn tails too", async (t) => {
  const dir = path.join(tempDir(t), "log");
  const last = await writeEntries(dir, 5);
  const size = fs.statSync(last).size;
  fs.appendFileSync(last, Buffer.alloc(3000));
  let store = await LogStore.open({ dir });
  assert.equal(fs.statSync(last).size, size);
  assert.equal(store.recovery.truncated[0]!.bytes, 3000);
  await store.close();
  const next = path.join(dir, segmentName(2));
  fs.writeFileSync(next, Buffer.from("KOSLS"));
  store = await LogStore.open({ dir });
  assert.equal(fs.statSync(next).size, SEGMENT_HEADER_BYTES, "the header is rewritten");
  assert.equal(store.stats().entries, 5);
  await store.appendLocal(alice, "k", packMsgpack(1), T0);
  await store.close();
});

test("a flipped bit in the middle of a segment quarantines it with a clear message; the rest is served", async (t) => {
  const dir = path.join(tempDir(t), "log");
  await writeEntries(dir, 60, 2048);
  const victim = path.join(dir, segmentName(2));
  const starts = recordStarts(victim);
  assert.ok(starts.length >= 4);
  const badAt = starts[2]!;
  const bytes = fs.readFileSync(victim);
  bytes[badAt + 40]! ^= 0x04;
  fs.writeFileSync(victim, bytes);
  const log = capture();
  const store = await LogStore.open({ dir, logger: log });
  assert.equal(store.recovery.quarantined.length, 1);
  const q = store.recovery.quarantined[0]!;
  assert.deepEqual([q.file, q.offset, q.reason, q.salvagedRecords], [segmentName(2), badAt, "record checksum mismatch", starts.length - 1]);
  const message = log.lines.find((l) => l.startsWith("error"))!;
  assert.match(message, new RegExp(`segment 00000002\\.seg is damaged at offset ${badAt} \\(record checksum mismatch\\); moved to 00000002\\.seg\\.quarantined-\\d{8}T\\d{6}Z`));
  assert.ok(fs.existsSync(path.join(dir, q.movedTo)), "the damaged file is kept");
  assert.equal(store.stats().entries, 59, "every other entry is served, before and after the damage");
  const missing = store.heads().reduce((n, h) => n + h.missing, 0);
  assert.equal(missing, 1);
  for (const h of store.heads()) {
    const all = store.range(h.author, 1, h.seq);
    assert.equal(all.length, h.count);
    assert.equal(h.count + h.missing, h.seq);
  }
  const after = await store.appendLocal(alice, "k", packMsgpack("still appending"), T0);
  await store.close();
  const again = await LogStore.open({ dir });
  assert.deepEqual(again.recovery.quarantined, [], "the salvaged segment is clean from now on");
  assert.deepEqual(again.get(alice.hash, after.seq)!.hash, after.hash);
  await again.close();
});

test("a damaged length field or header is quarantined the same way", async (t) => {
  const dir = path.join(tempDir(t), "log");
  await writeEntries(dir, 40, 2048);
  const seg2 = path.join(dir, segmentName(2));
  const starts = recordStarts(seg2);
  const b2 = fs.readFileSync(seg2);
  b2[starts[1]! + 1] = 0xff; // length now far beyond any record
  fs.writeFileSync(seg2, b2);
  const seg3 = path.join(dir, segmentName(3));
  const b3 = fs.readFileSync(seg3);
  b3[2] = 0; // magic
  fs.writeFileSync(seg3, b3);
  const store = await LogStore.open({ dir });
  assert.deepEqual(store.recovery.quarantined.map((q) => q.file), [segmentName(2), segmentName(3)]);
  assert.equal(store.recovery.quarantined[1]!.reason, "not a kos-edge log segment (bad magic)");
  assert.match(store.recovery.quarantined[0]!.reason, /impossible record length/);
  assert.equal(store.heads().reduce((n, h) => n + h.missing, 0), 1, "only the record with the bad length is lost");
  assert.equal(store.stats().entries, 39);
  await store.close();
});

test("stray files in the log directory do not stop the store from opening", async (t) => {
  const dir = path.join(tempDir(t), "log");
  await writeEntries(dir, 10, 2048);
  const junk = seededRandom(5);
  fs.writeFileSync(path.join(dir, "notes.txt"), junk.bytes(300));
  fs.writeFileSync(path.join(dir, "00000000.seg"), Buffer.alloc(0));
  fs.writeFileSync(path.join(dir, "00000099.seg"), junk.bytes(5000));
  fs.mkdirSync(path.join(dir, "00000050.seg"));
  fs.writeFileSync(path.join(dir, "12.seg"), junk.bytes(64));
  fs.writeFileSync(path.join(dir, "00000001.seg.salvage"), junk.bytes(64));
  const store = await LogStore.open({ dir, logger: capture(), segmentMaxBytes: 2048 });
  assert.equal(store.stats().entries, 10);
  assert.deepEqual(store.recovery.ignored.sort(), ["12.seg", "notes.txt"]);
  assert.deepEqual(store.recovery.quarantined.map((q) => q.file).sort(), ["00000000.seg", "00000050.seg", "00000099.seg"]);
  assert.ok(!fs.existsSync(path.join(dir, "00000001.seg.salvage")), "a salvage file beside its segment is unfinished work: removed");
  let e = await store.appendLocal(alice, "k", packMsgpack(0), T0);
  for (let i = 1; i < 30; i++) e = await store.appendLocal(alice, "k", packMsgpack(i), T0);
  assert.ok(fs.existsSync(path.join(dir, segmentName(100))), "new segments are numbered past every quarantined one");
  await store.close();
  const again = await LogStore.open({ dir });
  assert.deepEqual(again.get(alice.hash, e.seq)!.hash, e.hash);
  readAll(again);
  await again.close();
});

/** The real file system, except that writes stop half way with `code` while `fail.code` is set. */
function faultyFs(fail: { code: string | null; truncate?: boolean; sync?: string | null }): LogFs {
  return {
    ...nodeLogFs,
    write(fd, buf, off, len, pos, cb) {
      if (fail.code === null) return nodeLogFs.write(fd, buf, off, len, pos, cb);
      const half = Math.max(1, len >> 1);
      const injected = Object.assign(new Error(`${fail.code}: injected`), { code: fail.code }) as NodeJS.ErrnoException;
      nodeLogFs.write(fd, buf, off, half, pos, (err) => cb(err ?? injected, 0));
    },
    fdatasync(fd, cb) {
      if (fail.sync) return cb(Object.assign(new Error(`${fail.sync}: injected`), { code: fail.sync }));
      nodeLogFs.fdatasync(fd, cb);
    },
    ftruncateSync(fd, len) {
      if (fail.truncate) throw Object.assign(new Error("EIO: injected"), { code: "EIO" });
      nodeLogFs.ftruncateSync(fd, len);
    },
  };
}

test("a full disk fails the append cleanly: typed ENOSPC, nothing partial kept, appends resume once there is room", async (t) => {
  const dir = path.join(tempDir(t), "log");
  const fail: { code: string | null } = { code: null };
  const store = await LogStore.open({ dir, fs: faultyFs(fail) });
  for (let i = 0; i < 10; i++) await store.appendLocal(alice, "k", packMsgpack(i), T0 + i);
  const size = fs.statSync(path.join(dir, segmentName(1))).size;
  fail.code = "ENOSPC";
  const results = await Promise.allSettled([0, 1, 2].map((i) => store.appendLocal(alice, "k", packMsgpack(`full ${i}`), T0)));
  for (const r of results) {
    assert.equal(r.status, "rejected");
    assert.equal((r as PromiseRejectedResult).reason.code, "ENOSPC");
    assert.match((r as PromiseRejectedResult).reason.message, /no space left on the device/);
  }
  assert.equal(fs.statSync(path.join(dir, segmentName(1))).size, size, "the half-written batch is truncated at once");
  assert.equal(store.head(alice.hash)!.seq, 10);
  fail.code = null;
  const e = await store.appendLocal(alice, "k", packMsgpack("room again"), T0);
  assert.equal(e.seq, 11, "the chain goes on from the durable head");
  await store.close();
  const again = await LogStore.open({ dir });
  assert.deepEqual([again.recovery.truncated, again.recovery.quarantined], [[], []]);
  assert.equal(readAll(again).size, 11);
  await again.close();
});

test("a failed sync fails the append with EIO; an undo that fails too stops appends until the store is reopened", async (t) => {
  const dir = path.join(tempDir(t), "log");
  const fail: { code: string | null; truncate?: boolean; sync?: string | null } = { code: null, sync: "EIO" };
  const store = await LogStore.open({ dir, fs: faultyFs(fail) });
  await assert.rejects(store.appendLocal(alice, "k", packMsgpack(0), T0), { code: "EIO" });
  assert.equal(store.heads().length, 0, "an author whose first append failed is not known");
  fail.sync = null;
  await store.appendLocal(alice, "k", packMsgpack(1), T0);
  fail.code = "ENOSPC";
  fail.truncate = true;
  await assert.rejects(store.appendLocal(alice, "k", packMsgpack(2), T0), { code: "ENOSPC" });
  fail.code = null;
  fail.truncate = false;
  await assert.rejects(store.appendLocal(alice, "k", packMsgpack(3), T0), { code: "EIO" });
  assert.equal(store.get(alice.hash, 1)!.seq, 1, "reads still work");
  await store.close();
  const again = await LogStore.open({ dir });
  assert.equal(again.recovery.truncated.length, 1, "the half-written record is a torn tail");
  assert.equal(again.head(alice.hash)!.seq, 1);
  await again.close();
});

test("a real full file system (a tiny tmpfs) fails appends with ENOSPC and keeps every acknowledged one", async (t) => {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), "kos-tmpfs-"));
  const m = spawnSync("mount", ["-t", "tmpfs", "-o", "size=96k", "tmpfs", mnt], { encoding: "utf8" });
  t.after(() => {
    if (m.status === 0) spawnSync("umount", [mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  });
  if (m.status !== 0) {
    t.skip(`cannot mount a tmpfs here (${(m.stderr || m.error?.message || "").trim()})`);
    return;
  }
  const dir = path.join(mnt, "log");
  const store = await LogStore.open({ dir });
  const acked: string[] = [];
  let error: { code?: string } | null = null;
  for (let i = 0; i < 1000 && error === null; i++) {
    try {
      const e = await store.appendLocal(alice, "k", packMsgpack({ i, pad: new Uint8Array(3000) }), T0 + i);
      acked.push(toHex(e.hash));
    } catch (e) {
      error = e as { code?: string };
    }
  }
  assert.equal(error?.code, "ENOSPC");
  assert.ok(acked.length > 5, `${acked.length} appends fit`);
  await store.close();
  const again = await LogStore.open({ dir });
  assert.deepEqual([...readAll(again).values()], acked);
  await again.close();
});
