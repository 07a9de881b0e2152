// Reticulum Transport as a sans-IO machine (RNS 1.4.2 Transport.py, Interfaces/Interface.py): routing,
// announce propagation and rate control, path requests, relaying for others, dedup, and delivery of
// local traffic to the engine. The host feeds frames, the engine feeds packets, both give the time; the
// machine returns transmits and events and says when it next wants to be ticked.
//
// How it works: inbound() decodes a frame, counts the hop, filters duplicates and strays, relays it if we
// are a transport node and it is ours to relay, learns paths from announces (scheduling rebroadcasts),
// answers path requests, and turns what is addressed to local destinations, links or receipts into events.
// outbound() picks header and interfaces for local packets. tick() runs what is due: rebroadcasts, path
// request answers, announce cap queues, ingress control releases, rediscovery and table culling.
import { type Bytes } from "../../core/bytes.js";
import { assertLength } from "../../core/assert.js";
import { TRUNCATED_HASH_LENGTH } from "../../core/limits.js";
import type { RandomSource } from "../../core/ports.js";
import type { Result } from "../../core/result.js";
import type { Identity } from "../../crypto/identity.js";
import { truncatedHash } from "../../crypto/hashes.js";
import type { DestinationTypeValue, Packet } from "../../wire/packet.js";
import type { FrameMeta, Transmit, TransportEvent } from "../types.js";
import { receive } from "./inbound.js";
import { InterfaceState, type InterfaceStats, type TransportInterface } from "./interfaces.js";
import { nextDeadline, runJobs } from "./jobs.js";
import { resolveLimits, PATH_REQUEST_MIN_INTERVAL_MS, type TransportLimits } from "./limits.js";
import { sendOutbound, type OutboundOptions, type OutboundResult } from "./outbound.js";
import type { PathEntry } from "./path-table.js";
import { sendPathRequest } from "./path-requests.js";
import { exportState, importState, type PersistedTransportState } from "./persistence.js";
import { TransportCore, type TransportTotals } from "./state.js";
import { keyOf } from "./table.js";

export interface TransportOptions {
  /** Node identity; the transport id is its hash. */
  identity: Identity;
  random: RandomSource;
  /** Route for others (reference: enable_transport). */
  transportEnabled: boolean;
  /** Identity hashes whose announces are dropped. */
  blackholedIdentities?: Bytes[];
  limits?: Partial<TransportLimits>;
}

export interface TransportStats {
  interfaces: Record<number, InterfaceStats & { name: string }>;
  totals: TransportTotals;
  tables: {
    paths: number;
    packetHashes: number;
    reverse: number;
    links: number;
    announces: number;
    heldByPathRequests: number;
    announcesHeld: number;
    announcesQueued: number;
    pathRequestTags: number;
    discoveryPathRequests: number;
    pathRequestTimes: number;
    receipts: number;
    knownDestinations: number;
    rateEntries: number;
    pendingTransmits: number;
    pendingEvents: number;
  };
}

export class Transport {
  readonly #core: TransportCore;

  constructor(opts: TransportOptions) {
    const limits = resolveLimits(opts.limits);
    this.#core = new TransportCore(opts.identity, opts.random, opts.transportEnabled, limits);
    for (const h of opts.blackholedIdentities ?? []) {
      assertLength(h, TRUNCATED_HASH_LENGTH, "blackholed identity hash");
      this.#core.blackholed.add(keyOf(h));
    }
  }

  get transportId(): Bytes {
    return this.#core.transportId;
  }

  get transportEnabled(): boolean {
    return this.#core.transportEnabled;
  }

  addInterface(desc: TransportInterface, nowMs: number): void {
    const core = this.#core;
    if (core.interfaces.has(desc.id)) throw new RangeError(`interface ${desc.id} already added`);
    if (core.interfaces.size >= core.limits.maxInterfaces) throw new RangeError("too many interfaces");
    core.interfaces.set(desc.id, new InterfaceState(desc, nowMs, core.limits));
    core.sortInterfaces();
  }

  /** Removes an interface with its paths, relayed links, queued and held announces. */
  removeInterface(id: number, _nowMs: number): void {
    const core = this.#core;
    if (!core.interfaces.delete(id)) return;
    core.sortInterfaces();
    core.paths.deleteWhere((r) => r.interfaceId === id);
    core.relay.dropInterface(id);
    core.announces.deleteWhere((e) => e.attachedInterfaceId === id);
    core.discoveryRequests.deleteWhere((d) => d.interfaceId === id);
    for (const link of core.localLinks.values()) if (link.interfaceId === id) link.interfaceId = null;
  }

  /** A frame received on an interface (IFAC already stripped by the host). Never throws on remote input. */
  inbound(interfaceId: number, raw: Uint8Array, nowMs: number, meta?: FrameMeta): void {
    const core = this.#core;
    const iface = core.interfaces.get(interfaceId);
    if (iface === undefined) {
      core.drop(undefined, "unknown-interface");
      return;
    }
    iface.stats.rxPackets++;
    iface.stats.rxBytes += raw.length;
    core.totals.rxPackets++;
    core.totals.rxBytes += raw.length;
    // Our own copy (new Uint8Array copies; a Buffer's slice would not): events and tables keep views into
    // it, whatever the host does with its buffer.
    receive(core, iface, new Uint8Array(raw), nowMs, meta);
  }

  /** A packet originated locally (announce, data, link request, proof...). Chooses interfaces and header. */
  outbound(packet: Packet, nowMs: number, opts: OutboundOptions = {}): OutboundResult {
    return sendOutbound(this.#core, packet, nowMs, opts);
  }

  registerDestination(hash: Uint8Array, type: DestinationTypeValue): void {
    assertLength(hash, TRUNCATED_HASH_LENGTH, "destination hash");
    const core = this.#core;
    const key = keyOf(hash);
    if (core.localDestinations.has(key)) throw new RangeError("destination already registered");
    if (core.localDestinations.size >= core.limits.maxLocalDestinations) throw new RangeError("too many local destinations");
    core.localDestinations.set(key, type);
  }

  unregisterDestination(hash: Uint8Array): void {
    this.#core.localDestinations.delete(keyOf(hash));
  }

  /** Packets to this link id are delivered locally; `interfaceId` binds the link to an interface (else learned). */
  registerLink(linkId: Uint8Array, interfaceId?: number): void {
    assertLength(linkId, TRUNCATED_HASH_LENGTH, "link id");
    const core = this.#core;
    const key = keyOf(linkId);
    if (!core.localLinks.has(key) && core.localLinks.size >= core.limits.maxLocalLinks) throw new RangeError("too many local links");
    core.localLinks.set(key, { interfaceId: interfaceId ?? null });
  }

  unregisterLink(linkId: Uint8Array): void {
    this.#core.localLinks.delete(keyOf(linkId));
  }

  /**
   * Asks the network for a path (on one interface, or all). Not more than once per PATH_REQUEST_MI per
   * destination: returns false when held back.
   */
  requestPath(destinationHash: Uint8Array, nowMs: number, interfaceId?: number): boolean {
    assertLength(destinationHash, TRUNCATED_HASH_LENGTH, "destination hash");
    const core = this.#core;
    if (interfaceId !== undefined && !core.interfaces.has(interfaceId)) throw new RangeError(`unknown interface ${interfaceId}`);
    const last = core.pathRequestTimes.get(keyOf(destinationHash));
    if (last !== undefined && nowMs - last < PATH_REQUEST_MIN_INTERVAL_MS) return false;
    return sendPathRequest(core, destinationHash, nowMs, interfaceId ?? null, null, false);
  }

  hasPath(dest: Uint8Array): boolean {
    return this.#core.paths.get(dest) !== undefined;
  }

  /** Hops to a destination, or null when unknown (the reference answers PATHFINDER_M). */
  hopsTo(dest: Uint8Array): number | null {
    return this.#core.paths.get(dest)?.hops ?? null;
  }

  pathTo(dest: Uint8Array): PathEntry | null {
    const r = this.#core.paths.get(dest);
    return r === undefined ? null : this.#core.paths.view(r, this.#core.interfaces.get(r.interfaceId)?.mode);
  }

  paths(): PathEntry[] {
    const core = this.#core;
    return [...core.paths.records()].map((r) => core.paths.view(r, core.interfaces.get(r.interfaceId)?.mode));
  }

  dropPath(dest: Uint8Array): boolean {
    return this.#core.paths.delete(dest);
  }

  /** Marks a path unresponsive (a link over it failed): an equal announce may then replace it. */
  markPathUnresponsive(dest: Uint8Array): boolean {
    const r = this.#core.paths.get(dest);
    if (r === undefined) return false;
    r.state = "unresponsive";
    return true;
  }

  /** The public key and app data last announced for a destination (the reference's Identity.recall). */
  recall(dest: Uint8Array): { publicKey: Bytes; appData: Bytes | null } | null {
    const k = this.#core.known.get(keyOf(dest));
    return k === undefined ? null : { publicKey: k.publicKey, appData: k.appData };
  }

  /** Drops announces of an identity from now on, and the paths to its destinations. */
  blackholeIdentity(identityHash: Uint8Array): void {
    assertLength(identityHash, TRUNCATED_HASH_LENGTH, "identity hash");
    const core = this.#core;
    const key = keyOf(identityHash);
    core.blackholed.add(key);
    core.paths.deleteWhere((r) => {
      const k = core.known.get(keyOf(r.destinationHash));
      return k !== undefined && keyOf(truncatedHash(k.publicKey)) === key;
    });
  }

  tick(nowMs: number): void {
    runJobs(this.#core, nowMs, (iface, raw) => receive(this.#core, iface, raw, nowMs, undefined));
  }

  nextDeadlineMs(): number {
    return nextDeadline(this.#core);
  }

  takeTransmits(): Transmit[] {
    const t = this.#core.transmits;
    this.#core.transmits = [];
    return t;
  }

  takeEvents(): TransportEvent[] {
    const e = this.#core.events;
    this.#core.events = [];
    return e;
  }

  get stats(): TransportStats {
    const core = this.#core;
    const interfaces: TransportStats["interfaces"] = {};
    let held = 0;
    let queued = 0;
    for (const i of core.interfaces.values()) {
      interfaces[i.id] = Object.assign(i.stats, { name: i.name });
      held += i.ingress.held.size;
      queued += i.queue.entries.length;
    }
    return {
      interfaces,
      totals: core.totals,
      tables: {
        paths: core.paths.size,
        packetHashes: core.hashlist.size,
        reverse: core.relay.reverse.size,
        links: core.relay.links.size,
        announces: core.announces.size,
        heldByPathRequests: core.announces.heldSize,
        announcesHeld: held,
        announcesQueued: queued,
        pathRequestTags: core.pathRequestTags.size,
        discoveryPathRequests: core.discoveryRequests.size,
        pathRequestTimes: core.pathRequestTimes.size,
        receipts: core.receipts.size,
        knownDestinations: core.known.size,
        rateEntries: core.rates.size,
        pendingTransmits: core.transmits.length,
        pendingEvents: core.events.length,
      },
    };
  }

  exportState(): PersistedTransportState {
    return exportState(this.#core);
  }

  /** Restores paths and known destinations (add interfaces first). Refuses malformed input with a reason. */
  importState(s: unknown, nowMs: number): Result<number> {
    return importState(this.#core, s, nowMs);
  }
}

export type { PathEntry } from "./path-table.js";
export type { TransportInterface, InterfaceControl, InterfaceStats } from "./interfaces.js";
export type { OutboundOptions, OutboundResult } from "./outbound.js";
export type { PersistedTransportState } from "./persistence.js";
export type { TransportLimits } from "./limits.js";
export type { TransportDropReason, TransportTotals } from "./state.js";
