// One simulated node: what kosd would be on a box — an Engine with a persistent identity, its radio and wired
// ports, the state it saved (path table and known destinations, as kosd writes paths.json and
// known_destinations.json), and the apps of the scenario (probes, file transfers) listening to its events.
// The Simulator (sim.ts) owns time and moves frames; this file holds a node's state and builds its engine.
import { seededRandom, type RandomSource } from "../../runtime/core/ports.js";
import type { Bytes } from "../../runtime/core/bytes.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { Engine } from "../../runtime/engine/engine.js";
import type { EngineEvent, LocalDestination } from "../../runtime/engine/events.js";
import type { TransportInterface } from "../../runtime/mesh/transport/interfaces.js";
import { destinationHashOf } from "../../runtime/wire/destination.js";
import { INTERFACE_DEFAULTS } from "../../runtime/host/config/schema.js";
import type { RadioSettings } from "../medium/medium.js";
import { rnodeBitrateBps } from "../medium/airtime.js";
import type { AirTransmission } from "./air.js";
import type { Position } from "./topology.js";

/** The largest frame an RNode takes (RNodeInterface HW_MTU). */
export const LORA_HW_MTU = 508;
/** Wired segments carry frames as an AutoInterface does. */
export const WIRED_HW_MTU = 1196;
export const FILE_APP = "rncp.receive";
export const PROBE_APP = "rnstransport.probe";

export interface NodeSpec {
  name: string;
  transport: boolean;
  respondToProbes: boolean;
  /** The node's LoRa radio, or null for none. */
  lora: RadioSettings | null;
  /** Names of the wired segments the node is on. */
  wired: string[];
  position: Position;
  /** Virtual time the node boots (ms). */
  startMs: number;
  /** Announce every destination when an interface comes up (kosd does). */
  announceOnStart: boolean;
  /** Announce every destination this often (ms), with up to 10 % jitter; null: never. */
  announceIntervalMs: number | null;
  /** How often the node saves its state (kosd: persist_interval). */
  persistIntervalMs: number;
  /** Registers a file receiver (as `kosctl cp --listen --no-auth` does) at every boot. */
  fileReceiver: boolean;
}

export interface LoraPort {
  readonly kind: "lora";
  readonly name: string;
  readonly airIndex: number;
  readonly settings: RadioSettings;
  /** The radio is plugged in (unplug takes it away). */
  plugged: boolean;
  /** The radio is configured and carries frames (false while booting after plug, reset or node start). */
  up: boolean;
  /** Engine interface id while the engine has this interface. */
  ifaceId: number | null;
  /** Frames waiting for the channel (the firmware's queue). */
  queue: Bytes[];
  sending: AirTransmission | null;
  /** Carrier sense: the wait started here; null when not waiting. */
  csmaSinceMs: number | null;
  csmaSlots: number;
  /** Contention-window time already waited on a free channel for the frame at the head of the queue. */
  csmaCreditMs: number;
  /** Bumped whenever the radio loses power: pending CSMA and boot events of an older epoch are ignored. */
  epoch: number;
}

export interface WiredPort {
  readonly kind: "wired";
  readonly name: string;
  readonly segment: string;
  readonly bitrateBps: number;
  ifaceId: number | null;
}

export type Port = LoraPort | WiredPort;

export type NodeState = "off" | "up" | "failed";

export interface NodeStats {
  txFrames: number;
  rxFrames: number;
  /** Frames the host dropped, by reason (radio down, queue full, too long). */
  drops: Record<string, number>;
  boots: number;
}

export interface Waiter {
  test: () => boolean;
  done: (ok: boolean) => void;
}

/**
 * More that runs on a node's engine, as kosd runs local quorum next to it: built at every boot (after the
 * interfaces are attached and the saved state loaded), fed the engine's events, ticked at its own deadlines
 * with the engine, and told when the node goes down. What it keeps across a crash is up to it (a vote journal
 * does, as on disk).
 */
export interface HostedApp {
  boot(engine: Engine, nowMs: number): void;
  onEngineEvent(ev: EngineEvent, nowMs: number): void;
  tick(nowMs: number): void;
  nextDeadlineMs(): number;
  down(): void;
}

export class SimNode {
  readonly identity: Identity;
  readonly random: RandomSource;
  readonly probeDestination: Bytes;
  readonly fileDestination: Bytes;
  engine: Engine | null = null;
  state: NodeState = "off";
  /** Bumped at every crash and boot: events scheduled for an older generation are dropped. */
  gen = 0;
  readonly ports: Port[] = [];
  readonly byIface = new Map<number, Port>();
  /** The last saved state (JSON text, as on disk), null before the first save. */
  persisted: string | null = null;
  fileDest: LocalDestination | null = null;
  /** Time of the pending tick event (Infinity: none). */
  tickAtMs = Infinity;
  /** Ticks at one instant (a deadline that does not move is pushed on after SIM_LIMITS.maxTicksPerInstant). */
  ticksAt = { ms: -1, count: 0 };
  inFlush = false;
  waiters: Waiter[] = [];
  readonly listeners = new Set<(ev: EngineEvent) => void>();
  readonly hosted: HostedApp[] = [];
  readonly stats: NodeStats = { txFrames: 0, rxFrames: 0, drops: {}, boots: 0 };
  #nextIfaceId = 1;
  /** When the node failed (a bug thrown by its engine), with the error. */
  failure: { atMs: number; message: string } | null = null;

  constructor(
    readonly index: number,
    readonly spec: NodeSpec,
    seed: number,
  ) {
    this.random = seededRandom(seed);
    this.identity = Identity.generate(this.random);
    this.probeDestination = destinationHashOf(PROBE_APP, this.identity.hash);
    this.fileDestination = destinationHashOf(FILE_APP, this.identity.hash);
  }

  get up(): boolean {
    return this.state === "up";
  }

  /** The node's radio port (set when the simulator builds the node), or null. */
  lora: LoraPort | null = null;

  drop(reason: string): void {
    this.stats.drops[reason] = (this.stats.drops[reason] ?? 0) + 1;
  }

  /** A fresh engine for a boot: the same identity, destinations registered as kosd registers them. */
  buildEngine(): Engine {
    const engine = new Engine({ identity: this.identity, random: this.random, transportEnabled: this.spec.transport, respondToProbes: this.spec.respondToProbes });
    this.fileDest = this.spec.fileReceiver
      ? engine.registerDestination({ identity: this.identity, appName: "rncp", aspects: ["receive"], proof: "none", acceptLinks: true, acceptResourcesUpToBytes: 16 * 1024 * 1024 })
      : null;
    this.engine = engine;
    return engine;
  }

  /** Registers a port with the engine under a fresh interface id (names stay: persisted paths match by name). */
  attach(port: Port, nowMs: number): TransportInterface {
    const id = this.#nextIfaceId++;
    port.ifaceId = id;
    this.byIface.set(id, port);
    // As kosd configures them: a transport node's interfaces get the default announce rate target.
    const rate = this.spec.transport
      ? { announceRateTargetMs: INTERFACE_DEFAULTS.announceRateTargetS * 1000, announceRateGrace: INTERFACE_DEFAULTS.announceRateGrace, announceRatePenaltyMs: INTERFACE_DEFAULTS.announceRatePenaltyS * 1000 }
      : {};
    const announceCap = INTERFACE_DEFAULTS.announceCapPercent / 100;
    const desc: TransportInterface =
      port.kind === "lora"
        ? { id, name: port.name, mode: "full", bitrateBps: rnodeBitrateBps(port.settings), hwMtu: LORA_HW_MTU, out: true, announceCap, mtuSignalling: false, ...rate }
        : { id, name: port.name, mode: "full", bitrateBps: port.bitrateBps, hwMtu: WIRED_HW_MTU, out: true, announceCap, mtuSignalling: true, ...rate };
    this.engine!.addInterface(desc, nowMs);
    return desc;
  }

  detach(port: Port, nowMs: number): void {
    if (port.ifaceId === null) return;
    this.byIface.delete(port.ifaceId);
    const id = port.ifaceId;
    port.ifaceId = null;
    this.engine?.removeInterface(id, nowMs);
  }

  /** What kosd writes to its data directory: the path table and the known destinations, as JSON. */
  saveState(): void {
    if (this.engine === null) return;
    this.persisted = JSON.stringify({ paths: this.engine.transport.exportState(), known: this.engine.known.export() });
  }

  /** Loads the saved state into a fresh engine after its interfaces are attached. Returns paths restored. */
  loadState(nowMs: number): number {
    if (this.engine === null || this.persisted === null) return 0;
    const s = JSON.parse(this.persisted) as { paths: unknown; known: unknown };
    this.engine.known.import(s.known);
    const r = this.engine.transport.importState(s.paths, nowMs);
    return r.ok ? r.value : 0;
  }
}
