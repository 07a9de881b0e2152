// The node's data directory: where its identity (and later paths, known destinations, the log) live.
// The identity file holds the 64-byte private key, raw, exactly as the reference's identity files do,
// so an identity moves between kosd and rnsd/rnid by copying the file.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { view } from "../core/bytes.js";
import { PRIVATE_KEY_LENGTH } from "../core/limits.js";
import type { RandomSource } from "../core/ports.js";
import { Identity } from "../crypto/identity.js";
import { CliError } from "./cli.js";

/** --data-dir, else $KOS_DATA_DIR, else /var/lib/kos-edge for root, else $XDG_DATA_HOME/kos-edge. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env["KOS_DATA_DIR"]) return env["KOS_DATA_DIR"];
  if (typeof process.getuid === "function" && process.getuid() === 0) return "/var/lib/kos-edge";
  const base = env["XDG_DATA_HOME"] || path.join(os.homedir(), ".local", "share");
  return path.join(base, "kos-edge");
}

export function ensureDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new CliError(`cannot create data directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

/** Writes a file so that a crash leaves either the old or the new content: temp file, fsync, rename. */
export function writeFileAtomic(file: string, data: Uint8Array, mode = 0o600): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fs.openSync(tmp, "w", mode);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  try {
    const dfd = fs.openSync(path.dirname(file), "r");
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch {
    // Directory fsync is not supported everywhere; the rename is still atomic.
  }
}

/** Reads an identity file; a file of the wrong size is refused rather than silently replaced. */
export function readIdentityFile(file: string): Identity {
  let data: Uint8Array;
  try {
    data = view(fs.readFileSync(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CliError(code === "ENOENT" ? `no identity file at ${file}` : `cannot read identity file ${file}: ${code ?? e}`);
  }
  if (data.length !== PRIVATE_KEY_LENGTH) {
    throw new CliError(`identity file ${file} holds ${data.length} bytes, expected a ${PRIVATE_KEY_LENGTH}-byte private key`);
  }
  return Identity.fromPrivateKey(data);
}

/** Loads the node identity, creating it on first start. */
export function loadOrCreateIdentity(dataDir: string, random: RandomSource): { identity: Identity; created: boolean; file: string } {
  ensureDir(dataDir);
  const file = path.join(dataDir, "identity");
  if (fs.existsSync(file)) return { identity: readIdentityFile(file), created: false, file };
  const identity = Identity.generate(random);
  writeFileAtomic(file, identity.privateKey);
  return { identity, created: true, file };
}
