// Deterministic multi-node simulator for Transport: N Transport machines whose interfaces are joined by
// simulated media (a point-to-point link is a medium of two interfaces; a shared radio channel has more),
// on a virtual clock. run(untilMs) moves frames between nodes (with optional delay, seeded loss and
// partitions) and advances time to the next delivery or node deadline. Every loop is bounded.
import { utf8, type Bytes } from "../../runtime/core/bytes.js";
import { seededRandom, type RandomSource } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { announceRandomHash, buildAnnounce } from "../../runtime/wire/announce.js";
import { destinationHash, nameHash } from "../../runtime/wire/destination.js";
import { Context, DestinationType, HeaderType, PacketType, TransportType, type Packet } from "../../runtime/wire/packet.js";
import type { InterfaceMode, TransportEvent } from "../../runtime/mesh/types.js";
import { Transport, type InterfaceControl, type TransportLimits } from "../../runtime/mesh/transport/transport.js";

export const T0 = 1_763_700_000_000;

export interface NodeOptions {
  transportEnabled?: boolean;
  limits?: Partial<TransportLimits>;
  blackholedIdentities?: Bytes[];
}

export class SimNode {
  readonly events: TransportEvent[] = [];
  /** Called for each event as it is taken, e.g. to play the engine's part (answer path requests, prove). */
  onEvent: ((ev: TransportEvent, node: SimNode, nowMs: number) => void) | null = null;
  readonly interfaceIds: number[] = [];

  constructor(
    readonly name: string,
    readonly identity: Identity,
    readonly random: RandomSource,
    readonly transport: Transport,
  ) {}

  eventsOf<K extends TransportEvent["kind"]>(kind: K): Extract<TransportEvent, { kind: K }>[] {
    return this.events.filter((e): e is Extract<TransportEvent, { kind: K }> => e.kind === kind);
  }
}

export interface MediumOptions {
  delayMs?: number;
  /** Probability that a frame is lost, drawn from the harness's seeded RNG. */
  lossRate?: number;
  mode?: InterfaceMode;
  bitrateBps?: number;
  hwMtu?: number;
  announceCap?: number;
  control?: InterfaceControl;
}

export interface Medium {
  readonly members: { node: SimNode; interfaceId: number }[];
  delayMs: number;
  lossRate: number;
  partitioned: boolean;
}

interface Delivery {
  atMs: number;
  seq: number;
  node: SimNode;
  interfaceId: number;
  raw: Bytes;
}

export class Harness {
  nowMs: number;
  readonly nodes: SimNode[] = [];
  readonly #media = new Map<number, Medium>();
  #queue: Delivery[] = [];
  #seq = 0;
  #nextInterfaceId = 1;
  readonly #rng: ReturnType<typeof seededRandom>;
  /** Frames dropped by loss or partition, and frames carried. */
  lost = 0;
  carried = 0;
  readonly maxInFlight: number;

  constructor(
    readonly seed = 1,
    startMs = T0,
    opts: { maxInFlight?: number } = {},
  ) {
    this.nowMs = startMs;
    this.#rng = seededRandom(seed);
    this.maxInFlight = opts.maxInFlight ?? 200_000;
  }

  addNode(name: string, opts: NodeOptions = {}): SimNode {
    const random = seededRandom(this.seed * 1000 + this.nodes.length + 1);
    const identity = Identity.generate(random);
    const transport = new Transport({
      identity,
      random,
      transportEnabled: opts.transportEnabled ?? false,
      ...(opts.blackholedIdentities !== undefined ? { blackholedIdentities: opts.blackholedIdentities } : {}),
      ...(opts.limits !== undefined ? { limits: opts.limits } : {}),
    });
    const node = new SimNode(name, identity, random, transport);
    this.nodes.push(node);
    return node;
  }

  /** Adds an interface to each node and joins them in one medium (two nodes: a point-to-point link). */
  medium(nodes: SimNode[], opts: MediumOptions = {}): Medium {
    const m: Medium = { members: [], delayMs: opts.delayMs ?? 1, lossRate: opts.lossRate ?? 0, partitioned: false };
    for (const node of nodes) {
      const id = this.#nextInterfaceId++;
      node.transport.addInterface(
        {
          id,
          name: `${node.name}/if${id}`,
          mode: opts.mode ?? "full",
          bitrateBps: opts.bitrateBps ?? 1_000_000,
          hwMtu: opts.hwMtu ?? 500,
          out: true,
          announceCap: opts.announceCap ?? 0.02,
          ...(opts.control ?? {}),
        },
        this.nowMs,
      );
      node.interfaceIds.push(id);
      m.members.push({ node, interfaceId: id });
      this.#media.set(id, m);
    }
    return m;
  }

  connect(a: SimNode, b: SimNode, opts: MediumOptions = {}): Medium {
    return this.medium([a, b], opts);
  }

  /** The interface of `node` on medium `m`. */
  interfaceOf(node: SimNode, m: Medium): number {
    const member = m.members.find((x) => x.node === node);
    if (member === undefined) throw new Error(`${node.name} is not on that medium`);
    return member.interfaceId;
  }

  /** Puts a frame on the air as if `node` had received it on `interfaceId` now (for crafted input). */
  inject(node: SimNode, interfaceId: number, raw: Bytes, atMs = this.nowMs): void {
    this.#push({ atMs, seq: this.#seq++, node, interfaceId, raw });
  }

  /** Runs until `untilMs` (inclusive). Returns the number of steps taken. */
  run(untilMs: number, maxSteps = 1_000_000): number {
    let steps = 0;
    for (;;) {
      this.#collect();
      const next = Math.min(this.#queue.length > 0 ? this.#queue[0]!.atMs : Infinity, ...this.nodes.map((n) => n.transport.nextDeadlineMs()));
      if (next > untilMs) {
        this.nowMs = Math.max(this.nowMs, untilMs);
        return steps;
      }
      if (++steps > maxSteps) throw new Error(`harness: no quiescence after ${maxSteps} steps at ${this.nowMs - T0} ms`);
      this.nowMs = Math.max(this.nowMs, next);
      for (let n = 0; this.#queue.length > 0 && this.#queue[0]!.atMs <= this.nowMs; n++) {
        if (n > this.maxInFlight) throw new Error(`harness: frames keep arriving at ${this.nowMs - T0} ms (zero-delay loop?)`);
        const d = this.#queue.shift()!;
        d.node.transport.inbound(d.interfaceId, d.raw, this.nowMs);
        this.#collectNode(d.node);
      }
      for (const n of this.nodes) if (n.transport.nextDeadlineMs() <= this.nowMs) n.transport.tick(this.nowMs);
    }
  }

  runFor(ms: number, maxSteps?: number): number {
    return this.run(this.nowMs + ms, maxSteps);
  }

  #collect(): void {
    for (const n of this.nodes) this.#collectNode(n);
  }

  #collectNode(node: SimNode): void {
    // Events may make the node send; transmits are taken after, so both settle in a bounded number of rounds.
    for (let round = 0; round < 16; round++) {
      const events = node.transport.takeEvents();
      for (const ev of events) {
        node.events.push(ev);
        node.onEvent?.(ev, node, this.nowMs);
      }
      const transmits = node.transport.takeTransmits();
      for (const t of transmits) {
        const m = this.#media.get(t.interfaceId);
        if (m === undefined) continue;
        for (const member of m.members) {
          if (member.interfaceId === t.interfaceId) continue;
          if (m.partitioned || (m.lossRate > 0 && this.#rng.next32() / 2 ** 32 < m.lossRate)) {
            this.lost++;
            continue;
          }
          this.carried++;
          this.#push({ atMs: this.nowMs + m.delayMs, seq: this.#seq++, node: member.node, interfaceId: member.interfaceId, raw: t.raw });
        }
      }
      if (events.length === 0 && transmits.length === 0) return;
    }
  }

  #push(d: Delivery): void {
    if (this.#queue.length >= this.maxInFlight) throw new Error("harness: too many frames in flight");
    // Keep the queue ordered by time, then by sequence (binary search for the insertion point).
    let lo = 0;
    let hi = this.#queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.#queue[mid]!;
      if (q.atMs < d.atMs || (q.atMs === d.atMs && q.seq < d.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.#queue.splice(lo, 0, d);
  }

  get inFlight(): number {
    return this.#queue.length;
  }
}

/** A SINGLE destination owned by a node, for tests: its identity, name hash and hash. */
export class SimDestination {
  readonly nameHash: Bytes;
  readonly hash: Bytes;

  constructor(
    readonly identity: Identity,
    readonly name: string[],
    readonly random: RandomSource,
  ) {
    this.nameHash = nameHash(name[0]!, name.slice(1));
    this.hash = destinationHash(this.nameHash, identity.hash);
  }

  announce(nowMs: number, opts: { pathResponse?: boolean; appData?: string } = {}): Packet {
    return buildAnnounce(this.identity, this.nameHash, {
      randomHash: announceRandomHash(this.random, nowMs),
      appData: opts.appData !== undefined ? utf8(opts.appData) : null,
      pathResponse: opts.pathResponse ?? false,
    });
  }
}

/** Registers a SINGLE destination on a node and returns it. */
export function hostDestination(node: SimNode, ...name: string[]): SimDestination {
  const d = new SimDestination(node.identity, name.length > 0 ? name : ["kos", "test"], node.random);
  node.transport.registerDestination(d.hash, DestinationType.SINGLE);
  return d;
}

/** A HEADER_1 DATA packet (payload stands in for ciphertext). */
export function dataPacket(dest: Bytes, data: Bytes, opts: { destinationType?: number; context?: number; packetType?: number } = {}): Packet {
  return {
    headerType: HeaderType.HEADER_1,
    contextFlag: false,
    transportType: TransportType.BROADCAST,
    destinationType: (opts.destinationType ?? DestinationType.SINGLE) as Packet["destinationType"],
    packetType: (opts.packetType ?? PacketType.DATA) as Packet["packetType"],
    hops: 0,
    transportId: null,
    destinationHash: dest,
    context: opts.context ?? Context.NONE,
    data,
  };
}
