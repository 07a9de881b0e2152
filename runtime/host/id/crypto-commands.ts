// kosctl id sign | verify | encrypt | decrypt: Ed25519 signatures over raw message bytes, and encryption
// to an identity exactly as Identity.encrypt does it (ephemeral X25519 public key || token).
//
// Files are processed the way rnid processes them: plaintext in chunks of 16 MiB, each chunk encrypted
// on its own, so the output of "kosctl id encrypt" is an rnid .rfe file and rnid's .rfe files decrypt here.
// Signature files are the raw 64-byte signature, rnid's "legacy" .rsg format (rnid -s --raw writes it and
// rnid -V checks it against an explicit identity).
import { fromUtf8, toHex, type Bytes } from "../../core/bytes.js";
import { AES_BLOCK, RATCHET_LENGTH, SIGNATURE_LENGTH, TOKEN_OVERHEAD } from "../../core/limits.js";
import { cryptoRandom } from "../../core/ports.js";
import { CliError, flagString } from "../cli.js";
import { ALL_SOURCES, IDENTITY_HELP_PRIVATE, IDENTITY_HELP_PUBLIC, hexValue, hexOption, identityFrom, maxPositionals, oneOf, parseSub, readFileBytes } from "./common.js";
import { inputFrom, outputTo, readAll, readChunks, writeOutputFile, checkWritable, type Sink } from "./io.js";

/** rnid's chunking: 1 Mi AES blocks of plaintext per token; an encrypted chunk is 96 bytes longer. */
export const ENCRYPT_CHUNK = 1024 * 1024 * AES_BLOCK;
export const DECRYPT_CHUNK = ENCRYPT_CHUNK + 2 * TOKEN_OVERHEAD;

const SIGN_HELP = `usage: kosctl id sign (--identity FILE | --private-hex HEX) [--file FILE] [--out SIGFILE [--force]]

Signs the message (the bytes of --file, else all of stdin) with the identity's Ed25519 key and prints
the 64-byte signature in hex. With --out, also writes the raw 64-byte signature to SIGFILE: the format
rnid writes with "rnid -s --raw" and checks with "rnid -i IDENTITY -V FILE".

options:
${IDENTITY_HELP_PRIVATE}
  --file FILE             the message (default: stdin)
  --out SIGFILE           also write the raw signature here
  --force                 replace SIGFILE if it exists
`;

export async function signCommand(argv: string[]): Promise<number> {
  const args = parseSub(argv, SIGN_HELP, [...ALL_SOURCES, "file", "out"], ["force"]);
  if (args === null) return 0;
  maxPositionals(args, 0);
  const id = identityFrom(args, "private");
  const out = flagString(args, "out");
  const force = args.flags.has("force");
  if (out === undefined && force) throw new CliError("--force only applies with --out", 2);
  if (out !== undefined) checkWritable(out, force);
  const message = await readAll(inputFrom(args));
  const signature = id.sign(message);
  if (out !== undefined) await writeOutputFile(out, signature, { force, mode: 0o644 });
  process.stdout.write(`${toHex(signature)}\n`);
  return 0;
}

const VERIFY_HELP = `usage: kosctl id verify (--identity FILE | --private-hex HEX | --public-hex HEX | --public-file FILE)
                      (--signature HEX | --signature-file SIGFILE) [--file FILE]

Checks an Ed25519 signature over the message (the bytes of --file, else all of stdin).
Prints "signature valid" and exits 0, or prints "kosctl: signature invalid" on stderr and exits 1.
SIGFILE holds the raw 64-byte signature (as "kosctl id sign --out" and "rnid -s --raw" write it)
or its 128 hex digits.

options:
${IDENTITY_HELP_PUBLIC}
  --signature HEX         the signature as 128 hex digits
  --signature-file FILE   the signature file
  --file FILE             the message (default: stdin)
`;

export async function verifyCommand(argv: string[]): Promise<number> {
  const args = parseSub(argv, VERIFY_HELP, [...ALL_SOURCES, "signature", "signature-file", "file"], []);
  if (args === null) return 0;
  maxPositionals(args, 0);
  const id = identityFrom(args, "public");
  const which = oneOf(args, ["signature", "signature-file"], true, "no signature");
  const signature =
    which === "signature"
      ? hexValue(flagString(args, "signature")!, SIGNATURE_LENGTH, "--signature")
      : signatureFile(flagString(args, "signature-file")!);
  const message = await readAll(inputFrom(args));
  if (!id.verify(signature, message)) throw new CliError("signature invalid", 1);
  process.stdout.write("signature valid\n");
  return 0;
}

function signatureFile(file: string): Bytes {
  const data = readFileBytes(file, "signature file");
  if (data.length === SIGNATURE_LENGTH) return data;
  const text = fromUtf8(data).trim();
  if (/^[0-9a-fA-F]+$/.test(text)) return hexValue(text, SIGNATURE_LENGTH, `signature file ${file}`, 1);
  // rnid's current .rsg format: signature (64) || msgpack map {hashtype, hash, meta}.
  if (data.length > SIGNATURE_LENGTH && (data[SIGNATURE_LENGTH]! & 0xf0) === 0x80) {
    throw new CliError(`${file} is an rnid signature envelope (.rsg); only raw 64-byte signatures (rnid -s --raw) are supported`);
  }
  throw new CliError(`signature file ${file} holds ${data.length} bytes: expected a raw 64-byte signature or 128 hex digits`);
}

const ENCRYPT_HELP = `usage: kosctl id encrypt (--identity FILE | --private-hex HEX | --public-hex HEX | --public-file FILE)
                       [--ratchet-hex HEX] [--file FILE] [--out FILE [--force]]

Encrypts the data (the bytes of --file, else all of stdin) to the identity, as Identity.encrypt does:
ephemeral X25519 public key (32) || token (IV, AES-256-CBC, HMAC-SHA256). Data longer than 16 MiB is
split into 16 MiB chunks, each encrypted on its own, exactly as rnid writes .rfe files. Empty input gives
empty output, as with rnid. Output is raw bytes: to --out, else to stdout (never to a terminal).

options:
${IDENTITY_HELP_PUBLIC}
  --ratchet-hex HEX       encrypt to this announced ratchet public key (32 bytes) instead of the identity's
                          X25519 key; decrypting then needs the ratchet's private key
  --file FILE             the data (default: stdin)
  --out FILE              write the encrypted data here (default: stdout)
  --force                 replace --out if it exists
`;

export async function encryptCommand(argv: string[]): Promise<number> {
  const args = parseSub(argv, ENCRYPT_HELP, [...ALL_SOURCES, "ratchet-hex", "file", "out"], ["force"]);
  if (args === null) return 0;
  maxPositionals(args, 0);
  const id = identityFrom(args, "public");
  const ratchet = hexOption(args, "ratchet-hex", RATCHET_LENGTH);
  const input = inputFrom(args);
  const sink = outputTo(args, 0o644, true);
  await pump(sink, async () => {
    for await (const chunk of readChunks(input, ENCRYPT_CHUNK)) {
      let token: Bytes;
      try {
        token = id.encrypt(chunk, cryptoRandom, ratchet === undefined ? {} : { ratchet });
      } catch (e) {
        if (e instanceof RangeError) throw new CliError(`cannot encrypt to this ${ratchet ? "ratchet" : "identity"}: its X25519 key is unusable`);
        throw e;
      }
      await sink.write(token);
    }
  });
  return 0;
}

const DECRYPT_HELP = `usage: kosctl id decrypt (--identity FILE | --private-hex HEX) [--ratchet-private-hex HEX[,HEX...]]
                       [--file FILE] [--out FILE [--force]]

Decrypts data made by "kosctl id encrypt", rnid -e (.rfe files) or Identity.encrypt for this identity
(the bytes of --file, else all of stdin) and writes the plaintext as raw bytes to --out, else stdout.
Data that is not encrypted for this identity, or is damaged, fails with exit 1. With --out, nothing is
written on failure; on stdout, input longer than 16 MiB may fail after earlier chunks were written.

options:
${IDENTITY_HELP_PRIVATE}
  --ratchet-private-hex HEX[,HEX...]
                          ratchet private keys (32 bytes each) to try before the identity key, as
                          Identity.decrypt does; needed for data encrypted with --ratchet-hex
  --file FILE             the encrypted data (default: stdin)
  --out FILE              write the plaintext here (mode 0600; default: stdout)
  --force                 replace --out if it exists
`;

export async function decryptCommand(argv: string[]): Promise<number> {
  const args = parseSub(argv, DECRYPT_HELP, [...ALL_SOURCES, "ratchet-private-hex", "file", "out"], ["force"]);
  if (args === null) return 0;
  maxPositionals(args, 0);
  const id = identityFrom(args, "private");
  const ratchetText = flagString(args, "ratchet-private-hex");
  const ratchets =
    ratchetText === undefined
      ? []
      : ratchetText.split(",").map((h, i) => hexValue(h, RATCHET_LENGTH, `--ratchet-private-hex (key ${i + 1})`));
  const input = inputFrom(args);
  const sink = outputTo(args, 0o600, false);
  await pump(sink, async () => {
    let n = 0;
    for await (const chunk of readChunks(input, DECRYPT_CHUNK)) {
      n++;
      const res = id.decrypt(chunk, ratchets);
      if (!res.ok) {
        const where = n > 1 ? ` (chunk ${n})` : "";
        if (res.reason === "too-short") throw new CliError(`decryption failed${where}: ${chunk.length} bytes is too short to be encrypted data`);
        throw new CliError(`decryption failed${where}: the data is not encrypted for this identity${ratchets.length ? " or these ratchets" : ""}, or is damaged`);
      }
      await sink.write(res.value.plaintext);
    }
  });
  return 0;
}

/** Runs `work` writing to `sink`; commits on success, drops a partial output file on failure. */
async function pump(sink: Sink, work: () => Promise<void>): Promise<void> {
  try {
    await work();
    await sink.commit();
  } catch (e) {
    sink.abort();
    throw e;
  }
}
