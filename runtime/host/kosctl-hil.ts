// kosctl hil: runs a scenario (hil/scenarios/README.md) locally, without kosd — on the simulator (default),
// on kosd processes with emulated radios, or on the real radios of a rig file — and reports each assertion.
// Exit status: 0 passed (or pending: the rig's radios are not attached), 1 an assertion failed, 2 a bad
// scenario, rig file or option. A failure prints the seed, so `--seed N` replays the same run.
import * as fs from "node:fs";
import { CliError, flagString, parseArgs } from "./cli.js";
import { formatIssues, parseScenario } from "../../hil/scenarios/schema.js";
import type { RunSummary, Scenario } from "../../hil/scenarios/types.js";
import { runScenarioSim } from "../../hil/sim/run-scenario.js";
import { runEmulated } from "../../hil/rig/run-emulated.js";
import { parseRig } from "../../hil/rig/rig-file.js";
import { runRig, unmappedNodes } from "../../hil/rig/run-rig.js";

const USAGE = `usage: kosctl hil run SCENARIO [--sim | --emulated | --rig RIGFILE] [--seed N] [--json] [--trace FILE] [--kosd PATH]

Runs a scenario file and checks its assertions (see hil/scenarios/README.md).
  --sim           on the simulator: every node an engine in this process, virtual time (default)
  --emulated      one kosd per node on emulated RNode radios (needs socat and the kosd bundle); real time
  --rig RIGFILE   one kosd per node on the real radios the rig file names (hil/rig/README.md); when they
                  are not attached every assertion is reported as pending and the exit status is 0
  --seed N        seed of the run (default: the scenario's); a failed run prints it for replaying
  --json          print the summary as JSON
  --trace FILE    write the event trace to FILE (--sim: every event; --emulated: packets on air)
  --kosd PATH     kosd bundle for --emulated/--rig (default: beside this kosctl, else dist/kosd.cjs)
`;

export async function hilCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h" || sub === "help") {
    process.stdout.write(USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== "run") throw new CliError(`unknown hil command "${sub}" (kosctl hil run SCENARIO ...)`, 2);
  const args = parseArgs(rest, ["sim", "emulated", "rig", "seed", "json", "trace", "kosd", "help", "h"], ["sim", "emulated", "json", "help", "h"]);
  if (args.flags.has("help") || args.flags.has("h")) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.positionals.length !== 1) throw new CliError("give one scenario file (kosctl hil run SCENARIO)", 2);
  const modes = ["sim", "emulated", "rig"].filter((m) => args.flags.has(m));
  if (modes.length > 1) throw new CliError("choose one of --sim, --emulated, --rig", 2);
  const mode = modes[0] ?? "sim";
  if (mode === "rig" && args.flags.has("trace")) throw new CliError("--trace is for --sim and --emulated runs", 2);
  if (mode === "sim" && args.flags.has("kosd")) throw new CliError("--kosd is for --emulated and --rig runs", 2);
  const seed = seedArg(flagString(args, "seed"));
  const scenario = readScenario(args.positionals[0]!);
  const kosd = flagString(args, "kosd");
  const json = args.flags.has("json");
  const log = json ? undefined : (line: string): void => void process.stderr.write(`  ${line}\n`);

  let summary: RunSummary;
  if (mode === "sim") {
    const traceFile = flagString(args, "trace");
    const run = runScenarioSim(scenario, { ...(seed !== undefined ? { seed } : {}), trace: traceFile !== undefined ? "full" : "hash" });
    if (traceFile !== undefined) fs.writeFileSync(traceFile, run.sim.trace.text());
    summary = run.summary;
  } else if (mode === "emulated") {
    const traceFile = flagString(args, "trace");
    const lines: string[] = [];
    const trace = traceFile !== undefined ? (line: string): void => void lines.push(line) : undefined;
    summary = await runProcess(() => runEmulated(scenario, { ...(seed !== undefined ? { seed } : {}), ...(kosd !== undefined ? { kosd } : {}), ...(log ? { log } : {}), ...(trace ? { trace } : {}) }));
    if (traceFile !== undefined) fs.writeFileSync(traceFile, lines.map((l) => l + "\n").join(""));
  } else {
    const rigFile = flagString(args, "rig")!;
    let text: string;
    try {
      text = fs.readFileSync(rigFile, "utf8");
    } catch (e) {
      throw new CliError(`cannot read rig file ${rigFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 2);
    }
    const rig = parseRig(text, rigFile);
    if (!rig.ok) throw new CliError(`rig file ${rigFile} is not valid:\n${formatIssues(rig.issues)}`, 2);
    const missing = unmappedNodes(scenario, rig.rig);
    if (missing.length > 0) throw new CliError(`rig ${rigFile} names no radio for node${missing.length === 1 ? "" : "s"} ${missing.join(", ")} of ${scenario.file}`, 2);
    summary = await runProcess(() => runRig(scenario, rig.rig, { ...(seed !== undefined ? { seed } : {}), ...(kosd !== undefined ? { kosd } : {}), ...(log ? { log } : {}) }));
  }

  process.stdout.write(json ? JSON.stringify(summary, null, 2) + "\n" : report(summary));
  if (summary.status === "failed") {
    process.stderr.write(`kosctl hil: ${summary.scenario} failed with seed ${summary.seed}; replay: kosctl hil run ${summary.file} --${summary.mode === "rig" ? "rig RIGFILE" : summary.mode} --seed ${summary.seed}\n`);
    return 1;
  }
  if (summary.status === "pending") process.stderr.write(`kosctl hil: ${summary.message ?? "pending"}\n`);
  return 0;
}

function seedArg(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 2 ** 32 - 1) throw new CliError(`--seed must be a whole number from 0 to ${2 ** 32 - 1}, got "${text}"`, 2);
  return n;
}

function readScenario(file: string): Scenario {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new CliError(`cannot read scenario ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 2);
  }
  const r = parseScenario(text, file);
  if (!r.ok) {
    // Every problem, one per line (CliError prints only its first line).
    process.stderr.write(formatIssues(r.issues) + "\n");
    throw new CliError(`scenario ${file} is not valid (${r.issues.length} problem${r.issues.length === 1 ? "" : "s"} above)`, 2);
  }
  return r.scenario;
}

async function runProcess(fn: () => Promise<RunSummary>): Promise<RunSummary> {
  try {
    return await fn();
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

const MARK: Record<string, string> = { passed: "PASS", failed: "FAIL", pending: "PENDING", unsupported: "UNSUPPORTED" };

function report(s: RunSummary): string {
  let t = `scenario ${s.scenario} (${s.file}), mode ${s.mode}, seed ${s.seed}\n`;
  for (const a of s.assertions) {
    t += `  ${MARK[a.status]!.padEnd(11)} ${a.name}${a.atS !== null && a.status === "passed" ? ` (at ${a.atS} s)` : ""}\n`;
    if (a.detail !== "" && a.status !== "passed") t += a.detail.split("\n").map((l) => `              ${l}\n`).join("");
  }
  for (const u of s.unsupported) t += `  UNSUPPORTED ${u}\n`;
  if (s.message !== null) t += `  note: ${s.message}\n`;
  const st = s.stats;
  if (s.mode === "sim") {
    t += `  ${st["nodes"]} nodes, ${st["virtualS"]} s of virtual time in ${st["wallMs"]} ms (${st["nodeSecondsPerWallSecond"]} node-s per wall s), ${st["framesOnAir"]} frames on air, ${st["events"]} events, trace ${String(st["traceSha256"]).slice(0, 16)}\n`;
  }
  const passed = s.assertions.filter((a) => a.status === "passed").length;
  t += `result: ${s.status} (${passed} of ${s.assertions.length} assertions passed)\n`;
  return t;
}
