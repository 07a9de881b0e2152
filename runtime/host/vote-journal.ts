// The vote journal: this node's own signed quorum votes, durable before they are sent. The quorum machine
// never sends a vote before the host made it durable (persistVote -> votePersisted), and on start the journal
// is fed back (machine.restore), so a member never signs two different votes for one proposal, across
// crashes and restarts.
//
// File <data dir>/quorum/votes.journal, append-only:
//   header  16 bytes: "KOSVOTE" 0x01 | reserved u32 BE (0) | CRC-32C of bytes 0..11 u32 BE
//   record  length u32 BE (96) | CRC-32C of the payload u32 BE | payload
//   payload deadline of the proposal, ms u64 BE | vote (88 bytes: proposal id | voter | choice | time | signature)
// An append writes one record and fdatasyncs before it resolves. Opening checks every record:
// - a torn tail (a record cut short, or zeros where a record should start: the write was interrupted, so the
//   append never resolved and the vote was never sent) is truncated and reported;
// - a complete record with a bad checksum, a bad length or a bad header is damage: a vote recorded there
//   cannot be read, and signing again could contradict it, so opening fails with a clear message and kosd
//   does not start quorum at all (an operator must decide; see runtime/host/config/README.md).
// Votes whose proposal's deadline passed more than a day ago can no longer be cast anyway (the machine
// refuses votes after the deadline): once there are many, they are dropped when the file is rewritten at open.
import * as fs from "node:fs";
import * as path from "node:path";
import { equal, type Bytes } from "../core/bytes.js";
import { crc32c } from "../log/crc32c.js";
import { fdatasync, fsyncDir, nodeLogFs, writeAll, writeFileDurable, type LogFs } from "../log/fsio.js";
import { VOTE_LENGTH } from "../quorum/limits.js";

export const VOTE_JOURNAL_FILE = "votes.journal";
const MAGIC: Bytes = new Uint8Array([0x4b, 0x4f, 0x53, 0x56, 0x4f, 0x54, 0x45, 0x01]); // "KOSVOTE" 1
const HEADER_BYTES = 16;
const FRAME_BYTES = 8;
const PAYLOAD_BYTES = 8 + VOTE_LENGTH;
const RECORD_BYTES = FRAME_BYTES + PAYLOAD_BYTES;

export const VOTE_JOURNAL_LIMITS = {
  /** Records held (and replayed into the vote guard); beyond, appends are refused: nothing is ever dropped unread. */
  maxRecords: 100_000,
  /** A vote is forgotten this long after its proposal's deadline, once `compactAbove` records are held. */
  forgetAfterMs: 24 * 3_600_000,
  compactAbove: 1024,
} as const;

/** The journal cannot be used: damaged, unreadable or full. The message is for the operator. */
export class VoteJournalError extends Error {
  override name = "VoteJournalError";
}

export interface JournalVote {
  deadlineMs: number;
  /** The 88-byte vote, as machine.restore() takes it. */
  vote: Bytes;
}

export interface JournalRecovery {
  /** Bytes of a torn tail cut off at open (0: the file was clean). */
  truncatedBytes: number;
  /** Votes forgotten at open (their deadline long past). */
  forgotten: number;
}

function header(): Bytes {
  const b = new Uint8Array(HEADER_BYTES);
  b.set(MAGIC, 0);
  new DataView(b.buffer).setUint32(12, crc32c(b.subarray(0, 12)));
  return b;
}

function record(v: JournalVote): Bytes {
  const out = new Uint8Array(RECORD_BYTES);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, PAYLOAD_BYTES);
  dv.setUint32(FRAME_BYTES, Math.floor(v.deadlineMs / 2 ** 32));
  dv.setUint32(FRAME_BYTES + 4, v.deadlineMs >>> 0);
  out.set(v.vote, FRAME_BYTES + 8);
  dv.setUint32(4, crc32c(out.subarray(FRAME_BYTES)));
  return out;
}

const allZero = (b: Bytes): boolean => b.every((x) => x === 0);

export class VoteJournal {
  readonly file: string;
  readonly recovery: JournalRecovery;
  readonly #fs: LogFs;
  readonly #votes: JournalVote[];
  #fd: number;
  #end: number;
  #tail: Promise<void> = Promise.resolve();
  #closed = false;

  private constructor(file: string, fsx: LogFs, fd: number, end: number, votes: JournalVote[], recovery: JournalRecovery) {
    this.file = file;
    this.#fs = fsx;
    this.#fd = fd;
    this.#end = end;
    this.#votes = votes;
    this.recovery = recovery;
  }

  /** Opens (or creates) the journal in `dir`; throws VoteJournalError when it is damaged. */
  static open(dir: string, nowMs: number, fsx: LogFs = nodeLogFs): VoteJournal {
    const file = path.join(dir, VOTE_JOURNAL_FILE);
    try {
      fsx.mkdirSync(dir, { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new VoteJournalError(`cannot create ${dir}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    let data: Bytes | null = null;
    try {
      data = new Uint8Array(fs.readFileSync(file));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new VoteJournalError(`cannot read the vote journal ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
    const recovery: JournalRecovery = { truncatedBytes: 0, forgotten: 0 };
    // No file, or only part of a header (a crash while creating it, before any vote was written): start afresh.
    if (data === null || (data.length < HEADER_BYTES && (equal(data, header().subarray(0, data.length)) || allZero(data)))) {
      if (data !== null) recovery.truncatedBytes = data.length;
      writeFileDurable(fsx, file, header());
      data = header();
    }
    if (data.length < HEADER_BYTES || !equal(data.subarray(0, 8), MAGIC)) throw damaged(file, 0, "not a vote journal (bad magic)");
    if (new DataView(data.buffer, data.byteOffset).getUint32(12) !== crc32c(data.subarray(0, 12))) throw damaged(file, 0, "header checksum mismatch");
    const votes: JournalVote[] = [];
    let pos = HEADER_BYTES;
    while (pos < data.length) {
      const rest = data.subarray(pos);
      if (rest.length < RECORD_BYTES) {
        // Cut short: the last append never completed (its promise never resolved, its vote was never sent).
        const len = rest.length >= 4 ? new DataView(rest.buffer, rest.byteOffset).getUint32(0) : PAYLOAD_BYTES;
        if (len !== PAYLOAD_BYTES && !allZero(rest)) throw damaged(file, pos, `bad record length ${len}`);
        break;
      }
      const dv = new DataView(rest.buffer, rest.byteOffset, RECORD_BYTES);
      if (allZero(rest)) break; // space allocated, data never written: a torn tail too
      if (dv.getUint32(0) !== PAYLOAD_BYTES) throw damaged(file, pos, `bad record length ${dv.getUint32(0)}`);
      const payload = rest.subarray(FRAME_BYTES, RECORD_BYTES);
      if (dv.getUint32(4) !== crc32c(payload)) throw damaged(file, pos, "record checksum mismatch");
      const pv = new DataView(payload.buffer, payload.byteOffset, 8);
      votes.push({ deadlineMs: pv.getUint32(0) * 2 ** 32 + pv.getUint32(4), vote: payload.slice(8) });
      pos += RECORD_BYTES;
    }
    if (votes.length > VOTE_JOURNAL_LIMITS.maxRecords) throw new VoteJournalError(`the vote journal ${file} holds ${votes.length} votes, more than ${VOTE_JOURNAL_LIMITS.maxRecords}`);
    const torn = data.length - pos;
    recovery.truncatedBytes += torn;
    let kept = votes;
    if (votes.length > VOTE_JOURNAL_LIMITS.compactAbove) kept = votes.filter((v) => nowMs <= v.deadlineMs + VOTE_JOURNAL_LIMITS.forgetAfterMs);
    try {
      if (kept.length !== votes.length) {
        // Rewritten whole (temp file, fsync, rename): a crash leaves the old file or the new one.
        recovery.forgotten = votes.length - kept.length;
        const out = new Uint8Array(HEADER_BYTES + kept.length * RECORD_BYTES);
        out.set(header(), 0);
        kept.forEach((v, i) => out.set(record(v), HEADER_BYTES + i * RECORD_BYTES));
        writeFileDurable(fsx, file, out);
        pos = out.length;
      }
      const fd = fsx.openSync(file, "r+", 0o600);
      if (torn > 0 && kept === votes) {
        fsx.ftruncateSync(fd, pos);
        fsx.fsyncSync(fd);
      }
      fsyncDir(fsx, dir);
      return new VoteJournal(file, fsx, fd, pos, kept, recovery);
    } catch (e) {
      throw new VoteJournalError(`cannot open the vote journal ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  }

  /** Every vote held, oldest first. */
  votes(): readonly JournalVote[] {
    return this.#votes;
  }

  /** The 88-byte votes, for machine.restore(). */
  restoreList(): Bytes[] {
    return this.#votes.map((v) => v.vote);
  }

  /** Appends a vote and syncs it to disk; resolves only once it is durable. Appends run one at a time. */
  append(vote: Bytes, deadlineMs: number): Promise<void> {
    if (vote.length !== VOTE_LENGTH) return Promise.reject(new RangeError(`a vote is ${VOTE_LENGTH} bytes`));
    const run = async (): Promise<void> => {
      if (this.#closed) throw new VoteJournalError("the vote journal is closed");
      if (this.#votes.length >= VOTE_JOURNAL_LIMITS.maxRecords) throw new VoteJournalError(`the vote journal is full (${VOTE_JOURNAL_LIMITS.maxRecords} votes)`);
      const v = { deadlineMs, vote: vote.slice() };
      const at = this.#end;
      try {
        await writeAll(this.#fs, this.#fd, record(v), at);
        await fdatasync(this.#fs, this.#fd);
      } catch (e) {
        // The record may be partly on disk: cut it off again so the next append does not follow damage.
        try {
          this.#fs.ftruncateSync(this.#fd, at);
        } catch {
          // the next open truncates a torn tail anyway
        }
        throw new VoteJournalError(`cannot write the vote journal ${this.file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
      this.#end = at + RECORD_BYTES;
      this.#votes.push(v);
    };
    const p = this.#tail.then(run);
    this.#tail = p.catch(() => undefined);
    return p;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#tail;
    this.#closed = true;
    this.#fs.closeSync(this.#fd);
  }
}

function damaged(file: string, at: number, why: string): VoteJournalError {
  return new VoteJournalError(
    `the vote journal ${file} is damaged at byte ${at} (${why}): quorum is not started, because a vote recorded there ` +
      `cannot be read and signing again could contradict it. Keep the file; see "Vote journal" in the config README`,
  );
}
