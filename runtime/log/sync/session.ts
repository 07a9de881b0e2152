// One log-sync session over one link, as a sans-IO machine: bytes in (receive), bytes out (takeMessages),
// time passed in, next deadline reported. Nothing here reads a clock, a socket or a file.
//
// How it works. The initiator sends HELLO with the digest of its heads (and, with many authors, a digest per
// bucket of authors). Equal digests: the responder answers HELLO and both are in sync (two small packets).
// Otherwise the responder sends its SUMMARY of the buckets that differ (per author: seq and head-hash prefix,
// chunked to the link MDU) and the initiator answers with its own of the same scope. Each side, per summary
// chunk received, sends WANT for what it lacks (every seq above its head up to the peer's; the one seq where
// the heads disagree, to keep the peer's entry as fork evidence). Each side answers WANTs with ENTRIES:
// urgent kinds first, packed to fill the MDU, with what the peer can rebuild left out (sending.ts); an entry
// larger than a packet goes in a STREAM of full packets (stream.ts). Received entries are verified and placed (inbox.ts); holes left by lost
// packets are asked for again after a quiet spell, with backoff (retry.ts), unless the peer's silence is its
// duty cycle, until the patience limit ("stalled"). A session keeps nothing across a cut: the next starts
// from summaries, and what arrived is in the view, so it is never sent again. Messages leave only as fast as
// the link carries them (pacing.ts): on LoRa one packet per airtime, within the duty-cycle budget.
import { equal, toHex, type Bytes } from "../../core/bytes.js";
import type { RandomSource } from "../../core/ports.js";
import { DutyCycleBudget } from "../../radio/duty-cycle.js";
import type { WireRun } from "./entries-codec.js";
import { newStats, type PeerState, type SyncEvent, type SyncStats } from "./events.js";
import { Inbox } from "./inbox.js";
import { MessageType, SYNC_LIMITS, SYNC_VERSION, WANT_RECORD_LENGTH } from "./limits.js";
import {
  decodeMessage, encodeHello, encodeSummaryChunks, encodeSummaryRequest, encodeWants, maxBucketsFor, summaryRecordsPerPacket,
  type SyncMessage, type Want,
} from "./messages.js";
import { defaultPriority, type PriorityFn } from "./outbox.js";
import { Pacer, linkPacketBytes, type AirtimeModel } from "./pacing.js";
import { RetryPolicy, type Wait } from "./retry.js";
import { EntrySender } from "./sending.js";
import { StreamReceiver, isStreamPacket } from "./stream.js";
import {
  WHOLE_LOG, bucketDigests, chooseBuckets, differingScope, inScope, summarize, type LocalSummary, type Scope, type SummaryRecord,
} from "./summary.js";
import type { LogView } from "./view.js";
import { Wants } from "./wants.js";

export type { PeerState, SyncEvent, SyncStats } from "./events.js";

/**
 * Where a session stands, for status pages: exchanging HELLO and summaries, waiting for entries it asked for
 * ("pulling"), sending entries the peer asked for ("pushing"), done ("in-sync"), or waiting for the peer to
 * begin ("idle").
 */
export type SessionPhase = "idle" | "summarising" | "pulling" | "pushing" | "in-sync";

export interface SyncSessionOptions {
  view: LogView;
  /** Public keys known without their genesis entry (our own authors, identities from announces), by author hex. */
  localAuthorKeys?: ReadonlyMap<string, Bytes>;
  /** Largest plaintext of one link packet (link.mdu: 431 at MTU 500). */
  linkMdu: number;
  /** The interface's bitrate, for pacing when no airtime model is given. */
  bitrateBps: number;
  /** LoRa-like links: airtime per packet and the duty-cycle budget. */
  airtime?: AirtimeModel;
  role: "initiator" | "responder";
  nowMs: number;
  /** Jitter for retries. */
  random: RandomSource;
  /** Urgency of a kind, higher first (default: "alarm.*", then "quorum.*", then the rest). */
  priority?: PriorityFn;
  /** The link's round-trip time (link.rttMs), a first estimate the session refines from WANT to ENTRIES. */
  rttMs?: number;
}

interface PeerSummary {
  digest: Bytes;
  scope: Scope;
  total: number;
  seen: Set<number>;
  heads: Map<string, number>;
  forks: Set<string>;
  complete: boolean;
}

export class SyncSession {
  readonly role: "initiator" | "responder";
  readonly stats: SyncStats = newStats();
  readonly #view: LogView;
  readonly #mdu: number;
  readonly #pacer: Pacer;
  readonly #retry: RetryPolicy;
  readonly #inbox: Inbox;
  readonly #wants: Wants;
  readonly #sender: EntrySender;
  readonly #urgent: (kind: string) => boolean;
  readonly #stream = new StreamReceiver();
  /**
   * On a duty-cycled link, the peer's budget as far as we can tell (its airtime towards us): while it must be
   * spent, the peer's silence is its duty cycle, and asking again would only spend ours.
   */
  readonly #peerBudget: DutyCycleBudget | null;
  #nowMs: number;
  /** Smoothed round trip (WANT out to its first ENTRIES in), and when the last WANT left (null: answered). */
  #rttMs: number;
  #rttSampled = false;
  #wantSentMs: number | null = null;
  // What we owe the peer, in the order it goes out.
  #helloDue = false;
  #summaryReqDue = false;
  #wantsDue: Want[] = [];
  #summaryQueue: Bytes[] = [];
  #ready: Bytes[] = [];
  #events: SyncEvent[] = [];
  // The exchange: what we told the peer and what we know of it.
  #summarySent = false;
  /** The authors this exchange's summaries cover (all, or the buckets whose digests differ). */
  #scope: Scope = WHOLE_LOG;
  #inSync = false;
  #peer: PeerSummary | null = null;
  readonly #advertised = new Map<string, number>();
  #caughtUpReported = false;
  /** What the peer lacked of ours when its summary was complete (entries), for `phase`. */
  #peerLacked = 0;
  // Waiting for an answer to HELLO, for the rest of the peer's summary, for wanted entries.
  #hello: Wait | null = null;
  #summaryWait: Wait | null = null;
  #entriesWait: Wait | null = null;

  constructor(o: SyncSessionOptions) {
    if (!Number.isInteger(o.linkMdu) || o.linkMdu < 128) throw new RangeError(`link MDU must be an integer of at least 128, got ${o.linkMdu}`);
    if (o.airtime !== undefined && linkPacketBytes(o.linkMdu) > 508) throw new RangeError(`a ${o.linkMdu}-byte MDU does not fit a LoRa packet`);
    this.role = o.role;
    this.#view = o.view;
    this.#mdu = o.linkMdu;
    this.#nowMs = o.nowMs;
    this.#rttMs = o.rttMs !== undefined && o.rttMs > 0 ? o.rttMs : SYNC_LIMITS.defaultRttMs;
    this.#pacer = new Pacer(o.bitrateBps, o.airtime ?? null);
    const b = o.airtime?.budget;
    this.#retry = new RetryPolicy(o.random, this.#pacer.durationMs(o.linkMdu), b !== undefined ? SYNC_LIMITS.stallAfterWindows * b.windowMs : SYNC_LIMITS.stallAfterMs);
    this.#peerBudget = b === undefined ? null : new DutyCycleBudget({ dutyCyclePct: b.dutyCyclePct, windowMs: b.windowMs, bucketMs: b.bucketMs });
    this.#wants = new Wants(o.view);
    const priority = o.priority ?? defaultPriority;
    this.#sender = new EntrySender(o.view, o.linkMdu, priority);
    this.#urgent = (kind) => priority(kind) > 0;
    this.#inbox = new Inbox(o.view, o.localAuthorKeys ?? new Map(), {
      accepted: (e) => {
        const hex = toHex(e.author);
        this.stats.entriesReceived++;
        this.#wants.seen(hex, e.seq);
        // The peer sent it, so it holds it and the chain below it.
        this.#advertised.set(hex, Math.max(this.#advertised.get(hex) ?? 0, e.seq));
        this.#sender.agree(hex, e.seq);
        this.#emit({ kind: "accepted", entry: e });
      },
      duplicate: (e) => {
        this.stats.duplicates++;
        this.#wants.seen(toHex(e.author), e.seq);
      },
      fork: (e) => {
        const hex = toHex(e.author);
        this.stats.forks++;
        this.#wants.seen(hex, e.seq);
        // When the conflict lies below e (its prev is not our entry), walk down to keep the same-seq pair.
        const mine = e.seq > 1 ? this.#view.get(e.author, e.seq - 1) : null;
        const walk = mine !== null && !equal(mine.hash, e.prev) && this.#view.hasEntry?.(e.author, e.seq - 1, e.prev.subarray(0, 8)) !== true;
        this.#wants.diverged(hex, e.author, walk ? e.seq - 1 : null);
        this.#emit({ kind: "fork", entry: e });
      },
      ahead: (e) => {
        this.stats.heldAhead++;
        this.#emit({ kind: "ahead", entry: e });
      },
      rejected: (reason, author, seq) => {
        this.stats.rejected[reason] = (this.stats.rejected[reason] ?? 0) + 1;
        this.#emit({ kind: "rejected", reason, author, seq });
      },
      dropped: (reason) => this.#drop(reason),
    });
  }

  /** Starts the exchange: the initiator says HELLO, the responder waits for it. */
  start(nowMs: number): void {
    this.#advance(nowMs);
    if (this.role === "initiator" && this.#hello === null && !this.#summarySent && !this.#inSync) this.#helloDue = true;
    this.#pump();
  }

  /** A sync message from the peer (the plaintext of one link packet). Remote input never throws. */
  receive(plaintext: Bytes, nowMs: number): void {
    this.#advance(nowMs);
    this.stats.messagesReceived++;
    this.stats.bytesReceived += plaintext.length;
    const heard = Math.min(plaintext.length, this.#mdu);
    this.#pacer.heard(heard, this.#nowMs);
    this.#peerBudget?.record(Math.min(this.#peerBudget.windowMs, this.#pacer.durationMs(heard)), this.#nowMs);
    if (plaintext.length > this.#mdu) this.#drop("too-long");
    else if (isStreamPacket(plaintext)) this.#onStream(plaintext);
    else {
      const d = decodeMessage(plaintext, this.#mdu);
      if (d.ok) this.#handle(d.value);
      else this.#drop(d.reason);
    }
    this.#queueFreshWants();
    this.#pump();
  }

  /** Our view changed (local appends, another session): tell the peer what is new, as an update summary. */
  refresh(nowMs: number): void {
    this.#advance(nowMs);
    if (this.#summarySent || this.#inSync) {
      const s = summarize(this.#view);
      const changed = s.records.filter((r) => this.#advertised.get(r.hex) !== r.seq);
      if (changed.length > 0) {
        this.#summaryQueue.push(...encodeSummaryChunks(s.digest, changed, this.#mdu, WHOLE_LOG, true));
        for (const r of changed) this.#advertised.set(r.hex, r.seq);
      }
    }
    this.#pump();
  }

  /**
   * Starts the exchange over (anti-entropy): HELLO again, summaries if the digests differ. Cheap when the logs
   * are equal (two small packets); use it on a slow timer, or when the peer's announce hint no longer matches.
   */
  resync(nowMs: number): void {
    this.#advance(nowMs);
    this.#resetExchange();
    this.#helloDue = true;
    this.#pump();
  }

  tick(nowMs: number): void {
    this.#advance(nowMs);
    this.#checkWaits();
    this.#pump();
  }

  nextDeadlineMs(): number {
    let t = Infinity;
    const size = this.#nextSize();
    if (size !== null) t = this.#pacer.nextSendMs(size, this.#nowMs);
    for (const w of [this.#hello, this.#summaryWait, this.#entriesWait]) if (w !== null) t = Math.min(t, w.dueMs);
    return t;
  }

  /** Messages released to the link, each at most linkMdu bytes: send each as one link DATA packet. */
  takeMessages(): Bytes[] {
    const out = this.#ready;
    this.#ready = [];
    return out;
  }

  takeEvents(): SyncEvent[] {
    const out = this.#events;
    this.#events = [];
    return out;
  }

  /** Nothing to send and nothing awaited (the host may close an idle link, or resync later). */
  get idle(): boolean {
    return this.#nextSize() === null && this.#ready.length === 0 && this.#hello === null && this.#summaryWait === null && this.#entriesWait === null;
  }

  get phase(): SessionPhase {
    const exchanged = this.#inSync || this.#peer?.complete === true;
    if (!exchanged) {
      const asking = this.#helloDue || this.#hello !== null || this.#summaryReqDue || this.#summaryWait !== null || this.#summaryQueue.length > 0;
      return asking || this.#summarySent ? "summarising" : "idle";
    }
    if (this.#entriesWait !== null || this.#wantsDue.length > 0) return "pulling";
    // The peer's WANT may still be on its way: what it lacked and nothing sent yet is still to push.
    if (this.#sender.nextSize() !== null || this.#ready.length > 0 || (this.#peerLacked > 0 && this.stats.entriesSent === 0)) return "pushing";
    return "in-sync";
  }

  /**
   * The logs were found equal in this exchange (HELLO digests matched): the only evidence a session has that
   * the peer holds what we hold. "in-sync" as a phase means only that nothing is awaited or left to send:
   * what we pushed may have been lost with a link that went quiet. `resync` asks again.
   */
  get digestsMatched(): boolean {
    return this.#inSync;
  }

  /** When the session asks the peer again if nothing comes (HELLO, summary, wanted entries); null: not waiting. */
  get nextRetryMs(): number | null {
    let t = Infinity;
    for (const w of [this.#hello, this.#summaryWait, this.#entriesWait]) if (w !== null && Number.isFinite(w.dueMs)) t = Math.min(t, w.dueMs);
    return t === Infinity ? null : t;
  }

  // ---- input ------------------------------------------------------------------------------------------

  #handle(m: SyncMessage): void {
    switch (m.type) {
      case MessageType.HELLO:
        // A peer of another protocol version: nothing it says can be read safely; it stalls and closes.
        if (m.version !== SYNC_VERSION) return this.#drop("version");
        return this.#onHello(m.digest, m.bucketDigests);
      case MessageType.SUMMARY:
        return this.#onSummary(m.digest, m.index, m.total, m.records, m.scope);
      case MessageType.WANT:
        for (const w of m.wants) this.#sender.want(w);
        return;
      case MessageType.ENTRIES:
        return this.#onEntries(m.runs);
      case MessageType.SUMMARY_REQ:
        return this.#queueSummary(summarize(this.#view), m.scope);
    }
  }

  /** A STREAM packet: the ENTRIES messages it completes (stream.ts). */
  #onStream(packet: Bytes): void {
    this.#entriesProgress();
    const r = this.#stream.receive(packet);
    for (const reason of r.dropped) this.#drop(reason);
    for (const m of r.messages) {
      const d = decodeMessage(m, SYNC_LIMITS.maxReassemblyBytes);
      if (!d.ok || d.value.type !== MessageType.ENTRIES) this.#drop(d.ok ? "stream-not-entries" : d.reason);
      else this.#onEntries(d.value.runs);
    }
  }

  #onEntries(runs: WireRun[]): void {
    this.#entriesProgress();
    if (this.#wantSentMs !== null) {
      const sample = Math.max(1, this.#nowMs - this.#wantSentMs);
      this.#rttMs = this.#rttSampled ? 0.75 * this.#rttMs + 0.25 * sample : sample;
      this.#rttSampled = true;
      this.#wantSentMs = null;
    }
    for (const run of runs) this.#inbox.offerRun(run);
    // Entries of one author leave in seq order (within a priority class): a hole below one that came in that
    // order was lost on the way. Ask for it now, and again if it is still open a round trip later.
    const renackMs = 2 * this.#rttMs + SYNC_LIMITS.retryPacketTimes * this.#pacer.durationMs(this.#mdu);
    for (const hex of this.#inbox.heldAuthors()) {
      const mark = this.#inbox.inOrderMark(hex, this.#urgent);
      if (mark > 0) this.#wantsDue.push(...this.#wants.lost(hex, mark, this.#inbox.heldSeqs(hex), this.#nowMs, renackMs));
    }
    this.#checkCaughtUp();
  }

  #resetExchange(): void {
    this.#summarySent = false;
    this.#peer = null;
    this.#inSync = false;
    this.#caughtUpReported = false;
    this.#scope = WHOLE_LOG;
    this.#summaryWait = null;
  }

  #onHello(digest: Bytes, theirBuckets: Bytes): void {
    this.#hello = null;
    // A HELLO (re)starts the exchange: the peer's summary, if any, comes again.
    this.#resetExchange();
    const ours = summarize(this.#view);
    if (!equal(digest, ours.digest)) return this.#queueSummary(ours, theirBuckets.length === 0 ? WHOLE_LOG : differingScope(ours.records, theirBuckets));
    if (this.role === "responder") this.#helloDue = true;
    this.#setAdvertised(ours);
    this.#inSync = true;
    this.#emit({ kind: "peer", state: "in-sync", weLack: 0, theyLack: 0, forks: 0 });
    this.#checkCaughtUp();
  }

  #onSummary(digest: Bytes, index: number, total: number, records: SummaryRecord[], scope: Scope): void {
    this.#hello = null;
    let p = this.#peer;
    if (total > 0 && (p === null || !equal(p.digest, digest) || p.total !== total || !sameScope(p.scope, scope))) {
      p = this.#peer = { digest, scope, total, seen: new Set(), heads: new Map(), forks: new Set(), complete: false };
      this.#scope = scope;
    }
    for (const r of records) {
      const n = this.#wants.note(r);
      if (n.agreed) this.#sender.agree(r.hex, r.seq);
      if (p !== null && p.heads.size < SYNC_LIMITS.maxSummaryAuthors) p.heads.set(r.hex, r.seq);
      if (n.fork) p?.forks.add(r.hex);
    }
    // Our summary of the same scope answers theirs (an update of a few heads needs no answer).
    if (total > 0 && !this.#summarySent) this.#queueSummary(summarize(this.#view), scope);
    if (total > 0 && p !== null && !p.complete) {
      p.seen.add(index);
      if (p.seen.size === p.total) {
        p.complete = true;
        this.#summaryWait = null;
        this.#emitPeerState(p);
      } else {
        this.#summaryWait = this.#retry.fresh(this.#nowMs);
      }
    }
    this.#checkCaughtUp();
  }

  /** Wants learnt from the last message (summary records, forks to walk down) go out with the next WANT. */
  #queueFreshWants(): void {
    const fresh = this.#wants.fresh((hex) => this.#inbox.heldSeqs(hex));
    if (fresh.length === 0) return;
    this.#wantsDue.push(...fresh);
    // Past the bound the oldest go: still wanted, they are asked again by the next retry.
    if (this.#wantsDue.length > SYNC_LIMITS.maxQueuedWants) this.#wantsDue.splice(0, this.#wantsDue.length - SYNC_LIMITS.maxQueuedWants);
    this.#caughtUpReported = false;
  }

  #emitPeerState(p: PeerSummary): void {
    let weLack = 0;
    let theyLack = 0;
    const heads = this.#view.heads();
    for (const [hex, seq] of p.heads) weLack += Math.max(0, seq - (heads.get(hex)?.seq ?? 0));
    for (const [hex, h] of heads) if (inScope(h.author, p.scope)) theyLack += Math.max(0, h.seq - (p.heads.get(hex) ?? 0));
    const state: PeerState = weLack > 0 && theyLack > 0 ? "both" : weLack > 0 ? "ahead" : theyLack > 0 ? "behind" : "in-sync";
    this.#peerLacked = theyLack;
    this.#emit({ kind: "peer", state, weLack, theyLack, forks: p.forks.size });
  }

  #checkCaughtUp(): void {
    if (this.#wants.prune() > 0) return;
    this.#entriesWait = null;
    if ((this.#inSync || this.#peer?.complete === true) && !this.#caughtUpReported) {
      this.#caughtUpReported = true;
      this.#emit({ kind: "caught-up" });
    }
  }

  #entriesProgress(): void {
    if (this.#entriesWait !== null) this.#entriesWait = this.#retry.fresh(this.#nowMs);
  }

  // ---- waits ------------------------------------------------------------------------------------------

  #checkWaits(): void {
    const now = this.#nowMs;
    const h = this.#hello;
    if (h !== null && now >= h.dueMs) {
      this.#hello = null;
      if (this.#retry.exhausted(h, now)) this.#emit({ kind: "stalled", waitingFor: "hello", missing: 0 });
      else {
        this.#helloDue = true;
        this.#hello = this.#retried(h);
      }
    }
    const s = this.#summaryWait;
    if (s !== null && now >= s.dueMs) {
      this.#summaryWait = null;
      if (this.#retry.exhausted(s, now)) this.#emit({ kind: "stalled", waitingFor: "summary", missing: 0 });
      else {
        this.#summaryReqDue = true;
        this.#summaryWait = this.#retried(s);
      }
    }
    const e = this.#entriesWait;
    if (e !== null && now >= e.dueMs) this.#entriesDue(e, now);
  }

  #entriesDue(e: Wait, now: number): void {
    this.#entriesWait = null;
    this.#inbox.settle();
    const missing = this.#wants.prune();
    if (missing === 0) return this.#checkCaughtUp();
    if (this.#retry.exhausted(e, now)) {
      this.#wants.clear();
      return this.#emit({ kind: "stalled", waitingFor: "entries", missing });
    }
    const resumeMs = this.#peerBudget?.nextAllowedMs(this.#pacer.durationMs(this.#mdu), now) ?? now;
    if (resumeMs > now) {
      // The peer has spent its duty cycle: wait for it rather than ask again.
      this.#entriesWait = { ...e, dueMs: Math.min(resumeMs, e.sinceMs + this.#retry.patienceMs) + this.#retry.intervalMs(0) };
      return;
    }
    const holes = this.#wants.holes((hex) => this.#inbox.heldSeqs(hex));
    if (holes.length === 0) {
      this.#entriesWait = this.#retry.later(e, now);
      return;
    }
    this.#wantsDue = holes;
    this.#entriesWait = this.#retried(e);
  }

  #retried(w: Wait): Wait {
    this.stats.retries++;
    return this.#retry.retried(w);
  }

  // ---- output -----------------------------------------------------------------------------------------

  /** Our summary of `scope`; authors outside it are in buckets both sides hold alike. */
  #queueSummary(s: LocalSummary, scope: Scope): void {
    const records = scope.buckets === 0 ? s.records : s.records.filter((r) => inScope(r.author, scope));
    this.#summaryQueue = encodeSummaryChunks(s.digest, records, this.#mdu, scope);
    this.#scope = scope;
    this.#summarySent = true;
    this.#setAdvertised(s);
  }

  #setAdvertised(s: LocalSummary): void {
    this.#advertised.clear();
    for (const r of s.records) this.#advertised.set(r.hex, r.seq);
  }

  #wantsPerMessage(): number {
    return Math.min(SYNC_LIMITS.maxWantsPerMessage, Math.floor((this.#mdu - 8) / WANT_RECORD_LENGTH));
  }

  /** Size of the next message to go (an upper bound), or null when there is none. */
  #nextSize(): number | null {
    if (this.#helloDue) return 24 + maxBucketsFor(this.#mdu) * 4;
    if (this.#summaryReqDue) return 4 + this.#scope.mask.length;
    if (this.#wantsDue.length > 0) return 8 + Math.min(this.#wantsDue.length, this.#wantsPerMessage()) * WANT_RECORD_LENGTH;
    if (this.#summaryQueue.length > 0) return this.#summaryQueue[0]!.length;
    return this.#sender.nextSize();
  }

  /** Releases messages while the pacer allows. */
  #pump(): void {
    for (let n = 0; n < SYNC_LIMITS.maxMessagesPerPump; n++) {
      const size = this.#nextSize();
      if (size === null || !this.#pacer.canSend(size, this.#nowMs)) return;
      const m = this.#nextMessage();
      if (m === null) return;
      this.#pacer.sent(m.length, this.#nowMs);
      this.#ready.push(m);
      this.stats.messagesSent++;
      this.stats.bytesSent += m.length;
      this.stats.airBytesSent += linkPacketBytes(m.length);
      this.stats.airtimeMs = this.#pacer.airtimeMs;
    }
  }

  /** Builds the next message (the pacer has allowed its size); a question arms its wait as it leaves. */
  #nextMessage(): Bytes | null {
    const now = this.#nowMs;
    if (this.#helloDue) {
      this.#helloDue = false;
      const s = summarize(this.#view);
      this.#hello = this.role === "initiator" ? this.#retry.armed(this.#hello, now) : null;
      const buckets = chooseBuckets(s.records.length, summaryRecordsPerPacket(this.#mdu), maxBucketsFor(this.#mdu));
      return encodeHello(s.digest, s.entryCount, bucketDigests(s.records, buckets));
    }
    if (this.#summaryReqDue) {
      this.#summaryReqDue = false;
      this.#summaryWait = this.#retry.armed(this.#summaryWait, now);
      return encodeSummaryRequest(this.#scope);
    }
    if (this.#wantsDue.length > 0) {
      // A round-trip sample only when nothing was on its way: else the next entries answer an older WANT.
      if (this.#entriesWait === null) this.#wantSentMs = now;
      this.#entriesWait = this.#retry.armed(this.#entriesWait, now);
      return encodeWants(this.#wantsDue.splice(0, this.#wantsPerMessage()));
    }
    if (this.#summaryQueue.length > 0) {
      const m = this.#summaryQueue.shift()!;
      if (this.#summaryQueue.length === 0 && this.#peer?.complete !== true && !this.#inSync) this.#summaryWait = this.#retry.armed(this.#summaryWait, now);
      return m;
    }
    const next = this.#sender.next();
    if (next === null) return null;
    this.stats.entriesSent += next.entries;
    this.stats.entriesResent += this.#sender.takeResent();
    return next.message;
  }

  // ---- plumbing ---------------------------------------------------------------------------------------

  #advance(nowMs: number): void {
    if (!Number.isFinite(nowMs)) throw new RangeError(`nowMs must be finite, got ${nowMs}`);
    this.#nowMs = Math.max(this.#nowMs, nowMs);
  }

  #emit(ev: SyncEvent): void {
    if (this.#events.length >= SYNC_LIMITS.maxQueuedEvents) {
      this.#events.shift();
      this.#drop("events-full");
    }
    this.#events.push(ev);
  }

  #drop(reason: string): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
  }
}

function sameScope(a: Scope, b: Scope): boolean {
  return a.buckets === b.buckets && equal(a.mask, b.mask);
}
