// `npm run bench`: prints kos-edge's figures and, where the reference (RNS) can run here, its figures from
// the same run and the ratio. `--json FILE` also writes the figures as JSON; `--only NAME` filters groups.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { formatRate, type Figure } from "./measure.js";
import { findReference } from "./reference.js";
import { benchLink } from "./link.bench.js";
import { benchLog } from "./log.bench.js";
import { benchLogSync } from "./log-sync.bench.js";
import { benchRadio } from "./radio.bench.js";
import { benchQuorum } from "./quorum.bench.js";
import { benchSim } from "./sim.bench.js";
import { benchE2e } from "./mesh-e2e.bench.js";
import { benchResource } from "./resource.bench.js";
import { benchStartup } from "./startup.bench.js";
import { benchTransport } from "./transport.bench.js";
import { benchWire, makeWireInput } from "./wire.bench.js";

const root = process.env["KOS_REPO_ROOT"] ?? process.cwd();
const argv = process.argv.slice(2);
const jsonOut = argv.includes("--json") ? argv[argv.indexOf("--json") + 1] : undefined;
const only = argv.includes("--only") ? argv[argv.indexOf("--only") + 1] : undefined;
const GROUPS = ["wire", "framing", "startup", "link", "resource", "transport", "e2e", "radio", "sim", "log", "logsync", "quorum"];
if (only !== undefined && !only.split(",").every((g) => GROUPS.includes(g))) {
  process.stderr.write(`--only takes one or more of ${GROUPS.join(", ")} (comma separated), got "${only}"\n`);
  process.exit(2);
}
const want = (group: string): boolean => only === undefined || only.split(",").includes(group);

const load = (): string => os.loadavg().map((x) => x.toFixed(2)).join(" ");

function print(group: string, figures: Figure[]): void {
  process.stdout.write(`\n## ${group}  [load average after: ${load()}]\n`);
  process.stdout.write(`${"benchmark".padEnd(46)} ${"kos-edge".padStart(12)} ${"reference".padStart(12)} ${"ratio".padStart(8)}\n`);
  for (const f of figures) {
    const ours = f.opsPerSec ?? f.value ?? NaN;
    const unit = f.opsPerSec !== undefined ? "/s" : ` ${f.unit ?? ""}`;
    const fmt = (x: number): string => (f.opsPerSec !== undefined ? formatRate(x) : x.toFixed(x < 10 ? 2 : 0)) + unit;
    const ref = f.reference !== undefined ? fmt(f.reference) : "-";
    const better = f.higherIsBetter ?? f.opsPerSec !== undefined;
    const ratio = f.reference !== undefined ? `${(better ? ours / f.reference : f.reference / ours).toFixed(2)}x` : "-";
    process.stdout.write(`${f.name.padEnd(46)} ${fmt(ours).padStart(12)} ${ref.padStart(12)} ${ratio.padStart(8)}${f.note ? `  (${f.note})` : ""}\n`);
  }
}

async function main(): Promise<void> {
  const reference = findReference();
  process.stdout.write(`kos-edge benchmarks on node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? "?"}), load average ${load()}\n`);
  process.stdout.write(
    reference.available
      ? `reference: RNS ${reference.version}, crypto backend ${reference.backend}; ratio = how many times better kos-edge is\n`
      : `reference: not run (${reference.reason})\n`,
  );
  const all: Record<string, Figure[]> = {};

  if (want("wire")) {
    const input = makeWireInput();
    const figures = await benchWire(input);
    if (reference.available) {
      const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kos-bench-"));
      const file = path.join(tmp, "input.json");
      fs.writeFileSync(file, JSON.stringify(input));
      const r = spawnSync("python3", [path.join(root, "test", "bench", "reference_bench.py"), file], {
        env: reference.env,
        encoding: "utf8",
        timeout: 300_000,
      });
      fs.rmSync(tmp, { recursive: true, force: true });
      if (r.status === 0) {
        const ref = JSON.parse(r.stdout) as Record<string, number>;
        for (const f of figures) {
          const key = f.name.replace(/, pipelined\)$/, ")");
          if (typeof ref[key] === "number") f.reference = ref[key]!;
        }
      } else {
        process.stdout.write(`reference wire benchmark failed: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}\n`);
      }
    }
    print("packet layer (ops/s)", figures);
    all["wire"] = figures;
  }

  if (want("framing")) {
    try {
      const mod = (await import("./framing.bench.js")) as { benchFraming(): Promise<Array<{ name: string; opsPerSec: number; mbPerSec?: number }>> };
      const figures: Figure[] = (await mod.benchFraming()).map((f) => ({
        name: f.name,
        opsPerSec: f.opsPerSec,
        ...(f.mbPerSec !== undefined ? { note: `${f.mbPerSec.toFixed(0)} MB/s` } : {}),
      }));
      print("framing (frames/s)", figures);
      all["framing"] = figures;
    } catch (e) {
      process.stdout.write(`framing benchmark unavailable: ${(e as Error).message}\n`);
    }
  }

  if (want("startup")) {
    const figures = await benchStartup(root, reference);
    print("daemon", figures);
    all["startup"] = figures;
  }

  const mesh = { root, reference };
  if (want("link")) {
    const figures = await benchLink(mesh);
    print("links, in-process machines (both implementations in one process each)", figures);
    all["link"] = figures;
  }

  if (want("resource")) {
    const figures = await benchResource(mesh);
    print("resources, in-process machines", figures);
    all["resource"] = figures;
  }

  if (want("transport")) {
    const figures = await benchTransport(mesh);
    print("transport relay, in-process machine (real Transport.inbound on the reference side)", figures);
    all["transport"] = figures;
  }

  if (want("e2e")) {
    const figures = await benchE2e(mesh);
    print("end to end: two daemons over loopback TCP (kosd + kosctl vs rnsd + rncp/rnprobe)", figures);
    all["e2e"] = figures;
  }

  if (want("radio")) {
    const figures = await benchRadio();
    print("radios: emulated RNode on a pseudo-terminal, airtime per modem preset", figures);
    all["radio"] = figures;
  }

  if (want("sim")) {
    const figures = await benchSim();
    print("deterministic simulator (simulated node-seconds per wall second)", figures);
    all["sim"] = figures;
  }

  if (want("log")) {
    const figures = await benchLog();
    print("action log: durable appends (group-committed fdatasync)", figures);
    all["log"] = figures;
  }

  if (want("logsync")) {
    const figures = await benchLogSync();
    print("action log sync over emulated LoRa", figures);
    all["logsync"] = figures;
  }

  if (want("quorum")) {
    const figures = await benchQuorum();
    print("local quorum over emulated SF7 LoRa (simulator, virtual time)", figures);
    all["quorum"] = figures;
  }

  if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ node: process.version, reference: reference.available ? reference.version : null, figures: all }, null, 2));
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
