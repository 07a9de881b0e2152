// kosd: the kos-edge daemon. Loads or creates the node identity in its data directory and runs until
// SIGINT/SIGTERM. Interfaces, transport, log and quorum attach here as they land.
import { toHex } from "../core/bytes.js";
import { cryptoRandom } from "../core/ports.js";
import { CliError, flagString, parseArgs, runMain } from "./cli.js";
import { defaultDataDir, loadOrCreateIdentity } from "./datadir.js";
import { createLogger, parseLogLevel } from "./logger.js";
import { VERSION } from "./version.js";

const HELP = `usage: kosd [options]

Runs a kos-edge node. With no options it uses embedded defaults: the data directory
below, a node identity created on first start, and no interfaces.

options:
  --data-dir DIR     data directory (default: $KOS_DATA_DIR, /var/lib/kos-edge as root,
                     else $XDG_DATA_HOME/kos-edge)
  --log-level LEVEL  error | warn | info | debug (default info)
  --log-json         one JSON object per log line
  --version          print the version and exit
  -h, --help         this text
`;

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["data-dir", "log-level", "log-json", "version", "help", "h"], ["log-json", "version", "help", "h"]);
  if (args.flags.has("help") || args.flags.has("h")) {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.flags.has("version")) {
    process.stdout.write(`kosd ${VERSION}\n`);
    return 0;
  }
  if (args.positionals.length > 0) throw new CliError(`unexpected argument "${args.positionals[0]}" (see --help)`, 2);
  const levelText = flagString(args, "log-level") ?? "info";
  const level = parseLogLevel(levelText);
  if (level === null) throw new CliError(`bad --log-level "${levelText}": use error, warn, info or debug`, 2);
  const log = createLogger({ level, json: args.flags.has("log-json") });

  const startedAt = process.hrtime.bigint();
  const dataDir = flagString(args, "data-dir") ?? defaultDataDir();
  const { identity, created, file } = loadOrCreateIdentity(dataDir, cryptoRandom);
  log.log("info", created ? "created node identity" : "loaded node identity", { file });

  // Signal handlers go in before the ready line: a supervisor may signal the moment it reads it.
  const stopped = new Promise<number>((resolve) => {
    // A timer keeps the event loop alive; it is also where periodic jobs will run.
    const tick = setInterval(() => undefined, 60_000);
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        // A second signal while shutting down: the operator insists.
        log.log("warn", "kosd forced to stop", { signal });
        process.exit(130);
      }
      stopping = true;
      clearInterval(tick);
      log.log("info", "kosd stopping", { signal });
      resolve(0);
    };
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
  });

  log.log("info", "kosd ready", { identity: toHex(identity.hash), startupMs: Number((process.hrtime.bigint() - startedAt) / 1_000_000n) });
  process.stdout.write(
    `kosd ${VERSION} node <${toHex(identity.hash)}> data ${dataDir}\n` +
      `no interfaces configured; running until SIGINT/SIGTERM\n`,
  );
  return await stopped;
}

void runMain("kosd", () => main(process.argv.slice(2)));
