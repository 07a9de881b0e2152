// sha256 must equal node:crypto's Buffer digest for every length and content (it takes a faster path).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nc from "node:crypto";
import { seededRandom } from "../../runtime/core/ports.js";
import { hmacSha256, sha256, sha256Head32, sha256WithTails, truncatedHash } from "../../runtime/crypto/hashes.js";

test("sha256 equals createHash for lengths 0..1100, including the FIPS 180-4 examples", () => {
  assert.equal(Buffer.from(sha256(new TextEncoder().encode("abc"))).toString("hex"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(Buffer.from(sha256(new Uint8Array(0))).toString("hex"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const rng = seededRandom(9);
  for (let len = 0; len <= 1100; len++) {
    const data = rng.bytes(len);
    const expected = nc.createHash("sha256").update(data).digest();
    assert.deepEqual(sha256(data), new Uint8Array(expected), `length ${len}`);
    assert.deepEqual(truncatedHash(data), new Uint8Array(expected.subarray(0, 16)), `length ${len}`);
  }
});

test("hmacSha256 equals createHmac, with every byte value in key and digest", () => {
  const rng = seededRandom(10);
  for (let i = 0; i < 500; i++) {
    const key = rng.bytes(i % 80);
    const data = rng.bytes(i);
    assert.deepEqual(hmacSha256(key, data), new Uint8Array(nc.createHmac("sha256", key).update(data).digest()), `case ${i}`);
  }
});

test("sha256WithTails gives SHA-256(data || tail) for each tail, the data hashed once", () => {
  const data = nc.randomBytes(70_000);
  const withTail = sha256WithTails(data);
  for (const tail of [new Uint8Array(0), Uint8Array.of(1, 2, 3, 4), nc.randomBytes(32), nc.randomBytes(100)]) {
    const expected = nc.createHash("sha256").update(data).update(tail).digest();
    assert.deepEqual(withTail(tail), new Uint8Array(expected));
  }
  // The second tail is independent of the first (each call starts from the state after the data).
  const t1 = withTail(Uint8Array.of(9));
  assert.deepEqual(withTail(Uint8Array.of(9)), t1);
});

test("sha256Head32 is the first 4 digest bytes as a big-endian unsigned integer", () => {
  for (let len = 0; len < 600; len += 37) {
    const data = nc.randomBytes(len);
    assert.equal(sha256Head32(data), nc.createHash("sha256").update(data).digest().readUInt32BE(0), `length ${len}`);
  }
});
