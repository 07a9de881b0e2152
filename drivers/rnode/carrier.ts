// Byte carriers for the RNode driver: what carries the KISS byte stream between host and radio. The driver's
// own serial path (serial-link.ts: a USB serial port) is one; any other transport (BLE, drivers/ble) plugs in
// here as an RNodeCarrier, and CarrierLink turns it into the link the driver and handshake.ts work with:
// KISS decoding into device events, waiting for a report with a timeout, ordered writes, close with a tail.
//
// How it works: the driver calls its carrier factory once per connection attempt, wraps the new carrier in a
// CarrierLink and drops both on the first failure, exactly as it does with a SerialLink. A carrier opens
// (finding, connecting, subscribing), takes writes (queued and sent in order, in whatever pieces its medium
// needs), reports received bytes and, once, that it was lost; it never throws out of a callback, and open()
// rejects with an RNodeError (port-missing: no such radio; port-open-failed: it would not connect).
import { DeviceStream } from "./device-stream.js";
import { RNodeError, type DeviceEvent } from "./protocol.js";

export interface CarrierHandlers {
  /** Bytes from the radio, in order. */
  data(bytes: Uint8Array): void;
  /** The carrier failed or went away (at most once; never after close()). */
  lost(error: RNodeError): void;
}

export interface RNodeCarrier {
  /**
   * How long a KISS frame may stay unfinished between two pieces before it is dropped; default the serial
   * read timeout (100 ms). Over BLE the reference allows 1250 ms (RNodeInterface's timeout for BLE).
   */
  readonly partialFrameTimeoutMs?: number;
  /** Rejects with an RNodeError; the carrier is unusable afterwards (the driver makes a new one). */
  open(handlers: CarrierHandlers): Promise<void>;
  /** Queues bytes for the radio; false when the carrier is not open or too much is already waiting. */
  write(bytes: Uint8Array): boolean;
  /** Writes `tail` (best effort, bounded in time), then releases everything. Idempotent; never rejects. */
  close(tail?: Uint8Array): Promise<void>;
}

/** Makes a fresh carrier for each connection attempt. */
export type RNodeCarrierFactory = () => RNodeCarrier;

/** What the driver uses of a link, whatever carries it: SerialLink and CarrierLink both have this shape. */
export interface RNodeLink {
  /** performance.now() of the last byte received. */
  readonly lastRxMs: number;
  readonly modemLines: "set" | "unsupported" | "left";
  readonly isClosed: boolean;
  open(): Promise<void>;
  write(bytes: Uint8Array): boolean;
  waitFor<T>(match: (e: DeviceEvent) => T | undefined, timeoutMs: number, onTimeout: () => RNodeError): Promise<T>;
  close(tail?: Uint8Array): Promise<void>;
}

export interface CarrierLinkOptions {
  /** A frame left unfinished this long is dropped. */
  partialFrameTimeoutMs: number;
}

export interface CarrierLinkHandlers {
  event(e: DeviceEvent): void;
  drop(reason: string, n: number): void;
  lost(error: RNodeError): void;
}



/** One opening of a carrier, seen as the driver's link: the SerialLink behaviour over any RNodeCarrier. */
export class CarrierLink implements RNodeLink {
  /** performance.now() of the last byte received. */
  get lastRxMs(): number {
    return this.stream.lastRxMs;
  }
  /** A carrier has no modem lines. */
  readonly modemLines = "left" as const;
  private opened = false;
  private readonly stream: DeviceStream;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly carrier: RNodeCarrier,
    options: CarrierLinkOptions,
    private readonly handlers: CarrierLinkHandlers,
  ) {
    this.stream = new DeviceStream(options.partialFrameTimeoutMs, handlers);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Opens the carrier; rejects with an RNodeError. */
  async open(): Promise<void> {
    try {
      await this.carrier.open({ data: (b) => this.onData(b), lost: (e) => this.lose(e) });
    } catch (e) {
      throw e instanceof RNodeError ? e : new RNodeError("port-open-failed", String((e as Error)?.message ?? e));
    }
    if (this.closed) throw new RNodeError("port-lost", "closed while opening");
    this.opened = true;
  }

  write(bytes: Uint8Array): boolean {
    if (!this.opened || this.closed) return false;
    return this.carrier.write(bytes);
  }

  /** Resolves with the first event `match` maps to something other than undefined; rejects on timeout or close. */
  waitFor<T>(match: (e: DeviceEvent) => T | undefined, timeoutMs: number, onTimeout: () => RNodeError): Promise<T> {
    return this.stream.waitFor(match, timeoutMs, onTimeout);
  }

  /** Writes `tail` (best effort), then closes the carrier. Idempotent. */
  close(tail?: Uint8Array): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.closed = true;
    this.stream.end();
    this.closing = this.carrier.close(this.opened ? tail : undefined).catch(() => undefined);
    return this.closing;
  }

  private lose(error: RNodeError): void {
    if (this.closed) return;
    void this.close();
    this.handlers.lost(error);
  }

  private onData(d: Uint8Array): void {
    if (!this.closed) this.stream.push(d);
  }
}
