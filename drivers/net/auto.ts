// AutoInterface, compatible with RNS 1.4.2 RNS/Interfaces/AutoInterface.py: zero-configuration peering of
// Reticulum nodes on the same link via IPv6 link-local multicast, then unicast UDP packets between peers.
//
// How it works: on every allowed NIC with a link-local address it opens the sockets of an AutoNic and, every
// announce interval, multicasts its discovery token (SHA-256 of group id + own link-local text) to the
// group's address. A datagram on a discovery port whose first 32 bytes equal the token of its source address
// is either our own packet looped back (an "echo": the carrier is alive) or a peer: a new peer becomes a child
// driver ("auto-peer", already up) and a known one is refreshed. Discovery is ignored for the first
// peeringWaitMs, as the reference ignores it until final_init. Every peer job interval: peers silent for
// peeringTimeoutMs are closed and removed, each peer gets our token by unicast once per reverse peering
// interval (so a peer that cannot hear our multicast still learns of us), carriers are checked, and the NICs
// are enumerated again (a changed link-local address reopens that NIC; a NIC whose sockets failed to open is
// retried). Data from a known peer is passed up on that peer's child unless the same bytes came in (from any
// peer, on any NIC) within the dedup TTL. The parent itself carries no frames.
import type { RemoteInfo } from "node:dgram";
import { networkInterfaces, type NetworkInterfaceInfo } from "node:os";
import { systemClock, type Clock } from "../../runtime/core/ports.js";
import { DriverBase } from "../port.js";
import { AutoNic } from "./auto-nic.js";
import { AutoPeer } from "./auto-peer.js";
import {
  AUTO_DEFAULTS,
  canonicalLinkLocal,
  DedupRing,
  discoveryToken,
  groupIdBytes,
  multicastDiscoveryAddress,
  selectNics,
  validDiscovery,
  type DiscoveryScope,
  type MulticastAddressType,
} from "./auto-discovery.js";

export { AutoPeer } from "./auto-peer.js";

export interface AutoOptions {
  name?: string;
  groupId?: string | Uint8Array;
  discoveryScope?: DiscoveryScope;
  multicastAddressType?: MulticastAddressType;
  discoveryPort?: number;
  dataPort?: number;
  /** Only these NICs (the reference's `devices`); all by default. */
  devices?: string[];
  ignoredDevices?: string[];
  bitrateBps?: number;
  ifacSize?: number;
  announceIntervalMs?: number;
  peerJobIntervalMs?: number;
  peeringTimeoutMs?: number;
  multicastEchoTimeoutMs?: number;
  reversePeeringIntervalMs?: number;
  peeringWaitMs?: number;
  maxPeers?: number;
  maxNics?: number;
  /** NIC enumeration (os.networkInterfaces by default). */
  listInterfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  clock?: Clock;
}

export const AUTO_LIMITS = { maxPeers: 128, maxNics: 32 } as const;

export interface DiscoveryStats {
  received: number;
  /** Ignored during the initial peering wait. */
  early: number;
  rejected: number;
  echoes: number;
  /** Valid discovery packets from peers that came by unicast (reverse peering). */
  reverse: number;
  peersAdded: number;
  peersTimedOut: number;
  carrierLost: number;
  nicErrors: number;
}

type Timing = Required<Pick<AutoOptions, "announceIntervalMs" | "peerJobIntervalMs" | "peeringTimeoutMs" | "multicastEchoTimeoutMs" | "reversePeeringIntervalMs" | "peeringWaitMs">>;

export class AutoInterfaceDriver extends DriverBase {
  readonly multicastAddress: string;
  readonly discoveryPort: number;
  readonly dataPort: number;
  readonly discovery: DiscoveryStats = { received: 0, early: 0, rejected: 0, echoes: 0, reverse: 0, peersAdded: 0, peersTimedOut: 0, carrierLost: 0, nicErrors: 0 };
  lastError: string | null = null;
  private readonly groupId: Uint8Array;
  private readonly options: AutoOptions;
  private readonly timing: Timing;
  private readonly clock: Clock;
  private readonly nicMap = new Map<string, AutoNic>();
  private readonly peerMap = new Map<string, AutoPeer>();
  private readonly carrierLostOn = new Set<string>();
  private readonly dedup = new DedupRing();
  private readonly timers: NodeJS.Timeout[] = [];
  private peeringOpenAtMs = Infinity;
  private refreshing: Promise<void> | null = null;
  private started = false;
  private stopped = false;

  constructor(options: AutoOptions = {}) {
    super({
      kind: "auto",
      name: `AutoInterface[${options.name ?? "auto"}]`,
      hwMtu: AUTO_DEFAULTS.hwMtu,
      bitrateBps: options.bitrateBps ?? AUTO_DEFAULTS.bitrateBps,
      ifacSize: options.ifacSize ?? AUTO_DEFAULTS.ifacSize,
    });
    this.options = options;
    this.groupId = groupIdBytes(options.groupId ?? AUTO_DEFAULTS.groupId);
    this.multicastAddress = multicastDiscoveryAddress(this.groupId, options.discoveryScope ?? "link", options.multicastAddressType ?? "temporary").text;
    this.discoveryPort = options.discoveryPort ?? AUTO_DEFAULTS.discoveryPort;
    this.dataPort = options.dataPort ?? AUTO_DEFAULTS.dataPort;
    const announceIntervalMs = options.announceIntervalMs ?? AUTO_DEFAULTS.announceIntervalMs;
    this.timing = {
      announceIntervalMs,
      peerJobIntervalMs: options.peerJobIntervalMs ?? AUTO_DEFAULTS.peerJobIntervalMs,
      peeringTimeoutMs: options.peeringTimeoutMs ?? AUTO_DEFAULTS.peeringTimeoutMs,
      multicastEchoTimeoutMs: options.multicastEchoTimeoutMs ?? AUTO_DEFAULTS.multicastEchoTimeoutMs,
      reversePeeringIntervalMs: options.reversePeeringIntervalMs ?? announceIntervalMs * 3.25,
      peeringWaitMs: options.peeringWaitMs ?? announceIntervalMs * 1.2,
    };
    for (const [k, v] of Object.entries(this.timing)) if (!(v > 0)) throw new RangeError(`${k} must be positive`);
    this.clock = options.clock ?? systemClock;
  }

  /** Current peers, one child driver each. */
  get peers(): AutoPeer[] {
    return [...this.peerMap.values()];
  }

  /** Adopted NICs with their link-local address and carrier (multicast echo) state. */
  get nics(): { ifname: string; linkLocal: string; echoSeen: boolean; carrierOk: boolean }[] {
    return [...this.nicMap.values()].map((n) => ({ ifname: n.ifname, linkLocal: n.linkLocal, echoSeen: n.echoSeen, carrierOk: !this.carrierLostOn.has(n.ifname) }));
  }

  start(): void {
    if (this.stopped) throw new Error(`${this.info.name} is closed`);
    if (this.started) return;
    this.started = true;
    this.peeringOpenAtMs = this.clock.nowMs() + this.timing.peeringWaitMs;
    this.setState("connecting");
    this.timers.push(setInterval(() => this.announceAll(), this.timing.announceIntervalMs));
    this.timers.push(setInterval(() => this.peerJobs(), this.timing.peerJobIntervalMs));
    this.timers.push(setTimeout(() => this.updateState(), this.timing.peeringWaitMs + 1));
    void this.refreshNics();
  }

  /** AutoInterface itself is not a link; send on its peers. */
  send(frame: Uint8Array): boolean {
    if (!(frame instanceof Uint8Array)) throw new TypeError("send: frame must be a Uint8Array");
    this.drop("not-a-link");
    return false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.splice(0)) clearTimeout(t);
    this.setState("closed");
    for (const p of this.peerMap.values()) p.markClosed();
    this.peerMap.clear();
    await this.refreshing;
    await Promise.all([...this.nicMap.values()].map((n) => n.close()));
    this.nicMap.clear();
  }

  /** Called by a child: one packet to its peer from the NIC it was found on. */
  transmit(peer: AutoPeer, frame: Uint8Array): boolean {
    const nic = this.nicMap.get(peer.ifname);
    if (nic === undefined) {
      peer.countDrop("nic-down");
      return false;
    }
    if (!nic.send(frame, this.dataPort, peer.address, (e) => this.txError(peer, e))) {
      peer.countDrop("tx-backpressure");
      return false;
    }
    this.counters.txFrames++;
    this.counters.txBytes += frame.length;
    return true;
  }

  /** Called by a child's stop(): the host no longer wants this peer (it returns if it is heard again). */
  forget(peer: AutoPeer): void {
    if (this.peerMap.get(peer.key) === peer) this.peerMap.delete(peer.key);
    peer.markClosed();
  }

  private txError(peer: AutoPeer, e: Error): void {
    this.lastError = e.message;
    peer.countDrop("tx-error");
  }

  private updateState(): void {
    if (this.stopped) return;
    if (this.clock.nowMs() < this.peeringOpenAtMs) this.setState("connecting");
    else this.setState(this.nicMap.size > 0 ? "up" : "down");
  }

  private announceAll(): void {
    for (const nic of this.nicMap.values()) nic.announce((e) => this.nicError(nic, e));
  }

  private peerJobs(): void {
    const now = this.clock.nowMs();
    for (const peer of [...this.peerMap.values()]) {
      if (now > peer.lastHeardMs + this.timing.peeringTimeoutMs) {
        this.peerMap.delete(peer.key);
        this.discovery.peersTimedOut++;
        peer.markClosed();
      }
    }
    for (const peer of this.peerMap.values()) {
      if (now <= peer.lastOutboundMs + this.timing.reversePeeringIntervalMs) continue;
      const nic = this.nicMap.get(peer.ifname);
      if (nic !== undefined && nic.reverseAnnounce(peer.address, (e) => this.nicError(nic, e))) peer.lastOutboundMs = now;
    }
    for (const nic of this.nicMap.values()) {
      const lost = now - nic.lastEchoMs > this.timing.multicastEchoTimeoutMs;
      if (lost && !this.carrierLostOn.has(nic.ifname)) this.discovery.carrierLost++;
      if (lost) this.carrierLostOn.add(nic.ifname);
      else this.carrierLostOn.delete(nic.ifname);
    }
    void this.refreshNics();
  }

  /** Opens NICs that appeared (or failed before), reopens those whose link-local address changed. */
  private refreshNics(): Promise<void> {
    if (this.refreshing !== null || this.stopped) return this.refreshing ?? Promise.resolve();
    const run = async (): Promise<void> => {
      const selection = { devices: this.options.devices ?? [], ignoredDevices: this.options.ignoredDevices ?? [] };
      const wanted = selectNics((this.options.listInterfaces ?? networkInterfaces)(), selection).slice(0, this.options.maxNics ?? AUTO_LIMITS.maxNics);
      for (const nic of [...this.nicMap.values()]) {
        if (wanted.some((w) => w.ifname === nic.ifname && w.linkLocal === nic.linkLocal)) continue;
        this.nicMap.delete(nic.ifname);
        await nic.close();
      }
      for (const w of wanted) {
        if (this.nicMap.has(w.ifname) || this.stopped) continue;
        const nic = new AutoNic(
          w.ifname,
          w.linkLocal,
          discoveryToken(this.groupId, w.linkLocal),
          { discoveryPort: this.discoveryPort, dataPort: this.dataPort, multicastAddress: this.multicastAddress, linkScope: (this.options.discoveryScope ?? "link") === "link" },
          { discovery: (n, d, r, u) => this.onDiscovery(n, d, r, u), data: (n, d, r) => this.onData(n, d, r), error: (n, e) => this.nicError(n, e) },
          this.clock.nowMs(),
        );
        try {
          await nic.open();
        } catch (e) {
          this.nicError(nic, e as Error);
          continue;
        }
        if (this.stopped) {
          await nic.close();
          continue;
        }
        this.nicMap.set(nic.ifname, nic);
        nic.announce((e) => this.nicError(nic, e));
      }
    };
    this.refreshing = run().finally(() => {
      this.refreshing = null;
      this.updateState();
    });
    return this.refreshing;
  }

  private nicError(nic: AutoNic, e: Error): void {
    this.discovery.nicErrors++;
    this.lastError = `${nic.ifname}: ${e.message}`;
  }

  private onDiscovery(nic: AutoNic, datagram: Uint8Array, from: RemoteInfo, unicast: boolean): void {
    this.discovery.received++;
    const now = this.clock.nowMs();
    if (now < this.peeringOpenAtMs) return void this.discovery.early++;
    const source = canonicalLinkLocal(from.address);
    if (source === null || !validDiscovery(this.groupId, source, datagram)) return void this.discovery.rejected++;
    const own = [...this.nicMap.values()].find((n) => n.linkLocal === source);
    if (own !== undefined) {
      own.lastEchoMs = now;
      own.echoSeen = true;
      this.discovery.echoes++;
      return;
    }
    if (unicast) this.discovery.reverse++;
    const key = AutoPeer.keyOf(source, nic.ifname);
    const known = this.peerMap.get(key);
    if (known !== undefined) {
      known.lastHeardMs = now;
      return;
    }
    if (this.peerMap.size >= (this.options.maxPeers ?? AUTO_LIMITS.maxPeers)) return this.drop("peer-table-full");
    const peer = new AutoPeer(this, source, nic.ifname, now);
    this.peerMap.set(key, peer);
    this.discovery.peersAdded++;
    this.emitChild(peer);
  }

  private onData(nic: AutoNic, datagram: Uint8Array, from: RemoteInfo): void {
    const source = canonicalLinkLocal(from.address);
    const peer = source === null ? undefined : this.peerMap.get(AutoPeer.keyOf(source, nic.ifname));
    if (peer === undefined || this.state !== "up") return this.drop(peer === undefined ? "unknown-peer" : "not-up");
    if (datagram.length > this.maxFrameLength) return peer.countDrop("oversize");
    const now = this.clock.nowMs();
    if (this.dedup.seen(datagram, now)) return peer.countDrop("duplicate");
    peer.lastHeardMs = now;
    if (!peer.receive(datagram)) return;
    this.counters.rxFrames++;
    this.counters.rxBytes += datagram.length;
  }
}
