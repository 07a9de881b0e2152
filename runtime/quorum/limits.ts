// Every bound and constant of local quorum in one place: sizes on air, table sizes, timers. A reviewer sees
// here how much memory and airtime one node can spend on agreement.

export const QUORUM_LIMITS = {
  /** Members of one membership (a HAVE bitmap of 8 bytes covers them). */
  maxMembers: 64,
  /** A proposal's kind ("alarm.confirm", "quorum.membership"...). */
  maxKindBytes: 32,
  /** A proposal's payload: a proposal must fit one LoRa packet with room to spare (see maxProposalBytes). */
  maxPayloadBytes: 200,
  /** Largest encoded proposal: 108 bytes of fixed fields + kind + payload, well under the 383-byte MDU. */
  maxProposalBytes: 360,
  /** Deadline minus creation time; vote times travel as 48-bit milliseconds, lifetimes are short anyway. */
  maxLifetimeMs: 7 * 24 * 3_600_000,
  /** Largest encoded membership body (64 keys of 66 bytes plus a certificate of up to 64 votes). */
  maxMembershipBytes: 64 * 66 + 64 * 72 + 1024,
  /** Largest encoded certificate or equivocation evidence. */
  maxCertificateBytes: 64 * 72 + 512,
  /** Largest message accepted on input (bigger ones are counted "oversized"); MTU 500 less nothing. */
  maxInputBytes: 500,
  /** Default size of one message we send: the smallest Reticulum MDU (an encrypted SINGLE packet at MTU 500). */
  defaultMdu: 383,
  /** Proposals tracked at once, and at once per proposer (a hostile member cannot fill the table alone). */
  maxProposals: 64,
  maxOpenPerProposer: 4,
  /** Votes held whose proposal is not known yet (they are replayed when it arrives). */
  maxOrphanVotes: 128,
  orphanHoldMs: 60_000,
  /** Content hashes of PROPOSAL / VOTE / CERT messages already handled. */
  maxDedup: 2048,
  /** Own votes remembered by the vote guard; full means refusing to sign, never forgetting. */
  maxGuardEntries: 4096,
  maxQueuedEvents: 4096,
  maxQueuedActions: 4096,
  /** Clock difference allowed between members: a vote may arrive this long after the local deadline. */
  defaultSkewMs: 2_000,
  /** After its deadline a proposal stays known this long, to hand out its certificate, then is forgotten. */
  certGraceMs: 10 * 60_000,
  /** HAVE beacons (Trickle): first interval, doubling up to the max; suppressed after this many consistent HAVEs. */
  haveMinIntervalMs: 2_000,
  haveMaxIntervalMs: 60_000,
  haveRedundancy: 1,
  /** Answers (votes, wants) wait a random time up to this, so that one neighbour answers and the others hear it. */
  responseJitterMs: 1_000,
  /**
   * On an interface with a known bitrate the answer window grows to the airtime of one typical answer (a few
   * votes and the packet header) per member, times the spread factor, up to the cap: on SF7 LoRa (5.5 kbit/s)
   * about 260 ms per member. Measured in hil/sim (test/bench/quorum.bench.ts): without it, repair under loss
   * on LoRa answered from every neighbour at once and filled the channel.
   */
  typicalAnswerBytes: 180,
  responseSpreadFactor: 1,
  maxResponseWindowMs: 30_000,
  /** Likewise Trickle's first interval grows to one HAVE (with its header and carrier sense) per member, times this. */
  typicalHaveBytes: 60,
  haveSpreadFactor: 2,
} as const;

/** Gossip message types: the first byte of every message. */
export const MessageType = {
  PROPOSAL: 1,
  VOTE: 2,
  HAVE: 3,
  WANT: 4,
  CERT: 5,
} as const;

export const ID_LENGTH = 16;
/** A vote inside a message or certificate: voter u8 | choice u8 | time u48 BE | signature (64). */
export const VOTE_RECORD_LENGTH = 72;
/** A vote standing alone (journal, evidence): proposal id (16) | record (72). */
export const VOTE_LENGTH = ID_LENGTH + VOTE_RECORD_LENGTH;

/** Why an input was refused; every refusal is counted under one of these in `stats.dropped`. */
export type QuorumDrop =
  | "malformed"
  | "oversized"
  | "bad-signature"
  | "unknown-proposal"
  | "unknown-membership"
  | "stale-membership"
  | "not-member"
  | "late"
  | "late-arrival"
  | "expired"
  | "future"
  | "duplicate"
  | "equivocation"
  | "excluded"
  | "table-full"
  | "proposer-quota"
  | "wrong-outcome"
  | "events-full"
  | "actions-full";

export type QResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: QuorumDrop | string; readonly detail?: string };
export const qok = <T>(value: T): QResult<T> => ({ ok: true, value });
export const qerr = (reason: QuorumDrop | string, detail?: string): { ok: false; reason: string; detail?: string } =>
  detail === undefined ? { ok: false, reason } : { ok: false, reason, detail };
