// kosd with only an AutoInterface, as an operator runs it on a LAN: each node in its own network namespace,
// all on one bridge (test/integration/netns-lan.ts), kosctl outside talking to the control sockets. The nodes
// find each other by IPv6 link-local multicast, learn each other's paths from announces, answer probes,
// establish links and copy a 1 MB file; when a node's link goes down and comes back, briefly or for longer
// than the peering timeout, traffic resumes by itself. Skipped (with the reason) where namespaces cannot be made.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { seededRandom } from "../../runtime/core/ports.js";
import { eventually, makeNode, startNode, stopNode, tempRoot, type NodeHandle } from "./mesh-harness.js";
import { Lan } from "./netns-lan.js";
import { startPeer } from "../drivers/netns.js";
import { copy, expectAnnouncedPaths, expectPeers, expectProbe, listen, log, pathTable, peers, probeDest, probeOnce, startOnLan, status, topState } from "./lan-nodes.js";

const AUTO = `  respond_to_probes = yes\n[interfaces]\n  [[LAN]]\n    type = AutoInterface\n    enabled = yes\n`;

test("AutoInterface, two kosd nodes on one LAN: discovery, announces, probes, links, 1 MB cp, a link down and up", { timeout: 240_000 }, async (t) => {
  const setup = await startOnLan(t, 2, () => AUTO);
  if (setup === null) return;
  const { lan, nodes, root } = setup;
  const [a, b] = nodes as [NodeHandle, NodeHandle];

  await expectPeers(lan, nodes, 20_000);
  await expectAnnouncedPaths(nodes, 20_000);
  await expectProbe(a, b);
  await expectProbe(b, a);

  // A link from A to B's cp listener carries 1 MB (a resource over the link) intact.
  const { dest, recv, output } = await listen(t, b, root);
  const file = path.join(root, "payload.bin");
  fs.writeFileSync(file, seededRandom(41).bytes(1_000_000));
  await copy(a, dest, file, recv);
  // The listener names the sender's identity: it came over a link on which A identified itself.
  assert.match(output(), /received \S*payload\.bin \(1000000 bytes\) from <[0-9a-f]{32}>/);
  const peerRow = (await status(a))!.interfaces.find((i) => i.parent !== null)!;
  assert.ok(peerRow.txFrames > 800, `1 MB took only ${peerRow.txFrames} frames from A to its AutoInterface peer`);

  // A's link goes down: its AutoInterface notices (the link-local address is gone) and probes fail ...
  lan.linkDown(0);
  assert.ok(await eventually(async () => (await topState(a)) === "down", 15_000, 500), `A's AutoInterface never went down${log(a)}`);
  const started = Date.now();
  const during = await probeOnce(a, b, 2);
  assert.equal(during.ok, false, `a probe got through with the link down: ${during.text}`);
  assert.ok(Date.now() - started < 10_000, `a probe with --timeout 2 took ${Date.now() - started} ms to give up`);
  // ... and when it comes back (within the peering timeout: the peers are kept), traffic resumes by itself.
  lan.linkUp(0);
  assert.ok(await eventually(async () => (await topState(a)) === "up", 30_000, 500), `A's AutoInterface never came back${log(a)}`);
  assert.ok(await eventually(async () => (await probeOnce(a, b, 3)).ok, 30_000, 500), `no probe A -> B after the link came back${log(a)}${log(b)}`);
  await expectProbe(b, a);
  const again = path.join(root, "after-link-up.bin");
  fs.writeFileSync(again, seededRandom(42).bytes(100_000));
  await copy(a, dest, again, recv);
});

test("AutoInterface, three kosd nodes on one LAN: each pair talks; one node away past the peering timeout returns", { timeout: 300_000 }, async (t) => {
  const setup = await startOnLan(t, 3, () => AUTO);
  if (setup === null) return;
  const { lan, nodes, root } = setup;
  const [a, b, c] = nodes as [NodeHandle, NodeHandle, NodeHandle];

  await expectPeers(lan, nodes, 20_000);
  await expectAnnouncedPaths(nodes, 20_000);
  for (const from of nodes) for (const to of nodes) if (from !== to) await expectProbe(from, to);

  const { dest, recv, output } = await listen(t, b, root);
  const file = path.join(root, "payload.bin");
  fs.writeFileSync(file, seededRandom(43).bytes(1_000_000));
  await copy(c, dest, file, recv);
  assert.match(output(), /received \S*payload\.bin \(1000000 bytes\) from <[0-9a-f]{32}>/);

  // C's link goes down for longer than the peering timeout (22 s): A and B drop C as a peer, and its paths,
  // while they go on talking to each other.
  lan.linkDown(2);
  assert.ok(await eventually(async () => (await topState(c)) === "down", 15_000, 500), `C's AutoInterface never went down${log(c)}`);
  for (const [n, other] of [[a, b], [b, a]] as const) {
    assert.ok(
      await eventually(async () => JSON.stringify(await peers(n)) === JSON.stringify([lan.nodes[nodes.indexOf(other)]!.linkLocal]), 45_000, 1000),
      `${n.name} never dropped C${log(n)}`,
    );
    assert.ok(!(await pathTable(n)).some((p) => p.destination === probeDest(c)), `${n.name} kept a path to C`);
  }
  await expectProbe(a, b);
  assert.deepEqual(await peers(c), [], "C kept peers with its link down");

  // C comes back: it is discovered again, announces again, and traffic with it resumes.
  lan.linkUp(2);
  await expectPeers(lan, nodes, 30_000);
  await expectAnnouncedPaths(nodes, 30_000);
  await expectProbe(c, a);
  await expectProbe(a, c);
  const again = path.join(root, "after-return.bin");
  fs.writeFileSync(again, seededRandom(44).bytes(100_000));
  await copy(c, dest, again, recv);
});

test("AutoInterface: a peer that starts after kosd and never sends learns kosd's paths from announces alone", { timeout: 90_000 }, async (t) => {
  // A reference AutoInterface takes data only from peers it has discovered, and none during its start-up peering
  // wait: the announce kosd sends the moment it discovers a new peer is dropped there. Our own driver in default
  // settings behaves the same way, so it stands in for a node with no destinations of its own (it never sends a
  // frame, which would otherwise prompt kosd to announce again).
  const lan = await Lan.create(t, 2);
  if (lan === null) return;
  const root = tempRoot(t);
  const a = makeNode(root, "a", AUTO);
  a.netns = lan.nodes[0]!.ns;
  t.after(() => stopNode(a));
  await startNode(a);
  assert.ok(await eventually(async () => (await topState(a)) === "up", 20_000, 250), `kosd's AutoInterface never came up${log(a)}`);

  const silent = startPeer(t, lan.nodes[1]!.ns, { devices: ["eth0"] });
  const dest = probeDest(a);
  // HEADER_1 announce: flags byte with packet type 1, hops, then the destination hash.
  const announceOf = (e: Record<string, unknown>): boolean =>
    e["ev"] === "frame" && typeof e["hex"] === "string" && (parseInt(e["hex"].slice(0, 2), 16) & 0x03) === 1 && e["hex"].slice(4, 36) === dest;
  await silent.next(announceOf, `an announce of kosd's probe destination at the silent peer${log(a)}`, 15_000);
});
