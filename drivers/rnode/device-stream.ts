// What every link to an RNode does with the bytes that come back, whatever carries them (a serial port in
// serial-link.ts, any RNodeCarrier in carrier.ts): KISS decoding into device events, with unfinished frames
// dropped after a quiet gap and garbage/oversize counted, and the waiters of handshake.ts (the next event
// that matches, or a timeout) served from those events.
import { KissDecoder } from "../../runtime/wire/kiss.js";
import { decodeDeviceFrame, RNodeError, type DeviceEvent } from "./protocol.js";

/** Longest frame a radio sends (CMD_DISP_READ: 1024 bytes), with room to spare. */
const MAX_DEVICE_FRAME_BYTES = 1100;

export interface DeviceStreamHandlers {
  event(e: DeviceEvent): void;
  drop(reason: string, n: number): void;
}

interface Waiter {
  match: (e: DeviceEvent) => unknown;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class DeviceStream {
  /** performance.now() of the last byte received. */
  lastRxMs = performance.now();
  private readonly decoder = new KissDecoder({ maxFrameLength: MAX_DEVICE_FRAME_BYTES });
  private waiters: Waiter[] = [];
  private skipped = 0;
  private oversize = 0;
  private ended = false;

  constructor(
    private readonly partialFrameTimeoutMs: number,
    private readonly handlers: DeviceStreamHandlers,
  ) {}

  /** Bytes from the radio, in order. Nothing more is decoded once end() was called. */
  push(d: Uint8Array): void {
    if (this.ended) return;
    const now = performance.now();
    if (now - this.lastRxMs > this.partialFrameTimeoutMs && this.decoder.bufferedBytes > 0) {
      this.decoder.reset();
      this.handlers.drop("kiss-timeout", 1);
    }
    this.lastRxMs = now;
    const frames = this.decoder.push(d);
    const st = this.decoder.stats;
    if (st.skippedBytes > this.skipped) this.handlers.drop("garbage-bytes", st.skippedBytes - this.skipped);
    if (st.dropped.oversize > this.oversize) this.handlers.drop("oversize", st.dropped.oversize - this.oversize);
    this.skipped = st.skippedBytes;
    this.oversize = st.dropped.oversize;
    for (const f of frames) {
      if (this.ended) return;
      const e = decodeDeviceFrame(f);
      this.handlers.event(e);
      for (const w of this.waiters) {
        const v = w.match(e);
        if (v === undefined) continue;
        this.waiters = this.waiters.filter((x) => x !== w);
        clearTimeout(w.timer);
        w.resolve(v);
        break;
      }
    }
  }

  /** Resolves with the first event `match` maps to something other than undefined; rejects on timeout or end. */
  waitFor<T>(match: (e: DeviceEvent) => T | undefined, timeoutMs: number, onTimeout: () => RNodeError): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.ended) return reject(new RNodeError("port-lost", "link closed"));
      const w: Waiter = {
        match,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((x) => x !== w);
          reject(onTimeout());
        }, timeoutMs),
      };
      this.waiters.push(w);
    });
  }

  /** The link closed: every waiter is rejected, and nothing more is decoded. */
  end(): void {
    this.ended = true;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new RNodeError("port-lost", "link closed"));
    }
  }
}
