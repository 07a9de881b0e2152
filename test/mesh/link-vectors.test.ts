// Known-answer tests: a link session between two RNS 1.4.2 Links (test/vectors/rns-1.4.2-links.json), replayed
// by our Links with the same keys, IVs and clock. Every packet we make must equal the reference's byte for byte,
// and every reference packet must be accepted by our Link. Also the signalling bytes and umsgpack encodings.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as nc from "node:crypto";
import { toHex, utf8, type Bytes } from "../../runtime/core/bytes.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { x25519PrivateKey } from "../../runtime/crypto/keys.js";
import { decodePacket, encodePacket, type Packet, type ReceivedPacket } from "../../runtime/wire/packet.js";
import { destinationHash, nameHash } from "../../runtime/wire/destination.js";
import { Link } from "../../runtime/mesh/link/link.js";
import { deriveLinkKey } from "../../runtime/mesh/link/keys.js";
import { parseSignalling, signallingBytes } from "../../runtime/mesh/link/handshake.js";
import { Float64, packMsgpack, unpackMsgpack } from "../../runtime/mesh/link/msgpack.js";
import type { LinkEvent } from "../../runtime/mesh/types.js";
import { fixedRandom, hex, vectorFile } from "../helpers.js";

interface Step {
  step: string;
  at_ms: number;
  [k: string]: unknown;
}
interface Session {
  description: string;
  hw_mtu: number | null;
  link_mtu: number;
  link_mdu: number;
  destination_private_key: string;
  destination_hash: string;
  app_name: string;
  aspects: string[];
  keys: { initiator_x25519_private: string; initiator_ed25519_seed: string; responder_x25519_private: string };
  ivs: Record<string, string>;
  link_id: string;
  shared_key: string;
  derived_key: string;
  steps: Step[];
}
type Typed = [string, ...unknown[]];
interface MsgpackVector {
  value: Typed;
  packed?: string;
  packed_length?: number;
  packed_head?: string;
  packed_sha256?: string;
}
interface LinkVectors {
  sessions: Session[];
  signalling: Array<{ mtu: number; mode: number; bytes: string }>;
  msgpack: MsgpackVector[];
}

const V = vectorFile<LinkVectors>("rns-1.4.2-links.json");
const rx = (raw: Bytes | string): ReceivedPacket => {
  const d = decodePacket(typeof raw === "string" ? hex(raw) : raw);
  if (!d.ok) throw new Error(`vector packet does not decode: ${d.reason}`);
  return d.value;
};
const step = (s: Session, name: string): Step => {
  const found = s.steps.find((x) => x.step === name);
  if (found === undefined) throw new Error(`no step ${name}`);
  return found;
};
const str = (st: Step, key: string): string => st[key] as string;
const wire = (p: Packet | null, mtu: number): string => toHex(encodePacket(p!, mtu));
const only = <K extends LinkEvent["kind"]>(events: LinkEvent[], kind: K): Extract<LinkEvent, { kind: K }> => {
  const found = events.filter((e): e is Extract<LinkEvent, { kind: K }> => e.kind === kind);
  assert.equal(found.length, 1, `one ${kind} event`);
  return found[0]!;
};

/** The request and response data of the session, as JavaScript values that pack like the Python ones. */
const requestData = (s: Session): unknown => {
  const packed = hex(str(step(s, "request"), "plaintext"));
  const u = unpackMsgpack(packed);
  assert.ok(u.ok);
  const m = (u.value as unknown[])[2] as Map<string, unknown>;
  return Object.fromEntries(m);
};
const RESPONSE_DATA = [utf8("pong"), new Float64(1.5), null, true, "done"];

test("the link vector file has both MTU sessions", () => {
  assert.deepEqual(V.sessions.map((s) => s.link_mtu), [500, 8192]);
});

for (const s of V.sessions) {
  const name = `${s.link_mtu}`;
  const owner = Identity.fromPrivateKey(hex(s.destination_private_key));
  const hwMtu = s.hw_mtu ?? undefined;

  test(`MTU ${name}: the destination in the vectors is ours too`, () => {
    assert.equal(toHex(destinationHash(nameHash(s.app_name, s.aspects), owner.hash)), s.destination_hash);
  });

  test(`MTU ${name}: the link key is HKDF over the X25519 secret salted with the link id`, () => {
    const key = deriveLinkKey(x25519PrivateKey(hex(s.keys.initiator_x25519_private)), responderPublic(s), hex(s.link_id));
    assert.equal(toHex(key!), s.derived_key);
  });

  test(`MTU ${name}: our links reproduce the reference's session byte for byte`, () => {
    const mtu = s.link_mtu;
    const iv = (k: string): Bytes => hex(s.ivs[k]!);
    const randomA = fixedRandom(
      hex(s.keys.initiator_x25519_private), hex(s.keys.initiator_ed25519_seed), iv("rtt"),
      iv("data initiator to responder"), iv("request"), iv("identify"), iv("close"),
    );
    const randomB = fixedRandom(hex(s.keys.responder_x25519_private), iv("data responder to initiator"), iv("response"));

    // Link request and link id.
    const st0 = step(s, "link request");
    const { link: a, request } = Link.initiate({
      destinationHash: hex(s.destination_hash), destinationIdentity: Identity.fromPublicKey(owner.publicKey),
      random: randomA, nowMs: st0.at_ms, ...(hwMtu !== undefined ? { hwMtu } : {}),
    });
    assert.equal(wire(request, 500), str(st0, "raw"));
    assert.equal(toHex(a.linkId), s.link_id);

    // The responder's proof, given the same ephemeral key.
    const st1 = step(s, "link proof");
    const accepted = Link.accept(rx(str(st0, "raw")), { owner, random: randomB, nowMs: st1.at_ms, ...(hwMtu !== undefined ? { hwMtu } : {}) });
    assert.ok(accepted.ok);
    const b = accepted.value.link;
    assert.equal(wire(accepted.value.proof, mtu), str(st1, "raw"));

    // The initiator accepts the reference's proof and sends the same RTT packet.
    const st2 = step(s, "rtt");
    a.handle(rx(str(st1, "raw")), st2.at_ms);
    assert.equal(a.status, "active");
    assert.equal(a.rttMs / 1000, st2["rtt_s"]);
    assert.deepEqual([a.mtu, a.mdu], [s.link_mtu, s.link_mdu]);
    const [rtt] = a.takePackets();
    assert.equal(wire(rtt!, mtu), str(st2, "raw"));
    b.handle(rx(str(st2, "raw")), step(s, "rtt received").at_ms);
    assert.equal(b.status, "active");
    assert.equal(b.rttMs / 1000, step(s, "rtt received")["responder_rtt_s"]);

    // Data both ways, and the explicit proofs each receiver makes.
    for (const [dir, from, to] of [["initiator to responder", a, b], ["responder to initiator", b, a]] as const) {
      const st = step(s, `data ${dir}`);
      const sent = from.send(hex(str(st, "plaintext")), st.at_ms, 0, { receipt: true });
      assert.equal(wire(sent, mtu), str(st, "raw"));
      to.handle(rx(str(st, "raw")), st.at_ms);
      const data = only(to.takeEvents(), "data");
      assert.equal(toHex(data.plaintext), str(st, "plaintext"));
      assert.equal(wire(to.prove(data.packet), mtu), str(st, "proof_raw"));
      from.handle(rx(str(st, "proof_raw")), st.at_ms);
      assert.equal(toHex(only(from.takeEvents(), "proof").packetHash), str(st, "packet_hash"));
    }

    // A request and its response.
    const stq = step(s, "request");
    const { requestId, packet } = a.request(str(stq, "path"), requestData(s), stq.at_ms, 15_000);
    assert.equal(wire(packet, mtu), str(stq, "raw"));
    assert.equal(toHex(requestId), str(stq, "request_id"));
    const str_ = step(s, "response");
    b.handle(rx(str(stq, "raw")), str_.at_ms);
    const req = only(b.takeEvents(), "request");
    assert.equal(toHex(req.requestId), str(stq, "request_id"));
    assert.equal(toHex(req.pathHash), str(stq, "path_hash"));
    assert.equal(req.requestedAtS, stq.at_ms / 1000);
    assert.equal(wire(b.respond(req.requestId, RESPONSE_DATA, str_.at_ms), mtu), str(str_, "raw"));
    a.handle(rx(str(str_, "raw")), str_.at_ms);
    assert.deepEqual(only(a.takeEvents(), "response").data, [utf8("pong"), 1.5, null, true, "done"]);

    // Identify.
    const sti = step(s, "identify");
    const me = Identity.fromPrivateKey(hex(str(sti, "identity_private_key")));
    assert.equal(wire(a.identify(me, sti.at_ms), mtu), str(sti, "raw"));
    b.handle(rx(str(sti, "raw")), sti.at_ms);
    assert.equal(toHex(only(b.takeEvents(), "identified").identityHash), str(sti, "identity_hash"));

    // Keepalive: our initiator sends it on its own by then, and our responder answers it as the reference did.
    const stk = step(s, "keepalive");
    a.tick(stk.at_ms);
    assert.deepEqual(a.takePackets().map((p) => wire(p, mtu)), [str(stk, "raw")]);
    b.handle(rx(str(stk, "raw")), stk.at_ms);
    assert.deepEqual(b.takePackets().map((p) => wire(p, mtu)), [str(stk, "answer_raw")]);
    assert.equal(b.stats().keepaliveIntervalMs, Math.round((stk["responder_keepalive_s"] as number) * 1000));

    // Close.
    const stc = step(s, "close");
    assert.equal(wire(a.close(stc.at_ms), mtu), str(stc, "raw"));
    b.handle(rx(str(stc, "raw")), stc.at_ms);
    assert.equal(b.status, "closed");
    assert.deepEqual(only(b.takeEvents(), "closed"), { kind: "closed", reason: "remote" });
  });
}

function responderPublic(s: Session): Bytes {
  const proof = rx(str(step(s, "link proof"), "raw"));
  return proof.data.subarray(64, 96);
}

test("signalling bytes match Link.signalling_bytes for every MTU", () => {
  for (const v of V.signalling) {
    assert.equal(toHex(signallingBytes(v.mtu, v.mode)), v.bytes, `MTU ${v.mtu}`);
    assert.deepEqual(parseSignalling(hex(v.bytes)), { mtu: v.mtu, mode: v.mode });
  }
});

/** Rebuilds a typed vector value as the JavaScript value our packer takes. */
function build(t: Typed): unknown {
  const [kind, a, b] = t as [string, unknown, unknown];
  switch (kind) {
    case "nil": return null;
    case "bool": return a;
    case "int": {
      const n = BigInt(a as string);
      // Our unpacker hands out numbers up to 2^53 in magnitude (exact in a double), bigints beyond.
      return n >= -(2n ** 53n) && n <= 2n ** 53n ? Number(n) : n;
    }
    case "float": return new Float64(Buffer.from(a as string, "hex").readDoubleBE(0));
    case "str": return a;
    case "str-run": return (a as string).repeat(b as number);
    case "bin": return hex(a as string);
    case "bin-run": return new Uint8Array(b as number).fill(parseInt(a as string, 16));
    case "list": return (a as Typed[]).map(build);
    case "map": return new Map((a as [Typed, Typed][]).map(([k, v]) => [build(k), build(v)]));
    default: throw new Error(`unknown typed value ${kind}`);
  }
}

/** What our unpacker should give back: floats as numbers, the rest as built. */
function plain(v: unknown): unknown {
  if (v instanceof Float64) return v.value;
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Map) return new Map([...v].map(([k, e]) => [plain(k), plain(e)]));
  return v;
}

test("our MessagePack writes exactly what umsgpack writes, and reads it back", () => {
  for (const [i, v] of V.msgpack.entries()) {
    const value = build(v.value);
    const packed = packMsgpack(value);
    const label = `msgpack ${i} ${JSON.stringify(v.value).slice(0, 60)}`;
    if (v.packed !== undefined) {
      assert.equal(toHex(packed), v.packed, label);
    } else {
      assert.equal(packed.length, v.packed_length, label);
      assert.equal(toHex(packed.subarray(0, 8)), v.packed_head, label);
      assert.equal(nc.createHash("sha256").update(packed).digest("hex"), v.packed_sha256, label);
    }
    const back = unpackMsgpack(packed);
    assert.ok(back.ok, label);
    assert.deepEqual(back.value, plain(value), label);
  }
});

test("our MessagePack refuses what umsgpack never writes: extensions, and truncated input", () => {
  assert.equal(unpackMsgpack(hex("d6ff00000001")).ok, false);
  assert.equal(unpackMsgpack(hex("9301")).ok, false);
  assert.equal(unpackMsgpack(new Uint8Array(0)).ok, false);
  const trailing = unpackMsgpack(hex("01ff"));
  assert.ok(trailing.ok && trailing.value === 1, "trailing bytes are ignored, as umsgpack ignores them");
  assert.throws(() => packMsgpack(new Date(0)), TypeError);
});
