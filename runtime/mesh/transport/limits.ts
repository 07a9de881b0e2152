// Transport's timings (RNS 1.4.2 Transport.py and Interfaces/Interface.py, converted to milliseconds) and
// the bounds of every table and queue Transport keeps. The reference leaves most tables unbounded; we don't.

/** Rebroadcast retries of an announce (PATHFINDER_R). */
export const PATHFINDER_RETRIES = 1;
/** Grace before a rebroadcast is retried (PATHFINDER_G). */
export const PATHFINDER_GRACE_MS = 5_000;
/** Random window before the first rebroadcast (PATHFINDER_RW). */
export const PATHFINDER_RANDOM_WINDOW_MS = 500;
/** Path lifetimes by the mode of the interface the announce came in on (PATHFINDER_E, AP_PATH_TIME, ROAMING_PATH_TIME). */
export const PATH_LIFETIME_MS = 7 * 24 * 3600_000;
export const AP_PATH_LIFETIME_MS = 24 * 3600_000;
export const ROAMING_PATH_LIFETIME_MS = 6 * 3600_000;
/** Neighbours heard rebroadcasting an announce before we stop retrying it (LOCAL_REBROADCASTS_MAX). */
export const LOCAL_REBROADCASTS_MAX = 2;
/** How long a discovery path request waits for an answer (PATH_REQUEST_TIMEOUT). */
export const PATH_REQUEST_TIMEOUT_MS = 15_000;
/** How long a sent path request is remembered (PATH_REQUEST_GATE_TIMEOUT). */
export const PATH_REQUEST_GATE_TIMEOUT_MS = 120_000;
/** Wait before answering a path request from the table, so the destination itself answers first. */
export const PATH_REQUEST_GRACE_MS = 400;
/** Extra wait when answering on a roaming interface (PATH_REQUEST_RG). */
export const PATH_REQUEST_ROAMING_GRACE_MS = 1_500;
/** Minimum interval between automatic path requests for one destination (PATH_REQUEST_MI). */
export const PATH_REQUEST_MIN_INTERVAL_MS = 20_000;
/** Proofs may return along the reverse table for this long (REVERSE_TIMEOUT). */
export const REVERSE_TIMEOUT_MS = 8 * 60_000;
/** Idle link table entries are dropped after Link.STALE_TIME * 1.25 = 2 * 360 s * 1.25 (LINK_TIMEOUT). */
export const LINK_TIMEOUT_MS = 900_000;
/** Link establishment timeout per hop (Link.ESTABLISHMENT_TIMEOUT_PER_HOP = DEFAULT_PER_HOP_TIMEOUT). */
export const ESTABLISHMENT_TIMEOUT_PER_HOP_MS = 6_000;
/** Reticulum.MTU, used for the airtime of one full packet in timeouts. */
export const REFERENCE_MTU = 500;
/** Random blobs (announce random hashes) kept per path, and persisted (MAX_RANDOM_BLOBS, PERSIST_RANDOM_BLOBS). */
export const MAX_RANDOM_BLOBS = 64;
export const PERSIST_RANDOM_BLOBS = 32;
/** Announce arrival times kept per destination for rate targets (MAX_RATE_TIMESTAMPS). */
export const MAX_RATE_TIMESTAMPS = 16;
/** Queued announces older than this are dropped (Reticulum.QUEUED_ANNOUNCE_LIFE). */
export const QUEUED_ANNOUNCE_LIFE_MS = 24 * 3600_000;
/** Interval of the table culling pass (tables_cull_interval) and of interface jobs (interface_jobs_interval). */
export const TABLES_CULL_INTERVAL_MS = 5_000;
export const INTERFACE_JOBS_INTERVAL_MS = 5_000;
/** Spacing of path requests queued for rediscovery (discovery_pr_tx_throttle). */
export const DISCOVERY_PR_THROTTLE_MS = 500;
/** Header of a HEADER_1 packet (Reticulum.HEADER_MINSIZE), used for path request airtime. */
export const HEADER_MINSIZE = 19;

// Ingress control (Interface.py): new or bursting interfaces hold announces for unknown destinations.
export const IC_NEW_TIME_MS = 2 * 3600_000;
export const IC_BURST_FREQ_NEW_HZ = 3;
export const IC_BURST_FREQ_HZ = 10;
export const IC_PR_BURST_FREQ_NEW_HZ = 3;
export const IC_PR_BURST_FREQ_HZ = 8;
export const IC_BURST_HOLD_MS = 15_000;
export const IC_BURST_PENALTY_MS = 15_000;
export const IC_HELD_RELEASE_INTERVAL_MS = 5_000;
export const IC_DEQUE_MIN_SAMPLE = 2;
/** Samples kept for the incoming announce / path request frequency (IA_FREQ_SAMPLES). */
export const FREQ_SAMPLES = 48;
/** The oldest sample is let go once it is older than this (AR_FREQ_DECAY = 1 / AR_MINFREQ_HZ). */
export const FREQ_DECAY_MS = 10_000;
/** Per-destination announce rate defaults when an interface sets a target (DEFAULT_AR_GRACE, DEFAULT_AR_PENALTY). */
export const DEFAULT_AR_GRACE = 5;
export const DEFAULT_AR_PENALTY_MS = 0;
/** Default share of an interface's bitrate that announces may use (Reticulum.ANNOUNCE_CAP = 2 %). */
export const DEFAULT_ANNOUNCE_CAP = 0.02;

/** Bounds of Transport's tables and queues. Reference values where it has one, noted otherwise. */
export interface TransportLimits {
  /** Path table entries; the least recently refreshed path is evicted (reference: unbounded). */
  maxPaths: number;
  /** Packet hashes remembered for dedup, over two generations (reference hashlist_maxsize 1,000,000). */
  maxPacketHashes: number;
  /** Reverse table entries for proofs in transport (reference: unbounded). */
  maxReverseEntries: number;
  /** Link table entries for links in transport (reference: unbounded). */
  maxLinkEntries: number;
  /** Announces waiting to be rebroadcast or answered (reference: unbounded). */
  maxAnnounceTable: number;
  /** Announces held per interface by ingress control (MAX_HELD_ANNOUNCES). */
  maxHeldAnnounces: number;
  /** Announces queued per interface by the announce cap (MAX_QUEUED_ANNOUNCES). */
  maxQueuedAnnounces: number;
  /** Path request tags remembered (max_pr_tags). */
  maxPathRequestTags: number;
  /** Path requests waiting for an answer on behalf of others (reference: unbounded). */
  maxDiscoveryPathRequests: number;
  /** Destinations we asked a path for, with the time (reference: unbounded, culled after 120 s). */
  maxPathRequestTimes: number;
  /** Path requests queued for rediscovery (max_queued_discovery_prs). */
  maxQueuedPathRequests: number;
  /** Outstanding proofs we wait for (MAX_RECEIPTS). */
  maxReceipts: number;
  /** Destinations whose public key we remember (reference: unbounded, cleaned weekly). */
  maxKnownDestinations: number;
  /** Destinations tracked for announce rate targets (reference: unbounded). */
  maxRateEntries: number;
  /** Transmits and events waiting to be taken by the host; past this the newest is dropped and counted. */
  maxPendingTransmits: number;
  maxPendingEvents: number;
  /** Interfaces Transport accepts. */
  maxInterfaces: number;
  /** Locally registered destinations and links. */
  maxLocalDestinations: number;
  maxLocalLinks: number;
}

export const DEFAULT_TRANSPORT_LIMITS: Readonly<TransportLimits> = Object.freeze({
  maxPaths: 16_384,
  maxPacketHashes: 200_000,
  maxReverseEntries: 8_192,
  maxLinkEntries: 4_096,
  maxAnnounceTable: 2_048,
  maxHeldAnnounces: 256,
  maxQueuedAnnounces: 16_384,
  maxPathRequestTags: 32_000,
  maxDiscoveryPathRequests: 256,
  maxPathRequestTimes: 4_096,
  maxQueuedPathRequests: 32,
  maxReceipts: 1_024,
  maxKnownDestinations: 16_384,
  maxRateEntries: 4_096,
  maxPendingTransmits: 4_096,
  maxPendingEvents: 4_096,
  maxInterfaces: 256,
  maxLocalDestinations: 1_024,
  maxLocalLinks: 4_096,
});

export function resolveLimits(partial: Partial<TransportLimits> | undefined): TransportLimits {
  const out = { ...DEFAULT_TRANSPORT_LIMITS, ...(partial ?? {}) };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`transport limit ${k} must be a positive integer, got ${String(v)}`);
  }
  return out;
}
