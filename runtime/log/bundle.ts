// Bundles: log entries in one file, to carry between nodes without a network (a USB stick, sneakernet).
//
// A bundle file is:
//   header   16 bytes: "KOSLBUN" 0x01 (magic + version) | reserved u32 BE (0) | CRC-32C of bytes 0..11 u32 BE
//   records  framed exactly as in segments (format.ts): length u32 BE | CRC-32C u32 BE | type u8 + entry
//   trailer  16 bytes: "KOSLEND" 0x01 | record count u32 BE | CRC-32C of every byte before the trailer u32 BE
// Entries appear in log order, so each author's chain is in seq order. Import checks every entry exactly as an
// append from the network (signature, chain, forks kept as evidence), so a damaged or hostile bundle can add
// nothing that does not verify; a damaged bundle still yields its intact records, and says it was damaged.
import * as fs from "node:fs";
import * as path from "node:path";
import { equal, toHex, type Bytes } from "../core/bytes.js";
import { crc32c } from "./crc32c.js";
import { MAX_RECORD_BYTES, RECORD_FORK, frameRecord, peekAuthorSeq, recordAt, resync } from "./format.js";
import { LogStoreError, fsyncDir, ioError, nodeLogFs } from "./fsio.js";
import type { LogStore } from "./store.js";

export const BUNDLE_MAGIC: Bytes = new Uint8Array([0x4b, 0x4f, 0x53, 0x4c, 0x42, 0x55, 0x4e, 0x01]); // "KOSLBUN" 1
export const BUNDLE_END: Bytes = new Uint8Array([0x4b, 0x4f, 0x53, 0x4c, 0x45, 0x4e, 0x44, 0x01]); // "KOSLEND" 1
const HEADER_BYTES = 16;
const TRAILER_BYTES = 16;
const CHUNK_BYTES = 1024 * 1024;
/** Appends in flight during an import: enough to fill group commits, bounded in memory. */
const IMPORT_WINDOW = 512;
const MAX_REPORTED = 20;

/** The file is not a bundle, or cannot be read or written (an operator-facing message). */
export class BundleError extends Error {
  override name = "BundleError";
}

export interface ExportReport {
  file: string;
  entries: number;
  forks: number;
  bytes: number;
}

export interface ImportReport {
  records: number;
  accepted: number;
  duplicates: number;
  forks: number;
  rejected: number;
  /** Rejections by reason (bad-signature, gap, damaged-record...). */
  reasons: Record<string, number>;
  /** The first few rejections, for the operator. */
  examples: Array<{ author: string | null; seq: number | null; reason: string; detail: string }>;
  /** Why the bundle itself is damaged (cut short, bad checksum), or null when it is intact. */
  damaged: string | null;
}

function header(): Bytes {
  const b = new Uint8Array(HEADER_BYTES);
  b.set(BUNDLE_MAGIC, 0);
  new DataView(b.buffer).setUint32(12, crc32c(b.subarray(0, 12)));
  return b;
}

/** Writes the entries (and fork evidence) of `authors` (default: all) to `file`, atomically. */
export async function exportBundle(store: LogStore, file: string, authors?: readonly Bytes[]): Promise<ExportReport> {
  const wanted = authors === undefined ? null : new Set(authors.map((a) => toHex(a)));
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  let fd: number;
  try {
    fd = fs.openSync(tmp, "w", 0o600);
  } catch (e) {
    throw new BundleError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const report: ExportReport = { file, entries: 0, forks: 0, bytes: 0 };
  try {
    let crc = 0;
    let chunks: Bytes[] = [];
    let buffered = 0;
    const put = (b: Bytes): void => {
      crc = crc32c(b, crc);
      chunks.push(b);
      buffered += b.length;
      if (buffered >= CHUNK_BYTES) drain();
    };
    const drain = (): void => {
      const all = Buffer.concat(chunks);
      for (let done = 0; done < all.length; ) done += fs.writeSync(fd, all, done, all.length - done, report.bytes + done);
      report.bytes += all.length;
      chunks = [];
      buffered = 0;
    };
    put(header());
    let n = 0;
    for (const r of store.records()) {
      if (wanted !== null && !wanted.has(toHex(r.entry.author))) continue;
      put(frameRecord(r.type, r.entry.encoded));
      if (r.type === RECORD_FORK) report.forks++;
      else report.entries++;
      if (++n % 1000 === 0) await new Promise((res) => setImmediate(res));
    }
    const trailer = new Uint8Array(TRAILER_BYTES);
    trailer.set(BUNDLE_END, 0);
    const v = new DataView(trailer.buffer);
    v.setUint32(8, report.entries + report.forks);
    v.setUint32(12, crc);
    chunks.push(trailer);
    drain();
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    if (e instanceof LogStoreError) throw e;
    throw new BundleError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new BundleError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  fsyncDir(nodeLogFs, path.dirname(file));
  return report;
}

/** Reads a bundle and appends every entry that verifies; never throws for bad content, only for I/O. */
export async function importBundle(store: LogStore, file: string): Promise<ImportReport> {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    throw new BundleError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const report: ImportReport = { records: 0, accepted: 0, duplicates: 0, forks: 0, rejected: 0, reasons: {}, examples: [], damaged: null };
  const reject = (reason: string, detail: string, entry?: Bytes): void => {
    report.rejected++;
    report.reasons[reason] = (report.reasons[reason] ?? 0) + 1;
    if (report.examples.length >= MAX_REPORTED) return;
    const p = entry === undefined ? null : peekAuthorSeq(entry);
    report.examples.push({ author: p === null ? null : toHex(p.author), seq: p?.seq ?? null, reason, detail });
  };
  let inFlight: Array<Promise<void>> = [];
  const settle = async (): Promise<void> => {
    await Promise.all(inFlight);
    inFlight = [];
  };
  const submit = (entry: Bytes): void => {
    report.records++;
    inFlight.push(
      store.append(entry).then((o) => {
        if (o.status === "appended") report.accepted++;
        else if (o.status === "duplicate") report.duplicates++;
        else if (o.status === "fork") report.forks++;
        else reject(o.reason, o.detail, entry);
      }),
    );
  };

  try {
    let window: Uint8Array = new Uint8Array(0);
    let pos = 0;
    let filePos = 0;
    let eof = false;
    let crc = 0;
    const more = (): void => {
      const chunk = new Uint8Array(CHUNK_BYTES);
      const n = fs.readSync(fd, chunk, 0, CHUNK_BYTES, filePos);
      if (n === 0) {
        eof = true;
        return;
      }
      filePos += n;
      const rest = window.subarray(pos);
      const next = new Uint8Array(rest.length + n);
      next.set(rest, 0);
      next.set(chunk.subarray(0, n), rest.length);
      window = next;
      pos = 0;
    };
    const consume = (to: number): void => {
      crc = crc32c(window.subarray(pos, to), crc);
      pos = to;
    };
    while (window.length < HEADER_BYTES && !eof) more();
    if (window.length < HEADER_BYTES || !equal(window.subarray(0, 8), BUNDLE_MAGIC)) throw new BundleError(`${file} is not a kos-edge log bundle`);
    if (new DataView(window.buffer, window.byteOffset).getUint32(12) !== crc32c(window.subarray(0, 12))) throw new BundleError(`${file}: bundle header checksum mismatch`);
    consume(HEADER_BYTES);
    // Bounded: every pass consumes bytes or reads more of a finite file.
    for (;;) {
      if (inFlight.length >= IMPORT_WINDOW) await settle();
      // Keep a record's and a trailer's worth of bytes ahead (or the whole rest of the file) in the window.
      if (window.length - pos < MAX_RECORD_BYTES + TRAILER_BYTES && !eof) {
        more();
        continue;
      }
      const left = window.length - pos;
      if (left >= 8 && equal(window.subarray(pos, pos + 8), BUNDLE_END)) {
        if (!eof) more();
        report.damaged = checkTrailer(window, pos, crc, report.records + (report.reasons["damaged-record"] ?? 0));
        break;
      }
      if (left === 0) {
        report.damaged = "the bundle is cut short (no trailer)";
        break;
      }
      const r = recordAt(window, pos);
      if (r.kind === "record") {
        submit(r.entry.slice());
        consume(r.next);
        continue;
      }
      if (r.kind === "incomplete" && !eof) {
        more();
        continue;
      }
      if (r.kind === "incomplete") {
        report.damaged = `the bundle is cut short inside a record at byte ${filePos - (window.length - pos)}`;
        break;
      }
      reject("damaged-record", `${r.reason} at byte ${filePos - (window.length - pos)}`);
      // Go on at the next valid record or at the trailer, whichever comes first.
      const end = Buffer.from(window.buffer, window.byteOffset, window.length).indexOf(BUNDLE_END, pos + 1);
      const rec = resync(end >= 0 ? window.subarray(0, end) : window, pos + 1);
      const next = rec >= 0 ? rec : end;
      if (next >= 0) consume(next);
      else if (eof) {
        report.damaged = "damaged records up to the end of the bundle (no trailer)";
        break;
      } else consume(Math.max(pos + 1, window.length - MAX_RECORD_BYTES - TRAILER_BYTES));
    }
    await settle();
  } catch (e) {
    await Promise.allSettled(inFlight);
    if (e instanceof BundleError || e instanceof LogStoreError) throw e;
    throw ioError(e, `reading ${file}`);
  } finally {
    fs.closeSync(fd);
  }
  return report;
}

function checkTrailer(window: Uint8Array, pos: number, crc: number, records: number): string | null {
  if (window.length - pos < TRAILER_BYTES) return "the bundle is cut short inside its trailer";
  const v = new DataView(window.buffer, window.byteOffset + pos, TRAILER_BYTES);
  if (v.getUint32(12) !== crc) return "bundle checksum mismatch (the file was changed or damaged)";
  if (v.getUint32(8) !== records) return `the trailer counts ${v.getUint32(8)} records, the bundle holds ${records}`;
  if (window.length - pos > TRAILER_BYTES) return "unexpected bytes after the trailer";
  return null;
}
