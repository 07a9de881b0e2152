// The emulated process runner: the scenario's nodes as real kosd processes (the bundle), each with an
// RNodeInterface on an emulated RNode (hil/rnode/emulator.ts, a PTY made by socat), every radio on one
// Medium in this process (hil/rnode/air.ts, the real clock). Radio links come from the scenario's placement
// and path-loss model, as in the simulator; unplug/replug/reset act on the emulated radios, partition, heal
// and loss on the Medium. Needs socat.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Medium } from "../medium/medium.js";
import { RealtimeAir } from "../rnode/air.js";
import { RNodeEmulator } from "../rnode/emulator.js";
import type { RunSummary, Scenario } from "../scenarios/types.js";
import { mixSeed } from "../sim/sim.js";
import { DEFAULT_PROPAGATION, maxRelevantPathLossDb, pathLossDb, place, type Propagation } from "../sim/topology.js";
import { formatTime } from "../sim/trace.js";
import { runProcesses, type RadioBackend } from "./process-runner.js";
import { bundlePaths } from "./processes.js";

export const EMULATED_LIMITS = Object.freeze({ maxNodes: 16 });

export function socatAvailable(): boolean {
  return spawnSync("socat", ["-V"], { stdio: "ignore" }).status === 0;
}

export interface EmulatedOptions {
  seed?: number;
  /** Path of kosd.cjs (default: beside the running kosctl bundle, else dist/). */
  kosd?: string;
  log?: (line: string) => void;
  /** Gets one line per packet on the air and what each radio made of it (as the simulator's trace). */
  trace?: (line: string) => void;
}

export async function runEmulated(scenario: Scenario, o: EmulatedOptions = {}): Promise<RunSummary> {
  const seed = o.seed ?? scenario.seed;
  if (!socatAvailable()) throw new Error("the emulated radios need socat (apt-get install socat)");
  if (scenario.nodes.length > EMULATED_LIMITS.maxNodes) throw new Error(`${scenario.nodes.length} nodes: the emulated mode runs at most ${EMULATED_LIMITS.maxNodes} kosd processes (use --sim)`);
  const bundles = bundlePaths(o.kosd);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "kos-hil-emu-"));
  const backend = await EmulatedRadios.start(scenario, seed, path.join(root, "pty"), o.trace);
  try {
    return await runProcesses(scenario, backend, { seed, kosd: bundles.kosd, kosctl: bundles.kosctl, workDir: path.join(root, "nodes"), ...(o.log ? { log: o.log } : {}) });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

class EmulatedRadios implements RadioBackend {
  readonly mode = "emulated" as const;
  readonly #links = new Map<string, { a: string; b: string; pathLossDb: number }>();

  private constructor(
    private readonly air: RealtimeAir,
    private readonly radios: Map<string, RNodeEmulator>,
  ) {}

  static async start(scenario: Scenario, seed: number, ptyDir: string, trace?: (line: string) => void): Promise<EmulatedRadios> {
    fs.mkdirSync(ptyDir, { recursive: true });
    const m = scenario.medium;
    const air = new RealtimeAir(new Medium({ seed: mixSeed(seed, 1), lossProbability: m.loss, captureThresholdDb: m.captureDb, noiseFigureDb: m.noiseFigureDb }));
    if (trace !== undefined) {
      air.observe((s) => {
        const t = s.transmission;
        const heard = s.outcomes.filter((x) => x.received || x.reason !== "out-of-range").map((x) => `${x.radioId}:${x.received ? `ok/${x.rssiDbm.toFixed(0)}/${x.snrDb.toFixed(1)}` : x.reason}`);
        trace(`${formatTime(t.endMs)} air ${t.from} #${t.id} ${t.bytes.length}B ${t.airtimeMs.toFixed(1)}ms -> ${heard.join(" ") || "nobody"}`);
      });
    }
    const radios = new Map<string, RNodeEmulator>();
    const placed = scenario.placement !== null ? place(scenario.placement, scenario.nodes.length, mixSeed(seed, 4)) : null;
    const lora = scenario.nodes.map((n, i) => ({ n, pos: n.position ?? placed?.[i] ?? ([0, 0] as const), i })).filter((x) => x.n.lora);
    for (const { n, i } of lora) radios.set(n.name, new RNodeEmulator({ air, ptyPath: path.join(ptyDir, n.name), radioId: n.name, board: "tbeam-supreme", seed: mixSeed(seed, 2000 + i) }));
    const backend = new EmulatedRadios(air, radios);
    const prop: Propagation = { ...DEFAULT_PROPAGATION, refLossDb: m.refLossDb, exponent: m.exponent, interferenceMarginDb: m.interferenceMarginDb, noiseFigureDb: m.noiseFigureDb };
    for (const [x, p] of lora.entries()) {
      for (const q of lora.slice(x + 1)) {
        const loss = pathLossDb(Math.hypot(p.pos[0] - q.pos[0], p.pos[1] - q.pos[1]), prop);
        const relevant = Math.max(maxRelevantPathLossDb(p.n.radio, prop), maxRelevantPathLossDb(q.n.radio, prop));
        backend.#setLink(p.n.name, q.n.name, loss <= relevant ? loss : null);
      }
    }
    for (const l of m.links) if (radios.has(l.between[0]) && radios.has(l.between[1])) backend.#setLink(l.between[0], l.between[1], l.pathLossDb);
    for (const r of radios.values()) await r.plug();
    return backend;
  }

  #setLink(a: string, b: string, pathLossDb: number | null): void {
    const key = a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`;
    if (pathLossDb === null) this.#links.delete(key);
    else this.#links.set(key, { a, b, pathLossDb });
    this.air.medium.setLink(a, b, pathLossDb === null ? null : { pathLossDb });
  }

  port(node: string): string {
    return this.#radio(node).ptyPath;
  }

  extraOptions(): string {
    return "";
  }

  async unplug(node: string): Promise<void> {
    await this.#radio(node).unplug();
  }

  async replug(node: string): Promise<void> {
    await this.#radio(node).plug();
  }

  async reset(node: string): Promise<void> {
    this.#radio(node).reset();
  }

  partition(groups: string[][]): void {
    this.air.medium.partition(...groups);
  }

  heal(): void {
    this.air.medium.heal();
  }

  loss(rate: number, between: [string, string] | null): void {
    for (const l of this.#links.values()) {
      if (between === null || (between.includes(l.a) && between.includes(l.b))) this.air.medium.setLink(l.a, l.b, { pathLossDb: l.pathLossDb, lossProbability: rate });
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.radios.values()].map((r) => r.close()));
    this.air.close();
  }

  #radio(node: string): RNodeEmulator {
    const r = this.radios.get(node);
    if (r === undefined) throw new Error(`node ${node} has no emulated radio`);
    return r;
  }
}
