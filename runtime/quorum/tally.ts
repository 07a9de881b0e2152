// The tally of one proposal: which member's vote is held, who equivocated, what the counts allow.
//
// Each member counts once. A second, different, validly signed vote of a member is equivocation: both votes
// become evidence and the member no longer counts for this proposal. The same choice again with another time
// is a duplicate (the earlier is kept). A certificate forms as soon as `threshold` counted votes agree; once
// formed it is kept (it verifies offline whatever is learnt later), so observing certificates for both
// outcomes is possible only when more members equivocate than the threshold tolerates: "conflict".
import { type Bytes } from "../core/bytes.js";
import { qerr, qok, type QResult } from "./limits.js";
import type { Membership } from "./membership.js";
import type { Proposal } from "./proposal.js";
import { buildCertificate, buildEquivocation, outcomeChoice, type Certificate, type Equivocation, type Outcome } from "./certificate.js";
import { Choice, sameVote, voteSignatureValid, type Vote } from "./vote.js";

export type TallyStatus = "reached" | "rejected" | "pending" | "expired" | "conflict";

export interface TallyView {
  status: TallyStatus;
  yes: number;
  no: number;
  abstain: number;
  /** Whether an approved (rejected) certificate is held or can still form before the deadline. */
  canApprove: boolean;
  canReject: boolean;
  equivocators: number[];
}

export type AddOutcome =
  | { kind: "counted"; vote: Vote; formed: Certificate | null }
  | { kind: "duplicate" }
  | { kind: "equivocation"; evidence: Equivocation }
  | { kind: "excluded" };

export class Tally {
  readonly proposal: Proposal;
  readonly membership: Membership;
  readonly #votes = new Map<number, Vote>();
  readonly #evidence = new Map<number, Equivocation>();
  #approved: Certificate | null = null;
  #rejected: Certificate | null = null;

  constructor(proposal: Proposal, membership: Membership) {
    this.proposal = proposal;
    this.membership = membership;
  }

  /** Adds a vote from anywhere (remote, journal, own). Invalid votes are refused with a reason. */
  add(v: Vote): QResult<AddOutcome> {
    const m = this.membership;
    if (v.voter >= m.members.length) return qerr("not-member", `voter ${v.voter} of ${m.members.length}`);
    if (v.timeMs > this.proposal.deadlineMs) return qerr("late", `voter ${v.voter} voted after the deadline`);
    const held = this.#votes.get(v.voter);
    if (held !== undefined && sameVote(held, v)) return qok({ kind: "duplicate" });
    if (!voteSignatureValid(v, this.proposal, m)) return qerr("bad-signature", `vote of ${v.voter}`);
    if (this.#evidence.has(v.voter)) return qok({ kind: "excluded" });
    if (held !== undefined) {
      if (held.choice === v.choice) {
        if (v.timeMs < held.timeMs) this.#votes.set(v.voter, v);
        return qok({ kind: "duplicate" });
      }
      const evidence = buildEquivocation(this.proposal, held, v);
      this.#evidence.set(v.voter, evidence);
      return qok({ kind: "equivocation", evidence });
    }
    this.#votes.set(v.voter, v);
    return qok({ kind: "counted", vote: v, formed: this.#maybeForm(v.choice) });
  }

  /** Records a certificate learnt whole (from the log or a peer) after verifyCertificate. */
  adopt(c: Certificate): boolean {
    if (c.outcome === "approved" ? this.#approved !== null : this.#rejected !== null) return false;
    if (c.outcome === "approved") this.#approved = c;
    else this.#rejected = c;
    return true;
  }

  #maybeForm(choice: Choice): Certificate | null {
    if (choice === Choice.ABSTAIN) return null;
    const outcome: Outcome = choice === Choice.YES ? "approved" : "rejected";
    if (this.certificate(outcome) !== null) return null;
    const votes = this.counted(outcome);
    if (votes.length < this.membership.threshold) return null;
    const c = buildCertificate(this.proposal, outcome, votes);
    this.adopt(c);
    return c;
  }

  /** Counted votes (equivocators excluded) for an outcome. */
  counted(outcome: Outcome): Vote[] {
    const want = outcomeChoice(outcome);
    return [...this.#votes.values()].filter((v) => v.choice === want && !this.#evidence.has(v.voter));
  }

  certificate(outcome: Outcome): Certificate | null {
    return outcome === "approved" ? this.#approved : this.#rejected;
  }

  get evidence(): Equivocation[] {
    return [...this.#evidence.values()];
  }

  /** The vote held for a member (the first valid one), or undefined. */
  vote(voter: number): Vote | undefined {
    return this.#votes.get(voter);
  }

  /** Bitmap of members whose vote is held (bit i of byte i >> 3, LSB first). */
  heldBitmap(): Bytes {
    const b = new Uint8Array(Math.ceil(this.membership.members.length / 8));
    for (const i of this.#votes.keys()) b[i >> 3]! |= 1 << (i & 7);
    return b;
  }

  view(nowMs: number): TallyView {
    let yes = 0;
    let no = 0;
    let abstain = 0;
    for (const v of this.#votes.values()) {
      if (this.#evidence.has(v.voter)) continue;
      if (v.choice === Choice.YES) yes++;
      else if (v.choice === Choice.NO) no++;
      else abstain++;
    }
    const open = nowMs <= this.proposal.deadlineMs;
    const undecided = this.membership.members.length - this.#votes.size;
    const t = this.membership.threshold;
    const status: TallyStatus =
      this.#approved !== null && this.#rejected !== null ? "conflict"
      : this.#approved !== null ? "reached"
      : this.#rejected !== null ? "rejected"
      : open ? "pending" : "expired";
    return {
      status, yes, no, abstain,
      canApprove: this.#approved !== null || (open && yes + undecided >= t),
      canReject: this.#rejected !== null || (open && no + undecided >= t),
      equivocators: [...this.#evidence.keys()].sort((a, b) => a - b),
    };
  }
}
