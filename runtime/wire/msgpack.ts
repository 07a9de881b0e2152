// Plain MessagePack exactly as Reticulum's vendored umsgpack 2.7 writes it, on msgpackr; shared by the whole project.
// umsgpack writes Python floats as float64 (0xcb), bytes as bin, str as str, maps and arrays in their smallest
// form, and ints in the smallest form (unsigned for positives). msgpackr with useRecords off matches all of it
// except two cases, handled here: JavaScript cannot tell 1.0 from 1, so a value meant as a float is wrapped in
// Float64; and msgpackr writes integers beyond 32 bits as float64, so those are written as umsgpack does.
// Decoding yields null, boolean, number (bigint past 2^53), string, Uint8Array, Array and Map, nothing else.
import { Packr, Unpackr, addExtension } from "msgpackr";
import type { Bytes } from "../core/bytes.js";
import { err, ok, type Result } from "../core/result.js";
/** Deepest nesting accepted in either direction. */
export const MSGPACK_MAX_DEPTH = 32;

/** A number to be written as a MessagePack float64 even when it is integral (Python floats always are). */
export class Float64 {
  constructor(readonly value: number) {
    if (typeof value !== "number") throw new TypeError("Float64 wraps a number");
  }
}

/** An integer written in umsgpack's smallest integer form (used for integers beyond 32 bits). */
class WideInt {
  constructor(readonly value: bigint) {}
}

type Allocate = (size: number) => { target: Uint8Array; targetView: DataView; position: number };
/** Extension code msgpackr files our two writers under; it never reaches the wire, and is refused on input. */
const EXT_UNUSED = 0x4b;
const refuse = (): never => {
  throw new TypeError("unexpected extension");
};

addExtension({
  Class: Float64,
  type: EXT_UNUSED,
  pack(v: Float64, allocate: Allocate): undefined {
    const { target, targetView, position } = allocate(9);
    target[position] = 0xcb;
    targetView.setFloat64(position + 1, v.value);
    return undefined;
  },
  unpack: refuse,
} as unknown as Parameters<typeof addExtension>[0]);

addExtension({
  Class: WideInt,
  type: EXT_UNUSED + 1,
  pack(w: WideInt, allocate: Allocate): undefined {
    const v = w.value;
    if (v >= 0n) {
      const { target, targetView, position } = allocate(9);
      target[position] = 0xcf;
      targetView.setBigUint64(position + 1, v);
    } else {
      const { target, targetView, position } = allocate(9);
      target[position] = 0xd3;
      targetView.setBigInt64(position + 1, v);
    }
    return undefined;
  },
  unpack: refuse,
} as unknown as Parameters<typeof addExtension>[0]);

/** Marks a value the decoder refuses (never a MessagePack value itself). */
const REFUSED = Symbol("refused");

const packr = new Packr({ useRecords: false, variableMapSize: true, encodeUndefinedAsNil: true });
const unpackr = new Unpackr({
  useRecords: false,
  mapsAsObjects: false,
  int64AsType: "auto" as "bigint",
});

const UINT64_END = 1n << 64n;
const INT64_START = -(1n << 63n);

/**
 * Packs a value: null/undefined, boolean, number, bigint, string, Uint8Array, Float64, arrays, Maps and plain
 * objects (string keys). Anything else, or nesting deeper than MSGPACK_MAX_DEPTH, throws.
 */
export function packMsgpack(value: unknown): Bytes {
  // msgpackr returns a view into its shared 8 KiB write buffer; a copy does not keep that buffer alive.
  return new Uint8Array(packr.pack(prepare(value, 0)));
}

/** Unpacks remote MessagePack; never throws. Trailing bytes are ignored, as umsgpack ignores them. */
export function unpackMsgpack(bytes: Bytes): Result<unknown> {
  if (bytes.length === 0) return err("bad-encoding", "no MessagePack value");
  let raw: unknown = REFUSED;
  try {
    // unpackMultiple stops after the first value when told to, so trailing bytes are never parsed.
    unpackr.unpackMultiple(bytes, (v: unknown) => {
      raw = v;
      return false;
    });
  } catch (e) {
    if (raw === REFUSED) return err("bad-encoding", (e as Error).message);
  }
  if (raw === REFUSED) return err("bad-encoding", "no MessagePack value");
  const seen = new Set<object>();
  const value = accept(raw, 0, seen);
  return value === REFUSED ? err("bad-encoding", "unsupported MessagePack type") : ok(value);
}

/** Rewrites integers msgpackr would not write as umsgpack does; copies a container only when it changes. */
function prepare(v: unknown, depth: number): unknown {
  if (depth > MSGPACK_MAX_DEPTH) throw new RangeError("MessagePack value nested too deeply");
  switch (typeof v) {
    case "number":
      if (Number.isInteger(v) && (v >= 2 ** 32 || v < -(2 ** 31))) return wide(BigInt(v));
      return v;
    case "bigint":
      return v >= -(2n ** 31n) && v < 2n ** 32n ? Number(v) : wide(v);
    case "string":
    case "boolean":
    case "undefined":
      return v;
    case "object": {
      if (v === null || v instanceof Uint8Array || v instanceof Float64) return v;
      if (Array.isArray(v)) {
        let out: unknown[] | null = null;
        for (let i = 0; i < v.length; i++) {
          const e = prepare(v[i], depth + 1);
          if (e !== v[i] && out === null) out = v.slice(0, i);
          if (out !== null) out.push(e);
        }
        return out ?? v;
      }
      if (v instanceof Map) {
        let changed = false;
        const out = new Map<unknown, unknown>();
        for (const [k, e] of v) {
          const pk = prepare(k, depth + 1);
          const pe = prepare(e, depth + 1);
          changed ||= pk !== k || pe !== e;
          out.set(pk, pe);
        }
        return changed ? out : v;
      }
      if (Object.getPrototypeOf(v) === Object.prototype) {
        let changed = false;
        const out: Record<string, unknown> = {};
        for (const [k, e] of Object.entries(v)) {
          const pe = prepare(e, depth + 1);
          changed ||= pe !== e;
          out[k] = pe;
        }
        return changed ? out : v;
      }
      throw new TypeError(`cannot pack a ${(v as object).constructor?.name ?? "null-prototype object"} as plain MessagePack`);
    }
    default:
      throw new TypeError(`cannot pack a ${typeof v} as MessagePack`);
  }
}

function wide(v: bigint): WideInt {
  if (v < INT64_START || v >= UINT64_END) throw new RangeError("integer does not fit 64 bits");
  return new WideInt(v);
}

/** Keeps the plain MessagePack types, as fresh containers; refuses extensions, shared references and depth. */
function accept(v: unknown, depth: number, seen: Set<object>): unknown {
  if (depth > MSGPACK_MAX_DEPTH) return REFUSED;
  switch (typeof v) {
    case "number":
    case "bigint":
    case "string":
    case "boolean":
      return v;
    case "object": {
      if (v === null) return null;
      if (seen.has(v)) return REFUSED;
      seen.add(v);
      if (v instanceof Uint8Array) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      if (Array.isArray(v)) {
        const out: unknown[] = new Array(v.length);
        for (let i = 0; i < v.length; i++) {
          const e = accept(v[i], depth + 1, seen);
          if (e === REFUSED) return REFUSED;
          out[i] = e;
        }
        return out;
      }
      if (v instanceof Map) {
        const out = new Map<unknown, unknown>();
        for (const [k, e] of v) {
          const ak = accept(k, depth + 1, seen);
          const ae = accept(e, depth + 1, seen);
          if (ak === REFUSED || ae === REFUSED) return REFUSED;
          out.set(ak, ae);
        }
        return out;
      }
      return REFUSED;
    }
    default:
      return REFUSED;
  }
}
