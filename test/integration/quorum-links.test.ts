// Local quorum across a relay that does not run quorum: two member kosd on loopback TCP behind a hub kosd
// (transport node, no [quorum]). The hub never forwards the PLAIN "kos.quorum" gossip, so the members reach
// each other over a quorum link (runtime/engine/quorum-app.ts): A proposes, B hears it and votes, both hold
// the certificate before the deadline, and `kosctl status` shows the link.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { toHex } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { eventually, freePort, kosctl, makeNode, startNode, stopNode, tempRoot, type NodeHandle } from "./mesh-harness.js";

type Row = Record<string, any>;

async function json(n: NodeHandle, args: string[]): Promise<Row> {
  const r = await kosctl(n, [...args, "--json"]);
  assert.equal(r.code, 0, `${n.name}: kosctl ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Row;
}

test("two members behind a kosd hub without [quorum] decide over a quorum link", { timeout: 120_000 }, async (t) => {
  const root = tempRoot(t);
  const port = await freePort();
  const rng = seededRandom(606);
  const ids = { hub: Identity.generate(rng), a: Identity.generate(rng), b: Identity.generate(rng) };
  const client = `[interfaces]\n  [[Up]]\n    type = TCPClientInterface\n    enabled = yes\n    target_host = 127.0.0.1\n    target_port = ${port}\n[quorum]\n  enabled = yes\n`;
  const hub = makeNode(root, "hub", `  enable_transport = yes\n[interfaces]\n  [[Hub]]\n    type = TCPServerInterface\n    enabled = yes\n    listen_ip = 127.0.0.1\n    listen_port = ${port}\n`);
  const a = makeNode(root, "a", client);
  const b = makeNode(root, "b", client);
  const nodes = [hub, a, b];
  for (const n of nodes) fs.writeFileSync(path.join(n.dir, "identity"), ids[n.name as keyof typeof ids].privateKey, { mode: 0o600 });
  t.after(async () => {
    for (const n of nodes) await stopNode(n);
  });
  for (const n of nodes) await startNode(n);
  assert.equal((await json(hub, ["status"]))["quorum"]?.["running"] ?? false, false, "the hub does not run quorum");

  // Each member writes the same genesis (same keys, same threshold: the same id) and trusts it as its own.
  const keys = [ids.a, ids.b].map((i) => toHex(i.publicKey));
  const ma = await json(a, ["vote", "membership", "create", ...keys.flatMap((k) => ["--member", k]), "--threshold", "2"]);
  const mb = await json(b, ["vote", "membership", "create", ...keys.flatMap((k) => ["--member", k]), "--threshold", "2"]);
  assert.equal(ma["id"], mb["id"]);

  // A proposes; its link to B (two hops, through the hub) carries the proposal. Announces may still be on
  // their way: A re-announces until B has heard.
  const proposed = await json(a, ["vote", "propose", "alarm.confirm", "--deadline", "60s"]);
  const id = proposed["proposal"] as string;
  const deadlineMs = Date.parse(proposed["deadline"] as string);
  assert.ok(await eventually(async () => {
    if ((await kosctl(b, ["vote", "show", id])).code === 0) return true;
    for (const n of [a, b]) await kosctl(n, ["announce"]);
    return false;
  }, 40_000, 1000), "B hears of the proposal through the hub");
  await json(b, ["vote", "cast", id, "yes"]);
  await json(a, ["vote", "cast", id, "yes"]);
  for (const n of [a, b]) {
    assert.ok(await eventually(async () => (await json(n, ["vote", "show", id]))["status"] === "reached", 20_000, 250), `${n.name} reaches the certificate`);
  }
  assert.ok(Date.now() < deadlineMs, "before the deadline");
  const la = (await json(a, ["status"]))["quorum"]["links"] as Row;
  const lb = (await json(b, ["status"]))["quorum"]["links"] as Row;
  assert.equal(la["opened"] + lb["opened"], 1, `one link: ${JSON.stringify({ la, lb })}`);
  assert.equal(la["accepted"] + lb["accepted"], 1);
  assert.ok(la["packetsIn"] > 0 && lb["packetsIn"] > 0);
  assert.match((await kosctl(a, ["status"])).stdout, /Links {3}: 1 up to far members; /);
});
