// The log hint in announce app data: which peers carry an action log and whether it differs from ours, so a
// node opens a sync session when an announce says so, never by polling.
//
//   app data  ["kos-log", 1, digest(bin 8), entryCount]      (about 25 bytes of MessagePack)
//
// digest is the summary digest (summary.ts), entryCount the entries on the main chains. Equal digests: the
// logs are equal. decodeLogHint never throws; anything else in the app data is "no hint".
import type { Bytes } from "../../core/bytes.js";
import { packMsgpack, unpackMsgpack } from "../../wire/msgpack.js";
import { DIGEST_LENGTH } from "./limits.js";

export const LOG_HINT_TAG = "kos-log";
export const LOG_HINT_VERSION = 1;

export interface LogHint {
  digest: Bytes;
  entryCount: number;
}

export function encodeLogHint(h: LogHint): Bytes {
  if (h.digest.length !== DIGEST_LENGTH) throw new RangeError(`a log digest is ${DIGEST_LENGTH} bytes`);
  if (!Number.isSafeInteger(h.entryCount) || h.entryCount < 0) throw new RangeError("entryCount must be a non-negative integer");
  return packMsgpack([LOG_HINT_TAG, LOG_HINT_VERSION, h.digest, h.entryCount]);
}

/** The hint in an announce's app data, or null when there is none (or it is not one we read). */
export function decodeLogHint(appData: Bytes | null | undefined): LogHint | null {
  if (appData === null || appData === undefined || appData.length === 0 || appData.length > 64) return null;
  const u = unpackMsgpack(appData);
  if (!u.ok || !Array.isArray(u.value) || u.value.length !== 4) return null;
  const [tag, version, digest, entryCount] = u.value as unknown[];
  if (tag !== LOG_HINT_TAG || version !== LOG_HINT_VERSION) return null;
  if (!(digest instanceof Uint8Array) || digest.length !== DIGEST_LENGTH) return null;
  if (typeof entryCount !== "number" || !Number.isSafeInteger(entryCount) || entryCount < 0) return null;
  return { digest: digest.slice(), entryCount };
}

export type SyncDecisionReason =
  | "no-hint"
  | "in-sync"
  | "too-soon"
  /** The peer holds more entries: we open (sync is both ways, but the one who lacks most asks). */
  | "peer-ahead"
  /** Same count, different logs: the lower identity hash opens, so two nodes do not open two sessions. */
  | "tie-break-ours"
  | "tie-break-theirs"
  /** The peer holds fewer: it opens when it hears our announce; we open only if it has not for a while. */
  | "peer-behind"
  | "peer-behind-overdue";

export interface SyncDecisionInput {
  hint: LogHint | null;
  ours: LogHint;
  ourIdentityHash: Bytes;
  peerIdentityHash: Bytes;
  nowMs: number;
  /** When we last synced with this peer (or first heard it); null: never. */
  lastContactMs: number | null;
  /** No new session with one peer sooner than this after the last (default 60 s). */
  minIntervalMs?: number;
  /** How long to leave a peer that is behind to open the session itself (default 10 min). */
  behindGraceMs?: number;
}

/** Whether to open a sync session with a peer, from its announce's hint and our own. Pure. */
export function decideSync(i: SyncDecisionInput): { open: boolean; reason: SyncDecisionReason } {
  const h = i.hint;
  if (h === null) return { open: false, reason: "no-hint" };
  if (bytesCompare(h.digest, i.ours.digest) === 0) return { open: false, reason: "in-sync" };
  const sinceMs = i.lastContactMs === null ? Infinity : i.nowMs - i.lastContactMs;
  if (sinceMs < (i.minIntervalMs ?? 60_000)) return { open: false, reason: "too-soon" };
  if (h.entryCount > i.ours.entryCount) return { open: true, reason: "peer-ahead" };
  if (h.entryCount === i.ours.entryCount) {
    return bytesCompare(i.ourIdentityHash, i.peerIdentityHash) < 0 ? { open: true, reason: "tie-break-ours" } : { open: false, reason: "tie-break-theirs" };
  }
  if (i.lastContactMs !== null && sinceMs >= (i.behindGraceMs ?? 600_000)) return { open: true, reason: "peer-behind-overdue" };
  return { open: false, reason: "peer-behind" };
}

function bytesCompare(a: Bytes, b: Bytes): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
