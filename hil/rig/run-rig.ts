// The rig runner: a scenario on real radios named in a rig file, one kosd per node. When none of the rig's
// radios is attached (or only some), nothing runs: every assertion is reported as "pending" with a message
// saying which radios were looked for, and the run is not a failure. With every radio attached it runs as the
// emulated runner does, minus what real radios cannot be told to do (unplug, partition, loss...: reported as
// unsupported in this mode).
import type { AssertionResult, RunSummary, Scenario } from "../scenarios/types.js";
import { runProcesses, type RadioBackend } from "./process-runner.js";
import { bundlePaths } from "./processes.js";
import { describeRadio, radioAttached, type Rig, type RigRadio } from "./rig-file.js";

export interface RigOptions {
  seed?: number;
  kosd?: string;
  log?: (line: string) => void;
  /** Decides whether a radio is attached (tests substitute their own). */
  attached?: (r: RigRadio) => boolean;
}

/** Nodes of the scenario with a LoRa radio that the rig does not name (a mistake in the rig file). */
export function unmappedNodes(scenario: Scenario, rig: Rig): string[] {
  return scenario.nodes.filter((n) => n.lora && !rig.radios.some((r) => r.node === n.name)).map((n) => n.name);
}

export async function runRig(scenario: Scenario, rig: Rig, o: RigOptions = {}): Promise<RunSummary> {
  const seed = o.seed ?? scenario.seed;
  const used = rig.radios.filter((r) => scenario.nodes.some((n) => n.name === r.node && n.lora));
  const isAttached = o.attached ?? radioAttached;
  const present = used.filter(isAttached);
  if (present.length < used.length || used.length === 0) {
    const missing = used.filter((r) => !present.includes(r));
    const message =
      present.length === 0
        ? `none of the radios of rig "${rig.name}" is attached (looked for ${used.map((r) => `${r.node}: ${describeRadio(r)}`).join(", ") || "no radio"}); nothing was run, every assertion is pending`
        : `${present.length} of ${used.length} radios of rig "${rig.name}" are attached; missing ${missing.map((r) => `${r.node}: ${describeRadio(r)}`).join(", ")}; nothing was run, every assertion is pending`;
    const assertions: AssertionResult[] = scenario.assertions.map((a) => ({ name: a.name, passed: false, status: "pending", detail: "not run: the rig's radios are not attached", atS: null }));
    return { scenario: scenario.name, file: scenario.file, seed, mode: "rig", passed: false, status: "pending", assertions, unsupported: [], message, stats: { radiosNamed: used.length, radiosAttached: present.length } };
  }
  const bundles = bundlePaths(o.kosd);
  const backend: RadioBackend = {
    mode: "rig",
    port: (node) => describeRadio(used.find((r) => r.node === node)!),
    extraOptions: (node) => {
      const r = used.find((x) => x.node === node)!;
      return `${r.board !== null ? `    board = ${r.board}\n` : ""}${rig.region !== null ? `    region = ${rig.region}\n` : ""}`;
    },
    close: async () => undefined,
  };
  return runProcesses(scenario, backend, { seed, kosd: bundles.kosd, kosctl: bundles.kosctl, ...(o.log ? { log: o.log } : {}) });
}
