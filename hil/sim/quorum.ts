// Local quorum on simulated nodes, as kosd runs it: every node of the setup runs a QuorumApp (the quorum
// machine gossiping as PLAIN "kos.quorum" packets on every interface of its engine), members vote on what
// they hear, and Byzantine members run an adversary instead. The membership is a genesis of the chosen
// members (their seeded identities), trusted by id. Each node's vote journal lives in memory outside its
// engine and survives crashes, so the vote guard holds across restarts; a vote becomes durable after a
// modelled fsync delay (a crash before that loses it, and it was never sent).
//
// Byzantine roles (each one a member that does not run the honest machine):
//   equivocate  signs both yes and no and hands each to a different half of the honest nodes directly (not on
//               the medium: the worst case, where no neighbour overhears both), first as VOTEs, then as CERT votes
//   forge       votes of honest members with random signatures, its own index signed by a key that is not a
//               member's, voter indexes past the membership, as VOTE and CERT
//   replay      honest votes of an earlier proposal, verbatim and relabelled to the current one, and the current
//               proposal's votes again later
//   late        a vote timed after the deadline (VOTE and CERT), and one timed before it but sent after the
//               deadline plus the skew allowance
//   silent      never votes
// Everything is recorded for assertions and property tests: certificates with the virtual time each node got
// one (each checked offline with verifyCertificate at once), conflicts, evidence, drops by reason, messages
// sent by type.
import { equal, toHex, utf8, type Bytes } from "../../runtime/core/bytes.js";
import { seededRandom, type RandomSource } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import type { Engine } from "../../runtime/engine/engine.js";
import type { EngineEvent, LocalDestination } from "../../runtime/engine/events.js";
import { QUORUM_APP_NAME, QUORUM_ASPECTS, QuorumApp } from "../../runtime/engine/quorum-app.js";
import { verifyCertificate, type Certificate } from "../../runtime/quorum/certificate.js";
import type { QuorumEvent } from "../../runtime/quorum/events.js";
import { MessageType, QUORUM_LIMITS } from "../../runtime/quorum/limits.js";
import { QuorumMachine } from "../../runtime/quorum/machine.js";
import { createMembership, type Membership } from "../../runtime/quorum/membership.js";
import { decodeMessage, encodeCertMessages, encodeVoteMessages } from "../../runtime/quorum/messages.js";
import { decodeProposal, verifyProposal, type Proposal } from "../../runtime/quorum/proposal.js";
import { Choice, decodeVote, signVote, type Vote } from "../../runtime/quorum/vote.js";
import { Context, DestinationType, HeaderType, PacketType, TransportType, encodePacket } from "../../runtime/wire/packet.js";
import { destinationHashOf } from "../../runtime/wire/destination.js";
import type { HostedApp, SimNode } from "./node.js";
import { EPOCH_MS, mixSeed, type Simulator } from "./sim.js";

export const BYZANTINE_ROLES = ["equivocate", "forge", "replay", "late", "silent"] as const;
export type ByzantineRole = (typeof BYZANTINE_ROLES)[number];
export const VOTE_CHOICES = ["yes", "no", "abstain", "none"] as const;
/** What an honest member votes; "none": it does not vote. */
export type VoteChoice = (typeof VOTE_CHOICES)[number];

export interface QuorumSetup {
  /** Member node names, in membership order (a member's index is its position). */
  members: string[];
  /** Default floor(2n/3)+1. */
  threshold?: number;
  /** Nodes that run quorum without being members (they gossip); default every other node. */
  relays?: string[];
  byzantine?: Record<string, ByzantineRole>;
  /** What honest members vote unless a proposal says otherwise. */
  vote: VoteChoice;
  votes?: Record<string, VoteChoice>;
  /** A member votes at a random moment up to this long after it learns a proposal. */
  voteDelayMs: number;
  /** How long the journal takes to make a vote durable (0: at once). */
  fsyncMs: number;
  /** Overrides of the machines' timers. */
  machine?: { haveMinIntervalMs?: number; haveMaxIntervalMs?: number; responseJitterMs?: number; skewMs?: number };
  /** Gossip over links to members beyond relays that do not run quorum (default true, as kosd). */
  links?: boolean;
  /** Path requests for members' link destinations never heard announced (default true, as kosd). */
  pathRequests?: boolean;
}

export interface ProposeSpec {
  /** The name assertions use. */
  name: string;
  node: string;
  kind?: string;
  payload?: Bytes;
  /** Deadline, from the moment of proposing. */
  lifetimeMs: number;
  vote?: VoteChoice;
  votes?: Record<string, VoteChoice>;
}

export interface ProposalRecord {
  name: string;
  proposer: string;
  /** Virtual time proposed, and the deadline in virtual ms. */
  atMs: number;
  deadlineMs: number;
  proposal: Proposal | null;
  /** Why proposing failed (the proposer was down, refused). */
  error: string | null;
  spec: ProposeSpec;
}

export interface CertificateRecord {
  node: string;
  atMs: number;
  certificate: Certificate;
  /** verifyCertificate against the membership, at the moment it was reported. */
  verified: boolean;
  detail: string;
}

export interface QuorumTotals {
  messagesOut: number;
  bytesOut: number;
  sent: Record<string, number>;
  dropped: Record<string, number>;
  votesCounted: number;
  equivocations: number;
}

const CHOICE: Record<Exclude<VoteChoice, "none">, Choice> = { yes: Choice.YES, no: Choice.NO, abstain: Choice.ABSTAIN };
const addInto = (to: Record<string, number>, from: Record<string, number>): void => {
  for (const [k, v] of Object.entries(from)) to[k] = (to[k] ?? 0) + v;
};

/** Local quorum on a Simulator: install() before run(). */
export class QuorumSim {
  readonly membership: Membership;
  readonly nodes = new Map<string, QuorumNode>();
  readonly byzantine = new Map<string, ByzantineNode>();
  readonly proposals: ProposalRecord[] = [];
  readonly #byHex = new Map<string, ProposalRecord>();
  readonly certificates: CertificateRecord[] = [];
  readonly conflicts: { node: string; atMs: number; proposal: string }[] = [];
  readonly evidence: { node: string; atMs: number; voter: number }[] = [];
  /** Frames handed to nodes directly by Byzantine members (not on the medium). */
  directFrames = 0;
  readonly destination: Bytes = destinationHashOf([QUORUM_APP_NAME, ...QUORUM_ASPECTS].join("."), null);

  constructor(
    readonly sim: Simulator,
    readonly setup: QuorumSetup,
  ) {
    const seen = new Set<string>();
    for (const m of setup.members) {
      if (seen.has(m)) throw new RangeError(`quorum: member ${m} listed twice`);
      seen.add(m);
      sim.node(m);
    }
    for (const [b, role] of Object.entries(setup.byzantine ?? {})) {
      if (!seen.has(b)) throw new RangeError(`quorum: Byzantine node ${b} is not a member`);
      if (!(BYZANTINE_ROLES as readonly string[]).includes(role)) throw new RangeError(`quorum: unknown Byzantine role ${role}`);
    }
    this.membership = createMembership({ members: setup.members.map((m) => sim.node(m).identity.publicKey), ...(setup.threshold !== undefined ? { threshold: setup.threshold } : {}) });
    const relays = setup.relays ?? sim.nodes.map((n) => n.spec.name).filter((n) => !seen.has(n));
    for (const name of [...setup.members, ...relays]) {
      const node = sim.node(name);
      const role = setup.byzantine?.[name];
      if (role !== undefined) {
        const b = new ByzantineNode(this, node, role, setup.members.indexOf(name));
        this.byzantine.set(name, b);
        node.hosted.push(b);
      } else {
        const q = new QuorumNode(this, node, setup.members.indexOf(name));
        this.nodes.set(name, q);
        node.hosted.push(q);
      }
    }
  }

  /** Honest members (running the machine, not Byzantine). */
  honestMembers(): QuorumNode[] {
    return [...this.nodes.values()].filter((q) => q.memberIndex >= 0);
  }

  /** Proposes on a node now; the record says why when it could not. */
  propose(spec: ProposeSpec): ProposalRecord {
    const sim = this.sim;
    const rec: ProposalRecord = { name: spec.name, proposer: spec.node, atMs: sim.nowMs, deadlineMs: sim.nowMs + spec.lifetimeMs, proposal: null, error: null, spec };
    this.proposals.push(rec);
    const q = this.nodes.get(spec.node);
    if (q === undefined) {
      rec.error = `${spec.node} does not run the honest quorum machine`;
      return rec;
    }
    const node = sim.node(spec.node);
    sim.call(node, (_e, now) => {
      const app = q.app;
      if (app === null) return;
      const r = app.machine.propose({ kind: spec.kind ?? "alarm.confirm", payload: spec.payload ?? utf8(spec.name), deadlineMs: EPOCH_MS + rec.deadlineMs }, now);
      if (!r.ok) {
        rec.error = `${r.reason}${r.detail ? `: ${r.detail}` : ""}`;
        return;
      }
      rec.proposal = r.value;
      this.#byHex.set(toHex(r.value.id), rec);
      app.flush(now);
    });
    if (rec.proposal === null && rec.error === null) rec.error = `${spec.node} is down`;
    return rec;
  }

  proposal(name: string): ProposalRecord | undefined {
    return this.proposals.find((p) => p.name === name);
  }

  recordOf(proposalId: Bytes): ProposalRecord | undefined {
    return this.#byHex.get(toHex(proposalId));
  }

  /** What an honest member votes on a proposal (null: it does not vote). */
  choiceOf(node: string, proposalId: Bytes): Choice | null {
    const rec = this.recordOf(proposalId);
    const c = rec?.spec.votes?.[node] ?? this.setup.votes?.[node] ?? rec?.spec.vote ?? this.setup.vote;
    return c === "none" ? null : CHOICE[c];
  }

  /** The first certificate each node got for a proposal (by virtual time). */
  firstCertificates(proposalId: Bytes): Map<string, CertificateRecord> {
    const out = new Map<string, CertificateRecord>();
    for (const c of this.certificates) if (equal(c.certificate.proposal.id, proposalId) && !out.has(c.node)) out.set(c.node, c);
    return out;
  }

  /** Safety over the whole run: null when fine, else what went wrong. */
  safetyViolation(): string | null {
    for (const c of this.certificates) if (!c.verified) return `${c.node} holds a certificate that does not verify offline: ${c.detail}`;
    if (this.conflicts.length > 0) return `conflicting certificates at ${this.conflicts[0]!.node} for ${this.conflicts[0]!.proposal}`;
    const outcome = new Map<string, { o: string; node: string }>();
    for (const c of this.certificates) {
      const k = toHex(c.certificate.proposal.id);
      const o = outcome.get(k);
      if (o === undefined) outcome.set(k, { o: c.certificate.outcome, node: c.node });
      else if (o.o !== c.certificate.outcome) return `${o.node} holds an ${o.o} certificate and ${c.node} a ${c.certificate.outcome} one for ${this.recordOf(c.certificate.proposal.id)?.name ?? k}`;
    }
    // Honest members never sign two choices: every certificate vote of an honest member is its journal's vote.
    for (const c of this.certificates) {
      for (const v of c.certificate.votes) {
        const name = this.setup.members[v.voter]!;
        const q = this.nodes.get(name);
        if (q === undefined) continue;
        const own = q.journalVote(v.proposalId);
        if (own === null || own.choice !== v.choice) return `${c.node}'s certificate holds a ${v.choice} vote of honest ${name}, whose journal says ${own?.choice ?? "nothing"}`;
      }
    }
    for (const q of this.nodes.values()) {
      const seen = new Map<string, number>();
      for (const b of q.journal) {
        const v = decodeVote(b);
        if (!v.ok) return `${q.node.spec.name}: journal entry does not decode`;
        const k = toHex(v.value.proposalId);
        const prev = seen.get(k);
        if (prev !== undefined && prev !== v.value.choice) return `honest ${q.node.spec.name} journalled two choices for one proposal`;
        seen.set(k, v.value.choice);
      }
    }
    return null;
  }

  /** Counters summed over every honest quorum node and every boot. */
  totals(): QuorumTotals {
    const t: QuorumTotals = { messagesOut: 0, bytesOut: 0, sent: {}, dropped: {}, votesCounted: 0, equivocations: 0 };
    for (const q of this.nodes.values()) {
      const s = q.totals();
      t.messagesOut += s.messagesOut;
      t.bytesOut += s.bytesOut;
      t.votesCounted += s.votesCounted;
      t.equivocations += s.equivocations;
      addInto(t.sent, s.sent);
      addInto(t.dropped, s.dropped);
    }
    return t;
  }

  /** Hands raw gossip bytes to one node as if received on its first interface that is up (a Byzantine's directed send). */
  deliverDirect(to: SimNode, data: Bytes, delayMs: number): void {
    const raw = encodePacket({
      headerType: HeaderType.HEADER_1, contextFlag: false, transportType: TransportType.BROADCAST, destinationType: DestinationType.PLAIN,
      packetType: PacketType.DATA, hops: 0, transportId: null, destinationHash: this.destination, context: Context.NONE, data,
    });
    this.directFrames++;
    this.sim.after(delayMs, () => {
      const port = to.ports.find((p) => p.ifaceId !== null);
      if (port === undefined) return;
      const id = port.ifaceId!;
      this.sim.call(to, (engine, now) => engine.inbound(id, raw, now));
    }, to);
  }

  /** @internal */
  onEvent(q: QuorumNode, e: QuorumEvent): void {
    const name = q.node.spec.name;
    const now = this.sim.nowMs;
    if (e.type === "certificate") {
      const v = verifyCertificate(e.certificate, this.membership);
      this.certificates.push({ node: name, atMs: now, certificate: e.certificate, verified: v.ok, detail: v.ok ? "" : `${v.reason}${v.detail ? `: ${v.detail}` : ""}` });
      if (this.sim.trace.on) this.sim.trace.add(now, `quorum ${name} certificate ${e.certificate.outcome} ${this.recordOf(e.certificate.proposal.id)?.name ?? "?"} (${e.certificate.votes.length} votes)`);
    } else if (e.type === "conflict") {
      this.conflicts.push({ node: name, atMs: now, proposal: this.recordOf(e.proposalId)?.name ?? toHex(e.proposalId) });
    } else if (e.type === "evidence") {
      this.evidence.push({ node: name, atMs: now, voter: e.evidence.a.voter });
    }
  }
}

/** One honest node's quorum: its machine on its engine (rebuilt at every boot) and its journal (kept). */
export class QuorumNode implements HostedApp {
  readonly journal: Bytes[] = [];
  app: QuorumApp | null = null;
  /** Casts refused (already-voted after a restart with another choice, late...), by reason. */
  readonly refused: Record<string, number> = {};
  readonly #random: RandomSource;
  readonly #past: QuorumTotals = { messagesOut: 0, bytesOut: 0, sent: {}, dropped: {}, votesCounted: 0, equivocations: 0 };
  /** Overrides the member's choice on proposals it learns after this many boots (to test the vote guard). */
  flipAfterBoots: number | null = null;
  #boots = 0;

  constructor(
    readonly q: QuorumSim,
    readonly node: SimNode,
    readonly memberIndex: number,
  ) {
    this.#random = seededRandom(mixSeed(q.sim.options.seed, 7000 + node.index));
  }

  journalVote(proposalId: Bytes): Vote | null {
    for (const b of this.journal) {
      const v = decodeVote(b);
      if (v.ok && equal(v.value.proposalId, proposalId)) return v.value;
    }
    return null;
  }

  boot(engine: Engine, nowMs: number): void {
    this.#boots++;
    const o = this.q.setup.machine ?? {};
    const machine = new QuorumMachine({
      identity: this.node.identity, trust: { genesisIds: [this.q.membership.id] }, random: this.#random, nowMs,
      ...(o.haveMinIntervalMs !== undefined ? { haveMinIntervalMs: o.haveMinIntervalMs } : {}),
      ...(o.haveMaxIntervalMs !== undefined ? { haveMaxIntervalMs: o.haveMaxIntervalMs } : {}),
      ...(o.responseJitterMs !== undefined ? { responseJitterMs: o.responseJitterMs } : {}),
      ...(o.skewMs !== undefined ? { skewMs: o.skewMs } : {}),
    });
    const added = machine.addMembership(this.q.membership);
    if (!added.ok) throw new Error(`quorum: genesis refused: ${added.reason}`);
    machine.restore(this.journal);
    const app: QuorumApp = new QuorumApp({
      engine, machine, nowMs: () => this.q.sim.engineTimeMs(),
      persist: (proposalId, vote): "deferred" | void => this.#persist(app, proposalId, vote),
      onEvent: (e) => this.#onEvent(app, e),
      ...(this.q.setup.links === false ? { links: false } : {}),
      ...(this.q.setup.pathRequests === false ? { pathRequests: false } : {}),
    });
    this.app = app;
    app.tick(nowMs);
  }

  onEngineEvent(ev: EngineEvent, nowMs: number): void {
    this.app?.onEngineEvent(ev, nowMs);
  }

  tick(nowMs: number): void {
    this.app?.tick(nowMs);
  }

  nextDeadlineMs(): number {
    return this.app?.nextDeadlineMs() ?? Infinity;
  }

  down(): void {
    if (this.app === null) return;
    const s = this.app.machine.stats;
    this.#past.messagesOut += s.messagesOut;
    this.#past.bytesOut += s.bytesOut;
    this.#past.votesCounted += s.votesCounted;
    this.#past.equivocations += s.equivocations;
    addInto(this.#past.sent, s.sent);
    addInto(this.#past.dropped, s.dropped);
    this.app.stop();
    this.app = null;
  }

  totals(): QuorumTotals {
    const t: QuorumTotals = { ...this.#past, sent: { ...this.#past.sent }, dropped: { ...this.#past.dropped } };
    const s = this.app?.machine.stats;
    if (s !== undefined) {
      t.messagesOut += s.messagesOut;
      t.bytesOut += s.bytesOut;
      t.votesCounted += s.votesCounted;
      t.equivocations += s.equivocations;
      addInto(t.sent, s.sent);
      addInto(t.dropped, s.dropped);
    }
    return t;
  }

  #persist(app: QuorumApp, proposalId: Bytes, vote: Bytes): "deferred" | void {
    const fsync = this.q.setup.fsyncMs;
    if (fsync <= 0) {
      this.journal.push(vote.slice());
      return;
    }
    // Written now, durable (and so sent) after the sync; a crash meanwhile loses it (the callback is bound to this boot).
    const sim = this.q.sim;
    sim.after(fsync, () => sim.call(this.node, (_e, now) => {
      this.journal.push(vote.slice());
      app.votePersisted(proposalId, now);
    }), this.node);
    return "deferred";
  }

  #onEvent(app: QuorumApp, e: QuorumEvent): void {
    this.q.onEvent(this, e);
    if (e.type !== "proposal" || this.memberIndex < 0) return;
    let choice = this.q.choiceOf(this.node.spec.name, e.proposal.id);
    if (choice === null) return;
    if (this.flipAfterBoots !== null && this.#boots > this.flipAfterBoots) choice = choice === Choice.YES ? Choice.NO : Choice.YES;
    const sim = this.q.sim;
    const id = e.proposal.id;
    const delay = Math.floor((this.#random.bytes(2)[0]! * 256 + this.#random.bytes(1)[0]!) / 65_536 * this.q.setup.voteDelayMs);
    const c = choice;
    sim.after(delay, () => sim.call(this.node, (_e, now) => {
      if (this.app !== app) return;
      const r = app.machine.cast(id, c, now);
      if (!r.ok) this.refused[r.reason] = (this.refused[r.reason] ?? 0) + 1;
      app.flush(now);
    }), this.node);
  }
}

/** A Byzantine member: listens for proposals on its engine and attacks each one as its role says. */
export class ByzantineNode implements HostedApp {
  #engine: Engine | null = null;
  #dest: LocalDestination | null = null;
  readonly #random: RandomSource & { next32(): number };
  readonly #seen = new Set<string>();
  /** Honest VOTE messages heard, per proposal (for replays). */
  readonly #heard = new Map<string, Bytes[]>();
  readonly #stranger: Identity;
  /** Messages this member sent or handed out, by what they were. */
  readonly sent: Record<string, number> = {};

  constructor(
    readonly q: QuorumSim,
    readonly node: SimNode,
    readonly role: ByzantineRole,
    readonly memberIndex: number,
  ) {
    this.#random = seededRandom(mixSeed(q.sim.options.seed, 9000 + node.index));
    this.#stranger = Identity.generate(this.#random);
  }

  boot(engine: Engine): void {
    this.#engine = engine;
    this.#dest = engine.registerDestination({ identity: null, appName: QUORUM_APP_NAME, aspects: [...QUORUM_ASPECTS], proof: "none", acceptLinks: false, acceptResourcesUpToBytes: 0 });
  }

  down(): void {
    this.#engine = null;
    this.#dest = null;
  }

  tick(): void {}

  nextDeadlineMs(): number {
    return Infinity;
  }

  onEngineEvent(ev: EngineEvent): void {
    if (ev.kind !== "packet" || this.#dest === null || !equal(ev.destinationHash, this.#dest.hash)) return;
    const d = decodeMessage(ev.plaintext);
    if (!d.ok) return;
    const m = d.value;
    if (m.type === MessageType.VOTE) {
      const k = toHex(m.proposalId);
      const l = this.#heard.get(k) ?? [];
      if (l.length < 64) l.push(ev.plaintext.slice());
      this.#heard.set(k, l);
      return;
    }
    if (m.type !== MessageType.PROPOSAL) return;
    const p = decodeProposal(m.proposal);
    if (!p.ok || !verifyProposal(p.value, this.q.membership).ok) return;
    const hex = toHex(p.value.id);
    if (this.#seen.has(hex)) return;
    this.#seen.add(hex);
    this.#attack(p.value);
  }

  #uniform(): number {
    return this.#random.next32() / 2 ** 32;
  }

  /** Broadcast on every interface of the engine, as the honest app does. */
  #broadcast(what: string, data: Bytes): void {
    const engine = this.#engine;
    if (engine === null || !this.node.up) return;
    this.sent[what] = (this.sent[what] ?? 0) + 1;
    const now = this.q.sim.engineTimeMs();
    this.q.sim.call(this.node, (e) => {
      for (const id of e.interfaceIds()) e.sendPlain(this.q.destination, data, now, { interfaceId: id });
    });
  }

  #at(delayMs: number, fn: () => void): void {
    this.q.sim.after(Math.max(0, delayMs), fn, this.node);
  }

  #attack(p: Proposal): void {
    const sim = this.q.sim;
    const m = this.q.membership;
    const me = this.node.identity;
    const deadline = p.deadlineMs; // engine time
    const nowE = sim.engineTimeMs();
    const left = Math.max(0, deadline - nowE);
    const sign = (c: Choice, t: number): Vote => signVote(me, p, m, c, Math.floor(t));
    const voteMsg = (v: Vote): Bytes => encodeVoteMessages(p.id, [v], QUORUM_LIMITS.defaultMdu)[0]!;
    const certMsg = (v: Vote): Bytes => encodeCertMessages(p.id, v.choice === Choice.YES ? "approved" : "rejected", [v], QUORUM_LIMITS.defaultMdu)[0]!;
    switch (this.role) {
      case "silent":
        return;
      case "equivocate": {
        const honest = [...this.q.nodes.values()].map((x) => x.node).filter((n) => n !== this.node);
        const half = honest.filter(() => this.#uniform() < 0.5);
        const other = honest.filter((n) => !half.includes(n));
        this.#at(this.#uniform() * left * 0.5, () => {
          const t = sim.engineTimeMs();
          const y = sign(Choice.YES, Math.min(t, deadline));
          const no = sign(Choice.NO, Math.min(t, deadline));
          for (const n of half) this.q.deliverDirect(n, voteMsg(y), this.#uniform() * 200);
          for (const n of other) this.q.deliverDirect(n, voteMsg(no), this.#uniform() * 200);
          this.sent["equivocation"] = (this.sent["equivocation"] ?? 0) + 1;
          // Later, the same two votes as CERT votes, the other way round, to complete either certificate.
          this.#at(this.#uniform() * left * 0.5, () => {
            for (const n of half) this.q.deliverDirect(n, certMsg(no), this.#uniform() * 200);
            for (const n of other) this.q.deliverDirect(n, certMsg(y), this.#uniform() * 200);
          });
        });
        return;
      }
      case "forge": {
        this.#at(this.#uniform() * left * 0.7, () => {
          const honest = this.q.honestMembers();
          const victim = honest.length > 0 ? honest[Math.floor(this.#uniform() * honest.length)]!.memberIndex : 0;
          const c = this.#uniform() < 0.5 ? Choice.YES : Choice.NO;
          const t = Math.min(sim.engineTimeMs(), deadline);
          const forged: Vote = { proposalId: p.id, voter: victim, choice: c, timeMs: Math.floor(t), signature: this.#random.bytes(64) };
          // Our own index, signed by a key that is not ours (a non-member's).
          const stranger: Vote = { ...signVote(this.#stranger, p, createMembership({ members: [this.#stranger.publicKey] }), c, Math.floor(t)), voter: this.memberIndex };
          const outside: Vote = { ...forged, voter: Math.min(QUORUM_LIMITS.maxMembers - 1, m.members.length + Math.floor(this.#uniform() * 4)) };
          this.#broadcast("forged-vote", encodeVoteMessages(p.id, [forged, stranger, outside], QUORUM_LIMITS.defaultMdu)[0]!);
          this.#broadcast("forged-cert", encodeCertMessages(p.id, c === Choice.YES ? "approved" : "rejected", [forged, stranger], QUORUM_LIMITS.defaultMdu)[0]!);
        });
        return;
      }
      case "replay": {
        this.#at(this.#uniform() * left * 0.5, () => {
          const hex = toHex(p.id);
          for (const [k, msgs] of this.#heard) {
            if (k === hex) continue;
            for (const b of msgs.slice(0, 4)) {
              this.#broadcast("replay-old", b);
              // The same records under the current proposal's id: the signatures cover the old id.
              const relabelled = b.slice();
              relabelled.set(p.id, 1);
              this.#broadcast("replay-relabelled", relabelled);
            }
          }
          // A vote of ours for a decoy proposal id, relabelled: also a signature over another id.
          const decoy = { ...p, id: this.#random.bytes(16) };
          const v = signVote(me, decoy, m, Choice.NO, Math.floor(Math.min(sim.engineTimeMs(), deadline)));
          this.#broadcast("replay-relabelled", voteMsg({ ...v, proposalId: p.id }));
        });
        // Near the deadline, this proposal's own votes again (duplicates).
        this.#at(left * 0.9, () => {
          for (const b of (this.#heard.get(toHex(p.id)) ?? []).slice(0, 8)) this.#broadcast("replay-current", b);
        });
        return;
      }
      case "late": {
        const skew = this.q.setup.machine?.skewMs ?? QUORUM_LIMITS.defaultSkewMs;
        // Timed before the deadline, sent after the deadline plus the skew: late-arrival.
        this.#at(left + skew + 1 + this.#uniform() * 5_000, () => {
          const c = this.#uniform() < 0.5 ? Choice.YES : Choice.NO;
          this.#broadcast("late-arrival", voteMsg(sign(c, deadline)));
          // Timed after the deadline: never enters a certificate.
          const after = sign(c, sim.engineTimeMs());
          this.#broadcast("late-vote", voteMsg(after));
          this.#broadcast("late-cert", certMsg(after));
        });
        return;
      }
    }
  }
}
