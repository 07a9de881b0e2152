// UDP driver over real loopback sockets (RNS 1.4.2 UDPInterface.py behaviour): one datagram per packet.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { toHex } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { broadcastAddressOf, UDP_DEFAULTS, UdpDriver } from "../../drivers/net/udp.js";
import { vectorFile } from "../helpers.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

/** Two free loopback UDP ports (bound briefly to port 0, then released). */
async function freePorts(n: number): Promise<number[]> {
  const sockets = Array.from({ length: n }, () => createSocket("udp4"));
  const ports = await Promise.all(sockets.map((s) => new Promise<number>((r) => s.bind(0, "127.0.0.1", () => r(s.address().port)))));
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

async function pair() {
  const [pa, pb] = await freePorts(2);
  const a = new UdpDriver({ name: "a", listenIp: "127.0.0.1", listenPort: pa!, forwardIp: "127.0.0.1", forwardPort: pb! });
  const b = new UdpDriver({ name: "b", listenIp: "127.0.0.1", listenPort: pb!, forwardIp: "127.0.0.1", forwardPort: pa! });
  a.start();
  b.start();
  await waitFor(() => a.state === "up" && b.state === "up", "both bound");
  return { a, b, pa: pa!, pb: pb! };
}

test("UDP constants are the reference's: HW_MTU 1064, 10 Mbps, IFAC 16", () => {
  const v = vectorFile<{ constants: { udp: Record<string, number | boolean> } }>("rns-1.4.2-auto.json");
  assert.equal(UDP_DEFAULTS.hwMtu, v.constants.udp["HW_MTU"]);
  assert.equal(UDP_DEFAULTS.bitrateBps, v.constants.udp["BITRATE_GUESS"]);
  assert.equal(UDP_DEFAULTS.ifacSize, v.constants.udp["DEFAULT_IFAC_SIZE"]);
  const d = new UdpDriver({ name: "x", listenIp: "0.0.0.0", port: 4242, forwardIp: "255.255.255.255" });
  assert.deepEqual(d.listen, { ip: "0.0.0.0", port: 4242 });
  assert.deepEqual(d.forward, { ip: "255.255.255.255", port: 4242 });
  assert.equal(d.info.name, "UDPInterface[x/0.0.0.0:4242]");
});

test("two UDP drivers on loopback exchange datagrams both ways, one packet each", async (t) => {
  const { a, b } = await pair();
  t.after(() => Promise.all([a.stop(), b.stop()]));
  const atA: string[] = [];
  const atB: string[] = [];
  a.on("frame", (f) => atA.push(toHex(f)));
  b.on("frame", (f) => atB.push(toHex(f)));
  const rng = seededRandom(21);
  const toB = [rng.bytes(20), Uint8Array.from({ length: 256 }, (_, i) => i), rng.bytes(1080)];
  const toA = [rng.bytes(500), rng.bytes(64)];
  for (const f of toB) assert.equal(a.send(f), true);
  for (const f of toA) assert.equal(b.send(f), true);
  await waitFor(() => atB.length === toB.length && atA.length === toA.length, "datagrams");
  assert.deepEqual(atB.sort(), toB.map(toHex).sort());
  assert.deepEqual(atA.sort(), toA.map(toHex).sort());
  assert.equal(a.counters.txFrames, 3);
  assert.equal(b.counters.rxFrames, 3);
});

test("the datagram is the packet: no framing bytes are added", async (t) => {
  const [pa, sink] = await freePorts(2);
  const raw = createSocket("udp4");
  const got: Buffer[] = [];
  raw.on("message", (m) => got.push(m));
  await new Promise<void>((r) => raw.bind(sink!, "127.0.0.1", () => r()));
  const d = new UdpDriver({ listenIp: "127.0.0.1", listenPort: pa!, forwardIp: "127.0.0.1", forwardPort: sink! });
  d.start();
  t.after(async () => {
    await d.stop();
    await new Promise<void>((r) => raw.close(() => r()));
  });
  await waitFor(() => d.state === "up", "bound");
  const f = Uint8Array.from({ length: 40 }, (_, i) => [0x7e, 0x7d, 0xc0, 0xdb][i % 4]!);
  d.send(f);
  await waitFor(() => got.length === 1, "datagram");
  assert.equal(got[0]!.toString("hex"), toHex(f));
});

test("oversize and undersize datagrams are dropped and counted; the largest allowed passes", async (t) => {
  const { a, b, pb } = await pair();
  t.after(() => Promise.all([a.stop(), b.stop()]));
  const got: Uint8Array[] = [];
  b.on("frame", (f) => got.push(f));
  const raw = createSocket("udp4");
  t.after(() => new Promise<void>((r) => raw.close(() => r())));
  const sendRaw = (n: number): Promise<void> => new Promise((r) => raw.send(new Uint8Array(n).fill(0xab), pb, "127.0.0.1", () => r()));
  await sendRaw(1064 + 16 + 1);
  await sendRaw(4000);
  await sendRaw(19);
  await sendRaw(1064 + 16);
  await waitFor(() => got.length === 1 && (b.counters.drops["oversize"] ?? 0) === 2 && (b.counters.drops["too-short"] ?? 0) === 1, "drops");
  assert.equal(got[0]!.length, 1080);
  assert.equal(a.send(new Uint8Array(1081)), false);
  assert.equal(a.counters.drops["tx-oversize"], 1);
});

test("a listen-only driver refuses to send; a stopped driver is closed", async (t) => {
  const [p] = await freePorts(1);
  const d = new UdpDriver({ listenIp: "127.0.0.1", listenPort: p! });
  d.start();
  t.after(() => d.stop());
  await waitFor(() => d.state === "up", "bound");
  assert.equal(d.port, p);
  assert.equal(d.send(new Uint8Array(30)), false);
  assert.equal(d.counters.drops["not-forwarding"], 1);
  await d.stop();
  assert.equal(d.state, "closed");
  assert.equal(d.send(new Uint8Array(30)), false);
  assert.throws(() => d.start(), /closed/);
});

test("a port already taken leaves the driver down and retrying, and it comes up once the port is free", async (t) => {
  const [p] = await freePorts(1);
  const squatter = createSocket("udp4");
  await new Promise<void>((r) => squatter.bind(p!, "127.0.0.1", () => r()));
  const d = new UdpDriver({ listenIp: "127.0.0.1", listenPort: p!, backoff: { initialMs: 20, maxMs: 100, jitter: 0.25 } });
  d.start();
  t.after(() => d.stop());
  await waitFor(() => d.state === "down" && d.lastError !== null, "bind failure");
  await new Promise<void>((r) => squatter.close(() => r()));
  await waitFor(() => d.state === "up", "bound after retry");
});

test("a device stands for its IPv4 broadcast address", () => {
  const nics = {
    eth9: [
      { address: "fe80::1", netmask: "ffff:ffff:ffff:ffff::", family: "IPv6", mac: "", internal: false, cidr: null, scopeid: 2 },
      { address: "192.168.7.21", netmask: "255.255.255.0", family: "IPv4", mac: "", internal: false, cidr: null },
    ],
    wan: [{ address: "10.1.2.3", netmask: "255.240.0.0", family: "IPv4", mac: "", internal: false, cidr: null }],
  } as unknown as Parameters<typeof broadcastAddressOf>[1];
  assert.equal(broadcastAddressOf("eth9", nics), "192.168.7.255");
  assert.equal(broadcastAddressOf("wan", nics), "10.15.255.255");
  assert.equal(broadcastAddressOf("none", nics), null);
});
