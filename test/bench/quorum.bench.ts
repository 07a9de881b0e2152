// Local quorum over emulated SF7 LoRa (the simulator: real Engines gossiping PLAIN packets, the LoRa medium
// model with RNode airtime, carrier sense and collisions). For n = 5, 10 and 20 members within range of each
// other on one 125 kHz channel, every member votes yes the moment it hears the proposal (the worst case for
// contention): decision latency (proposal sent -> certificate at every member, virtual time; bounded below by
// the proposal and a threshold of votes back to back), airtime spent
// until the gossip is quiet, against the lower bound (the proposal and n votes on air once each, with their
// real packet sizes and the medium's airtime formula), and messages sent per decision by type. Median over
// seeds; the same at 10 % loss shows what repair costs.
import type { Figure } from "./measure.js";
import { median } from "./measure.js";
import { rnodePacketAirtimeMs } from "../../hil/medium/airtime.js";
import type { RadioSettings } from "../../hil/medium/medium.js";
import type { NodeSpec } from "../../hil/sim/node.js";
import { QuorumSim } from "../../hil/sim/quorum.js";
import { Simulator } from "../../hil/sim/sim.js";
import { encodeProposalMessage } from "../../runtime/quorum/messages.js";

const SF7: RadioSettings = { frequencyHz: 869_525_000, bandwidthHz: 125_000, spreadingFactor: 7, codingRate: 5, txPowerDbm: 14 };
const SEEDS = [1, 2, 3, 4, 5, 6, 7];
const PROPOSE_AT_MS = 1_000;
const LIFETIME_MS = 120_000;
/** A PLAIN HEADER_1 packet: flags, hops, destination hash (16), context. */
const PLAIN_HEADER = 2 + 16 + 1;

export interface QuorumRun {
  n: number;
  loss: number;
  /** Proposal -> certificate at every member (ms), null when some member never certified. */
  latencyMs: number | null;
  airtimeMs: number;
  lowerBoundMs: number;
  /** The proposal and a threshold of votes back to back: the earliest a certificate can form. */
  latencyBoundMs: number;
  framesOnAir: number;
  collisions: number;
  sent: Record<string, number>;
  messages: number;
}

export function runDecision(n: number, seed: number, loss: number): QuorumRun {
  const nodes: NodeSpec[] = Array.from({ length: n }, (_, i) => ({
    name: `m${i}`, transport: false, respondToProbes: false, lora: SF7, wired: [],
    position: [150 * Math.cos((2 * Math.PI * i) / n), 150 * Math.sin((2 * Math.PI * i) / n)] as const,
    startMs: 0, announceOnStart: false, announceIntervalMs: null, persistIntervalMs: 3_600_000, fileReceiver: false,
  }));
  const sim = new Simulator({ seed, nodes, lossProbability: loss, trace: "off" });
  const q = new QuorumSim(sim, { members: nodes.map((x) => x.name), vote: "yes", voteDelayMs: 0, fsyncMs: 5 });
  let rec: ReturnType<QuorumSim["propose"]> | null = null;
  sim.at(PROPOSE_AT_MS, () => void (rec = q.propose({ name: "p", node: "m0", lifetimeMs: LIFETIME_MS })));
  // Until every machine is quiet: past the deadline and its skew, beacons have stopped.
  sim.run(PROPOSE_AT_MS + LIFETIME_MS + 5_000);
  const r = rec as ReturnType<QuorumSim["propose"]> | null;
  if (r?.proposal == null) throw new Error(`quorum bench: the proposal failed: ${r?.error}`);
  if (sim.bugs.length > 0) throw new Error(`quorum bench: ${sim.bugs[0]!.node} threw: ${sim.bugs[0]!.message}`);
  const first = q.firstCertificates(r.proposal.id);
  const latencyMs = first.size === n ? Math.max(...[...first.values()].map((c) => c.atMs)) - PROPOSE_AT_MS : null;
  const proposalBytes = PLAIN_HEADER + encodeProposalMessage(r.proposal.encoded).length;
  const voteBytes = PLAIN_HEADER + 1 + 16 + 72;
  const lowerBoundMs = rnodePacketAirtimeMs(proposalBytes, SF7) + n * rnodePacketAirtimeMs(voteBytes, SF7);
  const latencyBoundMs = rnodePacketAirtimeMs(proposalBytes, SF7) + q.membership.threshold * rnodePacketAirtimeMs(voteBytes, SF7);
  const t = q.totals();
  return {
    n, loss, latencyMs, airtimeMs: sim.stats.airtimeMs, lowerBoundMs, latencyBoundMs, framesOnAir: sim.stats.framesOnAir,
    collisions: sim.stats.lost["collision"] ?? 0, sent: t.sent, messages: t.messagesOut,
  };
}

function med(xs: (number | null)[]): number {
  const ok = xs.filter((x): x is number => x !== null);
  return ok.length === 0 ? NaN : median(ok);
}

export async function benchQuorum(): Promise<Figure[]> {
  const out: Figure[] = [];
  for (const loss of [0, 0.1]) {
    for (const n of [5, 10, 20]) {
      const runs = SEEDS.map((s) => runDecision(n, s, loss));
      const lat = med(runs.map((r) => r.latencyMs));
      const air = med(runs.map((r) => r.airtimeMs));
      const bound = runs[0]!.lowerBoundMs;
      const missed = runs.filter((r) => r.latencyMs === null).length;
      const types = ["proposal", "vote", "have", "want", "cert"].map((k) => `${k} ${med(runs.map((r) => r.sent[k] ?? 0))}`).join(", ");
      const tag = `n=${n}${loss > 0 ? `, ${loss * 100} % loss` : ""}`;
      out.push({ name: `decision latency (${tag})`, value: lat, unit: "ms", higherIsBetter: false, note: `lower bound ${runs[0]!.latencyBoundMs.toFixed(0)} ms: proposal + a threshold of votes back to back${missed > 0 ? `; ${missed} of ${runs.length} runs missed a member` : ""}` });
      out.push({ name: `airtime per decision (${tag})`, value: air, unit: "ms", higherIsBetter: false, note: `${(air / bound).toFixed(2)}x the lower bound ${bound.toFixed(0)} ms; collisions ${med(runs.map((r) => r.collisions))}` });
      out.push({ name: `messages per decision (${tag})`, value: med(runs.map((r) => r.messages)), unit: "msgs", higherIsBetter: false, note: types });
    }
  }
  return out;
}
