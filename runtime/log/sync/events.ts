// What a sync session reports: events for the host and the app, and counters for status pages and metrics.
import type { Bytes } from "../../core/bytes.js";
import type { LogEntry } from "../entry.js";
import type { RejectReason } from "./inbox.js";

/** The peer relative to us: it lacks entries we hold ("behind"), holds entries we lack ("ahead"), both, or neither. */
export type PeerState = "in-sync" | "behind" | "ahead" | "both";

export type SyncEvent =
  /** An entry joined the view. */
  | { kind: "accepted"; entry: LogEntry }
  /** A verified entry held until its predecessors arrive (urgent kinds travel ahead of their chain). */
  | { kind: "ahead"; entry: LogEntry }
  /** A validly signed entry conflicting with the chain held: kept by the view as evidence. */
  | { kind: "fork"; entry: LogEntry }
  | { kind: "rejected"; reason: RejectReason; author: Bytes; seq: number }
  /** The peer's summary (or an equal digest) is known: what each side lacks, in entries; authors with forks. */
  | { kind: "peer"; state: PeerState; weLack: number; theyLack: number; forks: number }
  /** Everything the peer advertised is here (or kept as evidence). */
  | { kind: "caught-up" }
  /** The peer stopped answering within the patience limit; the host may close the link. */
  | { kind: "stalled"; waitingFor: "hello" | "summary" | "entries"; missing: number };

export interface SyncStats {
  messagesSent: number;
  messagesReceived: number;
  /** Sync message bytes (link plaintext). */
  bytesSent: number;
  bytesReceived: number;
  /** Link packet bytes of what we sent (header and Token included). */
  airBytesSent: number;
  /** Channel time of what we sent (LoRa airtime, or bits over the bitrate). */
  airtimeMs: number;
  /** Entries put in messages, every send counted (a repair after a lost packet again). */
  entriesSent: number;
  /** Of entriesSent, sends of an entry already sent in this session (repairs of lost packets, NACKs answered). */
  entriesResent: number;
  /** Entries that joined the view. */
  entriesReceived: number;
  duplicates: number;
  forks: number;
  heldAhead: number;
  /** Entries refused, by reason (forged, wrong key, not rebuildable, refused by the view). */
  rejected: Record<string, number>;
  /** Messages, parts and held entries dropped, by reason (malformed, oversized, buffers full). */
  dropped: Record<string, number>;
  retries: number;
}

export function newStats(): SyncStats {
  return {
    messagesSent: 0, messagesReceived: 0, bytesSent: 0, bytesReceived: 0, airBytesSent: 0, airtimeMs: 0, entriesSent: 0, entriesResent: 0,
    entriesReceived: 0, duplicates: 0, forks: 0, heldAhead: 0, rejected: {}, dropped: {}, retries: 0,
  };
}
