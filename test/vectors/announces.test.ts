// Known-answer tests: announces made and validated by RNS 1.4.2 (test/vectors/rns-1.4.2-announces.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { toHex } from "../../runtime/core/bytes.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { ratchetPublicKey } from "../../runtime/crypto/ratchet.js";
import { announceTimestampS, buildAnnounce, parseAnnounce, validateAnnounce, validateAnnounceAsync } from "../../runtime/wire/announce.js";
import { destinationHash, nameHash } from "../../runtime/wire/destination.js";
import {
  Context,
  DestinationType,
  HeaderType,
  TransportType,
  decodePacket,
  encodePacket,
  packetHash,
  type Packet,
} from "../../runtime/wire/packet.js";
import { hex, hexOrNull, vectorFile } from "../helpers.js";

interface AnnounceVector {
  description: string;
  identity_private_key: string;
  app_name: string;
  aspects: string[];
  raw: string;
  header_type: number;
  hops: number;
  transport_id: string | null;
  destination_hash: string;
  public_key: string;
  name_hash: string;
  random_hash: string;
  ratchet: string | null;
  ratchet_private_key: string | null;
  signature: string;
  app_data: string | null;
  context: number;
  context_flag: number;
  packet_hash: string;
  valid: boolean;
}
interface InvalidAnnounceVector {
  description: string;
  raw: string;
  valid: false;
}
interface AnnounceVectors {
  pinned_time: number;
  announces: AnnounceVector[];
  invalid: InvalidAnnounceVector[];
}

const load = (): AnnounceVectors => vectorFile<AnnounceVectors>("rns-1.4.2-announces.json");
const label = (section: string, v: { description: string }, i: number): string => `${section} ${i} (${v.description})`;
const hexOf = (b: Uint8Array | null): string | null => (b === null ? null : toHex(b));

/**
 * Our documented extra strictness (see validateAnnounce): the reason we refuse a packet the reference
 * accepts, or null when none of our extra rules applies.
 */
function extraStrictness(p: Packet): string | null {
  if (p.context !== Context.NONE && p.context !== Context.PATH_RESPONSE) return "context is not NONE/PATH_RESPONSE";
  if ((p.headerType === HeaderType.HEADER_2) !== (p.transportType === TransportType.TRANSPORT)) return "header and transport type disagree";
  if (p.destinationType !== DestinationType.SINGLE) return "destination type is not SINGLE";
  return null;
}

/** A rebuilt announce is byte-identical to the reference raw only in the form buildAnnounce emits. */
const rebuildable = (v: AnnounceVector): boolean =>
  (v.context === Context.NONE || v.context === Context.PATH_RESPONSE) && v.hops === 0 && v.header_type === HeaderType.HEADER_1;

function decoded(raw: string, l: string): Packet {
  const res = decodePacket(hex(raw));
  assert.ok(res.ok, `${l}: decode: ${res.ok ? "" : res.reason}`);
  return res.value;
}

test("the announce vector file has valid and invalid entries", () => {
  const v = load();
  assert.ok(v.announces.length > 0 && v.invalid.length > 0);
  assert.ok(v.announces.every((a) => a.valid), "every `announces` entry is valid");
});

test("validateAnnounce accepts every announce the reference accepts, with the reference's fields", async (t) => {
  const { announces, pinned_time } = load();
  for (const [i, v] of announces.entries()) {
    const l = label("announces", v, i);
    const p = decoded(v.raw, l);
    const strict = extraStrictness(p);
    if (strict !== null) {
      await t.test(`${l}: refused by our documented strictness (${strict}); the reference accepts it`, () => {
        const res = validateAnnounce(p);
        assert.equal(res.ok, false, `${l}: refused (${strict})`);
        assert.equal(res.ok ? "" : res.reason, "bad-flags", `${l}: refusal reason`);
      });
      continue;
    }
    await t.test(l, () => {
      const res = validateAnnounce(p);
      assert.ok(res.ok, `${l}: validate: ${res.ok ? "" : `${res.reason} ${res.detail ?? ""}`}`);
      const a = res.value;
      assert.equal(toHex(a.destinationHash), v.destination_hash, `${l}: destination hash`);
      assert.equal(toHex(a.publicKey), v.public_key, `${l}: public key`);
      assert.equal(toHex(a.nameHash), v.name_hash, `${l}: name hash`);
      assert.equal(toHex(a.randomHash), v.random_hash, `${l}: random hash`);
      assert.equal(hexOf(a.ratchet), v.ratchet, `${l}: ratchet`);
      assert.equal(toHex(a.signature), v.signature, `${l}: signature`);
      assert.equal(hexOf(a.appData), v.app_data, `${l}: app data`);
      assert.equal(toHex(a.identity.publicKey), v.public_key, `${l}: identity public key`);
      assert.equal(toHex(a.identity.hash), toHex(Identity.fromPrivateKey(hex(v.identity_private_key)).hash), `${l}: identity hash`);
      assert.equal(a.emittedAtS, pinned_time, `${l}: timestamp from the random hash`);
      assert.equal(announceTimestampS(a.randomHash), pinned_time, `${l}: announceTimestampS`);
    });
  }
});

test("every reference announce's parts match our names, hashes, ratchet keys and packet hash", async (t) => {
  for (const [i, v] of load().announces.entries()) {
    const l = label("announces", v, i);
    await t.test(l, () => {
      const p = decoded(v.raw, l);
      assert.equal(p.headerType, v.header_type, `${l}: header type`);
      assert.equal(p.hops, v.hops, `${l}: hops`);
      assert.equal(hexOf(p.transportId), v.transport_id, `${l}: transport id`);
      assert.equal(p.context, v.context, `${l}: context`);
      assert.equal(p.contextFlag ? 1 : 0, v.context_flag, `${l}: context flag`);
      assert.equal(toHex(packetHash(hex(v.raw))), v.packet_hash, `${l}: packet hash`);
      const parsed = parseAnnounce(p);
      assert.ok(parsed.ok, `${l}: parse: ${parsed.ok ? "" : parsed.reason}`);
      assert.equal(toHex(parsed.value.signature), v.signature, `${l}: parsed signature`);
      assert.equal(hexOf(parsed.value.appData), v.app_data, `${l}: parsed app data`);
      const id = Identity.fromPrivateKey(hex(v.identity_private_key));
      assert.equal(toHex(id.publicKey), v.public_key, `${l}: public key from the identity private key`);
      const nh = nameHash(v.app_name, v.aspects);
      assert.equal(toHex(nh), v.name_hash, `${l}: name hash of ${v.app_name} ${JSON.stringify(v.aspects)}`);
      assert.equal(toHex(destinationHash(nh, id.hash)), v.destination_hash, `${l}: destination hash`);
      const ratchetPub = v.ratchet_private_key === null ? null : toHex(ratchetPublicKey(hex(v.ratchet_private_key)));
      assert.equal(ratchetPub, v.ratchet, `${l}: ratchet public key from ratchet_private_key`);
    });
  }
});

test("buildAnnounce reproduces every reference announce (exact raw for HEADER_1, hops 0; signed data otherwise)", async (t) => {
  for (const [i, v] of load().announces.entries()) {
    const l = label("announces", v, i);
    await t.test(l, () => {
      const id = Identity.fromPrivateKey(hex(v.identity_private_key));
      const built = buildAnnounce(id, hex(v.name_hash), {
        randomHash: hex(v.random_hash),
        ratchet: hexOrNull(v.ratchet),
        appData: hexOrNull(v.app_data),
        pathResponse: v.context === Context.PATH_RESPONSE,
      });
      const p = decoded(v.raw, l);
      // Ed25519 is deterministic, so the announce data (which includes the signature) must match exactly.
      assert.equal(toHex(built.data), toHex(p.data), `${l}: announce data`);
      assert.equal(toHex(built.destinationHash), v.destination_hash, `${l}: destination hash`);
      assert.equal(built.contextFlag ? 1 : 0, v.context_flag, `${l}: context flag`);
      if (rebuildable(v)) {
        assert.equal(toHex(encodePacket(built)), v.raw, `${l}: raw`);
      } else {
        // Re-encode our announce in the reference's transported form: identical bytes.
        const transported: Packet = { ...built, headerType: p.headerType, transportType: p.transportType, transportId: p.transportId, hops: p.hops };
        assert.equal(toHex(encodePacket(transported)), v.raw, `${l}: raw in transported form`);
      }
    });
  }
});

test("validateAnnounce refuses every announce the reference refuses", async (t) => {
  for (const [i, v] of load().invalid.entries()) {
    const l = label("invalid", v, i);
    await t.test(l, () => {
      const res = decodePacket(hex(v.raw));
      if (!res.ok) return; // refused before validation, which is a refusal too
      const val = validateAnnounce(res.value);
      assert.equal(val.ok, false, l);
    });
  }
});

test("validateAnnounceAsync agrees with validateAnnounce on every valid and invalid announce", async (t) => {
  const { announces, invalid } = load();
  const all: [string, string][] = [
    ...announces.map((v, i): [string, string] => [label("announces", v, i), v.raw]),
    ...invalid.map((v, i): [string, string] => [label("invalid", v, i), v.raw]),
  ];
  for (const [l, raw] of all) {
    await t.test(l, async () => {
      const res = decodePacket(hex(raw));
      if (!res.ok) return;
      const sync = validateAnnounce(res.value);
      const async_ = await validateAnnounceAsync(res.value);
      assert.equal(async_.ok, sync.ok, `${l}: same verdict`);
      if (!sync.ok && !async_.ok) assert.equal(async_.reason, sync.reason, `${l}: same reason`);
      if (sync.ok && async_.ok) assert.equal(toHex(async_.value.signature), toHex(sync.value.signature), `${l}: same fields`);
    });
  }
});
