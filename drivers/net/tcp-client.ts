// TCP client interface, wire-compatible with RNS 1.4.2 TCPClientInterface (RNS/Interfaces/TCPInterface.py):
// one HDLC-framed packet per frame (or KISS with kiss_framing), TCP_NODELAY, keepalive, and reconnection.
//
// How it works: start() dials ("connecting"); a connection makes the driver "up". When the connection fails or
// closes the driver goes "down" and dials again after a backoff wait (1 s doubling to 60 s, with jitter; the
// reference waits a fixed 5 s). The wait resets once a connection has stayed up for stableAfterMs. After
// maxReconnectTries failed attempts in a row the driver gives up and is "closed" (the reference's
// max_reconnect_tries; unlimited by default). stop() closes it for good.
import { connect as netConnect, type Socket } from "node:net";
import { cryptoRandom, type RandomSource } from "../../runtime/core/ports.js";
import { autoconfiguredHwMtu, Backoff, DEFAULT_BACKOFF, DriverBase, type BackoffOptions } from "../port.js";
import { FramedSocket, STREAM_DEFAULTS, type StreamFraming } from "./tcp-stream.js";

/** RNS 1.4.2 TCPClientInterface / TCPServerInterface constants. */
export const TCP_DEFAULTS = {
  /** BITRATE_GUESS: 10 Mbps. */
  bitrateBps: 10_000_000,
  /** DEFAULT_IFAC_SIZE. */
  ifacSize: 16,
  /** INITIAL_CONNECT_TIMEOUT: 5 s. */
  connectTimeoutMs: 5_000,
  /** A connection that lasted this long resets the backoff. */
  stableAfterMs: 10_000,
} as const;

/**
 * The reference autoconfigures TCP's MTU from the bitrate (Interface.optimise_mtu): 8192 at the 10 Mbps guess.
 * TCPInterface.HW_MTU (262144) is only the value before that step.
 */
export function tcpHwMtu(bitrateBps: number): number {
  return autoconfiguredHwMtu(bitrateBps) ?? 500;
}

export interface TcpClientOptions {
  host: string;
  port: number;
  /** Shown as TCPInterface[name/host:port]. */
  name?: string;
  /** "kiss" is the reference's kiss_framing = yes. */
  framing?: StreamFraming;
  bitrateBps?: number;
  /** Fixed MTU (the reference's fixed_mtu); by default derived from the bitrate as the reference does. */
  hwMtu?: number;
  ifacSize?: number;
  connectTimeoutMs?: number;
  backoff?: BackoffOptions;
  /** Failed attempts in a row before giving up; Infinity (default) retries forever. */
  maxReconnectTries?: number;
  stableAfterMs?: number;
  keepaliveIdleMs?: number;
  writeStallTimeoutMs?: number;
  maxWriteBufferBytes?: number;
  /** Jitter source for the backoff. */
  random?: RandomSource;
}

export class TcpClientDriver extends DriverBase {
  /** Failure of the last connection attempt or the reason the last connection ended. */
  lastError: string | null = null;
  /** Connections established over the driver's life. */
  connections = 0;
  private readonly options: Required<Omit<TcpClientOptions, "name" | "hwMtu" | "random" | "backoff">>;
  private readonly backoff: Backoff;
  private started = false;
  private stopped = false;
  private dialling: Socket | null = null;
  private stream: FramedSocket | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private upSinceMs = 0;

  constructor(options: TcpClientOptions) {
    const bitrateBps = options.bitrateBps ?? TCP_DEFAULTS.bitrateBps;
    const host = options.host;
    if (typeof host !== "string" || host.length === 0) throw new TypeError("host must be a non-empty string");
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new RangeError("port: 1..65535");
    const shownHost = host.includes(":") ? `[${host}]` : host;
    super({
      kind: "tcp-client",
      name: `TCPInterface[${options.name ?? "tcp"}/${shownHost}:${options.port}]`,
      hwMtu: options.hwMtu ?? tcpHwMtu(bitrateBps),
      bitrateBps,
      ifacSize: options.ifacSize ?? TCP_DEFAULTS.ifacSize,
    });
    this.options = {
      host,
      port: options.port,
      framing: options.framing ?? "hdlc",
      bitrateBps,
      ifacSize: this.info.ifacSize,
      connectTimeoutMs: options.connectTimeoutMs ?? TCP_DEFAULTS.connectTimeoutMs,
      maxReconnectTries: options.maxReconnectTries ?? Infinity,
      stableAfterMs: options.stableAfterMs ?? TCP_DEFAULTS.stableAfterMs,
      keepaliveIdleMs: options.keepaliveIdleMs ?? STREAM_DEFAULTS.keepaliveIdleMs,
      writeStallTimeoutMs: options.writeStallTimeoutMs ?? STREAM_DEFAULTS.writeStallTimeoutMs,
      maxWriteBufferBytes: options.maxWriteBufferBytes ?? STREAM_DEFAULTS.maxWriteBufferBytes,
    };
    if (this.options.framing !== "hdlc" && this.options.framing !== "kiss") throw new RangeError("framing: hdlc or kiss");
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF, options.random ?? cryptoRandom);
  }

  /** Failed attempts since the last stable connection. */
  get failedAttempts(): number {
    return this.backoff.attempts;
  }

  start(): void {
    if (this.stopped) throw new Error(`${this.info.name} is closed`);
    if (this.started) return;
    this.started = true;
    this.dial();
  }

  send(frame: Uint8Array): boolean {
    if (!this.admit(frame)) return false;
    if (!this.stream!.write(frame)) return false;
    this.countSent(frame);
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    this.setState("closed");
    const pending: Promise<void>[] = [];
    if (this.stream !== null) pending.push(this.stream.close());
    if (this.dialling !== null) {
      const s = this.dialling;
      pending.push(new Promise((resolve) => (s.destroyed ? resolve() : s.once("close", () => resolve()))));
      s.destroy();
    }
    await Promise.all(pending);
  }

  private dial(): void {
    this.retryTimer = null;
    if (this.stopped) return;
    this.setState("connecting");
    const socket = netConnect({ host: this.options.host, port: this.options.port });
    this.dialling = socket;
    this.connectTimer = setTimeout(() => socket.destroy(new Error("connect timed out")), this.options.connectTimeoutMs);
    let failure: Error | undefined;
    socket.on("error", (e) => (failure ??= e));
    socket.once("connect", () => {
      this.clearConnectTimer();
      this.dialling = null;
      if (this.stopped) return void socket.destroy();
      this.onConnected(socket);
    });
    socket.once("close", () => {
      if (this.dialling !== socket) return; // connected: the stream owns the socket now
      this.clearConnectTimer();
      this.dialling = null;
      this.lastError = failure?.message ?? "connection closed";
      this.scheduleRetry();
    });
  }

  private onConnected(socket: Socket): void {
    this.connections++;
    this.upSinceMs = performance.now();
    this.stream = new FramedSocket(
      socket,
      {
        framing: this.options.framing,
        maxFrameLength: this.maxFrameLength,
        keepaliveIdleMs: this.options.keepaliveIdleMs,
        writeStallTimeoutMs: this.options.writeStallTimeoutMs,
        maxWriteBufferBytes: this.options.maxWriteBufferBytes,
      },
      {
        frame: (f) => void this.deliver(f),
        drop: (reason, n) => this.drop(reason, n),
        closed: (e) => this.onStreamClosed(e),
      },
    );
    this.setState("up");
  }

  private onStreamClosed(error: Error | undefined): void {
    this.stream = null;
    if (this.stopped) return;
    this.lastError = error?.message ?? "closed by peer";
    if (performance.now() - this.upSinceMs >= this.options.stableAfterMs) this.backoff.reset();
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped) return;
    if (this.backoff.attempts >= this.options.maxReconnectTries) {
      this.setState("closed");
      this.stopped = true;
      return;
    }
    this.setState("down");
    this.retryTimer = setTimeout(() => this.dial(), this.backoff.nextDelayMs());
  }

  private clearConnectTimer(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
  }

  private clearTimers(): void {
    this.clearConnectTimer();
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
