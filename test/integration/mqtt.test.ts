// The action log reaches headquarters over a real MQTT broker: a Mosquitto on loopback, a kosd with [mqtt]
// enabled, and a subscriber (MQTT.js, persistent session, QoS 1) standing in for headquarters. The subscriber
// deduplicates by entry hash (SHA-256 of the binary payload) and must see every entry of every author, in
// per-author order, across a broker restart (kill -9 and start again on the same port, entries appended while
// it is down) and a kosd restart, which resumes from the persisted ack point instead of publishing everything
// again. Skipped, with the reason printed, where the mosquitto binary is missing (apt-get install mosquitto).
import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { connect, type MqttClient } from "mqtt";
import { toHex } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { sha256 } from "../../runtime/crypto/hashes.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { exportBundle } from "../../runtime/log/bundle.js";
import { createEntry, decodeEntry, type LogEntry } from "../../runtime/log/entry.js";
import { LogStore } from "../../runtime/log/store.js";
import { packMsgpack } from "../../runtime/wire/msgpack.js";
import { eventually, freePort, kosctl, makeNode, startNode, stopNode, tempRoot, type NodeHandle } from "./mesh-harness.js";

const MAX_INFLIGHT = 8;

function findMosquitto(): string | null {
  const dirs = [...(process.env["PATH"] ?? "").split(":"), "/usr/sbin", "/usr/local/sbin", "/sbin"];
  for (const d of dirs) {
    if (d === "") continue;
    const f = path.join(d, "mosquitto");
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return f;
    } catch {
      // not here
    }
  }
  return null;
}
const MOSQUITTO = findMosquitto();
const SKIP = MOSQUITTO === null ? "mosquitto is not installed (apt-get install mosquitto; .ci/run installs it)" : false;
if (SKIP !== false) process.stderr.write(`# skipped: ${SKIP}\n`);

/** One Mosquitto on 127.0.0.1:port, persistence off; start() again after kill() reuses the port. */
class Broker {
  child: ChildProcess | null = null;
  output = "";
  readonly conf: string;
  constructor(
    dir: string,
    readonly port: number,
    anonymous = true,
  ) {
    this.conf = path.join(dir, "mosquitto.conf");
    this.configure(anonymous);
  }

  /** allow_anonymous false with no password file: every client is refused as not authorised. */
  configure(anonymous: boolean): void {
    fs.writeFileSync(
      this.conf,
      [`listener ${this.port} 127.0.0.1`, `allow_anonymous ${anonymous}`, "persistence false", "sys_interval 1", "log_dest stdout", "log_type error", "log_type warning", "log_type notice", "log_type information", ""].join("\n"),
    );
  }

  async start(): Promise<void> {
    const child = spawn(MOSQUITTO!, ["-c", this.conf], { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const onData = (b: Buffer): void => {
      this.output += b.toString();
      if (this.output.length > 200_000) this.output = this.output.slice(-100_000);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    const up = await eventually(() => (child.exitCode !== null ? Promise.resolve(true) : canConnect(this.port)), 10_000, 50);
    if (!up || child.exitCode !== null) throw new Error(`mosquitto did not start: ${this.output.slice(-2000)}`);
  }

  async kill(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGKILL");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
    s.setTimeout(1000, () => done(false));
  });
}

/**
 * A temporary root for one test, removed after `steps` ran: node:test runs after-hooks in the order they were
 * added, so the processes writing into the root must be stopped by a hook added before tempRoot's. Every step
 * runs even when an earlier one fails.
 */
function scratch(t: TestContext, steps: () => Array<(() => unknown) | undefined>): string {
  t.after(async () => {
    for (const step of steps()) {
      try {
        await step?.();
      } catch (e) {
        process.stderr.write(`# cleanup: ${(e as Error).message}\n`);
      }
    }
  });
  return tempRoot(t);
}

interface Received {
  author: string;
  seq: number;
  hash: string;
  topic: string;
}

/** Headquarters: a persistent-session QoS 1 subscriber that (re)subscribes on every connection. */
class Headquarters {
  readonly client: MqttClient;
  readonly raw: Received[] = [];
  /** First arrival of each entry hash, in arrival order. */
  readonly unique = new Map<string, Received>();
  subscriptions = 0;
  sysPublishReceived: number | null = null;
  readonly problems: string[] = [];

  constructor(port: number) {
    this.client = connect(`mqtt://127.0.0.1:${port}`, {
      clientId: "hq-subscriber",
      clean: false,
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 3600 },
      reconnectPeriod: 100,
      connectTimeout: 5000,
      resubscribe: false,
    });
    this.client.on("error", () => undefined);
    this.client.on("connect", () => {
      this.client.subscribe(["kos/log/#", "$SYS/broker/publish/messages/received"], { qos: 1 }, (err) => {
        if (err === null || err === undefined) this.subscriptions++;
      });
    });
    this.client.on("message", (topic, payload, packet) => {
      if (topic.startsWith("$SYS/")) {
        this.sysPublishReceived = Number(payload.toString());
        return;
      }
      const bytes = new Uint8Array(payload);
      const d = decodeEntry(bytes);
      if (!d.ok) {
        this.problems.push(`${topic}: payload is not an entry (${d.reason})`);
        return;
      }
      const hash = toHex(sha256(bytes));
      const e = d.value;
      const r: Received = { author: toHex(e.author), seq: e.seq, hash, topic };
      if (hash !== toHex(e.hash)) this.problems.push(`${topic}: SHA-256 of the payload is not the entry hash`);
      const up = packet.properties?.userProperties ?? {};
      if (up["hash"] !== hash) this.problems.push(`${topic}: user property hash ${String(up["hash"])} is not ${hash}`);
      if (topic !== `kos/log/${e.kind.replace(/[+#/]/g, "_")}/${r.author}`) this.problems.push(`unexpected topic ${topic} for ${e.kind} of ${r.author}`);
      if (packet.qos !== 1) this.problems.push(`${topic}: QoS ${packet.qos}`);
      this.raw.push(r);
      if (!this.unique.has(hash)) this.unique.set(hash, r);
    });
  }

  async waitSubscribed(after: number, ms = 15_000): Promise<void> {
    assert.ok(await eventually(async () => this.subscriptions > after, ms, 50), "the subscriber (re)subscribed");
  }

  /** After dedup: each author's first arrivals are its seqs 1..n in order, with no seq missing. */
  checkOrder(expected: Map<string, number>): void {
    const per = new Map<string, number[]>();
    for (const r of this.unique.values()) per.set(r.author, [...(per.get(r.author) ?? []), r.seq]);
    for (const [author, n] of expected) {
      assert.deepEqual(per.get(author), Array.from({ length: n }, (_, i) => i + 1), `entries of ${author}: every one, in per-author order`);
    }
    assert.deepEqual([...per.keys()].sort(), [...expected.keys()].sort());
    assert.deepEqual(this.problems, []);
  }
}

async function append(n: NodeHandle, count: number, tag: string): Promise<void> {
  for (let i = 0; i < count; i++) {
    const r = await kosctl(n, ["log", "append", i % 3 === 0 ? "road.closed" : "supply.handout", "--body", JSON.stringify({ tag, i })], 20_000);
    assert.equal(r.code, 0, `append: ${r.stderr}`);
  }
}

async function mqttStatus(n: NodeHandle): Promise<Record<string, any>> {
  const r = await kosctl(n, ["status", "--json"], 20_000);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as Record<string, any>)["mqtt"] as Record<string, any>;
}

test("kosd bridges every verified log entry to a real Mosquitto: exactly once after dedup, across broker and kosd restarts", { skip: SKIP, timeout: 240_000 }, async (t: TestContext) => {
  let hq: Headquarters | null = null;
  let kit: NodeHandle | null = null;
  let broker: Broker | null = null;
  const root = scratch(t, () => [
    () => hq?.client.end(true),
    // A test that failed while kosd was paused: let it run again to stop.
    () => kit?.child?.exitCode === null && kit.child.kill("SIGCONT"),
    kit !== null ? () => stopNode(kit!) : undefined,
    () => broker?.kill(),
  ]);
  const port = await freePort();
  broker = new Broker(root, port);
  kit = makeNode(root, "kit", `[mqtt]\n  enabled = yes\n  url = mqtt://127.0.0.1:${port}\n  max_inflight = ${MAX_INFLIGHT}\n  reconnect_max = 2\n`);

  await broker.start();
  hq = new Headquarters(port);
  await hq.waitSubscribed(0);
  await startNode(kit);
  const self = toHex(kit.identity().hash);

  // Another author's chain, imported from a bundle: the bridge publishes every author, not only kosd's own.
  const fieldDir = path.join(root, "field");
  const field = Identity.generate(seededRandom(7));
  const fieldStore = await LogStore.open({ dir: fieldDir });
  let prev: LogEntry | null = null;
  for (let i = 0; i < 30; i++) {
    prev = createEntry(field, prev, 1_763_700_000_000 + i, "water/level#gauge", packMsgpack({ cm: 100 + i }));
    await fieldStore.append(prev.encoded);
  }
  const bundle = path.join(root, "field.koslog");
  await exportBundle(fieldStore, bundle);
  await fieldStore.close();
  const imported = await kosctl(kit, ["log", "import", bundle]);
  assert.equal(imported.code, 0, imported.stderr);
  const fieldHex = toHex(field.hash);
  await append(kit, 20, "first");

  const expected = new Map([[self, 20], [fieldHex, 30]]);
  const total = (): number => [...expected.values()].reduce((a, b) => a + b, 0);
  assert.ok(await eventually(async () => hq!.unique.size === total(), 30_000), `all ${total()} entries arrive (got ${hq.unique.size}): ${kit.output.slice(-1500)}`);
  hq.checkOrder(expected);
  assert.equal(hq.raw.length, hq.unique.size, "no duplicates while nothing failed");
  assert.ok([...hq.unique.values()].some((r) => r.topic === `kos/log/water_level_gauge/${fieldHex}`), "kinds are sanitised into one topic level");
  let m = await mqttStatus(kit);
  assert.equal(m["connected"], true);
  assert.ok(await eventually(async () => (await mqttStatus(kit))["queued"] === 0, 10_000), "everything acknowledged");
  const logStatus = await kosctl(kit, ["log", "status"]);
  assert.match(logStatus.stdout, new RegExp(`MQTT bridge to mqtt://127\\.0\\.0\\.1:${port}`));
  assert.match(logStatus.stdout, /Status {2}: connected/);
  const text = await kosctl(kit, ["status"]);
  assert.match(text.stdout, /MQTT bridge to .*\n {4}Status {2}: connected/);

  // ---- the broker dies (kill -9; its sessions go with it, persistence is off) while entries are appended.
  await broker.kill();
  const t0 = Date.now();
  await append(kit, 10, "outage");
  assert.ok(Date.now() - t0 < 30_000, "appends go on while the broker is down");
  expected.set(self, 30);
  assert.ok(await eventually(async () => (await mqttStatus(kit))["connected"] === false, 10_000));
  m = await mqttStatus(kit);
  assert.equal(m["queued"], 10, "the ten new entries wait in the log");
  assert.match(String(m["lastError"]?.["message"]), /closed|ECONNREFUSED|connect/);
  const down = await kosctl(kit, ["status"]);
  assert.match(down.stdout, /Status {2}: (disconnected|connecting)/);
  assert.match(down.stdout, /10 entries not yet acknowledged/);

  // The broker comes back on the same port. Without persistence headquarters' session is gone, so it must
  // subscribe again before kosd publishes: kosd is paused (SIGSTOP) until then. kosd's bridge has no part in
  // this; it is how a test makes a broker without persistence keep what it accepted.
  kit.child!.kill("SIGSTOP");
  const subs = hq.subscriptions;
  let rawAtRestart = hq.raw.length;
  try {
    await broker.start();
    await hq.waitSubscribed(subs);
  } finally {
    rawAtRestart = hq.raw.length;
    kit.child!.kill("SIGCONT");
  }
  await append(kit, 5, "after");
  expected.set(self, 35);
  assert.ok(await eventually(async () => hq!.unique.size === total(), 30_000), `all ${total()} entries arrive after the broker restart (got ${hq.unique.size})`);
  hq.checkOrder(expected);
  assert.ok(await eventually(async () => (await mqttStatus(kit))["queued"] === 0, 10_000));

  // ---- kosd restarts: it resumes from the persisted ack point.
  const rawBefore = hq.raw.length;
  // The broker's count of PUBLISH packets received ($SYS, sent about once a second when it changed) has
  // caught up when it covers every message the subscriber got from this broker.
  const sysCaughtUp = await eventually(async () => (hq!.sysPublishReceived ?? -1) >= hq!.raw.length - rawAtRestart, 10_000, 100);
  const sysBefore = sysCaughtUp ? hq.sysPublishReceived : null;
  assert.equal(await stopNode(kit), 0);
  const acks = JSON.parse(fs.readFileSync(path.join(kit.dir, "mqtt-acks.json"), "utf8")) as { acked: Record<string, number> };
  assert.deepEqual(acks.acked, { [self]: 35, [fieldHex]: 30 });
  await startNode(kit);
  assert.ok(await eventually(async () => (await mqttStatus(kit))["connected"] === true, 15_000), "reconnected after the restart");
  await new Promise((r) => setTimeout(r, 2500));
  m = await mqttStatus(kit);
  assert.ok(m["published"] <= MAX_INFLIGHT, `republished ${m["published"]} entries after the restart; at most the unacknowledged window`);
  assert.equal(m["published"], 0, "a clean stop leaves nothing unacknowledged, so nothing is published again");
  assert.ok(hq.raw.length - rawBefore <= MAX_INFLIGHT);
  await append(kit, 5, "restarted");
  expected.set(self, 40);
  assert.ok(await eventually(async () => hq!.unique.size === total(), 30_000), `all ${total()} entries arrive after the kosd restart (got ${hq.unique.size})`);
  hq.checkOrder(expected);
  if (sysBefore !== null) {
    // The broker's own count agrees: since the restart it received the five new entries and at most the
    // unacknowledged window again (here nothing).
    const rawDelta = hq.raw.length - rawBefore;
    assert.ok(await eventually(async () => hq!.sysPublishReceived! >= sysBefore + rawDelta, 10_000, 100), "$SYS caught up");
    await new Promise((r) => setTimeout(r, 1200));
    const republished = hq.sysPublishReceived! - sysBefore - 5;
    assert.ok(republished <= MAX_INFLIGHT, `the broker received ${republished} publishes of old entries after the kosd restart`);
    assert.equal(republished, 0);
  } else process.stderr.write("# note: no $SYS/broker/publish/messages/received from this mosquitto; counted at the subscriber only\n");
  m = await mqttStatus(kit);
  assert.equal(m["published"], 5);
  assert.deepEqual(
    (m["authors"] as Array<Record<string, unknown>>).map((a) => [a["author"], a["acked"]]).sort(),
    [[self, 40], [fieldHex, 30]].sort(),
  );
  assert.doesNotMatch(kit.output, /uncaught|TypeError|RangeError/i);
});

test("a broker that refuses the credentials: a clear error in kosd's log and kosctl status, the password never shown; JSON payloads once it accepts", { skip: SKIP, timeout: 120_000 }, async (t: TestContext) => {
  let sub: MqttClient | null = null;
  let kit: NodeHandle | null = null;
  let broker: Broker | null = null;
  const root = scratch(t, () => [() => sub?.end(true), kit !== null ? () => stopNode(kit!) : undefined, () => broker?.kill()]);
  const port = await freePort();
  broker = new Broker(root, port, false);
  const secret = "correct-horse-battery-staple";
  kit = makeNode(root, "kit", `[mqtt]\n  enabled = yes\n  url = mqtt://127.0.0.1:${port}\n  username = site7\n  password = ${secret}\n  payload = json\n  reconnect_max = 1\n`);
  await broker.start();
  await startNode(kit);
  await append(kit, 3, "refused");
  assert.ok(await eventually(async () => (await mqttStatus(kit))["state"] === "refused", 15_000), `refused: ${kit.output.slice(-1500)}`);
  const st = await kosctl(kit, ["status"]);
  assert.match(st.stdout, /Status {2}: refused/);
  assert.match(st.stdout, /Error {3}: the broker refused the credentials \(Connection refused: Not authorized\): check username and password in \[mqtt\]/);
  assert.match(st.stdout, /3 entries not yet acknowledged/);
  assert.match(kit.output, /error mqtt: the broker refused the credentials/);
  const json = await kosctl(kit, ["log", "status", "--json"]);
  assert.doesNotMatch(kit.output + st.stdout + json.stdout, new RegExp(secret));

  // The broker is fixed (here: anonymous clients allowed) and restarted: the bridge connects by itself and
  // delivers the backlog, as JSON with the entry hash in the payload.
  await broker.kill();
  broker.configure(true);
  await broker.start();
  const got = new Map<string, Record<string, unknown>>();
  sub = connect(`mqtt://127.0.0.1:${port}`, { clientId: "hq-json", protocolVersion: 5, reconnectPeriod: 100, resubscribe: true });
  sub.on("error", () => undefined);
  sub.on("message", (_topic, payload, packet) => {
    const doc = JSON.parse(payload.toString("utf8")) as Record<string, unknown>;
    assert.equal(packet.properties?.contentType, "application/json");
    got.set(String(doc["hash"]), doc);
  });
  await new Promise<void>((resolve, reject) => sub!.subscribe("kos/log/#", { qos: 1 }, (err) => (err ? reject(err) : resolve())));
  // Subscribed (and the broker restarted) before kosd's next attempt, at most reconnect_max later: if kosd was
  // faster, the first entries went to a broker with no subscriber; append more until three arrive as JSON.
  await append(kit, 3, "accepted");
  assert.ok(await eventually(async () => got.size >= 3, 20_000), `JSON entries arrive: ${kit.output.slice(-1500)}`);
  for (const doc of got.values()) {
    const bytes = new Uint8Array(Buffer.from(String(doc["encoded"]), "base64"));
    assert.equal(toHex(sha256(bytes)), doc["hash"], "the JSON payload carries the canonical bytes and their hash");
    assert.equal(typeof doc["signature"], "string");
    assert.deepEqual(Object.keys(doc["body"] as object).sort(), ["i", "tag"]);
  }
  assert.ok(await eventually(async () => (await mqttStatus(kit))["queued"] === 0, 10_000));
  assert.equal((await mqttStatus(kit))["lastError"], null);
});

function findOpenssl(): string | null {
  const r = spawnSync("openssl", ["version"], { encoding: "utf8" });
  return r.status === 0 ? "openssl" : null;
}

test("mqtts: kosd checks the broker's certificate against ca_file, and says why when it cannot", { skip: SKIP || (findOpenssl() === null ? "openssl is not installed (needed to make test certificates)" : false), timeout: 120_000 }, async (t: TestContext) => {
  let trusting: NodeHandle | null = null;
  let doubting: NodeHandle | null = null;
  let broker: Broker | null = null;
  const root = scratch(t, () => [trusting !== null ? () => stopNode(trusting!) : undefined, doubting !== null ? () => stopNode(doubting!) : undefined, () => broker?.kill()]);
  // mosquitto, started as root, drops to its own user: let it read the certificates.
  fs.chmodSync(root, 0o755);
  const certs = path.join(root, "certs");
  fs.mkdirSync(certs, { mode: 0o755 });
  const ssl = (...args: string[]): void => {
    const r = spawnSync("openssl", args, { cwd: certs, encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 0, `openssl ${args.join(" ")}: ${r.stderr}`);
  };
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  ssl("req", "-x509", ...ec, "-days", "2", "-subj", "/CN=kos-edge test CA", "-keyout", "ca.key", "-out", "ca.pem");
  ssl("req", ...ec, "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr");
  fs.writeFileSync(path.join(certs, "ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
  ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2", "-extfile", "ext", "-out", "server.pem");
  for (const f of fs.readdirSync(certs)) fs.chmodSync(path.join(certs, f), 0o644);

  const port = await freePort();
  broker = new Broker(root, port);
  fs.appendFileSync(broker.conf, `cafile ${certs}/ca.pem\ncertfile ${certs}/server.pem\nkeyfile ${certs}/server.key\n`);
  const mqtt = (extra: string): string => `[mqtt]\n  enabled = yes\n  url = mqtts://localhost:${port}\n  reconnect_max = 1\n${extra}`;
  trusting = makeNode(root, "trusting", mqtt(`  ca_file = ${certs}/ca.pem\n`));
  doubting = makeNode(root, "doubting", mqtt(""));
  await broker.start();
  await startNode(trusting);
  await startNode(doubting);
  await append(trusting, 2, "tls");
  await append(doubting, 2, "tls");
  assert.ok(await eventually(async () => (await mqttStatus(trusting))["acknowledged"] === 2, 20_000), `acknowledged over TLS: ${trusting.output.slice(-1500)}`);
  assert.ok(
    await eventually(async () => /certificate|issuer/i.test(String((await mqttStatus(doubting))["lastError"]?.["message"])), 20_000),
    `a broker certificate from an unknown CA is refused, and the status says so: ${doubting.output.slice(-1500)}`,
  );
  const m = await mqttStatus(doubting);
  assert.equal(m["connected"], false);
  assert.equal(m["acknowledged"], 0);
  assert.equal(m["queued"], 2);
});
