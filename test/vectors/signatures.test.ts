// Known-answer tests: Ed25519 signatures recorded from RNS 1.4.2 (test/vectors/rns-1.4.2-signatures.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { toHex } from "../../runtime/core/bytes.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { hex, vectorFile } from "../helpers.js";

interface SignatureVector {
  private_key: string;
  public_key: string;
  message: string;
  signature: string;
}
interface InvalidSignatureVector {
  description: string;
  public_key: string;
  message: string;
  signature: string;
}
interface SignatureVectors {
  signatures: SignatureVector[];
  invalid: InvalidSignatureVector[];
}

const load = (): SignatureVectors => vectorFile<SignatureVectors>("rns-1.4.2-signatures.json");
const label = (v: SignatureVector, i: number): string => `signature ${i} (${v.message.length / 2}-byte message)`;
const invalidLabel = (v: InvalidSignatureVector, i: number): string => `invalid ${i} (${v.description})`;

test("the signature vector file has valid and invalid entries", () => {
  const v = load();
  assert.ok(v.signatures.length > 0 && v.invalid.length > 0);
});

test("Identity.sign reproduces every reference signature byte for byte", async (t) => {
  for (const [i, v] of load().signatures.entries()) {
    await t.test(label(v, i), () => {
      const id = Identity.fromPrivateKey(hex(v.private_key));
      assert.equal(toHex(id.publicKey), v.public_key, `${label(v, i)}: public key`);
      assert.equal(toHex(id.sign(hex(v.message))), v.signature, `${label(v, i)}: signature`);
    });
  }
});

test("Identity.verify accepts every reference signature", async (t) => {
  for (const [i, v] of load().signatures.entries()) {
    await t.test(label(v, i), () => {
      const pub = Identity.fromPublicKey(hex(v.public_key));
      assert.equal(pub.verify(hex(v.signature), hex(v.message)), true, `${label(v, i)}: verify (public-only identity)`);
      const prv = Identity.fromPrivateKey(hex(v.private_key));
      assert.equal(prv.verify(hex(v.signature), hex(v.message)), true, `${label(v, i)}: verify (private identity)`);
    });
  }
});

test("Identity.verify refuses every signature the reference refuses", async (t) => {
  for (const [i, v] of load().invalid.entries()) {
    await t.test(invalidLabel(v, i), () => {
      const pub = Identity.fromPublicKey(hex(v.public_key));
      assert.equal(pub.verify(hex(v.signature), hex(v.message)), false, `${invalidLabel(v, i)}: verify`);
    });
  }
});

test("Identity.verifyAsync agrees with the reference on every valid and invalid signature", async (t) => {
  const { signatures, invalid } = load();
  for (const [i, v] of signatures.entries()) {
    await t.test(label(v, i), async () => {
      const pub = Identity.fromPublicKey(hex(v.public_key));
      assert.equal(await pub.verifyAsync(hex(v.signature), hex(v.message)), true, `${label(v, i)}: verifyAsync`);
    });
  }
  for (const [i, v] of invalid.entries()) {
    await t.test(invalidLabel(v, i), async () => {
      const pub = Identity.fromPublicKey(hex(v.public_key));
      assert.equal(await pub.verifyAsync(hex(v.signature), hex(v.message)), false, `${invalidLabel(v, i)}: verifyAsync`);
    });
  }
});
