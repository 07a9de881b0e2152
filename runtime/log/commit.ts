// Group commit onto the active segment. Records queue up; one commit at a time takes what is queued (bounded
// by records, bytes and the room left in the segment; a full segment is closed and the next one created first),
// writes it with one write() and one fdatasync(), and hands the batch back as durable with each record's place.
// A failed write or sync is undone on disk (truncate to the durable end, fsync), and the batch fails together
// with everything queued behind it (later records may chain on failed ones). If the undo fails too, the
// committer refuses everything until the store is reopened; recovery then drops the torn tail.
import * as path from "node:path";
import type { Bytes } from "../core/bytes.js";
import type { Timers } from "../core/ports.js";
import { SEGMENT_HEADER_BYTES, encodeSegmentHeader, frameInto, recordBytes, segmentName, type RecordType } from "./format.js";
import { LogStoreError, fdatasync, fsyncDir, ioError, writeAll, type LogFs } from "./fsio.js";
import type { Location } from "./index.js";
import type { SegmentInfo } from "./reader.js";

export interface CommitOptions {
  /** Where the commit window is waited out. */
  timers: Timers;
  segmentMaxBytes: number;
  commitWindowMs: number;
  maxBatchBytes: number;
  maxBatchRecords: number;
  maxQueuedRecords: number;
}

export interface CommitHooks<T> {
  /** The batch is on disk; called in append order, before the next batch is written. */
  durable(batch: ReadonlyArray<{ type: RecordType; item: T; location: Location }>): void;
  /** These records were not kept (nothing of them is on disk). */
  failed(error: LogStoreError, items: T[]): void;
}

interface Queued<T> {
  type: RecordType;
  encoded: Bytes;
  item: T;
}

export class GroupCommit<T> {
  readonly #queue: Array<Queued<T>> = [];
  #committing = false;
  #scheduled = false;
  readonly #idle: Array<() => void> = [];
  #broken: LogStoreError | null = null;

  constructor(
    readonly fs: LogFs,
    readonly dir: string,
    /** Segments in log order, shared with the reader; the last is the active one. */
    readonly segments: SegmentInfo[],
    private activeFd: number,
    /** The highest segment number ever used (quarantined ones included): new segments go past it. */
    private highest: number,
    readonly opts: CommitOptions,
    readonly hooks: CommitHooks<T>,
  ) {}

  /** Why nothing can be queued now (the undo of a failed write failed, or the queue is full), else null. */
  refusal(): LogStoreError | null {
    if (this.#broken !== null) return this.#broken;
    if (this.#queue.length >= this.opts.maxQueuedRecords) return new LogStoreError("EBUSY", `${this.#queue.length} appends already queued`);
    return null;
  }

  get queued(): number {
    return this.#queue.length;
  }

  get broken(): LogStoreError | null {
    return this.#broken;
  }

  push(type: RecordType, encoded: Bytes, item: T): void {
    this.#queue.push({ type, encoded, item });
    this.#schedule();
  }

  /** Resolves once everything queued has been written (or has failed). */
  flush(): Promise<void> {
    if (!this.#committing && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#idle.push(resolve);
      this.#schedule();
    });
  }

  close(): void {
    try {
      this.fs.closeSync(this.activeFd);
    } catch {
      // already gone
    }
  }

  #schedule(): void {
    if (this.#committing || this.#scheduled) return;
    this.#scheduled = true;
    this.opts.timers.after(this.opts.commitWindowMs, () => void this.#commit());
  }

  async #commit(): Promise<void> {
    this.#scheduled = false;
    if (this.#committing) return;
    this.#committing = true;
    try {
      // Bounded: each pass takes at least one record off a queue that is itself bounded.
      while (this.#queue.length > 0) {
        let batch: Array<Queued<T>>;
        try {
          batch = this.#take();
        } catch (e) {
          this.#fail(ioError(e, "starting a new log segment"), []);
          continue;
        }
        await this.#write(batch);
      }
    } finally {
      this.#committing = false;
      for (const f of this.#idle.splice(0)) f();
    }
  }

  #take(): Array<Queued<T>> {
    let active = this.segments[this.segments.length - 1]!;
    const first = recordBytes(this.#queue[0]!.encoded);
    if (active.end > SEGMENT_HEADER_BYTES && active.end + first > this.opts.segmentMaxBytes) active = this.#roll();
    const room = this.opts.segmentMaxBytes - active.end;
    let bytes = 0;
    let n = 0;
    while (n < this.#queue.length && n < this.opts.maxBatchRecords) {
      const b = recordBytes(this.#queue[n]!.encoded);
      if (n > 0 && (bytes + b > this.opts.maxBatchBytes || bytes + b > room)) break;
      bytes += b;
      n++;
    }
    return this.#queue.splice(0, n);
  }

  #roll(): SegmentInfo {
    const next = createSegment(this.fs, this.dir, this.highest + 1);
    const fd = this.fs.openSync(path.join(this.dir, segmentName(next.number)), "r+");
    this.fs.closeSync(this.activeFd);
    this.activeFd = fd;
    this.highest = next.number;
    this.segments.push(next);
    return next;
  }

  async #write(batch: Array<Queued<T>>): Promise<void> {
    const active = this.segments[this.segments.length - 1]!;
    const buf = new Uint8Array(batch.reduce((n, q) => n + recordBytes(q.encoded), 0));
    const placed: Array<{ type: RecordType; item: T; location: Location }> = [];
    let pos = 0;
    for (const q of batch) {
      placed.push({ type: q.type, item: q.item, location: { segment: active.number, offset: active.end + pos } });
      pos = frameInto(buf, pos, q.type, q.encoded);
    }
    try {
      await writeAll(this.fs, this.activeFd, buf, active.end);
      await fdatasync(this.fs, this.activeFd);
    } catch (e) {
      this.#fail(ioError(e, `appending to the log (${segmentName(active.number)})`), batch);
      return;
    }
    active.end += buf.length;
    this.hooks.durable(placed);
  }

  #fail(error: LogStoreError, batch: Array<Queued<T>>): void {
    const active = this.segments[this.segments.length - 1]!;
    try {
      this.fs.ftruncateSync(this.activeFd, active.end);
      this.fs.fsyncSync(this.activeFd);
    } catch (e) {
      this.#broken = ioError(e, `undoing a failed append to ${segmentName(active.number)} (reopen the store to recover)`);
    }
    const failed = [...batch, ...this.#queue.splice(0)];
    this.hooks.failed(
      error,
      failed.map((q) => q.item),
    );
  }
}

/** Creates a segment file with its header, durably (file and directory synced). */
export function createSegment(fsx: LogFs, dir: string, number: number): SegmentInfo {
  const file = path.join(dir, segmentName(number));
  let created = false;
  try {
    const fd = fsx.openSync(file, "wx", 0o600);
    created = true;
    try {
      const h = encodeSegmentHeader(number);
      for (let done = 0; done < h.length; ) done += fsx.writeSync(fd, h, done, h.length - done, done);
      fsx.fsyncSync(fd);
    } finally {
      fsx.closeSync(fd);
    }
    fsyncDir(fsx, dir);
  } catch (e) {
    try {
      if (created) fsx.unlinkSync(file);
    } catch {
      // recovery rewrites a segment cut short inside its header on the next open
    }
    throw ioError(e, `creating ${segmentName(number)}`);
  }
  return { number, end: SEGMENT_HEADER_BYTES };
}
