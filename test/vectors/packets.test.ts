// Known-answer tests: packets decoded by RNS 1.4.2 (test/vectors/rns-1.4.2-packets.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { toHex } from "../../runtime/core/bytes.js";
import { ENCRYPTED_MDU, HEADER_1_LENGTH, HEADER_2_LENGTH, MAX_HOPS, MDU, MTU } from "../../runtime/core/limits.js";
import { decodePacket, encodePacket, packetHash, truncatedPacketHash, type ReceivedPacket } from "../../runtime/wire/packet.js";
import { hex, vectorFile } from "../helpers.js";

interface PacketFields {
  description: string;
  raw: string;
  header_type: number;
  context_flag: number;
  transport_type: number;
  destination_type: number;
  packet_type: number;
  hops: number;
  transport_id: string | null;
  destination_hash: string;
  context: number;
  data: string;
  packet_hash: string;
  truncated_hash: string;
}
interface PacketVector extends PacketFields {
  built_with: string;
}
interface MalformedVector {
  description: string;
  raw: string;
}
interface PacketVectors {
  constants: {
    MTU: number;
    MDU: number;
    HEADER_MINSIZE: number;
    HEADER_MAXSIZE: number;
    ENCRYPTED_MDU: number;
    PATHFINDER_M: number;
    transport_id: string;
    link_id: string;
  };
  packets: PacketVector[];
  lenient: PacketFields[];
  malformed: MalformedVector[];
}

const load = (): PacketVectors => vectorFile<PacketVectors>("rns-1.4.2-packets.json");
const label = (section: string, v: { description: string }, i: number): string => `${section} ${i} (${v.description})`;
const isIfacFlagged = (v: PacketFields): boolean => (hex(v.raw)[0]! & 0x80) !== 0;

/** Our decoded fields, in the vector's vocabulary. */
function fieldsOf(p: ReceivedPacket): Omit<PacketFields, "description" | "raw" | "packet_hash" | "truncated_hash"> {
  return {
    header_type: p.headerType,
    context_flag: p.contextFlag ? 1 : 0,
    transport_type: p.transportType,
    destination_type: p.destinationType,
    packet_type: p.packetType,
    hops: p.hops,
    transport_id: p.transportId === null ? null : toHex(p.transportId),
    destination_hash: toHex(p.destinationHash),
    context: p.context,
    data: toHex(p.data),
  };
}

function expectedFields(v: PacketFields): ReturnType<typeof fieldsOf> {
  return {
    header_type: v.header_type,
    context_flag: v.context_flag,
    transport_type: v.transport_type,
    destination_type: v.destination_type,
    packet_type: v.packet_type,
    hops: v.hops,
    transport_id: v.transport_id,
    destination_hash: v.destination_hash,
    context: v.context,
    data: v.data,
  };
}

/** Decodes, compares every field and both hashes, and re-encodes to the same raw. */
function checkPacket(v: PacketFields, l: string): void {
  const raw = hex(v.raw);
  const res = decodePacket(raw);
  assert.ok(res.ok, `${l}: decode: ${res.ok ? "" : res.reason}`);
  assert.deepEqual(fieldsOf(res.value), expectedFields(v), `${l}: fields`);
  assert.equal(toHex(res.value.raw), v.raw, `${l}: raw kept`);
  assert.equal(toHex(packetHash(raw)), v.packet_hash, `${l}: packet hash`);
  assert.equal(toHex(truncatedPacketHash(raw)), v.truncated_hash, `${l}: truncated packet hash`);
  assert.equal(toHex(raw), v.raw, `${l}: packetHash left the raw unchanged`);
  assert.equal(toHex(encodePacket(res.value)), v.raw, `${l}: encodePacket of the decoded fields`);
}

test("the packet vector file has packets, lenient and malformed entries", () => {
  const v = load();
  assert.ok(v.packets.length > 0 && v.lenient.length > 0 && v.malformed.length > 0);
});

test("our packet-layer constants equal the reference's", () => {
  const c = load().constants;
  assert.equal(MTU, c.MTU, "MTU");
  assert.equal(MDU, c.MDU, "MDU");
  assert.equal(HEADER_1_LENGTH, c.HEADER_MINSIZE, "HEADER_MINSIZE");
  assert.equal(HEADER_2_LENGTH, c.HEADER_MAXSIZE, "HEADER_MAXSIZE");
  assert.equal(ENCRYPTED_MDU, c.ENCRYPTED_MDU, "ENCRYPTED_MDU");
  assert.equal(MAX_HOPS, c.PATHFINDER_M, "PATHFINDER_M");
});

test("decodePacket, packetHash and encodePacket agree with the reference on every packet", async (t) => {
  for (const [i, v] of load().packets.entries()) {
    const l = label("packets", v, i);
    await t.test(l, () => checkPacket(v, l));
  }
});

test("decodePacket, packetHash and encodePacket agree with the reference on lenient raws without the IFAC flag", async (t) => {
  for (const [i, v] of load().lenient.entries()) {
    if (isIfacFlagged(v)) continue;
    const l = label("lenient", v, i);
    await t.test(l, () => checkPacket(v, l));
  }
});

test("decodePacket refuses a set IFAC flag that the reference's unpack ignores (Transport drops these before unpacking on interfaces without IFAC)", async (t) => {
  const flagged = load().lenient.filter(isIfacFlagged);
  assert.ok(flagged.length > 0, "an IFAC-flagged lenient vector");
  for (const [i, v] of load().lenient.entries()) {
    if (!isIfacFlagged(v)) continue;
    const l = label("lenient", v, i);
    await t.test(`${l}: refused`, () => {
      const res = decodePacket(hex(v.raw));
      assert.equal(res.ok, false, `${l}: decode refused`);
      assert.equal(res.ok ? "" : res.reason, "bad-flags", `${l}: refusal reason`);
      // packetHash itself masks the flag out exactly as the reference's get_hash does.
      assert.equal(toHex(packetHash(hex(v.raw))), v.packet_hash, `${l}: packet hash`);
      assert.equal(toHex(truncatedPacketHash(hex(v.raw))), v.truncated_hash, `${l}: truncated packet hash`);
    });
  }
});

test("decodePacket refuses every raw the reference's unpack refuses", async (t) => {
  for (const [i, v] of load().malformed.entries()) {
    const l = label("malformed", v, i);
    await t.test(l, () => {
      assert.equal(decodePacket(hex(v.raw)).ok, false, l);
    });
  }
});
