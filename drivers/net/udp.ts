// UDP interface, wire-compatible with RNS 1.4.2 UDPInterface (RNS/Interfaces/UDPInterface.py): one datagram
// per packet, no framing; received on listen_ip:listen_port, sent to forward_ip:forward_port (broadcast allowed).
//
// How it works: start() binds the listening socket (if listen_ip/port are set) and an unbound sending socket
// with SO_BROADCAST (if forward_ip/port are set) and is "up" once both are ready; a failed bind is retried
// with backoff. `port` stands for both listen and forward port where those are not given, and `device` for
// both addresses (the NIC's IPv4 broadcast address), as in the reference's configuration. The source of a
// datagram is not checked: anyone who can reach the port can send packets, as with the reference.
import { createSocket, type Socket } from "node:dgram";
import { isIPv6 } from "node:net";
import { networkInterfaces } from "node:os";
import { view } from "../../runtime/core/bytes.js";
import { cryptoRandom, type RandomSource } from "../../runtime/core/ports.js";
import { Backoff, DEFAULT_BACKOFF, DriverBase, type BackoffOptions } from "../port.js";

/** RNS 1.4.2 UDPInterface constants: HW_MTU is fixed (no MTU autoconfiguration). */
export const UDP_DEFAULTS = {
  hwMtu: 1064,
  bitrateBps: 10_000_000,
  ifacSize: 16,
  /** Datagrams waiting in the socket's send queue before new ones are refused ("tx-backpressure"). */
  maxSendQueue: 256,
} as const;

export interface UdpOptions {
  name?: string;
  listenIp?: string;
  listenPort?: number;
  forwardIp?: string;
  forwardPort?: number;
  /** Listen and forward port where those are not set. */
  port?: number;
  /** A NIC name: listen and forward on its IPv4 broadcast address where those are not set. */
  device?: string;
  bitrateBps?: number;
  hwMtu?: number;
  ifacSize?: number;
  maxSendQueue?: number;
  backoff?: BackoffOptions;
  random?: RandomSource;
}

/** The IPv4 broadcast address of a NIC, from its first IPv4 address and netmask; null when it has none. */
export function broadcastAddressOf(device: string, nics = networkInterfaces()): string | null {
  const v4 = (nics[device] ?? []).find((a) => a.family === "IPv4");
  if (v4 === undefined) return null;
  const a = v4.address.split(".").map(Number);
  const m = v4.netmask.split(".").map(Number);
  return a.map((octet, i) => (octet | (~m[i]! & 0xff)) & 0xff).join(".");
}

export class UdpDriver extends DriverBase {
  lastError: string | null = null;
  readonly listen: { ip: string; port: number } | null;
  readonly forward: { ip: string; port: number } | null;
  private readonly maxSendQueue: number;
  private readonly backoff: Backoff;
  private rx: Socket | null = null;
  private tx: Socket | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private started = false;
  private stopped = false;
  private boundPort = 0;

  constructor(options: UdpOptions) {
    const broadcast = options.device !== undefined ? broadcastAddressOf(options.device) : null;
    if (options.device !== undefined && broadcast === null) throw new RangeError(`no IPv4 address on ${options.device}`);
    const listenIp = options.listenIp ?? broadcast ?? undefined;
    const forwardIp = options.forwardIp ?? broadcast ?? undefined;
    const listenPort = options.listenPort ?? options.port;
    const forwardPort = options.forwardPort ?? options.port;
    for (const p of [listenPort, forwardPort]) {
      if (p !== undefined && (!Number.isInteger(p) || p < 0 || p > 65535)) throw new RangeError("ports: 0..65535");
    }
    const listen = listenIp !== undefined && listenPort !== undefined ? { ip: listenIp, port: listenPort } : null;
    const forward = forwardIp !== undefined && forwardPort !== undefined ? { ip: forwardIp, port: forwardPort } : null;
    if (listen === null && forward === null) throw new TypeError("UDP needs listen ip/port, forward ip/port, or both");
    super({
      kind: "udp",
      name: `UDPInterface[${options.name ?? "udp"}/${listen?.ip ?? "-"}:${listen?.port ?? "-"}]`,
      hwMtu: options.hwMtu ?? UDP_DEFAULTS.hwMtu,
      bitrateBps: options.bitrateBps ?? UDP_DEFAULTS.bitrateBps,
      ifacSize: options.ifacSize ?? UDP_DEFAULTS.ifacSize,
    });
    this.listen = listen;
    this.forward = forward;
    this.maxSendQueue = options.maxSendQueue ?? UDP_DEFAULTS.maxSendQueue;
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF, options.random ?? cryptoRandom);
  }

  /** The bound listening port (useful with listen port 0); 0 until bound or when not listening. */
  get port(): number {
    return this.boundPort;
  }

  start(): void {
    if (this.stopped) throw new Error(`${this.info.name} is closed`);
    if (this.started) return;
    this.started = true;
    void this.open();
  }

  send(frame: Uint8Array): boolean {
    if (!this.admit(frame)) return false;
    const tx = this.tx;
    if (tx === null || this.forward === null) {
      this.drop("not-forwarding");
      return false;
    }
    if (tx.getSendQueueCount() >= this.maxSendQueue) {
      this.drop("tx-backpressure");
      return false;
    }
    tx.send(Buffer.from(frame), this.forward.port, this.forward.ip, (e) => {
      if (e) {
        this.lastError = e.message;
        this.drop("tx-error");
      }
    });
    this.countSent(frame);
    return true;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.setState("closed");
    await this.closeSockets();
  }

  private async open(): Promise<void> {
    this.retryTimer = null;
    if (this.stopped) return;
    this.setState("connecting");
    try {
      if (this.listen !== null) {
        const rx = socketFor(this.listen.ip);
        this.rx = rx;
        rx.on("message", (msg) => void this.deliver(view(msg)));
        await bind(rx, this.listen.port, this.listen.ip);
        this.boundPort = rx.address().port;
      }
      if (this.forward !== null) {
        const tx = socketFor(this.forward.ip);
        this.tx = tx;
        await bind(tx, 0);
        tx.setBroadcast(true);
      }
    } catch (e) {
      this.lastError = (e as Error).message;
      await this.closeSockets();
      if (this.stopped) return;
      this.setState("down");
      this.retryTimer = setTimeout(() => void this.open(), this.backoff.nextDelayMs());
      return;
    }
    if (this.stopped) return void (await this.closeSockets());
    this.backoff.reset();
    this.setState("up");
  }

  private async closeSockets(): Promise<void> {
    const sockets = [this.rx, this.tx].filter((s): s is Socket => s !== null);
    this.rx = null;
    this.tx = null;
    await Promise.all(sockets.map(closeSocket));
  }
}

function socketFor(ip: string): Socket {
  const s = createSocket({ type: isIPv6(ip) ? "udp6" : "udp4" });
  s.on("error", () => undefined); // bind errors surface through bind(); send errors through send callbacks
  return s;
}

export function bind(socket: Socket, port: number, address?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    socket.once("error", onError);
    socket.bind(port, address, () => {
      socket.off("error", onError);
      resolve();
    });
  });
}

export function closeSocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
