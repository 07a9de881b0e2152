// The path table (RNS 1.4.2 Transport.path_table): for each destination, the next hop (a transport id, or
// the destination itself when it is a neighbour), the hop count, the interface, when the path was learned
// or last used, the announce's own expiry, the random blobs of announces heard for it (replay detection)
// and the announce packet as received, so a transport node can answer path requests from its table.
// A path is culled once unused for the lifetime of its interface's mode (1 week, 1 day on access points,
// 6 hours on roaming interfaces), counted from the last time it was learned or used.
import { equal, readUintBE, type Bytes } from "../../core/bytes.js";
import type { InterfaceMode } from "../types.js";
import { AP_PATH_LIFETIME_MS, MAX_RANDOM_BLOBS, PATH_LIFETIME_MS, ROAMING_PATH_LIFETIME_MS } from "./limits.js";
import { BoundedMap, keyOf } from "./table.js";

export type PathState = "unknown" | "unresponsive" | "responsive";

/** A path as Transport's users see it. */
export interface PathEntry {
  destinationHash: Bytes;
  /** Transport id of the next hop, or the destination hash itself when it is directly reachable. */
  nextHop: Bytes;
  hops: number;
  interfaceId: number;
  /** When the path will be culled unless it is used or announced again. */
  expiresMs: number;
  /** When the announce that set the path was received. */
  announcedAtMs: number;
}

export interface PathRecord {
  destinationHash: Bytes;
  nextHop: Bytes;
  hops: number;
  interfaceId: number;
  /** Learned or last used (reference IDX_PT_TIMESTAMP); the cull lifetime counts from here. */
  timestampMs: number;
  announcedAtMs: number;
  /** Expiry set by the announce (reference IDX_PT_EXPIRES); past it, a worse announce may replace the path. */
  announceExpiresMs: number;
  randomBlobs: Bytes[];
  /** The announce as received (hop count not incremented). */
  announceRaw: Bytes;
  state: PathState;
}

export function pathLifetimeMs(mode: InterfaceMode | undefined): number {
  if (mode === "access_point") return AP_PATH_LIFETIME_MS;
  if (mode === "roaming") return ROAMING_PATH_LIFETIME_MS;
  return PATH_LIFETIME_MS;
}

/** The announce's emission time in seconds, from a random blob (5 random bytes, then 5 bytes of time). */
export function blobTimestampS(blob: Bytes): number {
  return readUintBE(blob, 5, 5);
}

/** The newest emission time among the blobs (timebase_from_random_blobs). */
export function blobsTimebaseS(blobs: readonly Bytes[]): number {
  let t = 0;
  for (const b of blobs) t = Math.max(t, blobTimestampS(b));
  return t;
}

export function hasBlob(blobs: readonly Bytes[], blob: Bytes): boolean {
  return blobs.some((b) => equal(b, blob));
}

/** The blobs with `blob` added (if new), keeping the newest MAX_RANDOM_BLOBS. */
export function withBlob(blobs: readonly Bytes[], blob: Bytes): Bytes[] {
  const out = hasBlob(blobs, blob) ? [...blobs] : [...blobs, blob.slice()];
  return out.length > MAX_RANDOM_BLOBS ? out.slice(out.length - MAX_RANDOM_BLOBS) : out;
}

export class PathTable {
  readonly #map: BoundedMap<PathRecord>;

  constructor(maxPaths: number) {
    this.#map = new BoundedMap(maxPaths);
  }

  get size(): number {
    return this.#map.size;
  }

  get(destinationHash: Bytes): PathRecord | undefined {
    return this.#map.get(keyOf(destinationHash));
  }

  getByKey(key: string): PathRecord | undefined {
    return this.#map.get(key);
  }

  /** Inserts or replaces a path; returns the path evicted to make room, if any. */
  set(record: PathRecord): PathRecord | null {
    const key = keyOf(record.destinationHash);
    const evicted = this.#map.set(key, record);
    this.#map.touch(key);
    return evicted === null ? null : evicted[1];
  }

  /** Marks a path used now (it then lives another full lifetime). */
  use(record: PathRecord, nowMs: number, key = keyOf(record.destinationHash)): void {
    record.timestampMs = nowMs;
    this.#map.touch(key);
  }

  delete(destinationHash: Bytes): boolean {
    return this.#map.delete(keyOf(destinationHash));
  }

  records(): IterableIterator<PathRecord> {
    return this.#map.values();
  }

  /** Removes paths unused past their lifetime, or on interfaces that are gone. Returns the earliest remaining expiry. */
  cull(nowMs: number, modeOf: (interfaceId: number) => InterfaceMode | undefined): number {
    let next = Infinity;
    this.#map.deleteWhere((r) => {
      const mode = modeOf(r.interfaceId);
      if (mode === undefined) return true;
      const expires = r.timestampMs + pathLifetimeMs(mode);
      if (nowMs >= expires) return true;
      next = Math.min(next, expires);
      return false;
    });
    return next;
  }

  deleteWhere(stale: (r: PathRecord) => boolean): number {
    return this.#map.deleteWhere(stale);
  }

  view(r: PathRecord, mode: InterfaceMode | undefined): PathEntry {
    return {
      destinationHash: r.destinationHash,
      nextHop: r.nextHop,
      hops: r.hops,
      interfaceId: r.interfaceId,
      expiresMs: r.timestampMs + pathLifetimeMs(mode),
      announcedAtMs: r.announcedAtMs,
    };
  }
}
