// TCP client and server drivers over real loopback sockets (RNS 1.4.2 TCPInterface.py behaviour).
// Every wait is bounded (waitFor gives up after a few seconds); randomness is seeded and printed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, connect, type Server, type Socket } from "node:net";
import { concat, fromHex, toHex } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { hdlcEncode } from "../../runtime/wire/hdlc.js";
import { autoconfiguredHwMtu, Backoff, type LinkDriver } from "../../drivers/port.js";
import { TCP_DEFAULTS, TcpClientDriver } from "../../drivers/net/tcp-client.js";
import { TcpServerDriver } from "../../drivers/net/tcp-server.js";
import { vectorFile } from "../helpers.js";

const FAST = { initialMs: 20, maxMs: 200, jitter: 0.25 };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

function collect(d: LinkDriver): Uint8Array[] {
  const frames: Uint8Array[] = [];
  d.on("frame", (f) => frames.push(f));
  return frames;
}

/** A started server on a free loopback port, its children collected as they arrive. */
async function startServer(options: Partial<ConstructorParameters<typeof TcpServerDriver>[0]> = {}) {
  const server = new TcpServerDriver({ host: "127.0.0.1", port: 0, backoff: FAST, ...options });
  const children: LinkDriver[] = [];
  server.on("child", (c) => children.push(c));
  server.start();
  await waitFor(() => server.state === "up", "server listening");
  return { server, children };
}

function startClient(port: number, options: Partial<ConstructorParameters<typeof TcpClientDriver>[0]> = {}): TcpClientDriver {
  const client = new TcpClientDriver({ host: "127.0.0.1", port, backoff: FAST, random: seededRandom(7), ...options });
  client.start();
  return client;
}

function frameOf(seed: number, length: number): Uint8Array {
  return seededRandom(seed).bytes(length);
}

test("TCP MTU and constants follow the reference: 8192 at the 10 Mbps guess, from optimise_mtu", () => {
  const v = vectorFile<{ constants: { tcp: Record<string, number> }; optimised_hw_mtu: { bitrate: number; hw_mtu: number | null }[] }>("rns-1.4.2-auto.json");
  for (const e of v.optimised_hw_mtu) assert.equal(autoconfiguredHwMtu(e.bitrate), e.hw_mtu, `bitrate ${e.bitrate}`);
  assert.equal(TCP_DEFAULTS.bitrateBps, v.constants.tcp["BITRATE_GUESS"]);
  assert.equal(TCP_DEFAULTS.ifacSize, v.constants.tcp["DEFAULT_IFAC_SIZE"]);
  assert.equal(TCP_DEFAULTS.connectTimeoutMs, v.constants.tcp["INITIAL_CONNECT_TIMEOUT"]! * 1000);
  const client = new TcpClientDriver({ host: "127.0.0.1", port: 4242, name: "gw" });
  assert.equal(client.info.hwMtu, 8192);
  assert.equal(client.info.ifacSize, 16);
  assert.equal(client.info.name, "TCPInterface[gw/127.0.0.1:4242]");
  assert.equal(new TcpClientDriver({ host: "::1", port: 1 }).info.name, "TCPInterface[tcp/[::1]:1]");
});

test("backoff doubles from the initial wait to the maximum, each wait shortened by at most the jitter", () => {
  const seed = 1234;
  const b = new Backoff({ initialMs: 1000, maxMs: 60_000, jitter: 0.25 }, seededRandom(seed));
  const bases = [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000];
  for (const base of bases) {
    const d = b.nextDelayMs();
    assert.ok(d <= base && d >= base * 0.75, `seed ${seed}: ${d} outside [${base * 0.75}, ${base}]`);
  }
  assert.equal(b.attempts, bases.length);
  b.reset();
  assert.ok(b.nextDelayMs() <= 1000);
});

test("client and server exchange frames both ways", async (t) => {
  const { server, children } = await startServer();
  const client = startClient(server.port);
  t.after(() => Promise.all([client.stop(), server.stop()]));
  const fromServer = collect(client);
  await waitFor(() => client.state === "up" && children.length === 1, "connection");
  const child = children[0]!;
  assert.equal(child.info.kind, "tcp-server-peer");
  assert.equal(child.state, "up");
  const fromClient = collect(child);
  const up = [frameOf(1, 20), frameOf(2, 100), frameOf(3, 500)];
  const down = [frameOf(4, 64), frameOf(5, 8192)];
  for (const f of up) assert.equal(client.send(f), true);
  for (const f of down) assert.equal(child.send(f), true);
  await waitFor(() => fromClient.length === up.length && fromServer.length === down.length, "frames");
  assert.deepEqual(fromClient.map(toHex), up.map(toHex));
  assert.deepEqual(fromServer.map(toHex), down.map(toHex));
  assert.equal(client.counters.txFrames, 3);
  assert.equal(client.counters.txBytes, 620);
  assert.equal(child.counters.rxFrames, 3);
  assert.equal(client.counters.rxBytes, 64 + 8192);
});

test("frames holding every byte value (HDLC FLAG and ESC included) arrive intact", async (t) => {
  const { server, children } = await startServer();
  const client = startClient(server.port);
  t.after(() => Promise.all([client.stop(), server.stop()]));
  await waitFor(() => client.state === "up" && children.length === 1, "connection");
  const got = collect(children[0]!);
  const every = Uint8Array.from({ length: 256 }, (_, i) => i);
  const specials = new Uint8Array(300).map((_, i) => [0x7e, 0x7d, 0x5e, 0x5d, 0xc0, 0xdb][i % 6]!);
  const frames = [every, specials, concat(every, every, every), new Uint8Array(40).fill(0x7e), new Uint8Array(40).fill(0x7d)];
  for (const f of frames) client.send(f);
  await waitFor(() => got.length === frames.length, "frames");
  assert.deepEqual(got.map(toHex), frames.map(toHex));
});

test("a back-to-back burst of 2000 frames arrives complete and in order", async (t) => {
  const { server, children } = await startServer();
  const client = startClient(server.port);
  t.after(() => Promise.all([client.stop(), server.stop()]));
  await waitFor(() => client.state === "up" && children.length === 1, "connection");
  const got = collect(children[0]!);
  const seed = 99;
  const rng = seededRandom(seed);
  const frames = Array.from({ length: 2000 }, () => rng.bytes(20 + (rng.next32() % 480)));
  for (const f of frames) assert.equal(client.send(f), true);
  await waitFor(() => got.length === frames.length, `2000 frames (seed ${seed})`, 10_000);
  assert.deepEqual(got.map(toHex), frames.map(toHex), `seed ${seed}`);
});

test("the client's bytes on the wire are the reference's HDLC and KISS frames", async (t) => {
  const v = vectorFile<{ hdlc: { payload: string; frame: string }[]; kiss: { command: number; payload: string; frame: string }[] }>("rns-1.4.2-framing.json");
  for (const framing of ["hdlc", "kiss"] as const) {
    const cases = framing === "hdlc" ? v.hdlc : v.kiss.filter((k) => k.command === 0);
    const usable = cases.filter((c) => c.payload.length / 2 >= 20);
    assert.ok(usable.length >= 3);
    const received: Buffer[] = [];
    const raw: Server = createServer((s) => s.on("data", (d) => received.push(d)));
    await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
    const port = (raw.address() as { port: number }).port;
    const client = startClient(port, { framing });
    t.after(async () => {
      await client.stop();
      await new Promise((r) => raw.close(r));
    });
    await waitFor(() => client.state === "up", "connection");
    for (const c of usable) client.send(fromHex(c.payload));
    const expected = concat(...usable.map((c) => fromHex(c.frame)));
    await waitFor(() => Buffer.concat(received).length >= expected.length, `${framing} bytes`);
    assert.equal(Buffer.concat(received).toString("hex"), toHex(expected), framing);
  }
});

test("KISS framing carries frames both ways", async (t) => {
  const { server, children } = await startServer({ framing: "kiss" });
  const client = startClient(server.port, { framing: "kiss" });
  t.after(() => Promise.all([client.stop(), server.stop()]));
  const fromServer = collect(client);
  await waitFor(() => client.state === "up" && children.length === 1, "connection");
  const fromClient = collect(children[0]!);
  const frames = [Uint8Array.from({ length: 256 }, (_, i) => i), frameOf(11, 300)];
  for (const f of frames) client.send(f);
  for (const f of frames) children[0]!.send(f);
  await waitFor(() => fromClient.length === 2 && fromServer.length === 2, "frames");
  assert.deepEqual(fromClient.map(toHex), frames.map(toHex));
  assert.deepEqual(fromServer.map(toHex), frames.map(toHex));
});

test("after the server restarts the client reconnects by itself and traffic resumes", async (t) => {
  const first = await startServer();
  const port = first.server.port;
  const client = startClient(port);
  const states: string[] = [];
  client.on("state", (s) => states.push(s));
  let second: Awaited<ReturnType<typeof startServer>> | null = null;
  t.after(() => Promise.all([client.stop(), first.server.stop(), second?.server.stop()]));
  await waitFor(() => client.state === "up", "first connection");
  await first.server.stop();
  await waitFor(() => client.state !== "up", "client notices the server is gone");
  assert.equal(client.send(frameOf(1, 40)), false);
  assert.equal(client.counters.drops["not-up"], 1);
  second = await startServer({ port });
  await waitFor(() => client.state === "up" && second!.children.length === 1, "reconnection");
  const got = collect(second.children[0]!);
  const f = frameOf(2, 77);
  client.send(f);
  await waitFor(() => got.length === 1, "frame after reconnection");
  assert.equal(toHex(got[0]!), toHex(f));
  assert.equal(client.connections, 2);
  assert.ok(states.includes("down") && states.lastIndexOf("up") > states.indexOf("down"), states.join(","));
});

/** A raw TCP connection to the server, for writing bytes no driver would send. */
async function rawConnection(port: number): Promise<Socket> {
  const s = connect(port, "127.0.0.1");
  await new Promise<void>((r) => s.once("connect", () => r()));
  return s;
}

test("garbage on the stream is dropped and counted, and frames after it still arrive", async (t) => {
  const { server, children } = await startServer();
  const raw = await rawConnection(server.port);
  t.after(async () => {
    raw.destroy();
    await server.stop();
  });
  await waitFor(() => children.length === 1, "child");
  const child = children[0]!;
  const got = collect(child);
  const seed = 4242;
  const rng = seededRandom(seed);
  raw.write(rng.bytes(3000)); // arbitrary bytes: may contain FLAGs, so any frames cut from them are random
  raw.write(Uint8Array.from([0x7e, 1, 2, 3, 0x7e, 0x7e, 0x7d, 0x7e])); // short frames between FLAGs
  const valid = frameOf(5, 50);
  raw.write(hdlcEncode(valid));
  await waitFor(() => got.some((f) => toHex(f) === toHex(valid)), `valid frame after garbage (seed ${seed})`);
  assert.ok((child.counters.drops["garbage-bytes"] ?? 0) > 0, `seed ${seed}`);
  assert.ok((child.counters.drops["too-short"] ?? 0) >= 1, `seed ${seed}`);
  assert.equal(child.state, "up");
});

test("an oversize frame is dropped and counted; one of exactly the maximum length passes", async (t) => {
  const { server, children } = await startServer();
  const raw = await rawConnection(server.port);
  t.after(async () => {
    raw.destroy();
    await server.stop();
  });
  await waitFor(() => children.length === 1, "child");
  const child = children[0]!;
  const got = collect(child);
  const max = child.info.hwMtu + child.info.ifacSize;
  assert.equal(max, 8192 + 16);
  raw.write(hdlcEncode(frameOf(1, max + 1)));
  const largest = frameOf(2, max);
  raw.write(hdlcEncode(largest));
  await waitFor(() => got.length === 1, "largest frame");
  assert.equal(toHex(got[0]!), toHex(largest));
  assert.equal(child.counters.drops["oversize"], 1);
});

test("send refuses frames over the MTU plus IFAC and counts them", async (t) => {
  const { server } = await startServer();
  const client = startClient(server.port);
  t.after(() => Promise.all([client.stop(), server.stop()]));
  await waitFor(() => client.state === "up", "connection");
  assert.equal(client.send(new Uint8Array(8192 + 16 + 1)), false);
  assert.equal(client.counters.drops["tx-oversize"], 1);
  assert.equal(client.counters.txFrames, 0);
});

test("many clients: each gets its own child, frames stay apart, children leave when clients go", async (t) => {
  const { server, children } = await startServer();
  const clients = Array.from({ length: 24 }, (_, i) => startClient(server.port, { random: seededRandom(i + 1) }));
  t.after(() => Promise.all([...clients.map((c) => c.stop()), server.stop()]));
  await waitFor(() => clients.every((c) => c.state === "up") && children.length === 24, "24 connections");
  const received = new Map<LinkDriver, string[]>();
  for (const ch of children) {
    const list: string[] = [];
    received.set(ch, list);
    ch.on("frame", (f) => list.push(toHex(f)));
  }
  clients.forEach((c, i) => c.send(frameOf(100 + i, 30 + i)));
  await waitFor(() => [...received.values()].every((l) => l.length === 1), "one frame per child");
  const all = [...received.values()].map((l) => l[0]!).sort();
  assert.deepEqual(all, clients.map((_, i) => toHex(frameOf(100 + i, 30 + i))).sort());
  assert.equal(server.children.size, 24);
  await Promise.all(clients.slice(0, 10).map((c) => c.stop()));
  await waitFor(() => server.children.size === 14, "children of closed clients removed");
  assert.equal(children.filter((c) => c.state === "closed").length, 10);
});

test("the server refuses connections beyond maxClients and counts them", async (t) => {
  const { server, children } = await startServer({ maxClients: 2 });
  const a = startClient(server.port);
  const b = startClient(server.port);
  t.after(() => Promise.all([a.stop(), b.stop(), server.stop()]));
  await waitFor(() => children.length === 2, "two clients");
  const c = startClient(server.port, { maxReconnectTries: 1 });
  t.after(() => c.stop());
  await waitFor(() => (server.counters.drops["server-full"] ?? 0) >= 1, "refusal");
  assert.equal(server.children.size, 2);
  assert.equal(server.send(frameOf(1, 30)), false);
});

test("a client that cannot connect backs off and gives up after maxReconnectTries", async (t) => {
  const { server } = await startServer();
  const port = server.port;
  await server.stop(); // nothing listens on the port now
  const client = startClient(port, { maxReconnectTries: 3 });
  const states: string[] = [];
  client.on("state", (s) => states.push(s));
  t.after(() => client.stop());
  await waitFor(() => client.state === "closed", "giving up");
  assert.equal(states.filter((s) => s === "connecting").length, 3, states.join(","));
  assert.equal(client.failedAttempts, 3);
  assert.ok(client.lastError !== null);
  assert.throws(() => client.start(), /closed/);
});

test("stop closes the connection, the peer's child closes, and a stopped client cannot start again", async (t) => {
  const { server, children } = await startServer();
  const client = startClient(server.port);
  t.after(() => server.stop());
  await waitFor(() => client.state === "up" && children.length === 1, "connection");
  await client.stop();
  assert.equal(client.state, "closed");
  await waitFor(() => children[0]!.state === "closed", "child closed");
  assert.equal(server.children.size, 0);
  assert.throws(() => client.start(), /closed/);
  assert.equal(client.send(frameOf(1, 30)), false);
});
