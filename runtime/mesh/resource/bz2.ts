// Bounded bzip2 decompression for resources the reference sent compressed (its auto_compress uses Python's bz2).
// The output is capped: decoding stops as soon as it would pass `maxBytes`, so a small stream that inflates to
// gigabytes (a zip bomb) costs at most `maxBytes` of memory and the work to produce them.
import Bunzip from "seek-bzip";
import { err, ok, type Result } from "../../core/result.js";

class TooLarge extends Error {}
class Truncated extends Error {}

/** Decompresses one bzip2 stream. Fails on corrupt or truncated data and when the output would exceed `maxBytes`. */
export function bunzip2(compressed: Uint8Array, maxBytes: number): Result<Uint8Array> {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`bad decompression limit ${maxBytes}`);
  let capacity = Math.min(maxBytes, Math.max(64 * 1024, compressed.length * 4));
  let out = new Uint8Array(capacity);
  let length = 0;
  let position = 0;
  const input = {
    readByte(): number {
      if (position >= compressed.length) throw new Truncated();
      return compressed[position++]!;
    },
    /** Bulk read (the decoder reads the stream header this way): bytes copied, or -1 at the end. */
    read(buffer: Uint8Array, offset: number, count: number): number {
      const n = Math.min(count, compressed.length - position);
      if (n <= 0) return -1;
      buffer.set(compressed.subarray(position, position + n), offset);
      position += n;
      return n;
    },
    seek(p: number): void {
      position = p;
    },
    eof(): boolean {
      return position >= compressed.length;
    },
  };
  const output = {
    writeByte(byte: number): void {
      if (length === capacity) {
        if (capacity >= maxBytes) throw new TooLarge();
        capacity = Math.min(maxBytes, capacity * 2);
        const grown = new Uint8Array(capacity);
        grown.set(out);
        out = grown;
      }
      out[length++] = byte;
    },
  };
  try {
    Bunzip.decode(input, output, false);
  } catch (e) {
    if (e instanceof TooLarge) return err("too-large", `decompresses to more than ${maxBytes} bytes`);
    if (e instanceof Truncated) return err("bad-length", "bzip2 stream ends early");
    return err("bad-frame", `bzip2: ${(e as Error).message ?? String(e)}`);
  }
  return ok(out.subarray(0, length));
}
