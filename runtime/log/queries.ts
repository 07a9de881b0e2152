// The read side of the log store: heads, entries by (author, seq), ranges, the tail and full scans, over the
// in-memory index (index.ts) and the segment files (reader.ts). Only durable records are ever read.
import { equal, type Bytes } from "../core/bytes.js";
import { decodeEntry, type LogEntry } from "./entry.js";
import { RECORD_ENTRY, peekAuthorSeq, segmentName, type RecordType } from "./format.js";
import { LogStoreError } from "./fsio.js";
import { TAIL_LOCATIONS, type AuthorState, type ForkRecord, type LogIndex, type Location } from "./index.js";
import type { SegmentReader } from "./reader.js";

export const MAX_RANGE = 10_000;
export const MAX_TAIL = TAIL_LOCATIONS;

export interface Head {
  author: Bytes;
  seq: number;
  hash: Bytes;
  /** Entries held. */
  count: number;
  /** Seqs below the head that are not held (lost to corruption). */
  missing: number;
  forks: number;
}

export class LogReads {
  constructor(
    protected readonly index: LogIndex,
    protected readonly reader: SegmentReader,
  ) {}

  heads(): Head[] {
    const out: Head[] = [];
    for (const st of this.index.authors.values()) {
      if (st.count === 0) continue;
      out.push({ author: st.author, seq: st.headSeq, hash: st.headHash, count: st.count, missing: st.missing, forks: st.forks });
    }
    return out.sort((a, b) => compareBytes(a.author, b.author));
  }

  head(author: Bytes): Head | null {
    const st = this.index.author(author);
    return st === undefined || st.count === 0 ? null : { author: st.author, seq: st.headSeq, hash: st.headHash, count: st.count, missing: st.missing, forks: st.forks };
  }

  get(author: Bytes, seq: number): LogEntry | null {
    const st = this.index.author(author);
    if (st === undefined || seq < 1 || seq > st.headSeq) return null;
    const enc = this.encodedAt(st, seq);
    return enc === null ? null : decodeStored(enc);
  }

  /** Up to `limit` entries of one author from `fromSeq` on, in seq order (gaps skipped). */
  range(author: Bytes, fromSeq: number, limit: number): LogEntry[] {
    const st = this.index.author(author);
    const out: LogEntry[] = [];
    if (st === undefined) return out;
    limit = Math.max(0, Math.min(limit, MAX_RANGE));
    let s = Math.max(1, Math.floor(fromSeq));
    while (out.length < limit && s <= st.headSeq) {
      const loc = st.recent.get(s);
      if (loc !== null) {
        out.push(decodeStored(this.readAt(loc)));
        s++;
        continue;
      }
      const gap = st.gaps.find((g) => s >= g.from && s <= g.to);
      if (gap !== undefined) {
        s = gap.to + 1;
        continue;
      }
      const before = s;
      for (const { entry: enc, seq } of this.scanAuthor(st, s)) {
        out.push(decodeStored(enc));
        s = seq + 1;
        if (out.length >= limit || st.recent.get(s) !== null) break;
      }
      if (s === before) break;
    }
    return out;
  }

  /** The last `n` entries appended (any author), oldest first; n at most MAX_TAIL. */
  tail(n: number): LogEntry[] {
    return this.index.tail(Math.max(0, Math.min(n, MAX_TAIL))).map((loc) => decodeStored(this.readAt(loc)));
  }

  /** Every durable record in log order, decoded: entries and fork evidence. */
  *records(): Generator<{ type: RecordType; entry: LogEntry; location: Location }> {
    for (const r of this.reader.from()) {
      yield { type: r.type, entry: decodeStored(r.entry), location: { segment: r.segment, offset: r.offset } };
    }
  }

  forks(): { count: number; indexed: readonly ForkRecord[] } {
    return { count: this.index.forkCount, indexed: this.index.forks };
  }

  forkEntry(f: ForkRecord): LogEntry {
    return decodeStored(this.readAt(f.location));
  }

  protected readAt(loc: Location): Bytes {
    const r = this.reader.recordAt(loc.segment, loc.offset);
    if (r === null) throw new LogStoreError("EIO", `no record at ${segmentName(loc.segment)}:${loc.offset} (the file changed under the store)`);
    return r.entry.slice();
  }

  protected encodedAt(st: AuthorState, seq: number): Bytes | null {
    const loc = st.recent.get(seq);
    if (loc !== null) return this.readAt(loc);
    for (const r of this.scanAuthor(st, seq)) return r.seq === seq ? r.entry : null;
    return null;
  }

  /**
   * Entries of one author from `seq` on, read forward from the sparse point at or before it, or from where the
   * last scan for this author stopped when that is closer (sequential lookups then cost one step each).
   */
  protected *scanAuthor(st: AuthorState, seq: number): Generator<{ seq: number; entry: Bytes }> {
    let start = st.sparse.floor(seq);
    const c = st.cursor;
    if (c !== null && c.seq <= seq && (start === null || c.seq >= start.seq)) start = c;
    if (start === null) return;
    for (const r of this.reader.from(start.segment, start.offset)) {
      if (r.type !== RECORD_ENTRY) continue;
      const p = peekAuthorSeq(r.entry);
      if (p === null || p.seq < seq || !equal(p.author, st.author)) continue;
      st.cursor = { seq: p.seq, segment: r.segment, offset: r.offset };
      yield { seq: p.seq, entry: r.entry.slice() };
      if (p.seq >= st.headSeq) return;
    }
  }
}

function decodeStored(enc: Bytes): LogEntry {
  const d = decodeEntry(enc);
  if (!d.ok) throw new LogStoreError("EIO", `a stored entry no longer decodes (${d.detail ?? d.reason}): the file changed under the store`);
  return d.value;
}

function compareBytes(a: Bytes, b: Bytes): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
