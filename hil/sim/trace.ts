// The simulator's event trace: one line per thing that happened (a packet on air and what each neighbour made
// of it, engine events, faults, app results), stamped with virtual time. "hash" keeps only a SHA-256 of the
// lines (cheap enough for big runs: two runs with one seed must give one digest); "full" keeps the lines too,
// for debugging and for the byte-for-byte determinism test. Callers check `on` before formatting a line.
import { createHash, type Hash } from "node:crypto";

export type TraceMode = "off" | "hash" | "full";

export const TRACE_LIMITS = Object.freeze({
  /** Lines kept in "full" mode; past this only the digest and the count go on. */
  maxLines: 2_000_000,
});

export class Trace {
  readonly lines: string[] = [];
  #count = 0;
  #truncated = false;
  readonly #hash: Hash | null;

  constructor(readonly mode: TraceMode = "off") {
    this.#hash = mode === "off" ? null : createHash("sha256");
  }

  get on(): boolean {
    return this.mode !== "off";
  }

  get count(): number {
    return this.#count;
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  add(nowMs: number, text: string): void {
    if (this.#hash === null) return;
    const line = `${formatTime(nowMs)} ${text}`;
    this.#hash.update(line);
    this.#hash.update("\n");
    this.#count++;
    if (this.mode !== "full") return;
    if (this.lines.length < TRACE_LIMITS.maxLines) this.lines.push(line);
    else this.#truncated = true;
  }

  /** SHA-256 of every line so far (hex), or null when tracing is off. */
  digest(): string | null {
    return this.#hash === null ? null : this.#hash.copy().digest("hex");
  }

  text(): string {
    return this.lines.length === 0 ? "" : this.lines.join("\n") + "\n";
  }
}

/** Virtual seconds with microsecond resolution, fixed width for easy reading. */
export function formatTime(ms: number): string {
  return (ms / 1000).toFixed(6).padStart(14);
}

/** Short form of a hash in the trace. */
export function short(hash: Uint8Array): string {
  let s = "";
  for (let i = 0; i < 4; i++) s += hash[i]!.toString(16).padStart(2, "0");
  return s;
}
