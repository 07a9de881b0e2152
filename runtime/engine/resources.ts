// Resources on one link: the senders and receivers running on it, the routing of RESOURCE_* packets to
// them, the size policy for incoming ones, and progress/completion events for the engine.
import type { Bytes } from "../core/bytes.js";
import type { RandomSource } from "../core/ports.js";
import { Context, type Packet, type ReceivedPacket } from "../wire/packet.js";
import type { Link } from "../mesh/link/link.js";
import { decodeAdvertisement } from "../mesh/resource/advertisement.js";
import { ResourceReceiver } from "../mesh/resource/receiver.js";
import { ResourceSender } from "../mesh/resource/sender.js";
import type { EngineEvent } from "./events.js";

type ResourceEvent = Omit<Extract<EngineEvent, { kind: "resource" }>, "linkId">;

const RESOURCE_CONTEXTS: ReadonlySet<number> = new Set([
  Context.RESOURCE,
  Context.RESOURCE_ADV,
  Context.RESOURCE_REQ,
  Context.RESOURCE_HMU,
  Context.RESOURCE_PRF,
  Context.RESOURCE_ICL,
  Context.RESOURCE_RCL,
]);

/** At most this many transfers at once per link and direction; more advertisements are refused. */
const MAX_PER_DIRECTION = 8;
/** Progress events at most every this many percent, so a big transfer does not flood the host. */
const PROGRESS_STEP = 0.01;

interface Tracked<T> {
  id: number;
  machine: T;
  lastProgress: number;
  done: boolean;
}

let nextResourceId = 1;

export class LinkResources {
  /** Largest incoming resource accepted on this link; 0 refuses every advertisement. */
  acceptUpToBytes = 0;
  readonly #senders: Array<Tracked<ResourceSender>> = [];
  readonly #receivers: Array<Tracked<ResourceReceiver>> = [];
  #packets: Packet[] = [];
  #events: ResourceEvent[] = [];

  constructor(
    private readonly link: Link,
    private readonly random: RandomSource,
  ) {}

  handles(context: number): boolean {
    return RESOURCE_CONTEXTS.has(context);
  }

  send(data: Bytes, metadata: Record<string, unknown> | null, nowMs: number): number {
    const sender = new ResourceSender({ link: this.link, data, ...(metadata !== null ? { metadata } : {}), random: this.random, nowMs });
    const t: Tracked<ResourceSender> = { id: nextResourceId++, machine: sender, lastProgress: -1, done: false };
    this.#senders.push(t);
    sender.start(nowMs);
    this.#collect(nowMs);
    return t.id;
  }

  handle(context: number, packet: ReceivedPacket, plaintext: Bytes, nowMs: number): void {
    switch (context) {
      case Context.RESOURCE_ADV:
        this.#advertisement(packet, plaintext, nowMs);
        break;
      case Context.RESOURCE_REQ:
      case Context.RESOURCE_PRF:
      case Context.RESOURCE_RCL:
        for (const s of this.#senders) if (!s.done) s.machine.handle(packet, plaintext, nowMs);
        break;
      default:
        for (const r of this.#receivers) if (!r.done) r.machine.handle(packet, plaintext, nowMs);
    }
    this.#collect(nowMs);
  }

  #advertisement(packet: ReceivedPacket, plaintext: Bytes, nowMs: number): void {
    for (const r of this.#receivers) {
      if (!r.done && r.machine.expectsAdvertisement(plaintext)) {
        r.machine.handle(packet, plaintext, nowMs);
        return;
      }
    }
    const adv = decodeAdvertisement(plaintext);
    if (!adv.ok) return;
    const active = this.#receivers.filter((r) => !r.done).length;
    if (this.acceptUpToBytes <= 0 || active >= MAX_PER_DIRECTION) {
      this.#packets.push(this.link.packet(Context.RESOURCE_RCL, adv.value.hash));
      return;
    }
    const accepted = ResourceReceiver.accept(plaintext, { link: this.link, random: this.random, nowMs, maxSizeBytes: this.acceptUpToBytes });
    if (!accepted.ok) {
      this.#packets.push(this.link.packet(Context.RESOURCE_RCL, adv.value.hash));
      return;
    }
    this.#receivers.push({ id: nextResourceId++, machine: accepted.value, lastProgress: -1, done: false });
  }

  tick(nowMs: number): void {
    for (const s of this.#senders) if (!s.done) s.machine.tick(nowMs);
    for (const r of this.#receivers) if (!r.done) r.machine.tick(nowMs);
    this.#collect(nowMs);
  }

  nextDeadlineMs(): number {
    let t = Infinity;
    for (const s of this.#senders) if (!s.done) t = Math.min(t, s.machine.nextDeadlineMs());
    for (const r of this.#receivers) if (!r.done) t = Math.min(t, r.machine.nextDeadlineMs());
    return t;
  }

  /**
   * The link is gone: every transfer on it ends. Their cancel messages cannot be sent any more (building
   * a packet on a closed link throws), so each is ended here and reported failed.
   */
  linkClosed(nowMs: number): void {
    for (const t of [...this.#senders, ...this.#receivers] as Array<Tracked<ResourceSender | ResourceReceiver>>) {
      if (t.done) continue;
      try {
        t.machine.cancel(nowMs);
      } catch {
        // Nothing can be sent on a closed link; the transfer is over either way.
      }
      t.done = true;
      this.#events.push({ kind: "resource", resourceId: t.id, direction: t.machine instanceof ResourceSender ? "out" : "in", status: "failed", progress: t.machine.progress, sizeBytes: t.machine.dataSize, reason: "the link closed" });
    }
    this.#packets = [];
  }

  takePackets(): Packet[] {
    const out = this.#packets;
    this.#packets = [];
    return out;
  }

  takeEvents(): ResourceEvent[] {
    const out = this.#events;
    this.#events = [];
    return out;
  }

  // Runs after every resource packet: most calls find a transfer going on with under PROGRESS_STEP of progress
  // since its last event, and stop there.
  #collect(_nowMs: number): void {
    for (const s of this.#senders) {
      if (s.done) continue;
      this.#take(s.machine.takePackets());
      const st = s.machine.status;
      const status = st === "complete" ? "complete" : st === "failed" || st === "cancelled" || st === "rejected" ? "failed" : "transferring";
      const progress = s.machine.progress;
      if (status === "transferring" && progress - s.lastProgress < PROGRESS_STEP) continue;
      this.#report(s, "out", status, progress, s.machine.dataSize, undefined, undefined, s.machine.failure ?? (st === "rejected" ? "rejected by the receiver" : undefined));
    }
    for (const r of this.#receivers) {
      if (r.done) continue;
      this.#take(r.machine.takePackets());
      const st = r.machine.status;
      const status = st === "complete" ? "complete" : st === "transferring" ? "transferring" : "failed";
      const progress = r.machine.progress;
      if (status === "transferring" && progress - r.lastProgress < PROGRESS_STEP) continue;
      this.#report(r, "in", status, progress, r.machine.dataSize, r.machine.data ?? undefined, r.machine.metadata ?? undefined, r.machine.failure ?? undefined);
    }
    for (let i = this.#senders.length - 1; i >= 0; i--) if (this.#senders[i]!.done) this.#senders.splice(i, 1);
    for (let i = this.#receivers.length - 1; i >= 0; i--) if (this.#receivers[i]!.done) this.#receivers.splice(i, 1);
  }

  #take(packets: Packet[]): void {
    for (let i = 0; i < packets.length; i++) this.#packets.push(packets[i]!);
  }

  #report(
    t: Tracked<unknown>,
    direction: "in" | "out",
    status: "transferring" | "complete" | "failed",
    progress: number,
    sizeBytes: number,
    data: Bytes | undefined,
    metadata: unknown,
    reason: string | undefined,
  ): void {
    if (status === "transferring" && progress - t.lastProgress < PROGRESS_STEP) return;
    t.lastProgress = progress;
    if (status !== "transferring") t.done = true;
    this.#events.push({
      kind: "resource",
      resourceId: t.id,
      direction,
      status,
      progress,
      sizeBytes,
      ...(data !== undefined ? { data } : {}),
      ...(metadata !== undefined ? { metadata } : {}),
      ...(reason !== undefined && status === "failed" ? { reason } : {}),
    });
  }
}
