// LogSyncService (runtime/host/log-sync.ts) when things go wrong: two in-process kosd nodes on an in-memory
// wire and a virtual clock (./sync-pair.ts). A peer that goes dark mid-push, a link that never opens, a peer
// that never identifies, the bound on the peer table; and that a cut costs only what was not delivered.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { announceRandomHash, buildAnnounce } from "../../runtime/wire/announce.js";
import { nameHash } from "../../runtime/wire/destination.js";
import { encodePacket } from "../../runtime/wire/packet.js";
import { encodeLogHint } from "../../runtime/log/sync/announce-hint.js";
import { summarize } from "../../runtime/log/sync/summary.js";
import { SyncPair, idHex, type SyncNode } from "./sync-pair.js";

const MIN = 60_000;

/** A (150 entries) and an empty B on one wire, both started; B has heard A's hint and opened a session. */
async function pairWithWork(t: { after(fn: () => Promise<void>): void }, entries = 150): Promise<{ p: SyncPair; a: SyncNode; b: SyncNode }> {
  const p = new SyncPair();
  t.after(() => p.close());
  const a = await p.add("a", 0, 1);
  const b = await p.add("b", 1, 2);
  await p.append(a, entries, "supply.handout");
  p.start(a);
  p.start(b);
  return { p, a, b };
}

function retryInMs(row: Record<string, any>, nowMs: number): number | null {
  return row["nextRetry"] === null ? null : Date.parse(row["nextRetry"]) - nowMs;
}

test("in-process pair: a session on announce converges and both rows say in sync, confirmed by digests", async (t) => {
  const { p, a, b } = await pairWithWork(t, 40);
  a.sync.announce(true);
  p.settle();
  assert.equal(b.entries(), 40);
  // Quiet for a while: the initiator confirms (HELLO, equal digests); the idle link closes after 30 s.
  p.advance(40_000);
  for (const [n, peer] of [[a, b], [b, a]] as const) {
    const row = n.row(peer);
    assert.ok(row !== undefined, `${n.name} has a row for ${peer.name}`);
    assert.equal(row["state"], "in-sync", `${n.name}: ${JSON.stringify(row)}`);
    assert.equal(row["session"], null);
    assert.equal(row["sessions"], 1);
    assert.equal(row["lastError"], null);
    assert.equal(row["nextRetry"], null);
  }
  assert.equal(a.row(b)!["entriesSent"], 40);
  assert.equal(a.row(b)!["entriesResent"], 0);
  assert.equal(b.row(a)!["entriesReceived"], 40);
  assert.ok(await p.verifies(b));
});

test("a peer that goes dark mid-push: the link times out, the error is in the row, a retry with backoff completes the sync, and what arrived before the cut is not sent again", async (t) => {
  const total = 150;
  const { p, a, b } = await pairWithWork(t, total);
  a.sync.announce(true);
  // B (empty) opens a session on A's hint; A pushes. The wire goes dark once B holds 50 entries.
  p.settle(() => b.entries() >= 50);
  const k = b.entries();
  assert.ok(k >= 50 && k < total, `cut mid-push at ${k}`);
  const cutAt = p.time.nowMs;
  // Nothing comes any more: the link goes stale and closes; the session ends with an error.
  assert.ok(p.advanceUntil(() => b.row(a)!["session"] === null && a.row(b)!["session"] === null, 60_000), "both sessions end");
  const bRow = b.row(a)!;
  assert.equal(bRow["state"], "behind");
  assert.match(bRow["lastError"]["message"], /link closed during pulling/);
  const firstRetry = retryInMs(bRow, cutAt);
  assert.ok(firstRetry !== null && firstRetry >= MIN && firstRetry <= MIN + 60_000, `first retry ${firstRetry} ms after the cut`);
  // A (responder) does not retry; its row is keyed by B's identity (B identified itself) and says what went.
  const aRow1 = a.row(b)!;
  assert.equal(aRow1["peer"], idHex(b));
  assert.equal(aRow1["nextRetry"], null);
  assert.notEqual(aRow1["state"], "in-sync");
  const sent1 = aRow1["entriesSent"] as number;
  const bytes1 = aRow1["bytesSent"] as number;
  assert.ok(sent1 >= k, `A counts ${sent1} entries sent, B got ${k}`);

  // Still dark at the retry: the link is not established; the next retry is twice as far.
  const retryAt = Date.parse(bRow["nextRetry"]);
  p.advance(retryAt - p.time.nowMs);
  assert.ok(p.advanceUntil(() => b.row(a)!["lastError"]["message"] === "the sync link was not established", 60_000));
  const second = retryInMs(b.row(a)!, Date.parse(b.row(a)!["lastError"]["at"]));
  assert.equal(second, 2 * MIN, "backoff doubles");

  // B comes back before the next retry: the retry completes the sync.
  p.wire.up = true;
  assert.ok(p.advanceUntil(() => b.entries() === total, 3 * MIN), `B holds ${b.entries()} of ${total}`);
  assert.ok(p.advanceUntil(() => b.row(a)!["session"] === null && a.row(b)!["session"] === null, 2 * MIN));
  for (const [n, peer] of [[a, b], [b, a]] as const) assert.equal(n.row(peer)!["state"], "in-sync", `${n.name}: ${JSON.stringify(n.row(peer))}`);
  assert.equal(b.row(a)!["nextRetry"], null);
  assert.equal(b.row(a)!["sessions"], 2);
  assert.equal(b.row(a)!["entriesReceived"], total, "each entry received once");

  // Resumed: the second session sent only what B lacked, in about that many bytes.
  const aRow2 = a.row(b)!;
  const sent2 = aRow2["entriesSent"] - sent1;
  assert.equal(sent2, total - k, `second session sent ${sent2}, B lacked ${total - k}`);
  const bytes2 = aRow2["bytesSent"] - bytes1;
  assert.ok(bytes2 < (bytes1 / sent1) * (total - k) * 1.25 + 1000, `second session ${bytes2} B for ${total - k} entries (first: ${bytes1} B for ${sent1})`);
  assert.equal(aRow2["entriesResent"], 0);
  assert.ok(await p.verifies(b));
  assert.ok(await p.verifies(a));
});

test("a link that never opens: each failure recorded, retries back off from 1 min to the 30 min cap, stop after 12 until the peer announces again", async (t) => {
  const { p, a, b } = await pairWithWork(t, 10);
  // B hears A's hint, then A is out of reach before B's link request gets there.
  p.wire.cut();
  p.wire.up = true;
  a.sync.announce(true);
  p.settle(() => b.row(a) !== undefined);
  p.wire.cut();
  const waits: number[] = [];
  let failures = 0;
  for (let i = 0; i < 20; i++) {
    const ok = p.advanceUntil(() => {
      const r = b.row(a)!;
      return r["lastError"] !== null && Date.parse(r["lastError"]["at"]) > (waits.length === 0 ? 0 : p.time.nowMs - 2000) && (i === 0 || r["nextRetry"] !== null || failures >= 12);
    }, 31 * MIN, 2000);
    assert.ok(ok, `failure ${i + 1} recorded`);
    const r = b.row(a)!;
    assert.equal(r["state"], "behind");
    assert.equal(r["lastError"]["message"], "the sync link was not established");
    failures++;
    if (r["nextRetry"] === null) break;
    waits.push(retryInMs(r, Date.parse(r["lastError"]["at"]))!);
    // To the retry and past its establishment timeout (12 s for one hop).
    p.advance(Date.parse(r["nextRetry"]) - p.time.nowMs + 1);
  }
  assert.deepEqual(waits.map((w) => w / MIN), [1, 2, 4, 8, 16, 30, 30, 30, 30, 30, 30, 30], "doubling from 1 min, capped at 30 min, 12 retries");
  assert.equal(failures, 13, "the first attempt and 12 retries");
  assert.equal(b.row(a)!["nextRetry"], null, "no retry scheduled after the last");
  const linksBefore = b.node.engine.links().length;
  p.advance(60 * MIN, 30_000);
  assert.equal(b.node.engine.links().length, linksBefore, "nothing more is tried while the peer stays silent");
  // A is back and announces: B opens at once and the sync completes; the row is cleared of its retry.
  p.wire.up = true;
  a.sync.announce(true);
  p.settle();
  assert.equal(b.entries(), 10);
  assert.ok(p.advanceUntil(() => b.row(a)!["session"] === null, 2 * MIN));
  assert.equal(b.row(a)!["state"], "in-sync");
  assert.equal(b.row(a)!["nextRetry"], null);
});

test("a peer that opens a sync link and never identifies: a row keyed by the link, no crash, counted drops; dropped when the link closes", async (t) => {
  const { p, a, b } = await pairWithWork(t, 0);
  a.sync.announce(true);
  b.sync.announce(true);
  p.settle();
  // A's engine opens a link to B's sync destination behind its service's back: no identify, then garbage.
  const dest = Buffer.from(b.row(a) === undefined ? a.row(b)!["destination"] : a.row(b)!["destination"], "hex");
  const opened = a.node.run((now) => a.node.engine.openLink(dest, now));
  assert.ok(opened.ok);
  p.settle();
  const anon = b.rows().find((r) => String(r["peer"]).startsWith("link:"));
  assert.ok(anon !== undefined, `B lists the link: ${JSON.stringify(b.rows())}`);
  assert.equal(anon["peer"], `link:${Buffer.from(opened.value).toString("hex")}`);
  assert.equal(anon["identity"], null);
  assert.equal(anon["destination"], null);
  assert.equal(anon["session"]["role"], "responder");
  a.node.run((now) => a.node.engine.linkSend(opened.value, new Uint8Array([0x93, 0x07, 0xc1, 0xff]), now));
  a.node.run((now) => a.node.engine.linkSend(opened.value, new Uint8Array(500).fill(0xee).subarray(0, 300), now));
  p.settle();
  const after = b.rows().find((r) => r["peer"] === anon["peer"])!;
  assert.ok(after["dropped"] >= 2, `malformed messages counted: ${JSON.stringify(after)}`);
  assert.equal(after["state"], "idle");
  // The anonymous row goes with its link; the named rows stay.
  a.node.run((now) => a.node.engine.closeLink(opened.value, now));
  p.settle();
  assert.equal(b.rows().find((r) => r["peer"] === anon["peer"]), undefined);
  assert.ok(b.row(a) !== undefined);
  // An identified session still works afterwards.
  await p.append(a, 3, "road.closed");
  p.advance(5000); // a newer announce than the last (same-second announces do not update a path)
  a.sync.announce(true);
  p.settle();
  assert.equal(b.entries(), 3, JSON.stringify(b.rows()));
});

test("the peer table keeps 256 peers: the least recently seen are forgotten and counted", async (t) => {
  const { p, a, b } = await pairWithWork(t, 0);
  const random = seededRandom(9);
  const ids = Array.from({ length: 300 }, () => Identity.generate(random));
  // Announces of kos.log.sync with B's own hint: B remembers each peer and opens nothing.
  const hint = encodeLogHint({ digest: summarize(b.sync.view).digest, entryCount: 0 });
  const nh = nameHash("kos", ["log", "sync"]);
  const end = p.wire.ends[0];
  const before = b.rows().length;
  for (const id of ids) {
    const pkt = buildAnnounce(id, nh, { randomHash: announceRandomHash(random, p.time.nowMs), appData: hint });
    (end as unknown as { send(f: Uint8Array): boolean }).send(encodePacket(pkt));
    p.settle();
    p.time.nowMs += 10;
  }
  const rows = b.rows();
  assert.equal(rows.length, 256);
  const evicted = before + 300 - 256;
  assert.equal(b.sync.peersEvicted, evicted, "the least recently seen were forgotten, each counted");
  const keys = new Set(rows.map((r) => r["peer"]));
  const gone = evicted - before;
  for (const id of ids.slice(0, gone)) assert.ok(!keys.has(Buffer.from(id.hash).toString("hex")));
  for (const id of ids.slice(gone)) assert.ok(keys.has(Buffer.from(id.hash).toString("hex")));
  assert.equal(rows[0]!["peer"], Buffer.from(ids[299]!.hash).toString("hex"), "most recently seen first");
  for (const r of rows) assert.equal(r["state"], "in-sync");
  assert.equal(b.node.engine.links().length, 0);
  void a;
});
