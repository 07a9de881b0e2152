// Ed25519 and X25519 on node:crypto (OpenSSL), with raw 32-byte keys at the edges.
// Importing a raw key costs a sizeable share of a verify, so public keys come in through JWK
// (the cheapest path measured) and imported keys are cached in a bounded map.
import * as nc from "node:crypto";
import { view, type Bytes } from "../core/bytes.js";
import { assertLength } from "../core/assert.js";

const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");
const PKCS8_X25519 = Buffer.from("302e020100300506032b656e04220420", "hex");

function b64url(b: Bytes): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("base64url");
}

/** A small LRU of imported public keys, keyed by the raw key (bounded; see CACHE_SIZE). */
const CACHE_SIZE = 2048;
const edPublicCache = new Map<string, nc.KeyObject | null>();

function cacheGet(map: Map<string, nc.KeyObject | null>, k: string): nc.KeyObject | null | undefined {
  const v = map.get(k);
  if (v !== undefined) {
    map.delete(k);
    map.set(k, v);
  }
  return v;
}

function cachePut(map: Map<string, nc.KeyObject | null>, k: string, v: nc.KeyObject | null): void {
  if (map.size >= CACHE_SIZE) map.delete(map.keys().next().value as string);
  map.set(k, v);
}

/** Imports a raw Ed25519 public key; null when OpenSSL refuses it. */
export function ed25519PublicKey(raw: Bytes): nc.KeyObject | null {
  assertLength(raw, 32, "Ed25519 public key");
  const k = b64url(raw);
  const hit = cacheGet(edPublicCache, k);
  if (hit !== undefined) return hit;
  let key: nc.KeyObject | null;
  try {
    key = nc.createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: k }, format: "jwk" });
  } catch {
    key = null;
  }
  cachePut(edPublicCache, k, key);
  return key;
}

// Private keys: a JWK import is about 10x cheaper than PKCS#8 DER. Node requires the JWK's "x" member
// but derives the public key from "d" alone; we pass a placeholder and check at start-up that the derived
// key matches the DER path, falling back to DER if a Node version ever behaves otherwise.
const X_PLACEHOLDER = "A".repeat(43);
let jwkPrivateImport = true;

function importPrivate(crv: "Ed25519" | "X25519", raw: Bytes, pkcs8Prefix: Buffer): nc.KeyObject {
  if (jwkPrivateImport) {
    try {
      return nc.createPrivateKey({ key: { kty: "OKP", crv, d: b64url(raw), x: X_PLACEHOLDER }, format: "jwk" });
    } catch {
      jwkPrivateImport = false;
    }
  }
  return nc.createPrivateKey({ key: Buffer.concat([pkcs8Prefix, raw]), format: "der", type: "pkcs8" });
}

export function ed25519PrivateKey(seed: Bytes): nc.KeyObject {
  assertLength(seed, 32, "Ed25519 seed");
  return importPrivate("Ed25519", seed, PKCS8_ED25519);
}

export function x25519PrivateKey(raw: Bytes): nc.KeyObject {
  assertLength(raw, 32, "X25519 private key");
  return importPrivate("X25519", raw, PKCS8_X25519);
}

(function selfTestPrivateImport(): void {
  const probe = new Uint8Array(32).fill(7);
  for (const [crv, prefix] of [["Ed25519", PKCS8_ED25519], ["X25519", PKCS8_X25519]] as const) {
    const der = nc.createPrivateKey({ key: Buffer.concat([prefix, probe]), format: "der", type: "pkcs8" });
    try {
      const jwk = nc.createPrivateKey({ key: { kty: "OKP", crv, d: b64url(probe), x: X_PLACEHOLDER }, format: "jwk" });
      const a = nc.createPublicKey(jwk).export({ format: "jwk" }).x;
      const b = nc.createPublicKey(der).export({ format: "jwk" }).x;
      if (a !== b) jwkPrivateImport = false;
    } catch {
      jwkPrivateImport = false;
    }
  }
})();

/** Imports a raw X25519 public key; null when refused. Not cached: peers' ephemeral keys are single-use. */
export function x25519PublicKey(raw: Bytes): nc.KeyObject | null {
  assertLength(raw, 32, "X25519 public key");
  try {
    return nc.createPublicKey({ key: { kty: "OKP", crv: "X25519", x: b64url(raw) }, format: "jwk" });
  } catch {
    return null;
  }
}

export function rawPublicOf(privateKey: nc.KeyObject): Bytes {
  const jwk = nc.createPublicKey(privateKey).export({ format: "jwk" });
  return view(Buffer.from(jwk.x as string, "base64url"));
}

export function ed25519Sign(key: nc.KeyObject, message: Bytes): Bytes {
  return view(nc.sign(null, message, key));
}

export function ed25519Verify(key: nc.KeyObject | null, signature: Bytes, message: Bytes): boolean {
  if (key === null || signature.length !== 64) return false;
  try {
    return nc.verify(null, message, key, signature);
  } catch {
    return false;
  }
}

/**
 * Verifies on libuv's thread pool, so a host can keep several verifications in flight on a multi-core
 * gateway while its event loop goes on. Same answers as ed25519Verify.
 */
export function ed25519VerifyAsync(key: nc.KeyObject | null, signature: Bytes, message: Bytes): Promise<boolean> {
  if (key === null || signature.length !== 64) return Promise.resolve(false);
  return new Promise((resolve) => {
    try {
      nc.verify(null, message, key, signature, (error, valid) => resolve(error === null && valid));
    } catch {
      resolve(false);
    }
  });
}

/** X25519 shared secret; null when the peer key is unusable (for example a low-order point). */
export function x25519Exchange(privateKey: nc.KeyObject, publicKey: nc.KeyObject): Bytes | null {
  try {
    return view(nc.diffieHellman({ privateKey, publicKey }));
  } catch {
    return null;
  }
}
