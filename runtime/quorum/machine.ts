// Local quorum as a sans-IO machine: bytes, commands and `now` in; actions (packets to broadcast or send, own
// votes to persist), events and the next deadline out. It never reads a clock, a socket or a file.
//
// How it works. A proposal is broadcast once by its proposer on every interface and link. Each member's vote
// is broadcast once by that member, after the host has made it durable (persistVote -> votePersisted); the
// vote guard refuses to sign a second choice for a proposal, across restarts (restore). Every node tallies
// what it hears (tally.ts) and forms the certificate as soon as a threshold agrees. Nothing is relayed
// blindly: anti-entropy runs on HAVE beacons (proposal id + bitmap of votes held + certificate flags), on a
// Trickle timer per proposal: the interval starts short, doubles while all is quiet, resets on news, and a
// beacon is skipped when a neighbour already said the same thing in this interval. A HAVE that shows a
// neighbour lacks votes we hold makes us send them; one that shows we lack votes makes us ask (WANT). Answers
// on a broadcast medium wait a random moment and are cancelled when another node answers first, so on a
// lossless channel a decision costs about one proposal, one packet per vote and a HAVE or two. Beacons stop
// at the deadline (plus the skew allowance), or once a certificate is known and was said once. After that,
// votes travel only inside CERT messages (proof of a decision, accepted late); plain votes arriving after the
// local deadline plus the skew are dropped. Every table is bounded (limits.ts), every refusal counted.
import { equal, toHex, type Bytes } from "../core/bytes.js";
import type { RandomSource } from "../core/ports.js";
import { truncatedHash } from "../crypto/hashes.js";
import type { Identity } from "../crypto/identity.js";
import type { LogEntry } from "../log/entry.js";
import { decodeCertificate, outcomeChoice, verifyCertificate, type Certificate, type Outcome } from "./certificate.js";
import { trustedGenesis, verifyMembershipStep, type MembershipTrust } from "./chain.js";
import { newStats, type QuorumAction, type QuorumEvent, type QuorumStats, type Source } from "./events.js";
import { ID_LENGTH, MessageType, QUORUM_LIMITS, qerr, qok, type QResult } from "./limits.js";
import { memberIndex, type Membership } from "./membership.js";
import {
  HAVE_APPROVED, HAVE_REJECTED, WANT_CERT, WANT_PROPOSAL, bitSet, bitmapOf, decodeMessage, encodeCertMessages, encodeHave, encodeProposalMessage,
  encodeVoteMessages, encodeWant,
} from "./messages.js";
import { createProposal, decodeProposal, verifyProposal, type Proposal } from "./proposal.js";
import { Tally, type TallyView } from "./tally.js";
import { decodeVote, encodeVote, signVote, type Choice, type Vote } from "./vote.js";

export type { QuorumAction, QuorumEvent, QuorumStats, Source } from "./events.js";

export interface QuorumMachineOptions {
  /** This node's identity, with its private key (to sign its proposals and votes). */
  identity: Identity;
  /** Which genesis memberships to trust. */
  trust: MembershipTrust;
  /** Jitter for beacons and answers (CSPRNG on a node, seeded in simulation). */
  random: RandomSource;
  nowMs: number;
  /** Broadcast interfaces to gossip on (more with addInterface). */
  interfaces?: readonly string[];
  /** Largest message we send (default 383, the smallest Reticulum MDU at MTU 500). */
  mdu?: number;
  /** Clock difference tolerated between members (default 2 s). */
  skewMs?: number;
  haveMinIntervalMs?: number;
  haveMaxIntervalMs?: number;
  responseJitterMs?: number;
}

type Dest = Source;
const destKey = (d: Dest): string => (d.kind === "broadcast" ? `b:${d.iface}` : `l:${d.peer}`);

/** What we owe one destination for one proposal, sent together when due. */
interface Pending {
  dest: Dest;
  dueMs: number;
  proposal: boolean;
  push: Set<number>;
  want: Set<number>;
  wantFlags: number;
}

interface Active {
  hex: string;
  proposal: Proposal;
  membership: Membership;
  tally: Tally;
  lastView: string;
  conflictReported: boolean;
  // Trickle state of the HAVE beacon.
  intervalMs: number;
  intervalEndMs: number;
  beaconAtMs: number;
  fired: boolean;
  /**
   * Consistent HAVEs heard in this interval, per destination (interface or link): a beacon is skipped only where
   * a neighbour already said the same, so a node between two media still speaks on the quiet one.
   */
  heard: Map<string, number>;
  certSaid: boolean;
  done: boolean;
  pending: Map<string, Pending>;
}

interface GuardEntry {
  vote: Vote;
  durable: boolean;
  /** Deadline of its proposal once known: the entry may be forgotten only after it (signing is refused then anyway). */
  deadlineMs: number | null;
}

interface Orphan {
  vote: Vote;
  cert: Outcome | null;
  atMs: number;
}

const TYPE_NAMES: Record<number, string> = { 1: "proposal", 2: "vote", 3: "have", 4: "want", 5: "cert" };

export class QuorumMachine {
  readonly stats: QuorumStats = newStats();
  readonly #identity: Identity;
  readonly #trust: MembershipTrust;
  readonly #random: RandomSource;
  readonly #mdu: number;
  readonly #skewMs: number;
  readonly #haveMinMs: number;
  readonly #haveMaxMs: number;
  readonly #jitterMs: number;
  #nowMs: number;
  /** Broadcast interfaces and their bitrate (null: fast enough not to matter). */
  readonly #ifaces = new Map<string, number | null>();
  readonly #links = new Set<string>();
  readonly #memberships = new Map<string, { m: Membership; successor: string | null }>();
  readonly #active = new Map<string, Active>();
  readonly #orphans = new Map<string, Orphan[]>();
  #orphanCount = 0;
  /** Asks for proposals we heard of but do not hold, per destination. */
  readonly #wantProposal = new Map<string, { proposalId: Bytes; dest: Dest; dueMs: number; flags: number }>();
  /** Proposals of restored journal votes, not known yet: asked for (with their certificate) once we can speak. */
  readonly #recover = new Set<string>();
  /** Content hashes of PROPOSAL/VOTE/CERT messages handled, and ids of proposals refused (not asked for again). */
  readonly #seen = new Map<string, true>();
  readonly #guard = new Map<string, GuardEntry>();
  #actions: QuorumAction[] = [];
  #events: QuorumEvent[] = [];

  constructor(o: QuorumMachineOptions) {
    if (!o.identity.hasPrivateKey) throw new TypeError("the quorum machine needs an identity with its private key");
    this.#identity = o.identity;
    this.#trust = o.trust;
    this.#random = o.random;
    this.#nowMs = o.nowMs;
    this.#mdu = o.mdu ?? QUORUM_LIMITS.defaultMdu;
    if (!Number.isInteger(this.#mdu) || this.#mdu < 128 || this.#mdu > QUORUM_LIMITS.maxInputBytes) throw new RangeError(`mdu must be 128..${QUORUM_LIMITS.maxInputBytes}`);
    this.#skewMs = o.skewMs ?? QUORUM_LIMITS.defaultSkewMs;
    this.#haveMinMs = o.haveMinIntervalMs ?? QUORUM_LIMITS.haveMinIntervalMs;
    this.#haveMaxMs = Math.max(this.#haveMinMs, o.haveMaxIntervalMs ?? QUORUM_LIMITS.haveMaxIntervalMs);
    this.#jitterMs = o.responseJitterMs ?? QUORUM_LIMITS.responseJitterMs;
    for (const i of o.interfaces ?? []) this.#ifaces.set(i, null);
  }

  // ---- topology ----------------------------------------------------------------------------------------

  /**
   * A broadcast interface to gossip on. Its bitrate (bits/s), when given, spreads answers on a slow medium
   * (LoRa) over the time they would take on air, so that one neighbour answers and the others overhear it.
   */
  addInterface(iface: string, opts: { bitrateBps?: number } = {}): void {
    const b = opts.bitrateBps;
    this.#ifaces.set(iface, b !== undefined && Number.isFinite(b) && b > 0 ? b : null);
  }

  removeInterface(iface: string): void {
    this.#ifaces.delete(iface);
  }

  /** A link to `peer` came up: it hears our proposals and votes from now on, and a HAVE for each open one. */
  linkUp(peer: string, nowMs: number): void {
    this.#advance(nowMs);
    this.#links.add(peer);
    for (const a of this.#active.values()) if (!this.#closed(a)) this.#out({ kind: "link", peer }, encodeHave(a.proposal.id, this.#certFlags(a), a.tally.heldBitmap()));
  }

  linkDown(peer: string): void {
    this.#links.delete(peer);
    for (const a of this.#active.values()) a.pending.delete(`l:${peer}`);
  }

  // ---- memberships, proposals, votes (local commands) ----------------------------------------------------

  /**
   * Adds a membership: a genesis must be trusted (pinned id, or `entry` signed by a pinned author); a later
   * version must carry a valid certificate of a membership already added. Its predecessor becomes stale: new
   * proposals naming it are refused (proposals already open finish under it).
   */
  addMembership(m: Membership, entry?: LogEntry): QResult<Membership> {
    const hex = toHex(m.id);
    if (this.#memberships.has(hex)) return qok(m);
    if (m.previousId === null) {
      if (!trustedGenesis(m, this.#trust, entry)) return this.#refuse("unknown-membership", "genesis not trusted");
    } else {
      const prev = this.#memberships.get(toHex(m.previousId));
      if (prev === undefined) return this.#refuse("unknown-membership", "previous membership not known");
      if (prev.successor !== null) return this.#refuse("stale-membership", `membership ${toHex(m.previousId)} already has a successor`);
      const step = verifyMembershipStep(prev.m, m);
      if (!step.ok) return this.#refuse(step.reason, step.detail);
      prev.successor = hex;
    }
    if (this.#memberships.size >= QUORUM_LIMITS.maxProposals * 4) return this.#refuse("table-full", "memberships");
    this.#memberships.set(hex, { m, successor: null });
    return qok(m);
  }

  /** The newest membership of a chain this node knows that has no successor and lists this node (or null). */
  currentMembership(): Membership | null {
    let best: Membership | null = null;
    for (const { m, successor } of this.#memberships.values()) {
      if (successor === null && memberIndex(m, this.#identity.publicKey) >= 0 && (best === null || m.version > best.version)) best = m;
    }
    return best;
  }

  /** Signs and spreads a proposal of a current membership (default: currentMembership()). */
  propose(spec: { kind: string; payload: Bytes; deadlineMs: number; membershipId?: Bytes }, nowMs: number): QResult<Proposal> {
    this.#advance(nowMs);
    const m = spec.membershipId !== undefined ? this.#memberships.get(toHex(spec.membershipId))?.m ?? null : this.currentMembership();
    if (m === null) return qerr("unknown-membership", "no current membership lists this node");
    if (memberIndex(m, this.#identity.publicKey) < 0) return qerr("not-member", "this node is not a member");
    let p: Proposal;
    try {
      p = createProposal(this.#identity, m, { kind: spec.kind, payload: spec.payload, deadlineMs: spec.deadlineMs, createdMs: Math.floor(this.#nowMs) });
    } catch (e) {
      return qerr(spec.payload.length > QUORUM_LIMITS.maxPayloadBytes ? "oversized" : "malformed", (e as Error).message);
    }
    const r = this.#accept(p, false);
    if (!r.ok) return r;
    this.#remember(truncatedHash(encodeProposalMessage(p.encoded)));
    this.#toAll(encodeProposalMessage(p.encoded));
    return qok(p);
  }

  /**
   * Votes on a proposal. The vote is signed and handed to the host as persistVote; it is counted and sent
   * only on votePersisted. A second call with the same choice re-sends a durable vote; another choice is
   * refused ("already-voted"), also after a restart once the journal was restored.
   */
  cast(proposalId: Bytes, choice: Choice, nowMs: number): QResult<Vote> {
    this.#advance(nowMs);
    const hex = toHex(proposalId);
    const held = this.#guard.get(hex);
    if (held !== undefined) {
      if (held.vote.choice !== choice) return qerr("already-voted", `this node already voted ${held.vote.choice} on ${hex}`);
      if (held.durable) this.#sendOwn(held.vote);
      return qok(held.vote);
    }
    const a = this.#active.get(hex);
    if (a === undefined) return qerr("unknown-proposal", hex);
    if (memberIndex(a.membership, this.#identity.publicKey) < 0) return qerr("not-member", "this node is not a member");
    if (this.#nowMs > a.proposal.deadlineMs) return qerr("late", "the deadline has passed");
    if (!this.#guardRoom()) return qerr("table-full", "vote guard full: prune the journal of finished proposals");
    const vote = signVote(this.#identity, a.proposal, a.membership, choice, Math.floor(this.#nowMs));
    this.#guard.set(hex, { vote, durable: false, deadlineMs: a.proposal.deadlineMs });
    this.#actions.push({ type: "persistVote", proposalId: vote.proposalId, vote: encodeVote(vote) });
    return qok(vote);
  }

  /** The host made our vote on `proposalId` durable: count it and send it. */
  votePersisted(proposalId: Bytes, nowMs: number): void {
    this.#advance(nowMs);
    const g = this.#guard.get(toHex(proposalId));
    if (g === undefined || g.durable) return;
    g.durable = true;
    const a = this.#active.get(toHex(proposalId));
    if (a !== undefined) this.#apply(a, [g.vote], null, null);
    this.#sendOwn(g.vote);
  }

  /** On start: our own votes from the journal (88 bytes each). They bind the vote guard and count when their proposal is known. */
  restore(journal: readonly Bytes[]): number {
    let n = 0;
    for (const b of journal) {
      const v = decodeVote(b);
      if (!v.ok) {
        this.#drop("malformed", "journal vote");
        continue;
      }
      const hex = toHex(v.value.proposalId);
      if (this.#guard.has(hex)) continue;
      this.#guard.set(hex, { vote: v.value, durable: true, deadlineMs: null });
      // Ask the neighbours for the newest ones we do not hold (the proposal may have been decided meanwhile).
      if (!this.#active.has(hex) && this.#recover.size < QUORUM_LIMITS.maxProposals) this.#recover.add(hex);
      const a = this.#active.get(hex);
      if (a !== undefined) {
        this.#guard.get(hex)!.deadlineMs = a.proposal.deadlineMs;
        this.#apply(a, [v.value], null, null);
      }
      n++;
    }
    return n;
  }

  /** A certificate from elsewhere (the action log, a file): verified against its membership, then adopted. */
  addCertificate(encoded: Bytes, nowMs: number): QResult<Certificate> {
    this.#advance(nowMs);
    const d = decodeCertificate(encoded);
    if (!d.ok) return this.#refuse(d.reason, d.detail);
    const c = d.value;
    const m = this.#memberships.get(toHex(c.proposal.membershipId))?.m;
    if (m === undefined) return this.#refuse("unknown-membership", "certificate of an unknown membership");
    const v = verifyCertificate(c, m);
    if (!v.ok) return this.#refuse(v.reason, v.detail);
    let a = this.#active.get(toHex(c.proposal.id));
    if (a === undefined && this.#accept(c.proposal, true).ok) a = this.#active.get(toHex(c.proposal.id));
    if (a !== undefined && a.tally.adopt(c)) {
      this.stats.certificates++;
      this.#emit({ type: "certificate", certificate: c });
      this.#changed(a);
    }
    return qok(c);
  }

  // ---- input from the network --------------------------------------------------------------------------

  /** One received packet's payload. Remote input never throws: a refusal is counted by reason. */
  receive(bytes: Bytes, source: Source, nowMs: number): void {
    this.#advance(nowMs);
    this.stats.messagesIn++;
    const d = decodeMessage(bytes);
    if (!d.ok) return void this.#drop(d.reason, d.detail);
    const m = d.value;
    const dk = destKey(source);
    if (m.type === MessageType.HAVE) return this.#onHave(m.proposalId, m.flags, m.bitmap, source);
    if (m.type === MessageType.WANT) return this.#onWant(m.proposalId, m.flags, m.bitmap, source);
    // Someone answered: the same answer from us would only repeat it on this interface.
    if (m.type === MessageType.VOTE || m.type === MessageType.CERT) this.#suppress(toHex(m.proposalId), dk, m.votes.map((v) => v.voter));
    let proposal: Proposal | null = null;
    if (m.type === MessageType.PROPOSAL) {
      const p = decodeProposal(m.proposal);
      if (!p.ok) return void this.#drop(p.reason, p.detail);
      proposal = p.value;
      const hex = toHex(proposal.id);
      for (const [k, w] of this.#wantProposal) if (toHex(w.proposalId) === hex && destKey(w.dest) === dk) this.#wantProposal.delete(k);
      const owed = this.#active.get(hex)?.pending.get(dk);
      if (owed !== undefined && source.kind === "broadcast") owed.proposal = false;
    }
    const hash = truncatedHash(bytes);
    if (this.#seen.has(toHex(hash))) return void this.#drop("duplicate");
    this.#remember(hash);
    if (proposal !== null) {
      const r = this.#accept(proposal, false);
      if (!r.ok) {
        this.#remember(proposal.id);
        this.#drop(r.reason, r.detail);
      }
      return;
    }
    if (m.type === MessageType.PROPOSAL) return;
    const a = this.#active.get(toHex(m.proposalId));
    const cert = m.type === MessageType.CERT ? m.outcome : null;
    if (a === undefined) return this.#orphan(m.proposalId, m.votes, cert, source);
    this.#apply(a, m.votes, cert, source);
  }

  tick(nowMs: number): void {
    this.#advance(nowMs);
    const now = this.#nowMs;
    for (const a of [...this.#active.values()]) {
      if (now > a.proposal.deadlineMs + QUORUM_LIMITS.certGraceMs) {
        this.#active.delete(a.hex);
        continue;
      }
      this.#changed(a);
      for (const [k, p] of a.pending) {
        if (p.dueMs <= now) {
          a.pending.delete(k);
          this.#flush(a, p);
        }
      }
      this.#beacon(a);
    }
    for (const [k, w] of this.#wantProposal) {
      if (w.dueMs > now) continue;
      this.#wantProposal.delete(k);
      if (!this.#active.has(toHex(w.proposalId))) this.#out(w.dest, encodeWant(w.proposalId, w.flags, new Uint8Array(0)));
    }
    if (this.#recover.size > 0 && this.#ifaces.size + this.#links.size > 0) {
      const dests: Dest[] = [...[...this.#ifaces.keys()].map((iface): Dest => ({ kind: "broadcast", iface })), ...[...this.#links].map((peer): Dest => ({ kind: "link", peer }))];
      for (const hex of this.#recover) {
        if (this.#active.has(hex)) continue;
        const g = this.#guard.get(hex);
        if (g !== undefined) for (const d of dests) this.#askProposal(g.vote.proposalId, d, WANT_PROPOSAL | WANT_CERT);
      }
      this.#recover.clear();
    }
    for (const [hex, list] of this.#orphans) {
      const keep = list.filter((o) => now - o.atMs <= QUORUM_LIMITS.orphanHoldMs);
      this.#orphanCount -= list.length - keep.length;
      if (keep.length === 0) this.#orphans.delete(hex);
      else this.#orphans.set(hex, keep);
    }
  }

  nextDeadlineMs(): number {
    let t = Infinity;
    for (const a of this.#active.values()) {
      t = Math.min(t, a.proposal.deadlineMs + QUORUM_LIMITS.certGraceMs + 1);
      if (this.#nowMs <= a.proposal.deadlineMs) t = Math.min(t, a.proposal.deadlineMs + 1);
      if (!a.done) t = Math.min(t, a.fired ? a.intervalEndMs : a.beaconAtMs);
      for (const p of a.pending.values()) t = Math.min(t, p.dueMs);
    }
    for (const w of this.#wantProposal.values()) t = Math.min(t, w.dueMs);
    for (const list of this.#orphans.values()) for (const o of list) t = Math.min(t, o.atMs + QUORUM_LIMITS.orphanHoldMs + 1);
    return t;
  }

  /** Proposals still taking votes (deadline plus skew not passed at the last `now` seen): hosts keep links to far members while any is. */
  openProposals(): number {
    let n = 0;
    for (const a of this.#active.values()) if (!this.#closed(a)) n++;
    return n;
  }

  takeActions(): QuorumAction[] {
    const out = this.#actions;
    this.#actions = [];
    return out;
  }

  takeEvents(): QuorumEvent[] {
    const out = this.#events;
    this.#events = [];
    return out;
  }

  // ---- queries -----------------------------------------------------------------------------------------

  view(proposalId: Bytes): TallyView | null {
    return this.#active.get(toHex(proposalId))?.tally.view(this.#nowMs) ?? null;
  }

  certificate(proposalId: Bytes): Certificate | null {
    const t = this.#active.get(toHex(proposalId))?.tally;
    return t?.certificate("approved") ?? t?.certificate("rejected") ?? null;
  }

  proposal(proposalId: Bytes): Proposal | null {
    return this.#active.get(toHex(proposalId))?.proposal ?? null;
  }

  /** Our own vote on a proposal, if the guard holds one (pending or durable). */
  ownVote(proposalId: Bytes): { vote: Vote; durable: boolean } | null {
    const g = this.#guard.get(toHex(proposalId));
    return g === undefined ? null : { vote: g.vote, durable: g.durable };
  }

  // ---- proposals and votes -----------------------------------------------------------------------------

  #accept(p: Proposal, forCertificate: boolean): QResult<Active> {
    const hex = toHex(p.id);
    const have = this.#active.get(hex);
    if (have !== undefined) return qok(have);
    const entry = this.#memberships.get(toHex(p.membershipId));
    if (entry === undefined) return qerr("unknown-membership", toHex(p.membershipId));
    if (entry.successor !== null && !forCertificate) return qerr("stale-membership", `membership v${entry.m.version} was replaced`);
    const v = verifyProposal(p, entry.m);
    if (!v.ok) return v;
    const now = this.#nowMs;
    if (now > p.deadlineMs + QUORUM_LIMITS.certGraceMs) return qerr("expired", "deadline long past");
    if (!forCertificate && p.createdMs > now + this.#skewMs) return qerr("future", "created in the future");
    if (!forCertificate) {
      let open = 0;
      for (const a of this.#active.values()) if (a.proposal.proposer === p.proposer && equal(a.proposal.membershipId, p.membershipId) && now <= a.proposal.deadlineMs) open++;
      if (open >= QUORUM_LIMITS.maxOpenPerProposer) return qerr("proposer-quota", `proposer ${p.proposer} has ${open} open proposals`);
    }
    if (this.#active.size >= QUORUM_LIMITS.maxProposals) {
      // Make room by forgetting the proposal whose deadline passed longest ago; open ones are never evicted.
      let victim: Active | null = null;
      for (const a of this.#active.values()) if (now > a.proposal.deadlineMs + this.#skewMs && (victim === null || a.proposal.deadlineMs < victim.proposal.deadlineMs)) victim = a;
      if (victim === null) return qerr("table-full", "proposals");
      this.#active.delete(victim.hex);
    }
    const a: Active = {
      hex, proposal: p, membership: entry.m, tally: new Tally(p, entry.m), lastView: "", conflictReported: false,
      intervalMs: this.#haveMinMs, intervalEndMs: 0, beaconAtMs: 0, fired: false, heard: new Map(), certSaid: false, done: false, pending: new Map(),
    };
    this.#active.set(hex, a);
    this.#resetTrickle(a);
    this.#emit({ type: "proposal", proposal: p, membership: entry.m });
    const own = this.#guard.get(hex);
    if (own !== undefined) {
      own.deadlineMs = p.deadlineMs;
      if (own.durable) this.#apply(a, [own.vote], null, null);
    }
    const orphans = this.#orphans.get(hex);
    if (orphans !== undefined) {
      this.#orphans.delete(hex);
      this.#orphanCount -= orphans.length;
      for (const o of orphans) {
        this.stats.orphansRecovered++;
        this.#apply(a, [o.vote], o.cert, null);
      }
    }
    this.#changed(a);
    return qok(a);
  }

  /** Votes from the network (source set), the journal or ourselves (source null). */
  #apply(a: Active, votes: readonly Vote[], cert: Outcome | null, source: Source | null): void {
    if (source !== null && cert === null && this.#nowMs > a.proposal.deadlineMs + this.#skewMs) {
      for (let i = 0; i < votes.length; i++) this.#drop("late-arrival");
      return;
    }
    let news = false;
    for (const v of votes) {
      if (cert !== null && v.choice !== outcomeChoice(cert)) {
        this.#drop("wrong-outcome");
        continue;
      }
      const r = a.tally.add(v);
      if (!r.ok) {
        this.#drop(r.reason, r.detail);
        continue;
      }
      const o = r.value;
      if (o.kind === "duplicate" || o.kind === "excluded") {
        this.#drop(o.kind);
      } else if (o.kind === "equivocation") {
        this.stats.equivocations++;
        this.#drop("equivocation");
        this.#emit({ type: "evidence", evidence: o.evidence });
        // Both votes go out once, so that neighbours holding either one see the conflict too.
        this.#toAll(...encodeVoteMessages(a.proposal.id, [o.evidence.a, o.evidence.b], this.#mdu));
        news = true;
      } else {
        news = true;
        this.stats.votesCounted++;
        this.#emit({ type: "vote", proposalId: a.proposal.id, voter: v.voter, choice: v.choice });
        if (o.formed !== null) {
          this.stats.certificates++;
          this.#emit({ type: "certificate", certificate: o.formed });
        }
      }
    }
    if (news && !a.done && !a.certSaid) this.#resetTrickle(a);
    this.#changed(a);
  }

  #orphan(proposalId: Bytes, votes: readonly Vote[], cert: Outcome | null, source: Source): void {
    const hex = toHex(proposalId);
    for (let i = 0; i < votes.length; i++) this.#drop("unknown-proposal");
    if (this.#seen.has(hex)) return; // a proposal we refused: its votes are not worth keeping
    let list = this.#orphans.get(hex);
    for (const v of votes) {
      if (this.#orphanCount >= QUORUM_LIMITS.maxOrphanVotes) {
        const [oldest, l] = this.#orphans.entries().next().value as [string, Orphan[]];
        this.#orphans.delete(oldest);
        this.#orphanCount -= l.length;
        if (oldest === hex) list = undefined;
      }
      if (list === undefined) this.#orphans.set(hex, (list = []));
      list.push({ vote: v, cert, atMs: this.#nowMs });
      this.#orphanCount++;
    }
    this.#askProposal(proposalId, source);
  }

  #askProposal(proposalId: Bytes, source: Source, flags: number = WANT_PROPOSAL): void {
    const k = `${toHex(proposalId)}|${destKey(source)}`;
    if (this.#wantProposal.has(k) || this.#wantProposal.size >= QUORUM_LIMITS.maxOrphanVotes) return;
    this.#wantProposal.set(k, { proposalId, dest: source, dueMs: this.#nowMs + this.#jitter(source, 1), flags });
  }

  #sendOwn(v: Vote): void {
    this.#toAll(...encodeVoteMessages(v.proposalId, [v], this.#mdu));
  }

  /** Emits status (and conflict) events when the tally's view changed. */
  #changed(a: Active): void {
    const v = a.tally.view(this.#nowMs);
    const key = `${v.status}|${v.canApprove}|${v.canReject}|${v.equivocators.join(",")}`;
    if (key !== a.lastView) {
      a.lastView = key;
      this.#emit({ type: "status", proposalId: a.proposal.id, view: v });
    }
    if (v.status === "conflict" && !a.conflictReported) {
      a.conflictReported = true;
      this.#emit({ type: "conflict", proposalId: a.proposal.id, approved: a.tally.certificate("approved")!, rejected: a.tally.certificate("rejected")!, evidence: a.tally.evidence });
    }
  }

  // ---- anti-entropy ------------------------------------------------------------------------------------

  #certFlags(a: Active): number {
    return (a.tally.certificate("approved") !== null ? HAVE_APPROVED : 0) | (a.tally.certificate("rejected") !== null ? HAVE_REJECTED : 0);
  }

  /** Past the deadline and its skew: plain votes are no longer taken, only certificates. */
  #closed(a: Active): boolean {
    return this.#nowMs > a.proposal.deadlineMs + this.#skewMs;
  }

  #onHave(proposalId: Bytes, flags: number, bitmap: Bytes, source: Source): void {
    const hex = toHex(proposalId);
    const a = this.#active.get(hex);
    if (a === undefined) {
      if (!this.#seen.has(hex)) this.#askProposal(proposalId, source);
      return;
    }
    const n = a.membership.members.length;
    if (bitmap.length !== Math.ceil(n / 8)) return void this.#drop("malformed", "bitmap size");
    const mine = a.tally.heldBitmap();
    const myFlags = this.#certFlags(a);
    if (equal(mine, bitmap) && myFlags === flags) {
      const k = destKey(source);
      a.heard.set(k, (a.heard.get(k) ?? 0) + 1);
      return;
    }
    const theyLack: number[] = [];
    const weLack: number[] = [];
    for (let i = 0; i < n; i++) {
      const ours = bitSet(mine, i);
      const theirs = bitSet(bitmap, i);
      if (ours && !theirs) theyLack.push(i);
      if (theirs && !ours) weLack.push(i);
    }
    // A neighbour holding a certificate we hold (or any, when we hold none) needs no more votes from us, and
    // once we hold one we need no more from anyone: on a lossy channel members' vote sets keep differing, and
    // trading the rest of them would only spend airtime.
    if (flags !== 0 && (myFlags === 0 || (flags & myFlags) !== 0)) theyLack.length = 0;
    if (myFlags !== 0) weLack.length = 0;
    if (theyLack.length === 0 && weLack.length === 0 && (flags & ~myFlags) === 0) {
      a.heard.set(destKey(source), (a.heard.get(destKey(source)) ?? 0) + 1);
      return;
    }
    // They lack votes we hold: send them (inside CERT messages when they are part of our certificate, which is
    // also all we send once closed). We lack votes they hold: ask, or ask for the certificate once closed.
    const p = this.#pending(a, source);
    if (!this.#closed(a)) {
      for (const i of theyLack) p.push.add(i);
      for (const i of weLack) p.want.add(i);
    } else if (weLack.length > 0) {
      p.wantFlags |= WANT_CERT;
    }
    const c = this.#certificateFor(a);
    if (c !== null && this.#closed(a) && (myFlags & ~flags) !== 0) for (const v of c.votes) if (!bitSet(bitmap, v.voter)) p.push.add(v.voter);
    if ((flags & ~myFlags) !== 0 && this.#closed(a)) p.wantFlags |= WANT_CERT;
    if (!a.done && !a.certSaid) this.#resetTrickle(a);
  }

  #onWant(proposalId: Bytes, flags: number, bitmap: Bytes, source: Source): void {
    const hex = toHex(proposalId);
    const a = this.#active.get(hex);
    const dk = destKey(source);
    if (a === undefined) {
      // Another node asks for the same proposal here: its answer will reach us as well.
      if (flags & WANT_PROPOSAL) this.#wantProposal.delete(`${hex}|${dk}`);
      return;
    }
    // The same question from another node on this interface: ours would be a repeat.
    const ours = a.pending.get(dk);
    if (ours !== undefined && source.kind === "broadcast") {
      for (let i = 0; i < bitmap.length * 8; i++) if (bitSet(bitmap, i)) ours.want.delete(i);
      ours.wantFlags &= ~flags;
    }
    const n = a.membership.members.length;
    if (bitmap.length > Math.ceil(n / 8)) return void this.#drop("malformed", "bitmap size");
    const p = this.#pending(a, source);
    if (flags & WANT_PROPOSAL) p.proposal = true;
    const c = this.#certificateFor(a);
    if (this.#closed(a) || (flags & WANT_CERT) !== 0) {
      if (c !== null) for (const v of c.votes) p.push.add(v.voter);
    } else {
      for (let i = 0; i < n; i++) if (bitSet(bitmap, i) && a.tally.vote(i) !== undefined) p.push.add(i);
    }
  }

  #certificateFor(a: Active): Certificate | null {
    return a.tally.certificate("approved") ?? a.tally.certificate("rejected");
  }

  #pending(a: Active, dest: Dest): Pending {
    const k = destKey(dest);
    let p = a.pending.get(k);
    if (p === undefined) {
      p = { dest, dueMs: this.#nowMs + this.#jitter(dest, a.membership.members.length), proposal: false, push: new Set(), want: new Set(), wantFlags: 0 };
      a.pending.set(k, p);
    }
    return p;
  }

  #suppress(hex: string, dk: string, voters: number[]): void {
    const p = this.#active.get(hex)?.pending.get(dk);
    if (p === undefined || p.dest.kind !== "broadcast") {
      if (p !== undefined) for (const v of voters) p.want.delete(v);
      return;
    }
    for (const v of voters) {
      p.push.delete(v);
      p.want.delete(v);
    }
  }

  #flush(a: Active, p: Pending): void {
    const out: Bytes[] = [];
    if (p.proposal) out.push(encodeProposalMessage(a.proposal.encoded));
    if (p.push.size > 0) {
      const c = this.#certificateFor(a);
      const inCert = new Set(c?.votes.map((v) => v.voter) ?? []);
      const certVotes = c === null ? [] : c.votes.filter((v) => p.push.has(v.voter));
      if (c !== null && certVotes.length > 0) out.push(...encodeCertMessages(a.proposal.id, c.outcome, certVotes, this.#mdu));
      if (!this.#closed(a)) {
        const plain: Vote[] = [];
        for (const i of p.push) {
          if (inCert.has(i)) continue;
          const v = a.tally.vote(i);
          if (v !== undefined) plain.push(v);
        }
        for (const e of a.tally.evidence) if (p.push.has(e.a.voter)) plain.push(e.b);
        if (plain.length > 0) out.push(...encodeVoteMessages(a.proposal.id, plain, this.#mdu));
      }
    }
    const want = [...p.want].filter((i) => a.tally.vote(i) === undefined);
    const wantVotes = want.length > 0 && !this.#closed(a);
    const wantCert = this.#certificateFor(a) === null && (p.wantFlags & WANT_CERT) !== 0;
    if (wantVotes || wantCert) out.push(encodeWant(a.proposal.id, wantCert ? WANT_CERT : 0, wantVotes ? bitmapOf(want, a.membership.members.length) : new Uint8Array(0)));
    for (const m of out) this.#out(p.dest, m);
  }

  #resetTrickle(a: Active): void {
    a.intervalMs = this.haveMinIntervalMs(a.membership.members.length);
    this.#startInterval(a, this.#nowMs);
  }

  #startInterval(a: Active, startMs: number): void {
    a.intervalEndMs = startMs + a.intervalMs;
    a.beaconAtMs = Math.floor(startMs + a.intervalMs / 2 + this.#uniform() * (a.intervalMs / 2));
    a.fired = false;
    a.heard.clear();
  }

  #beacon(a: Active): void {
    if (a.done) return;
    const now = this.#nowMs;
    const hasCert = this.#certificateFor(a) !== null;
    if (this.#closed(a)) {
      a.done = true;
      return;
    }
    if (!a.fired && now >= a.beaconAtMs) {
      a.fired = true;
      const have = encodeHave(a.proposal.id, this.#certFlags(a), a.tally.heldBitmap());
      const dests: Dest[] = [...[...this.#ifaces.keys()].map((iface): Dest => ({ kind: "broadcast", iface })), ...[...this.#links].map((peer): Dest => ({ kind: "link", peer }))];
      for (const d of dests) if ((a.heard.get(destKey(d)) ?? 0) < QUORUM_LIMITS.haveRedundancy) this.#out(d, have);
      // Said, or each neighbourhood already heard exactly what we would: the certificate is known around us.
      if (hasCert) a.certSaid = true;
    }
    if (a.fired && now >= a.intervalEndMs) {
      // With the certificate held and said, beacons go on at the longest interval until the deadline: a member
      // that missed the proposal (partitioned, restarted) hears of it in time, at one HAVE a minute around it.
      a.intervalMs = hasCert && a.certSaid ? this.#haveMaxMs : Math.min(a.intervalMs * 2, this.#haveMaxMs);
      this.#startInterval(a, now);
    }
  }

  // ---- plumbing ----------------------------------------------------------------------------------------

  #toAll(...messages: Bytes[]): void {
    for (const m of messages) {
      for (const iface of this.#ifaces.keys()) this.#out({ kind: "broadcast", iface }, m);
      for (const peer of this.#links) this.#out({ kind: "link", peer }, m);
    }
  }

  #out(dest: Dest, bytes: Bytes): void {
    // persistVote never goes through here, so it is never the one dropped.
    if (this.#actions.length >= QUORUM_LIMITS.maxQueuedActions) return void this.#drop("actions-full");
    this.#actions.push(dest.kind === "broadcast" ? { type: "broadcast", iface: dest.iface, bytes } : { type: "send", peer: dest.peer, bytes });
    this.stats.messagesOut++;
    this.stats.bytesOut += bytes.length;
    const name = TYPE_NAMES[bytes[0]!] ?? "other";
    this.stats.sent[name] = (this.stats.sent[name] ?? 0) + 1;
  }

  /** How long an answer to `dest` waits: 0 over a link; on a broadcast interface a random part of its window. */
  #jitter(dest: Dest, members: number): number {
    return dest.kind === "link" ? 0 : Math.floor(this.#uniform() * this.responseWindowMs(dest.iface, members));
  }

  /**
   * The answer window on a broadcast interface: at least responseJitterMs; on a slow one, as long as answers
   * from every member would take on air (times the spread factor), capped. Neighbours that could all answer
   * then mostly hear the first one before their own turn, instead of all queueing theirs behind it.
   */
  /**
   * Trickle's shortest interval for a proposal of `members`: at least haveMinIntervalMs; with a slow broadcast
   * interface, long enough for every member's HAVE to fit on air (times the spread factor), since on a lossy
   * channel every member's HAVE differs and none is suppressed. Capped by the longest interval.
   */
  haveMinIntervalMs(members: number): number {
    let slowest = Infinity;
    for (const b of this.#ifaces.values()) if (b !== null) slowest = Math.min(slowest, b);
    if (!Number.isFinite(slowest)) return this.#haveMinMs;
    const airMs = (QUORUM_LIMITS.typicalHaveBytes * 8 * 1000) / slowest;
    return Math.min(this.#haveMaxMs, Math.max(this.#haveMinMs, airMs * members * QUORUM_LIMITS.haveSpreadFactor));
  }

  responseWindowMs(iface: string, members: number): number {
    const bps = this.#ifaces.get(iface) ?? null;
    if (bps === null) return this.#jitterMs;
    const airMs = (QUORUM_LIMITS.typicalAnswerBytes * 8 * 1000) / bps;
    return Math.max(this.#jitterMs, Math.min(QUORUM_LIMITS.maxResponseWindowMs, airMs * members * QUORUM_LIMITS.responseSpreadFactor));
  }

  #uniform(): number {
    const b = this.#random.bytes(4);
    return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) / 2 ** 32;
  }

  #guardRoom(): boolean {
    if (this.#guard.size < QUORUM_LIMITS.maxGuardEntries) return true;
    // Only votes whose deadline has passed may be forgotten: no vote can be signed for those any more.
    for (const [k, g] of this.#guard) {
      if (g.durable && g.deadlineMs !== null && this.#nowMs > g.deadlineMs) {
        this.#guard.delete(k);
        return true;
      }
    }
    return false;
  }

  #remember(hash: Bytes): void {
    const k = toHex(hash.subarray(0, ID_LENGTH));
    if (this.#seen.size >= QUORUM_LIMITS.maxDedup) this.#seen.delete(this.#seen.keys().next().value as string);
    this.#seen.set(k, true);
  }

  #advance(nowMs: number): void {
    if (!Number.isFinite(nowMs)) throw new RangeError(`nowMs must be finite, got ${nowMs}`);
    this.#nowMs = Math.max(this.#nowMs, nowMs);
  }

  #refuse<T>(reason: string, detail?: string): QResult<T> {
    this.#drop(reason, detail);
    return qerr(reason, detail);
  }

  #drop(reason: string, detail?: string): void {
    this.stats.dropped[reason] = (this.stats.dropped[reason] ?? 0) + 1;
    this.#emit(detail === undefined ? { type: "drop", reason } : { type: "drop", reason, detail });
  }

  #emit(e: QuorumEvent): void {
    if (this.#events.length >= QUORUM_LIMITS.maxQueuedEvents) {
      this.#events.shift();
      this.stats.dropped["events-full"] = (this.stats.dropped["events-full"] ?? 0) + 1;
    }
    this.#events.push(e);
  }
}
