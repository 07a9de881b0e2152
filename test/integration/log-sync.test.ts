// Action logs converge over real links: kosd nodes on loopback TCP announce a hint of their logs, open a
// sync link when hints differ, and exchange what the other lacks — also after a partition heals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { toHex } from "../../runtime/core/bytes.js";
import { destinationHashOf } from "../../runtime/wire/destination.js";
import { eventually, freePort, kosctl, makeNode, startNode, stopNode, tempRoot, type NodeHandle } from "./mesh-harness.js";

async function entries(n: NodeHandle): Promise<number> {
  const r = await kosctl(n, ["log", "list", "--limit", "10000", "--json"]);
  return r.code === 0 ? (JSON.parse(r.stdout) as unknown[]).length : -1;
}

async function append(n: NodeHandle, count: number, kind: string): Promise<void> {
  for (let i = 0; i < count; i++) {
    const r = await kosctl(n, ["log", "append", kind, "--body", JSON.stringify({ i, by: n.name })]);
    assert.equal(r.code, 0, r.stderr);
  }
}

test("two and three nodes converge over TCP, and again after a partition heals", { timeout: 240_000 }, async (t) => {
  const root = tempRoot(t);
  const port = await freePort();
  const hub = makeNode(root, "hub", `  enable_transport = yes\n[interfaces]\n  [[Hub]]\n    type = TCPServerInterface\n    enabled = yes\n    listen_ip = 127.0.0.1\n    listen_port = ${port}\n`);
  const client = (name: string): NodeHandle =>
    makeNode(root, name, `[interfaces]\n  [[Up]]\n    type = TCPClientInterface\n    enabled = yes\n    target_host = 127.0.0.1\n    target_port = ${port}\n`);
  const a = client("a");
  const b = client("b");
  const nodes = [hub, a, b];
  t.after(async () => {
    for (const n of nodes) await stopNode(n);
  });
  for (const n of nodes) await startNode(n);

  await append(a, 12, "supply.handout");
  await append(b, 5, "road.closed");
  await append(hub, 3, "alarm.flood");
  const total = 20;
  const converged = async (): Promise<boolean> => (await Promise.all(nodes.map(entries))).every((c) => c === total);
  // New entries change each node's hint; announcing carries it to the others.
  for (const n of nodes) await kosctl(n, ["announce"]);
  assert.ok(await eventually(async () => {
    if (await converged()) return true;
    for (const n of nodes) await kosctl(n, ["announce"]);
    return false;
  }, 90_000, 2000), `not converged: ${JSON.stringify(await Promise.all(nodes.map(entries)))}`);
  for (const n of nodes) assert.equal((await kosctl(n, ["log", "verify"])).code, 0, `${n.name} verifies`);

  // kosctl log status: one row per peer, named by identity, with what went each way.
  const ids = new Map(nodes.map((n) => [toHex(n.identity().hash), n.name]));
  const learnt = new Map([["hub", 17], ["a", 8], ["b", 15]]);
  for (const n of nodes) {
    const r = await kosctl(n, ["log", "status", "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const peers = (JSON.parse(r.stdout) as { peers: Array<Record<string, any>> }).peers;
    assert.ok(peers.length >= 1, `${n.name} lists its sync peers`);
    for (const p of peers) {
      assert.ok(ids.has(p["identity"]) && ids.get(p["identity"]) !== n.name, `${n.name}: peer ${p["identity"]} is another node`);
      assert.equal(p["destination"], toHex(destinationHashOf("kos.log.sync", Buffer.from(p["identity"], "hex"))));
      assert.ok(["idle", "summarising", "pulling", "pushing", "in-sync", "behind"].includes(p["state"]), p["state"]);
      // A row comes from a session or from the peer's announce alone (a client that got everything through
      // the hub never needs a session with the other client).
      assert.ok(p["sessions"] + (p["session"] === null ? 0 : 1) >= 1 || p["peerEntries"] !== null, `${n.name}: ${JSON.stringify(p)}`);
      assert.equal(typeof p["lastSeenAgoS"], "number");
    }
    assert.ok(peers.some((p) => p["sessions"] + (p["session"] === null ? 0 : 1) >= 1), `${n.name} synced with someone`);
    // Every entry this node did not write came over a sync session, and is counted once, at one peer.
    assert.equal(peers.reduce((k, p) => k + p["entriesReceived"], 0), learnt.get(n.name), `${n.name}: entries received over sync`);
    assert.ok(peers.reduce((k, p) => k + p["bytesReceived"], 0) > 0);
    const text = await kosctl(n, ["log", "status"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`sync: ${peers.length} peer\\(s\\)`));
    for (const p of peers) assert.match(text.stdout, new RegExp(`${p["identity"]}  (idle|summarising|pulling|pushing|in sync|behind)`));
  }

  // Partition: b goes away; both sides keep writing; b returns.
  await stopNode(b);
  await append(a, 4, "supply.handout");
  await startNode(b);
  await append(b, 2, "road.reopened");
  const after = total + 6;
  assert.ok(await eventually(async () => {
    const counts = await Promise.all(nodes.map(entries));
    if (counts.every((c) => c === after)) return true;
    for (const n of nodes) await kosctl(n, ["announce"]);
    return false;
  }, 90_000, 2000), `not converged after the partition: ${JSON.stringify(await Promise.all(nodes.map(entries)))}`);
});
