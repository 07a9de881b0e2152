// Transport's state, shared by the modules that implement its parts (inbound, announces, forwarding,
// path requests, outbound, persistence). Holds every table, the interfaces, the outgoing transmit and event
// queues (bounded), the counters, and the small helpers all parts use to send, emit and count drops.
import type { Bytes } from "../../core/bytes.js";
import type { RandomSource } from "../../core/ports.js";
import type { Identity } from "../../crypto/identity.js";
import type { DestinationTypeValue } from "../../wire/packet.js";
import type { Transmit, TransportEvent } from "../types.js";
import { AnnounceTable } from "./announce-table.js";
import { PacketHashlist } from "./hashlist.js";
import { newStats, type InterfaceState, type InterfaceStats } from "./interfaces.js";
import { LinkTable } from "./link-table.js";
import { TABLES_CULL_INTERVAL_MS, type TransportLimits } from "./limits.js";
import { PathTable } from "./path-table.js";
import { AnnounceRateTable } from "./rate-control.js";
import { BoundedMap, BoundedSet } from "./table.js";

/** Why Transport dropped a packet (counted per interface and in the totals). */
export type TransportDropReason =
  | "malformed"
  | "oversize"
  | "hops"
  | "duplicate"
  | "other-transport"
  | "bad-announce"
  | "key-conflict"
  | "replay"
  | "worse-path"
  | "blackholed"
  | "local-destination"
  | "rate-limited"
  | "ingress-limited"
  | "table-full"
  | "no-path"
  | "wrong-interface"
  | "bad-proof"
  | "bad-path-request"
  | "not-for-us"
  | "queue-full"
  | "unknown-interface";

export interface KnownDestination {
  publicKey: Bytes;
  appData: Bytes | null;
  lastSeenMs: number;
}

export interface LocalLink {
  /** Interface the link's traffic uses, once known. */
  interfaceId: number | null;
}

export interface DiscoveryRequest {
  timeoutMs: number;
  interfaceId: number;
}

export interface TransportTotals extends InterfaceStats {
  forwarded: number;
  announcesRebroadcast: number;
  pathResponsesSent: number;
  pathRequestsSent: number;
  /** Rebroadcasts not scheduled: the destination exceeded its announce rate target, or the table was full. */
  rebroadcastsBlocked: number;
  eventsDropped: number;
  transmitsDropped: number;
}

export class TransportCore {
  readonly interfaces = new Map<number, InterfaceState>();
  /** OUT interfaces, fastest first (the reference's prioritize_interfaces). */
  outOrder: InterfaceState[] = [];
  readonly hashlist: PacketHashlist;
  readonly paths: PathTable;
  readonly announces: AnnounceTable;
  readonly relay: LinkTable;
  readonly rates: AnnounceRateTable;
  readonly known: BoundedMap<KnownDestination>;
  readonly blackholed = new Set<string>();
  readonly localDestinations = new Map<string, DestinationTypeValue>();
  readonly localLinks = new Map<string, LocalLink>();
  /** Truncated hashes of packets we sent that want a proof → when we stop waiting. */
  readonly receipts: BoundedMap<number>;
  /** Destinations we requested a path for → when. */
  readonly pathRequestTimes: BoundedMap<number>;
  readonly discoveryRequests: BoundedMap<DiscoveryRequest>;
  readonly pathRequestTags: BoundedSet;
  /** Path requests queued by link failures, sent DISCOVERY_PR_THROTTLE_MS apart. */
  readonly rediscovery: { destinationHash: Bytes; blockedInterfaceId: number | null }[] = [];
  rediscoveryNextMs = 0;
  transmits: Transmit[] = [];
  events: TransportEvent[] = [];
  readonly totals: TransportTotals = {
    ...newStats(),
    forwarded: 0,
    announcesRebroadcast: 0,
    pathResponsesSent: 0,
    pathRequestsSent: 0,
    rebroadcastsBlocked: 0,
    eventsDropped: 0,
    transmitsDropped: 0,
  };
  /** Next time a table entry may expire (culling runs no more often than every TABLES_CULL_INTERVAL_MS). */
  nextCullMs = Infinity;
  lastCullMs = -Infinity;
  nextInterfaceJobsMs = Infinity;

  constructor(
    readonly identity: Identity,
    readonly random: RandomSource,
    readonly transportEnabled: boolean,
    readonly limits: TransportLimits,
  ) {
    this.hashlist = new PacketHashlist(limits.maxPacketHashes);
    this.paths = new PathTable(limits.maxPaths);
    this.announces = new AnnounceTable(limits.maxAnnounceTable);
    this.relay = new LinkTable(limits.maxLinkEntries, limits.maxReverseEntries);
    this.rates = new AnnounceRateTable(limits.maxRateEntries);
    this.known = new BoundedMap(limits.maxKnownDestinations);
    this.receipts = new BoundedMap(limits.maxReceipts);
    this.pathRequestTimes = new BoundedMap(limits.maxPathRequestTimes);
    this.discoveryRequests = new BoundedMap(limits.maxDiscoveryPathRequests);
    this.pathRequestTags = new BoundedSet(limits.maxPathRequestTags);
  }

  get transportId(): Bytes {
    return this.identity.hash;
  }

  /** Counts a dropped packet against its interface (if known) and the totals. */
  drop(iface: InterfaceState | undefined, reason: TransportDropReason): void {
    if (iface !== undefined) iface.stats.drops[reason] = (iface.stats.drops[reason] ?? 0) + 1;
    this.totals.drops[reason] = (this.totals.drops[reason] ?? 0) + 1;
  }

  /** Queues `raw` for transmission on an interface. False when it can't go (gone, not OUT, too large, queue full). */
  send(interfaceId: number, raw: Bytes): boolean {
    const iface = this.interfaces.get(interfaceId);
    if (iface === undefined || !iface.out) return false;
    if (raw.length > iface.hwMtu) {
      this.drop(iface, "oversize");
      return false;
    }
    if (this.transmits.length >= this.limits.maxPendingTransmits) {
      this.totals.transmitsDropped++;
      this.drop(iface, "queue-full");
      return false;
    }
    this.transmits.push({ interfaceId, raw });
    iface.stats.txPackets++;
    iface.stats.txBytes += raw.length;
    this.totals.txPackets++;
    this.totals.txBytes += raw.length;
    return true;
  }

  emit(event: TransportEvent): void {
    if (this.events.length >= this.limits.maxPendingEvents) {
      this.totals.eventsDropped++;
      return;
    }
    this.events.push(event);
  }

  /** Tells the culling schedule that some table entry expires at `atMs`. */
  noteExpiry(atMs: number): void {
    const earliest = Math.max(atMs, this.lastCullMs + TABLES_CULL_INTERVAL_MS);
    if (earliest < this.nextCullMs) this.nextCullMs = earliest;
  }

  /** Interface jobs (ingress control, held announces) run every INTERFACE_JOBS_INTERVAL_MS while needed. */
  noteInterfaceJobs(atMs: number): void {
    if (atMs < this.nextInterfaceJobsMs) this.nextInterfaceJobsMs = atMs;
  }

  /** A uniform random number in [0, 1) from the random source. */
  randomFraction(): number {
    const b = this.random.bytes(4);
    return (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0) / 2 ** 32;
  }

  sortInterfaces(): void {
    this.outOrder = [...this.interfaces.values()].filter((i) => i.out).sort((a, b) => b.bitrateBps - a.bitrateBps);
  }
}
