// MessagePack for resources, byte-compatible with the reference's umsgpack (RNS/vendor/umsgpack.py):
// bytes as bin 8/16/32, the smallest integer encoding, str as fixstr/str 8/16/32, maps sized to their entries,
// non-integer numbers as float64. Decoding never throws: remote bytes yield a Result.
// (runtime/mesh/link/msgpack.ts carries the same settings for links; the two are to be merged.)
import { Packr } from "msgpackr";
import { err, ok, type Result } from "../../core/result.js";

const codec = new Packr({
  // Plain MessagePack: no record extension, maps with fixmap/map16 headers as umsgpack writes them.
  useRecords: false,
  variableMapSize: true,
  mapsAsObjects: true,
  // uint64/int64 decode to numbers (the reference never sends integers that large in resources).
  int64AsType: "number",
});

/**
 * Packs a value the way umsgpack would. Integers must stay below 2^32 to get umsgpack's bytes: msgpackr writes
 * larger JavaScript numbers as float64 where umsgpack writes uint64 (never the case for resource fields).
 */
export function packb(value: unknown): Uint8Array {
  return codec.pack(value);
}

/** Unpacks one MessagePack value that must span all of `bytes`. */
export function unpackb(bytes: Uint8Array): Result<unknown> {
  try {
    return ok(codec.unpack(bytes) as unknown);
  } catch (e) {
    return err("bad-encoding", `msgpack: ${(e as Error).message}`);
  }
}

/** A bin value as a Uint8Array (msgpackr hands out Node Buffers, which are Uint8Arrays), or null. */
export function asBytes(v: unknown): Uint8Array | null {
  return v instanceof Uint8Array ? v : null;
}

/** A non-negative safe integer, or null. */
export function asCount(v: unknown): number | null {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : null;
}
