// Simulator speed: simulated node-seconds per wall-clock second (and per CPU second: the machine may be
// shared) at 100 and 1,000 nodes, in an announce-heavy steady state: a grid 700 m apart on one LoRa channel
// (SF7, 250 kHz), one node in four a transport node, every node announcing every 5 minutes, up to 10
// virtual minutes. Each size has a wall-time budget; the figure covers the virtual time run within it.
import type { Figure } from "./measure.js";
import type { RadioSettings } from "../../hil/medium/medium.js";
import { Apps } from "../../hil/sim/apps.js";
import type { NodeSpec } from "../../hil/sim/node.js";
import { Simulator } from "../../hil/sim/sim.js";

const CHANNEL: RadioSettings = { frequencyHz: 869_525_000, bandwidthHz: 250_000, spreadingFactor: 7, codingRate: 5, txPowerDbm: 14 };
const VIRTUAL_MS = 600_000;
const CHUNK_MS = 10_000;

export interface SimSpeed {
  nodes: number;
  virtualS: number;
  wallS: number;
  cpuS: number;
  setupS: number;
  events: number;
  framesOnAir: number;
  receptions: number;
  links: number;
}

function grid(count: number): NodeSpec[] {
  const cols = Math.ceil(Math.sqrt(count));
  return Array.from({ length: count }, (_, i) => {
    const row = Math.floor(i / cols);
    const col = i % cols;
    return {
      name: `n${i}`,
      transport: row % 2 === 0 && col % 2 === 0,
      respondToProbes: true,
      lora: CHANNEL,
      wired: [],
      position: [col * 700, row * 700] as const,
      startMs: ((i * 7919) % 60_000) + 1,
      announceOnStart: true,
      announceIntervalMs: 300_000,
      persistIntervalMs: 600_000,
      fileReceiver: false,
    };
  });
}

export function measureSim(count: number, wallBudgetMs: number): SimSpeed {
  const t0 = performance.now();
  const sim = new Simulator({ seed: 1, nodes: grid(count), trace: "off" });
  new Apps(sim).install();
  const setupS = (performance.now() - t0) / 1000;
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  while (sim.nowMs < VIRTUAL_MS && performance.now() - w0 < wallBudgetMs) sim.run(Math.min(VIRTUAL_MS, sim.nowMs + CHUNK_MS));
  const wallS = (performance.now() - w0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (sim.bugs.length > 0) throw new Error(`sim benchmark: ${sim.bugs[0]!.node} threw: ${sim.bugs[0]!.message}`);
  return {
    nodes: count,
    virtualS: sim.nowMs / 1000,
    wallS,
    cpuS: (cpu.user + cpu.system) / 1e6,
    setupS,
    events: sim.stats.events,
    framesOnAir: sim.stats.framesOnAir,
    receptions: sim.stats.receptions,
    links: sim.stats.links,
  };
}

export async function benchSim(): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const [count, budgetMs] of [[100, 60_000], [1000, 120_000]] as const) {
    const s = measureSim(count, budgetMs);
    const nodeSeconds = s.nodes * s.virtualS;
    figures.push({
      name: `simulator, ${count} nodes (node-s per wall s)`,
      opsPerSec: nodeSeconds / s.wallS,
      note: `${s.virtualS.toFixed(0)} virtual s in ${s.wallS.toFixed(1)} s wall, ${s.framesOnAir} frames on air, ${s.receptions} receptions, ${(s.events / s.wallS / 1000).toFixed(1)}k events/s, set-up ${s.setupS.toFixed(1)} s`,
    });
    figures.push({ name: `simulator, ${count} nodes (node-s per CPU s)`, opsPerSec: nodeSeconds / s.cpuS, note: `${s.links} radio links` });
  }
  return figures;
}
