// Log sync in kosd: the node's sync destination "kos.log.sync" announces a hint of its log (digest and
// entry count); a peer whose announced hint differs opens a link to it, and a SyncSession runs on that
// link in both directions (runtime/log/sync), its messages travelling as link packets. The session's
// entries land in the durable store through a LogView adapter. The initiator identifies itself on the link
// (one packet) so the responder can name it; per-peer state (phase, counters, last error, next retry) is kept
// for `kosctl log status`, and a session we opened that ends with the logs still different is retried with
// backoff while the peer stays known. A peer counts as in sync only on evidence: the digests matched in a
// HELLO exchange; the initiator asks once more (a resync, two small packets) when its session has gone quiet
// without that, since entries it pushed may have been lost with a link that went quiet.
import { equal, toHex, type Bytes } from "../core/bytes.js";
import type { EngineEvent, LocalDestination } from "../engine/events.js";
import { destinationHash } from "../wire/destination.js";
import { Context } from "../wire/packet.js";
import type { LogEntry } from "../log/entry.js";
import type { LogStore } from "../log/store.js";
import { decideSync, decodeLogHint, encodeLogHint, type LogHint } from "../log/sync/announce-hint.js";
import { SyncSession, type SessionPhase } from "../log/sync/session.js";
import { summarize } from "../log/sync/summary.js";
import type { AcceptResult, Head, LogView } from "../log/sync/view.js";
import type { KosNode } from "./node.js";

const MAX_SESSIONS = 32;
/** Idle sessions' links close after this; a new announce opens a new one when logs differ again. */
const IDLE_CLOSE_MS = 30_000;
/** Hint changes are announced at most this often (kosctl announce forces one). */
const HINT_ANNOUNCE_MIN_MS = 60_000;
/** Peers remembered for `kosctl log status` (least recently seen forgotten first). */
const MAX_PEERS = 256;
/**
 * After a session we opened ends with the logs still different (stalled, link lost), we open another after
 * this wait, doubling per failure up to RETRY_MAX_MS, as long as the peer is reachable; its next announce
 * may start one sooner.
 */
const RETRY_FIRST_MS = 60_000;
const RETRY_MAX_MS = 30 * 60_000;
/** Retries in a row without hearing the peer's announce; then we wait for it to announce again. */
const RETRY_MAX_ATTEMPTS = 12;
/** An initiator's session quiet this long, nothing awaited and the digests not yet seen equal: resync. */
const CONFIRM_QUIET_MS = 2_000;
/** Resyncs one session may make to confirm; past this the logs stay different (a fork, refused entries). */
const CONFIRM_MAX = 3;

/** The timers of the service (tests substitute a virtual clock's). */
export interface SyncTimers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const realTimers: SyncTimers = {
  set(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clear(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

export interface LogSyncOptions {
  timers?: SyncTimers;
}

/**
 * The durable store seen through the sync machine's LogView. Entries the store accepted but has not yet written
 * count as held (tips, not durable heads): `accept` must answer at once, and the next entry of the same message
 * chains on the one before it. Seeing only durable heads, a session held every entry after the first of a
 * message as "ahead" until the write finished, then asked for them again.
 */
export class StoreView implements LogView {
  constructor(private readonly store: LogStore) {}

  heads(): ReadonlyMap<string, Head> {
    const m = new Map<string, Head>();
    for (const h of this.store.tips()) m.set(toHex(h.author), { author: h.author, seq: h.seq, hash: h.hash });
    return m;
  }

  head(author: Bytes): Head | null {
    return this.store.tip(author);
  }

  get(author: Bytes, seq: number): LogEntry | null {
    return this.store.getAccepted(author, seq);
  }

  accept(entry: LogEntry): AcceptResult {
    let offered;
    try {
      offered = this.store.offer(entry, { verified: true });
    } catch (e) {
      return { ok: false, reason: (e as Error).message };
    }
    offered.durable.catch(() => undefined); // a failed write is reported by the store itself
    const o = offered.outcome;
    if (o.status === "appended") return { ok: true, value: "new" };
    if (o.status === "duplicate") return { ok: true, value: "duplicate" };
    if (o.status === "fork") return { ok: true, value: "fork" };
    return { ok: false, reason: o.status };
  }
}

/**
 * Peer state for `kosctl log status`. With a session running it is the session's phase; without one it is
 * what we last knew: "in-sync" (the peer's digest, from its announce or the last session, equals ours),
 * "behind" (it differs: one side lacks entries; a session opens on its next announce or at the next retry),
 * or "idle" (nothing known yet).
 */
export type PeerSyncState = SessionPhase | "behind";

interface PeerTotals {
  sessions: number;
  /** Distinct entries sent per session (a repair within a session not again). */
  entriesSent: number;
  /** Sends of entries already sent in the same session (repairs after lost packets). */
  entriesResent: number;
  entriesReceived: number;
  bytesSent: number;
  bytesReceived: number;
  rejected: number;
  dropped: number;
}

interface Peer {
  /** Identity hash in hex, or `link:<id>` for a responder session whose initiator has not identified yet. */
  key: string;
  identity: Bytes | null;
  /** The peer's kos.log.sync destination. */
  destination: Bytes | null;
  lastSeenMs: number | null;
  /** When the last session with it ended (no new one sooner than decideSync allows). */
  lastContactMs: number | null;
  /** The peer's log digest as last known (announce hint, or ours when a session ended in sync). */
  digest: Bytes | null;
  entryCount: number | null;
  totals: PeerTotals;
  lastError: { atMs: number; message: string } | null;
  retryAtMs: number | null;
  /** Sessions in a row that ended without the logs found equal (the backoff exponent). */
  failures: number;
  /** Retries scheduled since the peer's last announce (bounded by RETRY_MAX_ATTEMPTS). */
  retriesSinceHeard: number;
}

interface Running {
  session: SyncSession;
  linkId: Bytes;
  peer: Peer;
  initiator: boolean;
  lastActivityMs: number;
  /** Why the session failed, if it did (stalled); reported when its link closes. */
  failed: string | null;
  /** Our digest when the peer's was found equal to it in this session (HELLO exchange); null: not yet. */
  matchedDigest: Bytes | null;
  /** Resyncs made to confirm the logs are equal. */
  confirms: number;
}

export class LogSyncService {
  readonly view: StoreView;
  readonly #node: KosNode;
  readonly #dest: LocalDestination;
  /** Running sessions by link id (hex). */
  readonly #sessions = new Map<string, Running>();
  /** Peers by key, in least-recently-touched order. */
  readonly #peers = new Map<string, Peer>();
  /** Links we opened and are waiting to be established, by the peer's destination (hex), and when. */
  readonly #pendingLinks = new Map<string, number>();
  readonly #timers: SyncTimers;
  #timer: unknown = null;
  #retryTimer: unknown = null;
  #announceTimer: unknown = null;
  #lastAnnounceMs = 0;
  #hint: LogHint;
  /** Peers forgotten to keep the table within MAX_PEERS. */
  #peersEvicted = 0;
  #digestMemo: Bytes | null = null;

  constructor(node: KosNode, store: LogStore, opts: LogSyncOptions = {}) {
    this.#node = node;
    this.#timers = opts.timers ?? realTimers;
    this.view = new StoreView(store);
    this.#hint = this.#currentHint();
    this.#dest = node.run(() =>
      node.engine.registerDestination({
        identity: node.identity,
        appName: "kos",
        aspects: ["log", "sync"],
        proof: "none",
        acceptLinks: true,
        acceptResourcesUpToBytes: 0,
        appData: encodeLogHint(this.#hint),
      }),
    );
    node.onEvent((ev) => this.#onEvent(ev));
  }

  /** The node announces every destination when an interface comes up; nothing more to do at start. */
  start(): void {
    this.#lastAnnounceMs = this.#node.clock.nowMs();
  }

  /**
   * Re-announces when the log changed since the last announce (a new hint), at most once a minute unless
   * forced: peers learn of new entries without a flood of announces on a busy log.
   */
  announce(force = true): void {
    const hint = this.#currentHint();
    const changed = !equal(hint.digest, this.#hint.digest);
    // The destination always carries the current hint, so any announce (kosctl announce, an interface
    // coming up) tells peers the truth; only our own hint-change announces are rate-limited.
    this.#hint = hint;
    (this.#dest.spec as { appData?: Bytes | null }).appData = encodeLogHint(hint);
    if (!force && !changed) return;
    const now = this.#node.clock.nowMs();
    if (!force && now - this.#lastAnnounceMs < HINT_ANNOUNCE_MIN_MS) {
      if (this.#announceTimer === null) {
        this.#announceTimer = this.#timers.set(() => {
          this.#announceTimer = null;
          this.announce(true);
        }, HINT_ANNOUNCE_MIN_MS - (now - this.#lastAnnounceMs));
      }
      return;
    }
    this.#lastAnnounceMs = now;
    this.#node.run((t) => this.#node.engine.announce(this.#dest, t));
  }

  /** Tells running sessions that the store grew (a local append), so they can offer it. */
  refresh(): void {
    this.#digestMemo = null;
    const now = this.#node.clock.nowMs();
    for (const r of this.#sessions.values()) r.session.refresh(now);
    this.#pump();
    this.announce(false);
  }

  /** Peers forgotten since start to keep the table within its bound (least recently seen first). */
  get peersEvicted(): number {
    return this.#peersEvicted;
  }

  /** Per-peer sync state, most recently seen first (kosctl log status). */
  status(): Array<Record<string, unknown>> {
    const now = this.#node.clock.nowMs();
    const ours = this.#currentHint();
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    const rows = [...this.#peers.values()].reverse().map((p) => {
      const r = [...this.#sessions.values()].find((x) => x.peer === p);
      const t = { ...p.totals };
      let retryAtMs = p.retryAtMs;
      if (r !== undefined) {
        const st = r.session.stats;
        t.entriesSent += st.entriesSent - st.entriesResent;
        t.entriesResent += st.entriesResent;
        t.entriesReceived += st.entriesReceived;
        t.bytesSent += st.bytesSent;
        t.bytesReceived += st.bytesReceived;
        t.rejected += sum(st.rejected);
        t.dropped += sum(st.dropped);
        retryAtMs = r.session.nextRetryMs;
      }
      const state: PeerSyncState = r !== undefined ? runningPhase(r) : p.digest === null ? "idle" : equal(p.digest, ours.digest) ? "in-sync" : "behind";
      return {
        peer: p.key,
        identity: p.identity === null ? null : toHex(p.identity),
        destination: p.destination === null ? null : toHex(p.destination),
        state,
        session: r === undefined ? null : { link: toHex(r.linkId), role: r.session.role, ...r.session.stats },
        lastSeen: iso(p.lastSeenMs),
        lastSeenAgoS: p.lastSeenMs === null ? null : Math.max(0, Math.round((now - p.lastSeenMs) / 1000)),
        peerEntries: p.entryCount,
        ...t,
        lastError: p.lastError === null ? null : { at: iso(p.lastError.atMs), message: p.lastError.message },
        nextRetry: iso(retryAtMs),
        nextRetryInS: retryAtMs === null ? null : Math.max(0, Math.round((retryAtMs - now) / 1000)),
      };
    });
    return rows;
  }

  #currentHint(): LogHint {
    const s = summarize(this.view);
    return { digest: s.digest, entryCount: s.entryCount };
  }

  /** The peer record for an identity (created, and moved to most recent). */
  #peerFor(identity: Bytes): Peer {
    return this.#touch(toHex(identity), () => ({ identity, destination: destinationHash(this.#dest.nameHash, identity) }));
  }

  #touch(key: string, make: () => { identity: Bytes | null; destination: Bytes | null }): Peer {
    let p = this.#peers.get(key);
    if (p !== undefined) this.#peers.delete(key);
    else {
      p = { key, ...make(), lastSeenMs: null, lastContactMs: null, digest: null, entryCount: null, totals: emptyTotals(), lastError: null, retryAtMs: null, failures: 0, retriesSinceHeard: 0 };
      if (this.#peers.size >= MAX_PEERS) {
        const busy = new Set([...this.#sessions.values()].map((r) => r.peer));
        for (const [k, old] of this.#peers) {
          if (busy.has(old)) continue;
          this.#peers.delete(k);
          this.#peersEvicted++;
          break;
        }
      }
    }
    this.#peers.set(key, p);
    return p;
  }

  #fail(p: Peer, message: string): void {
    p.lastError = { atMs: this.#node.clock.nowMs(), message };
    this.#node.log.log("warn", "log sync", { peer: p.key, error: message });
  }

  #open(p: Peer, now: number): void {
    const node = this.#node;
    if (p.destination === null || this.#sessions.size >= MAX_SESSIONS) return;
    const destHex = toHex(p.destination);
    if (this.#pendingLinks.has(destHex) || [...this.#sessions.values()].some((r) => r.peer === p)) return;
    const opened = node.run((t) => node.engine.openLink(p.destination!, t));
    if (opened.ok) {
      this.#pendingLinks.set(destHex, now);
      p.retryAtMs = null;
    } else {
      this.#fail(p, `cannot open a sync link: ${opened.detail ?? opened.reason}`);
      this.#scheduleRetry(p, now);
    }
  }

  #scheduleRetry(p: Peer, now: number): void {
    p.failures++;
    if (p.retriesSinceHeard >= RETRY_MAX_ATTEMPTS) {
      // Unreachable for hours: its next announce (reachable again) opens a session or restarts the retries.
      p.retryAtMs = null;
      this.#node.log.log("info", "log sync: no more retries until the peer announces", { peer: p.key, failures: p.failures });
      return;
    }
    p.retriesSinceHeard++;
    p.retryAtMs = now + Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.min(p.failures - 1, 10));
    this.#armRetryTimer();
  }

  #armRetryTimer(): void {
    if (this.#retryTimer !== null) this.#timers.clear(this.#retryTimer);
    this.#retryTimer = null;
    let next = Infinity;
    for (const p of this.#peers.values()) if (p.retryAtMs !== null) next = Math.min(next, p.retryAtMs);
    if (next === Infinity) return;
    this.#retryTimer = this.#timers.set(() => {
      this.#retryTimer = null;
      const now = this.#node.clock.nowMs();
      const ours = this.#currentHint();
      for (const p of [...this.#peers.values()]) {
        if (p.retryAtMs === null || p.retryAtMs > now) continue;
        p.retryAtMs = null;
        if (p.digest !== null && equal(p.digest, ours.digest)) continue; // in sync meanwhile
        this.#open(p, now);
      }
      this.#armRetryTimer();
    }, Math.max(0, Math.min(2 ** 31 - 1, next - this.#node.clock.nowMs())));
  }

  #onEvent(ev: EngineEvent): void {
    const node = this.#node;
    const now = node.clock.nowMs();
    if (ev.kind === "announce") {
      if (!equal(ev.nameHash, this.#dest.nameHash) || equal(ev.identityHash, node.identity.hash)) return;
      const p = this.#peerFor(ev.identityHash);
      p.lastSeenMs = now;
      p.retriesSinceHeard = 0;
      const hint = decodeLogHint(ev.appData);
      if (hint !== null) {
        p.digest = hint.digest;
        p.entryCount = hint.entryCount;
      }
      if ([...this.#sessions.values()].some((r) => r.peer === p) || this.#pendingLinks.has(toHex(ev.destinationHash))) return;
      const decision = decideSync({
        hint,
        ours: this.#currentHint(),
        ourIdentityHash: node.identity.hash,
        peerIdentityHash: ev.identityHash,
        nowMs: now,
        lastContactMs: p.lastContactMs,
      });
      if (decision.open) this.#open(p, now);
      return;
    }
    if (ev.kind !== "link") return;
    const linkKey = toHex(ev.linkId);
    const incoming = ev.localDestination !== null && equal(ev.localDestination, this.#dest.hash);
    const outgoing = ev.remoteDestination !== null && this.#pendingLinks.has(toHex(ev.remoteDestination));
    const running = this.#sessions.get(linkKey);
    if (ev.event.kind === "established" && (incoming || outgoing) && running === undefined) {
      const link = node.engine.link(ev.linkId);
      if (link === undefined) return;
      let peer: Peer;
      if (outgoing) {
        this.#pendingLinks.delete(toHex(ev.remoteDestination!));
        const known = node.engine.known.recall(ev.remoteDestination!);
        peer = known !== null ? this.#peerFor(known.identity.hash) : this.#touch(toHex(ev.remoteDestination!), () => ({ identity: null, destination: ev.remoteDestination }));
        // Tell the responder who we are, so its status names us (one packet per session).
        node.run((t) => node.engine.linkIdentify(ev.linkId, node.identity, t));
      } else {
        peer = this.#touch(`link:${linkKey}`, () => ({ identity: null, destination: null }));
      }
      peer.lastSeenMs = now;
      const session = new SyncSession({
        view: this.view,
        linkMdu: link.mdu,
        bitrateBps: 10_000_000,
        role: outgoing ? "initiator" : "responder",
        nowMs: now,
        random: node.random,
        rttMs: link.rttMs,
      });
      this.#sessions.set(linkKey, { session, linkId: ev.linkId, peer, initiator: outgoing, lastActivityMs: now, failed: null, matchedDigest: null, confirms: 0 });
      if (outgoing) session.start(now);
      this.#pump();
      return;
    }
    if (running === undefined) {
      if (ev.event.kind === "closed" && ev.remoteDestination !== null) {
        const dest = toHex(ev.remoteDestination);
        if (this.#pendingLinks.delete(dest)) {
          const known = node.engine.known.recall(ev.remoteDestination);
          if (known !== null) {
            const p = this.#peerFor(known.identity.hash);
            this.#fail(p, "the sync link was not established");
            this.#scheduleRetry(p, now);
          }
        }
      }
      return;
    }
    if (ev.event.kind === "identified") {
      // The initiator named itself: its record replaces the placeholder keyed by the link.
      const placeholder = running.peer;
      const p = this.#peerFor(ev.event.identityHash);
      if (placeholder !== p && placeholder.identity === null) {
        this.#peers.delete(placeholder.key);
        addTotals(p.totals, placeholder.totals);
        p.lastSeenMs = now;
        running.peer = p;
      }
      return;
    }
    if (ev.event.kind === "data" && ev.event.context === Context.NONE) {
      running.session.receive(ev.event.plaintext, now);
      running.lastActivityMs = now;
      running.peer.lastSeenMs = now;
      this.#pump();
    } else if (ev.event.kind === "closed") {
      this.#ended(running, now);
      this.announce(false);
    }
  }

  /** A session's link closed: fold its counters into the peer's, note how it ended, retry if it failed. */
  #ended(r: Running, now: number): void {
    this.#sessions.delete(toHex(r.linkId));
    const p = r.peer;
    const st = r.session.stats;
    addTotals(p.totals, {
      sessions: 1, entriesSent: st.entriesSent - st.entriesResent, entriesResent: st.entriesResent, entriesReceived: st.entriesReceived,
      bytesSent: st.bytesSent, bytesReceived: st.bytesReceived, rejected: sum(st.rejected), dropped: sum(st.dropped),
    });
    p.lastContactMs = now;
    if (p.identity === null) this.#peers.delete(p.key); // an anonymous responder session: nothing to keep
    if (r.failed === null && r.matchedDigest !== null) {
      // The peer said its digest equals ours: that is the peer's digest (until either log grows).
      p.digest = r.matchedDigest;
      p.failures = 0;
      p.retryAtMs = null;
      return;
    }
    const phase = runningPhase(r);
    this.#fail(p, r.failed ?? `the link closed during ${phase === "idle" ? "the start of the session" : phase === "in-sync" ? "the session" : phase} (logs not confirmed equal)`);
    if (r.initiator) this.#scheduleRetry(p, now);
  }

  #pump(): void {
    const node = this.#node;
    const now = node.clock.nowMs();
    for (const r of [...this.#sessions.values()]) {
      for (const m of r.session.takeMessages()) node.run((t) => node.engine.linkSend(r.linkId, m, t));
      let grew = false;
      for (const e of r.session.takeEvents()) {
        if (e.kind === "accepted") {
          grew = true;
          this.#digestMemo = null;
        }
        // Equal digests were just compared against our view as it is now.
        if (e.kind === "peer" && e.state === "in-sync") r.matchedDigest = this.#ourDigest();
        if (e.kind === "rejected") this.#fail(r.peer, `refused entry ${toHex(e.author)}:${e.seq} (${e.reason})`);
        if (e.kind === "stalled") {
          r.failed = `the peer stopped answering (waiting for ${e.waitingFor}${e.missing > 0 ? `, ${e.missing} entries missing` : ""})`;
          node.run((t) => node.engine.closeLink(r.linkId, t));
        }
      }
      if (grew) r.lastActivityMs = now;
      if (r.failed === null && this.#confirmDue(r, now)) {
        if (r.confirms >= CONFIRM_MAX) {
          r.failed = `the logs still differ after ${CONFIRM_MAX} exchanges`;
          node.run((t) => node.engine.closeLink(r.linkId, t));
          continue;
        }
        // Quiet and done, but no evidence the peer holds what we hold: ask (HELLO with our digest).
        r.confirms++;
        r.lastActivityMs = now;
        r.session.resync(now);
        for (const m of r.session.takeMessages()) node.run((t) => node.engine.linkSend(r.linkId, m, t));
      }
      if (now - r.lastActivityMs > IDLE_CLOSE_MS) node.run((t) => node.engine.closeLink(r.linkId, t));
    }
    this.#schedule();
  }

  /** An initiator's session with nothing awaited, quiet for a while, the logs not (or no longer) seen equal. */
  #confirmDue(r: Running, now: number): boolean {
    return this.#unconfirmed(r) && now - r.lastActivityMs >= CONFIRM_QUIET_MS;
  }

  #unconfirmed(r: Running): boolean {
    if (!r.initiator || r.failed !== null || !r.session.idle) return false;
    return r.matchedDigest === null || !equal(r.matchedDigest, this.#ourDigest());
  }

  /** Our digest, computed once per change of the log (refresh, entries accepted). */
  #ourDigest(): Bytes {
    return (this.#digestMemo ??= this.#currentHint().digest);
  }

  #schedule(): void {
    if (this.#timer !== null) this.#timers.clear(this.#timer);
    this.#timer = null;
    let next = Infinity;
    for (const r of this.#sessions.values()) {
      next = Math.min(next, r.session.nextDeadlineMs(), r.lastActivityMs + IDLE_CLOSE_MS + 1);
      if (this.#unconfirmed(r)) next = Math.min(next, r.lastActivityMs + CONFIRM_QUIET_MS);
    }
    if (next === Infinity) return;
    const wait = Math.max(0, Math.min(5_000, next - this.#node.clock.nowMs()));
    this.#timer = this.#timers.set(() => {
      this.#timer = null;
      const now = this.#node.clock.nowMs();
      for (const r of this.#sessions.values()) r.session.tick(now);
      this.#pump();
    }, wait);
  }
}

/**
 * A running session's phase for status: "in-sync" only once the digests matched; a session that merely has
 * nothing left to do (what we pushed may not have arrived) is still "summarising" until its HELLO is answered.
 */
function runningPhase(r: Running): SessionPhase {
  const phase = r.session.phase;
  return phase === "in-sync" && r.matchedDigest === null ? "summarising" : phase;
}

function emptyTotals(): PeerTotals {
  return { sessions: 0, entriesSent: 0, entriesResent: 0, entriesReceived: 0, bytesSent: 0, bytesReceived: 0, rejected: 0, dropped: 0 };
}

function addTotals(into: PeerTotals, add: PeerTotals): void {
  for (const k of Object.keys(into) as Array<keyof PeerTotals>) into[k] += add[k];
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((n, x) => n + x, 0);
}
