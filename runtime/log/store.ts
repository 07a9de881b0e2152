// The action-log store: append-only segment files under one directory, group-committed, recovered on open.
//
// How it works. Appends are checked at once against each author's tip (the head including appends not yet
// durable): a new author must start at seq 1; a known author's next entry must carry seq = tip + 1 and
// prev = tip hash and a valid signature. A validly signed entry that conflicts with the chain is a fork: it is
// stored as evidence (record type 2), never in place of the original. Accepted records wait in a queue; one
// commit at a time takes what is queued (bounded by records, bytes and the room left in the segment), writes it
// with one write() and one fdatasync(), then indexes it and resolves every promise in it: acknowledged means
// durable. A failed write or sync (disk full, I/O error) truncates the segment back to its durable end,
// rejects that batch and everything queued behind it with a LogStoreError (code ENOSPC or EIO), and rewinds
// every tip to the durable head, so nothing half-written is ever served or acknowledged. If even the truncate
// fails the store refuses further appends until it is reopened (recovery then drops the torn tail).
// Reads (get, range, tail, heads, entries) see durable records only. Format: format.ts; recovery: recovery.ts;
// memory bound of the index: index.ts.
import * as path from "node:path";
import { equal, toHex, type Bytes } from "../core/bytes.js";
import { systemClock, systemTimers, silentLogger, type Clock, type Logger, type Timers } from "../core/ports.js";
import type { Identity } from "../crypto/identity.js";
import { createEntry, decodeEntry, verifyEntry, type LogEntry } from "./entry.js";
import { GroupCommit, createSegment, type CommitOptions } from "./commit.js";
import { RECORD_ENTRY, RECORD_FORK, segmentName, type RecordType } from "./format.js";
import { LogStoreError, ioError, nodeLogFs, type LogFs } from "./fsio.js";
import { AuthorState, LogIndex, type Location } from "./index.js";
import { LogReads } from "./queries.js";
import { recover, type RecoveryReport } from "./recovery.js";
import { SegmentReader, type SegmentInfo } from "./reader.js";

export { LogStoreError } from "./fsio.js";
export type { LogStoreErrorCode } from "./fsio.js";
export type { RecoveryReport } from "./recovery.js";
export type { ForkRecord } from "./index.js";
export { MAX_RANGE, MAX_TAIL, type Head } from "./queries.js";

export const STORE_DEFAULTS = {
  segmentMaxBytes: 8 * 1024 * 1024,
  /** 0: commit on the next turn of the event loop; appends arriving while a commit is in flight join the next. */
  commitWindowMs: 0,
  maxBatchBytes: 1024 * 1024,
  maxBatchRecords: 4096,
  maxQueuedRecords: 65_536,
} as const;
const MAX_LISTENERS = 64;
const FOLLOW_BUFFER = 10_000;

export interface LogStoreOptions {
  dir: string;
  logger?: Logger;
  clock?: Clock;
  /** Where the group-commit window is waited out (the host's timers; Node's by default). */
  timers?: Timers;
  /** File-system calls (tests inject faults here). */
  fs?: LogFs;
  segmentMaxBytes?: number;
  commitWindowMs?: number;
  maxBatchBytes?: number;
  /** 1 gives one fsync per append (for comparison only). */
  maxBatchRecords?: number;
  maxQueuedRecords?: number;
}

export type RejectReason =
  | "bad-encoding"
  | "bad-signature"
  /** The first entry seen from an author is not its genesis (seq 1). */
  | "unknown-author"
  /** The entry's seq is past the author's tip + 1. */
  | "gap"
  /** The seq falls in a range lost to a quarantined segment; refilling it is not supported yet. */
  | "in-gap"
  /** The author's genesis entry (its key) was lost, so nothing of it can be verified. */
  | "no-key";

export type AppendOutcome =
  | { status: "appended"; entry: LogEntry }
  /** Already held (the same bytes), or already held as fork evidence. */
  | { status: "duplicate"; entry: LogEntry }
  /** Validly signed but conflicting with the held chain: stored as evidence. */
  | { status: "fork"; entry: LogEntry; reason: string }
  | { status: "rejected"; reason: RejectReason; detail: string };

interface Queued {
  entry: LogEntry;
  st: AuthorState;
  outcome: AppendOutcome;
  resolve(o: AppendOutcome): void;
  reject(e: Error): void;
}

export class LogStore extends LogReads {
  readonly dir: string;
  readonly recovery: RecoveryReport;
  readonly #log: Logger;
  readonly #segments: SegmentInfo[];
  readonly #commit: GroupCommit<Queued>;
  #closed = false;
  readonly #durable = new Map<string, Promise<AppendOutcome>>();
  readonly #forkPending = new Set<string>();
  readonly #listeners = new Set<{ entry(e: LogEntry): void; closed(): void }>();

  private constructor(opts: LogStoreOptions, fsx: LogFs, log: Logger, recovered: ReturnType<typeof recover>, index: LogIndex, activeFd: number, segments: SegmentInfo[]) {
    super(index, new SegmentReader(fsx, opts.dir, segments));
    this.dir = opts.dir;
    this.#log = log;
    this.recovery = recovered.report;
    this.#segments = segments;
    const commitOpts: CommitOptions = {
      timers: opts.timers ?? systemTimers,
      segmentMaxBytes: opts.segmentMaxBytes ?? STORE_DEFAULTS.segmentMaxBytes,
      commitWindowMs: opts.commitWindowMs ?? STORE_DEFAULTS.commitWindowMs,
      maxBatchBytes: opts.maxBatchBytes ?? STORE_DEFAULTS.maxBatchBytes,
      maxBatchRecords: opts.maxBatchRecords ?? STORE_DEFAULTS.maxBatchRecords,
      maxQueuedRecords: opts.maxQueuedRecords ?? STORE_DEFAULTS.maxQueuedRecords,
    };
    const highest = Math.max(recovered.highest, segments[segments.length - 1]!.number);
    this.#commit = new GroupCommit<Queued>(fsx, opts.dir, segments, activeFd, highest, commitOpts, {
      durable: (batch) => this.#durableBatch(batch),
      failed: (error, items) => this.#failed(error, items),
    });
  }

  /** Opens (creating if needed) the store in `dir`, recovering it first. Throws LogStoreError when it cannot. */
  static async open(opts: LogStoreOptions): Promise<LogStore> {
    const bounds: Array<[keyof LogStoreOptions, number, number]> = [
      ["segmentMaxBytes", 1024, 2 ** 31],
      ["commitWindowMs", 0, 10_000],
      ["maxBatchBytes", 1, 2 ** 30],
      ["maxBatchRecords", 1, 1_000_000],
      ["maxQueuedRecords", 1, 10_000_000],
    ];
    for (const [name, min, max] of bounds) {
      const v = opts[name];
      if (v !== undefined && (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max)) throw new RangeError(`${name} must be a whole number from ${min} to ${max}`);
    }
    const fsx = opts.fs ?? nodeLogFs;
    const log = opts.logger ?? silentLogger;
    const clock = opts.clock ?? systemClock;
    try {
      fsx.mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw ioError(e, `creating the log directory ${opts.dir}`);
    }
    const recovered = recover(fsx, opts.dir, log, clock.nowMs());
    const index = new LogIndex();
    let mismatched = 0;
    for (const seg of recovered.segments) {
      for (const r of seg.records) {
        const loc = { segment: seg.number, offset: r.offset };
        if (r.type === RECORD_FORK) index.addFork(r.entry, loc);
        else if (!index.addEntry(r.entry, loc)) mismatched++;
      }
      seg.records.length = 0;
    }
    if (mismatched > 0) log.log("warn", "log: entries that do not extend their chain were found on disk and kept as fork evidence", { count: mismatched });
    const segments: SegmentInfo[] = recovered.segments.map((s) => ({ number: s.number, end: s.end }));
    if (segments.length === 0) segments.push(createSegment(fsx, opts.dir, recovered.highest + 1));
    const active = segments[segments.length - 1]!;
    let fd: number;
    try {
      fd = fsx.openSync(path.join(opts.dir, segmentName(active.number)), "r+");
    } catch (e) {
      throw ioError(e, `opening ${segmentName(active.number)} for appends`);
    }
    const store = new LogStore(opts, fsx, log, recovered, index, fd, segments);
    for (const st of index.authors.values()) if (st.missing > 0) log.log("warn", "log: an author's chain has entries missing (lost with a quarantined segment)", { author: st.hex, missing: st.missing });
    return store;
  }

  // ---- appends ----

  /** Creates, signs and durably appends the next entry of `author`'s chain (the node's own identity). */
  async appendLocal(author: Identity, kind: string, body: Bytes, timeMs: number): Promise<LogEntry> {
    this.#usable();
    const st = this.index.author(author.hash);
    // createEntry reads only author, seq and hash of `prev`.
    const prev = st !== undefined && st.tipSeq > 0 ? ({ author: st.author, seq: st.tipSeq, hash: st.tipHash } as LogEntry) : null;
    const entry = createEntry(author, prev, timeMs, kind, body);
    const o = await this.#enqueue(RECORD_ENTRY, entry, st ?? this.#newAuthor(entry), { status: "appended", entry });
    return o.status === "appended" ? o.entry : Promise.reject(new Error(`unexpected outcome ${o.status}`));
  }

  /** Appends an entry from elsewhere (sync, import): checked, then durable. Only I/O failures reject. */
  append(encoded: Bytes): Promise<AppendOutcome> {
    const d = decodeEntry(encoded);
    if (!d.ok) return Promise.resolve(rejected("bad-encoding", d.detail ?? d.reason));
    try {
      return this.offer(d.value).durable;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Classifies a decoded entry at once (the author's tip moves immediately, so the next entry can chain on it)
   * and says when it is durable: `durable` resolves with the same outcome once it is on disk (at once for a
   * refusal or a duplicate of a durable entry) and rejects with a LogStoreError if the write fails.
   * `verified`: the caller has checked the signature already (a sync session), so it is not checked again.
   * Throws LogStoreError (ECLOSED, EBUSY, or the error that stopped appends) when nothing can be queued.
   */
  offer(e: LogEntry, opts: { verified?: boolean } = {}): { outcome: AppendOutcome; durable: Promise<AppendOutcome> } {
    this.#usable();
    const now = (o: AppendOutcome): { outcome: AppendOutcome; durable: Promise<AppendOutcome> } => ({ outcome: o, durable: Promise.resolve(o) });
    const queue = (type: RecordType, st: AuthorState, o: AppendOutcome): { outcome: AppendOutcome; durable: Promise<AppendOutcome> } => ({ outcome: o, durable: this.#enqueue(type, e, st, o) });
    const signed = (key: Bytes): AppendOutcome | null => {
      if (opts.verified === true) return null;
      const v = verifyEntry(e, key);
      return v.ok ? null : rejected("bad-signature", v.detail ?? v.reason);
    };
    const st = this.index.author(e.author);
    if (st === undefined) {
      if (e.seq !== 1) return now(rejected("unknown-author", `first entry seen from <${toHex(e.author)}> is seq ${e.seq}, not its genesis`));
      const bad = signed(e.authorKey);
      return bad !== null ? now(bad) : queue(RECORD_ENTRY, this.#newAuthor(e), { status: "appended", entry: e });
    }
    if (e.seq > st.tipSeq + 1) return now(rejected("gap", `seq ${e.seq} but the chain of <${st.hex}> ends at ${st.tipSeq}`));
    if (st.key === null) return now(rejected("no-key", `the genesis entry of <${st.hex}> is missing`));
    if (e.seq <= st.tipSeq) {
      const held = st.pending.get(e.seq) ?? (e.seq <= st.headSeq ? this.encodedAt(st, e.seq) : null);
      if (held === null) return now(rejected("in-gap", `seq ${e.seq} of <${st.hex}> was lost to a damaged segment`));
      if (equal(held, e.encoded)) {
        const dup: AppendOutcome = { status: "duplicate", entry: e };
        const waiting = this.#durable.get(`${st.hex}:${e.seq}`);
        return { outcome: dup, durable: waiting === undefined ? Promise.resolve(dup) : waiting.then(() => dup) };
      }
    }
    const bad = signed(st.key);
    if (bad !== null) return now(bad);
    if (e.seq === st.tipSeq + 1 && equal(e.prev, st.tipHash)) return queue(RECORD_ENTRY, st, { status: "appended", entry: e });
    const hash = toHex(e.hash);
    if (this.index.hasFork(e.hash) || this.#forkPending.has(hash)) {
      const dup: AppendOutcome = { status: "duplicate", entry: e };
      const waiting = this.#durable.get(`fork:${hash}`);
      return { outcome: dup, durable: waiting === undefined ? Promise.resolve(dup) : waiting.then(() => dup) };
    }
    const reason = e.seq <= st.tipSeq ? `a different entry holds seq ${e.seq}` : `prev does not match the entry held at seq ${st.tipSeq}`;
    this.#forkPending.add(hash);
    return queue(RECORD_FORK, st, { status: "fork", entry: e, reason });
  }

  #usable(): void {
    if (this.#closed) throw new LogStoreError("ECLOSED", "the log store is closed");
    const refusal = this.#commit.refusal();
    if (refusal !== null) throw refusal;
  }

  #newAuthor(genesis: LogEntry): AuthorState {
    const st = new AuthorState(genesis.author);
    st.key = genesis.authorKey.slice();
    this.index.authors.set(st.hex, st);
    return st;
  }

  #enqueue(type: RecordType, entry: LogEntry, st: AuthorState, outcome: AppendOutcome): Promise<AppendOutcome> {
    const p = new Promise<AppendOutcome>((resolve, reject) => this.#commit.push(type, entry.encoded, { entry, st, outcome, resolve, reject }));
    const key = type === RECORD_ENTRY ? `${st.hex}:${entry.seq}` : `fork:${toHex(entry.hash)}`;
    if (type === RECORD_ENTRY) {
      st.pending.set(entry.seq, entry.encoded);
      st.tipSeq = entry.seq;
      st.tipHash = entry.hash;
    }
    this.#durable.set(key, p);
    p.then(
      () => this.#durable.delete(key),
      () => this.#durable.delete(key),
    );
    return p;
  }

  #durableBatch(batch: ReadonlyArray<{ type: RecordType; item: Queued; location: Location }>): void {
    const appended: LogEntry[] = [];
    for (const { type, item: q, location } of batch) {
      if (type === RECORD_FORK) {
        this.index.addFork(q.entry, location);
        this.#forkPending.delete(toHex(q.entry.hash));
        this.#log.log("warn", "log: fork kept as evidence", { author: q.st.hex, seq: q.entry.seq, hash: toHex(q.entry.hash) });
      } else {
        q.st.pending.delete(q.entry.seq);
        this.index.addEntry(q.entry, location);
        appended.push(q.entry);
      }
    }
    for (const { item } of batch) item.resolve(item.outcome);
    for (const e of appended) {
      for (const l of this.#listeners) {
        try {
          l.entry(e);
        } catch (err) {
          this.#log.log("error", "log: a follower failed", { error: (err as Error).message });
        }
      }
    }
  }

  /** A write failed (and was undone): fail its appends and everything queued behind them, rewind every tip. */
  #failed(error: LogStoreError, items: Queued[]): void {
    for (const st of [...this.index.authors.values()]) {
      if (st.pending.size === 0 && st.tipSeq === st.headSeq) continue;
      st.resetTip();
      if (st.count === 0 && st.forks === 0) this.index.authors.delete(st.hex);
    }
    this.#forkPending.clear();
    this.#log.log("error", "log: append failed, nothing of it was kept", { error: error.message, code: error.code, records: items.length });
    for (const q of items) q.reject(error);
  }

  /** Resolves once every queued append has been written (or failed). */
  flush(): Promise<void> {
    return this.#commit.flush();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.flush();
    for (const l of this.#listeners) l.closed();
    this.#listeners.clear();
    this.reader.close();
    this.#commit.close();
  }

  /**
   * Heads as `offer` sees them: entries accepted but not yet durable count. A sync session must chain on these
   * at once (the next entry of a message arrives before the first is on disk); `heads` shows durable ones only.
   */
  tips(): Array<{ author: Bytes; seq: number; hash: Bytes }> {
    const out: Array<{ author: Bytes; seq: number; hash: Bytes }> = [];
    for (const st of this.index.authors.values()) if (st.tipSeq > 0) out.push({ author: st.author, seq: st.tipSeq, hash: st.tipHash });
    return out;
  }

  tip(author: Bytes): { author: Bytes; seq: number; hash: Bytes } | null {
    const st = this.index.author(author);
    return st === undefined || st.tipSeq === 0 ? null : { author: st.author, seq: st.tipSeq, hash: st.tipHash };
  }

  /** An entry of the chain, durable or accepted and on its way to disk. */
  getAccepted(author: Bytes, seq: number): LogEntry | null {
    const st = this.index.author(author);
    if (st === undefined) return null;
    const pending = st.pending.get(seq);
    if (pending !== undefined) {
      const d = decodeEntry(pending);
      return d.ok ? d.value : null;
    }
    return this.get(author, seq);
  }

  stats(): { segments: number; bytes: number; entries: number; authors: number; forks: number; queued: number; indexBytes: number; broken: string | null } {
    return {
      segments: this.#segments.length,
      bytes: this.#segments.reduce((n, s) => n + s.end, 0),
      entries: this.index.entries,
      authors: this.heads().length,
      forks: this.index.forkCount,
      queued: this.#commit.queued,
      indexBytes: this.index.memoryBytes(),
      broken: this.#commit.broken?.message ?? null,
    };
  }

  /** Calls `entry` for every entry once durable, until the returned function is called or the store closes. */
  onAppend(entry: (e: LogEntry) => void, closed: () => void = () => undefined): () => void {
    if (this.#listeners.size >= MAX_LISTENERS) throw new LogStoreError("EBUSY", "too many log followers");
    const l = { entry, closed };
    this.#listeners.add(l);
    return () => this.#listeners.delete(l);
  }

  /** New entries as they become durable; ends when `signal` aborts or the store closes. */
  async *follow(signal?: AbortSignal): AsyncGenerator<LogEntry> {
    const buffer: LogEntry[] = [];
    let overflow = false;
    let ended = false;
    let wake: (() => void) | null = null;
    const poke = (): void => {
      const w = wake;
      wake = null;
      w?.();
    };
    const off = this.onAppend(
      (e) => {
        if (buffer.length >= FOLLOW_BUFFER) overflow = true;
        else buffer.push(e);
        poke();
      },
      () => {
        ended = true;
        poke();
      },
    );
    signal?.addEventListener("abort", poke);
    try {
      while (signal?.aborted !== true) {
        if (overflow) throw new LogStoreError("EBUSY", `a log follower fell more than ${FOLLOW_BUFFER} entries behind`);
        const e = buffer.shift();
        if (e !== undefined) {
          yield e;
          continue;
        }
        if (ended) return;
        await new Promise<void>((r) => (wake = r));
      }
    } finally {
      off();
      signal?.removeEventListener("abort", poke);
    }
  }
}

function rejected(reason: RejectReason, detail: string): AppendOutcome {
  return { status: "rejected", reason, detail };
}
