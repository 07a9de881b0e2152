// Announces waiting to go out again (RNS 1.4.2 Transport.announce_table): rebroadcasts by a transport
// node, and answers to path requests (rebroadcasts blocked, context PATH_RESPONSE, sent on the asking
// interface only). An entry is sent when its retransmit time comes, then retried after PATHFINDER_G +
// PATHFINDER_RW, and is complete after PATHFINDER_R retries or once neighbours are heard passing it on.
// `held` keeps an announce displaced by a path request answer; it returns once the answer has gone out.
import type { Bytes } from "../../core/bytes.js";
import { LOCAL_REBROADCASTS_MAX, PATHFINDER_RETRIES } from "./limits.js";
import { BoundedMap } from "./table.js";

export interface AnnounceEntry {
  destinationHash: Bytes;
  createdMs: number;
  retransmitAtMs: number;
  retries: number;
  /** Transport id (or destination hash) the announce came from. */
  receivedFrom: Bytes;
  /** Hop count the announce is re-emitted with (as received, already incremented). */
  hops: number;
  contextFlag: boolean;
  /** The announce's data (public key, name hash, random hash, [ratchet], signature, app data). */
  data: Bytes;
  localRebroadcasts: number;
  /** A path request answer: sent as PATH_RESPONSE, on `attachedInterfaceId` only. */
  blockRebroadcasts: boolean;
  attachedInterfaceId: number | null;
}

/** True once an entry needs no further sending (checked by the reference's job loop before each retry). */
export function announceComplete(e: AnnounceEntry): boolean {
  return (e.retries > 0 && e.retries >= LOCAL_REBROADCASTS_MAX) || e.retries > PATHFINDER_RETRIES;
}

export class AnnounceTable {
  readonly #entries: BoundedMap<AnnounceEntry>;
  readonly #held: BoundedMap<AnnounceEntry>;

  constructor(maxEntries: number) {
    this.#entries = new BoundedMap(maxEntries);
    this.#held = new BoundedMap(maxEntries);
  }

  get size(): number {
    return this.#entries.size;
  }

  get heldSize(): number {
    return this.#held.size;
  }

  get(key: string): AnnounceEntry | undefined {
    return this.#entries.get(key);
  }

  /** Adds or replaces an entry. Refuses (false) a new destination when the table is full. */
  set(key: string, entry: AnnounceEntry): boolean {
    if (!this.#entries.has(key) && this.#entries.size >= this.#entries.max) return false;
    this.#entries.set(key, entry);
    return true;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Sets aside the current entry for `key` while a path request answer takes its place. */
  holdCurrent(key: string): void {
    const e = this.#entries.get(key);
    if (e !== undefined) this.#held.set(key, e);
  }

  /** Puts back an entry set aside by holdCurrent, if any. */
  restoreHeld(key: string): void {
    const e = this.#held.get(key);
    if (e === undefined) return;
    this.#held.delete(key);
    this.#entries.set(key, e);
  }

  entries(): [string, AnnounceEntry][] {
    return [...this.#entries.entries()];
  }

  /** The earliest retransmit time over all entries (Infinity when empty). */
  nextMs(): number {
    let next = Infinity;
    for (const e of this.#entries.values()) next = Math.min(next, e.retransmitAtMs);
    return next;
  }

  deleteWhere(stale: (e: AnnounceEntry) => boolean): void {
    this.#entries.deleteWhere(stale);
    this.#held.deleteWhere(stale);
  }
}
