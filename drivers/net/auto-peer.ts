// One AutoInterface peer (RNS 1.4.2 AutoInterfacePeer): a child driver for the node at one link-local address
// on one NIC. It is "up" from the moment it is discovered until its parent times it out or stops.
import { DriverBase } from "../port.js";
import { AUTO_DEFAULTS } from "./auto-discovery.js";

/** What a peer needs from the AutoInterface that found it. */
export interface PeerOwner {
  readonly info: { readonly bitrateBps: number; readonly ifacSize: number };
  transmit(peer: AutoPeer, frame: Uint8Array): boolean;
  forget(peer: AutoPeer): void;
}

export class AutoPeer extends DriverBase {
  /** Last discovery packet or (non-duplicate) data frame from the peer. */
  lastHeardMs: number;
  /** Last reverse peering packet we sent it (starts at discovery, as in the reference). */
  lastOutboundMs: number;

  /** Peers are told apart by address and NIC (the same link-local address may exist on two links). */
  static keyOf(address: string, ifname: string): string {
    return `${address}%${ifname}`;
  }

  constructor(
    private readonly owner: PeerOwner,
    /** Canonical link-local address text, without zone. */
    readonly address: string,
    readonly ifname: string,
    nowMs: number,
  ) {
    super({
      kind: "auto-peer",
      name: `AutoInterfacePeer[${ifname}/${address}]`,
      hwMtu: AUTO_DEFAULTS.hwMtu,
      bitrateBps: owner.info.bitrateBps,
      ifacSize: owner.info.ifacSize,
    });
    this.lastHeardMs = nowMs;
    this.lastOutboundMs = nowMs;
    this.setState("up");
  }

  get key(): string {
    return AutoPeer.keyOf(this.address, this.ifname);
  }

  /** Discovered peers are up already. */
  start(): void {
    if (this.state === "closed") throw new Error(`${this.info.name} is closed`);
  }

  send(frame: Uint8Array): boolean {
    if (!this.admit(frame)) return false;
    if (!this.owner.transmit(this, frame)) return false;
    this.countSent(frame);
    return true;
  }

  stop(): Promise<void> {
    this.owner.forget(this);
    return Promise.resolve();
  }

  /** From the parent: a frame from this peer; false when the length rule dropped it. */
  receive(frame: Uint8Array): boolean {
    return this.deliver(frame);
  }

  countDrop(reason: string): void {
    this.drop(reason);
  }

  markClosed(): void {
    this.setState("closed");
  }
}
