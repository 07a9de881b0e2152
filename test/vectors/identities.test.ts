// Known-answer tests: identities recorded from RNS 1.4.2 (test/vectors/rns-1.4.2-identities.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { toHex } from "../../runtime/core/bytes.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { hex, vectorFile } from "../helpers.js";

interface IdentityVector {
  private_key: string;
  public_key: string;
  identity_hash: string;
}
interface IdentityVectors {
  identities: IdentityVector[];
}

const load = (): IdentityVectors => vectorFile<IdentityVectors>("rns-1.4.2-identities.json");
const label = (v: IdentityVector, i: number): string => `identity ${i} (hash ${v.identity_hash})`;

test("the identity vector file has entries", () => {
  assert.ok(load().identities.length > 0);
});

test("Identity.fromPrivateKey reproduces every reference public key and identity hash", async (t) => {
  for (const [i, v] of load().identities.entries()) {
    await t.test(label(v, i), () => {
      const id = Identity.fromPrivateKey(hex(v.private_key));
      assert.equal(toHex(id.publicKey), v.public_key, `${label(v, i)}: public key`);
      assert.equal(toHex(id.hash), v.identity_hash, `${label(v, i)}: identity hash`);
      assert.equal(toHex(id.privateKey), v.private_key, `${label(v, i)}: private key round trip`);
    });
  }
});

test("Identity.fromPublicKey gives every reference identity hash", async (t) => {
  for (const [i, v] of load().identities.entries()) {
    await t.test(label(v, i), () => {
      const id = Identity.fromPublicKey(hex(v.public_key));
      assert.equal(toHex(id.hash), v.identity_hash, `${label(v, i)}: identity hash from public key`);
      assert.equal(id.hasPrivateKey, false, `${label(v, i)}: public-only identity`);
    });
  }
});
