// Known-answer tests: HKDF-SHA256 recorded from RNS 1.4.2 (test/vectors/rns-1.4.2-hkdf.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { toHex } from "../../runtime/core/bytes.js";
import { hkdf } from "../../runtime/crypto/hashes.js";
import { hex, hexOrNull, vectorFile } from "../helpers.js";

interface HkdfVector {
  description: string;
  length: number;
  ikm: string;
  salt: string | null;
  context: string | null;
  output: string;
}
interface HkdfVectors {
  hkdf: HkdfVector[];
}

const load = (): HkdfVectors => vectorFile<HkdfVectors>("rns-1.4.2-hkdf.json");
const label = (v: HkdfVector, i: number): string => `hkdf ${i} (${v.description})`;

/** RFC 5869 allows at most 255 blocks of SHA-256 output. */
const RFC_MAX_LENGTH = 255 * 32;

// Two reference quirks are local-misuse cases for us (we only ever call hkdf with fixed lengths up to
// 516 bytes and non-empty key material): our hkdf throws RangeError on both, deliberately.
const isEmptyIkm = (v: HkdfVector): boolean => v.ikm === "";
const isOverlong = (v: HkdfVector): boolean => v.length > RFC_MAX_LENGTH;

test("the hkdf vector file has entries, including the two reference quirks", () => {
  const v = load().hkdf;
  assert.ok(v.length > 0);
  assert.ok(v.some(isEmptyIkm), "an empty-IKM vector");
  assert.ok(v.some(isOverlong), "a vector longer than 255 blocks");
});

test("hkdf reproduces every reference output within RFC 5869's domain", async (t) => {
  for (const [i, v] of load().hkdf.entries()) {
    if (isEmptyIkm(v) || isOverlong(v)) continue;
    await t.test(label(v, i), () => {
      const out = hkdf(v.length, hex(v.ikm), hexOrNull(v.salt), hexOrNull(v.context));
      assert.equal(toHex(out), v.output, label(v, i));
    });
  }
});

test("hkdf throws RangeError on empty IKM, which the reference accepts (local misuse for us)", async (t) => {
  for (const [i, v] of load().hkdf.entries()) {
    if (!isEmptyIkm(v)) continue;
    await t.test(label(v, i), () => {
      assert.throws(() => hkdf(v.length, hex(v.ikm), hexOrNull(v.salt), hexOrNull(v.context)), RangeError, label(v, i));
    });
  }
});

test("hkdf throws RangeError past 255 blocks, where the reference wraps its counter (local misuse for us)", async (t) => {
  for (const [i, v] of load().hkdf.entries()) {
    if (!isOverlong(v)) continue;
    await t.test(label(v, i), () => {
      assert.throws(() => hkdf(v.length, hex(v.ikm), hexOrNull(v.salt), hexOrNull(v.context)), RangeError, label(v, i));
      // Up to the RFC limit the reference's counter has not wrapped yet, so the first 255 blocks agree.
      const head = hkdf(RFC_MAX_LENGTH, hex(v.ikm), hexOrNull(v.salt), hexOrNull(v.context));
      assert.equal(toHex(head), v.output.slice(0, RFC_MAX_LENGTH * 2), `${label(v, i)}: first 255 blocks`);
    });
  }
});
