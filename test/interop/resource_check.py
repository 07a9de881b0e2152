#!/usr/bin/env python3
# Live check of kos-edge's resource sender against the reference (RNS 1.4.2): kos-edge sends fresh resources
# (random link key, data and draws) to its own receiver on a virtual link and records what its sender put on the
# wire; this script then plays kos-edge's sender from that record to the reference's receiver (RNS.Resource.accept,
# receive_part, hashmap_update_packet), answering each request the reference makes, and checks that the reference
# assembles the same data and metadata and sends the proof kos-edge's sender accepted.
# Usage (from the repo root, after `npm run compile`):
#   KOS_RNS_PATH=/path/to/Reticulum python3 test/interop/resource_check.py
import json, os, subprocess, sys, tempfile, threading, types

if os.environ.get("KOS_RNS_PATH"):
    sys.path.insert(0, os.environ["KOS_RNS_PATH"])
SCRATCH = tempfile.mkdtemp(prefix="kos-interop-")
os.environ["HOME"] = SCRATCH  # keep ~/.reticulum untouched
import RNS
from RNS.Cryptography.Token import Token

RNS.loglevel = RNS.LOG_CRITICAL
RNS.Reticulum.resourcepath = os.path.join(SCRATCH, "resources")
os.makedirs(RNS.Reticulum.resourcepath, exist_ok=True)
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# kos-edge's side: an inline ES module over the compiled tree.
EMIT = r"""
import { cryptoRandom } from "./.build/runtime/core/ports.js";
import { toHex, utf8 } from "./.build/runtime/core/bytes.js";
import { Context } from "./.build/runtime/wire/packet.js";
import { ResourceSim } from "./.build/test/mesh/resource.harness.js";
const key = cryptoRandom.bytes(64);
const cases = [
  { name: "1000 bytes", data: cryptoRandom.bytes(1000) },
  { name: "empty", data: new Uint8Array(0) },
  { name: "metadata", data: cryptoRandom.bytes(5000), metadata: { name: utf8("kos-edge.bin") } },
  { name: "200 kB, hashmap updates", data: cryptoRandom.bytes(200000) },
  { name: "response to a request", data: cryptoRandom.bytes(3000), requestId: cryptoRandom.bytes(16), isResponse: true },
  { name: "3 MB in three segments with metadata", data: cryptoRandom.bytes(3000000), metadata: { name: utf8("big.bin") } },
];
const out = [];
for (const c of cases) {
  const sim = new ResourceSim({ seed: cryptoRandom.bytes(4).reduce((a, b) => a * 256 + b, 0), key, latencyMs: 2, bitrateBps: 1e9, log: true });
  const sender = sim.send({ ...c, random: cryptoRandom });
  sim.run({ maxEvents: 10000000 });
  const segments = [];
  for (const e of sim.log) {
    if (e.context === Context.RESOURCE_ADV && e.from === "sender") segments.push({ advertisement: toHex(e.plaintext), parts: [], hmus: [], proof: null });
    const s = segments.at(-1);
    if (e.context === Context.RESOURCE && !s.parts.includes(toHex(e.plaintext))) s.parts.push(toHex(e.plaintext));
    if (e.context === Context.RESOURCE_HMU) s.hmus.push(toHex(e.plaintext));
    if (e.context === Context.RESOURCE_PRF) s.proof = toHex(e.plaintext);
  }
  out.push({ name: c.name, data: toHex(c.data), metadata: c.metadata ? { name: toHex(c.metadata.name) } : null,
             sender_status: sender.status, receiver_status: sim.receiver.status, link_id: toHex(sim.senderLink.linkId), segments });
}
process.stdout.write(JSON.stringify({ key: toHex(key), cases: out }));
"""
raw = subprocess.run(["node", "--input-type=module", "-e", EMIT], cwd=root, check=True, capture_output=True, text=True).stdout
d = json.loads(raw)
h = bytes.fromhex
failures = 0


def check(name, ok):
    global failures
    print(("PASS " if ok else "FAIL ") + name)
    if not ok:
        failures += 1


class CheckLink:
    """What RNS.Resource and RNS.Packet touch of a link, keyed like kos-edge's; sent packets land in `outbox`."""

    def __init__(self, key, link_id):
        self.type = RNS.Destination.LINK
        self.link_id = self.hash = link_id
        self.mtu = RNS.Reticulum.MTU
        self.mdu = RNS.Link.MDU
        self.rtt = 0.05
        self.traffic_timeout_factor = RNS.Link.TRAFFIC_TIMEOUT_FACTOR
        self.establishment_cost = 200
        self.expected_rate = None
        self.status = RNS.Link.ACTIVE
        self.last_outbound = self.tx = self.txbytes = 0
        self.callbacks = types.SimpleNamespace(resource_started=None)
        self.token = Token(key)

    def encrypt(self, plaintext): return self.token.encrypt(plaintext)
    def decrypt(self, ciphertext): return self.token.decrypt(ciphertext)
    def get_last_resource_window(self): return None
    def get_last_resource_eifr(self): return None
    def has_incoming_resource(self, resource): return False
    def register_incoming_resource(self, resource): pass
    def cancel_incoming_resource(self, resource): pass
    def resource_concluded(self, resource): pass
    def teardown(self): self.status = RNS.Link.CLOSED


outbox = []


def outbound(packet):
    packet.sent = True
    outbox.append(packet)
    return True


RNS.Transport.outbound = staticmethod(outbound)
RNS.Transport.cache = staticmethod(lambda packet, force_cache=False: None)
RNS.Resource.watchdog_job = lambda self: None  # the check drives the receiver itself; no watchdog threads


def play_segment(link, seg, concluded):
    """Answers the reference receiver's requests for one segment from kos-edge's recorded parts and updates."""
    adv = RNS.ResourceAdvertisement.unpack(h(seg["advertisement"]))
    parts = {RNS.Identity.full_hash(h(p) + adv.r)[:4]: h(p) for p in seg["parts"]}
    hmus = {RNS.vendor.umsgpack.unpackb(h(u)[32:])[0]: h(u) for u in seg["hmus"]}
    keys = [RNS.Identity.full_hash(h(p) + adv.r)[:4] for p in seg["parts"]]
    outbox.clear()
    receiver = RNS.Resource.accept(types.SimpleNamespace(plaintext=h(seg["advertisement"]), link=link), callback=concluded)
    if receiver is None:
        return None, None
    proof = None
    for _ in range(100000):
        if not outbox:
            # The reference assembles and proves on a thread of its own: let it finish, then look again.
            for t in threading.enumerate():
                if t is not threading.current_thread():
                    t.join(timeout=30)
            if not outbox:
                break
            continue
        p = outbox.pop(0)
        if p.context == RNS.Packet.RESOURCE_PRF:
            proof = p.data
        if p.context != RNS.Packet.RESOURCE_REQ:
            continue
        req = p.data
        exhausted = req[0] == 0xFF
        pad = 5 if exhausted else 1
        wanted = req[pad + 32:]
        for i in range(0, len(wanted), 4):
            part = RNS.Packet(link, parts[wanted[i:i + 4]], context=RNS.Packet.RESOURCE)
            part.pack()
            receiver.receive_part(part)
        if exhausted:
            segment = (keys.index(req[1:5]) + 1) // RNS.ResourceAdvertisement.HASHMAP_MAX_LEN
            receiver.hashmap_update_packet(hmus[segment])
    return receiver, proof


for c in d["cases"]:
    name = c["name"]
    check(f"{name}: kos-edge's own receiver completed and its sender accepted the proof",
          c["sender_status"] == "complete" and c["receiver_status"] == "complete")
    link = CheckLink(h(d["key"]), h(c["link_id"]))
    concluded = {}

    def on_concluded(r):
        concluded["data"] = r.data.read()
        concluded["metadata"] = r.metadata

    for i, seg in enumerate(c["segments"]):
        receiver, proof = play_segment(link, seg, on_concluded)
        check(f"{name}: segment {i + 1}/{len(c['segments'])} advertisement accepted by the reference", receiver is not None)
        if receiver is None:
            break
        check(f"{name}: segment {i + 1} complete in the reference with kos-edge's proof",
              receiver.status == RNS.Resource.COMPLETE and proof is not None and proof.hex() == seg["proof"])
    check(f"{name}: the reference assembled kos-edge's data", concluded.get("data") == h(c["data"]))
    expected_meta = None if c["metadata"] is None else {k: h(v) for k, v in c["metadata"].items()}
    check(f"{name}: the reference read kos-edge's metadata", concluded.get("metadata") == expected_meta)
    if c["name"] == "response to a request":
        adv = RNS.ResourceAdvertisement.unpack(h(c["segments"][0]["advertisement"]))
        check(f"{name}: the reference sees a response (flag p) with the request id", adv.p and not adv.u and adv.q is not None)

print(f"{failures} failed")
sys.exit(1 if failures else 0)
