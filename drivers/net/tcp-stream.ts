// One framed TCP connection, shared by the TCP client and the server's per-client children: HDLC (or KISS)
// framing over a stream socket, socket options as RNS 1.4.2 TCPInterface.py sets them, bounded write buffer.
//
// Dead peers: the reference sets SO_KEEPALIVE, TCP_KEEPIDLE 5 s, TCP_KEEPINTVL 2 s, TCP_KEEPCNT 12 and
// TCP_USER_TIMEOUT 24 s (set_timeouts_linux). Node can set SO_KEEPALIVE and TCP_KEEPIDLE (libuv then also sets
// TCP_KEEPINTVL 1 s and TCP_KEEPCNT 10), so an idle dead peer is found after ~15 s. TCP_USER_TIMEOUT is out
// of reach; in its place a write that stays stuck in our buffer (the kernel's send buffer is full) for
// writeStallTimeoutMs closes the connection.
import type { Socket } from "node:net";
import { HdlcDecoder, hdlcEncode } from "../../runtime/wire/hdlc.js";
import { KissDecoder, kissEncode, KISS_CMD } from "../../runtime/wire/kiss.js";
import { view } from "../../runtime/core/bytes.js";

export type StreamFraming = "hdlc" | "kiss";

export interface StreamOptions {
  framing: StreamFraming;
  /** Longest frame passed up (packet + IFAC); longer ones are dropped as "oversize". */
  maxFrameLength: number;
  /** TCP_KEEPIDLE: idle time before the first keepalive probe (reference TCP_PROBE_AFTER, 5 s). */
  keepaliveIdleMs: number;
  /** Close when written bytes stay unsent this long (stands in for TCP_USER_TIMEOUT, 24 s). */
  writeStallTimeoutMs: number;
  /** Frames are refused ("tx-backpressure") while this many bytes wait in our write buffer. */
  maxWriteBufferBytes: number;
}

export const STREAM_DEFAULTS = {
  keepaliveIdleMs: 5_000,
  writeStallTimeoutMs: 24_000,
  maxWriteBufferBytes: 1024 * 1024,
} as const;

/** What a FramedSocket reports to the driver that owns it. */
export interface StreamSink {
  frame(frame: Uint8Array): void;
  drop(reason: string, n?: number): void;
  /** Called once, when the socket has closed for any reason (remote close, error, stall, close()). */
  closed(error: Error | undefined): void;
}

/** Decoder counters already reported, so each push reports only what it added. */
interface Reported {
  oversize: number;
  skipped: number;
}

export class FramedSocket {
  private readonly hdlc: HdlcDecoder | null;
  private readonly kiss: KissDecoder | null;
  private readonly reported: Reported = { oversize: 0, skipped: 0 };
  private stallTimer: NodeJS.Timeout | null = null;
  private closedError: Error | undefined;
  private isClosed = false;
  private readonly closedPromise: Promise<void>;

  constructor(
    private readonly socket: Socket,
    private readonly options: StreamOptions,
    private readonly sink: StreamSink,
  ) {
    // Length rules are applied by the driver (DriverBase.deliver); the decoder only bounds its buffer.
    if (options.framing === "kiss") {
      this.hdlc = null;
      this.kiss = new KissDecoder({ maxFrameLength: options.maxFrameLength });
    } else {
      this.hdlc = new HdlcDecoder({ maxFrameLength: options.maxFrameLength, minFrameLength: 0 });
      this.kiss = null;
    }
    socket.setNoDelay(true);
    socket.setKeepAlive(true, options.keepaliveIdleMs);
    socket.on("data", (chunk: Buffer) => this.onData(view(chunk)));
    socket.on("drain", () => this.clearStall());
    socket.on("error", (e: Error) => {
      this.closedError ??= e;
    });
    this.closedPromise = new Promise((resolve) => {
      socket.once("close", () => {
        this.isClosed = true;
        this.clearStall();
        this.sink.closed(this.closedError);
        resolve();
      });
    });
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? "?";
  }

  get remotePort(): number {
    return this.socket.remotePort ?? 0;
  }

  /** Frames and writes one packet; false (counted) when the write buffer is full or the socket is gone. */
  write(frame: Uint8Array): boolean {
    if (this.isClosed || this.socket.destroyed || !this.socket.writable) {
      this.sink.drop("not-up");
      return false;
    }
    if (this.socket.writableLength > this.options.maxWriteBufferBytes) {
      this.sink.drop("tx-backpressure");
      return false;
    }
    const wire = this.kiss !== null ? kissEncode(KISS_CMD.CMD_DATA, frame) : hdlcEncode(frame);
    const flushed = this.socket.write(wire);
    if (!flushed && this.stallTimer === null) {
      this.stallTimer = setTimeout(() => this.close(new Error("write stalled")), this.options.writeStallTimeoutMs);
      this.stallTimer.unref();
    }
    return true;
  }

  /** Closes the connection (at once: queued writes are discarded) and resolves once it is closed. */
  close(error?: Error): Promise<void> {
    if (error !== undefined) this.closedError ??= error;
    this.socket.destroy();
    return this.closedPromise;
  }

  private onData(chunk: Uint8Array): void {
    if (this.hdlc !== null) {
      const frames = this.hdlc.push(chunk);
      this.report(this.hdlc.stats.dropped.oversize, this.hdlc.stats.skippedBytes);
      for (const f of frames) this.sink.frame(f);
      return;
    }
    const kiss = this.kiss!;
    const frames = kiss.push(chunk);
    this.report(kiss.stats.dropped.oversize, kiss.stats.skippedBytes);
    for (const f of frames) {
      // The reference keeps the low nibble of the command byte (the port) and accepts only CMD_DATA.
      if ((f.command & 0x0f) === KISS_CMD.CMD_DATA) this.sink.frame(f.payload);
      else this.sink.drop("kiss-command");
    }
  }

  /** Bytes outside any frame are counted as "garbage-bytes" (a byte count, not a frame count). */
  private report(oversize: number, skipped: number): void {
    const r = this.reported;
    if (oversize > r.oversize) this.sink.drop("oversize", oversize - r.oversize);
    if (skipped > r.skipped) this.sink.drop("garbage-bytes", skipped - r.skipped);
    r.oversize = oversize;
    r.skipped = skipped;
  }

  private clearStall(): void {
    if (this.stallTimer !== null) clearTimeout(this.stallTimer);
    this.stallTimer = null;
  }
}
