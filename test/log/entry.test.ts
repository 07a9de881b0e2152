// Log entries: signing, chaining, canonical decoding, forks, and refusal of anything tampered.
import { test } from "node:test";
import assert from "node:assert/strict";
import { utf8 } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { createEntry, decodeEntry, follows, isFork, verifyChain, verifyEntry, type LogEntry } from "../../runtime/log/entry.js";
import { packMsgpack } from "../../runtime/wire/msgpack.js";

const rng = seededRandom(51);
const alice = Identity.generate(rng);

function chain(n: number, who = alice): LogEntry[] {
  const out: LogEntry[] = [];
  for (let i = 0; i < n; i++) out.push(createEntry(who, out[i - 1] ?? null, 1_763_700_000_000 + i, "supply.handout", packMsgpack({ item: "water", qty: i })));
  return out;
}

test("a chain of entries verifies offline from its genesis entry alone", () => {
  const c = chain(20);
  assert.deepEqual(verifyChain(c), { ok: true });
  assert.equal(c[0]!.authorKey.length, 64);
  assert.equal(c[5]!.authorKey.length, 0, "only the genesis entry carries the key");
  assert.ok(follows(c[3]!, c[4]!));
});

test("encoded entries decode to the same fields and hash, and only canonical bytes are accepted", () => {
  for (const e of chain(5)) {
    const d = decodeEntry(e.encoded);
    assert.ok(d.ok);
    assert.deepEqual(d.value.hash, e.hash);
    assert.equal(d.value.kind, e.kind);
    assert.ok(verifyEntry(d.value, alice.publicKey).ok);
  }
});

test("every flipped byte of an entry is refused: by decoding, by the signature or by the chain", () => {
  const c = chain(3);
  const target = c[1]!;
  for (let i = 0; i < target.encoded.length; i++) {
    const bad = target.encoded.slice();
    bad[i]! ^= 0x01;
    const d = decodeEntry(bad);
    if (!d.ok) continue;
    const chained = [c[0]!, d.value, c[2]!];
    assert.equal(verifyChain(chained).ok, false, `byte ${i}`);
  }
});

test("a signature by someone else, a key that is not the author's, or a skipped seq is refused", () => {
  const mallory = Identity.generate(rng);
  const c = chain(3);
  const forged = createEntry(mallory, null, 1, "x", utf8("y"));
  assert.equal(verifyEntry({ ...c[1]!, signature: forged.signature }, alice.publicKey).ok, false);
  assert.equal(verifyEntry(c[1]!, mallory.publicKey).ok, false);
  assert.equal(verifyChain([c[0]!, c[2]!]).ok, false);
});

test("two different entries with one author and seq are a fork", () => {
  const g = chain(1)[0]!;
  const a = createEntry(alice, g, 10, "road.closed", utf8("north"));
  const b = createEntry(alice, g, 10, "road.closed", utf8("south"));
  assert.ok(isFork(a, b));
  assert.ok(!isFork(a, a));
  assert.ok(verifyEntry(a, alice.publicKey).ok && verifyEntry(b, alice.publicKey).ok, "both stay verifiable as evidence");
});

test("local misuse throws; random bytes never do", () => {
  assert.throws(() => createEntry(Identity.fromPublicKey(alice.publicKey), null, 1, "k", utf8("")), TypeError);
  assert.throws(() => createEntry(alice, null, 1, "", utf8("")), RangeError);
  assert.throws(() => createEntry(alice, null, 1, "k", new Uint8Array(20_000)), RangeError);
  const r = seededRandom(52);
  for (let i = 0; i < 5000; i++) assert.equal(typeof decodeEntry(r.bytes(r.next32() % 300)).ok, "boolean");
});
