// One network card adopted by AutoInterface (RNS 1.4.2 AutoInterface.py): its three IPv6 UDP sockets, all
// scoped to the card, and the card's multicast echo (carrier) bookkeeping.
//
// Sockets, as the reference opens them: the multicast discovery socket bound to the group address and
// discovery port (with the card as zone for link scope) and joined to the group on the card; the unicast
// discovery socket on link-local:discovery port + 1 (reverse peering); the data socket on link-local:data
// port. The data socket also sends everything (packets, multicast and unicast discovery packets): the
// reference sends from fresh unbound sockets, and receivers look only at the source address, not the port.
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { view } from "../../runtime/core/bytes.js";
import { bind, closeSocket } from "./udp.js";

export interface NicPorts {
  discoveryPort: number;
  dataPort: number;
  multicastAddress: string;
  /** Link scope binds the discovery socket to group%card; wider scopes bind to the bare group. */
  linkScope: boolean;
}

export interface NicHandlers {
  /** `unicast`: it came to the unicast discovery port (reverse peering), not to the group. */
  discovery(nic: AutoNic, datagram: Uint8Array, from: RemoteInfo, unicast: boolean): void;
  data(nic: AutoNic, datagram: Uint8Array, from: RemoteInfo): void;
  error(nic: AutoNic, error: Error): void;
}

/** Datagrams waiting in the data socket's send queue before new ones are refused. */
export const MAX_NIC_SEND_QUEUE = 256;

export class AutoNic {
  /** When our own discovery packet was last heard back (starts at adoption, as in the reference). */
  lastEchoMs: number;
  /** Has any echo been heard since adoption? None means multicast is blocked somewhere. */
  echoSeen = false;
  private readonly sockets: Socket[] = [];
  private dataSocket: Socket | null = null;
  /** While open() runs, socket errors reject it instead of being reported. */
  private opening = false;

  constructor(
    readonly ifname: string,
    readonly linkLocal: string,
    readonly token: Uint8Array,
    private readonly ports: NicPorts,
    private readonly handlers: NicHandlers,
    nowMs: number,
  ) {
    this.lastEchoMs = nowMs;
  }

  /** `address%card`: the zone makes the kernel use this card for link-local and link-scope addresses. */
  scoped(address: string): string {
    return `${address}%${this.ifname}`;
  }

  /** Opens the three sockets; on any failure closes what was opened and rejects. */
  async open(): Promise<void> {
    this.opening = true;
    try {
      const data = this.socket(false, (d, r) => this.handlers.data(this, d, r));
      await bind(data, this.ports.dataPort, this.scoped(this.linkLocal));
      data.setMulticastInterface(this.scoped("::"));
      this.dataSocket = data;

      const unicast = this.socket(true, (d, r) => this.handlers.discovery(this, d, r, true));
      await bind(unicast, this.ports.discoveryPort + 1, this.scoped(this.linkLocal));

      const group = this.ports.multicastAddress;
      const multicast = this.socket(true, (d, r) => this.handlers.discovery(this, d, r, false));
      await bind(multicast, this.ports.discoveryPort, this.ports.linkScope ? this.scoped(group) : group);
      multicast.addMembership(group, this.scoped("::"));
    } catch (e) {
      await this.close();
      throw e;
    } finally {
      this.opening = false;
    }
  }

  /** Sends a datagram from the card's data socket; false when the socket is gone or its queue is full. */
  send(datagram: Uint8Array, port: number, address: string, onError: (e: Error) => void): boolean {
    const s = this.dataSocket;
    if (s === null || s.getSendQueueCount() >= MAX_NIC_SEND_QUEUE) return false;
    s.send(Buffer.from(datagram), port, this.scoped(address), (e) => {
      if (e) onError(e);
    });
    return true;
  }

  /** Our discovery token to the multicast group (peer_announce). */
  announce(onError: (e: Error) => void): boolean {
    return this.send(this.token, this.ports.discoveryPort, this.ports.multicastAddress, onError);
  }

  /** Our discovery token straight to one peer's unicast discovery port (reverse_announce). */
  reverseAnnounce(peer: string, onError: (e: Error) => void): boolean {
    return this.send(this.token, this.ports.discoveryPort + 1, peer, onError);
  }

  async close(): Promise<void> {
    const sockets = this.sockets.splice(0);
    this.dataSocket = null;
    await Promise.all(sockets.map(closeSocket));
  }

  private socket(reuseAddr: boolean, onMessage: (d: Uint8Array, r: RemoteInfo) => void): Socket {
    const s = createSocket({ type: "udp6", reuseAddr });
    this.sockets.push(s);
    s.on("message", (msg, rinfo) => onMessage(view(msg), rinfo));
    s.on("error", (e) => {
      if (!this.opening) this.handlers.error(this, e);
    });
    return s;
  }
}
