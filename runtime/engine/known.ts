// Known destinations: who announced what. Maps a destination hash to the announcing identity's public key,
// its latest app data and ratchet, so the node can encrypt to it, open links to it and show it. Bounded
// (least recently seen are dropped first) and exportable for persistence across restarts.
import { equal, parseHex, toHex, type Bytes } from "../core/bytes.js";
import { PUBLIC_KEY_LENGTH, RATCHET_LENGTH, TRUNCATED_HASH_LENGTH } from "../core/limits.js";
import { err, ok, type Result } from "../core/result.js";
import { Identity } from "../crypto/identity.js";
import type { ValidAnnounce } from "../wire/announce.js";

export interface KnownDestination {
  destinationHash: Bytes;
  identity: Identity;
  nameHash: Bytes;
  appData: Bytes | null;
  ratchet: Bytes | null;
  lastSeenMs: number;
  /** Sender's clock at its latest announce, seconds (from the random hash). */
  announcedAtS: number;
}

export const KNOWN_DESTINATIONS_MAX = 20_000;

export class KnownDestinations {
  readonly #map = new Map<string, KnownDestination>();

  constructor(readonly max = KNOWN_DESTINATIONS_MAX) {}

  get size(): number {
    return this.#map.size;
  }

  /** Records a validated announce. Returns false when it conflicts with a known key for that hash. */
  remember(a: ValidAnnounce, nowMs: number): boolean {
    const key = toHex(a.destinationHash);
    const prev = this.#map.get(key);
    if (prev !== undefined && !equal(prev.identity.publicKey, a.publicKey)) return false;
    this.#map.delete(key);
    this.#map.set(key, {
      destinationHash: a.destinationHash.slice(),
      identity: prev?.identity ?? a.identity,
      nameHash: a.nameHash.slice(),
      appData: a.appData === null ? null : a.appData.slice(),
      ratchet: a.ratchet === null ? prev?.ratchet ?? null : a.ratchet.slice(),
      lastSeenMs: nowMs,
      announcedAtS: a.emittedAtS,
    });
    while (this.#map.size > this.max) this.#map.delete(this.#map.keys().next().value as string);
    return true;
  }

  recall(destinationHash: Bytes): KnownDestination | null {
    return this.#map.get(toHex(destinationHash)) ?? null;
  }

  /** Finds a destination by the identity that announced it (for identify-by-hash lookups). */
  recallByIdentity(identityHash: Bytes): KnownDestination | null {
    for (const d of this.#map.values()) if (equal(d.identity.hash, identityHash)) return d;
    return null;
  }

  all(): KnownDestination[] {
    return [...this.#map.values()];
  }

  export(): unknown {
    return this.all().map((d) => ({
      d: toHex(d.destinationHash),
      k: toHex(d.identity.publicKey),
      n: toHex(d.nameHash),
      a: d.appData === null ? null : toHex(d.appData),
      r: d.ratchet === null ? null : toHex(d.ratchet),
      s: d.lastSeenMs,
      t: d.announcedAtS,
    }));
  }

  /** Loads an export; entries that do not check out are skipped and counted, never thrown. */
  import(data: unknown): Result<{ loaded: number; skipped: number }> {
    if (!Array.isArray(data)) return err("bad-frame", "known destinations: not a list");
    let loaded = 0;
    let skipped = 0;
    for (const e of data.slice(0, this.max)) {
      const r = parseEntry(e);
      if (r === null) {
        skipped++;
        continue;
      }
      this.#map.set(toHex(r.destinationHash), r);
      loaded++;
    }
    return ok({ loaded, skipped });
  }
}

function parseEntry(e: unknown): KnownDestination | null {
  if (e === null || typeof e !== "object") return null;
  const o = e as Record<string, unknown>;
  const hexField = (v: unknown, len: number): Bytes | null => {
    if (typeof v !== "string") return null;
    const b = parseHex(v);
    return b !== null && b.length === len ? b : null;
  };
  const d = hexField(o["d"], TRUNCATED_HASH_LENGTH);
  const k = hexField(o["k"], PUBLIC_KEY_LENGTH);
  const n = hexField(o["n"], 10);
  if (d === null || k === null || n === null) return null;
  const a = o["a"] === null ? null : typeof o["a"] === "string" ? parseHex(o["a"]) : null;
  const r = o["r"] === null ? null : hexField(o["r"], RATCHET_LENGTH);
  if (typeof o["s"] !== "number" || typeof o["t"] !== "number") return null;
  return {
    destinationHash: d,
    identity: Identity.fromPublicKey(k),
    nameHash: n,
    appData: a,
    ratchet: r,
    lastSeenMs: o["s"],
    announcedAtS: o["t"],
  };
}

