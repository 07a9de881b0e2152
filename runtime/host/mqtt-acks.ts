// The MQTT bridge's ack point (./mqtt-bridge.ts): per author, the highest seq up to which the broker has
// acknowledged (PUBACK) every entry. Kept in <data dir>/mqtt-acks.json, written atomically (temp file, fsync,
// rename), so after a crash, a broker outage or a restart the bridge publishes from there on.
//
// The file names the broker and topic prefix it belongs to (`target`): pointed at another broker or prefix,
// the bridge starts from the beginning. A file that is unreadable, too large or malformed in any way is
// ignored as a whole with a warning: the bridge then starts from 0, which costs duplicates (subscribers
// deduplicate by entry hash), never a lost entry. Bounded: at most MAX_ACK_AUTHORS authors, a file of at most
// MAX_ACK_FILE_BYTES.
import * as fs from "node:fs";
import type { Logger } from "../core/ports.js";
import { writeFileAtomic } from "./datadir.js";

export const ACKS_FILE = "mqtt-acks.json";
export const ACKS_VERSION = 1;
export const MAX_ACK_AUTHORS = 100_000;
/** 100,000 authors at about 50 bytes each, with room to spare. */
export const MAX_ACK_FILE_BYTES = 8 * 1024 * 1024;

const AUTHOR_RE = /^[0-9a-f]{32}$/;

export interface AckLoad {
  /** Authors whose ack point was restored. */
  authors: number;
  /** Why the file was not used (null: it was, or there was none). */
  ignored: string | null;
}

export class AckState {
  readonly #acked = new Map<string, number>();
  #dirty = false;

  constructor(
    readonly file: string,
    /** Which broker and prefix these acks belong to: the URL (no credentials) and the topic prefix. */
    readonly target: string,
    private readonly log: Logger,
  ) {}

  /** Reads the file. Never throws: a bad file is reported (warning) and the state starts empty. */
  load(): AckLoad {
    this.#acked.clear();
    let text: string;
    try {
      const size = fs.statSync(this.file).size;
      if (size > MAX_ACK_FILE_BYTES) return this.#ignore(`it is ${size} bytes, more than ${MAX_ACK_FILE_BYTES}`);
      text = fs.readFileSync(this.file, "utf8");
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return { authors: 0, ignored: null };
      return this.#ignore(`cannot read it (${code ?? (e as Error).message})`);
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      return this.#ignore("it is not JSON");
    }
    const problem = checkDoc(doc);
    if (problem !== null) return this.#ignore(problem);
    const d = doc as { target: string; acked: Record<string, number> };
    if (d.target !== this.target) {
      this.log.log("info", "mqtt: the broker or topic prefix changed since the last ack point: publishing every entry again", { file: this.file });
      this.#dirty = true;
      return { authors: 0, ignored: "another broker or topic prefix" };
    }
    for (const [author, seq] of Object.entries(d.acked)) if (seq > 0) this.#acked.set(author, seq);
    return { authors: this.#acked.size, ignored: null };
  }

  #ignore(why: string): AckLoad {
    this.log.log("warn", `mqtt: ignoring the ack state file (${why}): publishing every entry again from the start; subscribers deduplicate by entry hash`, { file: this.file });
    this.#acked.clear();
    this.#dirty = true;
    return { authors: 0, ignored: why };
  }

  /** Highest seq acknowledged for `author` (hex), 0 when none. */
  get(author: string): number {
    return this.#acked.get(author) ?? 0;
  }

  /** Moves an author's ack point (to any value: a lower one when the log holds less than the file says). */
  set(author: string, seq: number): void {
    if (!AUTHOR_RE.test(author) || !Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`bad ack point ${author}:${seq}`);
    if (this.get(author) === seq) return;
    if (seq === 0) this.#acked.delete(author);
    else {
      if (!this.#acked.has(author) && this.#acked.size >= MAX_ACK_AUTHORS) {
        // Forgetting an author costs duplicates of its entries after a restart, never a loss.
        const oldest = this.#acked.keys().next().value!;
        this.#acked.delete(oldest);
        this.log.log("warn", "mqtt: too many authors in the ack state; the oldest is forgotten (its entries will be published again)", { author: oldest, max: MAX_ACK_AUTHORS });
      }
      this.#acked.set(author, seq);
    }
    this.#dirty = true;
  }

  entries(): IterableIterator<[string, number]> {
    return this.#acked.entries();
  }

  get size(): number {
    return this.#acked.size;
  }

  get dirty(): boolean {
    return this.#dirty;
  }

  /** Writes the file if anything changed. Failures are logged, never thrown; the next save tries again. */
  save(): boolean {
    if (!this.#dirty) return true;
    const doc = { version: ACKS_VERSION, target: this.target, acked: Object.fromEntries(this.#acked) };
    try {
      writeFileAtomic(this.file, Buffer.from(JSON.stringify(doc)), 0o600);
      this.#dirty = false;
      return true;
    } catch (e) {
      this.log.log("warn", "mqtt: could not save the ack state", { file: this.file, error: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
      return false;
    }
  }
}

function checkDoc(doc: unknown): string | null {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return "it is not a JSON object";
  const d = doc as Record<string, unknown>;
  if (d["version"] !== ACKS_VERSION) return `unknown version ${JSON.stringify(d["version"])}`;
  if (typeof d["target"] !== "string") return "it has no target";
  const acked = d["acked"];
  if (typeof acked !== "object" || acked === null || Array.isArray(acked)) return "it has no acked object";
  const entries = Object.entries(acked);
  if (entries.length > MAX_ACK_AUTHORS) return `it lists more than ${MAX_ACK_AUTHORS} authors`;
  for (const [author, seq] of entries) {
    if (!AUTHOR_RE.test(author)) return `${JSON.stringify(author.slice(0, 40))} is not an author hash`;
    if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0) return `the ack point of ${author} is not a whole number`;
  }
  return null;
}
