// The file-system calls the log store makes, behind one small interface so tests can inject faults (a disk
// that fills up, a write that fails half way); typed errors with stable codes for operating failures.
import * as fs from "node:fs";
import * as path from "node:path";

export interface LogFs {
  openSync(file: string, flags: string, mode?: number): number;
  closeSync(fd: number): void;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  fstatSync(fd: number): { size: number };
  ftruncateSync(fd: number, length: number): void;
  fsyncSync(fd: number): void;
  renameSync(from: string, to: string): void;
  readdirSync(dir: string): string[];
  unlinkSync(file: string): void;
  mkdirSync(dir: string, options: { recursive: boolean; mode: number }): unknown;
  statSync(file: string): { size: number; isFile(): boolean };
  write(fd: number, buffer: Uint8Array, offset: number, length: number, position: number, cb: (err: NodeJS.ErrnoException | null, written: number) => void): void;
  fdatasync(fd: number, cb: (err: NodeJS.ErrnoException | null) => void): void;
}

export const nodeLogFs: LogFs = fs;

/** Why an operation on the store failed; `code` is stable for callers to branch on. */
export type LogStoreErrorCode =
  /** The disk (or quota) is full: nothing of the failed append is kept. */
  | "ENOSPC"
  /** Any other read/write/sync failure. */
  | "EIO"
  /** Too many appends queued, or a follower fell too far behind: retry later. */
  | "EBUSY"
  /** The store was closed. */
  | "ECLOSED";

export class LogStoreError extends Error {
  override name = "LogStoreError";
  constructor(
    readonly code: LogStoreErrorCode,
    message: string,
    /** The operating system's error code, when there was one (EDQUOT, EROFS...). */
    readonly osCode?: string,
  ) {
    super(message);
  }
}

/** Maps a Node file-system error to a LogStoreError; disk-full kinds become ENOSPC. */
export function ioError(e: unknown, what: string): LogStoreError {
  if (e instanceof LogStoreError) return e;
  const code = (e as NodeJS.ErrnoException | null)?.code;
  const full = code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG";
  const detail = code ?? (e instanceof Error ? e.message : String(e));
  return new LogStoreError(full ? "ENOSPC" : "EIO", `${what}: ${full ? "no space left on the device" : "I/O error"} (${detail})`, code);
}

/** Writes all of `buf` at `position`, looping over short writes. */
export function writeAll(fsx: LogFs, fd: number, buf: Uint8Array, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = 0;
    const step = (): void => {
      fsx.write(fd, buf, done, buf.length - done, position + done, (err, written) => {
        if (err) return reject(err);
        if (written <= 0) return reject(Object.assign(new Error("write made no progress"), { code: "EIO" }));
        done += written;
        if (done < buf.length) step();
        else resolve();
      });
    };
    step();
  });
}

export function fdatasync(fsx: LogFs, fd: number): Promise<void> {
  return new Promise((resolve, reject) => fsx.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

/** Makes a directory's entries (new, renamed files) durable; a no-op where directories cannot be synced. */
export function fsyncDir(fsx: LogFs, dir: string): void {
  let fd = -1;
  try {
    fd = fsx.openSync(dir, "r");
    fsx.fsyncSync(fd);
  } catch {
    // Not supported everywhere (some FUSE and network file systems); renames stay atomic.
  } finally {
    if (fd >= 0) fsx.closeSync(fd);
  }
}

/** Writes a whole file durably: temp name, write, fsync, rename, directory fsync. */
export function writeFileDurable(fsx: LogFs, file: string, data: Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  const fd = fsx.openSync(tmp, "w", 0o600);
  try {
    for (let done = 0; done < data.length; ) done += fsx.writeSync(fd, data, done, data.length - done, done);
    fsx.fsyncSync(fd);
  } finally {
    fsx.closeSync(fd);
  }
  fsx.renameSync(tmp, file);
  fsyncDir(fsx, path.dirname(file));
}
