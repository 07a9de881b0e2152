// Announces: building, parsing and validation, with and without ratchets and app data.
import { test } from "node:test";
import assert from "node:assert/strict";
import { utf8 } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { generateRatchet, ratchetPublicKey } from "../../runtime/crypto/ratchet.js";
import {
  announceRandomHash,
  announceTimestampS,
  buildAnnounce,
  parseAnnounce,
  validateAnnounce,
} from "../../runtime/wire/announce.js";
import { destinationHash, nameHash } from "../../runtime/wire/destination.js";
import { Context, decodePacket, encodePacket } from "../../runtime/wire/packet.js";

const rng = seededRandom(4);
const id = Identity.generate(rng);
const nh = nameHash("kos", ["test", "announce"]);
const nowMs = 1_763_700_000_123;

function roundTrip(opts: { ratchet?: Uint8Array | null; appData?: Uint8Array | null; pathResponse?: boolean }) {
  const p = buildAnnounce(id, nh, { randomHash: announceRandomHash(rng, nowMs), ...opts });
  const d = decodePacket(encodePacket(p));
  assert.ok(d.ok);
  return d.value;
}

test("an announce validates and yields identity, name hash, timestamp and app data", () => {
  const p = roundTrip({ appData: utf8("hello") });
  const v = validateAnnounce(p);
  assert.ok(v.ok, JSON.stringify(v));
  assert.deepEqual(v.value.identity.publicKey, id.publicKey);
  assert.deepEqual(v.value.destinationHash, destinationHash(nh, id.hash));
  assert.deepEqual(v.value.appData, utf8("hello"));
  assert.equal(v.value.emittedAtS, Math.floor(nowMs / 1000));
  assert.equal(v.value.ratchet, null);
  assert.equal(p.contextFlag, false);
});

test("without app data the announce is exactly 148 bytes of data and app data is null", () => {
  const p = roundTrip({});
  assert.equal(p.data.length, 148);
  const v = validateAnnounce(p);
  assert.ok(v.ok);
  assert.equal(v.value.appData, null);
});

test("a ratchet sets the context flag and is carried and signed", () => {
  const r = ratchetPublicKey(generateRatchet(rng));
  const p = roundTrip({ ratchet: r, appData: utf8("x") });
  assert.equal(p.contextFlag, true);
  assert.equal(p.data.length, 148 + 32 + 1);
  const v = validateAnnounce(p);
  assert.ok(v.ok);
  assert.deepEqual(v.value.ratchet, r);
});

test("a path response announce carries the PATH_RESPONSE context", () => {
  assert.equal(roundTrip({ pathResponse: true }).context, Context.PATH_RESPONSE);
});

test("the random hash ends with the 5-byte big-endian time in seconds", () => {
  const rh = announceRandomHash(rng, 1_763_700_000_999);
  assert.equal(announceTimestampS(rh), 1_763_700_000);
  assert.deepEqual(Array.from(rh.subarray(5)), [0x00, 0x69, 0x1f, 0xed, 0x20]);
});

test("no single flipped bit in an announce packet validates", () => {
  for (const opts of [{ appData: utf8("ab") }, { ratchet: ratchetPublicKey(generateRatchet(rng)) }]) {
    const raw = encodePacket(buildAnnounce(id, nh, { randomHash: announceRandomHash(rng, nowMs), ...opts }));
    let checked = 0;
    for (let bit = 0; bit < raw.length * 8; bit++) {
      const bad = raw.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      // The hop count is the one field every transport node rewrites.
      if (bit >> 3 === 1) continue;
      const d = decodePacket(bad);
      if (!d.ok) continue;
      checked++;
      assert.equal(validateAnnounce(d.value).ok, false, `bit ${bit}`);
    }
    assert.ok(checked > 1000);
  }
});

test("an announce signed for one destination does not validate under another", () => {
  const p = roundTrip({});
  const other = { ...p, destinationHash: destinationHash(nameHash("kos", ["other"]), id.hash) };
  assert.equal(validateAnnounce(other).ok, false);
});

test("truncated announces are refused as too short", () => {
  const p = roundTrip({});
  const r = parseAnnounce({ ...p, data: p.data.subarray(0, 147) });
  assert.equal(r.ok, false);
  assert.equal(validateAnnounce({ ...p, contextFlag: true }).ok, false);
});
