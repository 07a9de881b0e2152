// Input and output for `kosctl id`: message bytes from --file or stdin (read whole or in fixed-size chunks),
// and binary-safe output to stdout or to a file written atomically (temp file, fsync, then link or rename),
// never replacing an existing file unless --force was given.
import * as fs from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";
import { isatty } from "node:tty";
import { concat, view, type Bytes } from "../../core/bytes.js";
import { CliError, flagString, type ParsedArgs } from "../cli.js";
import { fileError } from "./common.js";

export type InputSource = { kind: "file"; file: string } | { kind: "stdin" };

/** --file FILE, else stdin; stdin on a terminal is refused so the command never waits for typed binary. */
export function inputFrom(args: ParsedArgs): InputSource {
  const file = flagString(args, "file");
  if (file !== undefined) return { kind: "file", file };
  if (isatty(0)) throw new CliError("no input: give --file or pipe data on stdin", 2);
  return { kind: "stdin" };
}

export async function readAll(src: InputSource): Promise<Bytes> {
  const parts: Bytes[] = [];
  for await (const chunk of readChunks(src, 1 << 20)) parts.push(chunk);
  return parts.length === 1 ? parts[0]! : concat(...parts);
}

/** Yields the input in chunks of exactly `size` bytes; only the last may be shorter. Nothing for empty input. */
export async function* readChunks(src: InputSource, size: number): AsyncGenerator<Bytes> {
  if (src.kind === "file") {
    yield* fileChunks(src.file, size);
    return;
  }
  let parts: Buffer[] = [];
  let have = 0;
  try {
    for await (const b of process.stdin as AsyncIterable<Buffer>) {
      parts.push(b);
      have += b.length;
      while (have >= size) {
        const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
        yield view(all.subarray(0, size));
        const rest = all.subarray(size);
        parts = rest.length > 0 ? [rest] : [];
        have = rest.length;
      }
    }
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot read stdin: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (have > 0) yield view(Buffer.concat(parts, have));
}

function* fileChunks(file: string, size: number): Generator<Bytes> {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
    if (fs.fstatSync(fd).isDirectory()) {
      fs.closeSync(fd);
      throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    }
  } catch (e) {
    throw fileError(e, file, "input file");
  }
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(size);
      let got = 0;
      while (got < size) {
        let n: number;
        try {
          n = fs.readSync(fd, buf, got, size - got, null);
        } catch (e) {
          throw fileError(e, file, "input file");
        }
        if (n === 0) break;
        got += n;
      }
      if (got > 0) yield view(buf.subarray(0, got));
      if (got < size) return;
    }
  } finally {
    fs.closeSync(fd);
  }
}

export interface OutputOptions {
  force: boolean;
  mode: number;
}

/** Fails early (before any work) when the output exists and --force was not given. */
export function checkWritable(file: string, force: boolean): void {
  if (!force && fs.existsSync(file)) throw new CliError(`${file} already exists (use --force to overwrite)`);
}

/** Where bytes go: a file (committed atomically at the end) or stdout. */
export interface Sink {
  write(data: Bytes): Promise<void>;
  /** Makes the output visible; for a file, renames the temp file into place. */
  commit(): Promise<void>;
  /** Drops a partial output file after a failure. */
  abort(): void;
}

export function fileSink(file: string, opts: OutputOptions): Sink {
  checkWritable(file, opts.force);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`);
  let fd: number | null;
  try {
    fd = fs.openSync(tmp, "wx", opts.mode);
    fs.fchmodSync(fd, opts.mode);
  } catch (e) {
    throw writeError(e, file);
  }
  const abort = (): void => {
    if (fd !== null) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
      fd = null;
    }
    fs.rmSync(tmp, { force: true });
  };
  return {
    async write(data) {
      try {
        let off = 0;
        while (off < data.length) off += fs.writeSync(fd!, data, off, data.length - off);
      } catch (e) {
        abort();
        throw writeError(e, file);
      }
    },
    async commit() {
      try {
        fs.fsyncSync(fd!);
        fs.closeSync(fd!);
        fd = null;
        place(tmp, file, opts.force);
      } catch (e) {
        abort();
        throw e instanceof CliError ? e : writeError(e, file);
      }
    },
    abort,
  };
}

/** Moves the finished temp file into place: rename with --force, else link, which never replaces a file. */
function place(tmp: string, file: string, force: boolean): void {
  if (force) {
    fs.renameSync(tmp, file);
  } else {
    try {
      fs.linkSync(tmp, file);
      fs.rmSync(tmp, { force: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EEXIST") throw new CliError(`${file} already exists (use --force to overwrite)`);
      // Filesystems without hard links (FAT on an SD card): check, then rename.
      if (fs.existsSync(file)) throw new CliError(`${file} already exists (use --force to overwrite)`);
      fs.renameSync(tmp, file);
    }
  }
  try {
    const dfd = fs.openSync(path.dirname(file), "r");
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch {
    // Directory fsync is not supported everywhere; the rename is still atomic.
  }
}

function writeError(e: unknown, file: string): CliError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return new CliError(`cannot write ${file}: its directory does not exist`);
  if (code === "EACCES" || code === "EPERM") return new CliError(`cannot write ${file}: permission denied`);
  return new CliError(`cannot write ${file}: ${code ?? (e as Error).message}`);
}

/** Writes a small file in one go (keys, signatures), atomically and without replacing unless forced. */
export async function writeOutputFile(file: string, data: Bytes, opts: OutputOptions): Promise<void> {
  const sink = fileSink(file, opts);
  await sink.write(data);
  await sink.commit();
}

let stdoutGuarded = false;

/** Raw bytes to stdout, waiting for each write; a closed pipe becomes a CliError instead of a crash. */
export function stdoutSink(): Sink {
  if (!stdoutGuarded) {
    // The write callback reports the error; this listener only keeps the 'error' event from throwing.
    process.stdout.on("error", () => undefined);
    stdoutGuarded = true;
  }
  return {
    write: (data) =>
      new Promise((resolve, reject) => {
        process.stdout.write(data, (e) => {
          if (e) reject(new CliError(`cannot write to stdout: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
          else resolve();
        });
      }),
    commit: async () => undefined,
    abort: () => undefined,
  };
}

/** --out FILE, else stdout. `binary` refuses to spill raw bytes onto a terminal. */
export function outputTo(args: ParsedArgs, mode: number, binary: boolean): Sink {
  const out = flagString(args, "out");
  if (out !== undefined) return fileSink(out, { force: args.flags.has("force"), mode });
  if (args.flags.has("force")) throw new CliError("--force only applies with --out", 2);
  if (binary && isatty(1)) throw new CliError("refusing to write binary output to a terminal: give --out or redirect stdout", 2);
  return stdoutSink();
}
