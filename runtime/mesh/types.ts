// Contracts between the mesh machines (Transport, Link, Resource) and the engine that composes them.
// Every machine is sans-IO: it is fed bytes/packets, events and `nowMs`, it returns what to send and
// what happened, and it reports its next deadline. No machine reads a clock, a socket or a file.
import type { Bytes } from "../core/bytes.js";
import type { Packet, ReceivedPacket } from "../wire/packet.js";
import type { ValidAnnounce } from "../wire/announce.js";

/** Interface modes as the reference names them; they set path lifetimes and announce propagation. */
export type InterfaceMode = "full" | "point_to_point" | "access_point" | "roaming" | "boundary" | "gateway";

/** What Transport knows of an interface. The host owns the driver; Transport only sees this. */
export interface InterfaceDescriptor {
  /** Engine-unique, never reused within a run. */
  id: number;
  /** Human name, e.g. "TCPInterface[peer 127.0.0.1:4242]", shown by kosctl status. */
  name: string;
  mode: InterfaceMode;
  bitrateBps: number;
  /** Largest frame the link carries, IFAC included (500 on LoRa, 262144 on TCP). */
  hwMtu: number;
  /** May Transport transmit on it? */
  out: boolean;
  /** Share of the bitrate announces may use (reference default 0.02). */
  announceCap: number;
  /** Interfaces spawned by a server (one per TCP client) carry their parent's id. */
  parentId?: number;
}

/** A frame Transport wants on the air. The host applies IFAC and framing, then writes it. */
export interface Transmit {
  interfaceId: number;
  raw: Bytes;
}

/** Physical-layer readings that come with a received frame (RNode radios report them). */
export interface FrameMeta {
  rssiDbm?: number;
  snrDb?: number;
}

/** Delivered to the engine by Transport. */
export type TransportEvent =
  /** A valid announce (new or with a newer timestamp) for some destination; `pathResponse` when it answered a path request. */
  | { kind: "announce"; announce: ValidAnnounce; packet: ReceivedPacket; hops: number; interfaceId: number; pathResponse: boolean }
  /** A packet addressed to a destination registered locally (SINGLE/GROUP/PLAIN) or to a local link (LINK). */
  | { kind: "packet"; packet: ReceivedPacket; interfaceId: number; meta?: FrameMeta }
  /** A proof addressed to a packet we sent (its destination is the truncated hash of our packet). */
  | { kind: "proof"; packet: ReceivedPacket; interfaceId: number }
  /** A path to `destinationHash` became known or changed. */
  | { kind: "path"; destinationHash: Bytes; hops: number; interfaceId: number }
  /**
   * Someone asked for a path to a destination registered locally: the engine, which holds the identity,
   * answers with a PATH_RESPONSE announce sent through Transport.outbound on `interfaceId`.
   */
  | { kind: "path-request"; destinationHash: Bytes; tag: Bytes | null; interfaceId: number };

/** Packets a Link wants sent, and what happened on it. */
export type LinkEvent =
  | { kind: "established"; rttMs: number }
  | { kind: "data"; context: number; plaintext: Bytes; packet: ReceivedPacket }
  | { kind: "identified"; identityHash: Bytes; publicKey: Bytes }
  | { kind: "request"; requestId: Bytes; pathHash: Bytes; data: unknown; requestedAtS: number }
  | { kind: "response"; requestId: Bytes; data: unknown }
  | { kind: "proof"; packetHash: Bytes }
  /** A request we sent got no response in time, its resource failed, or the link closed first. */
  | { kind: "request-failed"; requestId: Bytes; reason: "timeout" | "resource" | "closed" }
  /** A packet sent with a receipt was not proved in time (or its receipt was culled from a full table). */
  | { kind: "receipt-timeout"; packetHash: Bytes }
  /**
   * A packed request or response too large for one packet: the engine sends `payload` as a Resource on this
   * link, carrying `requestId` (the reference's Resource(..., request_id, is_response)).
   */
  | { kind: "needs-resource"; requestId: Bytes; payload: Bytes; isResponse: boolean }
  | { kind: "closed"; reason: "local" | "remote" | "timeout" | "failed" };

/** The part of a Link that a Resource transfer uses. */
export interface ResourceLink {
  /** Link id (16 bytes), the destination hash of every packet on the link. */
  readonly linkId: Bytes;
  /** Largest plaintext that fits one encrypted link packet at the link's MTU. */
  readonly mdu: number;
  /**
   * The link's MTU (500 unless link MTU discovery raised it). Resource parts are `mtu - HEADER_MAXSIZE -
   * IFAC_MIN_SIZE` bytes (464 at 500), not `mdu`: both ends must agree on it to count parts alike.
   */
  readonly mtu: number;
  /** Round-trip time estimate, for timeouts and window pacing. */
  readonly rttMs: number;
  /** Encrypts with the link's Token; pieces are encrypted as if joined. */
  encrypt(plaintext: Bytes | readonly Bytes[]): Bytes;
  decrypt(ciphertext: Bytes): Bytes | null;
  /** Decrypts bytes the caller owns in place (their plaintext is then a view into them; see Token). */
  decryptInPlace(ciphertext: Bytes): Bytes | null;
  /**
   * Builds the link packet for `data` with `context` (encrypting it unless the context is one the
   * reference sends in clear, such as RESOURCE parts which are encrypted by the resource itself).
   */
  packet(context: number, data: Bytes, packetType?: number): Packet;
}
