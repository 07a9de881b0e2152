// Our small-input SHA-256 must equal node:crypto's for every length and content.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nc from "node:crypto";
import { seededRandom } from "../../runtime/core/ports.js";
import { sha256 } from "../../runtime/crypto/hashes.js";
import { sha256Small } from "../../runtime/crypto/sha256-small.js";

test("sha256Small equals node:crypto for lengths 0..1100 (every padding case)", () => {
  const rng = seededRandom(9);
  for (let len = 0; len <= 1100; len++) {
    const data = rng.bytes(len);
    assert.equal(Buffer.from(sha256Small(data)).toString("hex"), nc.createHash("sha256").update(data).digest("hex"), `length ${len}`);
  }
});

test("sha256 picks either path and gives the same answer, including the FIPS 180-4 examples", () => {
  assert.equal(Buffer.from(sha256(new TextEncoder().encode("abc"))).toString("hex"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(Buffer.from(sha256(new Uint8Array(0))).toString("hex"), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const rng = seededRandom(10);
  for (const len of [55, 56, 57, 63, 64, 65, 1000]) {
    const data = rng.bytes(len);
    assert.deepEqual(sha256(data), new Uint8Array(nc.createHash("sha256").update(data).digest()));
  }
});

test("consecutive hashes do not leak state into each other", () => {
  const a = sha256Small(new Uint8Array([1, 2, 3]));
  sha256Small(new Uint8Array(200).fill(9));
  assert.deepEqual(sha256Small(new Uint8Array([1, 2, 3])), a);
});
