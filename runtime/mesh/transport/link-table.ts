// Tables a transport node keeps for traffic it relays (RNS 1.4.2 Transport.link_table and reverse_table).
// Link table: for each link requested through us, the interfaces and hop counts on both sides, so the link
// proof and then link traffic can be relayed in both directions; an entry waits for the link proof until
// its proof timeout, and once validated lives while traffic keeps it fresh (LINK_TIMEOUT).
// Reverse table: for each packet relayed toward a destination, where it came from, so its proof returns
// the same way; entries live REVERSE_TIMEOUT.
import type { Bytes } from "../../core/bytes.js";
import { LINK_TIMEOUT_MS, REVERSE_TIMEOUT_MS } from "./limits.js";
import { BoundedMap } from "./table.js";

export interface LinkEntry {
  timestampMs: number;
  nextHop: Bytes;
  /** Interface toward the link's destination. */
  nextHopInterfaceId: number;
  /** Hops from us to the destination. */
  remainingHops: number;
  /** Interface toward the initiator. */
  receivedInterfaceId: number;
  /** Hops the link request took to reach us. */
  takenHops: number;
  destinationHash: Bytes;
  validated: boolean;
  proofTimeoutMs: number;
}

export interface ReverseEntry {
  receivedInterfaceId: number;
  outboundInterfaceId: number;
  timestampMs: number;
}

export class LinkTable {
  readonly links: BoundedMap<LinkEntry>;
  readonly reverse: BoundedMap<ReverseEntry>;

  constructor(maxLinks: number, maxReverse: number) {
    this.links = new BoundedMap(maxLinks);
    this.reverse = new BoundedMap(maxReverse);
  }

  /** Drops stale reverse entries; returns the earliest remaining expiry. */
  cullReverse(nowMs: number, interfaceExists: (id: number) => boolean): number {
    let next = Infinity;
    this.reverse.deleteWhere((e) => {
      const expires = e.timestampMs + REVERSE_TIMEOUT_MS;
      if (nowMs >= expires || !interfaceExists(e.outboundInterfaceId) || !interfaceExists(e.receivedInterfaceId)) return true;
      next = Math.min(next, expires);
      return false;
    });
    return next;
  }

  /**
   * Drops idle validated links and links whose proof never came. Calls `unproven` for each of the latter
   * (the caller may try to rediscover the path). Returns the earliest remaining expiry.
   */
  cullLinks(nowMs: number, interfaceExists: (id: number) => boolean, unproven: (e: LinkEntry) => void): number {
    let next = Infinity;
    const expired: LinkEntry[] = [];
    this.links.deleteWhere((e) => {
      if (e.validated) {
        const expires = e.timestampMs + LINK_TIMEOUT_MS;
        if (nowMs >= expires || !interfaceExists(e.nextHopInterfaceId) || !interfaceExists(e.receivedInterfaceId)) return true;
        next = Math.min(next, expires);
        return false;
      }
      if (nowMs >= e.proofTimeoutMs) {
        expired.push(e);
        return true;
      }
      next = Math.min(next, e.proofTimeoutMs);
      return false;
    });
    for (const e of expired) unproven(e);
    return next;
  }

  /** Forgets everything that uses an interface. */
  dropInterface(id: number): void {
    this.links.deleteWhere((e) => e.nextHopInterfaceId === id || e.receivedInterfaceId === id);
    this.reverse.deleteWhere((e) => e.outboundInterfaceId === id || e.receivedInterfaceId === id);
  }
}
