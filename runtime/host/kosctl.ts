// kosctl: the operator's tool. One subcommand per concern; each parses its own options.
import { CliError, runMain } from "./cli.js";
import { hilCommand } from "./kosctl-hil.js";
import { idCommand } from "./kosctl-id.js";
import { logCommand } from "./kosctl-log.js";
import { portsCommand } from "./kosctl-ports.js";
import { announceCommand, cpCommand, pathCommand, probeCommand, statusCommand } from "./kosctl-net.js";
import { voteCommand } from "./kosctl-vote.js";
import { VERSION } from "./version.js";

const HELP = `usage: kosctl <command> [options]

commands:
  status    interfaces, traffic, drops, paths and links of the running kosd (like rnstatus)
  path      resolve, list or drop paths (like rnpath)
  probe     probe a destination and time the proof (like rnprobe)
  cp        send, fetch or receive files (compatible with rncp)
  announce  announce the running kosd's destinations now
  log       the action log: append, list, tail, show, verify, export/import bundles, status
  vote      local quorum: memberships, propose, list, show, cast, watch, verify certificates
  id        identities: generate, show, import/export, sign/verify, encrypt/decrypt, hash names
  ports     list serial ports (where RNode radios show up)
  hil       run a scenario on the simulator, emulated radios or a rig (kosctl hil run SCENARIO)
  version   print the version

Run "kosctl <command> --help" for a command's options.
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  id: idCommand,
  status: statusCommand,
  path: pathCommand,
  probe: probeCommand,
  cp: cpCommand,
  announce: announceCommand,
  log: logCommand,
  vote: voteCommand,
  ports: portsCommand,
  hil: hilCommand,
  version: async () => {
    process.stdout.write(`kosctl ${VERSION}\n`);
    return 0;
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version") return COMMANDS["version"]!([]);
  const command = COMMANDS[name];
  if (command === undefined) throw new CliError(`unknown command "${name}" (see kosctl --help)`, 2);
  return command(rest);
}

void runMain("kosctl", () => main(process.argv.slice(2)));
