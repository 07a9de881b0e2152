// Recovery on open: checks every segment's header and records, and repairs what a crash or a bad disk left.
//
// Rules (see also the store's README section):
// - Torn tail: in the LAST segment only, a record that runs past the end of the file, or a tail of zero bytes,
//   is a write that never finished. Appends are acknowledged only after fdatasync covers their bytes and the
//   next batch is written only after that, so such a tail was never acknowledged: the file is truncated to the
//   last complete record and synced. A last segment shorter than its header gets its header rewritten.
// - Corruption: anything else (a complete record with a bad length, checksum, type or entry encoding, in any
//   segment, or a bad header, or a record cut short in a segment that is not the last) quarantines the segment:
//   its valid records (before the damage, and after it where a record boundary can be found again) are copied
//   to <name>.salvage and synced, the damaged file is renamed to <name>.quarantined-<time> and the salvage file
//   takes its name. One error line names the file, the offset and the reason. A crash in between is finished on
//   the next open: a .salvage file without its segment is complete (it is synced before any rename).
// - Other files in the directory are left alone and listed once; leftover temp files of ours are removed.
import * as path from "node:path";
import type { Bytes } from "../core/bytes.js";
import type { Logger } from "../core/ports.js";
import { sha256 } from "../crypto/hashes.js";
import {
  SEGMENT_HEADER_BYTES,
  checkSegmentHeader,
  encodeSegmentHeader,
  frameInto,
  parseSegmentName,
  peekEntry,
  recordAt,
  resync,
  segmentName,
  zeroFrom,
  type RecordType,
} from "./format.js";
import { fsyncDir, ioError, writeFileDurable, type LogFs } from "./fsio.js";
import type { IndexedEntry } from "./index.js";

export interface RecoveredRecord {
  offset: number;
  type: RecordType;
  /** Views into the segment's bytes: valid until the index has taken what it keeps. */
  entry: IndexedEntry & { encoded: Bytes };
}

export interface RecoveredSegment {
  number: number;
  /** Size of the file after recovery: every byte up to it is a valid record. */
  end: number;
  records: RecoveredRecord[];
}

export interface RecoveryReport {
  segments: number;
  records: number;
  truncated: Array<{ file: string; offset: number; bytes: number; reason: string }>;
  quarantined: Array<{ file: string; movedTo: string; offset: number; reason: string; salvagedRecords: number }>;
  /** Files in the log directory that are not segments (left alone). */
  ignored: string[];
}

const SALVAGE = ".salvage";
const QUARANTINED = ".quarantined-";

/**
 * A record is valid when its frame checks and its payload is shaped as a canonical entry. Signatures were
 * checked when the entry was appended; the checksum shows these are the same bytes.
 */
function validAt(buf: Bytes, offset: number): { ok: true; rec: RecoveredRecord; next: number } | { ok: false; incomplete: boolean; reason: string } {
  const r = recordAt(buf, offset);
  if (r.kind !== "record") return { ok: false, incomplete: r.kind === "incomplete", reason: r.reason };
  const head = peekEntry(r.entry);
  if (head === null) return { ok: false, incomplete: false, reason: "record holds no valid entry" };
  return { ok: true, rec: { offset, type: r.type, entry: { ...head, hash: sha256(r.entry), encoded: r.entry } }, next: r.next };
}

function stamp(nowMs: number): string {
  return new Date(nowMs).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

/** Scans and repairs the log directory; returns its segments in order with their records. */
export function recover(fsx: LogFs, dir: string, log: Logger, nowMs: number): { segments: RecoveredSegment[]; report: RecoveryReport; highest: number } {
  const report: RecoveryReport = { segments: 0, records: 0, truncated: [], quarantined: [], ignored: [] };
  let names: string[];
  try {
    names = fsx.readdirSync(dir);
  } catch (e) {
    throw ioError(e, `listing the log directory ${dir}`);
  }
  const present = new Set(names);
  // Finish a salvage that a crash interrupted; drop one that never got as far as its rename.
  for (const name of names) {
    if (!name.endsWith(SALVAGE) || parseSegmentName(name.slice(0, -SALVAGE.length)) === null) continue;
    const target = name.slice(0, -SALVAGE.length);
    try {
      if (present.has(target)) fsx.unlinkSync(path.join(dir, name));
      else {
        fsx.renameSync(path.join(dir, name), path.join(dir, target));
        present.add(target);
        log.log("warn", "log: finished an interrupted salvage", { file: target });
      }
      present.delete(name);
    } catch (e) {
      log.log("error", "log: cannot finish a salvage", { file: name, error: (e as NodeJS.ErrnoException).code ?? String(e) });
    }
  }
  const numbers: number[] = [];
  // New segments are numbered past every number seen, quarantined ones included, so no name is reused.
  let highest = 0;
  for (const name of present) {
    const n = parseSegmentName(name);
    const q = name.indexOf(QUARANTINED);
    if (q > 0) highest = Math.max(highest, parseSegmentName(name.slice(0, q)) ?? 0);
    if (n !== null) numbers.push(n);
    else if (!name.includes(QUARANTINED) && !/\.tmp-\d+$/.test(name)) report.ignored.push(name);
  }
  numbers.sort((a, b) => a - b);
  highest = Math.max(highest, numbers[numbers.length - 1] ?? 0);
  if (report.ignored.length > 0) log.log("warn", "log: ignoring files that are not log segments", { dir, files: report.ignored.slice(0, 20).join(", ") });

  const segments: RecoveredSegment[] = [];
  for (let i = 0; i < numbers.length; i++) {
    const seg = recoverSegment(fsx, dir, numbers[i]!, i === numbers.length - 1, log, nowMs, report);
    if (seg !== null) segments.push(seg);
  }
  report.segments = segments.length;
  report.records = segments.reduce((n, s) => n + s.records.length, 0);
  return { segments, report, highest };
}

/** No segment is larger than this (the store's largest segmentMaxBytes plus one record). */
const MAX_SEGMENT_FILE_BYTES = 2 ** 31 + 64 * 1024;

function readWhole(fsx: LogFs, file: string): Uint8Array {
  const fd = fsx.openSync(file, "r");
  try {
    const size = fsx.fstatSync(fd).size;
    if (size > MAX_SEGMENT_FILE_BYTES) throw Object.assign(new Error(`a file of ${size} bytes`), { code: "EFBIG" });
    const buf = new Uint8Array(size);
    let got = 0;
    while (got < size) {
      const n = fsx.readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    fsx.closeSync(fd);
  }
}

function recoverSegment(fsx: LogFs, dir: string, number: number, last: boolean, log: Logger, nowMs: number, report: RecoveryReport): RecoveredSegment | null {
  const name = segmentName(number);
  const file = path.join(dir, name);
  let buf: Uint8Array;
  try {
    buf = readWhole(fsx, file);
  } catch (e) {
    return quarantine(fsx, dir, number, [], 0, `unreadable (${(e as NodeJS.ErrnoException).code ?? String(e)})`, log, nowMs, report);
  }
  if (last && buf.length < SEGMENT_HEADER_BYTES) {
    // Created (or rolled to) just before a crash: nothing in it was ever acknowledged.
    rewriteHeader(fsx, file, number);
    if (buf.length > 0) report.truncated.push({ file: name, offset: 0, bytes: buf.length, reason: "segment header cut short" });
    return { number, end: SEGMENT_HEADER_BYTES, records: [] };
  }
  const header = checkSegmentHeader(buf);
  if (!header.ok || header.number !== number) {
    const reason = header.ok ? `header names segment ${header.number}` : header.reason;
    return salvage(fsx, dir, number, buf, [], 0, reason, log, nowMs, report);
  }
  const records: RecoveredRecord[] = [];
  let pos = SEGMENT_HEADER_BYTES;
  while (pos < buf.length) {
    const v = validAt(buf, pos);
    if (v.ok) {
      records.push(v.rec);
      pos = v.next;
      continue;
    }
    if (last && (v.incomplete || zeroFrom(buf, pos))) {
      truncate(fsx, file, pos);
      const reason = v.incomplete ? v.reason : "zero-filled tail";
      report.truncated.push({ file: name, offset: pos, bytes: buf.length - pos, reason });
      log.log("warn", "log: truncated a torn tail (a write that was never acknowledged)", { file: name, offset: pos, bytes: buf.length - pos, reason });
      return { number, end: pos, records };
    }
    return salvage(fsx, dir, number, buf, records, pos, v.reason, log, nowMs, report);
  }
  return { number, end: buf.length, records };
}

function truncate(fsx: LogFs, file: string, size: number): void {
  const fd = fsx.openSync(file, "r+");
  try {
    fsx.ftruncateSync(fd, size);
    fsx.fsyncSync(fd);
  } catch (e) {
    throw ioError(e, `truncating the torn tail of ${path.basename(file)}`);
  } finally {
    fsx.closeSync(fd);
  }
}

function rewriteHeader(fsx: LogFs, file: string, number: number): void {
  try {
    writeFileDurable(fsx, file, encodeSegmentHeader(number));
  } catch (e) {
    throw ioError(e, `rewriting the header of ${path.basename(file)}`);
  }
}

/** Keeps the valid records of a damaged segment (those before `badAt`, and any found after it). */
function salvage(fsx: LogFs, dir: string, number: number, buf: Uint8Array, before: RecoveredRecord[], badAt: number, reason: string, log: Logger, nowMs: number, report: RecoveryReport): RecoveredSegment | null {
  const kept = [...before];
  let pos = resync(buf, Math.max(badAt + 1, SEGMENT_HEADER_BYTES));
  // Bounded: each pass moves forward by at least one byte.
  while (pos >= 0 && pos < buf.length) {
    const v = validAt(buf, pos);
    if (v.ok) {
      kept.push(v.rec);
      pos = v.next;
    } else pos = resync(buf, pos + 1);
  }
  return quarantine(fsx, dir, number, kept, badAt, reason, log, nowMs, report, buf);
}

function quarantine(fsx: LogFs, dir: string, number: number, kept: RecoveredRecord[], badAt: number, reason: string, log: Logger, nowMs: number, report: RecoveryReport, src?: Uint8Array): RecoveredSegment | null {
  const name = segmentName(number);
  const file = path.join(dir, name);
  let movedTo = `${name}${QUARANTINED}${stamp(nowMs)}`;
  for (let i = 1; i < 1000 && fileExists(fsx, path.join(dir, movedTo)); i++) movedTo = `${name}${QUARANTINED}${stamp(nowMs)}-${i}`;
  // The salvage copy: header, then the kept records re-framed back to back (their bytes are unchanged).
  let out: Uint8Array | null = null;
  const records: RecoveredRecord[] = [];
  if (kept.length > 0 && src !== undefined) {
    const size = SEGMENT_HEADER_BYTES + kept.reduce((n, r) => n + 9 + r.entry.encoded.length, 0);
    out = new Uint8Array(size);
    out.set(encodeSegmentHeader(number), 0);
    let pos = SEGMENT_HEADER_BYTES;
    for (const r of kept) {
      records.push({ ...r, offset: pos });
      pos = frameInto(out, pos, r.type, r.entry.encoded);
    }
  }
  try {
    if (out !== null) writeFileDurable(fsx, path.join(dir, name + SALVAGE), out);
    fsx.renameSync(file, path.join(dir, movedTo));
    if (out !== null) fsx.renameSync(path.join(dir, name + SALVAGE), file);
    fsyncDir(fsx, dir);
  } catch (e) {
    throw ioError(e, `quarantining ${name}`);
  }
  report.quarantined.push({ file: name, movedTo, offset: badAt, reason, salvagedRecords: records.length });
  log.log("error", `log: segment ${name} is damaged at offset ${badAt} (${reason}); moved to ${movedTo}, ${records.length} valid record(s) kept`, {
    file: name,
    offset: badAt,
    reason,
    movedTo,
    salvaged: records.length,
  });
  return out === null ? null : { number, end: out.length, records };
}

function fileExists(fsx: LogFs, file: string): boolean {
  try {
    fsx.statSync(file);
    return true;
  } catch {
    return false;
  }
}
