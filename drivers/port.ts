// The driver port: what every link driver (TCP, UDP, AutoInterface, RNode, BLE...) offers the host.
// A driver moves whole packets (IFAC already applied) in and out of one link; it owns sockets and timers.
//
// How it works: a driver starts "down", goes "connecting" while it opens its link (dialling, binding) and
// "up" once frames can flow. A client that loses its link goes back to "down" and retries by itself; stop()
// makes it "closed" for good. Servers and AutoInterface are parents: they never carry frames themselves but
// announce one child driver per peer through the "child" event; a child ends "closed" when its peer goes.
// Frames from the link that break the rules (too long, too short, malformed framing) are dropped and counted
// by reason in `counters.drops`, never thrown.
import { HEADER_1_LENGTH } from "../runtime/core/limits.js";
import { readUintBE } from "../runtime/core/bytes.js";
import type { RandomSource } from "../runtime/core/ports.js";

export type DriverKind =
  | "tcp-client"
  | "tcp-server"
  | "tcp-server-peer"
  | "udp"
  | "auto"
  | "auto-peer"
  | "rnode"
  | "ble"
  | "serial";

export type DriverState = "down" | "connecting" | "up" | "closed";

export interface DriverInfo {
  readonly kind: DriverKind;
  /** Human name, e.g. "TCPInterface[gw/10.0.0.2:4242]"; stable for the driver's life. */
  readonly name: string;
  /** Largest packet the link carries, IFAC excluded (the reference's HW_MTU). */
  readonly hwMtu: number;
  readonly bitrateBps: number;
  /** Bytes an interface access code may add to a packet on this link (the reference's DEFAULT_IFAC_SIZE). */
  readonly ifacSize: number;
}

export interface DriverCounters {
  rxFrames: number;
  /** Packet bytes passed up (framing excluded). */
  rxBytes: number;
  txFrames: number;
  /** Packet bytes accepted for sending (framing excluded). */
  txBytes: number;
  /**
   * Dropped frames and refused sends by reason. Received: "too-short" (<= 19 bytes), "oversize" (> hwMtu +
   * ifacSize), "garbage-bytes" (stream bytes outside any frame: a byte count), "kiss-command", "duplicate",
   * "unknown-peer"; RNode: "kiss-malformed" (a radio report of the wrong length), "kiss-timeout" (a frame left
   * unfinished), "rx-not-up" (a packet before the radio was confirmed). Sent: "not-up", "tx-oversize",
   * "tx-too-short", "tx-backpressure", "tx-error", "nic-down". Parents: "not-a-link" (send on a server or
   * AutoInterface), "server-full", "peer-table-full".
   */
  drops: Record<string, number>;
}

/** What a link knows about how one frame arrived; radio drivers fill it, others pass nothing. */
export interface FrameMeta {
  /** Received signal strength of the packet. */
  rssiDbm?: number;
  /** Signal-to-noise ratio of the packet. */
  snrDb?: number;
}

export type FrameListener = (frame: Uint8Array, meta?: FrameMeta) => void;
export type StateListener = (state: DriverState) => void;
export type ChildListener = (child: LinkDriver) => void;

export interface LinkDriver {
  readonly info: DriverInfo;
  readonly state: DriverState;
  readonly counters: DriverCounters;
  /** Begins connecting or listening; idempotent while running; throws once the driver is closed. */
  start(): void;
  /** One packet. False (and counted) when the driver is not up or the packet cannot go out. */
  send(frame: Uint8Array): boolean;
  /** Closes every socket and timer (and every child); resolves when they are closed. */
  stop(): Promise<void>;
  on(event: "frame", cb: FrameListener): void;
  on(event: "state", cb: StateListener): void;
  on(event: "child", cb: ChildListener): void;
}

/** Listeners per event; more is a leak in the host, not a use. */
export const MAX_LISTENERS_PER_EVENT = 16;

/**
 * Frames of this length or less cannot hold a packet (the reference's HEADER_MINSIZE check in
 * TCPInterface.check_frame_len); drivers drop them as "too-short".
 */
export const MIN_FRAME_LENGTH = HEADER_1_LENGTH + 1;

/**
 * The hardware MTU the reference picks for an interface that autoconfigures its MTU (TCP, Backbone), from its
 * bitrate (RNS 1.4.2 Interface.optimise_mtu). Null below 62.5 kbps: such a link keeps the 500-byte MTU.
 */
export function autoconfiguredHwMtu(bitrateBps: number): number | null {
  if (bitrateBps >= 1_000_000_000) return 524288;
  if (bitrateBps > 750_000_000) return 262144;
  if (bitrateBps > 400_000_000) return 131072;
  if (bitrateBps > 200_000_000) return 65536;
  if (bitrateBps > 100_000_000) return 32768;
  if (bitrateBps > 10_000_000) return 16384;
  if (bitrateBps > 5_000_000) return 8192;
  if (bitrateBps > 2_000_000) return 4096;
  if (bitrateBps > 1_000_000) return 2048;
  if (bitrateBps > 62_500) return 1024;
  return null;
}

/** Shared bookkeeping for drivers: listeners, state changes, counters and the frame length rule. */
export abstract class DriverBase implements LinkDriver {
  readonly counters: DriverCounters = { rxFrames: 0, rxBytes: 0, txFrames: 0, txBytes: 0, drops: {} };
  private currentState: DriverState = "down";
  private readonly frameListeners: FrameListener[] = [];
  private readonly stateListeners: StateListener[] = [];
  private readonly childListeners: ChildListener[] = [];

  protected constructor(readonly info: DriverInfo) {
    if (!Number.isInteger(info.hwMtu) || info.hwMtu < MIN_FRAME_LENGTH) throw new RangeError(`hwMtu ${info.hwMtu} too small`);
    if (!Number.isInteger(info.ifacSize) || info.ifacSize < 0 || info.ifacSize > 64) throw new RangeError("ifacSize: 0..64");
    if (!(info.bitrateBps > 0)) throw new RangeError("bitrateBps must be positive");
  }

  get state(): DriverState {
    return this.currentState;
  }

  /** Longest frame accepted in either direction: the packet plus its access code. */
  get maxFrameLength(): number {
    return this.info.hwMtu + this.info.ifacSize;
  }

  abstract start(): void;
  abstract send(frame: Uint8Array): boolean;
  abstract stop(): Promise<void>;

  on(event: "frame", cb: FrameListener): void;
  on(event: "state", cb: StateListener): void;
  on(event: "child", cb: ChildListener): void;
  on(event: "frame" | "state" | "child", cb: FrameListener | StateListener | ChildListener): void {
    if (typeof cb !== "function") throw new TypeError("listener must be a function");
    if (event !== "frame" && event !== "state" && event !== "child") throw new TypeError(`unknown event ${String(event)}`);
    const list: unknown[] = event === "frame" ? this.frameListeners : event === "state" ? this.stateListeners : this.childListeners;
    if (list.length >= MAX_LISTENERS_PER_EVENT) throw new RangeError(`more than ${MAX_LISTENERS_PER_EVENT} ${event} listeners`);
    list.push(cb);
  }

  protected setState(next: DriverState): void {
    if (this.currentState === next || this.currentState === "closed") return;
    this.currentState = next;
    for (const cb of this.stateListeners) cb(next);
  }

  protected drop(reason: string, n = 1): void {
    this.counters.drops[reason] = (this.counters.drops[reason] ?? 0) + n;
  }

  /** Applies the length rule to a received frame, then counts and delivers it; false when dropped. */
  protected deliver(frame: Uint8Array, meta?: FrameMeta): boolean {
    const reason = frame.length < MIN_FRAME_LENGTH ? "too-short" : frame.length > this.maxFrameLength ? "oversize" : null;
    if (reason !== null) {
      this.drop(reason);
      return false;
    }
    this.counters.rxFrames++;
    this.counters.rxBytes += frame.length;
    for (const cb of this.frameListeners) cb(frame, meta);
    return true;
  }

  /** Checks a frame the host wants sent; false (counted) when it must not go out. */
  protected admit(frame: Uint8Array): boolean {
    if (!(frame instanceof Uint8Array)) throw new TypeError("send: frame must be a Uint8Array");
    if (this.currentState !== "up") {
      this.drop("not-up");
      return false;
    }
    if (frame.length > this.maxFrameLength) {
      this.drop("tx-oversize");
      return false;
    }
    if (frame.length < MIN_FRAME_LENGTH) {
      this.drop("tx-too-short");
      return false;
    }
    return true;
  }

  protected countSent(frame: Uint8Array): void {
    this.counters.txFrames++;
    this.counters.txBytes += frame.length;
  }

  protected emitChild(child: LinkDriver): void {
    for (const cb of this.childListeners) cb(child);
  }
}

export interface BackoffOptions {
  /** Wait before the first retry. */
  initialMs: number;
  /** The wait doubles per failed attempt up to this. */
  maxMs: number;
  /** Each wait is shortened by a random share of up to this fraction (0..1), so peers do not retry in step. */
  jitter: number;
}

/** The reference waits a fixed 5 s between TCP reconnects (RECONNECT_WAIT); drivers here back off 1 s to 60 s. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 1_000, maxMs: 60_000, jitter: 0.25 };

/** Exponential backoff with jitter: waits in [(1 - jitter) * base, base], base = min(maxMs, initialMs * 2^(n-1)). */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: RandomSource,
  ) {
    if (!(options.initialMs > 0) || !(options.maxMs >= options.initialMs)) throw new RangeError("backoff: 0 < initialMs <= maxMs");
    if (!(options.jitter >= 0 && options.jitter <= 1)) throw new RangeError("backoff: jitter in 0..1");
  }

  /** Failed attempts since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** Counts one more failure and returns how long to wait before the next attempt. */
  nextDelayMs(): number {
    this.failures++;
    const base = Math.min(this.options.maxMs, this.options.initialMs * 2 ** Math.min(this.failures - 1, 40));
    const u = readUintBE(this.random.bytes(4), 0, 4) / 2 ** 32;
    return Math.max(1, Math.round(base * (1 - this.options.jitter * u)));
  }

  reset(): void {
    this.failures = 0;
  }
}
