// ENTRIES messages: log entries packed for the air, with what the receiver can rebuild left out.
//
//   ENTRIES  [3, run, run, ...]
//   run      [author(bin16), firstSeq, prev(nil | bin32), authorKey(bin64) only when firstSeq = 1,
//             dt, kind, body(bin), signature(bin64),   <- one entry, repeated for firstSeq, firstSeq+1, ...
//             dt, kind, body, signature, ...]
//   prev     nil when it is elided: the receiver holds the entry at firstSeq-1 (or it is the genesis). The
//            prev of every later entry of a run is the hash of the one before it, so it is never sent.
//   dt       the entry's timeMs minus that of the entry before it in the chain, when the receiver has that
//            one (every entry after the first of a run; the first when prev is elided); else timeMs itself
//   kind     nil: the kind of the entry before it in the chain (same rule); a string; or an unsigned index
//            into the kinds written as strings earlier in this message (first written = 0)
//
// The receiver rebuilds each entry's canonical encoding [1, author, seq, prev, timeMs, kind, body, authorKey,
// signature] and so its hash, and verifies the signature: anything rebuilt wrong fails that check. Against
// the entry encoding this saves the version, author, seq, prev, most of the timestamp and the kind of every
// entry whose predecessor the receiver holds (60-75 bytes of a 150-300 byte entry), which is what lets a LoRa
// packet of 499 bytes carry more entry bytes than it holds.
import { utf8, type Bytes } from "../../core/bytes.js";
import { FULL_HASH_LENGTH, PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, TRUNCATED_HASH_LENGTH } from "../../core/limits.js";
import { err, ok, type Result } from "../../core/result.js";
import { packMsgpack } from "../../wire/msgpack.js";
import { LOG_FORMAT_VERSION, LOG_LIMITS, type LogEntry } from "../entry.js";
import { MessageType, SYNC_LIMITS } from "./limits.js";

/** One entry as it travels: time and kind relative to the entry before it in the chain, or absolute. */
export interface WireItem {
  dt: number;
  /** null: the kind of the entry before it. */
  kind: string | null;
  body: Bytes;
  signature: Bytes;
}

/** What an item is rebuilt against: the entry before it in the chain (absolute: hash only, time 0, no kind). */
export interface Predecessor {
  hash: Bytes;
  timeMs: number;
  kind: string | null;
}

export interface WireRun {
  author: Bytes;
  firstSeq: number;
  /** The first entry's prev: empty for a genesis, null when elided, else 32 bytes. */
  prev: Bytes | null;
  authorKey: Bytes | null;
  items: WireItem[];
}

// ---- MessagePack sizes, as packMsgpack writes them ------------------------------------------------------

export function uintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1_0000_0000 ? 5 : 9;
}
export function intSize(n: number): number {
  if (n >= 0) return uintSize(n);
  return n >= -32 ? 1 : n >= -128 ? 2 : n >= -32768 ? 3 : n >= -(2 ** 31) ? 5 : 9;
}
export const binSize = (len: number): number => (len < 0x100 ? 2 : len < 0x10000 ? 3 : 5) + len;
export const strSize = (len: number): number => (len < 32 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : 5) + len;
export const arraySize = (n: number): number => (n < 16 ? 1 : n < 0x10000 ? 3 : 5);

interface BuildRun {
  run: WireRun;
  lastSeq: number;
  last: LogEntry;
  entries: LogEntry[];
  /** Bytes of the run's elements, its array header excluded. */
  bodyBytes: number;
  elements: number;
}

/**
 * Packs entries into one ENTRIES message of at most `room` bytes, counting every byte as it goes so that
 * a packet is filled as far as it can be. add() refuses (and changes nothing) when an entry does not fit.
 */
export class EntriesBuilder {
  readonly #runs: BuildRun[] = [];
  readonly #kinds = new Map<string, number>();
  #count = 0;

  constructor(readonly room: number) {}

  get count(): number {
    return this.#count;
  }

  /** The encoded size of the message so far. */
  get size(): number {
    let n = arraySize(1 + this.#runs.length) + 1;
    for (const r of this.#runs) n += arraySize(r.elements) + r.bodyBytes;
    return n;
  }

  /** The entry of `author` at `seq` if this message carries it. */
  holding(author: Bytes, seq: number): LogEntry | null {
    for (const r of this.#runs) {
      if (seq >= r.run.firstSeq && seq <= r.lastSeq && bytesEqual(r.run.author, author)) return r.entries[seq - r.run.firstSeq]!;
    }
    return null;
  }

  /** Whether `e` would continue the last run (same author, next seq). */
  continues(e: LogEntry): boolean {
    const last = this.#runs[this.#runs.length - 1];
    return last !== undefined && last.lastSeq + 1 === e.seq && bytesEqual(last.run.author, e.author);
  }

  /**
   * The size the message would have with `e` added. `pred`, for an entry that starts a run, is the entry
   * before it when the receiver holds it (its prev, time and kind are then elided), else null.
   */
  sizeWith(e: LogEntry, pred: LogEntry | null): number {
    const last = this.#runs[this.#runs.length - 1];
    if (last !== undefined && this.continues(e)) {
      return this.size - arraySize(last.elements) + arraySize(last.elements + 4) + this.#itemSize(e, last.last);
    }
    const head = this.#runHeadSize(e, pred !== null);
    const runs = this.#runs.length;
    return this.size - arraySize(1 + runs) + arraySize(2 + runs) + arraySize(head.elements + 4) + head.bytes + this.#itemSize(e, pred);
  }

  /** Adds `e` if the message stays within room; true when added. */
  add(e: LogEntry, pred: LogEntry | null): boolean {
    if (e.version !== LOG_FORMAT_VERSION) throw new RangeError(`entry version ${e.version} has no wire form`);
    if (pred !== null && (pred.seq + 1 !== e.seq || !bytesEqual(pred.hash, e.prev))) throw new RangeError("pred is not the entry before e");
    if (this.#count >= SYNC_LIMITS.maxRecordsPerMessage) return false;
    if (this.sizeWith(e, pred) > this.room) return false;
    let last = this.#runs[this.#runs.length - 1];
    let before: LogEntry | null;
    if (last !== undefined && this.continues(e)) {
      before = last.last;
    } else {
      before = e.seq === 1 ? null : pred;
      const head = this.#runHeadSize(e, pred !== null);
      last = {
        run: { author: e.author, firstSeq: e.seq, prev: e.seq === 1 ? new Uint8Array(0) : pred !== null ? null : e.prev, authorKey: e.seq === 1 ? e.authorKey : null, items: [] },
        lastSeq: e.seq - 1,
        last: e,
        entries: [],
        bodyBytes: head.bytes,
        elements: head.elements,
      };
      this.#runs.push(last);
    }
    const size = this.#itemSize(e, before);
    const sameKind = before !== null && before.kind === e.kind;
    if (!sameKind && !this.#kinds.has(e.kind) && this.#kinds.size < SYNC_LIMITS.maxKindsPerMessage) this.#kinds.set(e.kind, this.#kinds.size);
    last.run.items.push({ dt: e.timeMs - (before?.timeMs ?? 0), kind: sameKind ? null : e.kind, body: e.body, signature: e.signature });
    last.lastSeq = e.seq;
    last.last = e;
    last.entries.push(e);
    last.bodyBytes += size;
    last.elements += 4;
    this.#count++;
    return true;
  }

  /** The message; its length is exactly `size`. */
  build(): Bytes {
    const kinds = new Map<string, number>();
    const runs = this.#runs.map(({ run }) => {
      const a: unknown[] = [run.author, run.firstSeq, run.prev === null || run.prev.length === 0 ? null : run.prev];
      if (run.firstSeq === 1) a.push(run.authorKey);
      for (const it of run.items) {
        let kind: string | number | null = it.kind;
        if (it.kind !== null) {
          const ref = kinds.get(it.kind);
          if (ref !== undefined) kind = ref;
          else if (kinds.size < SYNC_LIMITS.maxKindsPerMessage) kinds.set(it.kind, kinds.size);
        }
        a.push(it.dt, kind, it.body, it.signature);
      }
      return a;
    });
    return packMsgpack([MessageType.ENTRIES, ...runs]);
  }

  /** Bytes of `e` as an item; `before` is the entry the receiver rebuilds it against (null: absolute). */
  #itemSize(e: LogEntry, before: LogEntry | null): number {
    let kind: number;
    if (before !== null && before.kind === e.kind) kind = 1;
    else {
      const ref = this.#kinds.get(e.kind);
      kind = ref !== undefined ? uintSize(ref) : strSize(utf8(e.kind).length);
    }
    return intSize(e.timeMs - (before?.timeMs ?? 0)) + kind + binSize(e.body.length) + binSize(SIGNATURE_LENGTH);
  }

  #runHeadSize(e: LogEntry, elided: boolean): { bytes: number; elements: number } {
    const genesis = e.seq === 1;
    const prev = genesis || elided ? 1 : binSize(FULL_HASH_LENGTH);
    return {
      bytes: binSize(TRUNCATED_HASH_LENGTH) + uintSize(e.seq) + prev + (genesis ? binSize(PUBLIC_KEY_LENGTH) : 0),
      elements: genesis ? 4 : 3,
    };
  }
}

function bytesEqual(a: Bytes, b: Bytes): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// ---- decoding (remote input: never throws) ---------------------------------------------------------------

const isSafeInt = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
const isBin = (v: unknown, length?: number): v is Bytes => v instanceof Uint8Array && (length === undefined || v.length === length);

/** The runs of a decoded ENTRIES array (`a[0]` is the type). Times and kinds stay relative (see WireItem). */
export function decodeRuns(a: unknown[]): Result<WireRun[]> {
  if (a.length < 2) return err("bad-encoding", "ENTRIES without runs");
  const kinds: string[] = [];
  let total = 0;
  const runs: WireRun[] = [];
  for (let r = 1; r < a.length; r++) {
    const run = a[r];
    if (!Array.isArray(run) || run.length < 3) return err("bad-encoding", "run");
    const [author, firstSeq, prev] = run as unknown[];
    if (!isBin(author, TRUNCATED_HASH_LENGTH)) return err("bad-encoding", "run author");
    if (!isSafeInt(firstSeq) || firstSeq < 1) return err("bad-encoding", "run seq");
    const genesis = firstSeq === 1;
    if (!(prev === null || (!genesis && isBin(prev, FULL_HASH_LENGTH)))) return err("bad-encoding", "run prev");
    let at = 3;
    let authorKey: Bytes | null = null;
    if (genesis) {
      const k = run[3];
      if (!isBin(k, PUBLIC_KEY_LENGTH)) return err("bad-encoding", "genesis author key");
      authorKey = k.slice();
      at = 4;
    }
    const n = (run.length - at) / 4;
    if (!Number.isInteger(n) || n < 1) return err("bad-encoding", "run items");
    total += n;
    if (total > SYNC_LIMITS.maxRecordsPerMessage) return err("too-long", "ENTRIES items");
    if (!Number.isSafeInteger(firstSeq + n)) return err("bad-encoding", "run seq");
    // The first item is absolute unless its predecessor is the receiver's (prev elided).
    const firstAbsolute = genesis || prev !== null;
    const items: WireItem[] = [];
    for (let i = 0; i < n; i++, at += 4) {
      const [dt, kindField, body, signature] = run.slice(at, at + 4) as unknown[];
      if (!isSafeInt(dt) || (i === 0 && firstAbsolute && dt < 0)) return err("bad-encoding", "dt");
      let kind: string | null;
      if (kindField === null) {
        if (i === 0 && firstAbsolute) return err("bad-encoding", "kind of an absolute entry");
        kind = null;
      } else if (typeof kindField === "string") {
        const len = utf8(kindField).length;
        if (len === 0 || len > LOG_LIMITS.maxKindBytes) return err("bad-encoding", "kind");
        kind = kindField;
        if (!kinds.includes(kind) && kinds.length < SYNC_LIMITS.maxKindsPerMessage) kinds.push(kind);
      } else if (isSafeInt(kindField) && kindField >= 0 && kindField < kinds.length) {
        kind = kinds[kindField]!;
      } else {
        return err("bad-encoding", "kind reference");
      }
      if (!isBin(body) || body.length > LOG_LIMITS.maxBodyBytes) return err("bad-encoding", "body");
      if (!isBin(signature, SIGNATURE_LENGTH)) return err("bad-encoding", "signature");
      items.push({ dt, kind, body: body.slice(), signature: signature.slice() });
    }
    runs.push({ author: author.slice(), firstSeq, prev: genesis ? new Uint8Array(0) : prev === null ? null : (prev as Bytes).slice(), authorKey, items });
  }
  return ok(runs);
}
