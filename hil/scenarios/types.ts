// A scenario in normalised form, as parseScenario (schema.ts) returns it: times in milliseconds of virtual
// time from the start, node names resolved and checked, defaults applied. Every runner (simulator, emulated
// radios, real radios) takes this form.
import type { RadioSettings } from "../medium/medium.js";
import type { Placement, Position } from "../sim/topology.js";

export interface ScenarioMedium {
  loss: number;
  captureDb: number | null;
  refLossDb: number;
  exponent: number;
  interferenceMarginDb: number;
  noiseFigureDb: number;
  links: { between: [string, string]; pathLossDb: number | null }[];
}

export interface WiredSpec {
  name: string;
  delayMs: number;
  loss: number;
  bitrateBps: number;
}

export interface ScenarioNode {
  name: string;
  /** null: placed by the scenario's placement. */
  position: Position | null;
  lora: boolean;
  radio: RadioSettings;
  wired: string[];
  transport: boolean;
  respondToProbes: boolean;
  announceOnStart: boolean;
  announceIntervalMs: number | null;
  persistIntervalMs: number;
  startMs: number;
}

export type QuorumVote = "yes" | "no" | "abstain" | "none";
export type QuorumRole = "equivocate" | "forge" | "replay" | "late" | "silent";

/** Local quorum on the scenario's nodes (simulator only). */
export interface ScenarioQuorum {
  /** Member names in membership order. */
  members: string[];
  threshold: number | null;
  /** Non-members that run quorum (gossip relays); null: every node that is not a member. */
  relays: string[] | null;
  vote: QuorumVote;
  votes: Record<string, QuorumVote>;
  byzantine: Record<string, QuorumRole>;
  voteDelayMs: number;
  fsyncMs: number;
}

export type TimelineEvent = { atMs: number } & (
  | { do: "announce"; node: string }
  | { do: "unplug" | "replug" | "reset" | "crash" | "restart" | "stop"; node: string }
  | { do: "power_cycle"; node: string; offMs: number }
  | { do: "partition"; groups: string[][] }
  | { do: "heal" }
  | { do: "loss"; rate: number; between: [string, string] | null }
  | { do: "send_file"; from: string; to: string; sizeBytes: number; timeoutMs: number; retries: number }
  | { do: "probe"; from: string; to: string; timeoutMs: number }
  | { do: "propose"; node: string; name: string; deadlineMs: number; kind: string; payload: string; vote: QuorumVote | null; votes: Record<string, QuorumVote> }
);

interface Window {
  /** Display name, e.g. "path_known n0->n4 by 60 s". */
  name: string;
  afterMs: number;
  byMs: number;
}

export type Assertion = Window &
  (
    | { kind: "path_known" | "file_delivered" | "probe_ok" | "probe_failed"; from: string; to: string }
    | { kind: "all_nodes_know_paths" }
    | { kind: "no_crash" }
    /** Every named node (or every honest member, or every honest quorum node) holds a certificate of `outcome`. */
    | { kind: "quorum_certificate"; proposal: string; nodes: string[] | "members" | "all"; outcome: "approved" | "rejected" }
    /** No node holds a certificate for the proposal by `by`. */
    | { kind: "quorum_no_certificate"; proposal: string }
    /** No conflicting certificates, every certificate verifies offline, no honest member signed two choices. */
    | { kind: "quorum_safe" }
    /** Honest nodes dropped at least `min` gossip inputs for `reason`. */
    | { kind: "quorum_dropped"; reason: string; min: number }
  );

export interface Scenario {
  /** The file it came from, for messages. */
  file: string;
  name: string;
  description: string;
  seed: number;
  durationMs: number;
  /** Events the simulator may handle; null: its default bound. */
  maxEvents: number | null;
  radio: RadioSettings & { preset: string | null };
  medium: ScenarioMedium;
  wired: WiredSpec[];
  nodes: ScenarioNode[];
  /** How nodes without a position are placed (count form). */
  placement: Placement | null;
  /** Each node boots at its start time plus a seeded random delay up to this. */
  startJitterMs: number;
  timeline: TimelineEvent[];
  assertions: Assertion[];
  quorum: ScenarioQuorum | null;
}

export type AssertionStatus = "passed" | "failed" | "pending" | "unsupported";

export interface AssertionResult {
  name: string;
  passed: boolean;
  status: AssertionStatus;
  detail: string;
  /** Virtual (sim) or elapsed (emulated) seconds when it was decided; null when it was not. */
  atS: number | null;
}

export type RunMode = "sim" | "emulated" | "rig";

/** What every runner returns, and what `kosctl hil run --json` prints. */
export interface RunSummary {
  scenario: string;
  file: string;
  seed: number;
  mode: RunMode;
  /** Every assertion passed (none failed, pending or unsupported-only). */
  passed: boolean;
  /** failed: some assertion failed; pending: none failed, some could not be run (no radios); passed. */
  status: "passed" | "failed" | "pending";
  assertions: AssertionResult[];
  /** Timeline events this mode cannot apply, as "at S s: EVENT: why". */
  unsupported: string[];
  message: string | null;
  stats: Record<string, unknown>;
}

/** The overall status of a set of assertion results. */
export function overallStatus(results: readonly AssertionResult[]): RunSummary["status"] {
  if (results.some((r) => r.status === "failed")) return "failed";
  if (results.some((r) => r.status === "pending")) return "pending";
  return results.some((r) => r.status === "passed") ? "passed" : "failed";
}
