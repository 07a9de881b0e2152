// Fuzz/property tests for remote-input decoders: random and mutated bytes never throw.
// Seeded: a failure message names the seed and case so it replays exactly (KOS_FUZZ_SEED to vary).
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { announceRandomHash, buildAnnounce, parseAnnounce, validateAnnounce } from "../../runtime/wire/announce.js";
import { nameHash } from "../../runtime/wire/destination.js";
import { InterfaceAccessCode } from "../../runtime/wire/ifac.js";
import { decodePacket, encodePacket } from "../../runtime/wire/packet.js";

const SEED = Number(process.env["KOS_FUZZ_SEED"] ?? 20261121);

function mutate(rng: ReturnType<typeof seededRandom>, input: Uint8Array): Uint8Array {
  const b = Array.from(input);
  const n = 1 + (rng.next32() % 4);
  for (let i = 0; i < n; i++) {
    const op = rng.next32() % 4;
    const at = b.length === 0 ? 0 : rng.next32() % b.length;
    if (op === 0 && b.length > 0) b[at] = rng.next32() & 0xff;
    else if (op === 1) b.splice(at, 0, rng.next32() & 0xff);
    else if (op === 2) b.splice(at, 1);
    else b.length = rng.next32() % (b.length + 1);
  }
  return Uint8Array.from(b);
}

test("decodePacket, parseAnnounce and validateAnnounce never throw on random bytes", () => {
  const rng = seededRandom(SEED);
  for (let i = 0; i < 20_000; i++) {
    const input = rng.bytes(rng.next32() % 600);
    try {
      const d = decodePacket(input);
      if (d.ok) {
        parseAnnounce(d.value);
        if (i % 10 === 0) validateAnnounce({ ...d.value, packetType: 1 });
        assert.deepEqual(encodePacket(d.value, 8192), input, "valid packets re-encode to themselves");
      }
    } catch (e) {
      assert.fail(`seed ${SEED} case ${i}: ${(e as Error).message}`);
    }
  }
});

test("mutated announces never throw and validate only when unchanged in covered bytes", () => {
  const rng = seededRandom(SEED + 1);
  const id = Identity.generate(rng);
  const raw = encodePacket(
    buildAnnounce(id, nameHash("kos", ["fuzz"]), { randomHash: announceRandomHash(rng, 1_763_700_000_000), appData: rng.bytes(20) }),
  );
  let valid = 0;
  for (let i = 0; i < 3_000; i++) {
    const m = mutate(rng, raw);
    try {
      const d = decodePacket(m);
      if (!d.ok) continue;
      const v = validateAnnounce(d.value);
      if (v.ok) {
        valid++;
        // Only the hop count may differ.
        assert.equal(m.length, raw.length, `seed ${SEED + 1} case ${i}`);
        assert.deepEqual(m.subarray(2), raw.subarray(2), `seed ${SEED + 1} case ${i}`);
        assert.equal(m[0], raw[0], `seed ${SEED + 1} case ${i}`);
      }
    } catch (e) {
      assert.fail(`seed ${SEED + 1} case ${i}: ${(e as Error).message}`);
    }
  }
  assert.ok(valid < 3_000);
});

test("IFAC strip never throws on random or mutated frames", () => {
  const rng = seededRandom(SEED + 2);
  const ifac = InterfaceAccessCode.derive("fuzz", "net", 8);
  const good = ifac.apply(rng.bytes(80));
  for (let i = 0; i < 3_000; i++) {
    const input = i % 2 === 0 ? rng.bytes(rng.next32() % 200) : mutate(rng, good);
    try {
      const r = ifac.strip(input);
      if (r.ok && i % 2 === 1) assert.ok(r.value.length === input.length - 8);
    } catch (e) {
      assert.fail(`seed ${SEED + 2} case ${i}: ${(e as Error).message}`);
    }
  }
});
