// What the quorum machine hands its host: actions to carry out, events to report, counters.
import type { Bytes } from "../core/bytes.js";
import type { Certificate, Equivocation } from "./certificate.js";
import type { Membership } from "./membership.js";
import type { Proposal } from "./proposal.js";
import type { TallyView } from "./tally.js";
import type { Choice } from "./vote.js";

/** Where a message came from, and where an answer goes: a broadcast interface (the mesh) or a link to one peer. */
export type Source = { kind: "broadcast"; iface: string } | { kind: "link"; peer: string };

export type QuorumAction =
  /** Send `bytes` as one broadcast packet on interface `iface`. */
  | { type: "broadcast"; iface: string; bytes: Bytes }
  /** Send `bytes` as one packet over the link to `peer`. */
  | { type: "send"; peer: string; bytes: Bytes }
  /**
   * Write our own vote (88 bytes, see vote.ts) to the vote journal and sync it, then call votePersisted: the
   * vote is not sent before. Feed the journal back with restore() on start.
   */
  | { type: "persistVote"; proposalId: Bytes; vote: Bytes };

export type QuorumEvent =
  | { type: "proposal"; proposal: Proposal; membership: Membership }
  | { type: "vote"; proposalId: Bytes; voter: number; choice: Choice }
  /** The tally's status or reachability changed (also when the deadline passes: "expired"). */
  | { type: "status"; proposalId: Bytes; view: TallyView }
  /** A certificate formed here or was learnt (CERT votes, addCertificate): write it to the action log. */
  | { type: "certificate"; certificate: Certificate }
  /** A member signed two choices: write the evidence to the action log; the member no longer counts here. */
  | { type: "evidence"; evidence: Equivocation }
  /** Certificates for both outcomes: more members equivocated than the threshold tolerates. Loud. */
  | { type: "conflict"; proposalId: Bytes; approved: Certificate; rejected: Certificate; evidence: Equivocation[] }
  | { type: "drop"; reason: string; detail?: string };

export interface QuorumStats {
  messagesIn: number;
  messagesOut: number;
  bytesOut: number;
  /** Messages sent, by type name (proposal, vote, have, want, cert). */
  sent: Record<string, number>;
  /** Inputs refused, by reason (see QuorumDrop). */
  dropped: Record<string, number>;
  votesCounted: number;
  certificates: number;
  equivocations: number;
  /** Votes that came before their proposal, held, and counted once it arrived. */
  orphansRecovered: number;
}

export function newStats(): QuorumStats {
  return { messagesIn: 0, messagesOut: 0, bytesOut: 0, sent: {}, dropped: {}, votesCounted: 0, certificates: 0, equivocations: 0, orphansRecovered: 0 };
}
