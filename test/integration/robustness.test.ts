// Bad input at the daemon's door: a raw TCP peer sends garbage, broken and oversized frames, forged
// announces, replays and a 10,000-announce flood. Everything is dropped and counted, the node keeps
// answering, and its tables and memory stay within their bounds.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import { toHex, utf8 } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { announceRandomHash, buildAnnounce } from "../../runtime/wire/announce.js";
import { destinationHashOf, nameHash } from "../../runtime/wire/destination.js";
import { hdlcEncode } from "../../runtime/wire/hdlc.js";
import { encodePacket } from "../../runtime/wire/packet.js";
import { eventually, freePort, kosctl, makeNode, startNode, stopNode, tempRoot } from "./mesh-harness.js";

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
    s.on("data", () => undefined); // whatever kosd sends us is ignored
  });
}

function write(s: net.Socket, data: Uint8Array): Promise<void> {
  return new Promise((resolve) => (s.write(data) ? resolve() : s.once("drain", () => resolve())));
}

test("garbage, broken frames, forged announces, replays and a 10,000-announce flood are dropped and counted", { timeout: 180_000 }, async (t) => {
  const root = tempRoot(t);
  const port = await freePort();
  const node = makeNode(
    root,
    "gw",
    `  enable_transport = yes\n  respond_to_probes = yes\n[interfaces]\n  [[Hub]]\n    type = TCPServerInterface\n    enabled = yes\n    listen_ip = 127.0.0.1\n    listen_port = ${port}\n`,
  );
  const friend = makeNode(root, "friend", `[interfaces]\n  [[Up]]\n    type = TCPClientInterface\n    enabled = yes\n    target_host = 127.0.0.1\n    target_port = ${port}\n`);
  t.after(async () => {
    await stopNode(friend);
    await stopNode(node);
  });
  await startNode(node);
  const rssBefore = rssMiB(node.child!.pid!);
  const rng = seededRandom(4242);
  let sock: net.Socket | null = null;
  assert.ok(await eventually(async () => {
    try {
      sock = await connect(port);
      return true;
    } catch {
      return false;
    }
  }, 15_000), "the TCP server listens");
  const peerSock = sock as unknown as net.Socket;
  t.after(() => peerSock.destroy());

  // 1. Garbage with no frame structure, bytes that break HDLC escapes, runts and an oversized frame.
  await write(peerSock, rng.bytes(100_000));
  await write(peerSock, Uint8Array.of(0x7e, 0x7d, 0x7d, 0x7d, 0x7e, 0x7e, 0x01, 0x02, 0x7e));
  await write(peerSock, hdlcEncode(rng.bytes(10)));
  await write(peerSock, hdlcEncode(rng.bytes(20_000)));
  // Frames that are packets in shape but not in content.
  for (let i = 0; i < 200; i++) await write(peerSock, hdlcEncode(rng.bytes(19 + (rng.next32() % 400))));

  // 2. Forged announces: a bad signature, and a valid signature for the wrong destination hash.
  const liar = Identity.generate(rng);
  const good = encodePacket(buildAnnounce(liar, nameHash("kos", ["robust"]), { randomHash: announceRandomHash(rng, Date.now()), appData: utf8("hi") }));
  const badSig = good.slice();
  badSig[100]! ^= 0x40;
  await write(peerSock, hdlcEncode(badSig));
  const wrongDest = good.slice();
  wrongDest[5]! ^= 0x01;
  await write(peerSock, hdlcEncode(wrongDest));
  // 3. A replay: the same valid announce several times.
  for (let i = 0; i < 5; i++) await write(peerSock, hdlcEncode(good));

  // 4. The flood: 10,000 announces from distinct identities on this one connection.
  const ids = Array.from({ length: 64 }, () => Identity.generate(rng));
  for (let i = 0; i < 10_000; i++) {
    const id = ids[i % ids.length]!;
    const p = buildAnnounce(id, nameHash("kos", ["flood", String(i)]), { randomHash: announceRandomHash(rng, Date.now()) });
    await write(peerSock, hdlcEncode(encodePacket(p)));
  }

  // The node still answers its operator and its neighbours.
  assert.ok(await eventually(async () => (await kosctl(node, ["status", "--json"])).code === 0, 30_000), "status answers after the flood");
  await startNode(friend);
  const probe = toHex(destinationHashOf("rnstransport.probe", node.identity().hash));
  assert.ok(await eventually(async () => (await kosctl(friend, ["probe", probe, "--timeout", "5"])).code === 0, 60_000, 500), "a neighbour's probe is answered during/after the flood");

  const s = JSON.parse((await kosctl(node, ["status", "--json"])).stdout);
  if (process.env["KOS_VERBOSE"]) console.log(JSON.stringify(s.interfaces, null, 1), rssBefore, rssMiB(node.child!.pid!));
  const peer = s.interfaces.find((i: { name: string; rxFrames: number }) => i.name.includes("Client on") && i.rxFrames > 5000);
  assert.ok(peer, "the flooding peer's interface is listed with its traffic");
  const drops = peer.drops as Record<string, number>;
  const total = Object.values(drops).reduce((a, b) => a + b, 0);
  assert.ok(total > 200, `drops are counted by reason: ${JSON.stringify(drops)}`);
  assert.ok(Object.keys(drops).length >= 3, `several reasons: ${JSON.stringify(drops)}`);
  assert.ok((drops["bad-announce"] ?? 0) >= 2, `forged announces counted: ${JSON.stringify(drops)}`);
  assert.ok((drops["replay"] ?? 0) >= 4, `replays counted: ${JSON.stringify(drops)}`);
  assert.ok((drops["oversize"] ?? 0) >= 1, `the oversized frame counted: ${JSON.stringify(drops)}`);
  // Every table stays within its bound, and the daemon's memory does not grow with the flood.
  assert.ok(s.tables.paths <= 16_384 && s.tables.announcesHeld <= 256 * 4, JSON.stringify(s.tables));
  const rssAfter = rssMiB(node.child!.pid!);
  assert.ok(rssAfter < rssBefore + 150, `RSS ${rssBefore.toFixed(0)} -> ${rssAfter.toFixed(0)} MiB`);
});
