// What Transport keeps per interface: the host's descriptor, the reference's per-interface controls
// (Reticulum._add_interface options: gravity, ingress control, recursive path requests, announce rate
// targets, MTU autoconfiguration), traffic counters, the announce cap queue and ingress control state.
import type { InterfaceDescriptor, InterfaceMode } from "../types.js";
import { DEFAULT_AR_GRACE, DEFAULT_AR_PENALTY_MS, type TransportLimits } from "./limits.js";
import { AnnounceQueue, IngressControl, type RateTarget } from "./rate-control.js";

/** Options of an interface that only Transport reads (all optional; defaults are the reference's). */
export interface InterfaceControl {
  /** Preference between equal announces heard on several interfaces (reference: gravity, default 0). */
  gravity?: number;
  /** Hold announces while the interface is new or bursting (reference: ingress_control, default on). */
  ingressControl?: boolean;
  /** Forward path requests for unknown destinations heard here, whatever the mode (reference: recursive_prs). */
  recursivePathRequests?: boolean;
  /**
   * The interface can carry link MTU signalling (reference: AUTOCONFIGURE_MTU or FIXED_MTU, true for TCP,
   * UDP, Backbone and Auto interfaces, false for RNode/KISS/serial). Without it, link requests forwarded
   * onto the interface lose their MTU signalling, as the reference does. Default false.
   */
  mtuSignalling?: boolean;
  /** Per-destination announce rate target in ms, with grace (violations allowed) and penalty (reference: announce_rate_*). */
  announceRateTargetMs?: number;
  announceRateGrace?: number;
  announceRatePenaltyMs?: number;
}

export type TransportInterface = InterfaceDescriptor & InterfaceControl;

export interface InterfaceStats {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  /** Packets dropped, by reason. */
  drops: Record<string, number>;
  /** Announces held by ingress control (not dropped: they come back later). */
  announcesHeld: number;
}

export function newStats(): InterfaceStats {
  return { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, drops: {}, announcesHeld: 0 };
}

export class InterfaceState {
  readonly id: number;
  readonly name: string;
  readonly mode: InterfaceMode;
  readonly bitrateBps: number;
  readonly hwMtu: number;
  readonly out: boolean;
  readonly parentId: number | null;
  readonly gravity: number;
  readonly recursivePathRequests: boolean;
  readonly mtuSignalling: boolean;
  readonly rateTarget: RateTarget | null;
  readonly createdMs: number;
  readonly stats = newStats();
  readonly queue: AnnounceQueue;
  readonly ingress: IngressControl;

  constructor(desc: TransportInterface, nowMs: number, limits: TransportLimits) {
    if (!Number.isInteger(desc.id) || desc.id < 0) throw new RangeError(`bad interface id ${desc.id}`);
    if (!(desc.hwMtu > 0)) throw new RangeError(`interface ${desc.id}: bad hwMtu ${desc.hwMtu}`);
    if (!(desc.bitrateBps >= 0)) throw new RangeError(`interface ${desc.id}: bad bitrate ${desc.bitrateBps}`);
    if (!(desc.announceCap >= 0 && desc.announceCap <= 1)) throw new RangeError(`interface ${desc.id}: announce cap must be in [0, 1]`);
    this.id = desc.id;
    this.name = desc.name;
    this.mode = desc.mode;
    this.bitrateBps = desc.bitrateBps;
    this.hwMtu = desc.hwMtu;
    this.out = desc.out;
    this.parentId = desc.parentId ?? null;
    this.gravity = desc.gravity ?? 0;
    this.recursivePathRequests = desc.recursivePathRequests ?? false;
    this.mtuSignalling = desc.mtuSignalling ?? false;
    this.rateTarget =
      desc.announceRateTargetMs !== undefined
        ? {
            targetMs: desc.announceRateTargetMs,
            grace: desc.announceRateGrace ?? DEFAULT_AR_GRACE,
            penaltyMs: desc.announceRatePenaltyMs ?? DEFAULT_AR_PENALTY_MS,
          }
        : null;
    this.createdMs = nowMs;
    this.queue = new AnnounceQueue(desc.bitrateBps, desc.announceCap, limits.maxQueuedAnnounces);
    this.ingress = new IngressControl(desc.ingressControl ?? true, limits.maxHeldAnnounces);
  }

  ageMs(nowMs: number): number {
    return nowMs - this.createdMs;
  }

  /** Airtime of one reference MTU on this interface, in ms (extra_link_proof_timeout); 0 when the bitrate is unknown. */
  mtuAirtimeMs(mtu: number): number {
    return this.bitrateBps > 0 ? ((mtu * 8) / this.bitrateBps) * 1000 : 0;
  }
}
