// Interface access codes (IFAC): a named/passphrased interface signs every packet with a key derived from
// the network name and passphrase, inserts the last `size` bytes of the signature after the two header
// bytes, sets flag bit 7 and masks header and payload with HKDF(ifac, salt = ifac key). Receivers without
// the code cannot read or forge traffic on that interface.
import { concat, equal, fromHex, utf8, type Bytes } from "../core/bytes.js";
import { err, ok, type Result } from "../core/result.js";
import { hkdf, sha256 } from "../crypto/hashes.js";
import { Identity } from "../crypto/identity.js";
import { IFAC_FLAG } from "./packet.js";

/** Fixed salt of the reference's IFAC key derivation. */
export const IFAC_SALT = fromHex("adf54d882c9a9b80771eb4995d702d4a3e733391b2a0f53f416d9f907e55cff8");

export class InterfaceAccessCode {
  readonly key: Bytes;
  readonly size: number;
  readonly #identity: Identity;

  constructor(key: Bytes, size: number) {
    if (!Number.isInteger(size) || size < 1 || size > 64) throw new RangeError(`IFAC size must be 1..64 bytes, got ${size}`);
    this.key = key;
    this.size = size;
    this.#identity = Identity.fromPrivateKey(key);
  }

  /** The key the reference derives from `network_name` and/or `passphrase`. */
  static derive(networkName: string | null, passphrase: string | null, size: number): InterfaceAccessCode {
    if (networkName === null && passphrase === null) throw new TypeError("IFAC needs a network name or a passphrase");
    const parts: Bytes[] = [];
    if (networkName !== null) parts.push(sha256(utf8(networkName)));
    if (passphrase !== null) parts.push(sha256(utf8(passphrase)));
    return new InterfaceAccessCode(hkdf(64, sha256(concat(...parts)), IFAC_SALT), size);
  }

  /** Adds the access code to an outgoing raw packet. */
  apply(raw: Bytes): Bytes {
    const code = this.#identity.sign(raw).subarray(64 - this.size);
    const mask = hkdf(raw.length + this.size, code, this.key);
    const out = new Uint8Array(raw.length + this.size);
    out[0] = (raw[0]! ^ mask[0]!) | IFAC_FLAG;
    out[1] = raw[1]! ^ mask[1]!;
    out.set(code, 2);
    for (let i = 2; i < raw.length; i++) out[i + this.size] = raw[i]! ^ mask[i + this.size]!;
    return out;
  }

  /** Checks and strips the access code of an incoming frame. */
  strip(frame: Bytes): Result<Bytes> {
    if (frame.length <= 2 + this.size) return err("too-short", "frame shorter than its access code");
    if ((frame[0]! & IFAC_FLAG) === 0) return err("bad-flags", "access code missing");
    const code = frame.subarray(2, 2 + this.size);
    const mask = hkdf(frame.length, code, this.key);
    const raw = new Uint8Array(frame.length - this.size);
    raw[0] = (frame[0]! ^ mask[0]!) & 0x7f;
    raw[1] = frame[1]! ^ mask[1]!;
    for (let i = 2 + this.size; i < frame.length; i++) raw[i - this.size] = frame[i]! ^ mask[i]!;
    const expected = this.#identity.sign(raw).subarray(64 - this.size);
    return equal(expected, code) ? ok(raw) : err("bad-mac", "access code mismatch");
  }
}
