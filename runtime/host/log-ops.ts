// kosd's control commands for the action log (kosctl log ...). The store lives in <data dir>/log and is opened
// (recovered) when kosd starts; entries appended here are signed by the node identity.
import * as path from "node:path";
import { parseHex, toHex, type Bytes } from "../core/bytes.js";
import { exportBundle, importBundle, BundleError } from "../log/bundle.js";
import { LOG_LIMITS, type LogEntry } from "../log/entry.js";
import { RECORD_ENTRY } from "../log/format.js";
import { LogStore, LogStoreError, MAX_RANGE, MAX_TAIL } from "../log/store.js";
import { verifyLog } from "../log/verify.js";
import { packMsgpack, unpackMsgpack } from "../wire/msgpack.js";
import { ControlError, type ControlServer, type Handler } from "./control.js";
import type { KosNode } from "./node.js";

export const LOG_DIR_NAME = "log";

export interface LogOpsOptions {
  /** The MQTT bridge's state for `log status` (./mqtt-bridge.ts); absent or null: no bridge. */
  mqttStatus?: () => Record<string, unknown> | null;
  /** Per-peer sync state for `log status` (LogSyncService.status in ./log-sync.ts); null until sync runs. */
  syncStatus?: () => Array<Record<string, unknown>> | null;
  /** Sync peers forgotten to keep the table within its bound (LogSyncService.peersEvicted). */
  syncPeersEvicted?: () => number;
}

/** Opens the store and registers the log commands; resolves with the open store (or why it did not open). */
export function registerLog(server: ControlServer, node: KosNode, opts: LogOpsOptions = {}): Promise<LogStore | Error> {
  const dir = path.join(node.config.dataDir, LOG_DIR_NAME);
  const opened: Promise<LogStore | Error> = LogStore.open({ dir, logger: node.log, clock: node.clock }).then(
    (store) => {
      const s = store.stats();
      node.log.log("info", "action log open", { dir, entries: s.entries, authors: s.authors, segments: s.segments, truncated: store.recovery.truncated.length, quarantined: store.recovery.quarantined.length });
      return store;
    },
    (e: unknown) => {
      node.log.log("error", "action log unavailable", { dir, error: (e as Error).message });
      return e as Error;
    },
  );
  const store = async (): Promise<LogStore> => {
    const s = await opened;
    if (s instanceof Error) throw new ControlError(`the action log is not available: ${s.message}`);
    return s;
  };
  const handle = (cmd: string, fn: Handler): void =>
    server.handle(cmd, async (args, progress, signal) => {
      try {
        return await fn(args, progress, signal);
      } catch (e) {
        if (e instanceof LogStoreError || e instanceof BundleError) throw new ControlError(e.message);
        throw e;
      }
    });

  handle("log-append", async (args) => {
    const kind = args["kind"];
    if (typeof kind !== "string" || kind.length === 0) throw new ControlError("kind must be a non-empty string");
    let body: Bytes;
    try {
      body = packMsgpack(args["body"] ?? null);
    } catch (e) {
      throw new ControlError(`body cannot be written as MessagePack: ${(e as Error).message}`);
    }
    if (body.length > LOG_LIMITS.maxBodyBytes) throw new ControlError(`body of ${body.length} bytes (as MessagePack) exceeds ${LOG_LIMITS.maxBodyBytes}`);
    const s = await store();
    try {
      return entryJson(await s.appendLocal(node.identity, kind, body, node.clock.nowMs()));
    } catch (e) {
      if (e instanceof RangeError || e instanceof TypeError) throw new ControlError(e.message);
      throw e;
    }
  });

  handle("log-list", async (args) => {
    const s = await store();
    const limit = intArg(args, "limit", 100, 1, MAX_RANGE);
    const kind = typeof args["kind"] === "string" ? args["kind"] : null;
    const author = args["author"] === undefined ? null : authorArg(args["author"]);
    if (author !== null && kind === null) {
      const head = s.head(author);
      return { entries: head === null ? [] : s.range(author, Math.max(1, head.seq - limit + 1), limit).map((e) => entryJson(e)) };
    }
    // Most recent `limit` matches, in log order: one pass over the log, yielding now and then.
    const kept: LogEntry[] = [];
    let n = 0;
    for (const r of s.records()) {
      if (++n % 2000 === 0) await new Promise((res) => setImmediate(res));
      if (r.type !== RECORD_ENTRY || (kind !== null && r.entry.kind !== kind) || (author !== null && toHex(r.entry.author) !== toHex(author))) continue;
      kept.push(r.entry);
      if (kept.length > limit) kept.shift();
    }
    return { entries: kept.map((e) => entryJson(e)) };
  });

  handle("log-tail", async (args, progress, signal) => {
    const s = await store();
    const n = intArg(args, "n", 10, 0, MAX_TAIL);
    if (args["follow"] !== true) return { entries: s.tail(n).map((e) => entryJson(e)) };
    // Subscribe before reading the tail (both synchronous): nothing falls between them, nothing comes twice.
    let stop: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => (stop = resolve));
    const off = s.onAppend((e) => progress({ entry: entryJson(e) }), stop);
    for (const e of s.tail(n)) progress({ entry: entryJson(e) });
    signal.addEventListener("abort", stop);
    await ended;
    off();
    return { ended: true };
  });

  handle("log-show", async (args) => {
    const s = await store();
    const ref = typeof args["ref"] === "string" ? args["ref"].trim().toLowerCase() : "";
    const m = /^<?([0-9a-f]{32})>?:(\d+)$/.exec(ref);
    let entry: LogEntry | null = null;
    let fork = false;
    if (m !== null) {
      entry = s.get(parseHex(m[1]!)!, Number(m[2]));
      if (entry === null) throw new ControlError(`no entry ${m[1]}:${m[2]} in the log`);
    } else if (/^[0-9a-f]{8,64}$/.test(ref)) {
      const found: Array<{ entry: LogEntry; fork: boolean }> = [];
      let n = 0;
      for (const r of s.records()) {
        if (++n % 2000 === 0) await new Promise((res) => setImmediate(res));
        if (toHex(r.entry.hash).startsWith(ref)) found.push({ entry: r.entry, fork: r.type !== RECORD_ENTRY });
        if (found.length > 1) break;
      }
      if (found.length === 0) throw new ControlError(`no entry with hash ${ref} in the log`);
      if (found.length > 1) throw new ControlError(`hash prefix ${ref} is ambiguous: give more digits`);
      ({ entry, fork } = found[0]!);
    } else throw new ControlError(`"${ref}" is neither AUTHOR:SEQ (32 hex digits, a colon, a number) nor an entry hash (8 to 64 hex digits)`);
    const author = toHex(entry.author);
    const forks = s.forks().indexed.filter((f) => f.author === author && f.seq === entry.seq && f.hash !== toHex(entry.hash)).map((f) => f.hash);
    return { ...entryJson(entry, true), forkEvidence: fork, otherForks: forks };
  });

  handle("log-verify", async () => {
    const s = await store();
    return verifyLog(s.records());
  });

  handle("log-export", async (args) => {
    const s = await store();
    const file = fileArg(args);
    const authors = Array.isArray(args["authors"]) ? (args["authors"] as unknown[]).map((a) => authorArg(a)) : undefined;
    return exportBundle(s, file, authors);
  });

  handle("log-import", async (args) => {
    const s = await store();
    return { file: fileArg(args), ...(await importBundle(s, fileArg(args))) };
  });

  handle("log-status", async () => {
    const s = await store();
    const self = toHex(node.identity.hash);
    return {
      dir,
      identity: self,
      ...s.stats(),
      heads: s.heads().map((h) => ({ author: toHex(h.author), seq: h.seq, hash: toHex(h.hash), count: h.count, missing: h.missing, forks: h.forks, self: toHex(h.author) === self })),
      recovery: s.recovery,
      // null: sync is not running (the log did not open, or this is not kosd); else one row per peer.
      peers: opts.syncStatus?.() ?? null,
      peersEvicted: opts.syncPeersEvicted?.() ?? 0,
      mqtt: opts.mqttStatus?.() ?? { enabled: false },
    };
  });
  return opened;
}

function intArg(args: Record<string, unknown>, name: string, dflt: number, min: number, max: number): number {
  const v = args[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw new ControlError(`${name} must be a whole number from ${min} to ${max}`);
  return v;
}

function authorArg(v: unknown): Bytes {
  const b = typeof v === "string" ? parseHex(v.replace(/[<>\s]/g, "")) : null;
  if (b === null || b.length !== 16) throw new ControlError("author must be a 16-byte identity hash in hex (32 digits)");
  return b;
}

function fileArg(args: Record<string, unknown>): string {
  const f = args["file"];
  if (typeof f !== "string" || !path.isAbsolute(f)) throw new ControlError("file must be an absolute path");
  return f;
}

/** An entry as JSON: the body decoded from MessagePack (bytes as {"$hex"}, big integers as strings). */
export function entryJson(e: LogEntry, full = false): Record<string, unknown> {
  const body = unpackMsgpack(e.body);
  return {
    author: toHex(e.author),
    seq: e.seq,
    hash: toHex(e.hash),
    prev: toHex(e.prev),
    timeMs: e.timeMs,
    time: new Date(e.timeMs).toISOString(),
    kind: e.kind,
    body: body.ok ? plainJson(body.value) : { $hex: toHex(e.body) },
    ...(full ? { bodyHex: toHex(e.body), authorKey: toHex(e.authorKey), signature: toHex(e.signature), bytes: e.encoded.length } : {}),
  };
}

/** A decoded MessagePack value as JSON: bytes as {"$hex"}, big integers as strings, maps as objects. */
export function plainJson(v: unknown): unknown {
  if (v instanceof Uint8Array) return { $hex: toHex(v) };
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v)) return v.map(plainJson);
  if (v instanceof Map) {
    if ([...v.keys()].every((k) => typeof k === "string")) return Object.fromEntries([...v].map(([k, x]) => [k, plainJson(x)]));
    return { $map: [...v].map(([k, x]) => [plainJson(k), plainJson(x)]) };
  }
  return v;
}
