// Small readers for checking parsed JSON against the board schema: each takes an unknown value and a field
// path, returns the typed value or undefined, and records what is wrong with the field's path. Never throws.
import { childPath } from "./json.js";

export interface SchemaIssue {
  /** The data file, when the entry came from one. */
  file?: string;
  line?: number;
  column?: number;
  /** The field, `variants[1].bandMHz.max`; "" for the whole entry. */
  path: string;
  message: string;
}

export function formatSchemaIssue(issue: SchemaIssue): string {
  const at = issue.file === undefined ? "" : issue.line === undefined ? `${issue.file}: ` : `${issue.file}:${issue.line}:${issue.column ?? 1}: `;
  return `${at}${issue.path === "" ? "" : issue.path + ": "}${issue.message}`;
}

const MAX_ISSUES = 100;

export class Issues {
  readonly list: SchemaIssue[] = [];
  add(path: string, message: string): void {
    if (this.list.length < MAX_ISSUES) this.list.push({ path, message });
  }
  get count(): number {
    return this.list.length;
  }
}

export type Reader<T> = (v: unknown, path: string, out: Issues) => T | undefined;

/** A value in a message: JSON, cut at 40 characters. */
export function shownValue(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return s.length > 40 ? s.slice(0, 37) + "..." : s;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export const text =
  (opts: { maxChars?: number; pattern?: RegExp; what?: string } = {}): Reader<string> =>
  (v, path, out) => {
    const max = opts.maxChars ?? 200;
    if (typeof v === "string" && v.length > max) {
      out.add(path, `is ${v.length} characters long; at most ${max} are allowed`);
      return undefined;
    }
    if (typeof v !== "string" || v.trim() === "" || (opts.pattern && !opts.pattern.test(v))) {
      out.add(path, `must be ${opts.what ?? `non-empty text of at most ${max} characters`}, got ${shownValue(v)}`);
      return undefined;
    }
    return v;
  };

/** Ids and aliases: lower-case letters, digits, "-" and "." (file names and config values). */
export const ID_PATTERN = /^[a-z0-9](?:[a-z0-9.-]{0,62}[a-z0-9])?$/;
export const idText = (): Reader<string> => text({ maxChars: 64, pattern: ID_PATTERN, what: 'an id of lower-case letters, digits, "-" and "." (at most 64)' });
/** Board and model codes as Boards.h writes them: "0x33". */
export const hexByte = (): Reader<string> => text({ maxChars: 4, pattern: /^0x[0-9A-F]{2}$/, what: 'a byte in hex like "0xE8" (upper-case digits)' });

export const num =
  (min: number, max: number, opts: { integer?: boolean; aboveMin?: boolean; what?: string } = {}): Reader<number> =>
  (v, path, out) => {
    const okType = typeof v === "number" && Number.isFinite(v) && (!opts.integer || Number.isInteger(v));
    if (!okType || (opts.aboveMin ? v <= min : v < min) || v > max) {
      const kind = opts.integer ? "a whole number" : "a number";
      out.add(path, `must be ${opts.what ?? `${kind} ${opts.aboveMin ? "above" : "from"} ${min} ${opts.aboveMin ? "and at most" : "to"} ${max}`}, got ${shownValue(v)}`);
      return undefined;
    }
    return v;
  };
export const int = (min: number, max: number, what?: string): Reader<number> => num(min, max, what === undefined ? { integer: true } : { integer: true, what });

export const bool = (): Reader<boolean> => (v, path, out) => {
  if (typeof v !== "boolean") {
    out.add(path, `must be true or false, got ${shownValue(v)}`);
    return undefined;
  }
  return v;
};

export const oneOf =
  <T extends string>(values: readonly T[]): Reader<T> =>
  (v, path, out) => {
    if (typeof v !== "string" || !(values as readonly string[]).includes(v)) {
      out.add(path, `must be one of ${values.map((x) => JSON.stringify(x)).join(", ")}, got ${shownValue(v)}`);
      return undefined;
    }
    return v as T;
  };

export const arrayOf =
  <T>(item: Reader<T>, opts: { min?: number; max?: number } = {}): Reader<T[]> =>
  (v, path, out) => {
    const min = opts.min ?? 0;
    const max = opts.max ?? 64;
    if (!Array.isArray(v)) {
      out.add(path, `must be a list, got ${shownValue(v)}`);
      return undefined;
    }
    if (v.length < min || v.length > max) {
      out.add(path, min === max ? `must list exactly ${min} items, got ${v.length}` : `must list ${min} to ${max} items, got ${v.length}`);
      return undefined;
    }
    const before = out.count;
    const items = v.map((x, i) => item(x, childPath(path, i), out));
    return out.count === before ? (items as T[]) : undefined;
  };

/** A nullable field: null stays null. */
export const nullable =
  <T>(inner: Reader<T>): Reader<T | null> =>
  (v, path, out) =>
    v === null ? null : inner(v, path, out);

/**
 * An object's fields: unknown keys are errors (with the nearest known name), required fields must be there,
 * optional ones fall back to a default. `done()` is the object when no field had a problem.
 */
export class Fields {
  readonly #v: Record<string, unknown>;
  readonly #before: number;
  readonly ok: boolean;

  constructor(v: unknown, readonly path: string, readonly out: Issues, known: readonly string[]) {
    this.#before = out.count;
    if (!isRecord(v)) {
      out.add(path, `must be an object, got ${shownValue(v)}`);
      this.#v = {};
      this.ok = false;
      return;
    }
    this.#v = v;
    this.ok = true;
    for (const key of Object.keys(v)) {
      if (known.includes(key)) continue;
      const near = nearest(key, known);
      out.add(childPath(path, key), `unknown field${near ? `; did you mean "${near}"?` : ""}`);
    }
  }

  req<T>(key: string, reader: Reader<T>): T | undefined {
    if (!this.ok) return undefined;
    if (!Object.hasOwn(this.#v, key) || this.#v[key] === undefined) {
      this.out.add(this.path, `missing field "${key}"`);
      return undefined;
    }
    return reader(this.#v[key], childPath(this.path, key), this.out);
  }

  opt<T>(key: string, reader: Reader<T>, fallback: T): T | undefined {
    if (!this.ok) return undefined;
    if (!Object.hasOwn(this.#v, key)) return fallback;
    return reader(this.#v[key], childPath(this.path, key), this.out);
  }

  /** True when nothing was reported since this object was opened. */
  clean(): boolean {
    return this.ok && this.out.count === this.#before;
  }
}

function nearest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Edit distance with transpositions; both words are short field names. */
export function distance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Math.max(a.length, b.length);
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let prev2 = prev;
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2]! + 1);
      row.push(d);
    }
    prev2 = prev;
    prev = row;
  }
  return prev[b.length]!;
}
