// Known-answer tests: packet proofs recorded from RNS 1.4.2 (test/vectors/rns-1.4.2-proofs.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { toHex } from "../../runtime/core/bytes.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { buildProofData, proofDestinationHash, validateProof } from "../../runtime/wire/proof.js";
import {
  Context,
  DestinationType,
  HeaderType,
  PacketType,
  TransportType,
  decodePacket,
  encodePacket,
  packetHash,
} from "../../runtime/wire/packet.js";
import { hex, vectorFile } from "../helpers.js";

interface ProofVector {
  description: string;
  signer_private_key: string;
  signer_public_key: string;
  packet_raw: string;
  packet_hash: string;
  explicit_proof_data: string;
  implicit_proof_data: string;
  proof_destination_hash: string;
  explicit_proof_packet: string;
  implicit_proof_packet: string;
}
interface ProofVectors {
  proofs: ProofVector[];
}

const load = (): ProofVectors => vectorFile<ProofVectors>("rns-1.4.2-proofs.json");
const label = (v: ProofVector, i: number): string => `proof ${i} (${v.description})`;

test("the proof vector file has entries", () => {
  assert.ok(load().proofs.length > 0);
});

test("packetHash and proofDestinationHash match every proved packet", async (t) => {
  for (const [i, v] of load().proofs.entries()) {
    const l = label(v, i);
    await t.test(l, () => {
      assert.equal(toHex(packetHash(hex(v.packet_raw))), v.packet_hash, `${l}: packet hash`);
      assert.equal(toHex(proofDestinationHash(hex(v.packet_hash))), v.proof_destination_hash, `${l}: proof destination hash`);
    });
  }
});

test("buildProofData reproduces every reference proof, implicit and explicit", async (t) => {
  for (const [i, v] of load().proofs.entries()) {
    const l = label(v, i);
    await t.test(l, () => {
      const signer = Identity.fromPrivateKey(hex(v.signer_private_key));
      assert.equal(toHex(signer.publicKey), v.signer_public_key, `${l}: signer public key`);
      assert.equal(toHex(buildProofData(signer, hex(v.packet_hash))), v.implicit_proof_data, `${l}: implicit (default)`);
      assert.equal(toHex(buildProofData(signer, hex(v.packet_hash), true)), v.implicit_proof_data, `${l}: implicit`);
      assert.equal(toHex(buildProofData(signer, hex(v.packet_hash), false)), v.explicit_proof_data, `${l}: explicit`);
    });
  }
});

test("validateProof accepts every reference proof and refuses a damaged one", async (t) => {
  for (const [i, v] of load().proofs.entries()) {
    const l = label(v, i);
    await t.test(l, () => {
      const prover = Identity.fromPublicKey(hex(v.signer_public_key));
      const ph = hex(v.packet_hash);
      const explicit = validateProof(hex(v.explicit_proof_data), ph, prover);
      assert.ok(explicit.ok && explicit.value === "explicit", `${l}: explicit accepted`);
      const implicit = validateProof(hex(v.implicit_proof_data), ph, prover);
      assert.ok(implicit.ok && implicit.value === "implicit", `${l}: implicit accepted`);
      const damaged = hex(v.explicit_proof_data);
      damaged[70]! ^= 0x01; // the same damage the generator checked the reference refuses
      assert.equal(validateProof(damaged, ph, prover).ok, false, `${l}: damaged explicit proof refused`);
    });
  }
});

test("the reference's PROOF packets decode to our proof data and re-encode from our own fields", async (t) => {
  for (const [i, v] of load().proofs.entries()) {
    const l = label(v, i);
    await t.test(l, () => {
      const signer = Identity.fromPrivateKey(hex(v.signer_private_key));
      for (const [mode, raw, data] of [
        ["explicit", v.explicit_proof_packet, v.explicit_proof_data],
        ["implicit", v.implicit_proof_packet, v.implicit_proof_data],
      ] as const) {
        const res = decodePacket(hex(raw));
        assert.ok(res.ok, `${l}: ${mode} proof packet decodes`);
        assert.equal(res.value.packetType, PacketType.PROOF, `${l}: ${mode} packet type`);
        assert.equal(toHex(res.value.destinationHash), v.proof_destination_hash, `${l}: ${mode} destination`);
        assert.equal(toHex(res.value.data), data, `${l}: ${mode} data`);
        const ours = encodePacket({
          headerType: HeaderType.HEADER_1,
          contextFlag: false,
          transportType: TransportType.BROADCAST,
          destinationType: DestinationType.SINGLE,
          packetType: PacketType.PROOF,
          hops: 0,
          transportId: null,
          destinationHash: proofDestinationHash(hex(v.packet_hash)),
          context: Context.NONE,
          data: buildProofData(signer, hex(v.packet_hash), mode === "implicit"),
        });
        assert.equal(toHex(ours), raw, `${l}: ${mode} proof packet from our fields`);
      }
    });
  }
});
