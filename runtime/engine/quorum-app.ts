// Local quorum on an engine: the quorum machine (runtime/quorum) gossips as PLAIN packets to the destination
// "kos.quorum" on every interface, one gossip interface per engine interface, so a message is answered on
// the interface it came from and a node between a LoRa and a Wi-Fi segment carries votes across. PLAIN
// packets are never forwarded by transport nodes: gossip reaches neighbours, and the machine's own
// anti-entropy carries it further, hop by hop, through every node that runs quorum.
//
// Both hosts use this: kosd (runtime/host) with a durable vote journal, the simulator (hil/sim) with an
// in-memory one. The host feeds the engine's events in (onEngineEvent), calls tick() when nextDeadlineMs()
// is due and after every engine call (interfaces come and go with the engine), and reads the machine's
// events through the listener. A vote is sent only after `persist` has resolved for it.
import { equal, type Bytes } from "../core/bytes.js";
import type { QuorumMachine } from "../quorum/machine.js";
import type { QuorumEvent } from "../quorum/events.js";
import type { Engine } from "./engine.js";
import type { EngineEvent, LocalDestination } from "./events.js";

export const QUORUM_APP_NAME = "kos";
export const QUORUM_ASPECTS = ["quorum"] as const;

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
}

export interface QuorumAppStats {
  /** Packets handed to the engine, and refused by it (no interface, too long). */
  packetsOut: number;
  packetsRefused: number;
  packetsIn: number;
  persistFailures: number;
}

export class QuorumApp {
  readonly destination: LocalDestination;
  readonly stats: QuorumAppStats = { packetsOut: 0, packetsRefused: 0, packetsIn: 0, persistFailures: 0 };
  readonly #o: QuorumAppOptions;
  #known = new Set<number>();
  #stopped = false;

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
  }

  get machine(): QuorumMachine {
    return this.#o.machine;
  }

  /** Feed every engine event here; packets for the quorum destination go to the machine. */
  onEngineEvent(ev: EngineEvent, nowMs: number): void {
    if (this.#stopped || ev.kind !== "packet" || !equal(ev.destinationHash, this.destination.hash)) return;
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
    return this.#stopped ? Infinity : this.#o.machine.nextDeadlineMs();
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

  stop(): void {
    this.#stopped = true;
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
        // Links are not used for gossip yet: every neighbour is reached by broadcast on its interface.
        this.stats.packetsRefused++;
      } else {
        this.#persist(a.proposalId, a.vote);
      }
    }
    const listener = this.#o.onEvent;
    for (const e of m.takeEvents()) listener?.(e);
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
