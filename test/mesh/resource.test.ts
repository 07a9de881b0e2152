// Resources end to end: a ResourceSender and a ResourceReceiver over a fake link with real link encryption, on
// a virtual clock, every packet through encodePacket/decodePacket (see resource.harness.ts).
import { test } from "node:test";
import assert from "node:assert/strict";
import { equal, toHex, utf8 } from "../../runtime/core/bytes.js";
import { Context, decodePacket, encodePacket } from "../../runtime/wire/packet.js";
import { encodeRequest } from "../../runtime/mesh/resource/hashmap.js";
import {
  MAX_ADV_RETRIES,
  MAX_PROOF_RETRIES,
  VERY_SLOW_RATE_THRESHOLD,
  WINDOW_INITIAL,
  WINDOW_MAX_SLOW,
  sduForMtu,
} from "../../runtime/mesh/resource/limits.js";
import { ResourceSim, testData } from "./resource.harness.js";

const sent = (sim: ResourceSim, context: number, from?: "sender" | "receiver"): number =>
  sim.log.filter((e) => e.context === context && (from === undefined || e.from === from)).length;

function transfer(length: number, seed: number, opts: ConstructorParameters<typeof ResourceSim>[0] extends infer O ? Partial<O> : never = {}) {
  const sim = new ResourceSim({ seed, ...opts });
  const data = testData(length, seed);
  const sender = sim.send({ data });
  sim.run();
  return { sim, data, sender, receiver: sim.receiver! };
}

test("a small resource arrives intact and the sender accepts the receiver's proof", () => {
  const { data, sender, receiver, sim } = transfer(1000, 1);
  assert.equal(receiver.status, "complete");
  assert.ok(equal(receiver.data!, data));
  assert.equal(receiver.metadata, null);
  assert.equal(sender.status, "complete");
  assert.equal(sent(sim, Context.RESOURCE_PRF, "receiver"), 1);
});

test("an empty resource completes with empty data", () => {
  const { sender, receiver } = transfer(0, 2);
  assert.equal(receiver.status, "complete");
  assert.equal(receiver.data!.length, 0);
  assert.equal(sender.status, "complete");
});

test("data filling exactly one part goes in one part, one byte more in two", () => {
  // Token of 4 + 411 bytes: IV 16 + 416 ciphertext + HMAC 32 = 464 = one part at MTU 500.
  const one = transfer(411, 3);
  assert.equal(one.sender.transferSize, sduForMtu(500));
  assert.equal(sent(one.sim, Context.RESOURCE, "sender"), 1);
  assert.equal(one.receiver.status, "complete");
  const two = transfer(412, 4);
  assert.equal(sent(two.sim, Context.RESOURCE, "sender"), 2);
  assert.ok(equal(two.receiver.data!, two.data));
});

test("a many-part resource completes through hashmap updates", () => {
  const { data, sender, receiver, sim } = transfer(200_000, 5);
  assert.equal(receiver.status, "complete");
  assert.ok(equal(receiver.data!, data));
  assert.equal(sender.status, "complete");
  // 200,064 bytes on the wire in 432 parts: the advertisement carries 74 map hashes, 5 updates carry the rest.
  assert.equal(sent(sim, Context.RESOURCE_HMU, "sender"), 5);
  assert.equal(sent(sim, Context.RESOURCE, "sender"), 432);
});

test("metadata travels ahead of the data and comes out as a map", () => {
  const sim = new ResourceSim({ seed: 6 });
  const data = testData(5000, 6);
  sim.send({ data, metadata: { name: utf8("file.bin"), size: 5000 } });
  sim.run();
  const r = sim.receiver!;
  assert.equal(r.status, "complete");
  assert.ok(equal(r.data!, data));
  assert.equal(r.hasMetadata, true);
  assert.equal(toHex(r.metadata!["name"] as Uint8Array), toHex(utf8("file.bin")));
  assert.equal(r.metadata!["size"], 5000);
});

test("a 3 MB resource goes as three segments under one original hash and completes with the last", () => {
  const sim = new ResourceSim({ seed: 7, latencyMs: 5, bitrateBps: 50_000_000 });
  const data = testData(3_000_000, 7);
  const sender = sim.send({ data, metadata: { name: utf8("big.bin") } });
  assert.equal(sender.totalSegments, 3);
  const segmentsSeen = new Set<string>();
  let progress = 0;
  sim.run({
    onStep: () => {
      if (sim.receiver === null) return;
      segmentsSeen.add(toHex(sim.receiver.hash));
      assert.ok(sim.receiver.progress >= progress, "receiver progress never goes back");
      progress = sim.receiver.progress;
      if (sim.receiver.segmentIndex < 3) assert.equal(sim.receiver.status, "transferring");
    },
  });
  const r = sim.receiver!;
  assert.equal(r.status, "complete");
  assert.equal(segmentsSeen.size, 3);
  assert.ok(equal(r.originalHash, sender.originalHash));
  assert.equal(r.dataSize, data.length + 3 + 15); // metadata prefix: length (3) + {"name": <7 bytes>} (15)
  assert.ok(equal(r.data!, data));
  assert.equal(toHex(r.metadata!["name"] as Uint8Array), toHex(utf8("big.bin")));
  assert.equal(sender.status, "complete");
  assert.equal(sender.progress, 1);
  assert.equal(r.progress, 1);
  assert.equal(sent(sim, Context.RESOURCE_ADV, "sender"), 3);
});

test("a lost advertisement of the next segment is re-sent and the transfer goes on", () => {
  let advs = 0;
  const sim = new ResourceSim({ seed: 8, latencyMs: 5, bitrateBps: 50_000_000, tamper: (raw, _f, p) => (p.context === Context.RESOURCE_ADV && ++advs === 2 ? null : raw) });
  const data = testData(1_100_000, 8);
  const sender = sim.send({ data });
  assert.equal(sender.totalSegments, 2);
  sim.run();
  assert.equal(sent(sim, Context.RESOURCE_ADV, "sender"), 3);
  assert.equal(sim.receiver!.status, "complete");
  assert.ok(equal(sim.receiver!.data!, data));
  assert.equal(sender.status, "complete");
});

test("a receiver whose next segment is never advertised gives up", () => {
  let advs = 0;
  const sim = new ResourceSim({ seed: 9, latencyMs: 5, bitrateBps: 50_000_000, tamper: (raw, _f, p) => (p.context === Context.RESOURCE_ADV && ++advs > 1 ? null : raw) });
  const sender = sim.send({ data: testData(1_100_000, 9) });
  sim.run();
  assert.equal(sim.receiver!.status, "failed");
  assert.match(sim.receiver!.failure!, /segment 2 was never advertised/);
  assert.equal(sim.receiver!.data, null);
  assert.equal(sender.status, "failed");
  assert.equal(sender.segmentIndex, 2);
});

test("random packet loss still completes through re-sent requests, advertisements and proof queries", () => {
  for (const seed of [11, 12, 13, 14]) {
    const sim = new ResourceSim({ seed, lossRate: 0.15 });
    const data = testData(60_000, seed);
    const sender = sim.send({ data });
    sim.run();
    const lost = sim.log.filter((e) => e.lost).length;
    assert.ok(lost > 0, `seed ${seed}: some frames were lost`);
    assert.equal(sim.receiver?.status, "complete", `seed ${seed}: receiver (${lost} frames lost)`);
    assert.ok(equal(sim.receiver!.data!, data), `seed ${seed}`);
    assert.equal(sender.status, "complete", `seed ${seed}: sender`);
  }
});

test("a sender that falls silent times out at the receiver, which then tells it so", () => {
  let parts = 0;
  const sim = new ResourceSim({
    seed: 15,
    tamper: (raw, from, p) => (from === "sender" && p.context === Context.RESOURCE && ++parts > 20 ? null : raw),
  });
  const started = sim.nowMs;
  sim.send({ data: testData(50_000, 15) });
  sim.run();
  const r = sim.receiver!;
  assert.equal(r.status, "failed");
  assert.match(r.failure!, /timed out/);
  assert.equal(sent(sim, Context.RESOURCE_REQ, "receiver") >= 16, true, "the receiver retried before giving up");
  assert.equal(sent(sim, Context.RESOURCE_RCL, "receiver"), 1);
  assert.ok(sim.nowMs - started < 10 * 60_000, "and gave up within minutes");
  assert.equal(sim.sender!.status, "rejected");
});

test("the sender cancelling stops the receiver", () => {
  const sim = new ResourceSim({ seed: 16 });
  const sender = sim.send({ data: testData(100_000, 16) });
  sim.run({ onStep: () => void (sim.receiver !== null && sim.receiver.progress > 0.3 && sender.status === "transferring" && sender.cancel(sim.nowMs)) });
  assert.equal(sender.status, "cancelled");
  assert.equal(sim.receiver!.status, "cancelled");
  assert.equal(sent(sim, Context.RESOURCE_ICL, "sender"), 1);
  assert.equal(sim.receiver!.data, null);
});

test("the receiver cancelling rejects the sender", () => {
  const sim = new ResourceSim({ seed: 17 });
  const sender = sim.send({ data: testData(100_000, 17) });
  sim.run({ onStep: () => void (sim.receiver !== null && sim.receiver.progress > 0.3 && sim.receiver.cancel(sim.nowMs)) });
  assert.equal(sim.receiver!.status, "cancelled");
  assert.equal(sender.status, "rejected");
  assert.equal(sent(sim, Context.RESOURCE_RCL, "receiver"), 1);
});

test("a part corrupted on the wire is ignored and requested again", () => {
  let flipped = 0;
  const sim = new ResourceSim({
    seed: 18,
    tamper: (raw, from, p) => {
      if (from !== "sender" || p.context !== Context.RESOURCE || flipped >= 3) return raw;
      flipped++;
      const bad = raw.slice();
      bad[bad.length - 10]! ^= 0x20;
      return bad;
    },
  });
  const data = testData(20_000, 18);
  sim.send({ data });
  sim.run();
  assert.equal(sim.receiver!.status, "complete");
  assert.ok(equal(sim.receiver!.data!, data));
  assert.equal(sim.receiver!.drops["unexpected-part"], 3);
});

test("a stream that disagrees with the advertised hash fails as corrupt, without throwing", () => {
  const sim = new ResourceSim({ seed: 19 });
  sim.senderLink.corruptNextEncryption(); // the sender's stream encryption: parts match the map, not the hash
  sim.send({ data: testData(3000, 19) });
  sim.run();
  assert.equal(sim.receiver!.status, "corrupt");
  assert.equal(sim.receiver!.failure, "hash mismatch");
  assert.equal(sim.receiver!.data, null);
  assert.equal(sim.sender!.status, "rejected");
});

test("a resource larger than the receiver's limit is refused at the advertisement", () => {
  const sim = new ResourceSim({ seed: 20, maxSizeBytes: 10_000 });
  sim.send({ data: testData(10_001, 20) });
  sim.run({ untilMs: sim.nowMs + 1000 });
  assert.equal(sim.receiver, null);
  assert.match(sim.refused[0]!, /^too-large/);
});

test("progress rises from 0 to 1 at both ends", () => {
  const sim = new ResourceSim({ seed: 21 });
  const sender = sim.send({ data: testData(40_000, 21) });
  const seen = { sender: [sender.progress], receiver: [] as number[] };
  sim.run({
    onStep: () => {
      seen.sender.push(sender.progress);
      if (sim.receiver !== null) seen.receiver.push(sim.receiver.progress);
    },
  });
  for (const xs of [seen.sender, seen.receiver]) {
    for (let i = 1; i < xs.length; i++) assert.ok(xs[i]! >= xs[i - 1]!);
    assert.equal(xs.at(-1), 1);
  }
  assert.equal(seen.sender[0], 0);
  assert.ok(seen.receiver.some((p) => p > 0 && p < 1));
});

test("the window opens past the slow maximum on a fast link", () => {
  const sim = new ResourceSim({ seed: 22, latencyMs: 10, bitrateBps: 20_000_000 });
  sim.send({ data: testData(400_000, 22) });
  let widest = 0;
  sim.run({ onStep: () => void (widest = Math.max(widest, sim.receiver?.window ?? 0)) });
  assert.equal(sim.receiver!.status, "complete");
  assert.ok(widest > WINDOW_MAX_SLOW, `window reached ${widest}`);
});

test("a very slow link caps the window's maximum, where a merely slow one lets it reach the slow maximum", () => {
  const widest = (bitrateBps: number): number => {
    const sim = new ResourceSim({ seed: 23, latencyMs: 200, bitrateBps, rttMs: 1500 });
    sim.send({ data: testData(30_000, 23) });
    let w = 0;
    sim.run({ onStep: () => void (w = Math.max(w, sim.receiver?.window ?? 0)) });
    assert.equal(sim.receiver!.status, "complete");
    return w;
  };
  // Below 2 kbit/s for two rounds the maximum drops to WINDOW_MAX_VERY_SLOW; the window, already past it, stays.
  assert.ok(widest(1200) <= WINDOW_INITIAL + VERY_SLOW_RATE_THRESHOLD);
  assert.equal(widest(9600), WINDOW_MAX_SLOW);
});

test("an unanswered advertisement is re-sent, then the sender fails and cancels", () => {
  const sim = new ResourceSim({ seed: 24, tamper: (raw, from) => (from === "sender" ? null : raw) });
  const sender = sim.send({ data: testData(1000, 24) });
  sim.run();
  assert.equal(sender.status, "failed");
  assert.equal(sent(sim, Context.RESOURCE_ADV, "sender"), 1 + MAX_ADV_RETRIES);
  assert.equal(sent(sim, Context.RESOURCE_ICL, "sender"), 1);
});

test("a lost proof is recovered by a cache request the receiver answers", () => {
  let proofs = 0;
  const sim = new ResourceSim({ seed: 25, tamper: (raw, _from, p) => (p.context === Context.RESOURCE_PRF && ++proofs === 1 ? null : raw) });
  const sender = sim.send({ data: testData(2000, 25) });
  sim.run();
  assert.equal(sent(sim, Context.CACHE_REQUEST, "sender"), 1);
  assert.equal(sent(sim, Context.RESOURCE_PRF, "receiver"), 2);
  assert.equal(sender.status, "complete");
});

test("a sender that never sees a proof fails after its proof queries", () => {
  const sim = new ResourceSim({ seed: 26, tamper: (raw, _from, p) => (p.context === Context.RESOURCE_PRF ? null : raw) });
  const sender = sim.send({ data: testData(2000, 26) });
  sim.run();
  assert.equal(sim.receiver!.status, "complete");
  assert.equal(sent(sim, Context.CACHE_REQUEST, "sender"), MAX_PROOF_RETRIES);
  assert.equal(sender.status, "failed");
  assert.match(sender.failure!, /proof/);
});

test("a request delivered twice is answered once", () => {
  const sim = new ResourceSim({ seed: 27, duplicate: (from, p) => from === "receiver" && p.context === Context.RESOURCE_REQ });
  const data = testData(10_000, 27);
  const sender = sim.send({ data });
  sim.run();
  assert.equal(sim.receiver!.status, "complete");
  assert.equal(sender.status, "complete");
  assert.equal(sender.drops["duplicate-request"], sent(sim, Context.RESOURCE_REQ, "receiver"));
  assert.equal(sent(sim, Context.RESOURCE, "sender"), Math.ceil(sender.transferSize / sduForMtu(500)));
});

test("a request naming another resource is ignored and counted", () => {
  const sim = new ResourceSim({ seed: 28 });
  const sender = sim.send({ data: testData(10_000, 28) });
  sim.run({ untilMs: sim.nowMs }); // advertisement only
  sender.takePackets();
  const plaintext = encodeRequest({ exhausted: false, lastMapHash: null, hash: new Uint8Array(32).fill(7), requested: new Uint8Array(8) });
  const packet = decodePacket(encodePacket(sim.receiverLink.packet(Context.RESOURCE_REQ, plaintext)));
  assert.ok(packet.ok);
  sender.handle(packet.value, plaintext, sim.nowMs);
  assert.equal(sender.drops["other-resource"], 1);
  assert.deepEqual(sender.takePackets(), []);
  assert.equal(sender.status, "advertised");
});
