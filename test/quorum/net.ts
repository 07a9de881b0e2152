// A small in-test harness for the quorum machine: N machines on one broadcast medium that loses packets with a
// seeded PRNG, a fixed latency and a virtual clock. Members without a machine are driven by the test
// (Byzantine behaviour is injected as raw bytes). Hosts persist own votes at once (journal per node).
import type { Bytes } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { createMembership, type Membership } from "../../runtime/quorum/membership.js";
import { QuorumMachine, type QuorumEvent } from "../../runtime/quorum/machine.js";
import type { Proposal } from "../../runtime/quorum/proposal.js";
import { Choice } from "../../runtime/quorum/vote.js";

export const T0 = 1_763_700_000_000;
export type Rng = ReturnType<typeof seededRandom>;
export const uniform = (rng: Rng): number => rng.next32() / 2 ** 32;

export function identities(seed: number, n: number): Identity[] {
  const rng = seededRandom(seed);
  return Array.from({ length: n }, () => Identity.generate(rng));
}

export interface Node {
  index: number;
  identity: Identity;
  machine: QuorumMachine;
  journal: Bytes[];
  events: QuorumEvent[];
  /** Virtual time of each event. */
  at: number[];
}

interface Delivery {
  atMs: number;
  to: number;
  bytes: Bytes;
}

export interface NetOptions {
  seed: number;
  /** Members; the first `machines` of them (default all) run a machine, the rest are for the test to drive. */
  n: number;
  machines?: number;
  threshold?: number;
  loss?: number;
  latencyMs?: number;
  /** Persist own votes as soon as asked (default true). */
  autoPersist?: boolean;
  /** How a node votes on a proposal it sees (null: it does not vote). Default: every node votes yes. */
  decide?: (node: Node, p: Proposal) => Choice | null;
}

export class Net {
  readonly rng: Rng;
  readonly ids: Identity[];
  readonly membership: Membership;
  readonly nodes: Node[] = [];
  nowMs = T0;
  loss: number;
  readonly latencyMs: number;
  readonly autoPersist: boolean;
  decide: (node: Node, p: Proposal) => Choice | null;
  /** Every transmission on the medium: sender (-1 for injected) and bytes. */
  readonly sent: { from: number; bytes: Bytes }[] = [];
  #queue: Delivery[] = [];

  constructor(o: NetOptions) {
    this.rng = seededRandom(o.seed);
    this.ids = identities(o.seed * 7919 + 1, o.n);
    this.membership = createMembership({ members: this.ids.map((i) => i.publicKey), ...(o.threshold !== undefined ? { threshold: o.threshold } : {}) });
    this.loss = o.loss ?? 0;
    this.latencyMs = o.latencyMs ?? 50;
    this.autoPersist = o.autoPersist ?? true;
    this.decide = o.decide ?? (() => Choice.YES);
    for (let i = 0; i < (o.machines ?? o.n); i++) this.addNode(i);
  }

  addNode(i: number, journal: Bytes[] = []): Node {
    const machine = new QuorumMachine({
      identity: this.ids[i]!, trust: { genesisIds: [this.membership.id] }, random: seededRandom(this.rng.next32()), nowMs: this.nowMs, interfaces: ["mesh"],
    });
    const r = machine.addMembership(this.membership);
    if (!r.ok) throw new Error(`genesis refused: ${r.reason}`);
    const node: Node = { index: i, identity: this.ids[i]!, machine, journal, events: [], at: [] };
    if (journal.length > 0) machine.restore(journal);
    this.nodes[i] = node;
    this.collect(node);
    return node;
  }

  node(i: number): Node {
    return this.nodes[i]!;
  }

  /** Carries out a node's actions: broadcasts onto the medium, own votes into its journal. */
  collect(node: Node): void {
    for (let guard = 0; guard < 100; guard++) {
      const events = node.machine.takeEvents();
      for (const e of events) {
        node.events.push(e);
        node.at.push(this.nowMs);
        if (e.type === "proposal") {
          const c = this.decide(node, e.proposal);
          if (c !== null && node.machine.ownVote(e.proposal.id) === null) node.machine.cast(e.proposal.id, c, this.nowMs);
        }
      }
      const actions = node.machine.takeActions();
      if (actions.length === 0 && events.length === 0) return;
      for (const a of actions) {
        if (a.type === "broadcast") this.transmit(node.index, a.bytes);
        else if (a.type === "persistVote") {
          node.journal.push(a.vote);
          if (this.autoPersist) node.machine.votePersisted(a.proposalId, this.nowMs);
        }
      }
    }
    throw new Error("a node keeps producing actions");
  }

  /** Puts bytes on the medium from member `from` (-1: an outsider); each other node hears them unless lost. */
  transmit(from: number, bytes: Bytes, to?: readonly number[]): void {
    this.sent.push({ from, bytes });
    for (const n of this.nodes) {
      if (n === undefined || n.index === from || (to !== undefined && !to.includes(n.index))) continue;
      if (uniform(this.rng) < this.loss) continue;
      this.#queue.push({ atMs: this.nowMs + this.latencyMs, to: n.index, bytes });
    }
  }

  /** Runs the clock until `untilMs` or until nothing is left to do. */
  run(untilMs: number, maxSteps = 200_000): void {
    for (let step = 0; step < maxSteps; step++) {
      let next = Infinity;
      for (const d of this.#queue) next = Math.min(next, d.atMs);
      for (const n of this.nodes) if (n !== undefined) next = Math.min(next, n.machine.nextDeadlineMs());
      if (next > untilMs) {
        this.nowMs = Math.max(this.nowMs, Math.min(untilMs, next === Infinity ? untilMs : next));
        return;
      }
      this.nowMs = Math.max(this.nowMs, next);
      const due = this.#queue.filter((d) => d.atMs <= this.nowMs);
      this.#queue = this.#queue.filter((d) => d.atMs > this.nowMs);
      for (const d of due) {
        const n = this.nodes[d.to];
        if (n === undefined) continue;
        n.machine.receive(d.bytes, { kind: "broadcast", iface: "mesh" }, this.nowMs);
        this.collect(n);
      }
      for (const n of this.nodes) {
        if (n === undefined || n.machine.nextDeadlineMs() > this.nowMs) continue;
        n.machine.tick(this.nowMs);
        this.collect(n);
      }
    }
    throw new Error("simulation did not settle");
  }

  /** Removes a node (a crash): what was on its way to it is lost. */
  crash(i: number): Node {
    const n = this.nodes[i]!;
    delete this.nodes[i];
    this.#queue = this.#queue.filter((d) => d.to !== i);
    return n;
  }

  sentOfType(type: number): number {
    return this.sent.filter((s) => s.bytes[0] === type).length;
  }
}

export function eventsOf<T extends QuorumEvent["type"]>(n: Node, type: T): Extract<QuorumEvent, { type: T }>[] {
  return n.events.filter((e): e is Extract<QuorumEvent, { type: T }> => e.type === type);
}

/** When a node first saw a certificate (virtual ms), or null. */
export function certificateAt(n: Node): number | null {
  const i = n.events.findIndex((e) => e.type === "certificate");
  return i < 0 ? null : n.at[i]!;
}
