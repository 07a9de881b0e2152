// Identities: keys, signatures and encryption, checked against tweetnacl as an independent implementation.
import { test } from "node:test";
import assert from "node:assert/strict";
import nacl from "tweetnacl";
import { concat, equal, utf8 } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { sha256 } from "../../runtime/crypto/hashes.js";
import { generateRatchet, ratchetIdOf, ratchetPublicKey } from "../../runtime/crypto/ratchet.js";

const rng = seededRandom(1);

test("public key is X25519 public || Ed25519 public of the private halves (tweetnacl agrees)", () => {
  for (let i = 0; i < 20; i++) {
    const id = Identity.generate(rng);
    const prv = id.privateKey;
    const xPub = nacl.scalarMult.base(prv.subarray(0, 32));
    const edPub = nacl.sign.keyPair.fromSeed(prv.subarray(32)).publicKey;
    assert.deepEqual(id.publicKey, concat(xPub, edPub));
  }
});

test("identity hash is the first 16 bytes of SHA-256 of the public key", () => {
  const id = Identity.generate(rng);
  assert.deepEqual(id.hash, sha256(id.publicKey).subarray(0, 16));
});

test("signatures equal tweetnacl's (Ed25519 is deterministic) and verify", () => {
  const id = Identity.generate(rng);
  const kp = nacl.sign.keyPair.fromSeed(id.privateKey.subarray(32));
  for (const len of [0, 1, 64, 500]) {
    const msg = rng.bytes(len);
    const sig = id.sign(msg);
    assert.deepEqual(sig, nacl.sign.detached(msg, kp.secretKey));
    assert.ok(Identity.fromPublicKey(id.publicKey).verify(sig, msg));
  }
});

test("a signature does not verify for another message, key or a flipped bit", () => {
  const a = Identity.generate(rng);
  const b = Identity.generate(rng);
  const msg = utf8("kos-edge");
  const sig = a.sign(msg);
  assert.equal(a.verify(sig, utf8("kos-edgf")), false);
  assert.equal(b.verify(sig, msg), false);
  for (let bit = 0; bit < 512; bit += 7) {
    const bad = sig.slice();
    bad[bit >> 3]! ^= 1 << (bit & 7);
    assert.equal(a.verify(bad, msg), false, `bit ${bit}`);
  }
  assert.equal(a.verify(sig.subarray(0, 63), msg), false);
});

test("encrypt then decrypt returns the plaintext, for every length up to 600", () => {
  const id = Identity.generate(rng);
  const pub = Identity.fromPublicKey(id.publicKey);
  for (let len = 0; len <= 600; len += 37) {
    const pt = rng.bytes(len);
    const res = id.decrypt(pub.encrypt(pt, rng));
    assert.ok(res.ok);
    assert.deepEqual(res.value.plaintext, pt);
    assert.equal(res.value.ratchetId, null);
  }
});

test("token size is 32 + 16 + padded length + 32", () => {
  const id = Identity.generate(rng);
  for (const len of [0, 15, 16, 17, 383]) {
    const ct = id.encrypt(rng.bytes(len), rng);
    assert.equal(ct.length, 32 + 16 + (Math.floor(len / 16) + 1) * 16 + 32);
  }
});

test("a token encrypted to a ratchet decrypts with that ratchet and reports its id", () => {
  const id = Identity.generate(rng);
  const ratchets = [generateRatchet(rng), generateRatchet(rng), generateRatchet(rng)];
  const pub = ratchetPublicKey(ratchets[1]!);
  const ct = Identity.fromPublicKey(id.publicKey).encrypt(utf8("hello"), rng, { ratchet: pub });
  const res = id.decrypt(ct, ratchets);
  assert.ok(res.ok);
  assert.deepEqual(res.value.plaintext, utf8("hello"));
  assert.deepEqual(res.value.ratchetId, ratchetIdOf(pub));
  // Without the ratchet, the identity key cannot decrypt it.
  assert.equal(id.decrypt(ct).ok, false);
});

test("with ratchets enforced, a token to the identity key is refused", () => {
  const id = Identity.generate(rng);
  const ct = id.encrypt(utf8("x"), rng);
  assert.equal(id.decrypt(ct, [generateRatchet(rng)], true).ok, false);
  assert.ok(id.decrypt(ct, [generateRatchet(rng)], false).ok);
});

test("tampering with any byte of a token makes decryption fail, never throw", () => {
  const id = Identity.generate(rng);
  const ct = id.encrypt(rng.bytes(40), rng);
  for (let i = 0; i < ct.length; i++) {
    const bad = ct.slice();
    bad[i]! ^= 0x01;
    const res = id.decrypt(bad);
    assert.equal(res.ok, false, `byte ${i}`);
  }
  for (let n = 0; n < ct.length; n += 5) assert.equal(id.decrypt(ct.subarray(0, n)).ok, false);
});

test("another identity cannot decrypt", () => {
  const a = Identity.generate(rng);
  const b = Identity.generate(rng);
  assert.equal(b.decrypt(a.encrypt(utf8("secret"), rng)).ok, false);
});

test("public-only identities refuse to sign or decrypt (local misuse throws)", () => {
  const pub = Identity.fromPublicKey(Identity.generate(rng).publicKey);
  assert.equal(pub.hasPrivateKey, false);
  assert.throws(() => pub.sign(utf8("x")), TypeError);
  assert.throws(() => pub.decrypt(new Uint8Array(100)), TypeError);
  assert.throws(() => Identity.fromPrivateKey(new Uint8Array(63)), RangeError);
  assert.throws(() => Identity.fromPublicKey(new Uint8Array(65)), RangeError);
});

test("identities built from the same private key are equal", () => {
  const a = Identity.generate(rng);
  const b = Identity.fromPrivateKey(a.privateKey);
  assert.ok(equal(a.publicKey, b.publicKey));
  assert.ok(equal(a.hash, b.hash));
});
