// Assertions for invariants: a failure is a bug in kos-edge, never a reaction to remote input.

export class AssertionError extends Error {
  override name = "AssertionError";
}

export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Local misuse: an argument of the right type but the wrong size. */
export function assertLength(b: Uint8Array, length: number, what: string): void {
  if (!(b instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  if (b.length !== length) throw new RangeError(`${what} must be ${length} bytes, got ${b.length}`);
}

export function assertByte(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 255) throw new RangeError(`${what} must be a byte, got ${v}`);
}
