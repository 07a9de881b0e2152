// Local quorum in kosd: the quorum machine (runtime/quorum) on the node's engine through QuorumApp (PLAIN
// "kos.quorum" gossip on every interface, links to members beyond non-quorum relays), with this node's identity, the vote journal in the data dir and the
// action log as its memory:
// - memberships are log entries ("quorum.membership"): read from the log at start, and taken as they arrive
//   by log sync or `kosctl vote membership create`; a genesis is trusted by configuration ([quorum]);
// - every proposal seen, every certificate, equivocation evidence and every final outcome (reached, rejected,
//   expired, conflict) is written to the log once, signed by this node, so certificates verify offline
//   (`kosctl vote verify`) and open proposals come back after a restart;
// - our own votes go to the vote journal (fdatasync) before the machine sends them; the journal is fed back
//   at start, so a restarted member re-sends the same vote and refuses another;
// - vote policies from the config cast this node's vote on matching proposals.
import { equal, toHex, type Bytes } from "../core/bytes.js";
import type { Logger } from "../core/ports.js";
import { QuorumApp } from "../engine/quorum-app.js";
import type { LogEntry } from "../log/entry.js";
import type { LogStore } from "../log/store.js";
import { decodeCertificate, decodeEquivocation, type Certificate } from "../quorum/certificate.js";
import { QUORUM_LIMITS } from "../quorum/limits.js";
import { QuorumMachine, type QuorumEvent } from "../quorum/machine.js";
import { MEMBERSHIP_KIND, createMembership, decodeMembership, memberIndex, membershipFromEntry, withCertificate, type Membership } from "../quorum/membership.js";
import { encodeProposalMessage } from "../quorum/messages.js";
import { decodeProposal, type Proposal } from "../quorum/proposal.js";
import type { TallyView } from "../quorum/tally.js";
import { Choice, choiceName } from "../quorum/vote.js";
import { packMsgpack, unpackMsgpack } from "../wire/msgpack.js";
import { matchPolicy, type QuorumConfig } from "./config/quorum.js";
import type { KosNode } from "./node.js";
import { QUORUM_KINDS } from "./quorum-verify.js";
import type { VoteJournal } from "./vote-journal.js";

/** Proposals remembered for `kosctl vote list/show` (the machine forgets them 10 min after the deadline). */
const MAX_TRACKED = 256;
/** Entries to this node's log waiting to be written; beyond, the newest is dropped and counted. */
const MAX_LOG_QUEUE = 1024;
const MAX_WATCHERS = 32;
/** Even with nothing due, the machine's interfaces are re-read this often (they come and go with drivers). */
const MAX_SLEEP_MS = 1000;
/** Pseudo-source for proposals and certificates read back from the log. */
const FROM_LOG = { kind: "link", peer: "action-log" } as const;
const FINAL: ReadonlySet<string> = new Set(["reached", "rejected", "expired", "conflict"]);

export interface TrackedProposal {
  proposal: Proposal;
  membership: Membership;
  /** Member index -> choice, as counted here. */
  votes: Map<number, number>;
  view: TallyView | null;
  certificate: Certificate | null;
  seenAtMs: number;
  decidedAtMs: number | null;
  /** The policy that cast our vote, if one did. */
  policy: string | null;
}

export type WatchEvent = { proposal: string; event: string; view: TallyView | null; voter?: number; choice?: string; outcome?: string };

export class QuorumService {
  readonly machine: QuorumMachine;
  readonly app: QuorumApp;
  readonly #node: KosNode;
  readonly #store: LogStore;
  readonly #config: QuorumConfig;
  readonly #journal: VoteJournal;
  readonly #log: Logger;
  /** Trust handed to the machine; author keys are added as trusted authors' entries are met (the machine reads it live). */
  readonly #trust: { genesisIds: Bytes[]; genesisAuthorKeys: Bytes[] };
  readonly #tracked = new Map<string, TrackedProposal>();
  /** Keys of what this node already wrote to its log (proposal id, cert id+outcome, evidence id+voter, outcome id+status). */
  readonly #logged = new Set<string>();
  /** Drafts of membership successors by body hash (hex), from quorum.draft entries. */
  readonly #drafts = new Map<string, Membership>();
  readonly #pendingPersist = new Map<string, Promise<void>>();
  readonly #watchers = new Set<(e: WatchEvent) => void>();
  readonly counters = { logWrites: 0, logFailures: 0, logQueueDrops: 0, policyVotes: 0, policyFailures: 0 };
  #logQueue: Promise<void> = Promise.resolve();
  #logQueued = 0;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #offs: Array<() => void> = [];

  constructor(node: KosNode, store: LogStore, config: QuorumConfig, journal: VoteJournal, log: Logger) {
    this.#node = node;
    this.#store = store;
    this.#config = config;
    this.#journal = journal;
    this.#log = log;
    this.#trust = { genesisIds: config.trustGenesis.map((h) => Uint8Array.from(Buffer.from(h, "hex"))), genesisAuthorKeys: [] };
    for (const a of config.trustAuthors) if (a.length === 128) this.#trust.genesisAuthorKeys.push(Uint8Array.from(Buffer.from(a, "hex")));
    if (config.trustSelf) this.#trust.genesisAuthorKeys.push(node.identity.publicKey);
    const now = node.clock.nowMs();
    this.machine = new QuorumMachine({ identity: node.identity, trust: this.#trust, random: node.random, nowMs: now, skewMs: config.skewMs });
    this.app = node.run(() => new QuorumApp({
      engine: node.engine,
      machine: this.machine,
      persist: (id, vote) => this.#persist(id, vote),
      onEvent: (e) => this.#onMachineEvent(e),
      nowMs: () => node.clock.nowMs(),
      afterAsyncPersist: () => node.run(() => this.#schedule()),
    }));
  }

  /** Reads memberships, open proposals and certificates back from the log, restores our votes, starts gossip. */
  async start(): Promise<void> {
    const now = this.#node.clock.nowMs();
    const self = toHex(this.#node.identity.hash);
    const memberships: LogEntry[] = [];
    const proposals: Bytes[] = [];
    const certificates: Bytes[] = [];
    let n = 0;
    for (const r of this.#store.records()) {
      if (++n % 2000 === 0) await new Promise((res) => setImmediate(res));
      const e = r.entry;
      if (!e.kind.startsWith("quorum.")) continue;
      if (e.kind === MEMBERSHIP_KIND) memberships.push(e);
      else if (e.kind === QUORUM_KINDS.draft) this.#addDraft(e.body);
      else if (e.kind === QUORUM_KINDS.proposal) proposals.push(e.body);
      else if (e.kind === QUORUM_KINDS.certificate) certificates.push(e.body);
      if (toHex(e.author) === self) this.#noteLogged(e);
    }
    memberships.sort((a, b) => membershipVersion(a) - membershipVersion(b));
    for (const e of memberships) this.#takeMembership(e);
    const restored = this.machine.restore(this.#journal.restoreList());
    this.#node.run((t) => {
      for (const b of proposals) {
        const p = decodeProposal(b);
        if (p.ok && t <= p.value.deadlineMs + QUORUM_LIMITS.certGraceMs && this.machine.proposal(p.value.id) === null) this.machine.receive(encodeProposalMessage(b), FROM_LOG, t);
      }
      for (const b of certificates) {
        const c = decodeCertificate(b);
        if (c.ok && t <= c.value.proposal.deadlineMs + QUORUM_LIMITS.certGraceMs && this.machine.certificate(c.value.proposal.id) === null) this.machine.addCertificate(b, t);
      }
      this.app.flush(t);
    });
    this.#offs.push(this.#node.onEvent((ev) => {
      // Packets for the gossip destination, and links and announces for gossip over links.
      if (ev.kind !== "packet" && ev.kind !== "link" && ev.kind !== "announce" && ev.kind !== "path") return;
      this.app.onEngineEvent(ev, this.#node.clock.nowMs());
      this.#schedule();
    }));
    this.#offs.push(this.#store.onAppend((e) => this.#onLogEntry(e)));
    // Interfaces that came up before this service registered its link destination announced without it:
    // members beyond non-quorum relays learn its path from this announce (and from every later one).
    const linkDest = this.app.linkDestination;
    if (linkDest !== null) this.#node.run((t) => this.#node.engine.announce(linkDest, t));
    const m = this.machine.currentMembership();
    this.#log.log("info", "quorum started", {
      membership: m === null ? "none" : `${toHex(m.id)} v${m.version}`,
      restoredVotes: restored,
      journal: this.#journal.file,
      truncatedBytes: this.#journal.recovery.truncatedBytes,
      policies: this.#config.policies.length,
      at: now,
    });
    this.#schedule();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    for (const off of this.#offs) off();
    this.#node.run((t) => this.app.stop(t));
    await this.#logQueue;
    await this.#journal.close();
  }

  // ---- commands (kosctl vote) ------------------------------------------------------------------------

  /** Writes a genesis membership to this node's log and adopts it (if trusted). */
  async createMembership(members: Bytes[], threshold: number | undefined): Promise<{ membership: Membership; entry: LogEntry; trusted: boolean }> {
    const m = createMembership(threshold === undefined ? { members } : { members, threshold });
    const entry = await this.#store.appendLocal(this.#node.identity, MEMBERSHIP_KIND, m.encoded, this.#node.clock.nowMs());
    const r = this.#takeMembership(entry);
    return { membership: m, entry, trusted: r };
  }

  /** Proposes the next version of the current membership: logs the draft, then proposes its body hash. */
  async proposeMembershipChange(members: Bytes[], threshold: number | undefined, deadlineMs: number): Promise<{ proposal: Proposal; draft: Membership }> {
    const current = this.machine.currentMembership();
    if (current === null) throw new QuorumCommandError("no current membership lists this node");
    const draft = createMembership(threshold === undefined ? { members, previous: current } : { members, threshold, previous: current });
    this.#drafts.set(toHex(draft.bodyHash), draft);
    await this.#store.appendLocal(this.#node.identity, QUORUM_KINDS.draft, draft.encoded, this.#node.clock.nowMs());
    const proposal = this.#node.run((t) => {
      const r = this.machine.propose({ kind: MEMBERSHIP_KIND, payload: draft.bodyHash, deadlineMs, membershipId: current.id }, t);
      this.app.flush(t);
      if (!r.ok) throw new QuorumCommandError(`${r.reason}${r.detail ? `: ${r.detail}` : ""}`);
      return r.value;
    });
    this.#schedule();
    return { proposal, draft };
  }

  propose(kind: string, payload: Bytes, deadlineMs: number): Proposal {
    if (kind === MEMBERSHIP_KIND) throw new QuorumCommandError(`${MEMBERSHIP_KIND} proposals are made with "kosctl vote membership propose-change"`);
    const p = this.#node.run((t) => {
      const r = this.machine.propose({ kind, payload, deadlineMs }, t);
      this.app.flush(t);
      if (!r.ok) throw new QuorumCommandError(`${r.reason}${r.detail ? `: ${r.detail}` : ""}`);
      return r.value;
    });
    this.#schedule();
    return p;
  }

  /** Casts this node's vote; resolves once it is durable and sent. `resent`: the same vote was cast before. */
  async cast(proposalId: Bytes, choice: Choice): Promise<{ resent: boolean; timeMs: number; choice: string }> {
    const before = this.machine.ownVote(proposalId);
    const vote = this.#node.run((t) => {
      const r = this.machine.cast(proposalId, choice, t);
      this.app.flush(t);
      if (!r.ok && r.reason === "already-voted" && before !== null) {
        throw new QuorumCommandError(`already-voted: this node voted ${choiceName(before.vote.choice)} on ${toHex(proposalId)}; a vote cannot be changed`);
      }
      if (!r.ok) throw new QuorumCommandError(`${r.reason}${r.detail ? `: ${r.detail}` : ""}`);
      return r.value;
    });
    this.#schedule();
    const pending = this.#pendingPersist.get(toHex(proposalId));
    if (pending !== undefined) await pending;
    // The app counts and sends the vote right after the journal's promise settles.
    await new Promise((res) => setImmediate(res));
    const own = this.machine.ownVote(proposalId);
    if (own === null || !own.durable) throw new QuorumCommandError("the vote could not be written to the vote journal (see kosd's log); it was not sent");
    return { resent: before !== null && before.durable, timeMs: vote.timeMs, choice: choiceName(vote.choice) };
  }

  tracked(): TrackedProposal[] {
    return [...this.#tracked.values()];
  }

  find(prefix: string): TrackedProposal | null {
    const hits = [...this.#tracked.entries()].filter(([k]) => k.startsWith(prefix));
    if (hits.length > 1) throw new QuorumCommandError(`proposal id prefix ${prefix} is ambiguous: give more digits`);
    return hits[0]?.[1] ?? null;
  }

  /** Subscribes to proposal, vote and status events; returns the unsubscribe function. */
  watch(fn: (e: WatchEvent) => void): () => void {
    if (this.#watchers.size >= MAX_WATCHERS) throw new QuorumCommandError(`more than ${MAX_WATCHERS} watchers`);
    this.#watchers.add(fn);
    return () => this.#watchers.delete(fn);
  }

  trust(): { genesisIds: Bytes[]; genesisAuthorKeys: Bytes[] } {
    return this.#trust;
  }

  get store(): LogStore {
    return this.#store;
  }

  get journal(): VoteJournal {
    return this.#journal;
  }

  get config(): QuorumConfig {
    return this.#config;
  }

  // ---- the machine's events ----------------------------------------------------------------------------

  #onMachineEvent(e: QuorumEvent): void {
    const now = this.#node.clock.nowMs();
    switch (e.type) {
      case "proposal": {
        const hex = toHex(e.proposal.id);
        if (!this.#tracked.has(hex)) this.#track(e.proposal, e.membership, now);
        this.#logOnce(`p:${hex}`, QUORUM_KINDS.proposal, e.proposal.encoded);
        this.#notify({ proposal: hex, event: "proposal", view: this.machine.view(e.proposal.id) });
        queueMicrotask(() => this.#applyPolicy(e.proposal, e.membership));
        return;
      }
      case "vote": {
        const t = this.#tracked.get(toHex(e.proposalId));
        t?.votes.set(e.voter, e.choice);
        this.#notify({ proposal: toHex(e.proposalId), event: "vote", view: this.machine.view(e.proposalId), voter: e.voter, choice: choiceName(e.choice) });
        return;
      }
      case "status": {
        const hex = toHex(e.proposalId);
        const t = this.#tracked.get(hex);
        if (t !== undefined) {
          t.view = e.view;
          if (FINAL.has(e.view.status) && t.decidedAtMs === null) t.decidedAtMs = now;
        }
        if (FINAL.has(e.view.status)) this.#logOutcome(e.proposalId, e.view, t ?? null);
        this.#notify({ proposal: hex, event: "status", view: e.view });
        return;
      }
      case "certificate": {
        const c = e.certificate;
        const hex = toHex(c.proposal.id);
        const t = this.#tracked.get(hex);
        if (t !== undefined) t.certificate = c;
        this.#logOnce(`c:${hex}:${c.outcome}`, QUORUM_KINDS.certificate, c.encoded);
        this.#log.log("info", "quorum certificate", { proposal: hex, kind: c.proposal.kind, outcome: c.outcome, votes: c.votes.length });
        if (c.outcome === "approved" && c.proposal.kind === MEMBERSHIP_KIND) this.#adoptSuccessor(c);
        this.#notify({ proposal: hex, event: "certificate", view: this.machine.view(c.proposal.id), outcome: c.outcome });
        return;
      }
      case "evidence": {
        const ev = e.evidence;
        this.#logOnce(`e:${toHex(ev.proposal.id)}:${ev.a.voter}`, QUORUM_KINDS.evidence, ev.encoded);
        this.#log.log("warn", "quorum: a member signed two different votes (equivocation); it no longer counts for this proposal", { proposal: toHex(ev.proposal.id), voter: ev.a.voter });
        this.#notify({ proposal: toHex(ev.proposal.id), event: "evidence", view: this.machine.view(ev.proposal.id), voter: ev.a.voter });
        return;
      }
      case "conflict":
        this.#log.log("error", "quorum CONFLICT: certificates for both outcomes; more members equivocated than the threshold tolerates", { proposal: toHex(e.proposalId), equivocators: e.evidence.length });
        return;
      case "drop":
        this.#log.log("debug", "quorum input refused", { reason: e.reason, ...(e.detail !== undefined ? { detail: e.detail } : {}) });
        return;
    }
  }

  #track(p: Proposal, m: Membership, now: number): void {
    if (this.#tracked.size >= MAX_TRACKED) {
      // Forget the oldest decided (or long expired) one; open proposals are bounded by the machine anyway.
      let victim: string | null = null;
      for (const [k, t] of this.#tracked) if (t.decidedAtMs !== null || now > t.proposal.deadlineMs) {
        victim = k;
        break;
      }
      this.#tracked.delete(victim ?? this.#tracked.keys().next().value!);
    }
    this.#tracked.set(toHex(p.id), { proposal: p, membership: m, votes: new Map(), view: this.machine.view(p.id), certificate: null, seenAtMs: now, decidedAtMs: null, policy: null });
  }

  #applyPolicy(p: Proposal, m: Membership): void {
    if (this.#stopped || memberIndex(m, this.#node.identity.publicKey) < 0 || this.machine.ownVote(p.id) !== null) return;
    const proposer = toHex(m.identities[p.proposer]!.hash);
    const policy = matchPolicy(this.#config.policies, p.kind, proposer);
    if (policy === null || policy.vote === "manual") return;
    if (this.#node.clock.nowMs() > p.deadlineMs) return;
    const choice = policy.vote === "yes" ? Choice.YES : policy.vote === "no" ? Choice.NO : Choice.ABSTAIN;
    const t = this.#tracked.get(toHex(p.id));
    if (t !== undefined) t.policy = policy.name;
    this.cast(p.id, choice).then(
      () => {
        this.counters.policyVotes++;
        this.#log.log("info", "quorum: voted by policy", { proposal: toHex(p.id), kind: p.kind, policy: policy.name, vote: policy.vote });
      },
      (err: unknown) => {
        this.counters.policyFailures++;
        this.#log.log("warn", "quorum: policy vote failed", { proposal: toHex(p.id), policy: policy.name, error: (err as Error).message });
      },
    );
  }

  #logOutcome(proposalId: Bytes, view: TallyView, t: TrackedProposal | null): void {
    const hex = toHex(proposalId);
    const p = t?.proposal ?? this.machine.proposal(proposalId);
    const body = packMsgpack({
      proposal: proposalId, membership: p?.membershipId ?? null, kind: p?.kind ?? null, deadlineMs: p?.deadlineMs ?? null,
      status: view.status, yes: view.yes, no: view.no, abstain: view.abstain, equivocators: view.equivocators,
    });
    this.#logOnce(`o:${hex}:${view.status}`, QUORUM_KINDS.outcome, body);
  }

  /** An approved membership change: with its draft known, the successor (draft + certificate) becomes current. */
  #adoptSuccessor(c: Certificate): void {
    const draft = this.#drafts.get(toHex(c.proposal.payload));
    if (draft === undefined) return;
    const next = withCertificate(draft, c.encoded);
    const r = this.machine.addMembership(next);
    if (!r.ok) return void this.#log.log("warn", "quorum: approved membership refused", { reason: r.reason, detail: r.detail ?? "" });
    this.#logOnce(`m:${toHex(next.id)}`, MEMBERSHIP_KIND, next.encoded);
    this.#log.log("info", "quorum: membership changed", { membership: toHex(next.id), version: next.version, members: next.members.length, threshold: next.threshold });
  }

  // ---- the action log ----------------------------------------------------------------------------------

  /** A membership entry from the log: trusted authors' keys join the trust, then the machine takes it. */
  #takeMembership(e: LogEntry): boolean {
    const m = membershipFromEntry(e);
    if (!m.ok) {
      this.#log.log("warn", "quorum: unreadable membership entry in the log", { author: toHex(e.author), seq: e.seq, reason: m.detail ?? m.reason });
      return false;
    }
    const author = toHex(e.author);
    if (this.#config.trustAuthors.includes(author)) {
      const key = e.authorKey.length > 0 ? e.authorKey : this.#store.get(e.author, 1)?.authorKey ?? null;
      if (key !== null && !this.#trust.genesisAuthorKeys.some((k) => equal(k, key))) this.#trust.genesisAuthorKeys.push(key);
    }
    const r = this.#node.run((t) => {
      const x = this.machine.addMembership(m.value, e);
      this.app.flush(t);
      return x;
    });
    if (!r.ok) this.#log.log("info", "quorum: membership not adopted", { membership: toHex(m.value.id), version: m.value.version, reason: r.reason, detail: r.detail ?? "" });
    return r.ok;
  }

  #onLogEntry(e: LogEntry): void {
    if (this.#stopped || !e.kind.startsWith("quorum.")) return;
    const own = equal(e.author, this.#node.identity.hash);
    if (e.kind === MEMBERSHIP_KIND) {
      if (!own) this.#takeMembership(e);
    } else if (e.kind === QUORUM_KINDS.draft) {
      this.#addDraft(e.body);
    } else if (own) {
      return; // what we wrote came from the machine
    } else if (e.kind === QUORUM_KINDS.proposal) {
      const p = decodeProposal(e.body);
      if (!p.ok || this.machine.proposal(p.value.id) !== null) return;
      this.#node.run((t) => {
        if (t > p.value.deadlineMs + QUORUM_LIMITS.certGraceMs) return;
        this.machine.receive(encodeProposalMessage(e.body), FROM_LOG, t);
        this.app.flush(t);
      });
    } else if (e.kind === QUORUM_KINDS.certificate) {
      const c = decodeCertificate(e.body);
      if (!c.ok) return;
      const held = this.machine.certificate(c.value.proposal.id);
      if (held !== null && held.outcome === c.value.outcome) return;
      this.#node.run((t) => {
        if (t > c.value.proposal.deadlineMs + QUORUM_LIMITS.certGraceMs) return;
        this.machine.addCertificate(e.body, t);
        this.app.flush(t);
      });
    }
    this.#schedule();
  }

  #addDraft(body: Bytes): void {
    const d = decodeMembership(body);
    if (d.ok && d.value.previousId !== null && this.#drafts.size < QUORUM_LIMITS.maxProposals * 4) this.#drafts.set(toHex(d.value.bodyHash), d.value);
  }

  #noteLogged(e: LogEntry): void {
    if (e.kind === QUORUM_KINDS.proposal) {
      const p = decodeProposal(e.body);
      if (p.ok) this.#logged.add(`p:${toHex(p.value.id)}`);
    } else if (e.kind === QUORUM_KINDS.certificate) {
      const c = decodeCertificate(e.body);
      if (c.ok) this.#logged.add(`c:${toHex(c.value.proposal.id)}:${c.value.outcome}`);
    } else if (e.kind === QUORUM_KINDS.evidence || e.kind === QUORUM_KINDS.outcome) {
      // Evidence and outcomes are keyed by what they say; re-reading them costs a decode each.
      const key = outcomeKey(e);
      if (key !== null) this.#logged.add(key);
    } else if (e.kind === MEMBERSHIP_KIND) {
      const m = membershipFromEntry(e);
      if (m.ok) this.#logged.add(`m:${toHex(m.value.id)}`);
    }
  }

  /** Appends one entry signed by this node, once per key; appends run in order, failures are logged and counted. */
  #logOnce(key: string, kind: string, body: Bytes): void {
    if (this.#logged.has(key)) return;
    if (this.#logQueued >= MAX_LOG_QUEUE) {
      this.counters.logQueueDrops++;
      return;
    }
    this.#logged.add(key);
    this.#logQueued++;
    this.#logQueue = this.#logQueue.then(async () => {
      try {
        await this.#store.appendLocal(this.#node.identity, kind, body, this.#node.clock.nowMs());
        this.counters.logWrites++;
      } catch (err) {
        this.counters.logFailures++;
        this.#logged.delete(key);
        this.#log.log("error", "quorum: cannot write to the action log", { kind, error: (err as Error).message });
      } finally {
        this.#logQueued--;
      }
    });
  }

  // ---- plumbing ----------------------------------------------------------------------------------------

  #persist(proposalId: Bytes, vote: Bytes): Promise<void> {
    const p = this.machine.proposal(proposalId);
    // The deadline only decides when the journal may forget the vote: unknown, keep it a lifetime long.
    const deadline = p?.deadlineMs ?? this.#node.clock.nowMs() + QUORUM_LIMITS.maxLifetimeMs;
    const hex = toHex(proposalId);
    const done = this.#journal.append(vote, deadline);
    const settled = done.then(
      () => undefined,
      (err: unknown) => this.#log.log("error", "quorum: cannot write the vote journal; the vote is not sent", { proposal: hex, error: (err as Error).message }),
    );
    this.#pendingPersist.set(hex, settled);
    void settled.then(() => {
      if (this.#pendingPersist.get(hex) === settled) this.#pendingPersist.delete(hex);
    });
    return done;
  }

  #notify(e: WatchEvent): void {
    for (const w of [...this.#watchers]) {
      try {
        w(e);
      } catch {
        this.#watchers.delete(w);
      }
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const now = this.#node.clock.nowMs();
    const wait = Math.max(0, Math.min(MAX_SLEEP_MS, this.app.nextDeadlineMs() - now));
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#node.run((t) => this.app.tick(t));
      this.#schedule();
    }, wait);
    this.#timer.unref();
  }
}

/** An operator-facing refusal of a quorum command (the machine's reason and detail). */
export class QuorumCommandError extends Error {
  override name = "QuorumCommandError";
}

function membershipVersion(e: LogEntry): number {
  const m = membershipFromEntry(e);
  return m.ok ? m.value.version : Number.MAX_SAFE_INTEGER;
}

function outcomeKey(e: LogEntry): string | null {
  if (e.kind === QUORUM_KINDS.evidence) {
    const d = decodeEquivocation(e.body);
    return d.ok ? `e:${toHex(d.value.proposal.id)}:${d.value.a.voter}` : null;
  }
  const u = unpackMsgpack(e.body);
  if (!u.ok || !(u.value instanceof Map)) return null;
  const p = u.value.get("proposal");
  const s = u.value.get("status");
  return p instanceof Uint8Array && typeof s === "string" ? `o:${toHex(p)}:${s}` : null;
}
