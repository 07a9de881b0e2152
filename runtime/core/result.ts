// Results for decoders of remote input: bytes off the air never throw, they yield a reason to count.

export type DropReason =
  | "too-short"
  | "too-long"
  | "bad-flags"
  | "bad-hops"
  | "bad-length"
  | "bad-signature"
  | "bad-destination"
  | "bad-mac"
  | "bad-padding"
  | "bad-key"
  | "bad-frame"
  | "bad-encoding"
  | "bad-state"
  | "unsolicited"
  | "bad-advertisement"
  | "too-large"
  | "unknown";

export type Ok<T> = { readonly ok: true; readonly value: T };
export type Err = { readonly ok: false; readonly reason: DropReason; readonly detail?: string };
export type Result<T> = Ok<T> | Err;

export const ok = <T>(value: T): Ok<T> => ({ ok: true, value });
export const err = (reason: DropReason, detail?: string): Err =>
  detail === undefined ? { ok: false, reason } : { ok: false, reason, detail };
