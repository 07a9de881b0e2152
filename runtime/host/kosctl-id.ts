// kosctl id: the operator's identity tool, covering what the reference's rnid does offline.
// Each subcommand lives in runtime/host/id/ and parses its own options; see README-kosctl-id.md.
import { CliError } from "./cli.js";
import { decryptCommand, encryptCommand, signCommand, verifyCommand } from "./id/crypto-commands.js";
import { exportCommand, hashCommand, importCommand, newCommand, showCommand } from "./id/key-commands.js";

const HELP = `usage: kosctl id <command> [options]

Identities are Reticulum identities: a 64-byte private key (X25519 || Ed25519 seed), stored raw in an
identity file exactly as rnid and rnsd store them, so files move between kos-edge and Reticulum as-is.

commands:
  new       generate an identity and write its file (mode 0600)
  show      print an identity's hash and public key
  export    print the private or public key as hex, base32 or base64
  import    write an identity file (or public key file) from exported key text
  sign      sign a message with Ed25519; prints the signature in hex
  verify    check a signature; exit 0 when valid, 1 when not
  encrypt   encrypt data to an identity (or one of its ratchets), as rnid -e
  decrypt   decrypt data encrypted to an identity, as rnid -d
  hash      name hash and destination hash of APP.ASPECT for an identity, or PLAIN

An identity is given as --identity FILE (raw 64-byte private key) or --private-hex HEX; where a public
key suffices, also as --public-hex HEX or --public-file FILE (64 raw bytes).
Exit codes: 0 success; 1 the operation failed (missing or bad file, invalid signature, decryption failed,
output exists); 2 the command line is wrong (unknown or missing option, conflicting options, bad hex).

Run "kosctl id <command> --help" for a command's options.
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  new: newCommand,
  show: showCommand,
  export: exportCommand,
  import: importCommand,
  sign: signCommand,
  verify: verifyCommand,
  encrypt: encryptCommand,
  decrypt: decryptCommand,
  hash: hashCommand,
};

export async function idCommand(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(HELP);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) throw new CliError(`unknown id command "${name.slice(0, 40)}" (see kosctl id --help)`, 2);
  return command(rest);
}
