// One seeded run of local quorum on the simulator (real Engines, the LoRa medium model, wired segments), for
// the property test sim-safety.test.ts. Everything about a run comes from its seed: size (4..31 members, most
// runs small), medium (one SF7 LoRa cluster, one Wi-Fi segment, or two LoRa sites joined by Wi-Fi gateways),
// loss, f < n/3 Byzantine members with random roles, honest vote splits, vote delays, fsync delays, a
// partition healing before or after the deadline, a member crashing and restarting (which then tries to vote
// the other way: its journal must stop it). runSeed() checks safety always and liveness when its condition
// holds, and returns what failed. Run as a worker thread, it runs the seeds it is given.
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { seededRandom } from "../../runtime/core/ports.js";
import type { RadioSettings } from "../../hil/medium/medium.js";
import type { NodeSpec } from "../../hil/sim/node.js";
import { QuorumSim, BYZANTINE_ROLES, type ByzantineRole, type VoteChoice } from "../../hil/sim/quorum.js";
import { Simulator } from "../../hil/sim/sim.js";

const SF7: RadioSettings = { frequencyHz: 869_525_000, bandwidthHz: 125_000, spreadingFactor: 7, codingRate: 5, txPowerDbm: 14 };
/** After a heal or a restart, the gossip needs this long to be sure to reach everyone (Trickle's 60 s interval, and repair). */
const SETTLE_MS = 90_000;
/**
 * The least lifetime for which liveness is checked on LoRa: repair under loss needs airtime, about 10 s per
 * member at 100 % loss-equivalent (measured: n = 30 at 20 % loss with every honest vote needed took ~130 s).
 */
const repairBudgetMs = (p: RunParams): number => (p.medium === "wifi" ? 0 : 40_000 + p.n * p.loss * 10_000);

export interface RunParams {
  seed: number;
  n: number;
  threshold: number;
  medium: "lora" | "wifi" | "two-sites";
  loss: number;
  byzantine: Record<string, ByzantineRole>;
  votes: Record<string, VoteChoice>;
  proposer: string;
  lifetimeMs: number;
  voteDelayMs: number;
  fsyncMs: number;
  partition: { groups: string[][]; atMs: number; healMs: number | null } | null;
  crash: { node: string; atMs: number; upMs: number } | null;
}

export interface RunResult {
  seed: number;
  ok: boolean;
  message: string;
  livenessChecked: boolean;
  params: RunParams;
}

const pickOf = <T>(rng: () => number, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;

/** Every parameter of a run, from its seed. */
export function paramsOf(seed: number): RunParams {
  const r = seededRandom(seed * 2654435761 >>> 0 || 1);
  const u = (): number => r.next32() / 2 ** 32;
  const size = u();
  // Mostly small runs (fast, and where f/n is largest), some medium, a few large.
  const n = size < 0.85 ? 4 + Math.floor(u() * 7) : size < 0.97 ? 11 + Math.floor(u() * 10) : 21 + Math.floor(u() * 11);
  const threshold = Math.floor((2 * n) / 3) + 1;
  const names = Array.from({ length: n }, (_, i) => `m${i}`);
  const medium = pickOf(u, ["lora", "lora", "wifi", "two-sites"] as const);
  const loss = pickOf(u, [0, 0, 0.05, 0.1, 0.2]);
  const maxF = Math.ceil(n / 3) - 1;
  const f = Math.floor(u() * (maxF + 1));
  const shuffled = [...names].sort(() => u() - 0.5);
  const byzantine: Record<string, ByzantineRole> = {};
  for (const b of shuffled.slice(0, f)) byzantine[b] = pickOf(u, BYZANTINE_ROLES);
  const honest = names.filter((x) => byzantine[x] === undefined);
  const votes: Record<string, VoteChoice> = {};
  const mode = u();
  honest.forEach((h, i) => {
    if (mode < 0.35) votes[h] = "yes";
    else if (mode < 0.5) votes[h] = u() < 0.9 ? "no" : "abstain";
    else if (mode < 0.7) votes[h] = i % 2 === 0 ? "yes" : "no"; // an even split: where equivocators would tip both ways
    else votes[h] = pickOf(u, ["yes", "yes", "no", "no", "abstain", "none"] as const);
  });
  const proposer = pickOf(u, honest);
  const lifetimeMs = 60_000 + Math.floor(u() * 180_000);
  const voteDelayMs = Math.floor(u() * Math.min(10_000, lifetimeMs / 4));
  const fsyncMs = Math.floor(u() * 20);
  const proposeAt = 5_000;
  let partition: RunParams["partition"] = null;
  if (u() < 0.25) {
    const a = names.filter(() => u() < 0.5);
    const b = names.filter((x) => !a.includes(x));
    if (a.length > 0 && b.length > 0) {
      const deadline = proposeAt + lifetimeMs;
      const atMs = proposeAt - 1_000 + Math.floor(u() * 10_000);
      const when = u();
      const healMs = when < 0.4 && deadline - SETTLE_MS > atMs + 1_000 ? atMs + 1_000 + Math.floor(u() * (deadline - SETTLE_MS - atMs - 1_000)) : when < 0.8 ? deadline + 1 + Math.floor(u() * 30_000) : null;
      partition = { groups: [a, b], atMs, healMs };
    }
  }
  let crash: RunParams["crash"] = null;
  const others = honest.filter((x) => x !== proposer);
  if (u() < 0.15 && others.length > 0) {
    const atMs = proposeAt + Math.floor(u() * lifetimeMs * 0.5);
    crash = { node: pickOf(u, others), atMs, upMs: atMs + 1_000 + Math.floor(u() * 20_000) };
  }
  return { seed, n, threshold, medium, loss, byzantine, votes, proposer, lifetimeMs, voteDelayMs, fsyncMs, partition, crash };
}

export function describe(p: RunParams): string {
  const f = Object.keys(p.byzantine).length;
  const roles = Object.entries(p.byzantine).map(([k, v]) => `${k}:${v}`).join(",");
  const tally: Record<string, number> = {};
  for (const v of Object.values(p.votes)) tally[v] = (tally[v] ?? 0) + 1;
  return `n=${p.n} t=${p.threshold} f=${f}${roles ? ` [${roles}]` : ""} medium=${p.medium} loss=${p.loss} votes=${JSON.stringify(tally)} proposer=${p.proposer} ` +
    `lifetime=${p.lifetimeMs}ms voteDelay=${p.voteDelayMs}ms fsync=${p.fsyncMs}ms` +
    (p.partition ? ` partition=${p.partition.groups.map((g) => g.length).join("|")}@${p.partition.atMs}ms heal=${p.partition.healMs ?? "never"}` : "") +
    (p.crash ? ` crash=${p.crash.node}@${p.crash.atMs}-${p.crash.upMs}ms` : "");
}

function nodesOf(p: RunParams): NodeSpec[] {
  const base = { transport: false, respondToProbes: false, startMs: 0, announceOnStart: false, announceIntervalMs: null, persistIntervalMs: 600_000, fileReceiver: false };
  return Array.from({ length: p.n }, (_, i) => {
    const name = `m${i}`;
    // A cluster of radius 150 m: everyone hears everyone at SF7 (range ~1.9 km); site B sits 20 km away.
    const angle = (2 * Math.PI * i) / p.n;
    const ring: [number, number] = [150 * Math.cos(angle), 150 * Math.sin(angle)];
    if (p.medium === "wifi") return { ...base, name, lora: null, wired: ["wifi"], position: [0, 0] as const };
    if (p.medium === "lora") return { ...base, name, lora: SF7, wired: [], position: ring };
    // Two sites: even members at A, odd at B; the first two of each site are gateways on the Wi-Fi link too.
    const siteB = i % 2 === 1;
    const gateway = i < 4;
    return { ...base, name, lora: SF7, wired: gateway ? ["wan"] : [], position: [ring[0] + (siteB ? 20_000 : 0), ring[1]] as const };
  });
}

/** Which nodes can reach which over honest relays, without partitions: an adjacency list. */
function honestComponents(p: RunParams, honest: Set<string>, cut: ((a: string, b: string) => boolean) | null): Map<string, Set<string>> {
  const names = Array.from({ length: p.n }, (_, i) => `m${i}`).filter((x) => honest.has(x));
  const idx = (x: string): number => Number(x.slice(1));
  const linked = (a: string, b: string): boolean => {
    if (cut !== null && cut(a, b)) return false;
    if (p.medium !== "two-sites") return true;
    const ia = idx(a);
    const ib = idx(b);
    if (ia % 2 === ib % 2) return true; // same site, same LoRa cluster
    return ia < 4 && ib < 4; // both gateways on the Wi-Fi link
  };
  const comp = new Map<string, Set<string>>();
  for (const s of names) {
    if (comp.has(s)) continue;
    const set = new Set<string>([s]);
    const todo = [s];
    while (todo.length > 0) {
      const x = todo.pop()!;
      for (const y of names) if (!set.has(y) && linked(x, y)) { set.add(y); todo.push(y); }
    }
    for (const x of set) comp.set(x, set);
  }
  return comp;
}

/** `inspect` sees the finished run (for debugging a seed). */
export function runSeed(seed: number, inspect?: (sim: Simulator, q: QuorumSim) => void): RunResult {
  const p = paramsOf(seed);
  const fail = (message: string, livenessChecked = false): RunResult => ({ seed, ok: false, message: `seed ${seed} (${describe(p)}): ${message}; replay with QUORUM_SIM_SEED=${seed}`, livenessChecked, params: p });
  const sim = new Simulator({
    seed, nodes: nodesOf(p), lossProbability: p.loss, trace: (process.env["QUORUM_SIM_TRACE"] as "full" | undefined) ?? "off",
    wired: p.medium === "wifi" ? [{ name: "wifi", delayMs: 5, lossProbability: p.loss, bitrateBps: 20_000_000 }]
      : p.medium === "two-sites" ? [{ name: "wan", delayMs: 20, lossProbability: p.loss, bitrateBps: 1_000_000 }] : [],
    maxEvents: 5_000_000,
  });
  const names = Array.from({ length: p.n }, (_, i) => `m${i}`);
  const q = new QuorumSim(sim, { members: names, vote: "none", votes: p.votes, byzantine: p.byzantine, voteDelayMs: p.voteDelayMs, fsyncMs: p.fsyncMs });
  const proposeAt = 5_000;
  if (p.partition !== null) {
    const part = p.partition;
    sim.at(part.atMs, () => sim.partition(part.groups));
    if (part.healMs !== null) sim.at(part.healMs, () => sim.heal());
  }
  if (p.crash !== null) {
    const c = p.crash;
    const node = sim.node(c.node);
    q.nodes.get(c.node)!.flipAfterBoots = 1;
    sim.at(c.atMs, () => sim.crash(node));
    sim.at(c.upMs, () => sim.restart(node));
  }
  let rec: ReturnType<QuorumSim["propose"]> | null = null;
  sim.at(proposeAt, () => void (rec = q.propose({ name: "p", node: p.proposer, lifetimeMs: p.lifetimeMs })));
  const deadline = proposeAt + p.lifetimeMs;
  const end = Math.max(deadline, p.partition?.healMs ?? 0, p.crash?.upMs ?? 0) + 60_000;
  sim.run(end);
  inspect?.(sim, q);
  if (sim.bugs.length > 0) return fail(`${sim.bugs[0]!.node} threw: ${sim.bugs[0]!.message}\n${sim.bugs[0]!.stack}`);
  const r = rec as ReturnType<QuorumSim["propose"]> | null;
  if (r === null || r.proposal === null) return fail(`the proposal was not made: ${r?.error ?? "never"}`);

  // Safety: one outcome anywhere, every certificate verifies offline, honest members signed one choice each.
  const v = q.safetyViolation();
  if (v !== null) return fail(v);
  // The restarted member tried the other choice: only a vote it had not made durable may be replaced.
  // (safetyViolation already checks its journal holds one choice.)

  // Liveness: in the proposer's component of honest nodes (connected before the deadline with time to settle),
  // if a threshold of its honest members vote alike, every honest node there holds that certificate by the deadline.
  const honest = new Set(names.filter((x) => p.byzantine[x] === undefined));
  const part = p.partition;
  const healedInTime = part === null || (part.healMs !== null && part.healMs <= deadline - SETTLE_MS);
  const sideOf = (x: string): number => (part === null ? 0 : part.groups.findIndex((g) => g.includes(x)));
  const comp = honestComponents(p, honest, healedInTime ? null : (a, b) => sideOf(a) !== sideOf(b)).get(p.proposer)!;
  const crashed = p.crash;
  const crashOk = crashed === null || crashed.upMs <= deadline - SETTLE_MS;
  const counted = [...comp].filter((x) => crashed === null || x !== crashed.node);
  const yes = counted.filter((x) => p.votes[x] === "yes").length;
  const no = counted.filter((x) => p.votes[x] === "no").length;
  const want = yes >= p.threshold ? "approved" : no >= p.threshold ? "rejected" : null;
  if (want === null || p.lifetimeMs < repairBudgetMs(p)) return { seed, ok: true, message: "", livenessChecked: false, params: p };
  const first = q.firstCertificates(r.proposal.id);
  for (const x of comp) {
    if (crashed !== null && x === crashed.node && !crashOk) continue;
    const c = first.get(x);
    if (c === undefined || c.atMs > deadline) return fail(`liveness: ${yes} yes / ${no} no of ${comp.size} connected honest members, but ${x} has ${c === undefined ? "no certificate" : `its certificate only at ${c.atMs} ms`} by the deadline ${deadline} ms (${first.size} nodes certified)`, true);
    if (c.certificate.outcome !== want) return fail(`liveness: ${x} certified ${c.certificate.outcome}, expected ${want}`, true);
  }
  return { seed, ok: true, message: "", livenessChecked: true, params: p };
}

// As a worker: run the seeds given, post the results that failed and the counts.
if (!isMainThread && (workerData as { kind?: string } | null)?.kind === "quorum-sim") {
  const { seeds } = workerData as { seeds: number[] };
  const failures: RunResult[] = [];
  let liveness = 0;
  for (const s of seeds) {
    let res: RunResult;
    try {
      res = runSeed(s);
    } catch (e) {
      res = { seed: s, ok: false, message: `seed ${s} (${describe(paramsOf(s))}): threw ${(e as Error).stack ?? e}; replay with QUORUM_SIM_SEED=${s}`, livenessChecked: false, params: paramsOf(s) };
    }
    if (res.livenessChecked) liveness++;
    if (!res.ok) failures.push(res);
  }
  parentPort!.postMessage({ runs: seeds.length, liveness, failures: failures.map((f) => f.message) });
}
