// Emits fresh kos-edge artifacts (random keys, real clock) as JSON for test/interop/reference_check.py,
// which validates them with the reference implementation. Run: node .build/test/interop/emit.js
import { toHex, utf8 } from "../../runtime/core/bytes.js";
import { cryptoRandom, systemClock } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { Token } from "../../runtime/crypto/token.js";
import { generateRatchet, ratchetPublicKey } from "../../runtime/crypto/ratchet.js";
import { announceRandomHash, buildAnnounce } from "../../runtime/wire/announce.js";
import { destinationHash, nameHash } from "../../runtime/wire/destination.js";
import { hdlcEncode } from "../../runtime/wire/hdlc.js";
import { InterfaceAccessCode } from "../../runtime/wire/ifac.js";
import { kissEncode } from "../../runtime/wire/kiss.js";
import { buildProofData } from "../../runtime/wire/proof.js";
import { encodePacket, packetHash } from "../../runtime/wire/packet.js";

const rnd = cryptoRandom;
const now = systemClock.nowMs();
const announces = [];
for (const [i, opts] of [{}, { appData: utf8("kos-edge node") }, { ratchet: true }, { ratchet: true, appData: rnd.bytes(40) }, { pathResponse: true }].entries()) {
  const id = Identity.generate(rnd);
  const aspects = ["interop", String(i)];
  const ratchet = "ratchet" in opts ? ratchetPublicKey(generateRatchet(rnd)) : null;
  const packet = buildAnnounce(id, nameHash("kosedge", aspects), {
    randomHash: announceRandomHash(rnd, now),
    ratchet,
    appData: "appData" in opts ? (opts.appData as Uint8Array) : null,
    pathResponse: "pathResponse" in opts,
  });
  announces.push({
    raw: toHex(encodePacket(packet)),
    app_name: "kosedge",
    aspects,
    identity_public_key: toHex(id.publicKey),
    destination_hash: toHex(destinationHash(nameHash("kosedge", aspects), id.hash)),
  });
}
const recipient = Identity.generate(rnd);
const ratchetPrivate = generateRatchet(rnd);
const plaintext = rnd.bytes(200);
const tokenKey = rnd.bytes(64);
const signer = Identity.generate(rnd);
const message = rnd.bytes(300);
const dataPacket = encodePacket({
  headerType: 0, contextFlag: false, transportType: 0, destinationType: 0, packetType: 0, hops: 0,
  transportId: null, destinationHash: rnd.bytes(16), context: 0, data: rnd.bytes(100),
});
const ifac = InterfaceAccessCode.derive("kos-interop", "correct horse", 16);
process.stdout.write(
  JSON.stringify({
    announces,
    recipient_private_key: toHex(recipient.privateKey),
    ratchet_private_key: toHex(ratchetPrivate),
    plaintext: toHex(plaintext),
    identity_token: toHex(Identity.fromPublicKey(recipient.publicKey).encrypt(plaintext, rnd)),
    ratchet_token: toHex(Identity.fromPublicKey(recipient.publicKey).encrypt(plaintext, rnd, { ratchet: ratchetPublicKey(ratchetPrivate) })),
    token_key: toHex(tokenKey),
    token: toHex(new Token(tokenKey).encrypt(plaintext, rnd)),
    signer_public_key: toHex(signer.publicKey),
    message: toHex(message),
    signature: toHex(signer.sign(message)),
    data_packet: toHex(dataPacket),
    data_packet_hash: toHex(packetHash(dataPacket)),
    proof_implicit: toHex(buildProofData(signer, packetHash(dataPacket), true)),
    proof_explicit: toHex(buildProofData(signer, packetHash(dataPacket), false)),
    ifac: { network_name: "kos-interop", passphrase: "correct horse", size: 16, masked: toHex(ifac.apply(dataPacket)), raw: toHex(dataPacket) },
    hdlc_frame: toHex(hdlcEncode(dataPacket)),
    kiss_frame: toHex(kissEncode(0, dataPacket)),
  }) + "\n",
);
