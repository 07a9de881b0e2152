// kosctl id new | show | export | import | hash: creating, inspecting and moving identities, and naming
// destinations. Identity files are the raw 64-byte private key, byte for byte what rnid/RNS write.
import { toHex, fromUtf8, type Bytes } from "../../core/bytes.js";
import { PRIVATE_KEY_LENGTH, PUBLIC_KEY_LENGTH, TRUNCATED_HASH_LENGTH } from "../../core/limits.js";
import { cryptoRandom } from "../../core/ports.js";
import { Identity } from "../../crypto/identity.js";
import { destinationHash, nameHash, splitName } from "../../wire/destination.js";
import { CliError, flagString } from "../cli.js";
import {
  ALL_SOURCES,
  IDENTITY_HELP_PUBLIC,
  clip,
  decodeKey,
  encodeKey,
  formatOption,
  hexValue,
  identityFrom,
  maxPositionals,
  oneOf,
  parseSub,
  writeJson,
} from "./common.js";
import { checkWritable, inputFrom, readAll, writeOutputFile } from "./io.js";

const NEW_HELP = `usage: kosctl id new [--out FILE [--force]] [--json]

Generates a new identity from the system's random source.
With --out, writes the raw 64-byte private key to FILE (mode 0600, atomically) and prints the identity
hash and public key; an existing FILE is never replaced unless --force is given.
Without --out nothing is written and the private key is printed (hex) along with the hash and public key.

options:
  --out FILE   write the identity file here
  --force      replace FILE if it exists
  --json       print {"identity_hash", "public_key", "file"} (and "private_key" without --out)
`;

export async function newCommand(argv: string[]): Promise<number> {
  const args = parseSub(argv, NEW_HELP, ["out"], ["force", "json"]);
  if (args === null) return 0;
  maxPositionals(args, 0);
  const out = flagString(args, "out");
  if (out === undefined && args.flags.has("force")) throw new CliError("--force only applies with --out", 2);
  if (out !== undefined) checkWritable(out, args.flags.has("force"));
  const id = Identity.generate(cryptoRandom);
  if (out !== undefined) await writeOutputFile(out, id.privateKey, { force: args.flags.has("force"), mode: 0o600 });
  if (args.flags.has("json")) {
    const o: Record<string, unknown> = { identity_hash: toHex(id.hash), public_key: toHex(id.publicKey), file: out ?? null };
    if (out === undefined) o["private_key"] = toHex(id.privateKey);
    writeJson(o);
  } else {
    let text = `identity hash: ${toHex(id.hash)}\npublic key:    ${toHex(id.publicKey)}\n`;
    text += out !== undefined ? `written to:    ${out}\n` : `private key:   ${toHex(id.privateKey)}\n`;
    process.stdout.write(text);
  }
  return 0;
}

const SHOW_HELP = `usage: kosctl id show (--identity FILE | --private-hex HEX | --public-hex HEX | --public-file FILE) [--json]

Prints the identity hash (SHA-256 of the public key, first 16 bytes) and the 64-byte public key
(X25519 public key || Ed25519 public key). The private key is never printed; see "kosctl id export".

options:
${IDENTITY_HELP_PUBLIC}
  --json                  print {"identity_hash", "public_key", "has_private_key"}
`;

export async function showCommand(argv: string[]): Promise<number> {
  const args = parseSub(argv, SHOW_HELP, [...ALL_SOURCES], ["json"]);
  if (args === null) return 0;
  maxPositionals(args, 0);
  const id = identityFrom(args, "public");
  if (args.flags.has("json")) {
    writeJson({ identity_hash: toHex(id.hash), public_key: toHex(id.publicKey), has_private_key: id.hasPrivateKey });
  } else {
    process.stdout.write(
      `identity hash: ${toHex(id.hash)}\npublic key:    ${toHex(id.publicKey)}\nprivate key:   ${id.hasPrivateKey ? "held" : "not held"}\n`,
    );
  }
  return 0;
}

const EXPORT_HELP = `usage: kosctl id export (--identity FILE | --private-hex HEX | --public-hex HEX | --public-file FILE)
                      [--public] [--format hex|base32|base64]

Prints the identity's private key (64 bytes), or with --public its public key (64 bytes), in one line.
Encodings are those rnid prints: lower-case hex (default), RFC 4648 base32 (upper case, padded) and
URL-safe base64 (padded). "kosctl id import" and rnid -m/-M read all three.

options:
${IDENTITY_HELP_PUBLIC}
  --public                export the public key instead of the private key
  --format FMT            hex (default), base32 or base64
`;

export async function exportCommand(argv: string[]): Promise<number> {
  const args = parseSub(argv, EXPORT_HELP, [...ALL_SOURCES, "format"], ["public"]);
  if (args === null) return 0;
  maxPositionals(args, 0);
  const format = formatOption(args, false) as "hex" | "base32" | "base64";
  const isPublic = args.flags.has("public");
  const id = identityFrom(args, isPublic ? "public" : "private");
  process.stdout.write(`${encodeKey(isPublic ? id.publicKey : id.privateKey, format)}\n`);
  return 0;
}

const IMPORT_HELP = `usage: kosctl id import (TEXT | --stdin) [--format auto|hex|base32|base64] [--public] --out FILE [--force] [--json]

Writes an identity file from an exported key: the raw 64-byte private key, mode 0600 (as rnid -M ... -w
and "kosctl id new" write them), or with --public a 64-byte public key file (as rnid writes .pub files),
usable with --public-file. An existing FILE is never replaced unless --force is given.
With the default --format auto, hex, base32 and base64 (standard or URL-safe) are all recognised.
A base64 key that begins with "-" is taken as TEXT, not as an option; "--" before TEXT also works.

options:
  --stdin      read the key text from stdin instead of the command line
  --format FMT auto (default), hex, base32 or base64
  --public     the text is a public key
  --out FILE   the file to write (required)
  --force      replace FILE if it exists
  --json       print {"identity_hash", "public_key", "file", "has_private_key"}
`;

export async function importCommand(argv: string[]): Promise<number> {
  // URL-safe base64 may begin with "-": a long token in the base64 alphabet that names no option is key text.
  const values = ["format", "out"];
  const booleans = ["stdin", "public", "force", "json"];
  const known = [...values, ...booleans, "help", "h"];
  const keyTexts: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    const name = a.split("=")[0]!.replace(/^--?/, "");
    if (a.startsWith("-") && a.length >= 64 && !known.includes(name) && /^[A-Za-z0-9_+/=-]+$/.test(a)) keyTexts.push(a);
    else rest.push(a);
    if (a.startsWith("-") && values.includes(name) && !a.includes("=") && i + 1 < argv.length) rest.push(argv[++i]!);
  }
  const args = parseSub(rest, IMPORT_HELP, values, booleans);
  if (args === null) return 0;
  args.positionals.unshift(...keyTexts);
  const fromStdin = args.flags.has("stdin");
  if (args.positionals.length === 0 && !fromStdin) throw new CliError("no key: give the key TEXT or --stdin", 2);
  if (args.positionals.length > 0 && fromStdin) throw new CliError("give either the key TEXT or --stdin, not both", 2);
  maxPositionals(args, 1);
  const format = formatOption(args, true);
  const out = flagString(args, "out");
  if (out === undefined) throw new CliError("missing option --out FILE (where to write the identity)", 2);
  const force = args.flags.has("force");
  checkWritable(out, force);
  const isPublic = args.flags.has("public");
  const length = isPublic ? PUBLIC_KEY_LENGTH : PRIVATE_KEY_LENGTH;
  const what = `${isPublic ? "public" : "private"} key ${fromStdin ? "on stdin" : "text"}`;
  const text = fromStdin ? fromUtf8(await readAll(inputFrom(args))) : args.positionals[0]!;
  const key = decodeKey(text, format, length, what, fromStdin ? 1 : 2);
  const id = isPublic ? Identity.fromPublicKey(key) : Identity.fromPrivateKey(key);
  await writeOutputFile(out, key, { force, mode: isPublic ? 0o644 : 0o600 });
  if (args.flags.has("json")) {
    writeJson({ identity_hash: toHex(id.hash), public_key: toHex(id.publicKey), file: out, has_private_key: !isPublic });
  } else {
    process.stdout.write(`identity hash: ${toHex(id.hash)}\nwritten to:    ${out} (${isPublic ? "public key" : "private key"})\n`);
  }
  return 0;
}

const HASH_HELP = `usage: kosctl id hash APP.ASPECT[.ASPECT...]
                    (--identity FILE | --private-hex HEX | --public-hex HEX | --public-file FILE
                     | --identity-hash HEX | --plain) [--json]

Prints the name hash (SHA-256 of the name, first 10 bytes) and the destination hash: for a SINGLE
destination of the identity, SHA-256(name hash || identity hash) truncated to 16 bytes; with --plain,
the PLAIN destination of that name, SHA-256(name hash) truncated to 16 bytes.

options:
${IDENTITY_HELP_PUBLIC}
  --identity-hash HEX     the identity's 16-byte hash (32 hex digits) instead of its keys
  --plain                 a PLAIN destination: no identity
  --json                  print {"name", "type", "identity_hash", "name_hash", "destination_hash"}
`;

export async function hashCommand(argv: string[]): Promise<number> {
  const args = parseSub(argv, HASH_HELP, [...ALL_SOURCES, "identity-hash"], ["plain", "json"]);
  if (args === null) return 0;
  if (args.positionals.length === 0) throw new CliError("missing destination name (for example lxmf.delivery)", 2);
  maxPositionals(args, 1);
  const name = args.positionals[0]!;
  const source = oneOf(args, [...ALL_SOURCES, "identity-hash", "plain"], true, "no identity");
  let identityHash: Bytes | null = null;
  if (source === "identity-hash") {
    identityHash = hexValue(flagString(args, "identity-hash")!, TRUNCATED_HASH_LENGTH, "--identity-hash");
  } else if (source !== "plain") {
    identityHash = identityFrom(args, "public").hash;
  }
  let nh: Bytes;
  try {
    const { appName, aspects } = splitName(name);
    nh = nameHash(appName, aspects);
  } catch (e) {
    throw new CliError(`bad destination name "${clip(name)}": ${(e as Error).message}`, 2);
  }
  const dh = destinationHash(nh, identityHash);
  if (args.flags.has("json")) {
    writeJson({
      name,
      type: identityHash === null ? "plain" : "single",
      identity_hash: identityHash === null ? null : toHex(identityHash),
      name_hash: toHex(nh),
      destination_hash: toHex(dh),
    });
  } else {
    const kind = identityHash === null ? "PLAIN" : `SINGLE, identity ${toHex(identityHash)}`;
    process.stdout.write(`name:             ${name}\nname hash:        ${toHex(nh)}\ndestination hash: ${toHex(dh)} (${kind})\n`);
  }
  return 0;
}
