// Known answers from RNS 1.4.2 (test/vectors/rns-1.4.2-resources.json, made by test/vectors/generate_resources.py):
// our receiver reassembles the reference's resources (bz2 included) and proves them as the reference does; our
// sender, given the reference's random draws, produces the reference's advertisement, parts and hashmap updates.
import { test } from "node:test";
import assert from "node:assert/strict";
import { equal, toHex, utf8, type Bytes } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Context, decodePacket, encodePacket, type ReceivedPacket } from "../../runtime/wire/packet.js";
import { decodeAdvertisement, encodeAdvertisement } from "../../runtime/mesh/resource/advertisement.js";
import { decodeHashmapUpdate, decodeRequest, encodeHashmapUpdate, mapKey, partKey } from "../../runtime/mesh/resource/hashmap.js";
import {
  COLLISION_GUARD_SIZE,
  HASHMAP_MAX_LENGTH,
  LINK_MDU_AT_MTU,
  MAX_EFFICIENT_SIZE,
  sduForMtu,
} from "../../runtime/mesh/resource/limits.js";
import { ResourceReceiver } from "../../runtime/mesh/resource/receiver.js";
import { hex, vectorFile } from "../helpers.js";
import { FakeLink, ResourceSim, scriptedRandom } from "./resource.harness.js";

interface ResourceVector {
  name: string;
  data: string;
  metadata: Record<string, string> | null;
  compressed: boolean;
  random: { stream_prefix: string; iv: string; random_hash: string };
  advertisement: string;
  advertisement_fields: Record<string, string | number | null>;
  resource_hash: string;
  hashmap: string;
  parts: string[];
  first_part_raw: string;
  hmus: Array<{ segment: number; plaintext: string; hashmap: string }>;
  proof: string;
  receiver_metadata: Record<string, string> | null;
}
interface ZipBomb {
  data_length: number;
  advertisement: string;
  lying_advertisement: string;
  parts: string[];
  proof: string;
}
interface ResourceFile {
  link_key: string;
  link_id: string;
  link_mtu: number;
  link_mdu: number;
  constants: { hashmap_max_len: number; collision_guard_size: number; max_efficient_size: number; sdu: number };
  resources: ResourceVector[];
  zip_bomb: ZipBomb;
}

const file = vectorFile<ResourceFile>("rns-1.4.2-resources.json");
const link = (): FakeLink => new FakeLink({ key: hex(file.link_key), linkId: hex(file.link_id), random: seededRandom(99), mtu: file.link_mtu });
const received = (l: FakeLink, context: number, plaintext: Bytes): ReceivedPacket => {
  const r = decodePacket(encodePacket(l.packet(context, plaintext)));
  assert.ok(r.ok);
  return r.value;
};

/**
 * Plays the reference sender from recorded data: answers each of the receiver's requests with the recorded
 * parts it names and, when the receiver runs out of map hashes, with the recorded hashmap update.
 */
function receiveRecorded(adv: Bytes, parts: string[], hmus: ResourceVector["hmus"], maxSizeBytes: number) {
  const l = link();
  const accepted = ResourceReceiver.accept(adv, { link: l, random: seededRandom(1), nowMs: 0, maxSizeBytes });
  if (!accepted.ok) return { receiver: null, error: accepted, proofs: [] as Bytes[], rejects: 0 };
  const r = accepted.value;
  const decoded = decodeAdvertisement(adv);
  assert.ok(decoded.ok);
  const randomHash = decoded.value.randomHash;
  const byKey = new Map<number, number>();
  parts.forEach((p, i) => byKey.set(partKey(hex(p), randomHash), i));
  const proofs: Bytes[] = [];
  let rejects = 0;
  let nowMs = 0;
  for (let round = 0; round < 10_000 && r.status === "transferring"; round++) {
    const out = r.takePackets();
    if (out.length === 0) break;
    for (const p of out) {
      nowMs += 10;
      if (p.context === Context.RESOURCE_PRF) proofs.push(p.data);
      if (p.context === Context.RESOURCE_RCL) rejects++;
      if (p.context !== Context.RESOURCE_REQ) continue;
      const req = decodeRequest(l.decrypt(p.data)!);
      assert.ok(req.ok);
      for (let o = 0; o < req.value.requested.length; o += 4) {
        const i = byKey.get(mapKey(req.value.requested, o))!;
        r.handle(received(l, Context.RESOURCE, hex(parts[i]!)), null, nowMs);
      }
      if (req.value.exhausted) {
        const last = byKey.get(mapKey(req.value.lastMapHash!))!;
        const hmu = hmus.find((u) => u.segment === (last + 1) / HASHMAP_MAX_LENGTH)!;
        r.handle(received(l, Context.RESOURCE_HMU, hex(hmu.plaintext)), hex(hmu.plaintext), nowMs);
      }
    }
  }
  for (const p of r.takePackets()) {
    if (p.context === Context.RESOURCE_PRF) proofs.push(p.data);
    if (p.context === Context.RESOURCE_RCL) rejects++;
  }
  return { receiver: r, error: null, proofs, rejects };
}

test("resource constants agree with the reference's", () => {
  assert.equal(HASHMAP_MAX_LENGTH, file.constants.hashmap_max_len);
  assert.equal(COLLISION_GUARD_SIZE, file.constants.collision_guard_size);
  assert.equal(MAX_EFFICIENT_SIZE, file.constants.max_efficient_size);
  assert.equal(sduForMtu(file.link_mtu), file.constants.sdu);
  assert.equal(LINK_MDU_AT_MTU, file.link_mdu);
});

for (const v of file.resources) {
  test(`reference advertisement "${v.name}" decodes to its fields and re-encodes byte for byte`, () => {
    const a = decodeAdvertisement(hex(v.advertisement));
    assert.ok(a.ok);
    const f = v.advertisement_fields;
    assert.deepEqual(
      [a.value.transferSize, a.value.dataSize, a.value.parts, toHex(a.value.hash), toHex(a.value.randomHash), toHex(a.value.originalHash)],
      [f["t"], f["d"], f["n"], f["h"], f["r"], f["o"]],
    );
    assert.deepEqual([a.value.segmentIndex, a.value.totalSegments, a.value.requestId, a.value.flags, toHex(a.value.hashmap)], [f["i"], f["l"], f["q"], f["f"], f["m"]]);
    assert.equal(toHex(encodeAdvertisement(a.value)), v.advertisement);
  });

  test(`our receiver reassembles reference resource "${v.name}" and sends the reference's proof`, () => {
    const { receiver, proofs } = receiveRecorded(hex(v.advertisement), v.parts, v.hmus, 16 * 1024 * 1024);
    assert.ok(receiver !== null);
    assert.equal(receiver.status, "complete");
    assert.equal(toHex(receiver.data!), v.data);
    assert.equal(receiver.compressed, v.compressed);
    assert.deepEqual(proofs.map(toHex), [v.proof]);
    const meta = receiver.metadata === null ? null : Object.fromEntries(Object.entries(receiver.metadata).map(([k, x]) => [k, toHex(x as Bytes)]));
    assert.deepEqual(meta, v.receiver_metadata);
    assert.deepEqual(receiver.drops, {});
  });

  test(`reference resource "${v.name}": parts are link packets in clear, hashmap updates encode alike`, () => {
    assert.equal(toHex(encodePacket(link().packet(Context.RESOURCE, hex(v.parts[0]!)))), v.first_part_raw);
    for (const u of v.hmus) {
      const d = decodeHashmapUpdate(hex(u.plaintext));
      assert.ok(d.ok);
      assert.equal(d.value.segment, u.segment);
      assert.equal(toHex(encodeHashmapUpdate(d.value)), u.plaintext);
    }
  });

  if (!v.compressed) {
    test(`our sender with the reference's random draws reproduces resource "${v.name}"`, () => {
      const sim = new ResourceSim({ seed: 5, key: hex(file.link_key), linkId: hex(file.link_id) });
      sim.senderLink.random = scriptedRandom([hex(v.random.iv)], seededRandom(6));
      const metadata = v.metadata === null ? undefined : Object.fromEntries(Object.entries(v.metadata).map(([k, x]) => [k, hex(x)]));
      const sender = sim.send({
        data: hex(v.data),
        ...(metadata !== undefined ? { metadata } : {}),
        random: scriptedRandom([hex(v.random.stream_prefix), hex(v.random.random_hash)], seededRandom(7)),
      });
      assert.equal(toHex(sender.advertisement), v.advertisement);
      assert.equal(toHex(sender.hash), v.resource_hash);
      sim.run();
      assert.equal(sender.status, "complete");
      const parts: string[] = [];
      for (const e of sim.log) if (e.from === "sender" && e.context === Context.RESOURCE && !parts.includes(toHex(e.plaintext))) parts.push(toHex(e.plaintext));
      assert.deepEqual(parts, v.parts);
      const hmus = sim.log.filter((e) => e.context === Context.RESOURCE_HMU).map((e) => toHex(e.plaintext));
      assert.deepEqual(hmus, v.hmus.map((u) => u.plaintext));
      const proofs = sim.log.filter((e) => e.context === Context.RESOURCE_PRF).map((e) => toHex(e.plaintext));
      assert.deepEqual(proofs, [v.proof]);
    });
  }
}

test("the reference's metadata vector carries {name: b'file.bin'}", () => {
  const v = file.resources.find((x) => x.name === "metadata")!;
  assert.deepEqual(v.receiver_metadata, { name: toHex(utf8("file.bin")) });
});

test("a bz2 resource whose advertisement understates its size is refused while inflating (zip bomb)", () => {
  const z = file.zip_bomb;
  const { receiver, proofs, rejects } = receiveRecorded(hex(z.lying_advertisement), z.parts, [], 16 * 1024 * 1024);
  assert.ok(receiver !== null);
  assert.equal(receiver.status, "corrupt");
  assert.match(receiver.failure!, /decompresses past 1000 bytes/);
  assert.equal(receiver.data, null);
  assert.deepEqual(proofs, []);
  assert.equal(rejects, 1);
});

test("a bz2 resource larger than the receiver's limit is refused at the advertisement", () => {
  const z = file.zip_bomb;
  const { receiver, error } = receiveRecorded(hex(z.advertisement), z.parts, [], 100_000);
  assert.equal(receiver, null);
  assert.equal(error?.ok, false);
  assert.equal(error?.ok === false && error.reason, "too-large");
});

test("the same bz2 resource within the limit inflates to the reference's data and proof", () => {
  const z = file.zip_bomb;
  const { receiver, proofs } = receiveRecorded(hex(z.advertisement), z.parts, [], 2_000_000);
  assert.equal(receiver!.status, "complete");
  assert.equal(receiver!.data!.length, z.data_length);
  assert.ok(equal(receiver!.data!, new Uint8Array(z.data_length)));
  assert.deepEqual(proofs.map(toHex), [z.proof]);
});
