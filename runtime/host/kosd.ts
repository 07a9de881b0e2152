// kosd: the kos-edge daemon. Loads its config (or runs on embedded defaults), loads or creates the node
// identity in its data directory, starts its interfaces and control socket, and runs until SIGINT/SIGTERM.
import * as fs from "node:fs";
import * as path from "node:path";
import { toHex } from "../core/bytes.js";
import { cryptoRandom } from "../core/ports.js";
import { CliError, flagString, parseArgs, runMain } from "./cli.js";
import { exampleConfig } from "./config/example.js";
import { formatIssue, loadConfig, type ConfigOverrides } from "./config/load.js";
import { ControlServer } from "./control.js";
import { registerCp } from "./cp.js";
import { registerLog } from "./log-ops.js";
import { LogSyncService } from "./log-sync.js";
import { MqttBridge, registerMqtt } from "./mqtt-bridge.js";
import { loadOrCreateIdentity } from "./datadir.js";
import { createLogger, parseLogLevel } from "./logger.js";
import { KosNode } from "./node.js";
import { registerOps } from "./ops.js";
import { registerQuorum, type QuorumState } from "./quorum-ops.js";
import { QuorumService } from "./quorum-service.js";
import { VoteJournal, VoteJournalError } from "./vote-journal.js";
import { VERSION } from "./version.js";

const SYSTEM_CONFIG = "/etc/kos-edge/kosd.conf";

const HELP = `usage: kosd [options]

Runs a kos-edge node. With no config file it uses embedded defaults: the data directory
below, a node identity created on first start, and no interfaces.

options:
  --config FILE            config file (default: $KOS_CONFIG, else ${SYSTEM_CONFIG} if it exists)
  --example-config         print a commented example config and exit
  --check-config           validate the config, print problems, and exit
  --reticulum-config FILE  also use the [interfaces] of a Reticulum config file
  --data-dir DIR           data directory (default: $KOS_DATA_DIR, /var/lib/kos-edge as root,
                           else $XDG_DATA_HOME/kos-edge)
  --log-level LEVEL        error | warn | info | debug (default info)
  --log-json               one JSON object per log line
  --version                print the version and exit
  -h, --help               this text
`;

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(
    argv,
    ["config", "example-config", "check-config", "reticulum-config", "data-dir", "log-level", "log-json", "version", "help", "h"],
    ["example-config", "check-config", "log-json", "version", "help", "h"],
  );
  if (args.flags.has("help") || args.flags.has("h")) {
    process.stdout.write(HELP);
    return 0;
  }
  if (args.flags.has("version")) {
    process.stdout.write(`kosd ${VERSION}\n`);
    return 0;
  }
  if (args.flags.has("example-config")) {
    process.stdout.write(exampleConfig());
    return 0;
  }
  if (args.positionals.length > 0) throw new CliError(`unexpected argument "${args.positionals[0]}" (see --help)`, 2);

  const overrides: ConfigOverrides = {};
  const dataDir = flagString(args, "data-dir");
  if (dataDir !== undefined) overrides.dataDir = dataDir;
  const levelText = flagString(args, "log-level");
  if (levelText !== undefined) {
    const level = parseLogLevel(levelText);
    if (level === null) throw new CliError(`bad --log-level "${levelText}": use error, warn, info or debug`, 2);
    overrides.logLevel = level;
  }
  if (args.flags.has("log-json")) overrides.logJson = true;
  const reticulumConfig = flagString(args, "reticulum-config");
  if (reticulumConfig !== undefined) overrides.reticulumConfig = reticulumConfig;

  const configFile = flagString(args, "config") ?? process.env["KOS_CONFIG"] ?? (fs.existsSync(SYSTEM_CONFIG) ? SYSTEM_CONFIG : null);
  const loaded = loadConfig(configFile, overrides);
  for (const w of loaded.warnings) process.stderr.write(`kosd: warning: ${formatIssue(w)}\n`);
  if (!loaded.ok) {
    for (const e of loaded.errors) process.stderr.write(`kosd: ${formatIssue(e)}\n`);
    return 1;
  }
  const config = loaded.config;
  if (args.flags.has("check-config")) {
    process.stdout.write(`${configFile ?? "embedded defaults"}: ok, ${config.interfaces.filter((i) => i.enabled).length} interface(s)\n`);
    return 0;
  }
  const log = createLogger({ level: config.log.level, json: config.log.json });

  const startedAt = process.hrtime.bigint();
  const { identity, created, file } = loadOrCreateIdentity(config.dataDir, cryptoRandom);
  log.log("info", created ? "created node identity" : "loaded node identity", { file });

  const node = new KosNode(config, identity, log);
  const control = new ControlServer(config.controlSocket);
  registerOps(control, node);
  registerCp(control, node);
  // The action-log bridge to headquarters ([mqtt]), fed once the log is open.
  const bridge = config.mqtt.enabled ? new MqttBridge({ config: config.mqtt, dataDir: config.dataDir, identityHash: identity.hash, log, random: cryptoRandom }) : null;
  let sync: LogSyncService | null = null;
  const logOpened = registerLog(control, node, { mqttStatus: () => bridge?.status() ?? null, syncStatus: () => sync?.status() ?? null, syncPeersEvicted: () => sync?.peersEvicted ?? 0 });
  registerMqtt(control, bridge);
  // Local quorum ([quorum]): needs the action log (memberships, certificates) and the vote journal.
  const quorum: QuorumState = { enabled: config.quorum.enabled, service: null, error: null };
  registerQuorum(control, node, quorum);
  try {
    await control.listen();
  } catch (e) {
    throw new CliError(`cannot open the control socket ${config.controlSocket}: ${(e as Error).message}`);
  }
  node.start();
  // Log sync with peers whose announced log hint differs (runtime/log/sync over links).
  void logOpened.then((store) => {
    if (store instanceof Error) return;
    const service = new LogSyncService(node, store);
    sync = service;
    service.start();
    store.onAppend(() => service.refresh());
  });
  if (bridge !== null) void logOpened.then((store) => bridge.start(store));
  if (config.quorum.enabled) {
    void logOpened.then(async (store) => {
      if (store instanceof Error) {
        quorum.error = `the action log is not available: ${store.message}`;
        return;
      }
      let journal: VoteJournal;
      try {
        journal = VoteJournal.open(path.join(config.dataDir, "quorum"), node.clock.nowMs());
      } catch (e) {
        // Never risk a second, different vote: without a readable journal quorum stays off.
        quorum.error = (e as Error).message;
        log.log("error", "quorum not started", { error: quorum.error });
        if (!(e instanceof VoteJournalError)) throw e;
        return;
      }
      if (journal.recovery.truncatedBytes > 0) log.log("warn", "vote journal: cut off a torn tail (a vote being written when kosd stopped; it was never sent)", { bytes: journal.recovery.truncatedBytes });
      const service = new QuorumService(node, store, config.quorum, journal, log);
      try {
        await service.start();
        quorum.service = service;
      } catch (e) {
        quorum.error = `quorum failed to start: ${(e as Error).message}`;
        log.log("error", "quorum not started", { error: quorum.error });
      }
    });
  }

  // Signal handlers go in before the ready line: a supervisor may signal the moment it reads it.
  const stopped = new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        log.log("warn", "kosd forced to stop", { signal });
        process.exit(130);
      }
      stopping = true;
      log.log("info", "kosd stopping", { signal });
      void Promise.allSettled([quorum.service?.stop(), node.stop(), control.close(), bridge?.stop()]).then(() => resolve(0));
    };
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
  });

  const interfaces = config.interfaces.filter((i) => i.enabled).length;
  log.log("info", "kosd ready", {
    identity: toHex(identity.hash),
    transport: config.enableTransport,
    interfaces,
    control: config.controlSocket,
    mqtt: config.mqtt.enabled ? config.mqtt.url : "off",
    quorum: config.quorum.enabled ? "on" : "off",
    startupMs: Number((process.hrtime.bigint() - startedAt) / 1_000_000n),
  });
  process.stdout.write(
    `kosd ${VERSION} node <${toHex(identity.hash)}> data ${config.dataDir}\n` +
      `${interfaces === 0 ? "no interfaces configured" : `${interfaces} interface(s)`}; running until SIGINT/SIGTERM\n`,
  );
  const code = await stopped;
  // Drivers may leave sockets in TIME_WAIT or timers behind on odd platforms: do not hang on exit.
  setTimeout(() => process.exit(code), 2000).unref();
  return code;
}

void runMain("kosd", () => main(process.argv.slice(2)));
