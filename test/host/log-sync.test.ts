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
