// What a resource machine hands to the engine: packets to send (a bounded queue) and counted drops.
import type { Packet } from "../../wire/packet.js";
import { limits } from "./limits.js";

/** Why a resource machine ignored remote input. */
export type ResourceDrop =
  | "undecryptable"
  | "other-resource"
  | "bad-request"
  | "duplicate-request"
  | "bad-hashmap-update"
  | "unexpected-hashmap-update"
  | "bad-proof"
  | "unexpected-part"
  | "bad-part-length"
  | "bad-advertisement"
  | "duplicate-advertisement"
  | "not-transferring"
  | "unknown-context"
  | "queue-overflow";

export class Outbox {
  private queue: Packet[] = [];
  readonly drops: Record<string, number> = {};

  push(p: Packet): void {
    if (this.queue.length >= limits.maxQueuedPackets) {
      this.queue.shift();
      this.drop("queue-overflow");
    }
    this.queue.push(p);
  }

  take(): Packet[] {
    const out = this.queue;
    this.queue = [];
    return out;
  }

  drop(reason: ResourceDrop): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }
}
