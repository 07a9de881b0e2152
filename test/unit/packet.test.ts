// Packet codec: flag packing, header types, hashing invariants and what decoding refuses.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../runtime/core/ports.js";
import {
  Context,
  DestinationType,
  HeaderType,
  PacketType,
  TransportType,
  decodePacket,
  encodePacket,
  packetHash,
  type Packet,
} from "../../runtime/wire/packet.js";

const rng = seededRandom(3);

function sample(over: Partial<Packet> = {}): Packet {
  return {
    headerType: HeaderType.HEADER_1,
    contextFlag: false,
    transportType: TransportType.BROADCAST,
    destinationType: DestinationType.SINGLE,
    packetType: PacketType.DATA,
    hops: 0,
    transportId: null,
    destinationHash: rng.bytes(16),
    context: Context.NONE,
    data: rng.bytes(40),
    ...over,
  };
}

test("flags pack header type, context flag, transport type, destination type and packet type", () => {
  const raw = encodePacket(
    sample({ headerType: 1, transportId: rng.bytes(16), contextFlag: true, transportType: 1, destinationType: 3, packetType: 2 }),
  );
  assert.equal(raw[0], 0b0111_1110);
});

test("HEADER_1 layout: flags, hops, destination, context, data", () => {
  const p = sample({ hops: 5, context: Context.REQUEST });
  const raw = encodePacket(p);
  assert.equal(raw.length, 19 + p.data.length);
  assert.equal(raw[1], 5);
  assert.deepEqual(raw.subarray(2, 18), p.destinationHash);
  assert.equal(raw[18], Context.REQUEST);
});

test("HEADER_2 puts the transport id before the destination", () => {
  const p = sample({ headerType: 1, transportType: 1, transportId: rng.bytes(16) });
  const raw = encodePacket(p);
  assert.deepEqual(raw.subarray(2, 18), p.transportId);
  assert.deepEqual(raw.subarray(18, 34), p.destinationHash);
});

test("decode returns every field and encode(decode(x)) is x", () => {
  for (let i = 0; i < 500; i++) {
    const h2 = rng.next32() % 2 === 1;
    const p = sample({
      headerType: h2 ? 1 : 0,
      transportId: h2 ? rng.bytes(16) : null,
      contextFlag: rng.next32() % 2 === 1,
      transportType: (rng.next32() % 2) as 0 | 1,
      destinationType: (rng.next32() % 4) as 0 | 1 | 2 | 3,
      packetType: (rng.next32() % 4) as 0 | 1 | 2 | 3,
      hops: rng.next32() % 128,
      context: rng.next32() % 256,
      data: rng.bytes(rng.next32() % 400),
    });
    const raw = encodePacket(p);
    const d = decodePacket(raw);
    assert.ok(d.ok);
    const { raw: _raw, ...fields } = d.value;
    assert.deepEqual({ ...fields, transportId: fields.transportId && Uint8Array.from(fields.transportId) }, {
      ...p,
      transportId: p.transportId,
    });
    assert.deepEqual(encodePacket(d.value), raw);
  }
});

test("the hash ignores hops, header type and transport id, so it survives transport", () => {
  const p = sample();
  const h1 = packetHash(encodePacket(p));
  const inTransit = encodePacket({ ...p, hops: 9, headerType: 1, transportType: 1, transportId: rng.bytes(16) });
  assert.deepEqual(packetHash(inTransit), h1);
  assert.notDeepEqual(packetHash(encodePacket({ ...p, context: 1 })), h1);
  // Only the low nibble of the flags is hashed: the context flag (bit 5) is not covered.
  assert.deepEqual(packetHash(encodePacket({ ...p, contextFlag: true })), h1);
});

test("decoding refuses runts, hop counts of 128 or more, and a set IFAC flag", () => {
  assert.deepEqual(decodePacket(new Uint8Array(18)).ok, false);
  const h2 = encodePacket(sample({ headerType: 1, transportId: rng.bytes(16), data: new Uint8Array(0) }));
  assert.equal(decodePacket(h2.subarray(0, 34)).ok, false);
  assert.ok(decodePacket(h2).ok);
  const raw = encodePacket(sample());
  raw[1] = 128;
  assert.equal(decodePacket(raw).ok, false);
  raw[1] = 0;
  raw[0]! |= 0x80;
  assert.equal(decodePacket(raw).ok, false);
});

test("an empty data field is valid", () => {
  const d = decodePacket(encodePacket(sample({ data: new Uint8Array(0) })));
  assert.ok(d.ok);
  assert.equal(d.value.data.length, 0);
});

test("encoding refuses local misuse: wrong hash sizes, over-MTU packets, bad hops", () => {
  assert.throws(() => encodePacket(sample({ destinationHash: new Uint8Array(15) })), RangeError);
  assert.throws(() => encodePacket(sample({ data: new Uint8Array(482) })), RangeError);
  assert.ok(encodePacket(sample({ data: new Uint8Array(481) })));
  assert.ok(encodePacket(sample({ data: new Uint8Array(1000) }), 8192));
  assert.throws(() => encodePacket(sample({ hops: 128 })), RangeError);
  assert.throws(() => encodePacket(sample({ headerType: 1 })), TypeError);
});
