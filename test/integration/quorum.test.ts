// Local quorum between four kosd on loopback TCP: a hub (transport node, TCPServerInterface) and three
// clients. PLAIN gossip reaches direct neighbours only, so the hub, a member running quorum too, carries
// proposals and votes between the clients through its HAVE/WANT repair. The genesis membership is written by
// A and reaches the others by log sync; A proposes, B and the hub vote by hand, C by a policy in its config;
// B is killed (SIGKILL) after voting and restarted, keeps its vote (another choice is refused, the same one is
// re-sent); every node reaches the certificate before the deadline, logs it, and `kosctl vote verify` checks
// it against the membership chain, from kosd's log and offline from a bundle. Forged gossip injected into the
// hub's TCP interface is refused and counted in `kosctl status`.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { toHex, utf8 } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { createMembership } from "../../runtime/quorum/membership.js";
import { encodeProposalMessage, encodeVoteMessages } from "../../runtime/quorum/messages.js";
import { createProposal } from "../../runtime/quorum/proposal.js";
import { Choice } from "../../runtime/quorum/vote.js";
import { hdlcEncode } from "../../runtime/wire/hdlc.js";
import { destinationHashOf } from "../../runtime/wire/destination.js";
import { Context, DestinationType, HeaderType, PacketType, TransportType, encodePacket } from "../../runtime/wire/packet.js";
import { eventually, freePort, kosctl, makeNode, startNode, stopNode, tempRoot, type NodeHandle } from "./mesh-harness.js";

type Row = Record<string, any>;

async function json(n: NodeHandle, args: string[]): Promise<Row> {
  const r = await kosctl(n, [...args, "--json"]);
  assert.equal(r.code, 0, `${n.name}: kosctl ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Row;
}

async function quorum(n: NodeHandle): Promise<Row> {
  return (await json(n, ["status"]))["quorum"] as Row;
}

/** A PLAIN DATA packet to kos.quorum, HDLC-framed as on a TCP interface. */
function plainFrame(data: Uint8Array): Uint8Array {
  const raw = encodePacket({
    headerType: HeaderType.HEADER_1, contextFlag: false, transportType: TransportType.BROADCAST, destinationType: DestinationType.PLAIN,
    packetType: PacketType.DATA, hops: 0, transportId: null, destinationHash: destinationHashOf("kos.quorum", null), context: Context.NONE, data,
  });
  return hdlcEncode(raw);
}

test("four kosd decide by local quorum: log-synced membership, hand and policy votes, a restart mid-vote, verified certificates, forged gossip counted", { timeout: 300_000 }, async (t) => {
  const root = tempRoot(t);
  const port = await freePort();
  const rng = seededRandom(2024);
  const ids = { hub: Identity.generate(rng), a: Identity.generate(rng), b: Identity.generate(rng), c: Identity.generate(rng) };
  const aHash = toHex(ids.a.hash);
  const q = `[quorum]\n  enabled = yes\n  trust_authors = ${aHash}\n`;
  const client = `[interfaces]\n  [[Up]]\n    type = TCPClientInterface\n    enabled = yes\n    target_host = 127.0.0.1\n    target_port = ${port}\n`;
  const hub = makeNode(root, "hub", `  enable_transport = yes\n[interfaces]\n  [[Hub]]\n    type = TCPServerInterface\n    enabled = yes\n    listen_ip = 127.0.0.1\n    listen_port = ${port}\n${q}`);
  const a = makeNode(root, "a", client + q);
  const b = makeNode(root, "b", client + q);
  // C approves anomaly alerts raised by A, by itself.
  const c = makeNode(root, "c", `${client}${q}  [[anomalies from a]]\n    vote = approve\n    kind = sensor.anomaly\n    proposer = ${aHash}\n`);
  const nodes = [hub, a, b, c];
  for (const n of nodes) fs.writeFileSync(path.join(n.dir, "identity"), ids[n.name as keyof typeof ids].privateKey, { mode: 0o600 });
  t.after(async () => {
    for (const n of nodes) await stopNode(n);
  });
  for (const n of nodes) await startNode(n);

  // Keys as kosctl status shows them; A writes the genesis membership of all four (threshold 3).
  const keys = await Promise.all(nodes.map(async (n) => (await quorum(n))["key"] as string));
  assert.deepEqual(keys, nodes.map((n) => toHex(ids[n.name as keyof typeof ids].publicKey)));
  const created = await json(a, ["vote", "membership", "create", ...keys.flatMap((k) => ["--member", k])]);
  assert.equal(created["threshold"], 3);
  assert.equal(created["trusted"], true);
  const membershipId = created["id"] as string;
  // It reaches the others by log sync (announces carry the log hint).
  const haveMembership = async (): Promise<boolean> => (await Promise.all(nodes.map(quorum))).every((x) => x["membership"]?.["id"] === membershipId);
  assert.ok(await eventually(async () => {
    if (await haveMembership()) return true;
    for (const n of nodes) await kosctl(n, ["announce"]);
    return false;
  }, 90_000, 2000), "every node adopts the membership");

  // A proposes; the proposal reaches B and C through the hub's repair; C's policy votes yes.
  const deadlineS = 120;
  const proposed = await json(a, ["vote", "propose", "sensor.anomaly", "--payload", JSON.stringify({ sensor: "t-17", value: 81.5 }), "--deadline", `${deadlineS}s`]);
  const id = proposed["proposal"] as string;
  const deadlineMs = Date.parse(proposed["deadline"] as string);
  const known = async (n: NodeHandle, which = id): Promise<boolean> => (await kosctl(n, ["vote", "show", which])).code === 0;
  for (const n of nodes) assert.ok(await eventually(() => known(n), 30_000, 500), `${n.name} hears of the proposal`);
  assert.ok(await eventually(async () => (await json(c, ["vote", "show", id]))["ownVote"]?.["choice"] === "yes", 20_000, 500), "C votes yes by its policy");
  assert.equal((await json(c, ["vote", "show", id]))["policy"], "anomalies from a");

  // B votes by hand, then dies hard and comes back: its vote is kept.
  const cast = await json(b, ["vote", "cast", id, "yes"]);
  assert.equal(cast["resent"], false);
  b.child!.kill("SIGKILL");
  await new Promise((r) => b.child!.once("exit", r));
  b.child = null;
  await startNode(b);
  assert.ok(await eventually(async () => (await quorum(b))["running"] === true, 20_000, 250), "quorum restarts on B");
  const refused = await kosctl(b, ["vote", "cast", id, "no"]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /already-voted: this node voted yes/);
  const again = await json(b, ["vote", "cast", id, "yes"]);
  assert.equal(again["resent"], true);
  assert.equal(again["timeMs"], cast["timeMs"], "the very same signed vote");
  // The proposal itself comes back from B's log (it logged it before the kill).
  assert.ok(await known(b));

  // Not decided yet (two of three); the hub's vote completes it.
  assert.equal((await json(a, ["vote", "show", id]))["certificate"], null);
  await json(hub, ["vote", "cast", id, "yes"]);
  const reached = async (n: NodeHandle): Promise<boolean> => (await json(n, ["vote", "show", id]))["status"] === "reached";
  for (const n of nodes) assert.ok(await eventually(() => reached(n), 60_000, 500), `${n.name} reaches the certificate`);
  assert.ok(Date.now() < deadlineMs, "every node holds the certificate before the deadline");
  // kosctl vote watch on a decided proposal prints its state and ends.
  const watched = await kosctl(c, ["vote", "watch", id, "--json"], 15_000);
  assert.equal(watched.code, 0, watched.stderr);
  assert.equal(JSON.parse(watched.stdout.split("\n")[0]!)["view"]["status"], "reached");

  // Every node logs the certificate, signed by itself, and it verifies against the membership chain.
  for (const n of nodes) {
    const self = toHex(ids[n.name as keyof typeof ids].hash);
    assert.ok(await eventually(async () => {
      const r = await kosctl(n, ["log", "list", "--kind", "quorum.certificate", "--author", self, "--json"]);
      return r.code === 0 && (JSON.parse(r.stdout) as unknown[]).length === 1;
    }, 20_000, 500), `${n.name} logs its certificate`);
    const v = await kosctl(n, ["vote", "verify", id]);
    assert.equal(v.code, 0, `${n.name}: ${v.stdout}${v.stderr}`);
    assert.match(v.stdout, /^ok: proposal .* approved by 3 of the 3 votes needed/m);
  }
  // Offline: A's log as a bundle, checked by kosctl alone with the trusted author, and refused without it.
  const bundle = path.join(root, "a.bundle");
  assert.equal((await kosctl(a, ["log", "export", bundle])).code, 0);
  const off = await kosctl(a, ["vote", "verify", "--bundle", bundle, "--trust-author", aHash, "--socket", "/nonexistent"]);
  assert.equal(off.code, 0, off.stdout + off.stderr);
  const untrusted = await kosctl(a, ["vote", "verify", "--bundle", bundle, "--trust-author", toHex(ids.b.hash)]);
  assert.equal(untrusted.code, 1);
  assert.match(untrusted.stdout, /FAILED: .*genesis not trusted/);

  // kosctl status shows the decision.
  const st = await quorum(a);
  assert.ok((st["recent"] as Row[]).some((p) => p["id"] === id && p["status"] === "reached"));
  const text = await kosctl(a, ["status"]);
  assert.match(text.stdout, new RegExp(`quorum: membership ${membershipId} v1, member 1 of 4, threshold 3`));

  // Forged gossip into the hub's TCP interface: a vote with a bad signature, a vote for an unknown proposal,
  // a proposal of a membership nobody trusts. Each is refused and counted.
  const before = (await quorum(hub))["drops"] as Record<string, number>;
  const bad = new Uint8Array(64).fill(7);
  const forgedVote = encodeVoteMessages(Uint8Array.from(Buffer.from(id, "hex")), [{ proposalId: Uint8Array.from(Buffer.from(id, "hex")), voter: 1, choice: Choice.NO, timeMs: Date.now(), signature: bad }], 383)[0]!;
  const stray = encodeVoteMessages(new Uint8Array(16).fill(9), [{ proposalId: new Uint8Array(16).fill(9), voter: 0, choice: Choice.YES, timeMs: Date.now(), signature: bad }], 383)[0]!;
  const outsider = Identity.generate(rng);
  const foreign = createMembership({ members: [outsider.publicKey] });
  const foreignProposal = createProposal(outsider, foreign, { kind: "sensor.anomaly", payload: utf8("x"), deadlineMs: Date.now() + 60_000, createdMs: Date.now() });
  const sock = net.connect(port, "127.0.0.1");
  await new Promise<void>((r, j) => sock.once("connect", r).once("error", j));
  for (const m of [forgedVote, stray, encodeProposalMessage(foreignProposal.encoded)]) sock.write(plainFrame(m));
  const counted = async (): Promise<boolean> => {
    const d = (await quorum(hub))["drops"] as Record<string, number>;
    return (d["bad-signature"] ?? 0) > (before["bad-signature"] ?? 0) && (d["unknown-proposal"] ?? 0) > (before["unknown-proposal"] ?? 0) && (d["unknown-membership"] ?? 0) > (before["unknown-membership"] ?? 0);
  };
  const ok = await eventually(counted, 15_000, 250);
  sock.destroy();
  assert.ok(ok, `forged input counted: ${JSON.stringify((await quorum(hub))["drops"])}`);
  assert.match((await kosctl(hub, ["status"])).stdout, /Drops {3}: .*bad-signature \d+/);
  // The decision stands everywhere.
  for (const n of nodes) assert.ok(await reached(n));

  // The membership changes only by a certificate of the current one: A proposes version 2 without C; A, B and
  // the hub approve; A adopts it and logs it, the others take it from the log (checking the certificate).
  const change = await json(a, ["vote", "membership", "propose-change", ...keys.slice(0, 3).flatMap((k) => ["--member", k]), "--deadline", "90s"]);
  const changeId = change["proposal"] as string;
  assert.equal(change["draft"]["version"], 2);
  for (const n of [hub, b]) assert.ok(await eventually(() => known(n, changeId), 30_000, 500), `${n.name} hears of the membership change`);
  for (const n of [a, b, hub]) await json(n, ["vote", "cast", changeId, "yes"]);
  const v2 = async (): Promise<boolean> => (await Promise.all([hub, a, b].map(quorum))).every((x) => x["membership"]?.["version"] === 2 && x["membership"]?.["previous"] === membershipId);
  assert.ok(await eventually(async () => {
    if (await v2()) return true;
    for (const n of nodes) await kosctl(n, ["announce"]);
    return false;
  }, 90_000, 2000), `version 2 adopted: ${JSON.stringify(await Promise.all([hub, a, b].map(async (n) => (await quorum(n))["membership"]?.["version"])))}`);
  // Proposals now name version 2; one naming the stale version 1 is refused.
  const next = await json(b, ["vote", "propose", "alarm.confirm", "--deadline", "30s"]);
  assert.equal(next["membership"], (await quorum(b))["membership"]["id"]);
});
