// kosctl cp against a peer that speaks as rncp does on the wire, run in this process from our own Engine over
// loopback TCP to a real kosd. Three behaviours found live against RNS 1.4.2 (test/README.md, section 4): rncp's
// fetch request carries the path as a MessagePack string (rncp --listen -j fails on bytes and never answers),
// rncp --listen -j takes every requested path as relative to its jail ("/a.bin" is <jail>/a.bin), and an answer
// must not beat rncp's registering its own request (FETCH_ANSWER_DELAY_MS).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { equal, fromHex, fromUtf8, toHex, utf8, type Bytes } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { Engine } from "../../runtime/engine/engine.js";
import type { EngineEvent } from "../../runtime/engine/events.js";
import { TcpClientDriver } from "../../drivers/net/tcp-client.js";
import { FETCH_ANSWER_DELAY_MS } from "../../runtime/host/cp.js";
import { eventually, freePort, kosctl, kosctlUntil, makeNode, startNode, stopNode, tempRoot } from "./mesh-harness.js";

const REQ_FETCH_NOT_ALLOWED = 0xf0;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One Engine on one TCP client interface, pumped on the wall clock. */
class Peer {
  readonly engine: Engine;
  readonly events: EngineEvent[] = [];
  /** When each event came out of the engine (Date.now), for the default onEvent. */
  readonly times: number[] = [];
  readonly #driver: TcpClientDriver;
  readonly #timer: NodeJS.Timeout;

  constructor(port: number, seed: number) {
    const random = seededRandom(seed);
    this.engine = new Engine({ identity: Identity.generate(random), random, transportEnabled: false, respondToProbes: false });
    this.#driver = new TcpClientDriver({ host: "127.0.0.1", port, name: "peer", random });
    const hwMtu = this.#driver.info.hwMtu;
    this.run((now) => this.engine.addInterface({ id: 1, name: "peer", mode: "full", bitrateBps: 10_000_000, hwMtu, out: true, announceCap: 0.02 }, now));
    this.#driver.on("frame", (f) => this.run((now) => this.engine.inbound(1, f, now)));
    this.#timer = setInterval(() => this.run((now) => this.engine.tick(now)), 20);
    this.#driver.start();
  }

  get up(): boolean {
    return this.#driver.state === "up";
  }

  run<T>(fn: (nowMs: number) => T): T {
    const result = fn(Date.now());
    for (let round = 0; round < 1000; round++) {
      const transmits = this.engine.takeTransmits();
      const events = this.engine.takeEvents();
      if (transmits.length === 0 && events.length === 0) break;
      for (const t of transmits) this.#driver.send(t.raw);
      for (const e of events) this.onEvent(e);
    }
    return result;
  }

  onEvent(e: EngineEvent): void {
    this.events.push(e);
    this.times.push(Date.now());
  }

  async waitEvent<T>(pick: (e: EngineEvent) => T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (let i = 0; i < 100_000 && Date.now() < end; i++) {
      for (const e of this.events) {
        const v = pick(e);
        if (v !== undefined) return v;
      }
      await sleep(20);
    }
    throw new Error(`peer: no ${what} within ${timeoutMs} ms`);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#driver.stop();
  }
}

const server = (port: number): string =>
  `[interfaces]\n  [[Server]]\n    type = TCPServerInterface\n    enabled = yes\n    listen_ip = 127.0.0.1\n    listen_port = ${port}\n`;

test("kosctl cp --fetch asks for the path as a MessagePack string, as rncp does", { timeout: 90_000 }, async (t) => {
  const root = tempRoot(t);
  const port = await freePort();
  const k = makeNode(root, "k", server(port));
  t.after(() => stopNode(k));
  await startNode(k);
  const peer = new Peer(port, 51);
  t.after(() => peer.stop());
  assert.ok(await eventually(async () => peer.up, 10_000), "the peer connects");

  // rncp --listen -F -j JAIL: the request data must be a str; a fetched file goes as a resource named by metadata.
  const content = seededRandom(52).bytes(20_000);
  const requested: unknown[] = [];
  const dest = peer.run(() =>
    peer.engine.registerDestination({ identity: peer.engine.identity, appName: "rncp", aspects: ["receive"], proof: "none", acceptLinks: true, acceptResourcesUpToBytes: 0 }),
  );
  peer.onEvent = (e) => {
    peer.events.push(e);
    if (e.kind !== "link" || e.event.kind !== "request") return;
    const { data, requestId } = e.event;
    requested.push(data);
    const found = typeof data === "string" && data === "/jail/wanted.bin";
    peer.run((now) => {
      peer.engine.linkRespond(e.linkId, requestId, found, now);
      if (found) peer.engine.sendResource(e.linkId, content, { name: utf8("wanted.bin") }, now);
    });
  };
  const destHex = toHex(dest.hash);
  assert.ok(
    await eventually(async () => {
      peer.run((now) => peer.engine.announce(dest, now));
      return (await kosctl(k, ["path", destHex, "--timeout", "2"])).code === 0;
    }, 20_000, 500),
    "kosd learns the peer's rncp.receive destination",
  );

  const save = path.join(root, "save");
  fs.mkdirSync(save);
  const r = await kosctl(k, ["cp", "--fetch", "/jail/wanted.bin", destHex, "--save", save, "--timeout", "10"], 60_000);
  assert.deepEqual(requested, ["/jail/wanted.bin"], "the request carried the path as a string");
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.ok(equal(new Uint8Array(fs.readFileSync(path.join(save, "wanted.bin"))), content));
});

test("kosctl cp --listen --jail takes requested paths as relative to the jail, as rncp -j does", { timeout: 90_000 }, async (t) => {
  const root = tempRoot(t);
  const port = await freePort();
  const k = makeNode(root, "k", server(port));
  t.after(() => stopNode(k));
  await startNode(k);
  const jail = path.join(root, "jail");
  fs.mkdirSync(jail);
  const inside = seededRandom(61).bytes(3_000);
  fs.writeFileSync(path.join(jail, "a.bin"), inside);
  fs.writeFileSync(path.join(root, "outside.bin"), "not for you");

  const peer = new Peer(port, 62);
  t.after(() => peer.stop());
  assert.ok(await eventually(async () => peer.up, 10_000), "the peer connects");
  const listener = await kosctlUntil(k, ["cp", "--listen", "--no-auth", "--allow-fetch", "--jail", jail, "--save", root], /listening on <([0-9a-f]{32})>/);
  t.after(() => listener.child.kill("SIGTERM"));
  const dest = fromHex(listener.line[1]!);
  await peer.waitEvent((e) => (e.kind === "announce" && equal(e.destinationHash, dest) ? true : undefined), "announce of the listener");

  const opened = peer.run((now) => peer.engine.openLink(dest, now));
  assert.ok(opened.ok);
  const linkId = opened.value;
  await peer.waitEvent((e) => (e.kind === "link" && equal(e.linkId, linkId) && e.event.kind === "established" ? true : undefined), "link");
  peer.run(() => peer.engine.acceptResources(linkId, 1_000_000));

  // Every answer waits FETCH_ANSWER_DELAY_MS: the reference registers its request only after sending it.
  const ask = async (wanted: string): Promise<unknown> => {
    const sentAt = Date.now();
    const req = peer.run((now) => peer.engine.linkRequest(linkId, "fetch_file", wanted, now));
    assert.ok(req.ok);
    const id: Bytes = req.value;
    const isAnswer = (e: EngineEvent): boolean => e.kind === "link" && e.event.kind === "response" && equal(e.event.requestId, id);
    const r = await peer.waitEvent((e) => (isAnswer(e) && e.kind === "link" && e.event.kind === "response" ? { data: e.event.data } : undefined), `response to ${wanted}`);
    const answeredAt = peer.times[peer.events.findIndex(isAnswer)]!;
    assert.ok(answeredAt - sentAt >= FETCH_ANSWER_DELAY_MS, `answered ${answeredAt - sentAt} ms after the request`);
    return r.data;
  };
  assert.equal(await ask("/a.bin"), true, "an absolute path is looked up inside the jail");
  const got = await peer.waitEvent((e) => (e.kind === "resource" && e.direction === "in" && e.status === "complete" ? e : undefined), "the file");
  assert.ok(got.data !== undefined && equal(got.data, inside));
  const name = got.metadata instanceof Map ? got.metadata.get("name") : (got.metadata as Record<string, unknown>)["name"];
  assert.equal(fromUtf8(name as Bytes), "a.bin");
  assert.equal(await ask(`${jail}/a.bin`), true, "the jail's own prefix is accepted too");
  assert.equal(await ask("/missing.bin"), false);
  assert.equal(await ask("../outside.bin"), REQ_FETCH_NOT_ALLOWED, "a path that climbs out of the jail is refused");
});
