// The MQTT bridge: kosd publishes every verified entry of its action log (every author's, not only its own) to
// an MQTT broker at headquarters, whenever a link allows. The broker is an existing one (Mosquitto, EMQX,
// HiveMQ, a cloud IoT hub...): kos-edge runs no server of its own. Config: [mqtt] (./config/README.md).
//
// Delivery is at least once. Each entry is one QoS 1 PUBLISH (topic and payload: ./mqtt-entry.ts); an entry
// counts as delivered only when the broker acknowledged it (PUBACK). Per author the bridge keeps an ack point,
// the highest seq up to which every entry was acknowledged, in <data dir>/mqtt-acks.json (./mqtt-acks.ts,
// written at most once a second and when kosd stops). On every (re)connection it publishes each author's
// entries after its ack point, in seq order, at most max_inflight (and the broker's Receive Maximum) awaiting
// their PUBACK at once; entries appended later are published as they become durable. The log itself is the
// queue: nothing is buffered in memory while the broker is out of reach, so an outage of any length costs
// nothing but the backlog on disk.
//
// Duplicates happen (entries in flight when a link drops, entries acknowledged within the last second before a
// crash, everything after a lost or corrupt ack file): subscribers deduplicate by entry hash, which is SHA-256
// of a binary payload, the `hash` user property (MQTT 5) and the `hash` field of a JSON payload.
//
// Connections: one MQTT.js client per attempt (its own reconnect is off) over TCP (mqtt://) or TLS (mqtts://),
// clean session, retried with capped
// exponential backoff and jitter (1 s doubling up to reconnect_max). The broker being down, unreachable,
// slow or refusing never blocks kosd or throws out of the bridge: it is logged (once per distinct error) and
// shown in `kosctl status` and `kosctl log status`. A broker that refuses the credentials, or refuses an entry
// (a PUBACK reason code of 0x80 or more, e.g. not authorised for the topic), is an error in the log and the
// status; the bridge keeps retrying with backoff and never skips the refused entry. The password is never
// logged or shown.
import * as fs from "node:fs";
import * as path from "node:path";
import * as net from "node:net";
import * as tls from "node:tls";
import type { IClientOptions, IClientPublishOptions, MqttClient } from "mqtt";
import { fromHex, toHex, type Bytes } from "../core/bytes.js";
import { cryptoRandom, systemClock, type Clock, type Logger, type RandomSource } from "../core/ports.js";
import type { LogEntry } from "../log/entry.js";
import type { LogStore } from "../log/store.js";
import type { MqttConfig } from "./config/load.js";
import { ControlError, type ControlServer } from "./control.js";
import { ACKS_FILE, AckState } from "./mqtt-acks.js";
import { entryMessage } from "./mqtt-entry.js";

export const BRIDGE_LIMITS = {
  minReconnectMs: 1000,
  /** Wait for a CONNACK (MQTT.js connectTimeout). */
  connectTimeoutMs: 15_000,
  /** Ack state written at most this often (and when kosd stops). */
  saveIntervalMs: 1000,
  /** A connection that lasted this long resets the backoff. */
  stableMs: 30_000,
  /** On stop, wait at most this long for PUBACKs of entries in flight. */
  stopWaitMs: 1500,
  /** Entries read from the log at once for one author. */
  readBatch: 64,
  /** Authors listed in the status. */
  statusAuthors: 256,
} as const;

export type BridgeState = "starting" | "connecting" | "connected" | "disconnected" | "refused" | "failed" | "stopped";

/** An MQTT error as MQTT.js reports it: `code` is a CONNACK/PUBACK reason code or a socket error code. */
export type BrokerError = Error & { code?: number | string };

export interface BrokerHandlers {
  /** CONNACK accepted. `receiveMaximum`: the broker's MQTT 5 Receive Maximum, null when it set none. */
  connect(info: { receiveMaximum: number | null }): void;
  error(e: BrokerError): void;
  /** The connection is gone (after a refusal, an error or a drop); no more callbacks come from it. */
  close(): void;
}

export interface BrokerConnection {
  /** QoS 1 publish; `done` runs on PUBACK (err undefined) or on failure. */
  publish(topic: string, payload: Buffer, opts: IClientPublishOptions, done: (err?: BrokerError) => void): void;
  /** graceful: send DISCONNECT first (bounded); else drop the socket. */
  end(graceful: boolean): void;
}

/** Opens one connection attempt; the handlers get its events. Tests replace it with a fake broker. */
export type BrokerConnector = (url: string, opts: IClientOptions, handlers: BrokerHandlers) => Promise<BrokerConnection>;

/**
 * MQTT.js's client over a TCP or TLS socket opened here, loaded on first use (a kosd without [mqtt] never
 * evaluates it). Its own reconnect is off. Only the client module is imported: mqtt's connect() would bring
 * WebSocket and SOCKS transports into the bundle, which kosd does not offer.
 */
export const mqttConnector: BrokerConnector = async (url, opts, h) => {
  // A CommonJS module: its `default` export is module.exports under Node's ESM loader and esbuild alike,
  // and the class is that object's `default`.
  const mod = (await import("mqtt/lib/client")) as unknown as { default: { default: typeof MqttClient } | typeof MqttClient };
  const Client = typeof mod.default === "function" ? mod.default : mod.default.default;
  const u = new URL(url);
  const secure = u.protocol === "mqtts:";
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = u.port !== "" ? Number(u.port) : secure ? 8883 : 1883;
  const socket = (): net.Socket =>
    secure
      ? tls.connect({
          host,
          port,
          ...(net.isIP(host) === 0 ? { servername: host } : {}),
          ...(opts.ca !== undefined ? { ca: opts.ca as Buffer } : {}),
          ...(opts.cert !== undefined ? { cert: opts.cert as Buffer } : {}),
          ...(opts.key !== undefined ? { key: opts.key as Buffer } : {}),
          rejectUnauthorized: true,
        })
      : net.connect({ host, port });
  const client = new Client(socket, { ...opts, reconnectPeriod: 0 });
  client.on("connect", (p) => h.connect({ receiveMaximum: p.properties?.receiveMaximum ?? null }));
  client.on("error", (e) => h.error(e as BrokerError));
  // MQTT 5: the broker says why it drops the connection (session taken over, quota, not authorised...).
  client.on("disconnect", (p) => {
    const code = p.reasonCode ?? 0;
    const reason = p.properties?.reasonString;
    const why = typeof reason === "string" ? `: ${reason}` : "";
    h.error(Object.assign(new Error(`the broker disconnected kosd (reason code 0x${code.toString(16).padStart(2, "0")}${why})`), { code: `0x${code.toString(16)}` }));
  });
  client.on("close", () => h.close());
  return {
    publish: (topic, payload, o, done) => {
      client.publish(topic, payload, o, (err) => done(err === undefined || err === null ? undefined : (err as BrokerError)));
    },
    end: (graceful) => {
      if (!graceful || !client.connected) {
        client.end(true);
        return;
      }
      const t = setTimeout(() => client.end(true), 1000);
      t.unref();
      client.end(false, {}, () => clearTimeout(t));
    },
  };
};

export interface MqttBridgeOptions {
  config: MqttConfig;
  dataDir: string;
  /** The node identity hash: the default client id is kosd-<its first 16 hex digits>. */
  identityHash: Bytes;
  log: Logger;
  clock?: Clock;
  random?: RandomSource;
  connector?: BrokerConnector;
  /** Tests shorten these. */
  minReconnectMs?: number;
  saveIntervalMs?: number;
}

interface Slot {
  seq: number;
  acked: boolean;
}

/** MQTT 3.1.1 CONNACK return codes 4 and 5, MQTT 5 reason codes 0x86, 0x87 and 0x8C. */
const CREDENTIAL_CODES = new Set([4, 5, 0x86, 0x87, 0x8c]);

export class MqttBridge {
  readonly config: MqttConfig;
  readonly clientId: string;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #random: RandomSource;
  readonly #connector: BrokerConnector;
  readonly #acks: AckState;
  readonly #minReconnectMs: number;
  readonly #saveIntervalMs: number;

  #state: BridgeState = "starting";
  #store: LogStore | null = null;
  #offAppend: (() => void) | null = null;
  #conn: BrokerConnection | null = null;
  /** Bumped for every attempt and every drop: callbacks of an older connection are ignored. */
  #gen = 0;
  #failures = 0;
  #connectedAtMs = 0;
  #retryTimer: NodeJS.Timeout | null = null;
  #retryAtMs: number | null = null;
  #attemptTimer: NodeJS.Timeout | null = null;
  #saveTimer: NodeJS.Timeout | null = null;
  #pumpTimer: NodeJS.Timeout | null = null;
  #pumpQueued = false;
  #stopping = false;
  #drained: (() => void) | null = null;
  #window = 1;
  #inflight = 0;
  /** Per author (hex): the highest seq handed to the current connection. */
  readonly #sent = new Map<string, number>();
  /** Authors with entries past #sent, in round-robin order. */
  readonly #pending = new Map<string, Bytes>();
  /** Per author: seqs in flight on the current connection, in publish order. */
  readonly #unacked = new Map<string, Slot[]>();
  #lastError: { message: string; atMs: number } | null = null;
  #lastLogged = "";
  #published = 0;
  #acked = 0;
  #connects = 0;

  constructor(opts: MqttBridgeOptions) {
    const c = opts.config;
    if (c.url === null) throw new TypeError("the MQTT bridge needs a url");
    this.config = c;
    this.clientId = c.clientId ?? `kosd-${toHex(opts.identityHash).slice(0, 16)}`;
    this.#log = opts.log;
    this.#clock = opts.clock ?? systemClock;
    this.#random = opts.random ?? cryptoRandom;
    this.#connector = opts.connector ?? mqttConnector;
    this.#minReconnectMs = opts.minReconnectMs ?? BRIDGE_LIMITS.minReconnectMs;
    this.#saveIntervalMs = opts.saveIntervalMs ?? BRIDGE_LIMITS.saveIntervalMs;
    this.#acks = new AckState(path.join(opts.dataDir, ACKS_FILE), `${c.url} ${c.topicPrefix}`, opts.log);
  }

  get state(): BridgeState {
    return this.#state;
  }

  /** Starts publishing from `store` (or reports why it cannot: the log failed to open). */
  start(store: LogStore | Error): void {
    if (this.#state !== "starting") return;
    if (store instanceof Error) {
      this.#state = "failed";
      this.#setError(`the action log is not available: ${store.message}`, "error");
      return;
    }
    this.#store = store;
    const loaded = this.#acks.load();
    // An ack point past what the log holds (a log replaced or cut back by recovery) would skip entries.
    const fixes: Array<[string, number]> = [];
    for (const [author, seq] of this.#acks.entries()) {
      const head = store.head(fromHex(author));
      if (head === null || head.seq < seq) fixes.push([author, head?.seq ?? 0]);
    }
    for (const [author, seq] of fixes) {
      this.#log.log("warn", "mqtt: the ack point is past the end of the author's chain in the log; publishing from the log's end", { author, acked: this.#acks.get(author), head: seq });
      this.#acks.set(author, seq);
    }
    if (this.#acks.dirty) this.#acks.save();
    try {
      this.#offAppend = store.onAppend(
        (e) => this.#onEntry(e),
        () => void this.stop(),
      );
    } catch (e) {
      this.#state = "failed";
      this.#setError(`cannot follow the action log: ${(e as Error).message}`, "error");
      return;
    }
    this.#log.log("info", "mqtt: bridge started", { url: this.config.url, clientId: this.clientId, topicPrefix: this.config.topicPrefix, payload: this.config.payload, resumedAuthors: loaded.authors, queued: this.#queued() });
    this.#connect();
  }

  // ---- connection ----

  #connect(): void {
    this.#retryTimer = null;
    this.#retryAtMs = null;
    if (this.#stopping) return;
    const gen = ++this.#gen;
    // A refusal stays the state until a connection works: the status must not flicker to "connecting".
    if (this.#state !== "refused") this.#state = "connecting";
    let opts: IClientOptions;
    try {
      opts = this.#clientOptions();
    } catch (e) {
      this.#state = "disconnected";
      this.#setError((e as Error).message, "error");
      this.#scheduleRetry();
      return;
    }
    this.#attemptTimer = setTimeout(() => {
      this.#attemptTimer = null;
      if (gen !== this.#gen || this.#state === "connected") return;
      this.#setError(`no answer from the broker within ${Math.round((BRIDGE_LIMITS.connectTimeoutMs + 5000) / 1000)} s`, "warn");
      this.#dropConnection(gen);
    }, BRIDGE_LIMITS.connectTimeoutMs + 5000);
    this.#attemptTimer.unref();
    const handlers: BrokerHandlers = {
      connect: (info) => this.#connected(gen, info.receiveMaximum),
      error: (e) => this.#brokerError(gen, e),
      close: () => this.#closed(gen),
    };
    this.#connector(this.config.url!, opts, handlers).then(
      (conn) => {
        if (gen === this.#gen) this.#conn = conn;
        else conn.end(false);
      },
      (e: unknown) => {
        if (gen !== this.#gen) return;
        this.#brokerError(gen, e as BrokerError);
        this.#closed(gen);
      },
    );
  }

  #clientOptions(): IClientOptions {
    const c = this.config;
    const read = (file: string | null, what: string): Buffer | undefined => {
      if (file === null) return undefined;
      try {
        return fs.readFileSync(file);
      } catch (e) {
        throw new Error(`cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    };
    const ca = read(c.caFile, "ca_file");
    const cert = read(c.certFile, "cert_file");
    const key = read(c.keyFile, "key_file");
    return {
      clientId: this.clientId,
      protocolVersion: c.protocolVersion,
      clean: true,
      keepalive: c.keepaliveS,
      connectTimeout: BRIDGE_LIMITS.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      rejectUnauthorized: true,
      ...(c.username !== null ? { username: c.username } : {}),
      ...(c.password !== null ? { password: c.password } : {}),
      ...(ca !== undefined ? { ca } : {}),
      ...(cert !== undefined ? { cert } : {}),
      ...(key !== undefined ? { key } : {}),
    };
  }

  #connected(gen: number, receiveMaximum: number | null): void {
    if (gen !== this.#gen || this.#stopping) return;
    if (this.#attemptTimer !== null) clearTimeout(this.#attemptTimer);
    this.#attemptTimer = null;
    this.#state = "connected";
    this.#connectedAtMs = this.#clock.nowMs();
    this.#connects++;
    this.#lastError = null;
    this.#lastLogged = "";
    this.#window = Math.max(1, Math.min(this.config.maxInflight, receiveMaximum ?? Infinity));
    this.#resetFlight();
    for (const h of this.#store!.heads()) {
      const hex = toHex(h.author);
      if (h.seq > this.#acks.get(hex)) this.#pending.set(hex, h.author);
    }
    this.#log.log("info", "mqtt: connected to the broker", { url: this.config.url, clientId: this.clientId, window: this.#window, queued: this.#queued() });
    this.#pump();
  }

  #brokerError(gen: number, e: BrokerError): void {
    if (gen !== this.#gen) return;
    const code = e.code;
    const refused = typeof code === "number" && /refused/i.test(e.message);
    if (refused && CREDENTIAL_CODES.has(code)) {
      this.#state = "refused";
      this.#setError(`the broker refused the credentials (${e.message}): check username and password in [mqtt]`, "error");
    } else if (refused) {
      this.#state = "refused";
      this.#setError(`the broker refused the connection (${e.message})`, "error");
    } else {
      const what = typeof code === "string" && code !== "" && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
      this.#setError(this.#state === "connected" ? `connection error: ${what}` : `cannot connect: ${what}`, "warn");
    }
  }

  #closed(gen: number): void {
    if (gen !== this.#gen) return;
    this.#gen++;
    if (this.#attemptTimer !== null) clearTimeout(this.#attemptTimer);
    this.#attemptTimer = null;
    const conn = this.#conn;
    this.#conn = null;
    conn?.end(false);
    const was = this.#state;
    if (was === "connected") {
      const lasted = this.#clock.nowMs() - this.#connectedAtMs;
      if (lasted >= BRIDGE_LIMITS.stableMs) this.#failures = 0;
      this.#log.log("warn", "mqtt: the connection to the broker closed; reconnecting with backoff", { inFlight: this.#inflight, queued: this.#queued() });
      if (this.#lastError === null) this.#lastError = { message: "the connection to the broker closed", atMs: this.#clock.nowMs() };
    }
    this.#resetFlight();
    this.#saveSoon();
    if (this.#stopping) {
      this.#drained?.();
      return;
    }
    this.#state = was === "refused" ? "refused" : "disconnected";
    this.#scheduleRetry();
  }

  /** Ends the current connection at once and handles it as closed (reconnect with backoff). */
  #dropConnection(gen: number): void {
    this.#closed(gen);
  }

  #scheduleRetry(): void {
    if (this.#stopping || this.#retryTimer !== null) return;
    const base = Math.min(this.config.reconnectMaxMs, this.#minReconnectMs * 2 ** Math.min(this.#failures, 20));
    this.#failures++;
    const r = this.#random.bytes(2);
    const delay = Math.round(base / 2 + (base / 2) * (((r[0]! << 8) | r[1]!) / 65535));
    this.#retryAtMs = this.#clock.nowMs() + delay;
    this.#retryTimer = setTimeout(() => this.#connect(), delay);
    this.#retryTimer.unref();
  }

  #resetFlight(): void {
    this.#inflight = 0;
    this.#sent.clear();
    this.#pending.clear();
    this.#unacked.clear();
  }

  #setError(message: string, level: "error" | "warn"): void {
    this.#lastError = { message, atMs: this.#clock.nowMs() };
    // The same failure every backoff step is logged once, then at debug level.
    this.#log.log(message === this.#lastLogged ? "debug" : level, `mqtt: ${message}`, { url: this.config.url });
    this.#lastLogged = message;
  }

  // ---- publishing ----

  #onEntry(e: LogEntry): void {
    if (this.#state !== "connected" || this.#stopping) return;
    const hex = toHex(e.author);
    if (!this.#pending.has(hex)) this.#pending.set(hex, e.author);
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    // One pump for everything one commit made durable.
    setImmediate(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  #pump(): void {
    const store = this.#store;
    const conn = this.#conn;
    if (this.#state !== "connected" || this.#stopping || store === null || conn === null) return;
    const gen = this.#gen;
    while (this.#inflight < this.#window && gen === this.#gen) {
      const next = this.#pending.entries().next();
      if (next.done === true) return;
      const [hex, author] = next.value;
      this.#pending.delete(hex);
      const from = (this.#sent.get(hex) ?? this.#acks.get(hex)) + 1;
      let entries: LogEntry[];
      try {
        entries = store.range(author, from, Math.min(this.#window - this.#inflight, BRIDGE_LIMITS.readBatch));
      } catch (e) {
        // A read error of the log: try again later, never skip.
        this.#pending.set(hex, author);
        this.#setError(`cannot read the action log: ${(e as Error).message}`, "error");
        if (this.#pumpTimer === null) {
          this.#pumpTimer = setTimeout(() => {
            this.#pumpTimer = null;
            this.#pump();
          }, 5000);
          this.#pumpTimer.unref();
        }
        return;
      }
      if (entries.length === 0) continue;
      for (const e of entries) {
        this.#publish(conn, gen, hex, e);
        if (gen !== this.#gen) return;
      }
      const last = entries[entries.length - 1]!.seq;
      this.#sent.set(hex, last);
      const head = store.head(author);
      if (head !== null && head.seq > last) this.#pending.set(hex, author);
    }
  }

  #publish(conn: BrokerConnection, gen: number, hex: string, e: LogEntry): void {
    const msg = entryMessage(e, this.config.topicPrefix, this.config.payload);
    const slot: Slot = { seq: e.seq, acked: false };
    let slots = this.#unacked.get(hex);
    if (slots === undefined) this.#unacked.set(hex, (slots = []));
    slots.push(slot);
    this.#inflight++;
    this.#published++;
    const opts: IClientPublishOptions = { qos: 1, ...(this.config.protocolVersion === 5 ? { properties: msg.properties } : {}) };
    try {
      conn.publish(msg.topic, msg.payload, opts, (err) => this.#onAck(gen, hex, slot, err));
    } catch (err) {
      this.#onAck(gen, hex, slot, err as BrokerError);
    }
  }

  #onAck(gen: number, hex: string, slot: Slot, err: BrokerError | undefined): void {
    if (gen !== this.#gen) return;
    this.#inflight--;
    if (err !== undefined) {
      // Refused (PUBACK reason code >= 0x80) or not sent: never skip it. Reconnect with backoff and publish
      // again from the ack point; the error stays in the status until a connection works.
      const code = typeof err.code === "number" ? ` (reason code 0x${err.code.toString(16).padStart(2, "0")})` : "";
      this.#setError(`the broker did not accept entry ${hex}:${slot.seq}: ${err.message}${code}`, "error");
      this.#dropConnection(gen);
      return;
    }
    slot.acked = true;
    this.#acked++;
    const slots = this.#unacked.get(hex)!;
    let top = 0;
    while (slots.length > 0 && slots[0]!.acked) top = slots.shift()!.seq;
    if (slots.length === 0) this.#unacked.delete(hex);
    if (top > 0) {
      this.#acks.set(hex, top);
      this.#saveSoon();
    }
    if (this.#stopping) {
      if (this.#inflight === 0) this.#drained?.();
      return;
    }
    this.#pump();
  }

  #saveSoon(): void {
    if (this.#saveTimer !== null || !this.#acks.dirty) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = null;
      this.#acks.save();
    }, this.#saveIntervalMs);
    this.#saveTimer.unref();
  }

  // ---- status and stop ----

  #queued(): number {
    let n = 0;
    for (const h of this.#store?.heads() ?? []) n += Math.max(0, h.seq - this.#acks.get(toHex(h.author)));
    return n;
  }

  status(): Record<string, unknown> {
    const now = this.#clock.nowMs();
    const heads = this.#store?.heads() ?? [];
    const authors = heads.map((h) => {
      const hex = toHex(h.author);
      const acked = this.#acks.get(hex);
      return { author: hex, head: h.seq, acked, queued: Math.max(0, h.seq - acked) };
    });
    return {
      enabled: true,
      state: this.#state,
      connected: this.#state === "connected",
      url: this.config.url,
      clientId: this.clientId,
      topicPrefix: this.config.topicPrefix,
      payload: this.config.payload,
      protocol: this.config.protocolVersion === 5 ? "5" : "3.1.1",
      connectedSinceMs: this.#state === "connected" ? this.#connectedAtMs : null,
      nextAttemptInMs: this.#retryAtMs === null ? null : Math.max(0, this.#retryAtMs - now),
      lastError: this.#lastError,
      window: this.#window,
      inFlight: this.#inflight,
      queued: authors.reduce((n, a) => n + a.queued, 0),
      published: this.#published,
      acknowledged: this.#acked,
      connects: this.#connects,
      stateFile: this.#acks.file,
      authorCount: authors.length,
      authors: authors.slice(0, BRIDGE_LIMITS.statusAuthors),
    };
  }

  /** Stops: waits briefly for PUBACKs of entries in flight, closes the connection, saves the ack state. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#offAppend?.();
    this.#offAppend = null;
    for (const t of [this.#retryTimer, this.#attemptTimer, this.#pumpTimer, this.#saveTimer]) if (t !== null) clearTimeout(t);
    this.#retryTimer = this.#attemptTimer = this.#pumpTimer = this.#saveTimer = null;
    this.#retryAtMs = null;
    if (this.#state === "connected" && this.#inflight > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, BRIDGE_LIMITS.stopWaitMs);
        this.#drained = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.#drained = null;
    }
    const conn = this.#conn;
    this.#conn = null;
    this.#gen++;
    conn?.end(true);
    if (this.#state !== "failed") this.#state = "stopped";
    this.#acks.save();
  }
}

/** `mqtt-status`: the bridge's state for kosctl status (enabled: false when there is no bridge). */
export function registerMqtt(server: ControlServer, bridge: MqttBridge | null): void {
  server.handle("mqtt-status", async () => {
    if (bridge === null) return { enabled: false };
    try {
      return bridge.status();
    } catch (e) {
      throw new ControlError(`mqtt status: ${(e as Error).message}`);
    }
  });
}
