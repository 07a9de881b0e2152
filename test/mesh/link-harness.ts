// Two Links back to back on a virtual clock, for the link tests and benchmark: every packet either side makes
// is encoded with encodePacket at the sender's link MTU, decoded with decodePacket, and handed to the other
// side after a one-way latency. A filter can drop or alter packets in flight.
import { seededRandom, type RandomSource } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { destinationHash, nameHash } from "../../runtime/wire/destination.js";
import { decodePacket, encodePacket, PacketType, type Packet, type ReceivedPacket } from "../../runtime/wire/packet.js";
import { Link } from "../../runtime/mesh/link/link.js";
import type { LinkEvent } from "../../runtime/mesh/types.js";

export const T0_MS = 1_763_700_000_000;

export type Side = "a" | "b";

/** Encodes a packet as the sender would put it on the air and decodes it as the receiver would. */
export function overTheAir(p: Packet, mtu = 500): ReceivedPacket {
  const r = decodePacket(encodePacket(p, mtu));
  if (!r.ok) throw new Error(`decodePacket refused our own packet: ${r.reason}`);
  return r.value;
}

export interface PairOptions {
  seed?: number;
  latencyMs?: number;
  hwMtuA?: number;
  hwMtuB?: number;
  hops?: number;
}

interface InFlight {
  to: Side;
  atMs: number;
  packet: ReceivedPacket;
}

export class LinkPair {
  readonly owner: Identity;
  readonly destinationHash: Uint8Array;
  readonly randomA: RandomSource;
  readonly randomB: RandomSource;
  readonly latencyMs: number;
  nowMs = T0_MS;
  a: Link;
  b: Link | null = null;
  readonly eventsA: LinkEvent[] = [];
  readonly eventsB: LinkEvent[] = [];
  /** Every packet delivered, by receiving side, in order. */
  readonly delivered: Array<{ to: Side; packet: ReceivedPacket; atMs: number }> = [];
  /** Return false to lose a packet in flight, or a replacement packet to deliver instead. */
  filter: (from: Side, p: ReceivedPacket) => boolean | ReceivedPacket = () => true;
  readonly #inFlight: InFlight[] = [];
  readonly #hwMtuB: number | undefined;

  constructor(o: PairOptions = {}) {
    const seed = o.seed ?? 1;
    const keys = seededRandom(seed);
    this.owner = Identity.generate(keys);
    this.destinationHash = destinationHash(nameHash("kos", ["test", "link"]), this.owner.hash);
    this.randomA = seededRandom(seed * 7 + 1);
    this.randomB = seededRandom(seed * 7 + 2);
    this.latencyMs = o.latencyMs ?? 50;
    this.#hwMtuB = o.hwMtuB;
    const { link, request } = Link.initiate({
      destinationHash: this.destinationHash,
      destinationIdentity: Identity.fromPublicKey(this.owner.publicKey),
      random: this.randomA,
      nowMs: this.nowMs,
      ...(o.hwMtuA !== undefined ? { hwMtu: o.hwMtuA } : {}),
      hops: o.hops ?? 1,
    });
    this.a = link;
    this.send("a", request);
  }

  /** Builds a pair and runs it until both sides are established (or `limitMs` passes). */
  static established(o: PairOptions = {}, limitMs = 10_000): LinkPair {
    const pair = new LinkPair(o);
    pair.runUntil(() => pair.a.status === "active" && pair.b?.status === "active", limitMs);
    if (pair.b === null || pair.b.status !== "active") throw new Error("link did not establish");
    return pair;
  }

  link(side: Side): Link {
    if (side === "a") return this.a;
    if (this.b === null) throw new Error("the responder has not accepted yet");
    return this.b;
  }

  /** Puts a packet from `from` on the wire. */
  send(from: Side, p: Packet | null): void {
    if (p === null) return;
    const mtu = from === "a" ? this.a.mtu : this.b?.mtu ?? 500;
    const rx = overTheAir(p, Math.max(mtu, 500));
    const verdict = this.filter(from, rx);
    if (verdict === false) return;
    const packet = verdict === true ? rx : verdict;
    this.#inFlight.push({ to: from === "a" ? "b" : "a", atMs: this.nowMs + this.latencyMs, packet });
  }

  #nextMs(): number {
    let next = this.a.nextDeadlineMs();
    if (this.b !== null) next = Math.min(next, this.b.nextDeadlineMs());
    for (const f of this.#inFlight) next = Math.min(next, f.atMs);
    return next;
  }

  /** Moves the clock to `targetMs`, handling every arrival and deadline on the way. */
  runTo(targetMs: number): void {
    for (let guard = 0; guard < 1_000_000; guard++) {
      const next = Math.max(this.nowMs, this.#nextMs());
      if (next > targetMs) {
        this.nowMs = targetMs;
        return;
      }
      this.#stepAt(next);
    }
    throw new Error("link pair did not settle");
  }

  runFor(ms: number): void {
    this.runTo(this.nowMs + ms);
  }

  /** Runs until `done` holds (checked after every step) or `limitMs` of virtual time passes. */
  runUntil(done: () => boolean, limitMs: number): void {
    const end = this.nowMs + limitMs;
    for (let guard = 0; guard < 1_000_000 && !done(); guard++) {
      const next = Math.max(this.nowMs, this.#nextMs());
      if (next > end) {
        this.nowMs = end;
        return;
      }
      this.#stepAt(next);
    }
  }

  #stepAt(t: number): void {
    this.nowMs = t;
    const due = this.#inFlight.filter((f) => f.atMs <= t);
    for (const f of due) this.#inFlight.splice(this.#inFlight.indexOf(f), 1);
    for (const f of due) this.#deliver(f.to, f.packet);
    this.a.tick(t);
    this.b?.tick(t);
    this.#collect();
  }

  #deliver(to: Side, packet: ReceivedPacket): void {
    this.delivered.push({ to, packet, atMs: this.nowMs });
    if (to === "b" && this.b === null && packet.packetType === PacketType.LINKREQUEST) {
      const r = Link.accept(packet, {
        owner: this.owner,
        random: this.randomB,
        nowMs: this.nowMs,
        ...(this.#hwMtuB !== undefined ? { hwMtu: this.#hwMtuB } : {}),
      });
      if (!r.ok) throw new Error(`accept refused: ${r.reason}`);
      this.b = r.value.link;
      this.send("b", r.value.proof);
      return;
    }
    this.link(to).handle(packet, this.nowMs);
    this.#collect();
  }

  #collect(): void {
    for (const p of this.a.takePackets()) this.send("a", p);
    this.eventsA.push(...this.a.takeEvents());
    if (this.b !== null) {
      for (const p of this.b.takePackets()) this.send("b", p);
      this.eventsB.push(...this.b.takeEvents());
    }
  }

  events(side: Side): LinkEvent[] {
    return side === "a" ? this.eventsA : this.eventsB;
  }

  /** Events of one kind seen so far on a side. */
  kinds<K extends LinkEvent["kind"]>(side: Side, kind: K): Extract<LinkEvent, { kind: K }>[] {
    return this.events(side).filter((e): e is Extract<LinkEvent, { kind: K }> => e.kind === kind);
  }

  /** Packets delivered to a side with a given context since the start. */
  deliveredTo(side: Side, context: number): ReceivedPacket[] {
    return this.delivered.filter((d) => d.to === side && d.packet.context === context).map((d) => d.packet);
  }
}
