// The MQTT bridge's parts (runtime/host/mqtt-*.ts, [mqtt] in runtime/host/config): topics and payloads, the
// persisted ack point (a corrupt file means a safe restart from 0 with a warning), the [mqtt] section, and the
// delivery machinery against a fake broker: window, per-author order, resume from the ack point after a drop
// or a restart, refused credentials and refused entries. test/integration/mqtt.test.ts runs it against
// a real Mosquitto.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { toHex } from "../../runtime/core/bytes.js";
import { seededRandom, type Logger, type LogLevel } from "../../runtime/core/ports.js";
import { sha256 } from "../../runtime/crypto/hashes.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { createEntry, type LogEntry } from "../../runtime/log/entry.js";
import { LogStore } from "../../runtime/log/store.js";
import { packMsgpack } from "../../runtime/wire/msgpack.js";
import { loadConfigText, formatIssue, type ConfigHost, type MqttConfig } from "../../runtime/host/config/load.js";
import { ACKS_FILE, AckState, MAX_ACK_FILE_BYTES } from "../../runtime/host/mqtt-acks.js";
import { MqttBridge, type BrokerConnection, type BrokerConnector, type BrokerError, type BrokerHandlers } from "../../runtime/host/mqtt-bridge.js";
import { entryMessage, entryTopic, topicLevel } from "../../runtime/host/mqtt-entry.js";

const rng = seededRandom(1883);
const alice = Identity.generate(rng);
const bob = Identity.generate(rng);
const T0 = 1_763_700_000_000;

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kos-mqtt-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function chain(who: Identity, n: number, kind = "supply.handout"): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = 0; i < n; i++) out.push(createEntry(who, out[i - 1] ?? null, T0 + i, kind, packMsgpack({ i, who: toHex(who.hash).slice(0, 4) })));
  return out;
}

interface Line {
  level: LogLevel;
  message: string;
  fields: Record<string, unknown> | undefined;
}
function captureLogger(): Logger & { lines: Line[]; text(): string } {
  const lines: Line[] = [];
  return { lines, log: (level, message, fields) => void lines.push({ level, message, fields }), text: () => lines.map((l) => `${l.level} ${l.message} ${JSON.stringify(l.fields)}`).join("\n") };
}

async function until(what: string, fn: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// ---- topics and payloads ----

test("a kind becomes one topic level: + # / and control characters turn into _", () => {
  assert.equal(topicLevel("supply.handout"), "supply.handout");
  assert.equal(topicLevel("road/closed"), "road_closed");
  assert.equal(topicLevel("a+b#c"), "a_b_c");
  assert.equal(topicLevel("x\u0000y\u001fz\u007f\u0085"), "x_y_z__");
  assert.equal(topicLevel("wasser 💧 ß"), "wasser 💧 ß", "letters and emoji stay");
  assert.equal(topicLevel("bad\ud800half"), "bad_half", "a lone surrogate is not UTF-8");
  assert.equal(topicLevel("\ufffe\uffff"), "__");
  assert.equal(topicLevel("$SYS"), "$SYS", "only a first level starting with $ is special, and the prefix comes first");
  assert.equal(topicLevel(""), "_");
  assert.equal(entryTopic("kos/log", "a/b", alice.hash), `kos/log/a_b/${toHex(alice.hash)}`);
});

test("binary payload: the canonical bytes, whose SHA-256 is the entry hash; JSON payload: fields, hash, signature", () => {
  const [e] = chain(alice, 1, "road/closed#3");
  const bin = entryMessage(e!, "hq/site-7", "binary");
  assert.equal(bin.topic, `hq/site-7/road_closed_3/${toHex(alice.hash)}`);
  assert.deepEqual(new Uint8Array(bin.payload), e!.encoded);
  assert.equal(toHex(sha256(new Uint8Array(bin.payload))), toHex(e!.hash));
  assert.deepEqual(bin.properties.userProperties, { hash: toHex(e!.hash), author: toHex(alice.hash), seq: "1" });
  assert.equal(bin.properties.payloadFormatIndicator, false);
  const json = entryMessage(e!, "kos/log", "json");
  const doc = JSON.parse(json.payload.toString("utf8")) as Record<string, any>;
  assert.equal(json.properties.contentType, "application/json");
  assert.equal(doc["hash"], toHex(e!.hash));
  assert.equal(doc["signature"], toHex(e!.signature));
  assert.equal(doc["kind"], "road/closed#3");
  assert.equal(doc["seq"], 1);
  assert.deepEqual(doc["body"], { i: 0, who: toHex(alice.hash).slice(0, 4) });
  assert.equal(doc["authorKey"], toHex(alice.publicKey));
  assert.deepEqual(new Uint8Array(Buffer.from(doc["encoded"], "base64")), e!.encoded);
});

// ---- the ack point on disk ----

test("ack state: saved atomically and read back; a missing file is a start from 0 without a warning", (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, ACKS_FILE);
  const log = captureLogger();
  const a = new AckState(file, "mqtt://hq:1883 kos/log", log);
  assert.deepEqual(a.load(), { authors: 0, ignored: null });
  assert.equal(a.get(toHex(alice.hash)), 0);
  a.set(toHex(alice.hash), 41);
  a.set(toHex(bob.hash), 7);
  assert.ok(a.save());
  assert.equal(a.dirty, false);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(fs.readdirSync(dir), [ACKS_FILE], "no temp file left");
  const b = new AckState(file, "mqtt://hq:1883 kos/log", log);
  assert.deepEqual(b.load(), { authors: 2, ignored: null });
  assert.equal(b.get(toHex(alice.hash)), 41);
  assert.equal(b.get(toHex(bob.hash)), 7);
  assert.deepEqual(log.lines.filter((l) => l.level !== "debug"), []);
  assert.throws(() => b.set("not-an-author", 1), RangeError);
  assert.throws(() => b.set(toHex(alice.hash), -1), RangeError);
});

test("ack state: a corrupt, truncated, malformed or oversized file is ignored with a warning: start from 0", (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, ACKS_FILE);
  const target = "mqtt://hq:1883 kos/log";
  const good = JSON.stringify({ version: 1, target, acked: { [toHex(alice.hash)]: 5 } });
  const cases: Array<[string, string | Buffer]> = [
    ["garbage", Buffer.from([0xff, 0x00, 0x13, 0x37])],
    ["truncated", good.slice(0, good.length - 5)],
    ["an array", "[]"],
    ["another version", JSON.stringify({ version: 2, target, acked: {} })],
    ["no acked object", JSON.stringify({ version: 1, target })],
    ["a bad author", JSON.stringify({ version: 1, target, acked: { "not-hex": 3 } })],
    ["a negative seq", JSON.stringify({ version: 1, target, acked: { [toHex(alice.hash)]: -3 } })],
    ["a fractional seq", JSON.stringify({ version: 1, target, acked: { [toHex(alice.hash)]: 1.5 } })],
    ["a string seq", JSON.stringify({ version: 1, target, acked: { [toHex(alice.hash)]: "9" } })],
  ];
  for (const [what, content] of cases) {
    fs.writeFileSync(file, content);
    const log = captureLogger();
    const a = new AckState(file, target, log);
    const r = a.load();
    assert.equal(r.authors, 0, what);
    assert.notEqual(r.ignored, null, what);
    assert.equal(a.get(toHex(alice.hash)), 0, what);
    const warns = log.lines.filter((l) => l.level === "warn");
    assert.equal(warns.length, 1, what);
    assert.match(warns[0]!.message, /ignoring the ack state file .*publishing every entry again/, what);
    // The next save replaces the bad file with a good one.
    a.set(toHex(bob.hash), 2);
    assert.ok(a.save());
    assert.deepEqual(new AckState(file, target, log).load(), { authors: 1, ignored: null }, what);
  }
  // Oversized: refused before it is read.
  fs.writeFileSync(file, Buffer.alloc(MAX_ACK_FILE_BYTES + 1, 0x20));
  const log = captureLogger();
  assert.match(new AckState(file, target, log).load().ignored ?? "", /more than/);
  // A directory where the file should be: not readable, start from 0, saving fails without throwing.
  fs.rmSync(file);
  fs.mkdirSync(file);
  const d = new AckState(file, target, log);
  assert.equal(d.load().authors, 0);
  d.set(toHex(alice.hash), 1);
  assert.equal(d.save(), false);
});

test("ack state: another broker or topic prefix starts from 0 (info, not a warning)", (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, ACKS_FILE);
  const log = captureLogger();
  const a = new AckState(file, "mqtt://old:1883 kos/log", log);
  a.set(toHex(alice.hash), 9);
  a.save();
  const b = new AckState(file, "mqtts://new:8883 kos/log", log);
  assert.equal(b.load().authors, 0);
  assert.equal(b.get(toHex(alice.hash)), 0);
  assert.deepEqual(log.lines.map((l) => l.level), ["info"]);
});

// ---- [mqtt] in the config ----

const HOST: ConfigHost = { env: { KOS_DATA_DIR: "/data" }, cwd: "/work", homeDir: "/home/op", readText: () => ({ ok: false, message: "no such file" }) };
function mqttConfig(section: string): MqttConfig {
  const r = loadConfigText(`[mqtt]\n${section}`, "/etc/kos/kosd.conf", {}, HOST);
  if (!r.ok) assert.fail(r.errors.map(formatIssue).join("\n"));
  return r.config.mqtt;
}
function mqttErrors(section: string): string[] {
  const r = loadConfigText(`[mqtt]\n${section}`, "/etc/kos/kosd.conf", {}, HOST);
  assert.equal(r.ok, false, "expected errors");
  return r.ok ? [] : r.errors.map(formatIssue);
}

test("[mqtt]: defaults, every option, paths relative to the config file", () => {
  const d = mqttConfig("");
  assert.deepEqual(d, {
    enabled: false, url: null, clientId: null, username: null, password: null, topicPrefix: "kos/log", payload: "binary", protocolVersion: 5,
    caFile: null, certFile: null, keyFile: null, keepaliveS: 60, maxInflight: 32, reconnectMaxMs: 60_000,
  });
  const c = mqttConfig(
    "enabled = yes\nurl = mqtts://hq.example.org:8883\nclient_id = site-7\nusername = site7\npassword = 's3cret, really'\ntopic_prefix = hq/kits/7\n" +
      "payload = JSON\nprotocol_version = 3.1.1\nca_file = certs/ca.pem\ncert_file = /etc/kos/site.crt\nkey_file = ~/site.key\nkeepalive = 30\nmax_inflight = 100\nreconnect_max = 5\n",
  );
  assert.deepEqual(c, {
    enabled: true, url: "mqtts://hq.example.org:8883", clientId: "site-7", username: "site7", password: "s3cret, really", topicPrefix: "hq/kits/7", payload: "json",
    protocolVersion: 4, caFile: "/etc/kos/certs/ca.pem", certFile: "/etc/kos/site.crt", keyFile: "/home/op/site.key", keepaliveS: 30, maxInflight: 100, reconnectMaxMs: 5000,
  });
  assert.equal(mqttConfig("url = mqtt://[::1]:1883\n").url, "mqtt://[::1]:1883");
});

test("[mqtt]: bad values are errors on their line; the password is never echoed", () => {
  assert.match(mqttErrors("enabled = yes\n")[0]!, /kosd\.conf:2: \[mqtt\] needs url/);
  assert.match(mqttErrors("url = ws://hq:80\n")[0]!, /:2: url must start with mqtt:\/\/ or mqtts:\/\//);
  assert.match(mqttErrors("url = hq.example.org\n")[0]!, /:2: url .* is not a URL/);
  assert.match(mqttErrors("url = mqtt://user:pw@hq:1883\n")[0]!, /must not carry credentials/);
  assert.doesNotMatch(mqttErrors("url = mqtt://user:pw@hq:1883\n")[0]!, /pw@/);
  assert.match(mqttErrors("url = mqtt://hq:1883/topic\n")[0]!, /no path, query or fragment/);
  assert.match(mqttErrors("topic_prefix = kos/+/log\n")[0]!, /topic_prefix must not contain the wildcards/);
  assert.match(mqttErrors("topic_prefix = $SYS/kos\n")[0]!, /must not start with \$/);
  assert.match(mqttErrors("topic_prefix = kos/log/\n")[0]!, /must not start or end with \//);
  assert.match(mqttErrors("url = mqtts://hq\ncert_file = a.crt\n")[0]!, /cert_file and key_file go together/);
  assert.match(mqttErrors("protocol_version = 3.1.1\npassword = hunter2\n")[0]!, /password needs username/);
  assert.match(mqttErrors("payload = xml\n")[0]!, /payload must be one of binary, json/);
  assert.match(mqttErrors("max_inflight = 0\n")[0]!, /max_inflight must be a whole number from 1 to 1000/);
  assert.match(mqttErrors("colour = blue\n")[0]!, /unknown option "colour" in \[mqtt\]/);
  assert.match(mqttErrors("  [[sub]]\n")[0]!, /\[mqtt\] has no subsections/);
  const secret = mqttErrors("password = hunter2, hunter3\n").join("\n");
  assert.doesNotMatch(secret, /hunter/);
  const r = loadConfigText("[mqtt]\nurl = mqtt://hq:1883\nca_file = /etc/ca.pem\n", "k.conf", {}, HOST);
  assert.ok(r.ok);
  assert.match(r.warnings.map(formatIssue).join("\n"), /k\.conf:3: ca_file has no effect without TLS/);
  assert.match(loadConfigText("[mqt]\n", "k.conf", {}, HOST).ok ? "" : "unknown section", /unknown section/);
});

// ---- delivery against a fake broker ----

type Mode = "accept" | "down" | "bad-credentials";

class FakeConn implements BrokerConnection {
  readonly published: Array<{ topic: string; payload: Buffer; seq: number; author: string; done: (err?: BrokerError) => void }> = [];
  ended = false;
  constructor(readonly handlers: BrokerHandlers) {}
  publish(topic: string, payload: Buffer, opts: { qos?: number; properties?: { userProperties?: Record<string, string | string[]> } }, done: (err?: BrokerError) => void): void {
    assert.equal(opts.qos, 1);
    const up = opts.properties?.userProperties ?? {};
    this.published.push({ topic, payload, seq: Number(up["seq"]), author: String(up["author"]), done });
  }
  end(): void {
    this.ended = true;
  }
  /** PUBACKs for the first `n` publishes not yet acknowledged, in order. */
  ack(n = Infinity): number {
    let done = 0;
    for (const p of this.published) {
      if (done >= n) break;
      if ((p as { acked?: boolean }).acked) continue;
      (p as { acked?: boolean }).acked = true;
      p.done();
      done++;
    }
    return done;
  }
}

class FakeBroker {
  mode: Mode = "accept";
  receiveMaximum: number | null = null;
  readonly conns: FakeConn[] = [];
  /** Everything published on any connection, in order. */
  readonly all: Array<{ author: string; seq: number; payload: Buffer }> = [];
  readonly connector: BrokerConnector = async (_url, opts, h) => {
    assert.equal(opts.reconnectPeriod, 0, "MQTT.js must not reconnect on its own");
    const c = new FakeConn(h);
    const push = c.publish.bind(c);
    c.publish = (topic, payload, o, done) => {
      push(topic, payload, o, done);
      const p = c.published[c.published.length - 1]!;
      this.all.push({ author: p.author, seq: p.seq, payload });
    };
    this.conns.push(c);
    const mode = this.mode;
    setImmediate(() => {
      if (mode === "down") {
        h.error(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1883"), { code: "ECONNREFUSED" }));
        h.close();
      } else if (mode === "bad-credentials") {
        h.error(Object.assign(new Error("Connection refused: Bad User Name or Password"), { code: 0x86 }));
        h.close();
      } else h.connect({ receiveMaximum: this.receiveMaximum });
    });
    return c;
  };
  get last(): FakeConn {
    return this.conns[this.conns.length - 1]!;
  }
  /** The connection drops (link lost, broker killed). */
  drop(): void {
    this.last.handlers.close();
  }
}

const BASE: MqttConfig = {
  enabled: true, url: "mqtt://hq.test:1883", clientId: null, username: "site7", password: "hunter2-never-logged", topicPrefix: "kos/log", payload: "binary",
  protocolVersion: 5, caFile: null, certFile: null, keyFile: null, keepaliveS: 60, maxInflight: 4, reconnectMaxMs: 40,
};

async function setup(t: { after(fn: () => void | Promise<void>): void }, dir: string, config: Partial<MqttConfig> = {}) {
  const store = await LogStore.open({ dir: path.join(dir, "log") });
  const broker = new FakeBroker();
  const log = captureLogger();
  const bridge = new MqttBridge({ config: { ...BASE, ...config }, dataDir: dir, identityHash: alice.hash, log, connector: broker.connector, minReconnectMs: 5, saveIntervalMs: 10 });
  t.after(async () => {
    await bridge.stop();
    await store.close();
  });
  return { store, broker, log, bridge };
}

async function appendAll(store: LogStore, entries: LogEntry[]): Promise<void> {
  for (const e of entries) assert.equal((await store.append(e.encoded)).status, "appended");
}

test("bridge: every entry of every author once, per-author seq order, at most max_inflight awaiting PUBACK", async (t) => {
  const dir = tempDir(t);
  const { store, broker, bridge } = await setup(t, dir);
  await appendAll(store, [...chain(alice, 10), ...chain(bob, 5)]);
  bridge.start(store);
  await until("connected", () => bridge.state === "connected");
  await until("a full window", () => broker.last.published.length === 4);
  assert.equal(broker.last.published.length, 4, "no more than the window before a PUBACK");
  assert.equal(bridge.status()["clientId"], `kosd-${toHex(alice.hash).slice(0, 16)}`);
  for (let i = 0; i < 50 && broker.last.ack() > 0; i++) await new Promise((r) => setImmediate(r));
  const got = broker.last.published;
  assert.equal(got.length, 15);
  for (const who of [alice, bob]) {
    const seqs = got.filter((p) => p.author === toHex(who.hash)).map((p) => p.seq);
    assert.deepEqual(seqs, [...seqs.keys()].map((i) => i + 1), "in order, once");
  }
  assert.ok(got.every((p) => p.topic === `kos/log/supply.handout/${p.author}`));
  const s = bridge.status();
  assert.equal(s["queued"], 0);
  assert.equal(s["inFlight"], 0);
  // Entries appended later go out as they become durable.
  const more = chain(bob, 8).slice(5);
  await appendAll(store, more);
  await until("new entries", () => broker.last.published.length === 18);
  broker.last.ack();
  await bridge.stop();
  const saved = JSON.parse(fs.readFileSync(path.join(dir, ACKS_FILE), "utf8")) as { acked: Record<string, number> };
  assert.deepEqual(saved.acked, { [toHex(alice.hash)]: 10, [toHex(bob.hash)]: 8 });
});

test("bridge: the broker's Receive Maximum caps the window", async (t) => {
  const dir = tempDir(t);
  const { store, broker, bridge } = await setup(t, dir, { maxInflight: 50 });
  broker.receiveMaximum = 3;
  await appendAll(store, chain(alice, 10));
  bridge.start(store);
  await until("a full window", () => broker.conns.length > 0 && broker.last.published.length === 3);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(broker.last.published.length, 3);
  assert.equal(bridge.status()["window"], 3);
});

test("bridge: after a drop it publishes again from the ack point (PUBACKs out of order do not move it past a gap)", async (t) => {
  const dir = tempDir(t);
  const { store, broker, bridge, log } = await setup(t, dir);
  const entries = chain(alice, 10);
  await appendAll(store, entries);
  bridge.start(store);
  await until("a full window", () => broker.conns.length > 0 && broker.last.published.length === 4);
  const first = broker.last;
  // PUBACK for seq 2 before seq 1: the ack point waits for 1.
  first.published[1]!.done();
  assert.equal((bridge.status()["authors"] as Array<Record<string, number>>)[0]!["acked"], 0);
  first.published[0]!.done();
  assert.equal((bridge.status()["authors"] as Array<Record<string, number>>)[0]!["acked"], 2);
  await until("refill", () => first.published.length === 6);
  broker.drop();
  assert.equal(bridge.state, "disconnected");
  assert.ok(first.ended);
  // Late PUBACKs of the dead connection are ignored.
  first.published[2]!.done();
  assert.equal((bridge.status()["authors"] as Array<Record<string, number>>)[0]!["acked"], 2);
  await until("reconnected", () => broker.conns.length === 2 && bridge.state === "connected");
  await until("window", () => broker.last.published.length === 4);
  assert.deepEqual(broker.last.published.map((p) => p.seq), [3, 4, 5, 6], "from the ack point on, in order");
  for (let i = 0; i < 50 && broker.last.ack() > 0; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(broker.last.published.map((p) => p.seq), [3, 4, 5, 6, 7, 8, 9, 10]);
  // Every entry reached the broker at least once; after dedup by hash, exactly the log.
  const hashes = new Set(broker.all.map((p) => toHex(sha256(new Uint8Array(p.payload)))));
  assert.deepEqual([...hashes].sort(), entries.map((e) => toHex(e.hash)).sort());
  assert.ok(log.lines.some((l) => l.level === "warn" && /connection to the broker closed/.test(l.message)));
});

test("bridge: a broker that is down is retried with backoff; the log is the queue; kosd is never blocked", async (t) => {
  const dir = tempDir(t);
  const { store, broker, bridge, log } = await setup(t, dir);
  broker.mode = "down";
  bridge.start(store);
  await appendAll(store, chain(alice, 3));
  await until("several attempts", () => broker.conns.length >= 4);
  const s = bridge.status();
  assert.equal(s["connected"], false);
  assert.equal(s["queued"], 3);
  assert.match(String((s["lastError"] as { message: string }).message), /cannot connect: connect ECONNREFUSED/);
  assert.equal(log.lines.filter((l) => l.level === "warn" && /ECONNREFUSED/.test(l.message)).length, 1, "the same failure is logged once");
  broker.mode = "accept";
  await until("connected", () => bridge.state === "connected");
  await until("published", () => broker.last.published.length === 3);
  assert.equal(bridge.status()["lastError"], null);
});

test("bridge: refused credentials are a clear error (logged once, in the status), retried, and the password never shows", async (t) => {
  const dir = tempDir(t);
  const { store, broker, bridge, log } = await setup(t, dir);
  broker.mode = "bad-credentials";
  await appendAll(store, chain(alice, 2));
  bridge.start(store);
  await until("several attempts", () => broker.conns.length >= 3);
  const s = bridge.status();
  assert.equal(s["state"], "refused");
  assert.match(String((s["lastError"] as { message: string }).message), /refused the credentials .*check username and password in \[mqtt\]/);
  assert.equal(log.lines.filter((l) => l.level === "error").length, 1);
  assert.doesNotMatch(log.text() + JSON.stringify(s), /hunter2/);
});

test("bridge: an entry the broker refuses (PUBACK reason code) is never skipped", async (t) => {
  const dir = tempDir(t);
  const { store, broker, bridge, log } = await setup(t, dir, { maxInflight: 1 });
  await appendAll(store, chain(alice, 3));
  bridge.start(store);
  await until("publish", () => broker.conns.length > 0 && broker.last.published.length === 1);
  broker.last.published[0]!.done(Object.assign(new Error("Publish error: Not authorized"), { code: 0x87 }));
  assert.match(String((bridge.status()["lastError"] as { message: string }).message), /did not accept entry [0-9a-f]{32}:1: Publish error: Not authorized \(reason code 0x87\)/);
  assert.ok(log.lines.some((l) => l.level === "error" && /did not accept entry/.test(l.message)));
  await until("retried", () => broker.conns.length === 2 && broker.last.published.length === 1);
  assert.equal(broker.last.published[0]!.seq, 1);
});

test("bridge: a restart resumes from the saved ack point; an ack point past the log's end is pulled back", async (t) => {
  const dir = tempDir(t);
  const store = await LogStore.open({ dir: path.join(dir, "log") });
  t.after(() => store.close());
  await appendAll(store, [...chain(alice, 6), ...chain(bob, 2)]);
  const run = async (ackFirst: number): Promise<FakeBroker> => {
    const broker = new FakeBroker();
    const bridge = new MqttBridge({ config: { ...BASE, maxInflight: 8 }, dataDir: dir, identityHash: alice.hash, log: captureLogger(), connector: broker.connector, minReconnectMs: 5 });
    bridge.start(store);
    await until("connected", () => bridge.state === "connected");
    await new Promise((r) => setTimeout(r, 10));
    broker.last.ack(ackFirst);
    await bridge.stop();
    return broker;
  };
  const label = (p: { author: string; seq: number }): string => `${p.author === toHex(alice.hash) ? "a" : "b"}${p.seq}`;
  const b1 = await run(5);
  assert.equal(b1.last.published.length, 8);
  // The first five publishes are acknowledged; kosd stops (three PUBACKs never come) and starts again.
  const b2 = await run(Infinity);
  assert.deepEqual(b2.last.published.map(label).sort(), b1.last.published.slice(5).map(label).sort());
  const b3 = await run(Infinity);
  assert.equal(b3.last.published.length, 0, "nothing is published twice once acknowledged");
  // An ack file that claims more than the log holds (the log was replaced): publish from the log's end.
  const file = path.join(dir, ACKS_FILE);
  const doc = JSON.parse(fs.readFileSync(file, "utf8")) as { acked: Record<string, number> };
  doc.acked[toHex(bob.hash)] = 50;
  fs.writeFileSync(file, JSON.stringify(doc));
  const log = captureLogger();
  const bridge = new MqttBridge({ config: BASE, dataDir: dir, identityHash: alice.hash, log, connector: new FakeBroker().connector });
  bridge.start(store);
  await bridge.stop();
  assert.ok(log.lines.some((l) => l.level === "warn" && /past the end/.test(l.message)));
  assert.equal((JSON.parse(fs.readFileSync(file, "utf8")) as { acked: Record<string, number> }).acked[toHex(bob.hash)], 2);
});

test("bridge: a log that failed to open is reported, not thrown", async () => {
  const log = captureLogger();
  const bridge = new MqttBridge({ config: BASE, dataDir: "/nonexistent", identityHash: alice.hash, log, connector: new FakeBroker().connector });
  bridge.start(new Error("EIO reading 00000001.seg"));
  assert.equal(bridge.state, "failed");
  assert.match(String((bridge.status()["lastError"] as { message: string }).message), /action log is not available/);
  await bridge.stop();
});
