// Reads records back from segment files: one record at a known place, or every record from a place on, in log
// order across segments. Only the durable part of each segment is read; file descriptors are cached (LRU).
import * as path from "node:path";
import type { Bytes } from "../core/bytes.js";
import { MAX_RECORD_BYTES, RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, recordAt, segmentName, type RecordType } from "./format.js";
import { ioError, type LogFs } from "./fsio.js";

export interface SegmentInfo {
  readonly number: number;
  /** End of the durable records: reads never go past it. */
  end: number;
}

export interface StoredRecord {
  segment: number;
  offset: number;
  type: RecordType;
  /** The encoded entry (a view into a read buffer: copy it to keep it small). */
  entry: Bytes;
}

const MAX_OPEN_FILES = 16;
const CHUNK_BYTES = 256 * 1024;
const FIRST_CHUNK_BYTES = 4096;

export class SegmentReader {
  readonly #fds = new Map<number, number>();

  constructor(
    readonly fs: LogFs,
    readonly dir: string,
    /** Segments in log order; the store appends to it when it rolls. */
    readonly segments: SegmentInfo[],
  ) {}

  info(segment: number): SegmentInfo | undefined {
    // Segments are few (disk size / segment size); a binary search keeps this cheap anyway.
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.segments[mid]!;
      if (s.number === segment) return s;
      if (s.number < segment) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  #fd(segment: number): number {
    const cached = this.#fds.get(segment);
    if (cached !== undefined) {
      this.#fds.delete(segment);
      this.#fds.set(segment, cached);
      return cached;
    }
    if (this.#fds.size >= MAX_OPEN_FILES) {
      const [oldest, fd] = this.#fds.entries().next().value as [number, number];
      this.#fds.delete(oldest);
      this.fs.closeSync(fd);
    }
    const fd = this.fs.openSync(path.join(this.dir, segmentName(segment)), "r");
    this.#fds.set(segment, fd);
    return fd;
  }

  #read(segment: number, position: number, length: number): Uint8Array {
    const buf = new Uint8Array(length);
    try {
      const fd = this.#fd(segment);
      let got = 0;
      while (got < length) {
        const n = this.fs.readSync(fd, buf, got, length - got, position + got);
        if (n === 0) break;
        got += n;
      }
      return got === length ? buf : buf.subarray(0, got);
    } catch (e) {
      throw ioError(e, `reading ${segmentName(segment)}`);
    }
  }

  /** The record at a known place, or null when the place holds none (a stale location: a bug). */
  recordAt(segment: number, offset: number): StoredRecord | null {
    const info = this.info(segment);
    if (info === undefined || offset + RECORD_HEADER_BYTES > info.end) return null;
    const buf = this.#read(segment, offset, Math.min(4096, info.end - offset));
    let r = recordAt(buf, 0);
    if (r.kind === "incomplete" && buf.length < info.end - offset) r = recordAt(this.#read(segment, offset, Math.min(MAX_RECORD_BYTES, info.end - offset)), 0);
    return r.kind === "record" ? { segment, offset, type: r.type, entry: r.entry } : null;
  }

  /**
   * Every durable record from a place on, in log order (bounded by what exists when each segment is reached).
   * Reads start small (a lookup near its starting point reads a few KiB) and double up to CHUNK_BYTES.
   */
  *from(segment = this.segments[0]?.number ?? 0, offset = SEGMENT_HEADER_BYTES): Generator<StoredRecord> {
    let size = FIRST_CHUNK_BYTES;
    for (const info of this.segments) {
      if (info.number < segment) continue;
      let pos = info.number === segment ? offset : SEGMENT_HEADER_BYTES;
      while (pos < info.end) {
        const want = Math.min(size, info.end - pos);
        const buf = this.#read(info.number, pos, want);
        size = Math.min(CHUNK_BYTES, size * 2);
        let at = 0;
        for (;;) {
          const r = recordAt(buf, at);
          if (r.kind !== "record") break;
          yield { segment: info.number, offset: pos + at, type: r.type, entry: r.entry };
          at = r.next;
        }
        if (at > 0) pos += at;
        // A record longer than this read: read more. A full-size read that holds no record holds damage.
        else if (want >= MAX_RECORD_BYTES || want === info.end - pos) throw ioError(new Error(`unreadable record at ${segmentName(info.number)}:${pos}`), "reading the log");
      }
    }
  }

  close(): void {
    for (const fd of this.#fds.values()) {
      try {
        this.fs.closeSync(fd);
      } catch {
        // closing is best effort
      }
    }
    this.#fds.clear();
  }

  /** Drops a cached descriptor (the file was renamed or replaced). */
  forget(segment: number): void {
    const fd = this.#fds.get(segment);
    if (fd === undefined) return;
    this.#fds.delete(segment);
    this.fs.closeSync(fd);
  }
}
