// Runs N emulated RNodes on one radio medium, for manual tests (e.g. with the reference's RNodeInterface):
//   node .build/hil/rnode/cli.js --radios 2 --dir /tmp/rnodes [--board tbeam-supreme] [--path-loss 110]
//     [--loss 0] [--capture 6] [--seed 1] [--boot-ms 600] [--firmware 1.86] [--quiet]
// Prints each PTY path, then one line per packet on air and who received it. Commands on stdin:
//   unplug N | plug N | reset N | partition 0,1 2,3 | heal | link A B DB|none | status | quit
// Needs socat (Debian package "socat").
import * as fs from "node:fs";
import * as path from "node:path";
import { createInterface } from "node:readline";
import { Medium } from "../medium/medium.js";
import { RealtimeAir } from "./air.js";
import { EMULATED_BOARDS, type EmulatedBoardName } from "./boards.js";
import { RNodeEmulator } from "./emulator.js";

const USAGE = "usage: cli.js [--radios N] [--dir DIR] [--board " + Object.keys(EMULATED_BOARDS).join("|") + "] [--path-loss DB] [--loss P] [--capture DB] [--seed N] [--boot-ms MS] [--firmware MAJ.MIN] [--quiet]";

function parse(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quiet" || a === "--help") out[a.slice(2)] = "yes";
    else if (a.startsWith("--") && i + 1 < argv.length) out[a.slice(2)] = argv[++i]!;
    else throw new Error(`unexpected argument ${a}\n${USAGE}`);
  }
  return out;
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  if (args["help"] !== undefined) return void process.stdout.write(USAGE + "\n");
  const radios = Number(args["radios"] ?? 2);
  const dir = path.resolve(args["dir"] ?? "/tmp/kos-rnodes");
  const board = (args["board"] ?? "tbeam-supreme") as EmulatedBoardName;
  if (!(board in EMULATED_BOARDS)) throw new Error(`unknown board ${board}\n${USAGE}`);
  const fw = args["firmware"]?.split(".").map(Number) as [number, number] | undefined;
  fs.mkdirSync(dir, { recursive: true });
  const air = new RealtimeAir(new Medium({
    seed: Number(args["seed"] ?? 1),
    defaultPathLossDb: Number(args["path-loss"] ?? 120),
    lossProbability: Number(args["loss"] ?? 0),
    captureThresholdDb: args["capture"] !== undefined ? Number(args["capture"]) : null,
  }));
  const quiet = args["quiet"] !== undefined;
  const ids: string[] = [];
  air.observe((s) => {
    if (quiet) return;
    const t = s.transmission;
    const heard = s.outcomes.map((o) => (o.received ? `${o.radioId} ${o.rssiDbm.toFixed(0)} dBm/${o.snrDb.toFixed(1)} dB` : `${o.radioId} lost (${o.reason})`));
    process.stdout.write(`${(t.endMs / 1000).toFixed(3)} ${t.from} sent ${t.bytes.length} B in ${t.airtimeMs.toFixed(0)} ms: ${heard.join(", ") || "nobody listening"}\n`);
  });
  const emulators: RNodeEmulator[] = [];
  for (let i = 0; i < radios; i++) {
    const e = new RNodeEmulator({
      air, ptyPath: path.join(dir, `rnode${i}`), board,
      ...(args["boot-ms"] !== undefined ? { bootMs: Number(args["boot-ms"]) } : {}),
      ...(fw !== undefined ? { firmwareVersion: fw } : {}),
    });
    await e.plug();
    emulators.push(e);
    ids.push(e.radioId);
    process.stdout.write(`${e.radioId}: ${e.ptyPath}\n`);
  }
  const byIndex = (s: string | undefined): RNodeEmulator => {
    const e = emulators[Number(s)];
    if (e === undefined) throw new Error(`no radio ${s}`);
    return e;
  };
  let closing = false;
  const shutdown = async (): Promise<void> => {
    if (closing) return;
    closing = true;
    await Promise.all(emulators.map((e) => e.close()));
    air.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown());
  process.on("SIGTERM", () => void shutdown());
  const rl = createInterface({ input: process.stdin });
  rl.on("line", (line) => {
    const [word, ...rest] = line.trim().split(/\s+/);
    void (async () => {
      switch (word) {
        case "unplug": return byIndex(rest[0]).unplug();
        case "plug": return byIndex(rest[0]).plug();
        case "reset": return byIndex(rest[0]).reset();
        case "partition": return air.medium.partition(...rest.map((g) => g.split(",").map((i) => byIndex(i).radioId)));
        case "heal": return air.medium.heal();
        case "link": return air.medium.setLink(byIndex(rest[0]).radioId, byIndex(rest[1]).radioId, rest[2] === "none" ? null : { pathLossDb: Number(rest[2]) });
        case "status": return emulators.forEach((e) => process.stdout.write(`${e.radioId} ${e.plugged ? "plugged" : "unplugged"} ${JSON.stringify(e.firmware.snapshot())}\n`));
        case "quit": return shutdown();
        case "": case undefined: return;
        default: process.stdout.write(`unknown command ${word}\n`);
      }
    })().catch((e: Error) => process.stdout.write(`error: ${e.message}\n`));
  });
  rl.on("close", () => undefined);
}

main().catch((e: Error) => {
  process.stderr.write(`rnode emulator: ${e.message}\n`);
  process.exit(1);
});
