// Every bound the log-sync machine keeps: queues, buffers, retries and timers. One module, so a reviewer sees
// at a glance how much memory and airtime one session can take.
import { LOG_LIMITS } from "../entry.js";

export const SYNC_LIMITS = {
  /** Authors in one summary; a view with more advertises only the first this many (by author hash). */
  maxSummaryAuthors: 4096,
  /** Records a received summary chunk may carry (a chunk never holds more than an 8 KiB link packet does). */
  maxRecordsPerChunk: 512,
  /** Chunks one summary may be split into. */
  maxSummaryChunks: 1024,
  /** (author, from, count) ranges in one WANT message, and asked for in one round. */
  maxWantsPerMessage: 256,
  maxWantRangesPerRound: 64,
  /** Entries one WANT range may ask for; longer ranges are clipped and asked again later. */
  maxWantCount: 1_000_000,
  /** Sender: wanted ranges kept (merged per author), and entries loaded ahead of sending them. */
  maxWantedRanges: 4096,
  maxWindowEntries: 1024,
  maxWindowBytes: 1024 * 1024,
  /** Receiver: entries held until their predecessors arrive (out of order, urgent first, or lost packets). */
  maxPendingEntries: 1024,
  maxPendingBytes: 1024 * 1024,
  /** Entries of one run and runs of one ENTRIES message accepted on input. */
  maxRecordsPerMessage: 4096,
  maxKindsPerMessage: 256,
  /** Largest STREAM frame (one ENTRIES message across packets): one entry's run, with room for its own fields. */
  maxReassemblyBytes: LOG_LIMITS.maxEntryBytes + 1024,
  /** Wants waiting for the link; past this the oldest are dropped (still wanted, the next retry asks again). */
  maxQueuedWants: 1024,
  /** Events not yet taken; the oldest is dropped (and counted) past this. */
  maxQueuedEvents: 4096,
  /** Entries sent this session remembered for prev elision; past this the set is cleared (elision degrades). */
  maxSentRemembered: 100_000,
  /** Keys cached per author (from genesis entries). */
  maxCachedKeys: 8192,
  /** Messages released by one pump, whatever the pacing says (a bound on work per call). */
  maxMessagesPerPump: 256,
  /** Link time queued ahead on links without an airtime model (IP); LoRa-like links get one packet at a time. */
  maxBurstMs: 50,
  /** Round-trip estimate until one is measured (or given by the host from link.rttMs). */
  defaultRttMs: 1_000,
  /** First retry after this long without progress; it doubles per retry up to maxRetryIntervalMs. */
  minRetryMs: 2_000,
  maxRetryIntervalMs: 600_000,
  /** A retry waits at least this many packet times of the link (slow links take long to answer). */
  retryPacketTimes: 6,
  /** Wants, hello and summary requests give up after this long without progress (no duty-cycle budget). */
  stallAfterMs: 120_000,
  /** With a duty-cycle budget the peer may be silent until its window frees: patience is this many windows. */
  stallAfterWindows: 1.5,
} as const;

/** Message types (first element of every sync message). */
export const MessageType = {
  HELLO: 0,
  SUMMARY: 1,
  WANT: 2,
  ENTRIES: 3,
  // 4 was PART (version 1).
  SUMMARY_REQ: 5,
} as const;

/**
 * Version of the sync protocol carried by HELLO; a HELLO of another version is dropped and counted
 * ("version"). 2: STREAM packets replace version 1's PART messages.
 */
export const SYNC_VERSION = 2;
/** Bytes of a head hash a summary carries, and of a digest. */
export const HEAD_PREFIX_LENGTH = 8;
export const DIGEST_LENGTH = 8;
/** Bytes of one bucket digest in HELLO, and the most buckets (a power of two; 64 x 4 bytes fit a LoRa packet). */
export const BUCKET_DIGEST_LENGTH = 4;
export const MAX_BUCKETS = 64;
/** One summary record: author (16) + seq (uint32 BE) + head hash prefix (8). */
export const SUMMARY_RECORD_LENGTH = 16 + 4 + HEAD_PREFIX_LENGTH;
/** One WANT record: author (16) + from seq (uint32 BE) + count (uint32 BE). */
export const WANT_RECORD_LENGTH = 16 + 4 + 4;
/** Seqs travel as uint32 in summaries and wants. */
export const MAX_SEQ = 0xffff_ffff;
