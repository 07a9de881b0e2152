// Known answers from RNS 1.4.2 Transport (test/vectors/rns-1.4.2-transport.json, made by
// generate_transport.py): our Transport, fed the same packets in the same order as the reference's
// transport node, sends byte-identical frames on the same interfaces.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fromHex, toHex } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { decodePacket, type Packet } from "../../runtime/wire/packet.js";
import { Transport } from "../../runtime/mesh/transport/transport.js";
import { fixedRandom, vectorFile } from "../helpers.js";
import { T0 } from "./harness.js";

interface Frame {
  interface: string;
  raw: string;
}
interface Step {
  description: string;
  action: "inbound" | "jobs" | "outbound";
  interface?: string;
  raw?: string;
  within_ms?: number;
  expect: Frame[];
}
interface TransportVectors {
  transport_private_key: string;
  transport_id: string;
  interfaces: { name: string; bitrate: number; hw_mtu: number; mtu_signalling: boolean }[];
  path_requests: { description: string; transport_enabled: boolean; destination_hash: string; tag: string; raw: string }[];
  scenario: Step[];
}

const v = vectorFile<TransportVectors>("rns-1.4.2-transport.json");
const identity = Identity.fromPrivateKey(fromHex(v.transport_private_key));

function transportNode(enabled: boolean, random = seededRandom(3)) {
  const t = new Transport({ identity, random, transportEnabled: enabled });
  v.interfaces.forEach((f, i) =>
    t.addInterface(
      { id: i + 1, name: f.name, mode: "full", bitrateBps: f.bitrate, hwMtu: f.hw_mtu, out: true, announceCap: 0.02, mtuSignalling: f.mtu_signalling, ingressControl: false },
      T0,
    ),
  );
  return t;
}

const nameOf = (id: number): string => v.interfaces[id - 1]!.name;
const idOf = (name: string): number => v.interfaces.findIndex((f) => f.name === name) + 1;
const sorted = (frames: Frame[]): Frame[] => [...frames].sort((a, b) => (a.interface + a.raw < b.interface + b.raw ? -1 : 1));

test("the vector file's transport identity is the one we load", () => {
  assert.equal(toHex(identity.hash), v.transport_id);
});

for (const pr of v.path_requests) {
  test(`path request bytes match: ${pr.description}`, () => {
    const t = transportNode(pr.transport_enabled, fixedRandom(fromHex(pr.tag)) as ReturnType<typeof seededRandom>);
    assert.ok(t.requestPath(fromHex(pr.destination_hash), T0));
    const frames = t.takeTransmits();
    assert.equal(frames.length, v.interfaces.length, "sent on every interface");
    for (const f of frames) assert.equal(toHex(f.raw), pr.raw);
  });
}

test("a transport node replaying the reference's scenario emits the same frames at every step", () => {
  const t = transportNode(true);
  let nowMs = T0;
  for (const [i, step] of v.scenario.entries()) {
    let frames: Frame[] = [];
    const take = (): void => {
      frames.push(...t.takeTransmits().map((x) => ({ interface: nameOf(x.interfaceId), raw: toHex(x.raw) })));
    };
    if (step.action === "inbound") {
      t.inbound(idOf(step.interface!), fromHex(step.raw!), nowMs);
      take();
    } else if (step.action === "jobs") {
      const until = nowMs + step.within_ms!;
      for (let k = 0; k < 100 && t.nextDeadlineMs() <= until; k++) {
        nowMs = Math.max(nowMs, t.nextDeadlineMs());
        t.tick(nowMs);
        take();
      }
      nowMs = until;
    } else {
      const d = decodePacket(fromHex(step.raw!));
      assert.ok(d.ok);
      const packet: Packet = { ...d.value };
      t.outbound(packet, nowMs);
      take();
    }
    t.takeEvents();
    frames = sorted(frames);
    assert.deepEqual(frames, sorted(step.expect), `step ${i}: ${step.description}`);
  }
});
