// Log sync in kosd: the node's sync destination "kos.log.sync" announces a hint of its log (digest and
// entry count); a peer whose announced hint differs opens a link to it, and a SyncSession runs on that
// link in both directions (runtime/log/sync), its messages travelling as link packets. The session's
// entries land in the durable store through a LogView adapter.
import { equal, toHex, type Bytes } from "../core/bytes.js";
import type { EngineEvent, LocalDestination } from "../engine/events.js";
import { Context } from "../wire/packet.js";
import type { LogEntry } from "../log/entry.js";
import type { LogStore } from "../log/store.js";
import { decideSync, decodeLogHint, encodeLogHint, type LogHint } from "../log/sync/announce-hint.js";
import { SyncSession } from "../log/sync/session.js";
import { summarize } from "../log/sync/summary.js";
import type { AcceptResult, Head, LogView } from "../log/sync/view.js";
import type { KosNode } from "./node.js";

const MAX_SESSIONS = 32;
/** Idle sessions' links close after this; a new announce opens a new one when logs differ again. */
const IDLE_CLOSE_MS = 30_000;
/** Hint changes are announced at most this often (kosctl announce forces one). */
const HINT_ANNOUNCE_MIN_MS = 60_000;

/** The durable store seen through the sync machine's LogView. */
export class StoreView implements LogView {
  constructor(private readonly store: LogStore) {}

  heads(): ReadonlyMap<string, Head> {
    const m = new Map<string, Head>();
    for (const h of this.store.heads()) m.set(toHex(h.author), { author: h.author, seq: h.seq, hash: h.hash });
    return m;
  }

  head(author: Bytes): Head | null {
    const h = this.store.head(author);
    return h === null ? null : { author: h.author, seq: h.seq, hash: h.hash };
  }

  get(author: Bytes, seq: number): LogEntry | null {
    return this.store.get(author, seq);
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

interface Running {
  session: SyncSession;
  linkId: Bytes;
  peer: string;
  lastActivityMs: number;
}

export class LogSyncService {
  readonly view: StoreView;
  readonly #node: KosNode;
  readonly #dest: LocalDestination;
  readonly #sessions = new Map<string, Running>();
  readonly #lastContact = new Map<string, number>();
  readonly #pendingLinks = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #announceTimer: NodeJS.Timeout | null = null;
  #lastAnnounceMs = 0;
  #hint: LogHint;

  constructor(node: KosNode, store: LogStore) {
    this.#node = node;
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
        this.#announceTimer = setTimeout(() => {
          this.#announceTimer = null;
          this.announce(true);
        }, HINT_ANNOUNCE_MIN_MS - (now - this.#lastAnnounceMs));
        this.#announceTimer.unref();
      }
      return;
    }
    this.#lastAnnounceMs = now;
    this.#node.run((t) => this.#node.engine.announce(this.#dest, t));
  }

  /** Tells running sessions that the store grew (a local append), so they can offer it. */
  refresh(): void {
    const now = this.#node.clock.nowMs();
    for (const r of this.#sessions.values()) r.session.refresh(now);
    this.#pump();
    this.announce(false);
  }

  status(): Array<Record<string, unknown>> {
    return [...this.#sessions.values()].map((r) => ({ peer: r.peer, link: toHex(r.linkId), role: r.session.role, ...r.session.stats }));
  }

  #currentHint(): LogHint {
    const s = summarize(this.view);
    return { digest: s.digest, entryCount: s.entryCount };
  }

  #onEvent(ev: EngineEvent): void {
    const node = this.#node;
    const now = node.clock.nowMs();
    if (ev.kind === "announce") {
      if (!equal(ev.nameHash, this.#dest.nameHash) || equal(ev.identityHash, node.identity.hash)) return;
      const peer = toHex(ev.destinationHash);
      if (this.#sessions.has(peer) || this.#pendingLinks.has(peer) || this.#sessions.size >= MAX_SESSIONS) return;
      const decision = decideSync({
        hint: decodeLogHint(ev.appData),
        ours: this.#currentHint(),
        ourIdentityHash: node.identity.hash,
        peerIdentityHash: ev.identityHash,
        nowMs: now,
        lastContactMs: this.#lastContact.get(peer) ?? null,
      });
      if (!decision.open) return;
      const opened = node.run((t) => node.engine.openLink(ev.destinationHash, t));
      if (opened.ok) this.#pendingLinks.add(peer);
      return;
    }
    if (ev.kind !== "link") return;
    const linkKey = toHex(ev.linkId);
    const incoming = ev.localDestination !== null && equal(ev.localDestination, this.#dest.hash);
    const outgoing = ev.remoteDestination !== null && this.#pendingLinks.has(toHex(ev.remoteDestination));
    const running = [...this.#sessions.values()].find((r) => toHex(r.linkId) === linkKey);
    if (ev.event.kind === "established" && (incoming || outgoing) && running === undefined) {
      const link = node.engine.link(ev.linkId);
      if (link === undefined) return;
      const peer = outgoing ? toHex(ev.remoteDestination!) : `link:${linkKey}`;
      if (outgoing) this.#pendingLinks.delete(peer);
      const session = new SyncSession({
        view: this.view,
        linkMdu: link.mdu,
        bitrateBps: 10_000_000,
        role: outgoing ? "initiator" : "responder",
        nowMs: now,
        random: node.random,
        rttMs: link.rttMs,
      });
      this.#sessions.set(peer, { session, linkId: ev.linkId, peer, lastActivityMs: now });
      if (outgoing) session.start(now);
      this.#pump();
      return;
    }
    if (running === undefined) {
      if (ev.event.kind === "closed" && ev.remoteDestination !== null) this.#pendingLinks.delete(toHex(ev.remoteDestination));
      return;
    }
    if (ev.event.kind === "data" && ev.event.context === Context.NONE) {
      running.session.receive(ev.event.plaintext, now);
      running.lastActivityMs = now;
      this.#pump();
    } else if (ev.event.kind === "closed") {
      this.#sessions.delete(running.peer);
      this.#lastContact.set(running.peer, now);
      this.announce(false);
    }
  }

  #pump(): void {
    const node = this.#node;
    const now = node.clock.nowMs();
    for (const r of [...this.#sessions.values()]) {
      for (const m of r.session.takeMessages()) node.run((t) => node.engine.linkSend(r.linkId, m, t));
      let grew = false;
      for (const e of r.session.takeEvents()) {
        if (e.kind === "accepted") grew = true;
        if (e.kind === "stalled") node.run((t) => node.engine.closeLink(r.linkId, t));
      }
      if (grew) r.lastActivityMs = now;
      if (now - r.lastActivityMs > IDLE_CLOSE_MS) node.run((t) => node.engine.closeLink(r.linkId, t));
    }
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    let next = Infinity;
    for (const r of this.#sessions.values()) next = Math.min(next, r.session.nextDeadlineMs(), r.lastActivityMs + IDLE_CLOSE_MS + 1);
    if (next === Infinity) return;
    const wait = Math.max(0, Math.min(5_000, next - this.#node.clock.nowMs()));
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const now = this.#node.clock.nowMs();
      for (const r of this.#sessions.values()) r.session.tick(now);
      this.#pump();
    }, wait);
    this.#timer.unref();
  }
}
