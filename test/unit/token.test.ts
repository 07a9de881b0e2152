// Token (Fernet without version/timestamp) and HKDF behaviour.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nc from "node:crypto";
import { seededRandom } from "../../runtime/core/ports.js";
import { Token } from "../../runtime/crypto/token.js";
import { hkdf, hmacSha256 } from "../../runtime/crypto/hashes.js";
import { concat } from "../../runtime/core/bytes.js";

const rng = seededRandom(2);

test("64-byte keys use AES-256 with the second half as cipher key and the first as HMAC key", () => {
  const key = rng.bytes(64);
  const iv = rng.bytes(16);
  const pt = rng.bytes(50);
  const token = new Token(key).encrypt(pt, rng, iv);
  const c = nc.createCipheriv("aes-256-cbc", key.subarray(32), iv);
  const body = concat(iv, c.update(pt), c.final());
  assert.deepEqual(token, concat(body, hmacSha256(key.subarray(0, 32), body)));
});

test("32-byte keys select AES-128 and round-trip", () => {
  const t = new Token(rng.bytes(32));
  const pt = rng.bytes(33);
  const res = t.decrypt(t.encrypt(pt, rng));
  assert.ok(res.ok);
  assert.deepEqual(res.value, pt);
});

test("keys of other sizes are refused", () => {
  assert.throws(() => new Token(new Uint8Array(48)), RangeError);
});

test("decrypt rejects bad MAC, bad length and bad padding with reasons", () => {
  const key = rng.bytes(64);
  const t = new Token(key);
  const tok = t.encrypt(rng.bytes(20), rng);
  const badMac = tok.slice();
  badMac[badMac.length - 1]! ^= 1;
  assert.deepEqual(t.decrypt(badMac), { ok: false, reason: "bad-mac" });
  assert.equal(t.decrypt(tok.subarray(0, 47)).ok, false);
  assert.equal(t.decrypt(tok.subarray(0, tok.length - 1)).ok, false);
  // A correctly MACed token whose plaintext padding is wrong (only a key holder can make one).
  const iv = rng.bytes(16);
  const c = nc.createCipheriv("aes-256-cbc", key.subarray(32), iv);
  c.setAutoPadding(false);
  const body = concat(iv, c.update(new Uint8Array(16).fill(0)), c.final());
  const forged = concat(body, hmacSha256(key.subarray(0, 32), body));
  assert.equal(t.decrypt(forged).ok, false);
});

test("hkdf with no salt equals RFC 5869 with a zero salt", () => {
  const ikm = rng.bytes(32);
  const a = hkdf(64, ikm, null);
  const b = hkdf(64, ikm, new Uint8Array(32));
  assert.deepEqual(a, b);
  assert.equal(hkdf(100, ikm, rng.bytes(16)).length, 100);
  assert.throws(() => hkdf(0, ikm, null), RangeError);
  assert.throws(() => hkdf(32, new Uint8Array(0), null), RangeError);
});

test("one-shot encryption and decryption agree with Token byte for byte", async () => {
  const { tokenEncryptOnce, tokenDecryptOnce } = await import("../../runtime/crypto/token.js");
  for (const len of [0, 1, 15, 16, 17, 100, 383]) {
    const key = rng.bytes(64);
    const iv = rng.bytes(16);
    const pt = rng.bytes(len);
    const once = tokenEncryptOnce(key, pt, rng, iv);
    assert.deepEqual(once, new Token(key).encrypt(pt, rng, iv), `length ${len}`);
    const back = tokenDecryptOnce(key, once);
    assert.ok(back.ok);
    assert.deepEqual(back.value, pt);
    const bad = once.slice();
    bad[20]! ^= 1;
    assert.deepEqual(tokenDecryptOnce(key, bad), { ok: false, reason: "bad-mac" });
  }
});

test("a long-lived Token stays correct across many messages and interleaved failures", () => {
  const key = rng.bytes(64);
  const sender = new Token(key);
  const receiver = new Token(key);
  for (let i = 0; i < 200; i++) {
    const pt = rng.bytes(i % 50);
    const tok = sender.encrypt(pt, rng);
    if (i % 7 === 0) {
      const bad = tok.slice();
      bad[bad.length - 1]! ^= 1;
      assert.equal(receiver.decrypt(bad).ok, false);
    }
    const res = receiver.decrypt(tok);
    assert.ok(res.ok, `message ${i}`);
    assert.deepEqual(res.value, pt);
  }
});

test("encryption in pieces equals encryption of the joined plaintext, for small and piecewise-large inputs", () => {
  const key = rng.bytes(64);
  const a = new Token(key);
  const b = new Token(key);
  const oneShot = (iv: Uint8Array, pt: Uint8Array): Uint8Array => {
    const c = nc.createCipheriv("aes-256-cbc", key.subarray(32), iv);
    const body = concat(iv, c.update(pt), c.final());
    return concat(body, hmacSha256(key.subarray(0, 32), body));
  };
  // 200 KiB crosses the 64 KiB pieces the cipher is fed; lengths around block edges check the padding.
  for (const length of [0, 1, 15, 16, 17, 4 + 65536, 200 * 1024 + 3]) {
    const pt = rng.bytes(length);
    const iv = rng.bytes(16);
    const cut = Math.min(4, length);
    const joined = a.encrypt(pt, rng, iv);
    const pieces = b.encrypt([pt.subarray(0, cut), pt.subarray(cut)], rng, iv);
    assert.deepEqual(pieces, joined, `length ${length}`);
    assert.deepEqual(joined, oneShot(iv, pt), `length ${length}`);
  }
});

test("decryptInPlace yields what decrypt does, as a view into the token, and leaves a token with a bad MAC alone", () => {
  const key = rng.bytes(64);
  const sender = new Token(key);
  const inPlace = new Token(key);
  const copying = new Token(key);
  for (const length of [1, 16, 100, 70_000, 300_000, 5]) {
    const pt = rng.bytes(length);
    const tok = sender.encrypt(pt, rng);
    const expected = copying.decrypt(tok);
    assert.ok(expected.ok);
    const bad = tok.slice();
    bad[20]! ^= 1;
    const badCopy = bad.slice();
    assert.equal(inPlace.decryptInPlace(bad).ok, false);
    assert.deepEqual(bad, badCopy, "a token failing its MAC is not touched");
    const owned = tok.slice();
    const r = inPlace.decryptInPlace(owned);
    assert.ok(r.ok, `length ${length}`);
    assert.deepEqual(r.value, pt);
    assert.equal(r.value.buffer, owned.buffer, "the plaintext is a view into the token");
    assert.deepEqual(expected.value, pt);
  }
});
