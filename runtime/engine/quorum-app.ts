// Local quorum on an engine: the quorum machine (runtime/quorum) gossips as PLAIN packets to the destination
// "kos.quorum" on every interface, one gossip interface per engine interface, so a message is answered on
// the interface it came from and a node between a LoRa and a Wi-Fi segment carries votes across. PLAIN
// packets are never forwarded by transport nodes: gossip reaches neighbours, and the machine's own
// anti-entropy carries it further, hop by hop, through every node that runs quorum.
//
// Members beyond a relay that does not run quorum (a reference rnsd transport node, a kosd without [quorum])
// are reached over links: every node registers one SINGLE destination "kos.quorum.link" for its identity,
// accepting links, which the host announces with its others. While a proposal is open, a member opens a link
// to each other member of its current membership whose link destination is known with a path of more than
// one hop (a neighbour already hears the broadcasts), nearest first, at most QUORUM_LINK_LIMITS.maxOutgoing,
// and identifies on it with its node identity; the responder takes only members of its current membership
// (others are closed and counted, as are links left unidentified past a grace). Each gossip message is one
// link packet; the machine sees the link as a peer (its id in hex) and deduplicates as for broadcasts. Links
// close once no proposal is open and they were idle a while; failed opens back off per member. A member
// whose link destination never reached us by announce, and whose vote on a proposal undecided a while has not
// reached us either, is asked for with a path request (the membership gives its identity, so the destination
// hash), rate-limited per destination and per round; the path response opens the way.
//
// Both hosts use this: kosd (runtime/host) with a durable vote journal, the simulator (hil/sim) with an
// in-memory one. The host feeds the engine's events in (onEngineEvent), calls tick() when nextDeadlineMs()
// is due and after every engine call (interfaces come and go with the engine), and reads the machine's
// events through the listener. A vote is sent only after `persist` has resolved for it.
import { equal, toHex, type Bytes } from "../core/bytes.js";
import type { QuorumMachine } from "../quorum/machine.js";
import type { QuorumEvent } from "../quorum/events.js";
import { destinationHash, nameHash } from "../wire/destination.js";
import { Context } from "../wire/packet.js";
import type { Engine } from "./engine.js";
import type { EngineEvent, LocalDestination } from "./events.js";

export const QUORUM_APP_NAME = "kos";
export const QUORUM_ASPECTS = ["quorum"] as const;
/** The SINGLE destination (one per node identity) that accepts quorum links. */
export const QUORUM_LINK_ASPECTS = ["quorum", "link"] as const;
const LINK_NAME_HASH = nameHash(QUORUM_APP_NAME, [...QUORUM_LINK_ASPECTS]);

export const QUORUM_LINK_LIMITS = {
  /** Links this node opens at once (nearest members first); incoming ones are bounded by the members. */
  maxOutgoing: 8,
  /** How often link upkeep runs while a proposal is open or a link exists. */
  checkEveryMs: 5_000,
  /** An incoming link must identify as a member within this, or it is closed. */
  identifyGraceMs: 10_000,
  /** Messages held per incoming link until its initiator identifies (more are dropped and counted). */
  maxHeldPerLink: 8,
  /** With no open proposal, a link without quorum traffic this long is closed. */
  idleMs: 60_000,
  /** After a link to a member failed, wait this long before the next try, doubling up to the max. */
  retryMinMs: 15_000,
  retryMaxMs: 600_000,
  /**
   * A member whose link destination has no known path (its announce never reached us) is asked for with a path
   * request while a proposal is open: at most once per this per destination, doubling up to the max, and at
   * most pathRequestsMax times per destination from the moment a proposal opens (after none was open) until
   * its path is known.
   */
  pathRequestMinMs: 30_000,
  /**
   * Asking starts only once a proposal we know has gone this long without a certificate, and only for members
   * whose vote on it has not reached us: broadcast gossip decides most proposals (a LoRa mesh where every node
   * runs quorum) before any link is needed, and a burst of requests from every member for every other would
   * crowd a slow channel (the simulator's LoRa safety runs missed deadlines with it).
   */
  pathRequestDelayMs: 10_000,
  /** Requests per upkeep round (every checkEveryMs), so that many unknown members are asked for in a trickle. */
  pathRequestsPerCheck: 1,
  pathRequestMaxMs: 600_000,
  pathRequestsMax: 6,
} as const;

/** The quorum link destination of a member (by its public key's identity hash). */
export function quorumLinkDestination(identityHash: Bytes): Bytes {
  return destinationHash(LINK_NAME_HASH, identityHash);
}

export interface QuorumAppOptions {
  engine: Engine;
  machine: QuorumMachine;
  /**
   * Makes our own signed vote durable (the host's vote journal, synced to disk). The machine sends the vote
   * once this resolves; a rejection leaves it unsent (and counted), and the host may retry by casting again.
   * A host on a virtual clock (the simulator) returns "deferred" and calls votePersisted() when its modelled
   * sync completes: a promise would settle outside its clock.
   */
  persist(proposalId: Bytes, vote: Bytes): Promise<void> | void | "deferred";
  /** Every machine event, in order. */
  onEvent?(event: QuorumEvent): void;
  /** Where the clock is read when a persist completes asynchronously. */
  nowMs(): number;
  /**
   * Called after a persist that completed asynchronously was counted and its vote handed to the engine: the
   * engine's output is then waiting outside any host call, and a host that drains it after each call (kosd's
   * KosNode.run) does so here.
   */
  afterAsyncPersist?(): void;
  /** Gossip over links to members beyond non-quorum relays (default true; false: broadcasts only). */
  links?: boolean;
  /** Ask the network for the path to members' link destinations we never heard announced (default true, with links). */
  pathRequests?: boolean;
}

export interface QuorumAppStats {
  /** Packets handed to the engine, and refused by it (no interface, too long). */
  packetsOut: number;
  packetsRefused: number;
  packetsIn: number;
  persistFailures: number;
  /** Quorum links opened by us, accepted from members, and failed or closed before coming up. */
  linksOpened: number;
  linksAccepted: number;
  linksFailed: number;
  /** Incoming links refused: identified as a non-member, or not identified within the grace. */
  linksRefusedNotMember: number;
  linksRefusedUnidentified: number;
  /** Links closed for idleness, or as the duplicate of a link the other way. */
  linksIdleClosed: number;
  /** Messages received on quorum links; dropped before the machine (on a link never identified as a member, or past the hold). */
  linkPacketsIn: number;
  linkPacketsDropped: number;
  /** Path requests sent for members' link destinations with no known path (refused by the engine: not counted). */
  pathRequests: number;
}

interface QuorumLink {
  id: Bytes;
  outgoing: boolean;
  /** The member's public key (hex): known at open for outgoing links, at identify for incoming ones. */
  member: string | null;
  /** The machine knows the link as a peer. */
  up: boolean;
  openedAtMs: number;
  lastMs: number;
  /** A message came in on it (a link that closes before any did counts as failed, and backs off). */
  heard: boolean;
  /** Messages that came before the initiator identified (packets can overtake each other), held until it does. */
  held: Bytes[];
}

export class QuorumApp {
  readonly destination: LocalDestination;
  /** Where members open quorum links to this node (null with links off). */
  readonly linkDestination: LocalDestination | null;
  readonly stats: QuorumAppStats = {
    packetsOut: 0, packetsRefused: 0, packetsIn: 0, persistFailures: 0, linksOpened: 0, linksAccepted: 0, linksFailed: 0,
    linksRefusedNotMember: 0, linksRefusedUnidentified: 0, linksIdleClosed: 0, linkPacketsIn: 0, linkPacketsDropped: 0,
    pathRequests: 0,
  };
  readonly #o: QuorumAppOptions;
  #known = new Set<number>();
  #stopped = false;
  /** Quorum links by link id (hex). */
  readonly #links = new Map<string, QuorumLink>();
  /** Per member (public key hex): when we may try a link again, and the wait after the next failure. */
  readonly #retry = new Map<string, { atMs: number; waitMs: number }>();
  /** Per member (public key hex) whose link destination has no known path: when we may ask again, the wait after that, asks so far. */
  readonly #pathAsks = new Map<string, { atMs: number; waitMs: number; count: number }>();
  /** A proposal was open at the last upkeep (a new one after none resets the path request counts). */
  #wasOpen = false;
  /** Proposals we learned (hex id) and when: path requests wait until one has gone undecided a while. */
  readonly #undecided = new Map<string, { id: Bytes; sinceMs: number; voters: Set<number> }>();
  #nextCheckMs = Infinity;

  constructor(o: QuorumAppOptions) {
    this.#o = o;
    this.destination = o.engine.registerDestination({
      identity: null,
      appName: QUORUM_APP_NAME,
      aspects: [...QUORUM_ASPECTS],
      proof: "none",
      acceptLinks: false,
      acceptResourcesUpToBytes: 0,
    });
    this.linkDestination = o.links === false ? null : o.engine.registerDestination({
      identity: o.engine.identity,
      appName: QUORUM_APP_NAME,
      aspects: [...QUORUM_LINK_ASPECTS],
      proof: "none",
      acceptLinks: true,
      acceptResourcesUpToBytes: 0,
    });
  }

  get machine(): QuorumMachine {
    return this.#o.machine;
  }

  /**
   * Feed every engine event here: packets for the quorum destination and messages on quorum links go to
   * the machine; link events and members' announces drive the links.
   */
  onEngineEvent(ev: EngineEvent, nowMs: number): void {
    if (this.#stopped) return;
    if (ev.kind === "link") return this.#onLinkEvent(ev, nowMs);
    if (ev.kind === "announce" || ev.kind === "path") {
      // A member's link destination became reachable: look again soon (upkeep decides whether it is far).
      if (this.linkDestination !== null && this.#nextCheckMs > nowMs && this.#o.machine.openProposals() > 0) this.#nextCheckMs = nowMs;
      return;
    }
    if (ev.kind !== "packet" || !equal(ev.destinationHash, this.destination.hash)) return;
    this.stats.packetsIn++;
    this.#syncInterfaces();
    this.#o.machine.receive(ev.plaintext, { kind: "broadcast", iface: String(ev.interfaceId) }, nowMs);
    this.#drain(nowMs);
  }

  /** Runs the machine's timers and carries out what it asks. Call when due and after engine changes. */
  tick(nowMs: number): void {
    if (this.#stopped) return;
    this.#syncInterfaces();
    this.#o.machine.tick(nowMs);
    this.#drain(nowMs);
  }

  nextDeadlineMs(): number {
    return this.#stopped ? Infinity : Math.min(this.#o.machine.nextDeadlineMs(), this.#nextCheckMs);
  }

  /** Quorum links, for status and tests. */
  links(): Array<{ linkId: string; outgoing: boolean; member: string | null; up: boolean }> {
    return [...this.#links.entries()].map(([linkId, l]) => ({ linkId, outgoing: l.outgoing, member: l.member, up: l.up }));
  }

  /** After a command on the machine (propose, cast, addMembership, addCertificate): send what it produced. */
  flush(nowMs: number): void {
    if (this.#stopped) return;
    this.#syncInterfaces();
    this.#drain(nowMs);
  }

  /** For a persist that returned "deferred": the vote is durable now; count it and send it. */
  votePersisted(proposalId: Bytes, nowMs: number): void {
    if (this.#stopped) return;
    this.#syncInterfaces();
    this.#o.machine.votePersisted(proposalId, nowMs);
    this.#drain(nowMs);
  }

  /** Stops gossip; quorum links are closed (with `nowMs`) so that peers see them go at once. */
  stop(nowMs?: number): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#nextCheckMs = Infinity;
    if (nowMs !== undefined) for (const l of [...this.#links.values()]) this.#o.engine.closeLink(l.id, nowMs);
    this.#links.clear();
  }

  #syncInterfaces(): void {
    const ids = new Set(this.#o.engine.interfaceIds());
    for (const id of ids) {
      if (this.#known.has(id)) continue;
      const bitrateBps = this.#o.engine.interfaceDescriptor(id)?.bitrateBps;
      this.#o.machine.addInterface(String(id), bitrateBps !== undefined ? { bitrateBps } : {});
    }
    for (const id of this.#known) if (!ids.has(id)) this.#o.machine.removeInterface(String(id));
    this.#known = ids;
  }

  #drain(nowMs: number): void {
    const m = this.#o.machine;
    for (const a of m.takeActions()) {
      if (a.type === "broadcast") {
        const r = this.#o.engine.sendPlain(this.destination.hash, a.bytes, nowMs, { interfaceId: Number(a.iface) });
        if (r.ok) this.stats.packetsOut++;
        else this.stats.packetsRefused++;
      } else if (a.type === "send") {
        this.#linkSend(a.peer, a.bytes, nowMs);
      } else {
        this.#persist(a.proposalId, a.vote);
      }
    }
    const listener = this.#o.onEvent;
    for (const e of m.takeEvents()) {
      // A proposal we just learned may need links to far members: look now rather than at the next check.
      if (e.type === "proposal" && this.linkDestination !== null) {
        this.#nextCheckMs = Math.min(this.#nextCheckMs, nowMs);
        if (this.#o.pathRequests !== false && !this.#undecided.has(toHex(e.proposal.id))) this.#undecided.set(toHex(e.proposal.id), { id: e.proposal.id, sinceMs: nowMs, voters: new Set() });
      }
      // A member whose vote reached us (by broadcast or link) needs no path.
      if (e.type === "vote") this.#undecided.get(toHex(e.proposalId))?.voters.add(e.voter);
      listener?.(e);
    }
    if (nowMs >= this.#nextCheckMs) this.#upkeep(nowMs);
  }

  // ---- links -----------------------------------------------------------------------------------------

  #linkSend(peer: string, bytes: Bytes, nowMs: number): void {
    const l = this.#links.get(peer);
    const link = l !== undefined && l.up ? this.#o.engine.link(l.id) : undefined;
    if (l === undefined || link === undefined || bytes.length > link.mdu || !this.#o.engine.linkSend(l.id, bytes, nowMs)) {
      this.stats.packetsRefused++;
      return;
    }
    l.lastMs = nowMs;
    this.stats.packetsOut++;
  }

  #onLinkEvent(ev: Extract<EngineEvent, { kind: "link" }>, nowMs: number): void {
    const key = toHex(ev.linkId);
    let l = this.#links.get(key);
    if (l === undefined) {
      // Only links to our link destination are ours; outgoing ones were recorded when opened.
      if (this.linkDestination === null || ev.localDestination === null || !equal(ev.localDestination, this.linkDestination.hash)) return;
      if (ev.event.kind === "closed") return;
      l = { id: ev.linkId.slice(), outgoing: false, member: null, up: false, openedAtMs: nowMs, lastMs: nowMs, heard: false, held: [] };
      this.#links.set(key, l);
      this.#nextCheckMs = Math.min(this.#nextCheckMs, nowMs + QUORUM_LINK_LIMITS.identifyGraceMs);
    }
    const e = ev.event;
    this.#syncInterfaces();
    switch (e.kind) {
      case "established":
        if (!l.outgoing) return;
        // We initiated: say who we are, then gossip (the responder drops our messages until it knows).
        this.#o.engine.linkIdentify(l.id, this.#o.engine.identity, nowMs);
        this.stats.linksOpened++;
        this.#retry.delete(l.member!);
        this.#up(key, l, nowMs);
        return;
      case "identified": {
        if (l.outgoing || l.up) return;
        const member = toHex(e.publicKey);
        const m = this.#o.machine.currentMembership();
        if (m === null || !m.members.some((k) => toHex(k) === member) || member === toHex(this.#o.engine.identity.publicKey)) {
          this.stats.linksRefusedNotMember++;
          this.#close(key, l, nowMs);
          return;
        }
        l.member = member;
        this.stats.linksAccepted++;
        this.#up(key, l, nowMs);
        return;
      }
      case "data":
        if (e.context !== Context.NONE) return;
        if (!l.up) {
          if (l.outgoing || l.held.length >= QUORUM_LINK_LIMITS.maxHeldPerLink) this.stats.linkPacketsDropped++;
          else l.held.push(e.plaintext.slice());
          return;
        }
        this.#receive(key, l, e.plaintext, nowMs);
        this.#drain(nowMs);
        return;
      case "closed":
        this.#links.delete(key);
        this.stats.linkPacketsDropped += l.held.length;
        if (l.up) this.#o.machine.linkDown(key);
        // Closed by the far end or the network: an outgoing link that carried nothing (refused, never came
        // up) backs off before the next try; one that worked may be reopened at the next upkeep.
        if (l.outgoing && !l.heard) this.#failed(l, nowMs);
        return;
      default:
        return;
    }
  }

  #receive(key: string, l: QuorumLink, bytes: Bytes, nowMs: number): void {
    l.lastMs = nowMs;
    l.heard = true;
    this.stats.linkPacketsIn++;
    this.#o.machine.receive(bytes, { kind: "link", peer: key }, nowMs);
  }

  #up(key: string, l: QuorumLink, nowMs: number): void {
    l.up = true;
    l.lastMs = nowMs;
    // Two members that opened links to each other at once keep the one opened by the smaller identity hash.
    for (const [k2, o] of this.#links) {
      if (k2 === key || !o.up || o.member !== l.member || o.outgoing === l.outgoing) continue;
      const self = toHex(this.#o.engine.identity.publicKey);
      const weOpenedSurvivor = self < l.member!;
      const loser = weOpenedSurvivor === l.outgoing ? o : l;
      const loserKey = loser === o ? k2 : key;
      this.stats.linksIdleClosed++;
      this.#close(loserKey, loser, nowMs);
      if (loser === l) return;
    }
    this.#o.machine.linkUp(key, nowMs);
    const held = l.held;
    l.held = [];
    for (const b of held) this.#receive(key, l, b, nowMs);
    this.#drain(nowMs);
  }

  #close(key: string, l: QuorumLink, nowMs: number): void {
    this.#links.delete(key);
    this.stats.linkPacketsDropped += l.held.length;
    l.held = [];
    if (l.up) this.#o.machine.linkDown(key);
    l.up = false;
    this.#o.engine.closeLink(l.id, nowMs);
  }

  #failed(l: QuorumLink, nowMs: number): void {
    this.stats.linksFailed++;
    if (l.member === null) return;
    const prev = this.#retry.get(l.member);
    const waitMs = prev === undefined ? QUORUM_LINK_LIMITS.retryMinMs : Math.min(QUORUM_LINK_LIMITS.retryMaxMs, prev.waitMs * 2);
    this.#retry.set(l.member, { atMs: nowMs + waitMs, waitMs });
  }

  /** Closes links that are unidentified, idle or no longer a member's; opens links to far members while a proposal is open. */
  #upkeep(nowMs: number): void {
    this.#nextCheckMs = Infinity;
    if (this.linkDestination === null) return;
    const m = this.#o.machine.currentMembership();
    const open = this.#o.machine.openProposals() > 0;
    const members = new Set(m === null ? [] : m.members.map((k) => toHex(k)));
    for (const [key, l] of [...this.#links]) {
      if (!l.outgoing && !l.up && nowMs - l.openedAtMs >= QUORUM_LINK_LIMITS.identifyGraceMs) {
        this.stats.linksRefusedUnidentified++;
        this.#close(key, l, nowMs);
      } else if (l.member !== null && !members.has(l.member)) {
        this.#close(key, l, nowMs);
      } else if (l.up && !open && nowMs - l.lastMs >= QUORUM_LINK_LIMITS.idleMs) {
        this.stats.linksIdleClosed++;
        this.#close(key, l, nowMs);
      }
    }
    if (open && !this.#wasOpen) for (const a of this.#pathAsks.values()) {
      a.count = 0;
      a.waitMs = QUORUM_LINK_LIMITS.pathRequestMinMs;
    }
    this.#wasOpen = open;
    for (const k of this.#pathAsks.keys()) if (!members.has(k)) this.#pathAsks.delete(k);
    if (open && m !== null) {
      const ids = m.identities.map((i) => ({ key: toHex(i.publicKey), hash: i.hash }));
      this.#openLinks(ids, nowMs);
      if (this.#o.pathRequests !== false) this.#requestPaths(ids, nowMs);
    }
    if (open || this.#links.size > 0) this.#nextCheckMs = nowMs + QUORUM_LINK_LIMITS.checkEveryMs;
    for (const l of this.#links.values()) if (!l.outgoing && !l.up) this.#nextCheckMs = Math.min(this.#nextCheckMs, l.openedAtMs + QUORUM_LINK_LIMITS.identifyGraceMs);
  }

  #openLinks(members: Array<{ key: string; hash: Bytes }>, nowMs: number): void {
    const engine = this.#o.engine;
    const self = toHex(engine.identity.publicKey);
    const linked = new Set<string>();
    let outgoing = 0;
    for (const l of this.#links.values()) {
      if (l.member !== null) linked.add(l.member);
      if (l.outgoing) outgoing++;
    }
    if (outgoing >= QUORUM_LINK_LIMITS.maxOutgoing) return;
    const far: Array<{ key: string; dest: Bytes; hops: number }> = [];
    for (const mem of members) {
      if (mem.key === self || linked.has(mem.key) || (this.#retry.get(mem.key)?.atMs ?? 0) > nowMs) continue;
      const dest = quorumLinkDestination(mem.hash);
      const hops = engine.transport.hopsTo(dest);
      // Unknown path: nothing to open yet (#requestPaths asks; the answer brings us back here). One hop: broadcasts reach it.
      if (hops === null || hops <= 1 || engine.known.recall(dest) === null) continue;
      far.push({ key: mem.key, dest, hops });
    }
    far.sort((a, b) => a.hops - b.hops);
    for (const f of far.slice(0, QUORUM_LINK_LIMITS.maxOutgoing - outgoing)) {
      const r = engine.openLink(f.dest, nowMs);
      if (!r.ok) {
        this.#failed({ id: new Uint8Array(0), outgoing: true, member: f.key, up: false, openedAtMs: nowMs, lastMs: nowMs, heard: false, held: [] }, nowMs);
        continue;
      }
      this.#links.set(toHex(r.value), { id: r.value, outgoing: true, member: f.key, up: false, openedAtMs: nowMs, lastMs: nowMs, heard: false, held: [] });
    }
  }

  /**
   * Members whose link destination we never heard announced (a relay may know it: the membership gives us the
   * identity, so the hash): once a proposal has gone undecided a while, ask for the path, rate-limited per
   * destination and per round. The path response is an announce, which brings upkeep back here and the link opens.
   */
  #requestPaths(members: Array<{ key: string; hash: Bytes }>, nowMs: number): void {
    const engine = this.#o.engine;
    const self = toHex(engine.identity.publicKey);
    const L = QUORUM_LINK_LIMITS;
    // Members still unheard on a proposal that has gone undecided a while (by index in the membership).
    const unheard = new Set<number>();
    for (const [k, u] of this.#undecided) {
      if (this.#o.machine.view(u.id)?.status !== "pending") this.#undecided.delete(k);
      else if (nowMs - u.sinceMs >= L.pathRequestDelayMs) for (let i = 0; i < members.length; i++) if (!u.voters.has(i)) unheard.add(i);
    }
    let sent = 0;
    for (const [i, mem] of members.entries()) {
      if (mem.key === self || !unheard.has(i) || sent >= L.pathRequestsPerCheck) continue;
      const dest = quorumLinkDestination(mem.hash);
      if (engine.transport.hopsTo(dest) !== null && engine.known.recall(dest) !== null) {
        this.#pathAsks.delete(mem.key);
        continue;
      }
      const a = this.#pathAsks.get(mem.key) ?? { atMs: 0, waitMs: L.pathRequestMinMs, count: 0 };
      this.#pathAsks.set(mem.key, a);
      if (nowMs < a.atMs || a.count >= L.pathRequestsMax) continue;
      a.count++;
      a.atMs = nowMs + a.waitMs;
      a.waitMs = Math.min(L.pathRequestMaxMs, a.waitMs * 2);
      sent++;
      if (engine.requestPath(dest, nowMs)) this.stats.pathRequests++;
    }
  }

  #persist(proposalId: Bytes, vote: Bytes): void {
    const done = (): void => {
      if (this.#stopped) return;
      const now = this.#o.nowMs();
      this.#o.machine.votePersisted(proposalId, now);
      this.#drain(now);
    };
    const failed = (): void => {
      this.stats.persistFailures++;
    };
    try {
      const r = this.#o.persist(proposalId, vote);
      if (r instanceof Promise) {
        r.then(() => {
          done();
          this.#o.afterAsyncPersist?.();
        }, failed);
      } else if (r !== "deferred") done();
    } catch {
      failed();
    }
  }
}
