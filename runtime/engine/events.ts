// What the engine reports to the host, and what a local destination is.
import type { Bytes } from "../core/bytes.js";
import type { Identity } from "../crypto/identity.js";
import type { LinkEvent } from "../mesh/types.js";

export type ProofStrategy = "none" | "app" | "all";

export interface DestinationSpec {
  /** Owner identity (SINGLE), or null for PLAIN destinations. */
  identity: Identity | null;
  appName: string;
  aspects: string[];
  /** "all": prove every packet received (what rnprobe needs); "none": never. */
  proof: ProofStrategy;
  acceptLinks: boolean;
  /** Resources offered on links to this destination: accepted up to this size, or refused (0). */
  acceptResourcesUpToBytes: number;
  /** App data sent with announces, if any. */
  appData?: Bytes | null;
}

export interface LocalDestination {
  readonly hash: Bytes;
  readonly nameHash: Bytes;
  readonly spec: DestinationSpec;
}

export type ResourceStatus = "transferring" | "complete" | "failed";

export type EngineEvent =
  | { kind: "announce"; destinationHash: Bytes; identityHash: Bytes; nameHash: Bytes; appData: Bytes | null; hops: number; interfaceId: number; pathResponse: boolean }
  | { kind: "path"; destinationHash: Bytes; hops: number; interfaceId: number }
  | { kind: "packet"; destinationHash: Bytes; plaintext: Bytes; packetHash: Bytes; interfaceId: number }
  | { kind: "receipt"; receiptId: number; status: "delivered" | "failed"; rttMs: number }
  | { kind: "link"; linkId: Bytes; localDestination: Bytes | null; remoteDestination: Bytes | null; event: LinkEvent }
  | {
      kind: "resource";
      linkId: Bytes;
      resourceId: number;
      direction: "in" | "out";
      status: ResourceStatus;
      progress: number;
      sizeBytes: number;
      data?: Bytes;
      metadata?: unknown;
      reason?: string;
    };
