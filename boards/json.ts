// A strict JSON reader (RFC 8259) that remembers where every value starts, so the board schema can name the
// line of a bad field. Duplicate keys are errors (JSON.parse silently keeps the last one). Never throws.

export interface Position {
  line: number;
  column: number;
}

export type JsonParse =
  | { ok: true; value: unknown; positions: ReadonlyMap<string, Position> }
  | { ok: false; line: number; column: number; message: string };

export const JSON_LIMITS = { maxChars: 256 * 1024, maxDepth: 32 } as const;

/** A field path as the schema's messages write it: `variants[1].bandMHz.max`; "" is the whole document. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? (parent === "" ? key : `${parent}.${key}`) : `${parent}[${JSON.stringify(key)}]`;
}

class Fail extends Error {
  constructor(readonly at: number, message: string) {
    super(message);
  }
}

export function parseJsonWithPositions(text: string): JsonParse {
  const lineStarts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 0x0a) lineStarts.push(i + 1);
  const where = (at: number): Position => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= at) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: at - lineStarts[lo]! + 1 };
  };
  if (text.length > JSON_LIMITS.maxChars) return { ok: false, line: 1, column: 1, message: `file is larger than ${JSON_LIMITS.maxChars} characters` };
  const positions = new Map<string, Position>();
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;

  const ws = (): void => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const expect = (ch: string): void => {
    if (text[i] !== ch) throw new Fail(i, i >= text.length ? `unexpected end of file, expected ${JSON.stringify(ch)}` : `expected ${JSON.stringify(ch)}, found ${JSON.stringify(text[i])}`);
    i++;
  };
  const string = (): string => {
    const start = i;
    expect('"');
    let out = "";
    for (;;) {
      if (i >= text.length) throw new Fail(start, "unterminated string");
      const c = text[i]!;
      if (c === '"') {
        i++;
        return out;
      }
      if (c.charCodeAt(0) < 0x20) throw new Fail(i, "control character in a string");
      if (c !== "\\") {
        out += c;
        i++;
        continue;
      }
      const e = text[i + 1];
      const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
      if (e !== undefined && Object.hasOwn(simple, e)) {
        out += simple[e];
        i += 2;
      } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) {
        out += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
        i += 6;
      } else throw new Fail(i, "bad escape in a string");
    }
  };
  const value = (path: string, depth: number): unknown => {
    ws();
    if (depth > JSON_LIMITS.maxDepth) throw new Fail(i, `nested deeper than ${JSON_LIMITS.maxDepth} levels`);
    if (!positions.has(path)) positions.set(path, where(i));
    const c = text[i];
    if (c === "{") {
      i++;
      const obj: Record<string, unknown> = {};
      ws();
      if (text[i] === "}") {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        const keyAt = i;
        const key = string();
        if (Object.hasOwn(obj, key)) throw new Fail(keyAt, `duplicate key ${JSON.stringify(key)}`);
        const sub = childPath(path, key);
        positions.set(sub, where(keyAt));
        ws();
        expect(":");
        // defineProperty: a "__proto__" key stays an ordinary key.
        Object.defineProperty(obj, key, { value: value(sub, depth + 1), enumerable: true, writable: true, configurable: true });
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        expect("}");
        return obj;
      }
    }
    if (c === "[") {
      i++;
      const arr: unknown[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(value(childPath(path, arr.length), depth + 1));
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        expect("]");
        return arr;
      }
    }
    if (c === '"') return string();
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
    if (m) {
      i += m[0].length;
      return Number(m[0]);
    }
    for (const [word, v] of [["true", true], ["false", false], ["null", null]] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    throw new Fail(i, i >= text.length ? "unexpected end of file" : `unexpected ${JSON.stringify(text[i])}`);
  };

  try {
    const v = value("", 0);
    ws();
    if (i < text.length) throw new Fail(i, "text after the JSON value");
    return { ok: true, value: v, positions };
  } catch (e) {
    if (!(e instanceof Fail)) throw e;
    const p = where(Math.min(e.at, text.length));
    return { ok: false, line: p.line, column: p.column, message: e.message };
  }
}
