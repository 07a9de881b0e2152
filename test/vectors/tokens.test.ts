// Known-answer tests: Tokens and identity encryption recorded from RNS 1.4.2 (test/vectors/rns-1.4.2-tokens.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { toHex } from "../../runtime/core/bytes.js";
import { hkdf } from "../../runtime/crypto/hashes.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { ratchetIdOf, ratchetPublicKey } from "../../runtime/crypto/ratchet.js";
import { Token } from "../../runtime/crypto/token.js";
import { fixedRandom, hex, vectorFile } from "../helpers.js";

interface TokenVector {
  description: string;
  key: string;
  iv: string;
  plaintext: string;
  token: string;
}
interface LenientTokenVector {
  description: string;
  key: string;
  token: string;
  plaintext: string;
}
interface DecryptQuirkVector {
  description: string;
  recipient_private_key: string;
  token: string;
  plaintext: string;
}
interface InvalidTokenVector {
  description: string;
  key: string;
  token: string;
}
interface IdentityEncryptVector {
  description: string;
  recipient_private_key: string;
  recipient_public_key: string;
  ephemeral_private_key: string;
  ephemeral_public_key: string;
  iv: string;
  plaintext: string;
  ratchet_private_key: string | null;
  ratchet_public_key: string | null;
  shared_key: string;
  derived_key: string;
  token: string;
}
interface ReferenceRandomVector {
  description: string;
  recipient_private_key: string;
  plaintext: string;
  ratchet_private_key: string | null;
  token: string;
}
interface InvalidIdentityTokenVector {
  description: string;
  recipient_private_key: string;
  token: string;
}
interface TokenVectors {
  tokens: TokenVector[];
  token_lenient: LenientTokenVector[];
  token_invalid: InvalidTokenVector[];
  identity_encrypt: IdentityEncryptVector[];
  reference_random: ReferenceRandomVector[];
  invalid: InvalidIdentityTokenVector[];
  identity_decrypt_quirks: DecryptQuirkVector[];
}

const load = (): TokenVectors => vectorFile<TokenVectors>("rns-1.4.2-tokens.json");
const label = (section: string, v: { description: string }, i: number): string => `${section} ${i} (${v.description})`;
/** A random source that must not be drawn from: every fixed value is passed explicitly. */
const noRandom = (): ReturnType<typeof fixedRandom> => fixedRandom();

test("the token vector file has every section", () => {
  const v = load();
  for (const k of ["tokens", "token_lenient", "token_invalid", "identity_encrypt", "reference_random", "invalid", "identity_decrypt_quirks"] as const) {
    assert.ok(v[k].length > 0, `section ${k}`);
  }
});

test("Token with a fixed IV reproduces every reference token", async (t) => {
  for (const [i, v] of load().tokens.entries()) {
    const l = label("tokens", v, i);
    await t.test(l, () => {
      const token = new Token(hex(v.key)).encrypt(hex(v.plaintext), noRandom(), hex(v.iv));
      assert.equal(toHex(token), v.token, l);
    });
  }
});

test("Token with the IV drawn from the random source reproduces every reference token", async (t) => {
  for (const [i, v] of load().tokens.entries()) {
    const l = label("tokens", v, i);
    await t.test(l, () => {
      const token = new Token(hex(v.key)).encrypt(hex(v.plaintext), fixedRandom(hex(v.iv)));
      assert.equal(toHex(token), v.token, l);
    });
  }
});

test("Token decrypts every reference token", async (t) => {
  for (const [i, v] of load().tokens.entries()) {
    const l = label("tokens", v, i);
    await t.test(l, () => {
      const res = new Token(hex(v.key)).decrypt(hex(v.token));
      assert.ok(res.ok, `${l}: ${res.ok ? "" : res.reason}`);
      assert.equal(toHex(res.value), v.plaintext, l);
    });
  }
});

test("one Token instance reproduces and decrypts the reference tokens back to back (reused cipher contexts)", () => {
  const byKey = new Map<string, Token>();
  const v = load().tokens;
  for (const round of [0, 1]) {
    for (const [i, e] of v.entries()) {
      const l = `${label("tokens", e, i)}, round ${round}`;
      let tok = byKey.get(e.key);
      if (tok === undefined) byKey.set(e.key, (tok = new Token(hex(e.key))));
      assert.equal(toHex(tok.encrypt(hex(e.plaintext), noRandom(), hex(e.iv))), e.token, `${l}: encrypt`);
      const res = tok.decrypt(hex(e.token));
      assert.ok(res.ok && toHex(res.value) === e.plaintext, `${l}: decrypt`);
    }
  }
});

test("Token refuses padding the reference tolerates (token_lenient; deliberate strictness)", async (t) => {
  for (const [i, v] of load().token_lenient.entries()) {
    const l = label("token_lenient", v, i);
    await t.test(`${l}: refuses padding the reference tolerates`, () => {
      const res = new Token(hex(v.key)).decrypt(hex(v.token));
      assert.equal(res.ok, false, `${l}: the reference decrypts this to ${v.plaintext || "(empty)"}; we refuse it`);
      assert.equal(res.ok ? "" : res.reason, "bad-padding", `${l}: refusal reason`);
    });
  }
});

test("Token refuses every token the reference refuses (token_invalid)", async (t) => {
  for (const [i, v] of load().token_invalid.entries()) {
    const l = label("token_invalid", v, i);
    await t.test(l, () => {
      const res = new Token(hex(v.key)).decrypt(hex(v.token));
      assert.equal(res.ok, false, l);
    });
  }
});

test("Identity.encrypt with fixed ephemeral key and IV reproduces every reference token", async (t) => {
  for (const [i, v] of load().identity_encrypt.entries()) {
    const l = label("identity_encrypt", v, i);
    await t.test(l, () => {
      const recipient = Identity.fromPublicKey(hex(v.recipient_public_key));
      const options: { ratchet?: Uint8Array; ephemeralPrivateKey: Uint8Array; iv: Uint8Array } = {
        ephemeralPrivateKey: hex(v.ephemeral_private_key),
        iv: hex(v.iv),
      };
      if (v.ratchet_private_key !== null) {
        const ratchetPub = ratchetPublicKey(hex(v.ratchet_private_key));
        assert.equal(toHex(ratchetPub), v.ratchet_public_key, `${l}: ratchet public key`);
        options.ratchet = ratchetPub;
      }
      const token = recipient.encrypt(hex(v.plaintext), noRandom(), options);
      assert.equal(toHex(token.subarray(0, 32)), v.ephemeral_public_key, `${l}: ephemeral public key`);
      assert.equal(toHex(token), v.token, `${l}: token`);
      // The recorded intermediates: Token key = HKDF(64, shared key, salt = identity hash).
      assert.equal(toHex(hkdf(64, hex(v.shared_key), recipient.hash)), v.derived_key, `${l}: derived key from shared key`);
    });
  }
});

test("Identity.encrypt with the ephemeral key and IV drawn from the random source reproduces every reference token", async (t) => {
  for (const [i, v] of load().identity_encrypt.entries()) {
    const l = label("identity_encrypt", v, i);
    await t.test(l, () => {
      const recipient = Identity.fromPrivateKey(hex(v.recipient_private_key));
      assert.equal(toHex(recipient.publicKey), v.recipient_public_key, `${l}: recipient public key`);
      const options = v.ratchet_private_key === null ? {} : { ratchet: ratchetPublicKey(hex(v.ratchet_private_key)) };
      const token = recipient.encrypt(hex(v.plaintext), fixedRandom(hex(v.ephemeral_private_key), hex(v.iv)), options);
      assert.equal(toHex(token), v.token, l);
    });
  }
});

test("Identity.decrypt recovers every identity_encrypt plaintext (with the ratchet when there is one)", async (t) => {
  for (const [i, v] of load().identity_encrypt.entries()) {
    const l = label("identity_encrypt", v, i);
    await t.test(l, () => {
      const recipient = Identity.fromPrivateKey(hex(v.recipient_private_key));
      const token = hex(v.token);
      if (v.ratchet_private_key === null) {
        const res = recipient.decrypt(token);
        assert.ok(res.ok, `${l}: decrypt: ${res.ok ? "" : res.reason}`);
        assert.equal(toHex(res.value.plaintext), v.plaintext, `${l}: plaintext`);
        assert.equal(res.value.ratchetId, null, `${l}: no ratchet id`);
        assert.equal(recipient.decrypt(token, [], true).ok, false, `${l}: enforced ratchets without any refuse it`);
      } else {
        const ratchet = hex(v.ratchet_private_key);
        for (const enforce of [false, true]) {
          const res = recipient.decrypt(token, [ratchet], enforce);
          assert.ok(res.ok, `${l}: decrypt (enforce ${enforce}): ${res.ok ? "" : res.reason}`);
          assert.equal(toHex(res.value.plaintext), v.plaintext, `${l}: plaintext (enforce ${enforce})`);
          assert.equal(toHex(res.value.ratchetId ?? new Uint8Array(0)), toHex(ratchetIdOf(hex(v.ratchet_public_key!))), `${l}: ratchet id`);
        }
        // The reference also refuses a ratchet token without its ratchet.
        assert.equal(recipient.decrypt(token).ok, false, `${l}: refused without the ratchet`);
      }
    });
  }
});

test("Identity.decrypt recovers every reference_random plaintext", async (t) => {
  for (const [i, v] of load().reference_random.entries()) {
    const l = label("reference_random", v, i);
    await t.test(l, () => {
      const recipient = Identity.fromPrivateKey(hex(v.recipient_private_key));
      const ratchets = v.ratchet_private_key === null ? [] : [hex(v.ratchet_private_key)];
      const res = recipient.decrypt(hex(v.token), ratchets);
      assert.ok(res.ok, `${l}: decrypt: ${res.ok ? "" : res.reason}`);
      assert.equal(toHex(res.value.plaintext), v.plaintext, `${l}: plaintext`);
      if (v.ratchet_private_key !== null) {
        assert.equal(
          toHex(res.value.ratchetId ?? new Uint8Array(0)),
          toHex(ratchetIdOf(ratchetPublicKey(hex(v.ratchet_private_key)))),
          `${l}: ratchet id`,
        );
      }
    });
  }
});

test("Identity.decrypt refuses every token the reference refuses (invalid)", async (t) => {
  for (const [i, v] of load().invalid.entries()) {
    const l = label("invalid", v, i);
    await t.test(l, () => {
      const recipient = Identity.fromPrivateKey(hex(v.recipient_private_key));
      const res = recipient.decrypt(hex(v.token));
      assert.equal(res.ok, false, l);
    });
  }
});

test("Identity.decrypt accepts what the reference accepts in identity_decrypt_quirks", async (t) => {
  for (const [i, v] of load().identity_decrypt_quirks.entries()) {
    const l = label("identity_decrypt_quirks", v, i);
    await t.test(l, () => {
      const recipient = Identity.fromPrivateKey(hex(v.recipient_private_key));
      const res = recipient.decrypt(hex(v.token));
      assert.ok(res.ok, `${l}: decrypt: ${res.ok ? "" : res.reason}`);
      assert.equal(toHex(res.value.plaintext), v.plaintext, `${l}: plaintext`);
    });
  }
});
