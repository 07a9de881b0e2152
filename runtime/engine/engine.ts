// The engine: one node's protocol machines composed — Transport, local destinations, links, resources,
// receipts and the probe responder — still sans-IO. The host feeds it frames and time and drains its
// transmits and events; apps (kosctl cp, the action log, quorum) act on events through its methods.
//
// How it works: every entry point (inbound, tick, an app call) ends in pump(): Transport events become
// link/destination/receipt work, links and resources produce packets that go back through
// Transport.outbound, until nothing is left (bounded). nextDeadlineMs() is the earliest of every machine's.
import { toHex, type Bytes } from "../core/bytes.js";
import { ENCRYPTED_MDU, MDU } from "../core/limits.js";
import type { RandomSource } from "../core/ports.js";
import { err, ok, type Result } from "../core/result.js";
import type { Identity } from "../crypto/identity.js";
import { announceRandomHash, buildAnnounce } from "../wire/announce.js";
import { destinationHash, nameHash } from "../wire/destination.js";
import { buildProofData, proofDestinationHash, validateProof } from "../wire/proof.js";
import { Context, DestinationType, HeaderType, PacketType, TransportType, packetHash, type Packet, type ReceivedPacket } from "../wire/packet.js";
import { Link } from "../mesh/link/link.js";
import { Transport } from "../mesh/transport/transport.js";
import type { TransportLimits } from "../mesh/transport/limits.js";
import type { InterfaceDescriptor, LinkEvent, TransportEvent, FrameMeta } from "../mesh/types.js";
import type { DestinationSpec, EngineEvent, LocalDestination } from "./events.js";
import { KnownDestinations } from "./known.js";
import { LinkResources } from "./resources.js";

export interface EngineOptions {
  identity: Identity;
  random: RandomSource;
  transportEnabled: boolean;
  respondToProbes: boolean;
  blackholedIdentities?: Bytes[];
  transportLimits?: Partial<TransportLimits>;
}

interface Receipt {
  id: number;
  packetHash: Bytes;
  prover: Identity;
  sentAtMs: number;
  deadlineMs: number;
}

interface LinkEntry {
  link: Link;
  local: LocalDestination | null;
  remoteDestination: Bytes | null;
  resources: LinkResources;
}

export const ENGINE_LIMITS = {
  maxLinks: 1024,
  maxReceipts: 1024,
  maxPumpRounds: 10_000,
  maxEvents: 10_000,
  /** First-hop wait for a proof plus this per hop (the reference: ~6 s per hop on fast links). */
  receiptBaseMs: 15_000,
  receiptPerHopMs: 6_000,
} as const;

export class Engine {
  readonly identity: Identity;
  readonly transport: Transport;
  readonly known = new KnownDestinations();
  readonly probeDestination: LocalDestination | null;
  readonly #random: RandomSource;
  readonly #destinations = new Map<string, LocalDestination>();
  readonly #links = new Map<string, LinkEntry>();
  readonly #receipts = new Map<string, Receipt>();
  readonly #interfaces = new Map<number, InterfaceDescriptor>();
  #events: EngineEvent[] = [];
  #nextReceiptId = 1;
  #droppedEvents = 0;

  constructor(o: EngineOptions) {
    this.identity = o.identity;
    this.#random = o.random;
    this.transport = new Transport({
      identity: o.identity,
      random: o.random,
      transportEnabled: o.transportEnabled,
      ...(o.blackholedIdentities ? { blackholedIdentities: o.blackholedIdentities } : {}),
      ...(o.transportLimits ? { limits: o.transportLimits } : {}),
    });
    this.probeDestination = o.respondToProbes
      ? this.registerDestination({
          identity: o.identity,
          appName: "rnstransport",
          aspects: ["probe"],
          proof: "all",
          acceptLinks: false,
          acceptResourcesUpToBytes: 0,
        })
      : null;
  }

  // ---- interfaces and time -------------------------------------------------------------------------

  addInterface(desc: InterfaceDescriptor, nowMs: number): void {
    this.#interfaces.set(desc.id, desc);
    this.transport.addInterface(desc as Parameters<Transport["addInterface"]>[0], nowMs);
    this.#pump(nowMs);
  }

  removeInterface(id: number, nowMs: number): void {
    this.#interfaces.delete(id);
    this.transport.removeInterface(id, nowMs);
    this.#pump(nowMs);
  }

  interfaceDescriptor(id: number): InterfaceDescriptor | undefined {
    return this.#interfaces.get(id);
  }

  /** Ids of the attached interfaces, in the order they were added. */
  interfaceIds(): number[] {
    return [...this.#interfaces.keys()];
  }

  inbound(interfaceId: number, raw: Bytes, nowMs: number, meta?: FrameMeta): void {
    this.transport.inbound(interfaceId, raw, nowMs, meta);
    this.#pump(nowMs);
  }

  tick(nowMs: number): void {
    this.transport.tick(nowMs);
    for (const entry of [...this.#links.values()]) {
      entry.link.tick(nowMs);
      entry.resources.tick(nowMs);
      this.#drainLink(entry, nowMs);
    }
    for (const [key, r] of this.#receipts) {
      if (nowMs >= r.deadlineMs) {
        this.#receipts.delete(key);
        this.#emit({ kind: "receipt", receiptId: r.id, status: "failed", rttMs: nowMs - r.sentAtMs });
      }
    }
    this.#pump(nowMs);
  }

  nextDeadlineMs(): number {
    let t = this.transport.nextDeadlineMs();
    for (const e of this.#links.values()) t = Math.min(t, e.link.nextDeadlineMs(), e.resources.nextDeadlineMs());
    for (const r of this.#receipts.values()) t = Math.min(t, r.deadlineMs);
    return t;
  }

  takeTransmits(): ReturnType<Transport["takeTransmits"]> {
    return this.transport.takeTransmits();
  }

  takeEvents(): EngineEvent[] {
    const out = this.#events;
    this.#events = [];
    return out;
  }

  get droppedEvents(): number {
    return this.#droppedEvents;
  }

  // ---- destinations, announces, packets -------------------------------------------------------------

  registerDestination(spec: DestinationSpec): LocalDestination {
    const nh = nameHash(spec.appName, spec.aspects);
    const hash = destinationHash(nh, spec.identity?.hash ?? null);
    const dest: LocalDestination = { hash, nameHash: nh, spec };
    this.transport.registerDestination(hash, spec.identity === null ? DestinationType.PLAIN : DestinationType.SINGLE);
    this.#destinations.set(toHex(hash), dest);
    return dest;
  }

  destination(hash: Bytes): LocalDestination | undefined {
    return this.#destinations.get(toHex(hash));
  }

  destinations(): LocalDestination[] {
    return [...this.#destinations.values()];
  }

  announce(dest: LocalDestination, nowMs: number, opts: { appData?: Bytes | null; pathResponse?: boolean; interfaceId?: number } = {}): boolean {
    if (dest.spec.identity === null) throw new TypeError("only SINGLE destinations announce");
    const packet = buildAnnounce(dest.spec.identity, dest.nameHash, {
      randomHash: announceRandomHash(this.#random, nowMs),
      appData: opts.appData !== undefined ? opts.appData : dest.spec.appData ?? null,
      pathResponse: opts.pathResponse === true,
    });
    const r = this.transport.outbound(packet, nowMs, opts.interfaceId !== undefined ? { interfaceId: opts.interfaceId } : {});
    this.#pump(nowMs);
    return r.sent;
  }

  requestPath(destinationHashBytes: Bytes, nowMs: number): boolean {
    const sent = this.transport.requestPath(destinationHashBytes, nowMs);
    this.#pump(nowMs);
    return sent;
  }

  /**
   * Sends one encrypted packet to a known SINGLE destination. With `wantProof`, the returned receipt id
   * later shows up in a "receipt" event (delivered, or failed after a timeout).
   */
  sendPacket(dest: Bytes, plaintext: Bytes, nowMs: number, opts: { wantProof?: boolean } = {}): Result<{ receiptId: number | null }> {
    const known = this.known.recall(dest);
    if (known === null) return err("bad-destination", "unknown destination: no announce received for it");
    if (plaintext.length > ENCRYPTED_MDU) return err("too-long", `packet data over ${ENCRYPTED_MDU} bytes`);
    const data = known.identity.encrypt(plaintext, this.#random, known.ratchet !== null ? { ratchet: known.ratchet } : {});
    const packet: Packet = {
      headerType: HeaderType.HEADER_1,
      contextFlag: false,
      transportType: TransportType.BROADCAST,
      destinationType: DestinationType.SINGLE,
      packetType: PacketType.DATA,
      hops: 0,
      transportId: null,
      destinationHash: dest,
      context: Context.NONE,
      data,
    };
    const r = this.transport.outbound(packet, nowMs, { wantProof: opts.wantProof === true });
    if (!r.sent || r.raw === null) return err("unknown", "no interface could send the packet");
    let receiptId: number | null = null;
    if (opts.wantProof === true) receiptId = this.#addReceipt(packetHash(r.raw), known.identity, dest, nowMs);
    this.#pump(nowMs);
    return ok({ receiptId });
  }

  /**
   * Broadcasts one unencrypted packet to a PLAIN destination, on one interface or on all of them. As in the
   * reference, transport nodes never forward PLAIN packets: they reach direct neighbours only, which is what
   * local gossip (quorum) wants.
   */
  sendPlain(dest: Bytes, data: Bytes, nowMs: number, opts: { interfaceId?: number } = {}): Result<{ raw: Bytes }> {
    if (data.length > MDU) return err("too-long", `plain packet data over ${MDU} bytes`);
    if (opts.interfaceId !== undefined && !this.#interfaces.has(opts.interfaceId)) return err("bad-state", `no interface ${opts.interfaceId}`);
    const packet: Packet = {
      headerType: HeaderType.HEADER_1,
      contextFlag: false,
      transportType: TransportType.BROADCAST,
      destinationType: DestinationType.PLAIN,
      packetType: PacketType.DATA,
      hops: 0,
      transportId: null,
      destinationHash: dest,
      context: Context.NONE,
      data,
    };
    const r = this.transport.outbound(packet, nowMs, opts.interfaceId !== undefined ? { interfaceId: opts.interfaceId } : {});
    this.#pump(nowMs);
    if (!r.sent || r.raw === null) return err("unknown", "no interface could send the packet");
    return ok({ raw: r.raw });
  }

  // ---- links -------------------------------------------------------------------------------------

  openLink(dest: Bytes, nowMs: number): Result<Bytes> {
    const known = this.known.recall(dest);
    if (known === null) return err("bad-destination", "unknown destination: no announce received for it");
    if (this.#links.size >= ENGINE_LIMITS.maxLinks) return err("too-long", "too many links");
    const path = this.transport.pathTo(dest);
    const iface = path !== null ? this.#interfaces.get(path.interfaceId) : undefined;
    const hwMtu = iface?.hwMtu;
    // The establishment timeout counts the path's hops (an unknown path counts as 128 hops: 13 minutes).
    const { link, request } = Link.initiate({
      destinationHash: dest,
      destinationIdentity: known.identity,
      random: this.#random,
      nowMs,
      ...(hwMtu !== undefined ? { hwMtu } : {}),
      ...(path !== null ? { hops: path.hops } : {}),
      ...(iface !== undefined && iface.bitrateBps > 0 ? { firstHopBitrateBps: iface.bitrateBps } : {}),
    });
    const entry: LinkEntry = { link, local: null, remoteDestination: dest.slice(), resources: new LinkResources(link, this.#random) };
    this.#links.set(toHex(link.linkId), entry);
    this.transport.registerLink(link.linkId);
    this.transport.outbound(request, nowMs);
    this.#drainLink(entry, nowMs);
    this.#pump(nowMs);
    return ok(link.linkId);
  }

  link(linkId: Bytes): Link | undefined {
    return this.#links.get(toHex(linkId))?.link;
  }

  links(): Array<{ link: Link; local: LocalDestination | null; remoteDestination: Bytes | null }> {
    return [...this.#links.values()];
  }

  linkSend(linkId: Bytes, plaintext: Bytes, nowMs: number): boolean {
    const e = this.#links.get(toHex(linkId));
    if (e === undefined || e.link.status !== "active") return false;
    this.transport.outbound(e.link.send(plaintext, nowMs), nowMs);
    this.#drainLink(e, nowMs);
    this.#pump(nowMs);
    return true;
  }

  linkRequest(linkId: Bytes, path: string, data: unknown, nowMs: number, timeoutMs?: number): Result<Bytes> {
    const e = this.#links.get(toHex(linkId));
    if (e === undefined || e.link.status !== "active") return err("bad-destination", "no active link");
    const r = e.link.request(path, data, nowMs, timeoutMs);
    if (r.packet !== null) this.transport.outbound(r.packet, nowMs);
    this.#drainLink(e, nowMs);
    this.#pump(nowMs);
    return ok(r.requestId);
  }

  linkRespond(linkId: Bytes, requestId: Bytes, data: unknown, nowMs: number): boolean {
    const e = this.#links.get(toHex(linkId));
    if (e === undefined || e.link.status !== "active") return false;
    const p = e.link.respond(requestId, data, nowMs);
    if (p !== null) this.transport.outbound(p, nowMs);
    this.#drainLink(e, nowMs);
    this.#pump(nowMs);
    return true;
  }

  linkIdentify(linkId: Bytes, identity: Identity, nowMs: number): boolean {
    const e = this.#links.get(toHex(linkId));
    if (e === undefined || e.link.status !== "active") return false;
    this.transport.outbound(e.link.identify(identity, nowMs), nowMs);
    this.#pump(nowMs);
    return true;
  }

  closeLink(linkId: Bytes, nowMs: number): void {
    const e = this.#links.get(toHex(linkId));
    if (e === undefined) return;
    const p = e.link.close(nowMs);
    if (p !== null) this.transport.outbound(p, nowMs);
    this.#drainLink(e, nowMs);
    this.#pump(nowMs);
  }

  /** Sends `data` (with optional metadata, e.g. {name: bytes} as rncp does) as a resource on a link. */
  sendResource(linkId: Bytes, data: Bytes, metadata: Record<string, unknown> | null, nowMs: number): Result<number> {
    const e = this.#links.get(toHex(linkId));
    if (e === undefined || e.link.status !== "active") return err("bad-destination", "no active link");
    const id = e.resources.send(data, metadata, nowMs);
    this.#drainLink(e, nowMs);
    this.#pump(nowMs);
    return ok(id);
  }

  /** Sets how many bytes an incoming resource on this link may have (0 refuses resources). */
  acceptResources(linkId: Bytes, upToBytes: number): void {
    const e = this.#links.get(toHex(linkId));
    if (e !== undefined) e.resources.acceptUpToBytes = upToBytes;
  }

  // ---- the pump -----------------------------------------------------------------------------------

  #pump(nowMs: number): void {
    for (let round = 0; round < ENGINE_LIMITS.maxPumpRounds; round++) {
      const events = this.transport.takeEvents();
      if (events.length === 0) return;
      for (const ev of events) this.#onTransportEvent(ev, nowMs);
    }
  }

  #onTransportEvent(ev: TransportEvent, nowMs: number): void {
    switch (ev.kind) {
      case "announce": {
        const a = ev.announce;
        if (!this.known.remember(a, nowMs)) return;
        this.#emit({
          kind: "announce",
          destinationHash: a.destinationHash.slice(),
          identityHash: a.identity.hash.slice(),
          nameHash: a.nameHash.slice(),
          appData: a.appData === null ? null : a.appData.slice(),
          hops: ev.hops,
          interfaceId: ev.interfaceId,
          pathResponse: ev.pathResponse,
        });
        return;
      }
      case "path":
        this.#emit({ kind: "path", destinationHash: ev.destinationHash.slice(), hops: ev.hops, interfaceId: ev.interfaceId });
        return;
      case "path-request": {
        const dest = this.#destinations.get(toHex(ev.destinationHash));
        if (dest !== undefined && dest.spec.identity !== null) {
          this.announce(dest, nowMs, { pathResponse: true, interfaceId: ev.interfaceId });
        }
        return;
      }
      case "proof":
        this.#onProof(ev.packet, nowMs);
        return;
      case "packet":
        this.#onPacket(ev.packet, ev.interfaceId, nowMs);
        return;
    }
  }

  #onPacket(packet: ReceivedPacket, interfaceId: number, nowMs: number): void {
    if (packet.destinationType === DestinationType.LINK) {
      const e = this.#links.get(toHex(packet.destinationHash));
      if (e === undefined) return;
      e.link.handle(packet, nowMs);
      this.#drainLink(e, nowMs);
      return;
    }
    const dest = this.#destinations.get(toHex(packet.destinationHash));
    if (dest === undefined) return;
    if (packet.packetType === PacketType.LINKREQUEST) return this.#onLinkRequest(dest, packet, interfaceId, nowMs);
    if (packet.packetType !== PacketType.DATA) return;
    let plaintext: Bytes = packet.data;
    if (dest.spec.identity !== null) {
      const d = dest.spec.identity.decrypt(packet.data);
      if (!d.ok) return;
      plaintext = d.value.plaintext;
    }
    const hash = packetHash(packet.raw);
    if (dest.spec.proof === "all" && dest.spec.identity !== null) this.#prove(dest.spec.identity, hash, interfaceId, nowMs);
    this.#emit({ kind: "packet", destinationHash: dest.hash, plaintext, packetHash: hash, interfaceId });
  }

  #onLinkRequest(dest: LocalDestination, packet: ReceivedPacket, interfaceId: number, nowMs: number): void {
    if (!dest.spec.acceptLinks || dest.spec.identity === null || this.#links.size >= ENGINE_LIMITS.maxLinks) return;
    const hwMtu = this.#interfaces.get(interfaceId)?.hwMtu;
    const r = Link.accept(packet, { owner: dest.spec.identity, random: this.#random, nowMs, ...(hwMtu !== undefined ? { hwMtu } : {}) });
    if (!r.ok) return;
    const { link, proof } = r.value;
    const key = toHex(link.linkId);
    if (this.#links.has(key)) return;
    const entry: LinkEntry = { link, local: dest, remoteDestination: null, resources: new LinkResources(link, this.#random) };
    entry.resources.acceptUpToBytes = dest.spec.acceptResourcesUpToBytes;
    this.#links.set(key, entry);
    this.transport.registerLink(link.linkId, interfaceId);
    this.transport.outbound(proof, nowMs, { interfaceId });
    this.#drainLink(entry, nowMs);
  }

  #prove(identity: Identity, provedHash: Bytes, interfaceId: number, nowMs: number): void {
    const proof: Packet = {
      headerType: HeaderType.HEADER_1,
      contextFlag: false,
      transportType: TransportType.BROADCAST,
      destinationType: DestinationType.SINGLE,
      packetType: PacketType.PROOF,
      hops: 0,
      transportId: null,
      destinationHash: proofDestinationHash(provedHash),
      context: Context.NONE,
      data: buildProofData(identity, provedHash, true),
    };
    this.transport.outbound(proof, nowMs, { interfaceId });
  }

  #addReceipt(hash: Bytes, prover: Identity, dest: Bytes, nowMs: number): number {
    while (this.#receipts.size >= ENGINE_LIMITS.maxReceipts) this.#receipts.delete(this.#receipts.keys().next().value as string);
    const id = this.#nextReceiptId++;
    const hops = this.transport.hopsTo(dest) ?? 1;
    this.#receipts.set(toHex(proofDestinationHash(hash)), {
      id,
      packetHash: hash,
      prover,
      sentAtMs: nowMs,
      deadlineMs: nowMs + ENGINE_LIMITS.receiptBaseMs + ENGINE_LIMITS.receiptPerHopMs * hops,
    });
    return id;
  }

  #onProof(packet: ReceivedPacket, nowMs: number): void {
    const key = toHex(packet.destinationHash);
    const r = this.#receipts.get(key);
    if (r === undefined) return;
    if (!validateProof(packet.data, r.packetHash, r.prover).ok) return;
    this.#receipts.delete(key);
    this.#emit({ kind: "receipt", receiptId: r.id, status: "delivered", rttMs: nowMs - r.sentAtMs });
  }

  /** Sends what a link and its resources produced and turns their events into engine events. */
  #drainLink(entry: LinkEntry, nowMs: number): void {
    for (let round = 0; round < ENGINE_LIMITS.maxPumpRounds; round++) {
      const packets = [...entry.link.takePackets(), ...entry.resources.takePackets()];
      const events = entry.link.takeEvents();
      if (packets.length === 0 && events.length === 0) break;
      for (const p of packets) this.transport.outbound(p, nowMs);
      for (const ev of events) this.#onLinkEvent(entry, ev, nowMs);
    }
    for (const r of entry.resources.takeEvents()) this.#emit({ ...r, linkId: entry.link.linkId });
    if (entry.link.status === "closed") {
      this.#links.delete(toHex(entry.link.linkId));
      this.transport.unregisterLink(entry.link.linkId);
    }
  }

  #onLinkEvent(entry: LinkEntry, ev: LinkEvent, nowMs: number): void {
    if (ev.kind === "data" && entry.resources.handles(ev.context)) {
      entry.resources.handle(ev.context, ev.packet, ev.plaintext, nowMs);
      return;
    }
    if (ev.kind === "closed") entry.resources.linkClosed(nowMs);
    this.#emit({
      kind: "link",
      linkId: entry.link.linkId,
      localDestination: entry.local?.hash ?? null,
      remoteDestination: entry.remoteDestination,
      event: ev,
    });
  }

  #emit(ev: EngineEvent): void {
    if (this.#events.length >= ENGINE_LIMITS.maxEvents) {
      this.#droppedEvents++;
      return;
    }
    this.#events.push(ev);
  }
}

