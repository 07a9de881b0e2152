// Action-log entries: signed, hash-chained records of what an operator did or saw.
//
// Wire form (plain MessagePack, so any MessagePack reader can inspect it):
//   [version, author, seq, prev, timeMs, kind, body, authorKey, signature]
//   version   1
//   author    16-byte identity hash of the author
//   seq       1, 2, 3... per author
//   prev      32-byte hash of the author's entry seq-1 (empty for seq 1)
//   timeMs    the author's clock, milliseconds since the epoch
//   kind      short text ("supply.handout", "road.closed", "quorum.certificate"...)
//   body      MessagePack bytes of the entry's content
//   authorKey the author's 64-byte public key in seq 1 (so a chain verifies from itself), empty after
//   signature Ed25519 over the MessagePack of the first eight fields
// The entry hash is SHA-256 of the whole encoded entry. Two validly signed entries with one author and one
// seq but different hashes are a fork: both are kept as evidence.
import { equal, toHex, utf8, type Bytes } from "../core/bytes.js";
import { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH, TRUNCATED_HASH_LENGTH } from "../core/limits.js";
import { err, ok, type Result } from "../core/result.js";
import { sha256 } from "../crypto/hashes.js";
import { Identity } from "../crypto/identity.js";
import { packMsgpack, unpackMsgpack } from "../wire/msgpack.js";

export const LOG_FORMAT_VERSION = 1;
export const LOG_LIMITS = {
  /** Largest body; bigger records belong in a file referenced by hash. */
  maxBodyBytes: 16 * 1024,
  maxKindBytes: 64,
  /** Largest encoded entry: body plus fields and signature. */
  maxEntryBytes: 16 * 1024 + 512,
} as const;

export interface LogEntry {
  version: number;
  author: Bytes;
  seq: number;
  prev: Bytes;
  timeMs: number;
  kind: string;
  body: Bytes;
  authorKey: Bytes;
  signature: Bytes;
  /** SHA-256 of `encoded`. */
  hash: Bytes;
  encoded: Bytes;
}

function signedPart(e: Omit<LogEntry, "signature" | "hash" | "encoded">): Bytes {
  return packMsgpack([e.version, e.author, e.seq, e.prev, e.timeMs, e.kind, e.body, e.authorKey]);
}

/** Creates the next entry of `author`'s chain. `prev` is null for the first entry. Local misuse throws. */
export function createEntry(author: Identity, prev: LogEntry | null, timeMs: number, kind: string, body: Bytes): LogEntry {
  if (!author.hasPrivateKey) throw new TypeError("the author's identity must hold its private key");
  if (utf8(kind).length === 0 || utf8(kind).length > LOG_LIMITS.maxKindBytes) throw new RangeError(`kind must be 1..${LOG_LIMITS.maxKindBytes} bytes`);
  if (body.length > LOG_LIMITS.maxBodyBytes) throw new RangeError(`body of ${body.length} bytes exceeds ${LOG_LIMITS.maxBodyBytes}`);
  if (!Number.isSafeInteger(timeMs) || timeMs < 0) throw new RangeError("timeMs must be a non-negative integer");
  if (prev !== null && !equal(prev.author, author.hash)) throw new TypeError("prev belongs to another author");
  const fields = {
    version: LOG_FORMAT_VERSION,
    author: author.hash.slice(),
    seq: prev === null ? 1 : prev.seq + 1,
    prev: prev === null ? new Uint8Array(0) : prev.hash.slice(),
    timeMs,
    kind,
    body: body.slice(),
    authorKey: prev === null ? author.publicKey.slice() : new Uint8Array(0),
  };
  const signature = author.sign(signedPart(fields));
  const encoded = packMsgpack([fields.version, fields.author, fields.seq, fields.prev, fields.timeMs, fields.kind, fields.body, fields.authorKey, signature]);
  return { ...fields, signature, encoded, hash: sha256(encoded) };
}

/** Decodes an entry from bytes (disk or network). Checks shape and sizes, not the signature. Never throws. */
export function decodeEntry(encoded: Bytes): Result<LogEntry> {
  if (encoded.length > LOG_LIMITS.maxEntryBytes) return err("too-long", `entry of ${encoded.length} bytes`);
  const u = unpackMsgpack(encoded);
  if (!u.ok) return u;
  const a = u.value;
  if (!Array.isArray(a) || a.length !== 9) return err("bad-encoding", "an entry is a 9-element array");
  const [version, author, seq, prev, timeMs, kind, body, authorKey, signature] = a as unknown[];
  if (version !== LOG_FORMAT_VERSION) return err("bad-encoding", `unknown entry version ${String(version)}`);
  if (!(author instanceof Uint8Array) || author.length !== TRUNCATED_HASH_LENGTH) return err("bad-encoding", "author");
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) return err("bad-encoding", "seq");
  if (!(prev instanceof Uint8Array) || prev.length !== (seq === 1 ? 0 : 32)) return err("bad-encoding", "prev");
  if (typeof timeMs !== "number" || !Number.isSafeInteger(timeMs) || timeMs < 0) return err("bad-encoding", "time");
  if (typeof kind !== "string" || kind.length === 0 || utf8(kind).length > LOG_LIMITS.maxKindBytes) return err("bad-encoding", "kind");
  if (!(body instanceof Uint8Array) || body.length > LOG_LIMITS.maxBodyBytes) return err("bad-encoding", "body");
  if (!(authorKey instanceof Uint8Array) || authorKey.length !== (seq === 1 ? PUBLIC_KEY_LENGTH : 0)) return err("bad-encoding", "author key");
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) return err("bad-encoding", "signature");
  const e = { version, author, seq, prev, timeMs, kind, body, authorKey, signature, encoded: encoded.slice(), hash: sha256(encoded) };
  // Canonical form only: re-encoding must give the same bytes, so one entry has one hash.
  if (!equal(packMsgpack([version, author, seq, prev, timeMs, kind, body, authorKey, signature]), encoded)) return err("bad-encoding", "not canonical");
  return ok(e);
}

/**
 * Checks an entry's signature with the author's public key (from its genesis entry or known otherwise)
 * and that the key belongs to the author hash.
 */
export function verifyEntry(e: LogEntry, authorPublicKey: Bytes): Result<LogEntry> {
  if (authorPublicKey.length !== PUBLIC_KEY_LENGTH) return err("bad-key", "author key size");
  const id = Identity.fromPublicKey(authorPublicKey);
  if (!equal(id.hash, e.author)) return err("bad-key", "key does not belong to the author");
  if (!id.verify(e.signature, signedPart(e))) return err("bad-signature", `entry ${toHex(e.author)}#${e.seq}`);
  return ok(e);
}

/** True when `next` follows `prev` in one author's chain. */
export function follows(prev: LogEntry, next: LogEntry): boolean {
  return equal(prev.author, next.author) && next.seq === prev.seq + 1 && equal(next.prev, prev.hash);
}

/** A fork: two different validly signed entries for one author and seq. */
export function isFork(a: LogEntry, b: LogEntry): boolean {
  return equal(a.author, b.author) && a.seq === b.seq && !equal(a.hash, b.hash);
}

/** Verifies a whole chain offline, from its genesis entry. Returns the index of the first bad entry or -1. */
export function verifyChain(entries: readonly LogEntry[]): { ok: true } | { ok: false; index: number; reason: string } {
  if (entries.length === 0) return { ok: true };
  const genesis = entries[0]!;
  if (genesis.seq !== 1) return { ok: false, index: 0, reason: "chain does not start at seq 1" };
  const key = genesis.authorKey;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    const v = verifyEntry(e, key);
    if (!v.ok) return { ok: false, index: i, reason: v.detail ?? v.reason };
    if (i > 0 && !follows(entries[i - 1]!, e)) return { ok: false, index: i, reason: "broken chain (prev hash or seq)" };
  }
  return { ok: true };
}

