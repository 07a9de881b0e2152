// Links (RNS 1.4.2): requests and responses, their timeouts and resource hooks, identify, packet proofs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { concat, equal, utf8 } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { truncatedHash } from "../../runtime/crypto/hashes.js";
import { pathHash } from "../../runtime/wire/destination.js";
import { Context, packetHash, PacketType, type ReceivedPacket } from "../../runtime/wire/packet.js";
import { Float64 } from "../../runtime/mesh/link/msgpack.js";
import { packResponse } from "../../runtime/mesh/link/requests.js";
import { LinkPair, overTheAir } from "./link-harness.js";

test("a request reaches the responder with its path hash, data and time, and the response comes back", () => {
  const pair = LinkPair.established();
  const sentAt = pair.nowMs;
  const { requestId, packet } = pair.a.request("/status", { verbose: true }, sentAt);
  assert.equal(packet?.context, Context.REQUEST);
  pair.send("a", packet);
  pair.runFor(50);
  const [req] = pair.kinds("b", "request");
  assert.ok(req !== undefined);
  assert.ok(equal(req.requestId, requestId));
  assert.ok(equal(req.pathHash, pathHash("/status")));
  assert.deepEqual(req.data, new Map([["verbose", true]]));
  assert.equal(req.requestedAtS, sentAt / 1000);
  pair.send("b", pair.link("b").respond(req.requestId, [utf8("ok"), new Float64(2)], pair.nowMs));
  pair.runFor(50);
  const [res] = pair.kinds("a", "response");
  assert.ok(res !== undefined && equal(res.requestId, requestId));
  assert.deepEqual(res.data, [utf8("ok"), 2]);
  pair.runFor(60_000);
  assert.equal(pair.kinds("a", "request-failed").length, 0);
});

test("the request id is the truncated hash of the REQUEST packet, as both sides see it", () => {
  const pair = LinkPair.established();
  const { requestId, packet } = pair.a.request("/x", null, pair.nowMs);
  assert.ok(equal(requestId, truncatedHash(concat(Uint8Array.of(0x0c), pair.a.linkId, Uint8Array.of(Context.REQUEST), packet!.data))));
});

test("an unanswered request fails at rtt * 6 + 11.25 s by default", () => {
  const pair = LinkPair.established({ latencyMs: 50 });
  const sentAt = pair.nowMs;
  const { requestId, packet } = pair.a.request("/slow", null, sentAt);
  pair.send("a", packet);
  pair.runTo(sentAt + 100 * 6 + 11_250 - 1);
  assert.equal(pair.kinds("a", "request-failed").length, 0);
  pair.runTo(sentAt + 100 * 6 + 11_250);
  assert.deepEqual(pair.kinds("a", "request-failed"), [{ kind: "request-failed", requestId, reason: "timeout" }]);
  // A response after the timeout is no longer expected.
  pair.send("b", pair.link("b").respond(requestId, "late", pair.nowMs));
  pair.runFor(100);
  assert.equal(pair.kinds("a", "response").length, 0);
  assert.equal(pair.a.stats().drops.unsolicited, 1);
});

test("a request honours an explicit timeout", () => {
  const pair = LinkPair.established();
  const sentAt = pair.nowMs;
  pair.a.request("/x", null, sentAt, 2_000);
  assert.equal(pair.a.nextDeadlineMs(), sentAt + 2_000);
  pair.runTo(sentAt + 2_000);
  assert.equal(pair.kinds("a", "request-failed").length, 1);
});

test("a response to a request never made is dropped as unsolicited", () => {
  const pair = LinkPair.established();
  pair.send("b", pair.link("b").respond(new Uint8Array(16).fill(7), "who asked?", pair.nowMs));
  pair.runFor(100);
  assert.equal(pair.kinds("a", "response").length, 0);
  assert.equal(pair.a.stats().drops.unsolicited, 1);
});

test("a request too large for one packet asks the engine for a resource, and comes back through the hook", () => {
  const pair = LinkPair.established();
  const big = seededRandom(5).bytes(2_000);
  const { requestId, packet } = pair.a.request("/upload", big, pair.nowMs);
  assert.equal(packet, null);
  const need = pair.a.takeEvents().find((e) => e.kind === "needs-resource");
  assert.ok(need !== undefined && need.kind === "needs-resource" && need.isResponse === false);
  assert.ok(equal(need.requestId, requestId));
  assert.ok(equal(requestId, truncatedHash(need.payload)));
  // The resource machine delivers the payload to the responder's link.
  const b = pair.link("b");
  b.requestResourceReceived(need.payload, pair.nowMs);
  const [req] = b.takeEvents().filter((e) => e.kind === "request");
  assert.ok(req !== undefined && req.kind === "request" && equal(req.requestId, requestId));
  assert.ok(req.data instanceof Uint8Array && equal(req.data, big));
});

test("a response too large for one packet goes as a resource and is matched to its request on arrival", () => {
  const pair = LinkPair.established();
  const { requestId, packet } = pair.a.request("/download", null, pair.nowMs, 5_000);
  pair.send("a", packet);
  pair.runFor(50);
  const b = pair.link("b");
  const body = seededRandom(6).bytes(3_000);
  assert.equal(b.respond(requestId, body, pair.nowMs), null);
  const need = b.takeEvents().find((e) => e.kind === "needs-resource");
  assert.ok(need !== undefined && need.kind === "needs-resource" && need.isResponse);
  assert.ok(equal(need.payload, packResponse(requestId, body)));
  pair.a.responseResourceStarted(requestId);
  pair.runFor(60_000); // a slow resource: the request does not time out while its response is arriving
  assert.equal(pair.kinds("a", "request-failed").length, 0);
  pair.a.responseResourceReceived(need.payload, pair.nowMs);
  const res = pair.a.takeEvents().find((e) => e.kind === "response");
  assert.ok(res !== undefined && res.kind === "response" && equal(res.data as Uint8Array, body));
});

test("a failed resource fails its request, and closing the link fails the rest", () => {
  const pair = LinkPair.established();
  const one = pair.a.request("/a", null, pair.nowMs).requestId;
  const two = pair.a.request("/b", null, pair.nowMs).requestId;
  pair.a.requestResourceFailed(one, pair.nowMs);
  pair.a.close(pair.nowMs);
  assert.deepEqual(
    pair.a.takeEvents().filter((e) => e.kind === "request-failed"),
    [
      { kind: "request-failed", requestId: one, reason: "resource" },
      { kind: "request-failed", requestId: two, reason: "closed" },
    ],
  );
});

test("a request that overtakes the initiator's RTT packet is held until the RTT activates the link", () => {
  // The reference's initiator marks its link active before its RTT packet leaves; rncp then sends its identify
  // and fetch request at once, and they can reach the responder first (seen live against RNS 1.4.2).
  const pair = new LinkPair();
  const heldRtt: ReceivedPacket[] = [];
  pair.filter = (from, p) => {
    if (from === "a" && p.context === Context.LRRTT && heldRtt.length === 0) {
      heldRtt.push(p);
      return false;
    }
    return true;
  };
  pair.runUntil(() => pair.a.status === "active", 10_000);
  assert.equal(heldRtt.length, 1);
  const me = Identity.generate(seededRandom(41));
  pair.send("a", pair.a.identify(me, pair.nowMs));
  const { requestId, packet } = pair.a.request("fetch_file", "/srv/file.bin", pair.nowMs);
  pair.send("a", packet);
  pair.runFor(100);
  assert.equal(pair.link("b").status, "handshake");
  assert.equal(pair.kinds("b", "identified").length, 1, "identify is taken during the handshake, as the reference does");
  assert.equal(pair.kinds("b", "request").length, 0);
  pair.send("a", heldRtt[0]!);
  pair.runFor(100);
  assert.equal(pair.link("b").status, "active");
  const kinds = pair.events("b").map((e) => e.kind);
  assert.ok(kinds.indexOf("established") < kinds.indexOf("request"), kinds.join(","));
  const [req] = pair.kinds("b", "request");
  assert.ok(req !== undefined && equal(req.requestId, requestId));
  assert.equal(req.data, "/srv/file.bin");
  pair.send("b", pair.link("b").respond(requestId, true, pair.nowMs));
  pair.runFor(100);
  assert.deepEqual(pair.kinds("a", "response").map((r) => r.data), [true]);
});

test("requests held during the handshake are bounded, and dropped when the RTT never comes", () => {
  const pair = new LinkPair();
  pair.filter = (from, p) => !(from === "a" && p.context === Context.LRRTT);
  pair.runUntil(() => pair.a.status === "active", 10_000);
  for (let i = 0; i < 10; i++) pair.send("a", pair.a.request(`/r${i}`, null, pair.nowMs).packet);
  pair.runFor(100);
  assert.equal(pair.link("b").status, "handshake");
  assert.equal(pair.link("b").stats().drops["bad-state"], 2, "8 held, 2 dropped");
  pair.runFor(60_000);
  assert.equal(pair.link("b").status, "closed");
  assert.equal(pair.kinds("b", "request").length, 0);
});

test("the initiator identifies itself; the responder learns and keeps the first identity", () => {
  const pair = LinkPair.established();
  assert.ok(equal(pair.a.remoteIdentity!.hash, pair.owner.hash));
  assert.equal(pair.link("b").remoteIdentity, null);
  const me = Identity.generate(seededRandom(31));
  const p = pair.a.identify(me, pair.nowMs);
  assert.equal(p.context, Context.LINKIDENTIFY);
  pair.send("a", p);
  pair.send("a", pair.a.identify(Identity.generate(seededRandom(32)), pair.nowMs));
  pair.runFor(100);
  assert.deepEqual(pair.kinds("b", "identified"), [{ kind: "identified", identityHash: me.hash, publicKey: me.publicKey }]);
  assert.ok(equal(pair.link("b").remoteIdentity!.hash, me.hash));
  assert.throws(() => pair.link("b").identify(me, pair.nowMs), TypeError);
});

test("an identity whose signature does not cover this link is refused", () => {
  const pair = LinkPair.established();
  const me = Identity.generate(seededRandom(33));
  const forged = concat(me.publicKey, me.sign(concat(new Uint8Array(16), me.publicKey)));
  pair.send("a", pair.a.packet(Context.LINKIDENTIFY, forged));
  pair.runFor(100);
  assert.equal(pair.kinds("b", "identified").length, 0);
  assert.equal(pair.link("b").stats().drops["bad-signature"], 1);
});

test("the responder proves packets with its destination identity, and the initiator's receipt accepts it", () => {
  const pair = LinkPair.established();
  const p = pair.a.send(utf8("prove me"), pair.nowMs, Context.NONE, { receipt: true });
  pair.send("a", p);
  pair.runFor(50);
  const [data] = pair.kinds("b", "data");
  const proof = pair.link("b").prove(data!.packet);
  assert.equal(proof.packetType, PacketType.PROOF);
  const hash = packetHash(data!.packet.raw);
  assert.ok(equal(proof.data.subarray(0, 32), hash));
  assert.ok(pair.owner.verify(proof.data.subarray(32), hash), "signed by the destination identity");
  pair.send("b", proof);
  pair.runFor(50);
  assert.deepEqual(pair.kinds("a", "proof"), [{ kind: "proof", packetHash: hash }]);
});

test("the initiator proves packets with its ephemeral link key, which the responder checks", () => {
  const pair = LinkPair.established();
  pair.send("b", pair.link("b").send(utf8("prove me too"), pair.nowMs, Context.NONE, { receipt: true }));
  pair.runFor(50);
  const [data] = pair.kinds("a", "data");
  const proof = pair.a.prove(data!.packet);
  assert.ok(!pair.owner.verify(proof.data.subarray(32), proof.data.subarray(0, 32)));
  pair.send("a", proof);
  pair.runFor(50);
  assert.equal(pair.kinds("b", "proof").length, 1);
});

test("a proof with a bad signature is dropped and the receipt times out at max(rtt * 6, 5 ms)", () => {
  const pair = LinkPair.established({ latencyMs: 50 });
  const sentAt = pair.nowMs;
  const p = pair.a.send(utf8("x"), sentAt, Context.NONE, { receipt: true });
  const rx = overTheAir(p);
  const proof = pair.link("b").prove(rx);
  const bad = proof.data.slice();
  bad[40]! ^= 1;
  pair.a.handle(overTheAir({ ...proof, data: bad }), pair.nowMs);
  assert.equal(pair.a.stats().drops["bad-signature"], 1);
  pair.runTo(sentAt + 600);
  assert.deepEqual(pair.kinds("a", "receipt-timeout"), [{ kind: "receipt-timeout", packetHash: packetHash(rx.raw) }]);
  pair.a.handle(overTheAir(proof), pair.nowMs);
  assert.equal(pair.a.stats().drops.unsolicited, 1);
});

test("channel packets are proved automatically, as the reference's Channel expects", () => {
  const pair = LinkPair.established();
  pair.send("a", pair.a.send(utf8("channel envelope"), pair.nowMs, Context.CHANNEL, { receipt: true }));
  pair.runFor(100);
  assert.equal(pair.kinds("b", "data")[0]?.context, Context.CHANNEL);
  assert.equal(pair.kinds("a", "proof").length, 1);
});

test("resource packets pass through: parts and proofs in clear, the rest decrypted, all as data events", () => {
  const pair = LinkPair.established();
  const part = seededRandom(8).bytes(300);
  const clear = pair.a.packet(Context.RESOURCE, part);
  assert.ok(equal(clear.data, part));
  const adv = pair.a.packet(Context.RESOURCE_ADV, utf8("advertisement"));
  assert.notEqual(adv.data.length, 13);
  const prf = pair.link("b").packet(Context.RESOURCE_PRF, part.subarray(0, 64), PacketType.PROOF);
  pair.send("a", clear);
  pair.send("a", adv);
  pair.send("b", prf);
  pair.runFor(100);
  assert.deepEqual(pair.kinds("b", "data").map((e) => [e.context, e.plaintext.length]), [[Context.RESOURCE, 300], [Context.RESOURCE_ADV, 13]]);
  assert.deepEqual(pair.kinds("a", "data").map((e) => [e.context, e.plaintext.length]), [[Context.RESOURCE_PRF, 64]]);
});

test("the receipt table is bounded: the oldest receipt is given up with a receipt-timeout", () => {
  const pair = LinkPair.established();
  const first = pair.a.send(utf8("0"), pair.nowMs, Context.NONE, { receipt: true });
  for (let i = 1; i <= 256; i++) pair.a.send(utf8(String(i)), pair.nowMs, Context.NONE, { receipt: true });
  const timeouts = pair.a.takeEvents().filter((e) => e.kind === "receipt-timeout");
  assert.deepEqual(timeouts, [{ kind: "receipt-timeout", packetHash: packetHash(overTheAir(first).raw) }]);
});

test("the pending request table is bounded: request() refuses more than 64", () => {
  const pair = LinkPair.established();
  for (let i = 0; i < 64; i++) pair.a.request(`/r${i}`, null, pair.nowMs);
  assert.throws(() => pair.a.request("/one-too-many", null, pair.nowMs), RangeError);
});
