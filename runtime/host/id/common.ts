// Shared pieces of `kosctl id`: option parsing per subcommand, hex/base32/base64 key text, and turning
// --identity / --private-hex / --public-hex / --public-file into an Identity.
//
// Exit codes: 2 when the command line itself is wrong (unknown or missing option, conflicting options,
// an option value that is not hex or has the wrong length); 1 when the operation fails (a file is
// missing, unreadable or malformed, a signature is invalid, a token does not decrypt, an output exists).
import * as fs from "node:fs";
import { parseBase32, parseBase64, parseHex, toBase32, toBase64, toHex, view, type Bytes } from "../../core/bytes.js";
import { PRIVATE_KEY_LENGTH, PUBLIC_KEY_LENGTH } from "../../core/limits.js";
import { Identity } from "../../crypto/identity.js";
import { CliError, flagString, parseArgs, type ParsedArgs } from "../cli.js";

export type KeyFormat = "hex" | "base32" | "base64";
export const KEY_FORMATS: readonly KeyFormat[] = ["hex", "base32", "base64"];

/** Options that name an identity holding a private key. */
export const PRIVATE_SOURCES = ["identity", "private-hex"] as const;
/** Options that name an identity by its public key only. */
export const PUBLIC_SOURCES = ["public-hex", "public-file"] as const;
export const ALL_SOURCES = [...PRIVATE_SOURCES, ...PUBLIC_SOURCES] as const;

/**
 * Parses a subcommand's options; prints `help` and returns null on --help/-h.
 * `values` are options taking a value, `booleans` flags without one.
 */
export function parseSub(argv: readonly string[], help: string, values: readonly string[], booleans: readonly string[]): ParsedArgs | null {
  const bools = [...booleans, "help", "h"];
  const args = parseArgs(argv, [...values, ...bools], bools);
  if (args.flags.has("help") || args.flags.has("h")) {
    process.stdout.write(help);
    return null;
  }
  return args;
}

/** Refuses positional arguments beyond `max`. */
export function maxPositionals(args: ParsedArgs, max: number): void {
  if (args.positionals.length > max) throw new CliError(`unexpected argument "${clip(args.positionals[max]!)}"`, 2);
}

/** Which of `names` was given: at most one; with `required`, exactly one. */
export function oneOf(args: ParsedArgs, names: readonly string[], required: boolean, what?: string): string | undefined {
  const given = names.filter((n) => args.flags.has(n));
  const list = names.map((n) => `--${n}`).join(", ");
  if (given.length > 1) throw new CliError(`give only one of ${list}`, 2);
  if (given.length === 0 && required) throw new CliError(`${what ?? "missing option"}: give one of ${list}`, 2);
  return given[0];
}

/** Hex from the command line: surrounding whitespace and the reference's <...> brackets are tolerated. */
export function hexValue(text: string, length: number, what: string, exitCode: 1 | 2 = 2): Bytes {
  const clean = text.trim().replace(/^<(.*)>$/, "$1");
  const b = parseHex(clean);
  if (b === null) throw new CliError(`${what} is not hex`, exitCode);
  if (b.length !== length) {
    throw new CliError(`${what} must be ${length} bytes (${length * 2} hex digits), got ${b.length} bytes`, exitCode);
  }
  return b;
}

/** A hex option of a fixed length, or undefined when absent. */
export function hexOption(args: ParsedArgs, name: string, length: number): Bytes | undefined {
  const v = args.flags.get(name);
  if (v === undefined) return undefined;
  if (v === true) throw new CliError(`option --${name} needs a value`, 2);
  return hexValue(v, length, `--${name}`);
}

export function formatOption(args: ParsedArgs, allowAuto: boolean): KeyFormat | "auto" {
  const v = flagString(args, "format");
  if (v === undefined) return allowAuto ? "auto" : "hex";
  const f = v.toLowerCase();
  if ((KEY_FORMATS as readonly string[]).includes(f)) return f as KeyFormat;
  if (allowAuto && f === "auto") return "auto";
  throw new CliError(`unknown format "${clip(v)}": use ${KEY_FORMATS.join(", ")}${allowAuto ? " or auto" : ""}`, 2);
}

/** Encodes key bytes as rnid prints them: lower-case hex, RFC 4648 base32, URL-safe base64 with padding. */
export function encodeKey(key: Bytes, format: KeyFormat): string {
  switch (format) {
    case "hex":
      return toHex(key);
    case "base32":
      return toBase32(key);
    case "base64":
      return toBase64(key).replace(/\+/g, "-").replace(/\//g, "_");
  }
}

/**
 * Decodes exported key text of `length` bytes. "auto" tries hex, base32 and base64 in turn, as rnid's
 * import does; the encodings of a 64-byte key differ in length (128, 104, 88 characters), so at most one fits.
 */
export function decodeKey(text: string, format: KeyFormat | "auto", length: number, what: string, exitCode: 1 | 2): Bytes {
  const clean = text.trim();
  if (clean.length === 0) throw new CliError(`${what} is empty`, exitCode);
  const decoders: Record<KeyFormat, (t: string) => Bytes | null> = {
    hex: (t) => parseHex(t.replace(/^<(.*)>$/, "$1")),
    base32: parseBase32,
    base64: parseBase64,
  };
  if (format === "auto") {
    for (const f of KEY_FORMATS) {
      const b = decoders[f](clean);
      if (b !== null && b.length === length) return b;
    }
    throw new CliError(`${what} does not decode to a ${length}-byte key as hex, base32 or base64`, exitCode);
  }
  const b = decoders[format](clean);
  if (b === null) throw new CliError(`${what} is not valid ${format}`, exitCode);
  if (b.length !== length) throw new CliError(`${what} decodes to ${b.length} bytes, expected a ${length}-byte key`, exitCode);
  return b;
}

/** Reads a whole file, mapping failures to one operator-facing line (exit 1). */
export function readFileBytes(file: string, what = "file"): Bytes {
  try {
    return view(fs.readFileSync(file));
  } catch (e) {
    throw fileError(e, file, what);
  }
}

export function fileError(e: unknown, file: string, what = "file"): CliError {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
      return new CliError(`no such ${what}: ${file}`);
    case "EISDIR":
      return new CliError(`${what} ${file} is a directory`);
    case "EACCES":
    case "EPERM":
      return new CliError(`cannot read ${what} ${file}: permission denied`);
    default:
      return new CliError(`cannot read ${what} ${file}: ${code ?? (e as Error).message}`);
  }
}

function keyFile(file: string, length: number, what: string): Bytes {
  const data = readFileBytes(file, `${what} file`);
  if (data.length !== length) {
    throw new CliError(`${what} file ${file} holds ${data.length} bytes, expected ${length} raw bytes`);
  }
  return data;
}

/**
 * The identity named on the command line. `need` is "private" for operations that sign, decrypt or export
 * the private key; then public-key options are refused with a clear message.
 */
export function identityFrom(args: ParsedArgs, need: "private" | "public"): Identity {
  const source = oneOf(args, ALL_SOURCES, true, "no identity");
  if (need === "private" && (PUBLIC_SOURCES as readonly string[]).includes(source!)) {
    throw new CliError(`--${source} gives only a public key; this needs the private key (--identity or --private-hex)`, 2);
  }
  const value = flagString(args, source!)!;
  switch (source) {
    case "identity":
      return Identity.fromPrivateKey(keyFile(value, PRIVATE_KEY_LENGTH, "identity"));
    case "private-hex":
      return Identity.fromPrivateKey(hexValue(value, PRIVATE_KEY_LENGTH, "--private-hex"));
    case "public-hex":
      return Identity.fromPublicKey(hexValue(value, PUBLIC_KEY_LENGTH, "--public-hex"));
    default:
      return Identity.fromPublicKey(keyFile(value, PUBLIC_KEY_LENGTH, "public key"));
  }
}

/** Help text lines for the identity options. */
export const IDENTITY_HELP_PRIVATE = `  --identity FILE        identity file: the raw 64-byte private key (as rnid and kosd write it)
  --private-hex HEX       the private key as 128 hex digits`;
export const IDENTITY_HELP_PUBLIC = `${IDENTITY_HELP_PRIVATE}
  --public-hex HEX        a public key only, as 128 hex digits
  --public-file FILE      a public key file: 64 raw bytes (as rnid writes .pub files)`;

/** Keeps echoed operator input short (and keeps long key material out of error lines). */
export function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 16)}…` : s;
}

export function writeJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
