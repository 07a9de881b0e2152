// The worker-thread verifier gives exactly the answers of synchronous verification.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { VerifyPool } from "../../runtime/crypto/verify-pool.js";
import { announceRandomHash, buildAnnounce, validateAnnounce, validateAnnounceAsync } from "../../runtime/wire/announce.js";
import { nameHash } from "../../runtime/wire/destination.js";
import { decodePacket, encodePacket } from "../../runtime/wire/packet.js";

const rng = seededRandom(11);

test("valid and tampered signatures get the same verdict from the pool as from verify()", async (t) => {
  const pool = new VerifyPool(2);
  t.after(() => pool.close());
  const cases: Array<[Identity, Uint8Array, Uint8Array]> = [];
  for (let i = 0; i < 300; i++) {
    const id = Identity.generate(rng);
    const msg = rng.bytes(i % 200);
    const sig = id.sign(msg);
    if (i % 3 === 1) sig[i % 64]! ^= 1;
    if (i % 3 === 2 && msg.length > 0) msg[0]! ^= 1;
    cases.push([id, sig, msg]);
  }
  const verdicts = await Promise.all(cases.map(([id, sig, msg]) => pool.verify(id.signingPublicKey, sig, msg)));
  cases.forEach(([id, sig, msg], i) => assert.equal(verdicts[i], id.verify(sig, msg), `case ${i}`));
  assert.ok(verdicts.some((v) => v) && verdicts.some((v) => !v));
});

test("wrong-sized keys or signatures are invalid without a round trip", async (t) => {
  const pool = new VerifyPool(1);
  t.after(() => pool.close());
  assert.equal(await pool.verify(new Uint8Array(31), new Uint8Array(64), new Uint8Array(1)), false);
  assert.equal(await pool.verify(new Uint8Array(32), new Uint8Array(63), new Uint8Array(1)), false);
  // An all-zero key is not a usable point: invalid, not a crash.
  assert.equal(await pool.verify(new Uint8Array(32), new Uint8Array(64), new Uint8Array(1)), false);
});

test("announces validated through the pool match validateAnnounce", async (t) => {
  const pool = new VerifyPool(2);
  t.after(() => pool.close());
  const raws: Uint8Array[] = [];
  for (let i = 0; i < 50; i++) {
    const raw = encodePacket(buildAnnounce(Identity.generate(rng), nameHash("kos", ["pool"]), { randomHash: announceRandomHash(rng, 1e12) }));
    if (i % 2 === 1) raw[60]! ^= 4;
    raws.push(raw);
  }
  for (const raw of raws) {
    const d = decodePacket(raw);
    assert.ok(d.ok);
    const a = await validateAnnounceAsync(d.value, pool);
    const b = validateAnnounce(d.value);
    assert.equal(a.ok, b.ok);
    if (!a.ok && !b.ok) assert.equal(a.reason, b.reason);
  }
});

test("after close, verify rejects and the process can exit", async () => {
  const pool = new VerifyPool(1);
  await pool.close();
  await assert.rejects(pool.verify(new Uint8Array(32), new Uint8Array(64), new Uint8Array(0)));
});
