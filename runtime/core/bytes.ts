// Byte helpers over Uint8Array: the one representation of binary data in kos-edge.
// Local misuse (wrong argument types) throws; parsing of operator input returns null.

export type Bytes = Uint8Array;

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function toHex(b: Bytes): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!];
  return s;
}

/** Parses hex (case-insensitive, no separators). Returns null when the text is not hex. */
export function parseHex(text: string): Bytes | null {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return null;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
  return out;
}

/** Hex for known-good constants (tests, vectors); throws on bad input since it is a programming error. */
export function fromHex(text: string): Bytes {
  const b = parseHex(text);
  if (b === null) throw new TypeError(`not hex: ${text.slice(0, 32)}`);
  return b;
}

export function concat(...parts: Bytes[]): Bytes {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function equal(a: Bytes, b: Bytes): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Constant-time comparison for MACs and secrets. */
export function equalConstantTime(a: Bytes, b: Bytes): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });
export const utf8 = (s: string): Bytes => encoder.encode(s);
export const fromUtf8 = (b: Bytes): string => decoder.decode(b);

/** A Uint8Array view (no copy) of a Node Buffer or any ArrayBufferView. */
export function view(b: ArrayBufferView): Bytes {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Big-endian unsigned integer of `width` bytes (width <= 6, so exact in a double). */
export function uintBE(value: number, width: number): Bytes {
  if (!Number.isInteger(value) || value < 0 || width > 6 || value >= 2 ** (8 * width)) {
    throw new RangeError(`uintBE: ${value} does not fit in ${width} bytes`);
  }
  const out = new Uint8Array(width);
  for (let i = width - 1; i >= 0; i--) {
    out[i] = value % 256;
    value = Math.floor(value / 256);
  }
  return out;
}

export function readUintBE(b: Bytes, offset: number, width: number): number {
  let v = 0;
  for (let i = 0; i < width; i++) v = v * 256 + b[offset + i]!;
  return v;
}

// RFC 4648 base32 (upper case, with padding), as the reference's rnid prints it.
const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export function toBase32(b: Bytes): string {
  let out = "";
  let bits = 0;
  let acc = 0;
  for (const byte of b) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += "=";
  return out;
}

export function parseBase32(text: string): Bytes | null {
  const clean = text.trim().toUpperCase().replace(/=+$/, "");
  if (!/^[A-Z2-7]*$/.test(clean)) return null;
  const out: number[] = [];
  let bits = 0;
  let acc = 0;
  for (const ch of clean) {
    acc = ((acc << 5) | B32.indexOf(ch)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((acc >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

export function toBase64(b: Bytes): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64");
}

/** Accepts standard and URL-safe base64; returns null when the text is not base64. */
export function parseBase64(text: string): Bytes | null {
  const clean = text.trim();
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(clean) || clean.replace(/=+$/, "").length % 4 === 1) return null;
  return view(Buffer.from(clean.replace(/-/g, "+").replace(/_/g, "/"), "base64"));
}
