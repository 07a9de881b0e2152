// Runs a scenario on the simulator: builds the nodes (placement and start jitter from the seed), schedules
// the timeline, judges the assertions, and returns the run summary ({scenario, seed, mode: "sim", passed,
// assertions, stats}). The run ends when every assertion is decided, at the scenario's duration, or when the
// event budget is spent, whichever comes first: it never hangs. The same scenario and seed give the same
// run, event for event (the trace digest in the stats shows it).
import { seededRandom } from "../../runtime/core/ports.js";
import type { RunSummary, Scenario, TimelineEvent } from "../scenarios/types.js";
import { overallStatus } from "../scenarios/types.js";
import { Apps } from "./apps.js";
import { AssertionJudge } from "./assertions.js";
import type { NodeSpec } from "./node.js";
import { QuorumSim } from "./quorum.js";
import { mixSeed, Simulator, type RunEnd } from "./sim.js";
import { place } from "./topology.js";
import type { TraceMode } from "./trace.js";

export interface SimRunOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  trace?: TraceMode;
  maxEvents?: number;
}

export interface SimRun {
  summary: RunSummary;
  sim: Simulator;
  apps: Apps;
  quorum: QuorumSim | null;
}

export function runScenarioSim(scenario: Scenario, opts: SimRunOptions = {}): SimRun {
  const seed = opts.seed ?? scenario.seed;
  const sim = buildSimulator(scenario, seed, opts.trace ?? "hash", opts.maxEvents ?? scenario.maxEvents ?? undefined);
  const apps = new Apps(sim);
  apps.install();
  const sq = scenario.quorum;
  const quorum = sq === null ? null : new QuorumSim(sim, {
    members: sq.members, ...(sq.threshold !== null ? { threshold: sq.threshold } : {}), ...(sq.relays !== null ? { relays: sq.relays } : {}),
    vote: sq.vote, votes: sq.votes, byzantine: sq.byzantine, voteDelayMs: sq.voteDelayMs, fsyncMs: sq.fsyncMs,
  });
  for (const e of scenario.timeline) sim.after(e.atMs, () => apply(sim, apps, e, quorum));
  const judge = new AssertionJudge(sim, apps, scenario.assertions, quorum);
  judge.install(scenario.nodes.length > 200 ? 10_000 : 1_000);
  sim.stopWhen = () => judge.allDecided;
  const started = performance.now();
  const end: RunEnd = sim.run(scenario.durationMs);
  const wallMs = performance.now() - started;
  judge.checkAll();
  const assertions = judge.results();
  const status = overallStatus(assertions);
  const virtualS = sim.nowMs / 1000;
  const lost = Object.fromEntries(Object.entries(sim.stats.lost).sort(([a], [b]) => a.localeCompare(b)));
  const hostDrops: Record<string, number> = {};
  for (const n of sim.nodes) for (const [k, v] of Object.entries(n.stats.drops)) hostDrops[k] = (hostDrops[k] ?? 0) + v;
  const summary: RunSummary = {
    scenario: scenario.name,
    file: scenario.file,
    seed,
    mode: "sim",
    passed: status === "passed",
    status,
    assertions,
    unsupported: [],
    message: end === "max-events" ? `the event budget (${sim.stats.events} events) ran out at ${virtualS.toFixed(1)} s of virtual time` : null,
    stats: {
      nodes: sim.nodes.length,
      radioLinks: sim.stats.links,
      end,
      virtualS,
      wallMs: Math.round(wallMs),
      nodeSecondsPerWallSecond: wallMs > 0 ? Math.round((sim.nodes.length * virtualS) / (wallMs / 1000)) : null,
      events: sim.stats.events,
      framesOnAir: sim.stats.framesOnAir,
      airtimeS: Math.round(sim.stats.airtimeMs) / 1000,
      receptions: sim.stats.receptions,
      lost,
      wiredFrames: sim.stats.wiredFrames,
      hostDrops,
      engineBugs: sim.bugs.length,
      probes: apps.probes.length,
      transfers: apps.transfers.length,
      ...(quorum !== null ? { quorum: quorumStats(quorum) } : {}),
      traceLines: sim.trace.count,
      traceSha256: sim.trace.digest(),
    },
  };
  return { summary, sim, apps, quorum };
}

function quorumStats(q: QuorumSim): Record<string, unknown> {
  const t = q.totals();
  return {
    members: q.membership.members.length,
    threshold: q.membership.threshold,
    proposals: q.proposals.map((p) => {
      const first = p.proposal === null ? new Map() : q.firstCertificates(p.proposal.id);
      const times = [...first.values()].map((c) => c.atMs - p.atMs);
      return { name: p.name, error: p.error, certified: first.size, outcome: [...first.values()][0]?.certificate.outcome ?? null, lastCertificateAfterS: times.length > 0 ? Math.max(...times) / 1000 : null };
    }),
    certificates: q.certificates.length,
    messagesSent: t.sent,
    bytesSent: t.bytesOut,
    dropped: Object.fromEntries(Object.entries(t.dropped).sort(([a], [b]) => a.localeCompare(b))),
    evidence: q.evidence.length,
    conflicts: q.conflicts.length,
    directFrames: q.directFrames,
  };
}

/** The simulator for a scenario: positions and boot times drawn from the seed. */
export function buildSimulator(scenario: Scenario, seed: number, trace: TraceMode, maxEvents?: number): Simulator {
  const placed = scenario.placement !== null ? place(scenario.placement, scenario.nodes.length, mixSeed(seed, 4)) : null;
  const jitter = seededRandom(mixSeed(seed, 6));
  const receivers = new Set(scenario.timeline.filter((e) => e.do === "send_file").map((e) => (e as { to: string }).to));
  const nodes: NodeSpec[] = scenario.nodes.map((n, i) => ({
    name: n.name,
    transport: n.transport,
    respondToProbes: n.respondToProbes,
    lora: n.lora ? { ...n.radio } : null,
    wired: [...n.wired],
    position: n.position ?? placed?.[i] ?? [0, 0],
    startMs: n.startMs + (scenario.startJitterMs > 0 ? (jitter.next32() / 2 ** 32) * scenario.startJitterMs : 0),
    announceOnStart: n.announceOnStart,
    announceIntervalMs: n.announceIntervalMs,
    persistIntervalMs: n.persistIntervalMs,
    fileReceiver: receivers.has(n.name),
  }));
  const m = scenario.medium;
  return new Simulator({
    seed,
    nodes,
    propagation: { refLossDb: m.refLossDb, exponent: m.exponent, interferenceMarginDb: m.interferenceMarginDb, noiseFigureDb: m.noiseFigureDb },
    lossProbability: m.loss,
    captureThresholdDb: m.captureDb,
    links: m.links.map((l) => ({ a: l.between[0], b: l.between[1], pathLossDb: l.pathLossDb })),
    wired: scenario.wired.map((w) => ({ name: w.name, delayMs: w.delayMs, lossProbability: w.loss, bitrateBps: w.bitrateBps })),
    trace,
    ...(maxEvents !== undefined ? { maxEvents } : {}),
  });
}

function apply(sim: Simulator, apps: Apps, e: TimelineEvent, quorum: QuorumSim | null): void {
  switch (e.do) {
    case "announce":
      for (const n of e.node === "all" ? sim.nodes : [sim.node(e.node)]) sim.announce(n);
      return;
    case "unplug":
      return sim.unplug(sim.node(e.node));
    case "replug":
      return sim.replug(sim.node(e.node));
    case "reset":
      return sim.resetRadio(sim.node(e.node));
    case "crash":
      return sim.crash(sim.node(e.node));
    case "restart":
      return sim.restart(sim.node(e.node));
    case "stop":
      return sim.stop(sim.node(e.node));
    case "power_cycle":
      return sim.powerCycle(sim.node(e.node), e.offMs);
    case "partition":
      return sim.partition(e.groups);
    case "heal":
      return sim.heal();
    case "loss":
      sim.setLoss(e.rate, e.between ?? undefined);
      return;
    case "send_file":
      apps.transfer(sim.node(e.from), sim.node(e.to), e.sizeBytes, { timeoutMs: e.timeoutMs, retries: e.retries });
      return;
    case "probe":
      apps.probe(sim.node(e.from), sim.node(e.to), { timeoutMs: e.timeoutMs });
      return;
    case "propose":
      quorum?.propose({ name: e.name, node: e.node, kind: e.kind, payload: new TextEncoder().encode(e.payload || e.name), lifetimeMs: e.deadlineMs, ...(e.vote !== null ? { vote: e.vote } : {}), votes: e.votes });
      return;
  }
}
