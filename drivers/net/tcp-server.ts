// TCP server interface, wire-compatible with RNS 1.4.2 TCPServerInterface (RNS/Interfaces/TCPInterface.py):
// listens on listen_ip:port (IPv4 or IPv6, link-local with a %zone) and spawns one child interface per client.
//
// How it works: start() binds ("connecting"), listening makes it "up"; a failed bind is retried with backoff
// (the reference raises instead). Each accepted connection becomes a TcpServerPeer child, already "up",
// announced with the "child" event; the child turns "closed" and leaves `children` when its connection ends.
// At most maxClients children exist; further connections are closed at once and counted ("server-full").
// The server itself carries no frames, like the reference's (its process_outgoing does nothing).
import { createServer, type Server, type Socket } from "node:net";
import { cryptoRandom, type RandomSource } from "../../runtime/core/ports.js";
import { Backoff, DEFAULT_BACKOFF, DriverBase, type BackoffOptions, type DriverInfo } from "../port.js";
import { FramedSocket, STREAM_DEFAULTS, type StreamFraming, type StreamOptions } from "./tcp-stream.js";
import { TCP_DEFAULTS, tcpHwMtu } from "./tcp-client.js";

export interface TcpServerOptions {
  /** The reference's listen_ip: "0.0.0.0", "::", "127.0.0.1", "fe80::1%eth0"... */
  host: string;
  /** 0 picks a free port (see `port` once up). */
  port: number;
  name?: string;
  /** The reference's server always frames with HDLC; "kiss" is offered for symmetry with the client. */
  framing?: StreamFraming;
  bitrateBps?: number;
  hwMtu?: number;
  ifacSize?: number;
  maxClients?: number;
  backoff?: BackoffOptions;
  keepaliveIdleMs?: number;
  writeStallTimeoutMs?: number;
  maxWriteBufferBytes?: number;
  random?: RandomSource;
}

export const TCP_SERVER_DEFAULTS = { maxClients: 64 } as const;

/** One accepted client: the reference's spawned TCPClientInterface ("Client on <server name>"). */
export class TcpServerPeer extends DriverBase {
  private stream: FramedSocket | null;
  private readonly closedPromise: Promise<void>;

  constructor(socket: Socket, info: DriverInfo, streamOptions: StreamOptions) {
    super(info);
    let onClosed: () => void = () => undefined;
    this.closedPromise = new Promise((resolve) => (onClosed = resolve));
    this.stream = new FramedSocket(socket, streamOptions, {
      frame: (f) => void this.deliver(f),
      drop: (reason, n) => this.drop(reason, n),
      closed: () => {
        this.stream = null;
        this.setState("closed");
        onClosed();
      },
    });
    this.setState("up");
  }

  /** Already connected: nothing to start. */
  start(): void {
    if (this.state === "closed") throw new Error(`${this.info.name} is closed`);
  }

  send(frame: Uint8Array): boolean {
    if (!this.admit(frame)) return false;
    if (!this.stream!.write(frame)) return false;
    this.countSent(frame);
    return true;
  }

  async stop(): Promise<void> {
    if (this.stream !== null) await this.stream.close();
    await this.closedPromise;
  }
}

export class TcpServerDriver extends DriverBase {
  readonly children = new Set<TcpServerPeer>();
  lastError: string | null = null;
  private readonly options: TcpServerOptions;
  private readonly backoff: Backoff;
  private server: Server | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private started = false;
  private stopped = false;
  private boundPort = 0;

  constructor(options: TcpServerOptions) {
    const bitrateBps = options.bitrateBps ?? TCP_DEFAULTS.bitrateBps;
    if (typeof options.host !== "string" || options.host.length === 0) throw new TypeError("host must be a non-empty string");
    if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) throw new RangeError("port: 0..65535");
    const maxClients = options.maxClients ?? TCP_SERVER_DEFAULTS.maxClients;
    if (!Number.isInteger(maxClients) || maxClients < 1) throw new RangeError("maxClients must be a positive integer");
    const shownHost = options.host.includes(":") ? `[${options.host}]` : options.host;
    super({
      kind: "tcp-server",
      name: `TCPServerInterface[${options.name ?? "tcp-server"}/${shownHost}:${options.port}]`,
      hwMtu: options.hwMtu ?? tcpHwMtu(bitrateBps),
      bitrateBps,
      ifacSize: options.ifacSize ?? TCP_DEFAULTS.ifacSize,
    });
    this.options = { ...options, maxClients };
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF, options.random ?? cryptoRandom);
  }

  /** The bound port (useful with port 0); 0 until listening. */
  get port(): number {
    return this.boundPort;
  }

  start(): void {
    if (this.stopped) throw new Error(`${this.info.name} is closed`);
    if (this.started) return;
    this.started = true;
    this.listen();
  }

  /** The server is not a link; send on its children. */
  send(frame: Uint8Array): boolean {
    if (!(frame instanceof Uint8Array)) throw new TypeError("send: frame must be a Uint8Array");
    this.drop("not-a-link");
    return false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.setState("closed");
    const server = this.server;
    this.server = null;
    const closing: Promise<void>[] = [...this.children].map((c) => c.stop());
    if (server !== null) closing.push(new Promise((resolve) => server.close(() => resolve())));
    await Promise.all(closing);
  }

  private listen(): void {
    this.retryTimer = null;
    if (this.stopped) return;
    this.setState("connecting");
    const server = createServer({ noDelay: true }, (socket) => this.onConnection(socket));
    this.server = server;
    server.on("error", (e) => {
      this.lastError = e.message;
      if (this.server !== server || this.stopped) return;
      server.close();
      this.server = null;
      this.setState("down");
      this.retryTimer = setTimeout(() => this.listen(), this.backoff.nextDelayMs());
    });
    server.listen({ host: this.options.host, port: this.options.port }, () => {
      const address = server.address();
      this.boundPort = typeof address === "object" && address !== null ? address.port : this.options.port;
      this.backoff.reset();
      this.setState("up");
    });
  }

  private onConnection(socket: Socket): void {
    if (this.stopped || this.children.size >= this.options.maxClients!) {
      this.drop("server-full");
      socket.on("error", () => undefined);
      socket.destroy();
      return;
    }
    const remote = socket.remoteAddress ?? "?";
    const shown = remote.includes(":") ? `[${remote}]` : remote;
    const child = new TcpServerPeer(
      socket,
      {
        kind: "tcp-server-peer",
        name: `TCPInterface[Client on ${this.options.name ?? "tcp-server"}/${shown}:${socket.remotePort ?? 0}]`,
        hwMtu: this.info.hwMtu,
        bitrateBps: this.info.bitrateBps,
        ifacSize: this.info.ifacSize,
      },
      {
        framing: this.options.framing ?? "hdlc",
        maxFrameLength: this.maxFrameLength,
        keepaliveIdleMs: this.options.keepaliveIdleMs ?? STREAM_DEFAULTS.keepaliveIdleMs,
        writeStallTimeoutMs: this.options.writeStallTimeoutMs ?? STREAM_DEFAULTS.writeStallTimeoutMs,
        maxWriteBufferBytes: this.options.maxWriteBufferBytes ?? STREAM_DEFAULTS.maxWriteBufferBytes,
      },
    );
    this.children.add(child);
    child.on("state", (s) => {
      if (s === "closed") this.children.delete(child);
    });
    this.emitChild(child);
  }
}
