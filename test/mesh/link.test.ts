// Links (RNS 1.4.2 Link.py): establishment, MTU signalling, data, keepalive, stale and close, hostile input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { concat, equal, utf8 } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { truncatedHash } from "../../runtime/crypto/hashes.js";
import { Context, decodePacket, encodePacket, hashablePart, PacketType, type ReceivedPacket } from "../../runtime/wire/packet.js";
import { Link } from "../../runtime/mesh/link/link.js";
import { buildLinkProof, proofSignedData, signallingBytes } from "../../runtime/mesh/link/handshake.js";
import { LinkPair, overTheAir, T0_MS } from "./link-harness.js";

function rx(raw: Uint8Array): ReceivedPacket {
  const d = decodePacket(raw);
  if (!d.ok) throw new Error(`undecodable test packet: ${d.reason}`);
  return d.value;
}

test("a link establishes: the initiator is active on the proof, the responder on the RTT packet", () => {
  const pair = new LinkPair({ latencyMs: 50 });
  assert.equal(pair.a.status, "pending");
  pair.runTo(T0_MS + 50);
  assert.equal(pair.b?.status, "handshake");
  pair.runTo(T0_MS + 100);
  assert.equal(pair.a.status, "active");
  assert.equal(pair.b?.status, "handshake");
  pair.runTo(T0_MS + 150);
  assert.equal(pair.b?.status, "active");
  assert.deepEqual(pair.kinds("a", "established"), [{ kind: "established", rttMs: 100 }]);
  assert.deepEqual(pair.kinds("b", "established"), [{ kind: "established", rttMs: 100 }]);
});

test("the responder takes the larger of its measured RTT and the one the initiator reports", () => {
  for (const [arrivesAfterMs, expectedMs] of [[600, 600], [10, 100]] as const) {
    const owner = Identity.generate(seededRandom(21));
    const { link: a, request } = Link.initiate({ destinationHash: truncatedHash(owner.publicKey), destinationIdentity: owner, random: seededRandom(22), nowMs: T0_MS });
    const accepted = Link.accept(overTheAir(request), { owner, random: seededRandom(23), nowMs: T0_MS + 50 });
    assert.ok(accepted.ok);
    const b = accepted.value.link;
    a.handle(overTheAir(accepted.value.proof), T0_MS + 100);
    assert.equal(a.rttMs, 100);
    b.handle(overTheAir(a.takePackets()[0]!), T0_MS + 50 + arrivesAfterMs);
    assert.equal(b.rttMs, expectedMs);
  }
});

test("both ends compute the link id from the request without its signalling bytes", () => {
  const pair = LinkPair.established();
  const b = pair.link("b");
  assert.ok(equal(pair.a.linkId, b.linkId));
  const request = pair.delivered.find((d) => d.packet.packetType === PacketType.LINKREQUEST)!.packet;
  assert.equal(request.data.length, 67);
  const hashable = hashablePart(request.raw);
  assert.ok(equal(pair.a.linkId, truncatedHash(hashable.subarray(0, hashable.length - 3))));
});

test("a transport node clamping the signalled MTU in transit does not change the link id", () => {
  const owner = Identity.generate(seededRandom(3));
  const { link, request } = Link.initiate({
    destinationHash: truncatedHash(owner.publicKey),
    destinationIdentity: owner,
    random: seededRandom(4),
    nowMs: T0_MS,
    hwMtu: 8192,
  });
  const clamped = overTheAir({ ...request, data: concat(request.data.subarray(0, 64), signallingBytes(500)) });
  const r = Link.accept(clamped, { owner, random: seededRandom(5), nowMs: T0_MS, hwMtu: 8192 });
  assert.ok(r.ok);
  assert.ok(equal(r.value.link.linkId, link.linkId));
  assert.equal(r.value.link.mtu, 500);
});

test("MTU signalling: 500 when the path does not configure its MTU", () => {
  const pair = LinkPair.established();
  assert.deepEqual([pair.a.mtu, pair.a.mdu, pair.link("b").mtu, pair.link("b").mdu], [500, 431, 500, 431]);
  const request = pair.delivered.find((d) => d.packet.packetType === PacketType.LINKREQUEST)!.packet;
  assert.deepEqual([...request.data.subarray(64)], [0x20, 0x01, 0xf4]);
});

test("MTU signalling: 8192 end to end when both sides' interfaces carry it", () => {
  const pair = LinkPair.established({ hwMtuA: 8192, hwMtuB: 8192 });
  assert.deepEqual([pair.a.mtu, pair.a.mdu, pair.link("b").mtu, pair.link("b").mdu], [8192, 8111, 8192, 8111]);
  const big = seededRandom(9).bytes(8111);
  pair.send("a", pair.a.send(big, pair.nowMs));
  pair.runFor(100);
  assert.ok(equal(pair.kinds("b", "data")[0]!.plaintext, big));
});

test("MTU signalling: the responder's interface caps the link MTU, and the initiator adopts it", () => {
  const pair = LinkPair.established({ hwMtuA: 8192, hwMtuB: 500 });
  assert.deepEqual([pair.a.mtu, pair.link("b").mtu], [500, 500]);
  assert.throws(() => pair.a.send(new Uint8Array(432), pair.nowMs), RangeError);
  const lower = LinkPair.established({ hwMtuA: 500, hwMtuB: 8192, seed: 3 });
  assert.deepEqual([lower.a.mtu, lower.link("b").mtu], [500, 500]);
});

test("a request without signalling (an older peer) gets a link MTU of 500", () => {
  const owner = Identity.generate(seededRandom(6));
  const { request } = Link.initiate({ destinationHash: truncatedHash(owner.publicKey), destinationIdentity: owner, random: seededRandom(7), nowMs: T0_MS });
  const plain = overTheAir({ ...request, data: request.data.subarray(0, 64) });
  const r = Link.accept(plain, { owner, random: seededRandom(8), nowMs: T0_MS, hwMtu: 8192 });
  assert.ok(r.ok);
  assert.equal(r.value.link.mtu, 500);
  assert.equal(r.value.proof.data.length, 99);
});

test("link requests of the wrong size or mode are refused with a reason", () => {
  const owner = Identity.generate(seededRandom(10));
  const { request } = Link.initiate({ destinationHash: truncatedHash(owner.publicKey), destinationIdentity: owner, random: seededRandom(11), nowMs: T0_MS });
  const short = Link.accept(overTheAir({ ...request, data: request.data.subarray(0, 63) }), { owner, random: seededRandom(1), nowMs: T0_MS });
  assert.deepEqual(short.ok ? null : short.reason, "bad-length");
  const mode = concat(request.data.subarray(0, 64), Uint8Array.of(0x00, 0x01, 0xf4));
  const aes128 = Link.accept(overTheAir({ ...request, data: mode }), { owner, random: seededRandom(1), nowMs: T0_MS });
  assert.deepEqual(aes128.ok ? null : aes128.reason, "bad-encoding");
});

test("data travels both ways encrypted with the link key", () => {
  const pair = LinkPair.established();
  const hello = utf8("hello from the initiator");
  const p = pair.a.send(hello, pair.nowMs);
  assert.equal(p.destinationType, 3);
  assert.equal(p.data.length, 16 + 32 + 32);
  assert.ok(!equal(p.data.subarray(16, 16 + hello.length), hello));
  pair.send("a", p);
  pair.send("b", pair.link("b").send(utf8("and back"), pair.nowMs));
  pair.runFor(100);
  assert.deepEqual(pair.kinds("b", "data").map((e) => [e.context, Buffer.from(e.plaintext).toString()]), [[0, "hello from the initiator"]]);
  assert.deepEqual(pair.kinds("a", "data").map((e) => Buffer.from(e.plaintext).toString()), ["and back"]);
});

test("an idle link stays active for hours on the initiator's keepalives and the responder's answers", () => {
  const pair = LinkPair.established();
  pair.runFor(3 * 3600_000);
  assert.equal(pair.a.status, "active");
  assert.equal(pair.link("b").status, "active");
  const asked = pair.deliveredTo("b", Context.KEEPALIVE).filter((p) => p.data[0] === 0xff).length;
  const answered = pair.deliveredTo("a", Context.KEEPALIVE).filter((p) => p.data[0] === 0xfe).length;
  assert.ok(asked >= 3 * 3600_000 / pair.a.stats().keepaliveIntervalMs - 1, `asked ${asked}`);
  assert.equal(answered, asked);
});

test("the keepalive interval scales with the RTT within 5 s and 360 s, and the stale time is twice it", () => {
  const fast = LinkPair.established({ latencyMs: 5 });
  assert.equal(fast.a.stats().keepaliveIntervalMs, 5_000);
  const mid = LinkPair.established({ latencyMs: 50 });
  assert.equal(mid.a.stats().keepaliveIntervalMs, Math.round(100 * (360 / 1.75)));
  assert.equal(mid.a.stats().staleTimeMs, 2 * Math.round(100 * (360 / 1.75)));
  const slow = LinkPair.established({ latencyMs: 1_000 });
  assert.equal(slow.a.stats().keepaliveIntervalMs, 360_000);
});

test("a silent responder makes the initiator's link stale after two intervals, then closed 5 s later", () => {
  const pair = LinkPair.established({ latencyMs: 50 });
  pair.filter = (from) => from === "a";
  const activatedAt = pair.a.stats().activatedAtMs!;
  const stale = activatedAt + pair.a.stats().staleTimeMs;
  pair.runTo(stale - 1);
  assert.equal(pair.a.status, "active");
  pair.runTo(stale);
  assert.equal(pair.a.status, "stale");
  pair.runTo(stale + 4_999);
  assert.equal(pair.a.status, "stale");
  pair.runTo(stale + 5_000);
  assert.equal(pair.a.status, "closed");
  assert.deepEqual(pair.kinds("a", "closed"), [{ kind: "closed", reason: "timeout" }]);
  pair.runFor(100);
  const close = pair.deliveredTo("b", Context.LINKCLOSE);
  assert.equal(close.length, 1);
  assert.equal(pair.link("b").status, "closed");
  assert.deepEqual(pair.kinds("b", "closed"), [{ kind: "closed", reason: "remote" }]);
});

test("a silent initiator makes the responder's link stale and then closed", () => {
  const pair = LinkPair.established({ latencyMs: 50 });
  pair.filter = (from) => from === "b";
  const b = pair.link("b");
  const stale = b.stats().activatedAtMs! + b.stats().staleTimeMs;
  pair.runTo(stale);
  assert.equal(b.status, "stale");
  pair.runTo(stale + 5_000);
  assert.equal(b.status, "closed");
  assert.deepEqual(pair.kinds("b", "closed"), [{ kind: "closed", reason: "timeout" }]);
});

test("a stale link becomes active again when a packet arrives in time", () => {
  const pair = LinkPair.established();
  pair.filter = (from) => from === "a";
  const stale = pair.a.stats().activatedAtMs! + pair.a.stats().staleTimeMs;
  pair.runTo(stale + 1_000);
  assert.equal(pair.a.status, "stale");
  pair.filter = () => true;
  pair.send("b", pair.link("b").send(utf8("still here"), pair.nowMs));
  pair.runFor(100);
  assert.equal(pair.a.status, "active");
  pair.runFor(10_000);
  assert.equal(pair.a.status, "active");
});

test("establishment times out: the initiator after 6 s plus 6 s per hop, the responder after its 360 s grace", () => {
  const pair = new LinkPair({ hops: 2 });
  pair.filter = (from) => from === "a"; // proofs are lost
  pair.runTo(T0_MS + 17_999);
  assert.equal(pair.a.status, "pending");
  pair.runTo(T0_MS + 18_000);
  assert.equal(pair.a.status, "closed");
  assert.deepEqual(pair.kinds("a", "closed"), [{ kind: "closed", reason: "timeout" }]);
  const b = pair.link("b");
  assert.equal(b.status, "handshake");
  pair.runTo(T0_MS + 50 + 6_000 + 360_000);
  assert.equal(b.status, "closed");
  assert.deepEqual(pair.kinds("b", "closed"), [{ kind: "closed", reason: "timeout" }]);
  assert.equal(pair.deliveredTo("a", Context.LINKCLOSE).length + pair.deliveredTo("b", Context.LINKCLOSE).length, 0);
});

test("closing from the initiator tells the responder", () => {
  const pair = LinkPair.established();
  pair.send("a", pair.a.close(pair.nowMs));
  pair.runFor(100);
  assert.deepEqual([pair.a.status, pair.link("b").status], ["closed", "closed"]);
  assert.deepEqual(pair.kinds("a", "closed"), [{ kind: "closed", reason: "local" }]);
  assert.deepEqual(pair.kinds("b", "closed"), [{ kind: "closed", reason: "remote" }]);
  assert.equal(pair.a.nextDeadlineMs(), Infinity);
  assert.equal(pair.a.close(pair.nowMs), null);
});

test("closing from the responder tells the initiator", () => {
  const pair = LinkPair.established();
  pair.send("b", pair.link("b").close(pair.nowMs));
  pair.runFor(100);
  assert.deepEqual(pair.kinds("a", "closed"), [{ kind: "closed", reason: "remote" }]);
  assert.deepEqual(pair.kinds("b", "closed"), [{ kind: "closed", reason: "local" }]);
});

test("a pending link closes without a packet: there is no key to tell anyone with", () => {
  const pair = new LinkPair();
  assert.equal(pair.a.close(pair.nowMs), null);
  assert.equal(pair.a.status, "closed");
});

test("a LRPROOF signed by anyone but the destination is refused and the genuine proof still works", () => {
  const pair = new LinkPair();
  let genuine: ReceivedPacket | null = null;
  pair.filter = (from, p) => {
    if (from === "b" && p.context === Context.LRPROOF) genuine = p;
    return from === "a";
  };
  pair.runTo(T0_MS + 100);
  assert.ok(genuine !== null);
  const proof: ReceivedPacket = genuine;
  const impostor = Identity.generate(seededRandom(99));
  const x = proof.data.subarray(64, 96);
  const signalling = proof.data.subarray(96);
  const forgedSig = impostor.sign(proofSignedData(pair.a.linkId, x, impostor.signingPublicKey, signalling));
  pair.a.handle(overTheAir(buildLinkProof(pair.a.linkId, forgedSig, x, signalling)), pair.nowMs);
  const flipped = proof.raw.slice();
  flipped[30] ^= 1;
  pair.a.handle(rx(flipped), pair.nowMs);
  assert.equal(pair.a.status, "pending");
  assert.equal(pair.a.stats().drops["bad-signature"], 2);
  assert.equal(pair.a.takePackets().length, 0);
  pair.a.handle(proof, pair.nowMs);
  assert.equal(pair.a.status, "active");
});

test("tampered, misaddressed and out-of-state packets are dropped and counted, never thrown", () => {
  const pair = LinkPair.established();
  const b = pair.link("b");
  const p = overTheAir(pair.a.send(utf8("payload"), pair.nowMs));
  const raw = p.raw.slice();
  raw[raw.length - 40] ^= 0x80;
  b.handle(rx(raw), pair.nowMs);
  const short = overTheAir({ ...p, data: p.data.subarray(0, 40) });
  b.handle(short, pair.nowMs);
  const other = overTheAir({ ...p, destinationHash: new Uint8Array(16) });
  b.handle(other, pair.nowMs);
  b.handle(overTheAir({ ...p, packetType: PacketType.ANNOUNCE }), pair.nowMs);
  b.handle(overTheAir({ ...p, context: Context.KEEPALIVE, data: Uint8Array.of(1, 2) }), pair.nowMs);
  b.handle(overTheAir({ ...p, context: 0x42 }), pair.nowMs);
  assert.deepEqual(b.stats().drops, { "bad-mac": 1, "bad-length": 1, "bad-destination": 1, "bad-flags": 1, "bad-encoding": 1, unknown: 1 });
  assert.equal(b.takeEvents().filter((e) => e.kind === "data").length, 0);
  b.handle(p, pair.nowMs);
  assert.equal(b.takeEvents().filter((e) => e.kind === "data").length, 1);
});

test("fuzz: mutated link packets never throw and leave the link usable", () => {
  const seed = 0x5eed;
  console.log(`link fuzz seed ${seed}`);
  const rng = seededRandom(seed);
  const pair = LinkPair.established();
  const b = pair.link("b");
  const samples = [
    pair.a.send(utf8("data"), pair.nowMs),
    pair.a.request("/x", [1, 2, 3], pair.nowMs).packet!,
    pair.a.identify(Identity.generate(rng), pair.nowMs),
    pair.a.packet(Context.RESOURCE, rng.bytes(100)),
  ].map((p) => encodePacket(p));
  for (let i = 0; i < 2_000; i++) {
    const raw = samples[i % samples.length]!.slice(0, 19 + (rng.next32() % 200));
    for (let k = 0, n = 1 + (rng.next32() % 4); k < n; k++) raw[rng.next32() % raw.length] = rng.next32() & 0xff;
    raw.set(b.linkId, 2);
    raw[0] = (raw[0]! & 0x7f & ~0x40) | 0x0c;
    raw[1] = 0;
    const d = decodePacket(raw);
    if (!d.ok) continue;
    b.handle(d.value, pair.nowMs);
    pair.a.handle(d.value, pair.nowMs);
  }
  b.takeEvents();
  pair.send("a", pair.a.send(utf8("after the storm"), pair.nowMs));
  pair.runFor(100);
  assert.equal(b.status, "active");
  assert.ok(pair.kinds("b", "data").some((e) => Buffer.from(e.plaintext).toString() === "after the storm"));
});

test("local misuse throws: sending before establishment, link contexts, a closed link", () => {
  const pair = new LinkPair();
  assert.throws(() => pair.a.send(utf8("x"), pair.nowMs), TypeError);
  const est = LinkPair.established({ seed: 4 });
  assert.throws(() => est.a.send(utf8("x"), est.nowMs, Context.LINKCLOSE), RangeError);
  est.a.close(est.nowMs);
  assert.throws(() => est.a.send(utf8("x"), est.nowMs), TypeError);
  assert.throws(() => Link.initiate({ destinationHash: new Uint8Array(16), destinationIdentity: est.owner, random: seededRandom(1), nowMs: 0, hwMtu: 400 }), RangeError);
});

test("packets arriving after close are dropped as out of state", () => {
  const pair = LinkPair.established();
  const p = overTheAir(pair.a.send(utf8("late"), pair.nowMs));
  pair.link("b").close(pair.nowMs);
  pair.link("b").handle(p, pair.nowMs);
  assert.equal(pair.link("b").stats().drops["bad-state"], 1);
});

test("traffic statistics count packets and payload bytes each way", () => {
  const pair = LinkPair.established();
  const b = pair.link("b");
  const [aBefore, bBefore] = [pair.a.stats(), b.stats()];
  pair.send("a", pair.a.send(new Uint8Array(100), pair.nowMs));
  pair.runFor(100);
  const [aAfter, bAfter] = [pair.a.stats(), b.stats()];
  const tokenBytes = 16 + 112 + 32; // IV, 100 bytes padded to 112, HMAC
  assert.deepEqual([aAfter.txPackets - aBefore.txPackets, aAfter.txBytes - aBefore.txBytes], [1, tokenBytes]);
  assert.deepEqual([bAfter.rxPackets - bBefore.rxPackets, bAfter.rxBytes - bBefore.rxBytes], [1, tokenBytes]);
  assert.equal(aAfter.establishmentCostBytes, 86 + 118, "request (19 + 67) and proof (19 + 99)");
  assert.equal(aAfter.establishmentRateBps, (204 * 8 * 1000) / aAfter.rttMs);
});

test("a LRPROOF of the wrong size or with a mode other than AES-256-CBC is refused", () => {
  const pair = new LinkPair();
  let genuine: ReceivedPacket | null = null;
  pair.filter = (from, p) => {
    if (from === "b") genuine = p;
    return from === "a";
  };
  pair.runTo(T0_MS + 100);
  const proof: ReceivedPacket = genuine!;
  pair.a.handle(overTheAir({ ...proof, data: proof.data.subarray(0, 98) }), pair.nowMs);
  const aes128 = proof.data.slice();
  aes128[96] = (aes128[96]! & 0x1f) | (0 << 5);
  pair.a.handle(overTheAir({ ...proof, data: aes128 }), pair.nowMs);
  assert.deepEqual(pair.a.stats().drops, { "bad-length": 1, "bad-encoding": 1 });
  assert.equal(pair.a.status, "pending");
});

test("an RTT packet that does not unpack to a number makes the responder tear the link down", () => {
  const owner = Identity.generate(seededRandom(40));
  const { link: a, request } = Link.initiate({ destinationHash: truncatedHash(owner.publicKey), destinationIdentity: owner, random: seededRandom(41), nowMs: T0_MS });
  const accepted = Link.accept(overTheAir(request), { owner, random: seededRandom(42), nowMs: T0_MS });
  assert.ok(accepted.ok);
  const b = accepted.value.link;
  a.handle(overTheAir(accepted.value.proof), T0_MS + 10);
  a.takePackets();
  b.handle(overTheAir(a.packet(Context.LRRTT, Uint8Array.of(0xa1, 0x78))), T0_MS + 20); // the string "x"
  assert.equal(b.status, "closed");
  assert.deepEqual(b.takeEvents(), [{ kind: "closed", reason: "failed" }]);
  assert.deepEqual(b.takePackets().map((p) => p.context), [Context.LINKCLOSE]);
});

test("the responder answers a keepalive only when it has sent nothing for an interval; the initiator ignores 0xFF", () => {
  const pair = LinkPair.established();
  const b = pair.link("b");
  const keepalive = overTheAir({ ...pair.a.packet(Context.KEEPALIVE, Uint8Array.of(0xff)) });
  pair.send("b", b.send(utf8("fresh"), pair.nowMs));
  b.handle(keepalive, pair.nowMs + 10);
  assert.equal(b.takePackets().length, 0);
  b.handle(keepalive, pair.nowMs + b.stats().keepaliveIntervalMs);
  assert.deepEqual(b.takePackets().map((p) => [...p.data]), [[0xfe]]);
  const before = pair.a.stats().rxPackets;
  pair.a.handle(keepalive, pair.nowMs);
  assert.equal(pair.a.stats().rxPackets, before);
  assert.equal(pair.a.stats().drops["bad-state"], 1);
});

test("the initiator's establishment timeout adds an MTU's airtime at a known first-hop bitrate", () => {
  const owner = Identity.generate(seededRandom(43));
  const { link } = Link.initiate({
    destinationHash: truncatedHash(owner.publicKey), destinationIdentity: owner, random: seededRandom(44), nowMs: T0_MS,
    hops: 3, firstHopBitrateBps: 1_200,
  });
  assert.equal(link.nextDeadlineMs(), T0_MS + (500 * 8 * 1000) / 1_200 + 6_000 + 3 * 6_000);
  const unknown = Link.initiate({ destinationHash: truncatedHash(owner.publicKey), destinationIdentity: owner, random: seededRandom(45), nowMs: T0_MS });
  assert.equal(unknown.link.nextDeadlineMs(), T0_MS + 6_000 + 128 * 6_000, "an unknown path counts as 128 hops");
});

test("event and packet queues are bounded: the oldest entries go and are counted", () => {
  const pair = LinkPair.established();
  const b = pair.link("b");
  b.takeEvents();
  const p = overTheAir(pair.a.send(utf8("x"), pair.nowMs));
  for (let i = 0; i < 300; i++) b.handle(p, pair.nowMs);
  assert.equal(b.takeEvents().length, 256);
  assert.equal(b.stats().droppedEvents, 300 - 256);
});
