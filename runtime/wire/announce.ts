// Announces (RNS 1.4.2): data = public key(64) || name hash(10) || random hash(10) || [ratchet(32)] ||
// signature(64) || [app data]. The context flag says whether a ratchet is present. The signature covers
// destination hash || public key || name hash || random hash || ratchet || app data. The random hash is
// 5 random bytes then the sender's Unix time in seconds, 5 bytes big-endian: the reference ignores an
// announce for a known destination unless that timestamp is newer.
import { concat, equal, readUintBE, uintBE, type Bytes } from "../core/bytes.js";
import { assertLength } from "../core/assert.js";
import {
  ANNOUNCE_MIN_DATA,
  NAME_HASH_LENGTH,
  PUBLIC_KEY_LENGTH,
  RANDOM_HASH_LENGTH,
  RATCHET_LENGTH,
  SIGNATURE_LENGTH,
} from "../core/limits.js";
import { err, ok, type Result } from "../core/result.js";
import type { RandomSource } from "../core/ports.js";
import { Identity } from "../crypto/identity.js";
import { truncatedHash } from "../crypto/hashes.js";
import { destinationHash } from "./destination.js";
import { Context, DestinationType, HeaderType, PacketType, TransportType, type Packet } from "./packet.js";

export interface Announce {
  destinationHash: Bytes;
  publicKey: Bytes;
  nameHash: Bytes;
  randomHash: Bytes;
  /** Announced ratchet public key, or null. */
  ratchet: Bytes | null;
  signature: Bytes;
  /** App data, or null when the announce carries none. */
  appData: Bytes | null;
}

export interface ValidAnnounce extends Announce {
  identity: Identity;
  /** Sender's clock in seconds, from the random hash. */
  emittedAtS: number;
}

/** 5 random bytes followed by the time in whole seconds, 5 bytes big-endian. */
export function announceRandomHash(random: RandomSource, nowMs: number): Bytes {
  return concat(random.bytes(5), uintBE(Math.floor(nowMs / 1000), 5));
}

export function announceTimestampS(randomHash: Bytes): number {
  return readUintBE(randomHash, 5, 5);
}

export interface AnnounceOptions {
  randomHash: Bytes;
  ratchet?: Bytes | null;
  appData?: Bytes | null;
  pathResponse?: boolean;
}

/** Builds the announce packet of a SINGLE destination owned by `identity`. */
export function buildAnnounce(identity: Identity, nameHashBytes: Bytes, options: AnnounceOptions): Packet {
  assertLength(nameHashBytes, NAME_HASH_LENGTH, "name hash");
  assertLength(options.randomHash, RANDOM_HASH_LENGTH, "random hash");
  const ratchet = options.ratchet ?? null;
  if (ratchet !== null) assertLength(ratchet, RATCHET_LENGTH, "ratchet");
  const appData = options.appData ?? null;
  const dest = destinationHash(nameHashBytes, identity.hash);
  const body = concat(identity.publicKey, nameHashBytes, options.randomHash, ratchet ?? new Uint8Array(0));
  const signature = identity.sign(concat(dest, body, appData ?? new Uint8Array(0)));
  return {
    headerType: HeaderType.HEADER_1,
    contextFlag: ratchet !== null,
    transportType: TransportType.BROADCAST,
    destinationType: DestinationType.SINGLE,
    packetType: PacketType.ANNOUNCE,
    hops: 0,
    transportId: null,
    destinationHash: dest,
    context: options.pathResponse === true ? Context.PATH_RESPONSE : Context.NONE,
    data: concat(body, signature, appData ?? new Uint8Array(0)),
  };
}

/** Splits an announce into its fields without checking the signature. */
export function parseAnnounce(packet: Packet): Result<Announce> {
  if (packet.packetType !== PacketType.ANNOUNCE) return err("bad-flags", "not an announce");
  // Only SINGLE destinations announce; the type bits are not signed, so we refuse other values rather
  // than pass on a relabelled announce.
  if (packet.destinationType !== DestinationType.SINGLE) return err("bad-flags", "announce for a non-SINGLE destination");
  const d = packet.data;
  const ratchetLength = packet.contextFlag ? RATCHET_LENGTH : 0;
  const fixed = ANNOUNCE_MIN_DATA + ratchetLength;
  if (d.length < fixed) return err("too-short", `announce data of ${d.length} bytes`);
  let o = 0;
  const take = (n: number): Bytes => d.subarray(o, (o += n));
  const publicKey = take(PUBLIC_KEY_LENGTH);
  const nameHashBytes = take(NAME_HASH_LENGTH);
  const randomHash = take(RANDOM_HASH_LENGTH);
  const ratchet = ratchetLength > 0 ? take(RATCHET_LENGTH) : null;
  const signature = take(SIGNATURE_LENGTH);
  const appData = d.length > fixed ? d.subarray(fixed) : null;
  return ok({
    destinationHash: packet.destinationHash,
    publicKey,
    nameHash: nameHashBytes,
    randomHash,
    ratchet,
    signature,
    appData,
  });
}

/** The bytes an announce's signature covers. */
export function announceSignedData(a: Announce): Bytes {
  return concat(
    a.destinationHash,
    a.publicKey,
    a.nameHash,
    a.randomHash,
    a.ratchet ?? new Uint8Array(0),
    a.appData ?? new Uint8Array(0),
  );
}

/**
 * Validates an announce as the reference does: the signature, then that the destination hash is the hash
 * of the name hash and the announced identity. (Key-conflict and replay checks belong to Transport.)
 * The signature does not cover the header, so we also refuse header combinations no reference node
 * emits (a context other than NONE/PATH_RESPONSE, HEADER_2 without TRANSPORT or the reverse): then the
 * only bits of an announce that can change in flight are the hop count, which transport nodes rewrite.
 */
export function validateAnnounce(packet: Packet): Result<ValidAnnounce> {
  const pre = prepareAnnounce(packet);
  if (!pre.ok) return pre;
  const { announce, identity } = pre.value;
  if (!identity.verify(announce.signature, announceSignedData(announce))) return err("bad-signature", "announce signature");
  return ok({ ...announce, identity, emittedAtS: announceTimestampS(announce.randomHash) });
}

/**
 * The same validation with the signature checked on libuv's thread pool: a host validating a burst of
 * announces keeps one in flight per core. Use from the host's I/O shell; pure cores use validateAnnounce.
 */
export async function validateAnnounceAsync(packet: Packet, verifier?: SignatureVerifier): Promise<Result<ValidAnnounce>> {
  const pre = prepareAnnounce(packet);
  if (!pre.ok) return pre;
  const { announce, identity } = pre.value;
  const signed = announceSignedData(announce);
  const valid = verifier
    ? await verifier.verify(identity.signingPublicKey, announce.signature, signed)
    : await identity.verifyAsync(announce.signature, signed);
  if (!valid) return err("bad-signature", "announce signature");
  return ok({ ...announce, identity, emittedAtS: announceTimestampS(announce.randomHash) });
}

/** Something that checks Ed25519 signatures off the event loop (VerifyPool in runtime/crypto). */
export interface SignatureVerifier {
  verify(publicKey: Bytes, signature: Bytes, message: Bytes): Promise<boolean>;
}

/** Every check but the signature: header sanity, structure, and the destination hash. */
function prepareAnnounce(packet: Packet): Result<{ announce: Announce; identity: Identity }> {
  if (packet.context !== Context.NONE && packet.context !== Context.PATH_RESPONSE) {
    return err("bad-flags", `announce with context ${packet.context}`);
  }
  if ((packet.headerType === HeaderType.HEADER_2) !== (packet.transportType === TransportType.TRANSPORT)) {
    return err("bad-flags", "announce header and transport type disagree");
  }
  const parsed = parseAnnounce(packet);
  if (!parsed.ok) return parsed;
  const announce = parsed.value;
  const identity = Identity.fromPublicKey(announce.publicKey);
  // The hash check is far cheaper than the signature, so a relabelled announce costs no verify.
  const expected = truncatedHash(concat(announce.nameHash, identity.hash));
  if (!equal(expected, announce.destinationHash)) return err("bad-destination", "destination hash mismatch");
  return ok({ announce, identity });
}
