// Test harness for resources: a fake ResourceLink backed by a real Token, and a two-ended simulator on a
// virtual clock that carries every packet through encodePacket/decodePacket with latency, serialisation time,
// seeded loss and optional tampering. Used by the resource tests and the resource benchmark.
import { concat, type Bytes } from "../../runtime/core/bytes.js";
import { seededRandom, type RandomSource } from "../../runtime/core/ports.js";
import { Token } from "../../runtime/crypto/token.js";
import {
  Context,
  DestinationType,
  HeaderType,
  PacketType,
  TransportType,
  decodePacket,
  encodePacket,
  type Packet,
  type ReceivedPacket,
} from "../../runtime/wire/packet.js";
import type { ResourceLink } from "../../runtime/mesh/types.js";
import { ResourceReceiver, type ReceiverOptions } from "../../runtime/mesh/resource/receiver.js";
import { ResourceSender, type SenderOptions } from "../../runtime/mesh/resource/sender.js";

/** Contexts a link sends in clear (the reference's Packet.pack); proofs on links are clear as well. */
const CLEAR_CONTEXTS: ReadonlySet<number> = new Set([Context.RESOURCE, Context.KEEPALIVE, Context.CACHE_REQUEST]);
export const isClear = (p: Packet): boolean => CLEAR_CONTEXTS.has(p.context) || p.packetType === PacketType.PROOF;

export class FakeLink implements ResourceLink {
  readonly linkId: Bytes;
  readonly mtu: number;
  readonly mdu: number;
  rttMs: number;
  random: RandomSource;
  private readonly token: Token;
  private corruptNext = false;

  constructor(o: { key: Bytes; linkId: Bytes; random: RandomSource; mtu?: number; rttMs?: number }) {
    this.token = new Token(o.key);
    this.linkId = o.linkId;
    this.mtu = o.mtu ?? 500;
    this.mdu = Math.floor((this.mtu - 1 - 19 - 48) / 16) * 16 - 1;
    this.rttMs = o.rttMs ?? 50;
    this.random = o.random;
  }

  /** The next encryption flips a bit of its plaintext first: a sender whose stream disagrees with its hash. */
  corruptNextEncryption(): void {
    this.corruptNext = true;
  }

  encrypt(plaintext: Bytes | readonly Bytes[]): Bytes {
    if (this.corruptNext) {
      const bad = plaintext instanceof Uint8Array ? plaintext.slice() : concat(...plaintext);
      if (bad.length > 0) {
        this.corruptNext = false;
        bad[bad.length - 1]! ^= 0x01;
        return this.token.encrypt(bad, this.random);
      }
    }
    return this.token.encrypt(plaintext, this.random);
  }

  decrypt(ciphertext: Bytes): Bytes | null {
    const r = this.token.decrypt(ciphertext);
    return r.ok ? r.value : null;
  }

  decryptInPlace(ciphertext: Bytes): Bytes | null {
    const r = this.token.decryptInPlace(ciphertext);
    return r.ok ? r.value : null;
  }

  packet(context: number, data: Bytes, packetType: number = PacketType.DATA): Packet {
    const p: Packet = {
      headerType: HeaderType.HEADER_1,
      contextFlag: false,
      transportType: TransportType.BROADCAST,
      destinationType: DestinationType.LINK,
      packetType: packetType as Packet["packetType"],
      hops: 0,
      transportId: null,
      destinationHash: this.linkId,
      context,
      data,
    };
    return isClear(p) ? p : { ...p, data: this.encrypt(data) };
  }
}

/** Draws the given chunks first (each exactly as long as asked), then falls back to `rest`. */
export function scriptedRandom(chunks: Bytes[], rest: RandomSource): RandomSource {
  const queue = [...chunks];
  return {
    bytes(n: number): Bytes {
      const c = queue.shift();
      if (c === undefined) return rest.bytes(n);
      if (c.length !== n) throw new Error(`scriptedRandom: asked for ${n} bytes, next chunk has ${c.length}`);
      return c;
    },
  };
}

export type Side = "sender" | "receiver";

export interface SimOptions {
  seed: number;
  latencyMs?: number;
  bitrateBps?: number;
  /** Share of frames lost, each direction, drawn from the seeded RNG. */
  lossRate?: number;
  mtu?: number;
  rttMs?: number;
  maxSizeBytes?: number;
  key?: Bytes;
  linkId?: Bytes;
  /** Sees every frame before it is sent: return null to lose it, or other bytes to deliver instead. */
  tamper?: (raw: Bytes, from: Side, packet: Packet) => Bytes | null;
  /** Frames for which this is true are delivered twice. */
  duplicate?: (from: Side, packet: Packet) => boolean;
  receiverOptions?: Partial<ReceiverOptions>;
  /** Keep `log` (default true; the benchmark turns it off). */
  log?: boolean;
}

interface Flight {
  atMs: number;
  to: Side;
  raw: Bytes;
}

/** One resource between two ends of a link, run on a virtual clock. */
export class ResourceSim {
  nowMs = 1_000_000;
  readonly senderLink: FakeLink;
  readonly receiverLink: FakeLink;
  sender: ResourceSender | null = null;
  receiver: ResourceReceiver | null = null;
  readonly refused: string[] = [];
  /** Every frame put on the wire: who sent it, its context and its plaintext (decrypted for the log). */
  readonly log: Array<{ atMs: number; from: Side; context: number; plaintext: Bytes; lost: boolean }> = [];
  private readonly flights: Flight[] = [];
  private readonly lineFreeMs: Record<Side, number> = { sender: 0, receiver: 0 };
  private readonly rng: ReturnType<typeof seededRandom>;

  constructor(readonly o: SimOptions) {
    this.rng = seededRandom(o.seed);
    const key = o.key ?? seededRandom(o.seed ^ 0x5eed).bytes(64);
    const linkId = o.linkId ?? seededRandom(o.seed ^ 0x11d).bytes(16);
    const common = { key, linkId, mtu: o.mtu ?? 500, rttMs: o.rttMs ?? 2 * (o.latencyMs ?? 20) };
    this.senderLink = new FakeLink({ ...common, random: seededRandom(o.seed + 1) });
    this.receiverLink = new FakeLink({ ...common, random: seededRandom(o.seed + 2) });
  }

  /** Creates the sender and queues its advertisement. */
  send(o: Omit<SenderOptions, "link" | "random" | "nowMs"> & { random?: RandomSource }): ResourceSender {
    this.sender = new ResourceSender({ ...o, link: this.senderLink, random: o.random ?? seededRandom(this.o.seed + 3), nowMs: this.nowMs });
    this.sender.start(this.nowMs);
    return this.sender;
  }

  /** Runs until nothing is in flight and no machine has a deadline, or until `untilMs` / `maxEvents`. */
  run(opts: { untilMs?: number; maxEvents?: number; onStep?: () => void } = {}): void {
    const until = opts.untilMs ?? Infinity;
    const maxEvents = opts.maxEvents ?? 1_000_000;
    for (let events = 0; events < maxEvents; events++) {
      this.flush();
      const next = Math.min(this.flights[0]?.atMs ?? Infinity, this.sender?.nextDeadlineMs() ?? Infinity, this.receiver?.nextDeadlineMs() ?? Infinity);
      if (next === Infinity || next > until) return;
      this.nowMs = Math.max(this.nowMs, next);
      while (this.flights.length > 0 && this.flights[0]!.atMs <= this.nowMs) this.deliver(this.flights.shift()!);
      this.sender?.tick(this.nowMs);
      this.receiver?.tick(this.nowMs);
      opts.onStep?.();
    }
    throw new Error(`simulation did not settle within ${maxEvents} events`);
  }

  private flush(): void {
    if (this.sender !== null) for (const p of this.sender.takePackets()) this.transmit(p, "sender");
    if (this.receiver !== null) for (const p of this.receiver.takePackets()) this.transmit(p, "receiver");
  }

  private transmit(p: Packet, from: Side): void {
    const encoded = encodePacket(p, this.o.mtu ?? 500);
    const lost = (this.o.lossRate ?? 0) > 0 && this.rng.next32() / 2 ** 32 < this.o.lossRate!;
    if (this.o.log !== false) {
      const link = from === "sender" ? this.senderLink : this.receiverLink;
      const plaintext = isClear(p) ? p.data : link.decrypt(p.data)!;
      this.log.push({ atMs: this.nowMs, from, context: p.context, plaintext, lost });
    }
    const raw = this.o.tamper !== undefined ? this.o.tamper(encoded, from, p) : encoded;
    const bitrate = this.o.bitrateBps ?? 10_000_000;
    const start = Math.max(this.nowMs, this.lineFreeMs[from]);
    this.lineFreeMs[from] = start + (encoded.length * 8 * 1000) / bitrate;
    if (lost || raw === null) return;
    const flight = { atMs: this.lineFreeMs[from] + (this.o.latencyMs ?? 20), to: from === "sender" ? "receiver" : "sender", raw } as Flight;
    this.schedule(flight);
    if (this.o.duplicate?.(from, p) === true) this.schedule({ ...flight, atMs: flight.atMs + 1 });
  }

  private schedule(flight: Flight): void {
    let i = this.flights.length;
    while (i > 0 && this.flights[i - 1]!.atMs > flight.atMs) i--;
    this.flights.splice(i, 0, flight);
  }

  private deliver(f: Flight): void {
    const decoded = decodePacket(f.raw);
    if (!decoded.ok) return;
    const packet: ReceivedPacket = decoded.value;
    const link = f.to === "sender" ? this.senderLink : this.receiverLink;
    const plaintext = isClear(packet) ? null : link.decrypt(packet.data);
    if (f.to === "sender") {
      this.sender?.handle(packet, plaintext, this.nowMs);
      return;
    }
    if (packet.context === Context.RESOURCE_ADV && plaintext !== null && (this.receiver === null || !this.receiver.expectsAdvertisement(plaintext))) {
      if (this.receiver !== null && this.receiver.status === "transferring") return; // one resource at a time here
      const r = ResourceReceiver.accept(plaintext, {
        link: this.receiverLink,
        random: seededRandom(this.o.seed + 4),
        nowMs: this.nowMs,
        maxSizeBytes: this.o.maxSizeBytes ?? 64 * 1024 * 1024,
        ...this.o.receiverOptions,
      });
      if (r.ok) this.receiver = r.value;
      else this.refused.push(`${r.reason}: ${r.detail ?? ""}`);
      return;
    }
    this.receiver?.handle(packet, plaintext, this.nowMs);
  }
}

/** Deterministic test data: `length` bytes from a seeded generator. */
export function testData(length: number, seed: number): Bytes {
  return seededRandom(seed).bytes(length);
}
