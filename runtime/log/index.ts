// The store's in-memory index, rebuilt from the segments on open. Memory is bounded per author:
//   - head: seq, hash, genesis key, counts, gaps: about 300 bytes;
//   - the most recent RECENT_PER_AUTHOR locations (seq, segment, offset: 16 bytes each, so at most 16 KiB;
//     the ring starts at 16 slots and doubles as the chain grows);
//   - a sparse index: one location every SPARSE_EVERY seqs (16 bytes per 128 entries, 125 KiB per million);
//     an older entry is found by reading forward from the sparse point before it.
// Globally: the last TAIL_LOCATIONS record locations (16 KiB) for `tail`, and at most MAX_FORKS_INDEXED fork
// records (past that they are counted, and still on disk).
import { equal, toHex, type Bytes } from "../core/bytes.js";
import type { LogEntry } from "./entry.js";

/** What the index reads of an entry (a decoded LogEntry, or the fields recovery peeks from a record). */
export type IndexedEntry = Pick<LogEntry, "author" | "seq" | "prev" | "hash" | "authorKey">;

export const RECENT_PER_AUTHOR = 1024;
export const SPARSE_EVERY = 128;
export const TAIL_LOCATIONS = 1024;
export const MAX_FORKS_INDEXED = 4096;
const EMPTY = new Uint8Array(0);
/** Estimated bytes of one author's state besides its location arrays (object, hex key, hashes, key). */
export const AUTHOR_OVERHEAD_BYTES = 400;
/** Estimated bytes of one indexed fork record (object, two hex strings, set entry). */
export const FORK_OVERHEAD_BYTES = 300;

export interface Location {
  segment: number;
  offset: number;
}

/** Locations of the latest seqs of one author, in a ring keyed by seq. */
class RecentRing {
  #seqs = new Float64Array(16);
  #segs = new Uint32Array(16);
  #offs = new Uint32Array(16);

  constructor(readonly max: number) {}

  put(seq: number, loc: Location): void {
    if (seq >= this.#seqs.length && this.#seqs.length < this.max) this.#grow(Math.min(this.max, this.#seqs.length * 2));
    const i = seq % this.#seqs.length;
    this.#seqs[i] = seq;
    this.#segs[i] = loc.segment;
    this.#offs[i] = loc.offset;
  }

  get(seq: number): Location | null {
    const i = seq % this.#seqs.length;
    return this.#seqs[i] === seq ? { segment: this.#segs[i]!, offset: this.#offs[i]! } : null;
  }

  get capacity(): number {
    return this.#seqs.length;
  }

  get bytes(): number {
    return this.#seqs.byteLength + this.#segs.byteLength + this.#offs.byteLength;
  }

  #grow(cap: number): void {
    const [seqs, segs, offs] = [this.#seqs, this.#segs, this.#offs];
    this.#seqs = new Float64Array(cap);
    this.#segs = new Uint32Array(cap);
    this.#offs = new Uint32Array(cap);
    for (let i = 0; i < seqs.length; i++) if (seqs[i]! > 0) this.put(seqs[i]!, { segment: segs[i]!, offset: offs[i]! });
  }
}

/** One location every `every` seqs (or the next held seq after a gap), for finding older entries. */
class SparseIndex {
  #seqs = new Float64Array(4);
  #segs = new Uint32Array(4);
  #offs = new Uint32Array(4);
  #n = 0;

  constructor(readonly every: number) {}

  add(seq: number, loc: Location): void {
    if (this.#n > 0 && seq < this.#seqs[this.#n - 1]! + this.every) return;
    if (this.#n === this.#seqs.length) {
      const grow = <T extends Float64Array | Uint32Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      this.#seqs = grow(this.#seqs, (n) => new Float64Array(n));
      this.#segs = grow(this.#segs, (n) => new Uint32Array(n));
      this.#offs = grow(this.#offs, (n) => new Uint32Array(n));
    }
    this.#seqs[this.#n] = seq;
    this.#segs[this.#n] = loc.segment;
    this.#offs[this.#n] = loc.offset;
    this.#n++;
  }

  get bytes(): number {
    return this.#seqs.byteLength + this.#segs.byteLength + this.#offs.byteLength;
  }

  /** The indexed location with the largest seq not above `seq`. */
  floor(seq: number): (Location & { seq: number }) | null {
    let lo = 0;
    let hi = this.#n - 1;
    let best = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.#seqs[mid]! <= seq) {
        best = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return best < 0 ? null : { seq: this.#seqs[best]!, segment: this.#segs[best]!, offset: this.#offs[best]! };
  }
}

export class AuthorState {
  readonly hex: string;
  /** Public key from the genesis entry; null when the genesis entry was lost to corruption. */
  key: Bytes | null = null;
  /** Durable head (what readers see). */
  headSeq = 0;
  headHash: Bytes = EMPTY;
  /** Entries held (durable). */
  count = 0;
  /** Seq ranges below the head that are not held (lost to a quarantined segment). */
  readonly gaps: Array<{ from: number; to: number }> = [];
  forks = 0;
  readonly recent: RecentRing;
  readonly sparse: SparseIndex;
  /** Where the last forward scan for this author found an entry: sequential lookups resume there. */
  cursor: (Location & { seq: number }) | null = null;
  /** Head including appends queued or being written: new entries chain on it. */
  tipSeq = 0;
  tipHash: Bytes = EMPTY;
  /** Encoded entries queued or being written, by seq (not yet durable). */
  readonly pending = new Map<number, Bytes>();

  constructor(readonly author: Bytes) {
    this.hex = toHex(author);
    this.recent = new RecentRing(RECENT_PER_AUTHOR);
    this.sparse = new SparseIndex(SPARSE_EVERY);
  }

  /** Indexes a durable entry; entries arrive in seq order, possibly with gaps. */
  record(e: IndexedEntry, loc: Location): void {
    if (e.seq > this.headSeq + 1) this.gaps.push({ from: this.headSeq + 1, to: e.seq - 1 });
    if (e.seq === 1) this.key = e.authorKey.slice();
    this.headSeq = e.seq;
    this.headHash = e.hash.slice();
    this.count++;
    this.recent.put(e.seq, loc);
    this.sparse.add(e.seq, loc);
    if (this.pending.size === 0) {
      this.tipSeq = this.headSeq;
      this.tipHash = this.headHash;
    }
  }

  /** Drops everything not yet durable (a failed write). */
  resetTip(): void {
    this.pending.clear();
    this.tipSeq = this.headSeq;
    this.tipHash = this.headHash;
  }

  inGap(seq: number): boolean {
    return this.gaps.some((g) => seq >= g.from && seq <= g.to);
  }

  get missing(): number {
    return this.gaps.reduce((n, g) => n + g.to - g.from + 1, 0);
  }
}

export interface ForkRecord {
  author: string;
  seq: number;
  hash: string;
  location: Location;
}

export class LogIndex {
  readonly authors = new Map<string, AuthorState>();
  readonly forks: ForkRecord[] = [];
  forkCount = 0;
  readonly #forkHashes = new Set<string>();
  readonly #tailSegs = new Uint32Array(TAIL_LOCATIONS);
  readonly #tailOffs = new Uint32Array(TAIL_LOCATIONS);
  #tailN = 0;
  entries = 0;

  author(author: Bytes): AuthorState | undefined {
    return this.authors.get(toHex(author));
  }

  /**
   * Indexes a durable entry record. Returns false when it does not extend its author's chain (only possible on
   * open, for records written by a faulty build or damaged beyond what the checksum sees): it is then kept as
   * fork evidence.
   */
  addEntry(e: IndexedEntry, loc: Location): boolean {
    let st = this.authors.get(toHex(e.author));
    if (st === undefined) {
      st = new AuthorState(e.author.slice());
      this.authors.set(st.hex, st);
    }
    if (e.seq <= st.headSeq || (e.seq === st.headSeq + 1 && st.headSeq > 0 && !equal(e.prev, st.headHash))) {
      this.addFork(e, loc);
      return false;
    }
    st.record(e, loc);
    this.entries++;
    const i = this.#tailN % TAIL_LOCATIONS;
    this.#tailSegs[i] = loc.segment;
    this.#tailOffs[i] = loc.offset;
    this.#tailN++;
    return true;
  }

  addFork(e: IndexedEntry, loc: Location): void {
    const hash = toHex(e.hash);
    this.forkCount++;
    const st = this.authors.get(toHex(e.author));
    if (st !== undefined) st.forks++;
    if (this.forks.length < MAX_FORKS_INDEXED && !this.#forkHashes.has(hash)) {
      this.forks.push({ author: toHex(e.author), seq: e.seq, hash, location: loc });
      this.#forkHashes.add(hash);
    }
  }

  /**
   * What the index holds, in bytes: its typed arrays exactly, plus AUTHOR_OVERHEAD_BYTES per author and
   * FORK_OVERHEAD_BYTES per indexed fork as estimates of the objects and strings around them. Entries queued
   * for writing (pending) are the commit queue's, not the index's.
   */
  memoryBytes(): number {
    let n = this.#tailSegs.byteLength + this.#tailOffs.byteLength + this.forks.length * FORK_OVERHEAD_BYTES;
    for (const a of this.authors.values()) n += AUTHOR_OVERHEAD_BYTES + a.recent.bytes + a.sparse.bytes + a.gaps.length * 32;
    return n;
  }

  hasFork(hash: Bytes): boolean {
    return this.#forkHashes.has(toHex(hash));
  }

  /** Locations of the last `n` entries (n at most TAIL_LOCATIONS), oldest first. */
  tail(n: number): Location[] {
    const k = Math.min(n, this.#tailN, TAIL_LOCATIONS);
    const out: Location[] = [];
    for (let j = this.#tailN - k; j < this.#tailN; j++) {
      const i = j % TAIL_LOCATIONS;
      out.push({ segment: this.#tailSegs[i]!, offset: this.#tailOffs[i]! });
    }
    return out;
  }
}
