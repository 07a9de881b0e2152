// Three kosd nodes on loopback TCP, as an operator runs them: B and C connect to transport node A. They
// find paths through A, answer probes, establish links, answer requests (cp --fetch) and copy a 1 MB file
// with kosctl cp; after A restarts, B and C reconnect by themselves and traffic resumes.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { toHex } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { destinationHashOf } from "../../runtime/wire/destination.js";
import { eventually, freePort, kosctl, kosctlUntil, makeNode, startNode, stopNode, tempRoot, type NodeHandle } from "./mesh-harness.js";

const tcpServer = (port: number): string =>
  `  enable_transport = yes\n  respond_to_probes = yes\n[interfaces]\n  [[Hub]]\n    type = TCPServerInterface\n    enabled = yes\n    listen_ip = 127.0.0.1\n    listen_port = ${port}\n`;
const tcpClient = (port: number): string =>
  `  respond_to_probes = yes\n[interfaces]\n  [[Uplink]]\n    type = TCPClientInterface\n    enabled = yes\n    target_host = 127.0.0.1\n    target_port = ${port}\n`;

test("three nodes over TCP: paths via a transport node, probes, links, requests, 1 MB cp, recovery after restart", { timeout: 180_000 }, async (t) => {
  const root = tempRoot(t);
  const port = await freePort();
  const a = makeNode(root, "a", tcpServer(port));
  const b = makeNode(root, "b", tcpClient(port));
  const c = makeNode(root, "c", tcpClient(port));
  const nodes: NodeHandle[] = [a, b, c];
  t.after(async () => {
    for (const n of nodes) await stopNode(n);
  });
  for (const n of nodes) await startNode(n);

  // Every client interface comes up.
  for (const n of [b, c]) {
    assert.ok(
      await eventually(async () => {
        const s = await kosctl(n, ["status", "--json"]);
        return s.code === 0 && JSON.parse(s.stdout).interfaces.some((i: { state: string }) => i.state === "up");
      }, 20_000),
      `${n.name} never came up: ${n.output.slice(-1500)}`,
    );
  }

  // A probe from C to A's probe destination, and a path from C to B's through A (2 hops).
  const probeA = toHex(destinationHashOf("rnstransport.probe", a.identity().hash));
  const probe = await kosctl(c, ["probe", probeA, "--timeout", "10"]);
  assert.equal(probe.code, 0, probe.stdout + probe.stderr);
  assert.match(probe.stdout, /Valid reply from/);

  const recv = path.join(root, "recv");
  fs.mkdirSync(recv);
  const listener = await kosctlUntil(b, ["cp", "--listen", "--no-auth", "--allow-fetch", "--save", recv], /listening on <([0-9a-f]{32})>/);
  t.after(() => listener.child.kill("SIGTERM"));
  const dest = listener.line[1]!;
  const pathRes = await kosctl(c, ["path", dest, "--timeout", "15", "--json"]);
  assert.equal(pathRes.code, 0, pathRes.stderr);
  assert.equal(JSON.parse(pathRes.stdout).hops, 2, "B's destination is two hops from C, through A");

  // 1 MB through the transport node.
  const file = path.join(root, "payload.bin");
  const rng = seededRandom(31);
  fs.writeFileSync(file, rng.bytes(1_000_000));
  const sent = await kosctl(c, ["cp", file, dest, "--json"], 120_000);
  assert.equal(sent.code, 0, sent.stdout + sent.stderr);
  assert.ok(await eventually(async () => fs.existsSync(path.join(recv, "payload.bin")), 10_000));
  assert.deepEqual(fs.readFileSync(path.join(recv, "payload.bin")), fs.readFileSync(file));

  // A request over a link: C fetches the file back from B (B allows fetching).
  const back = path.join(root, "back");
  fs.mkdirSync(back);
  const fetched = await kosctl(c, ["cp", "--fetch", file, dest, "--save", back, "--json"], 120_000);
  assert.equal(fetched.code, 0, fetched.stdout + fetched.stderr);
  assert.deepEqual(fs.readFileSync(path.join(back, "payload.bin")), fs.readFileSync(file));
  const missing = await kosctl(c, ["cp", "--fetch", path.join(root, "nope.bin"), dest, "--save", back]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /not found/);

  // The transport node restarts; the clients reconnect and a second copy goes through.
  await stopNode(a);
  await startNode(a);
  for (const n of [b, c]) {
    assert.ok(
      await eventually(async () => {
        const s = await kosctl(n, ["status", "--json"]);
        return s.code === 0 && JSON.parse(s.stdout).interfaces.some((i: { state: string }) => i.state === "up");
      }, 30_000),
      `${n.name} did not reconnect`,
    );
  }
  const small = path.join(root, "after-restart.txt");
  fs.writeFileSync(small, "still here\n");
  const again = await eventually(async () => (await kosctl(c, ["cp", small, dest, "--timeout", "10"], 60_000)).code === 0, 60_000, 1000);
  assert.ok(again, "cp after the transport node restarted");
  assert.ok(await eventually(async () => fs.existsSync(path.join(recv, "after-restart.txt")), 10_000));

  // Counters are visible per interface.
  const status = JSON.parse((await kosctl(a, ["status", "--json"])).stdout);
  assert.ok(status.interfaces.length >= 3, "the server and one interface per connected client");
  assert.ok(status.interfaces.some((i: { rxFrames: number }) => i.rxFrames > 0));
});

test("two nodes over UDP exchange announces and answer probes", { timeout: 60_000 }, async (t) => {
  const root = tempRoot(t);
  const [pa, pb] = [await freePort(), await freePort()];
  const udp = (listen: number, forward: number): string =>
    `  respond_to_probes = yes\n[interfaces]\n  [[UDP]]\n    type = UDPInterface\n    enabled = yes\n    listen_ip = 127.0.0.1\n    listen_port = ${listen}\n    forward_ip = 127.0.0.1\n    forward_port = ${forward}\n`;
  const a = makeNode(root, "a", udp(pa, pb));
  const b = makeNode(root, "b", udp(pb, pa));
  t.after(async () => {
    await stopNode(a);
    await stopNode(b);
  });
  await startNode(a);
  await startNode(b);
  const probeB = toHex(destinationHashOf("rnstransport.probe", b.identity().hash));
  const ok = await eventually(async () => (await kosctl(a, ["probe", probeB, "--timeout", "5"])).code === 0, 30_000, 500);
  assert.ok(ok, `probe over UDP failed: ${a.output.slice(-1500)}`);

  // With B gone, a probe gives up after the timeout it was given, as rnprobe does (not the engine's 21 s).
  await stopNode(b);
  const started = Date.now();
  const lost = await kosctl(a, ["probe", probeB, "--timeout", "2"]);
  assert.equal(lost.code, 2, lost.stdout + lost.stderr);
  assert.match(lost.stdout, /Probe 1 timed out/);
  assert.ok(Date.now() - started < 10_000, `a probe with --timeout 2 took ${Date.now() - started} ms to give up`);
});
