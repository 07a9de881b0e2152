// Interface access codes: applying, stripping, and refusing frames without the right code.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../runtime/core/ports.js";
import { InterfaceAccessCode } from "../../runtime/wire/ifac.js";
import { decodePacket, encodePacket } from "../../runtime/wire/packet.js";

const rng = seededRandom(5);
const raw = encodePacket({
  headerType: 0,
  contextFlag: false,
  transportType: 0,
  destinationType: 0,
  packetType: 0,
  hops: 3,
  transportId: null,
  destinationHash: rng.bytes(16),
  context: 0,
  data: rng.bytes(60),
});

test("apply sets the IFAC flag, grows the frame by the code size, and strip restores the packet", () => {
  for (const size of [1, 8, 16, 64]) {
    const ifac = InterfaceAccessCode.derive("kos-net", "secret", size);
    const framed = ifac.apply(raw);
    assert.equal(framed.length, raw.length + size);
    assert.equal(framed[0]! & 0x80, 0x80);
    assert.equal(decodePacket(framed).ok, false, "a framed packet is not a plain packet");
    const back = ifac.strip(framed);
    assert.ok(back.ok);
    assert.deepEqual(back.value, raw);
  }
});

test("another network name or passphrase cannot strip the code", () => {
  const framed = InterfaceAccessCode.derive("kos-net", "secret", 16).apply(raw);
  assert.equal(InterfaceAccessCode.derive("kos-net", "Secret", 16).strip(framed).ok, false);
  assert.equal(InterfaceAccessCode.derive("kos-net2", "secret", 16).strip(framed).ok, false);
  assert.equal(InterfaceAccessCode.derive(null, "secret", 16).strip(framed).ok, false);
});

test("any flipped byte of a framed packet is refused", () => {
  const ifac = InterfaceAccessCode.derive(null, "pw", 8);
  const framed = ifac.apply(raw);
  for (let i = 0; i < framed.length; i++) {
    const bad = framed.slice();
    bad[i]! ^= i === 0 ? 0x01 : 0x40;
    assert.equal(ifac.strip(bad).ok, false, `byte ${i}`);
  }
});

test("frames without the flag or shorter than the code are refused", () => {
  const ifac = InterfaceAccessCode.derive("n", null, 8);
  assert.equal(ifac.strip(raw).ok, false);
  assert.equal(ifac.strip(new Uint8Array(10).fill(0x80)).ok, false);
});
