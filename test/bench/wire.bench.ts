// Packet-layer benchmarks: decode + hash, announce validation, sign/verify, token and identity encryption.
// The same inputs are written to a file for the reference's benchmark script so both measure alike.
import { toHex, utf8 } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { Token } from "../../runtime/crypto/token.js";
import { announceRandomHash, buildAnnounce, validateAnnounce, validateAnnounceAsync } from "../../runtime/wire/announce.js";
import { nameHash } from "../../runtime/wire/destination.js";
import { decodePacket, encodePacket, packetHash } from "../../runtime/wire/packet.js";
import { VerifyPool } from "../../runtime/crypto/verify-pool.js";
import { measureAsyncOps, measureOps, type Figure } from "./measure.js";

export interface WireBenchInput {
  packets: string[];
  announces: string[];
  announcesCold: string[];
  signerPrivateKey: string;
  message: string;
  signature: string;
  tokenKey: string;
  plaintext: string;
  token: string;
  recipientPrivateKey: string;
  identityToken: string;
}

/** Deterministic inputs shared by both implementations. */
export function makeWireInput(coldCount = 3000): WireBenchInput {
  const rng = seededRandom(7);
  const packets = [60, 200, 500].map((len) =>
    toHex(
      encodePacket({
        headerType: 0, contextFlag: false, transportType: 0, destinationType: 0, packetType: 0, hops: 1,
        transportId: null, destinationHash: rng.bytes(16), context: 0, data: rng.bytes(len - 19),
      }),
    ),
  );
  const mkAnnounce = (id: Identity, i: number): string =>
    toHex(encodePacket(buildAnnounce(id, nameHash("kos", ["bench", String(i % 4)]), {
      randomHash: announceRandomHash(rng, 1_763_700_000_000 + i * 1000),
      appData: utf8(`node ${i}`),
    })));
  const warmIds = Array.from({ length: 16 }, () => Identity.generate(rng));
  const announces = warmIds.map((id, i) => mkAnnounce(id, i));
  const announcesCold = Array.from({ length: coldCount }, (_, i) => mkAnnounce(Identity.generate(rng), i));
  const signer = Identity.generate(rng);
  const message = rng.bytes(64);
  const tokenKey = rng.bytes(64);
  const plaintext = rng.bytes(100);
  const recipient = Identity.generate(rng);
  return {
    packets,
    announces,
    announcesCold,
    signerPrivateKey: toHex(signer.privateKey),
    message: toHex(message),
    signature: toHex(signer.sign(message)),
    tokenKey: toHex(tokenKey),
    plaintext: toHex(plaintext),
    token: toHex(new Token(tokenKey).encrypt(plaintext, rng)),
    recipientPrivateKey: toHex(recipient.privateKey),
    identityToken: toHex(recipient.encrypt(plaintext, rng)),
  };
}

const h = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "hex"));

export async function benchWire(input: WireBenchInput): Promise<Figure[]> {
  const rng = seededRandom(8);
  const packets = input.packets.map(h);
  const announces = input.announces.map(h);
  const cold = input.announcesCold.map(h);
  const signer = Identity.fromPrivateKey(h(input.signerPrivateKey));
  const verifier = Identity.fromPublicKey(signer.publicKey);
  const message = h(input.message);
  const signature = h(input.signature);
  const token = new Token(h(input.tokenKey));
  const plaintext = h(input.plaintext);
  const tokenBytes = h(input.token);
  const recipient = Identity.fromPrivateKey(h(input.recipientPrivateKey));
  const recipientPub = Identity.fromPublicKey(recipient.publicKey);
  const identityToken = h(input.identityToken);

  let sink = 0;
  const must = (ok: boolean, what: string): void => {
    if (!ok) throw new Error(`bench input failed: ${what}`);
  };
  const figures: Figure[] = [];
  figures.push({
    name: "packet decode + hash",
    opsPerSec: measureOps((i) => {
      const d = decodePacket(packets[i % packets.length]!);
      must(d.ok, "decode");
      sink ^= packetHash(d.ok ? d.value.raw : packets[0]!)[0]!;
    }),
  });
  figures.push({
    name: "announce validation (repeat senders)",
    opsPerSec: measureOps((i) => {
      const d = decodePacket(announces[i % announces.length]!);
      must(d.ok && validateAnnounce(d.value).ok, "announce");
    }),
  });
  let coldIndex = 0;
  figures.push({
    name: "announce validation (new senders)",
    opsPerSec: measureOps(() => {
      // Each announce is from an identity not seen in the last `cold.length` announces: no cached keys.
      const d = decodePacket(cold[coldIndex++ % cold.length]!);
      must(d.ok && validateAnnounce(d.value).ok, "announce cold");
    }, { batch: 16 }),
    note: `${cold.length} distinct identities cycled`,
  });
  let pipeIndex = 0;
  const pool = new VerifyPool();
  const pipelined = await measureAsyncOps(async () => {
    const d = decodePacket(cold[pipeIndex++ % cold.length]!);
    must(d.ok && (await validateAnnounceAsync(d.value, pool)).ok, "announce pool");
  }, { inFlight: 256 });
  await pool.close();
  figures.push({
    name: "announce validation (new senders, pipelined)",
    opsPerSec: pipelined,
    note: `signatures batched to ${pool.size} worker threads; the reference figure is its single-thread one`,
  });
  figures.push({ name: "Ed25519 sign (64 B)", opsPerSec: measureOps(() => void (sink ^= signer.sign(message)[0]!)) });
  figures.push({ name: "Ed25519 verify (64 B)", opsPerSec: measureOps(() => must(verifier.verify(signature, message), "verify")) });
  figures.push({ name: "token encrypt (100 B)", opsPerSec: measureOps(() => void (sink ^= token.encrypt(plaintext, rng)[0]!)) });
  figures.push({ name: "token decrypt (100 B)", opsPerSec: measureOps(() => must(token.decrypt(tokenBytes).ok, "token")) });
  figures.push({ name: "identity encrypt (100 B)", opsPerSec: measureOps(() => void (sink ^= recipientPub.encrypt(plaintext, rng)[0]!)) });
  figures.push({ name: "identity decrypt (100 B)", opsPerSec: measureOps(() => must(recipient.decrypt(identityToken).ok, "identity decrypt")) });
  if (sink === -1) console.log(sink);
  return figures;
}
