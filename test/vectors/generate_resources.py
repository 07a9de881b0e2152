#!/usr/bin/env python3
"""
kos-edge known-answer vectors for resources (windowed bulk transfer over a link).

This script is kos-edge's own code. It imports the Reticulum reference
implementation (RNS 1.4.2) purely as a library: it builds resources with the
reference's Resource class on a stand-in link with a fixed Token key, records
the advertisement plaintext and every part, then plays the whole transfer
between a reference sender and a reference receiver (requests, hashmap
updates, parts, proof) through a captured outbound queue and records what the
receiver assembled and the proof it sent. No reference source is copied.

Usage:
    RNS_PATH=/work/ref/Reticulum python3 test/vectors/generate_resources.py

Determinism: a sending Resource draws os.urandom three times (16 bytes hashed
into the 4-byte stream prefix, 16 bytes for the Token IV, 16 bytes hashed
into the 4-byte random hash); the generator feeds those from fixed values and
requires each to be used. The transfer that follows uses real randomness only
for the link encryption of requests and hashmap updates, whose ciphertexts
are not recorded, so two runs write the same file.
"""

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import types

EXPECTED_VERSION = "1.4.2"
GENERATOR = "test/vectors/generate_resources.py"
OUT_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rns-1.4.2-resources.json")

SCRATCH = tempfile.mkdtemp(prefix="kos-edge-resource-vectors-")
os.environ["HOME"] = SCRATCH
RNS_PATH = os.environ.get("RNS_PATH", "/work/ref/Reticulum")


def fail(message):
    sys.stderr.write("generate_resources.py: " + message + "\n")
    shutil.rmtree(SCRATCH, ignore_errors=True)
    sys.exit(2)


sys.path.insert(0, RNS_PATH)
try:
    import RNS
    from RNS.Cryptography.Token import Token
    from RNS.vendor import umsgpack
except Exception as e:  # noqa: BLE001
    fail(f"cannot import RNS from RNS_PATH={RNS_PATH!r}: {e!r}")

if getattr(RNS, "__version__", None) != EXPECTED_VERSION:
    fail(f"RNS at {RNS_PATH!r} is version {getattr(RNS, '__version__', '?')!r}, not {EXPECTED_VERSION}")

RNS.loglevel = int(os.environ.get("KOS_VECTORS_LOGLEVEL", RNS.LOG_CRITICAL))
Resource = RNS.Resource
ResourceAdvertisement = RNS.ResourceAdvertisement
Packet = RNS.Packet

RNS.Reticulum.resourcepath = os.path.join(SCRATCH, "resources")
os.makedirs(RNS.Reticulum.resourcepath, exist_ok=True)


def det_bytes(label, n):
    """Deterministic, random-looking bytes: SHA-256 in counter mode over a label."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"kos-edge resource vectors|{label}|{counter}".encode()).digest()
        counter += 1
    return out[:n]


def h(b):
    return None if b is None else bytes(b).hex()


LINK_KEY = det_bytes("link key", 64)
LINK_ID = det_bytes("link id", 16)
LINK_MTU = RNS.Reticulum.MTU
LINK_RTT_S = 0.05


class VectorLink:
    """
    The parts of an RNS.Link that Resource and Packet touch, with a fixed Token
    key. Packets "sent" on it land in `outbox` instead of Transport.
    """

    def __init__(self):
        self.type = RNS.Destination.LINK
        self.link_id = LINK_ID
        self.hash = LINK_ID
        self.mtu = LINK_MTU
        self.mdu = RNS.Link.MDU
        self.rtt = LINK_RTT_S
        self.traffic_timeout_factor = RNS.Link.TRAFFIC_TIMEOUT_FACTOR
        self.establishment_cost = 200
        self.expected_rate = None
        self.status = RNS.Link.ACTIVE
        self.last_outbound = 0
        self.tx = 0
        self.txbytes = 0
        self.callbacks = types.SimpleNamespace(resource_started=None)
        self.token = Token(LINK_KEY)

    def encrypt(self, plaintext):
        return self.token.encrypt(plaintext)

    def decrypt(self, ciphertext):
        try:
            return self.token.decrypt(ciphertext)
        except Exception:  # noqa: BLE001 - a bad token is None, as on a real link
            return None

    def get_last_resource_window(self): return None
    def get_last_resource_eifr(self): return None
    def has_incoming_resource(self, resource): return False
    def register_incoming_resource(self, resource): pass
    def register_outgoing_resource(self, resource): pass
    def cancel_incoming_resource(self, resource): pass
    def cancel_outgoing_resource(self, resource): pass
    def resource_concluded(self, resource): pass
    def ready_for_new_resource(self): return True
    def teardown(self): self.status = RNS.Link.CLOSED


@contextlib.contextmanager
def forced_urandom(values):
    """Feed os.urandom from `values` for one block; every value must be drawn with its own size."""
    queue = list(values)
    real = os.urandom

    def fake(n):
        assert queue, f"unexpected os.urandom({n}) draw"
        v = queue.pop(0)
        assert len(v) == n, f"os.urandom({n}) but queued {len(v)} bytes"
        return v

    os.urandom = fake
    try:
        yield
    finally:
        os.urandom = real
    assert not queue, "queued randomness was not fully drawn"


@contextlib.contextmanager
def captured_transport(outbox):
    """Packet.send() hands packets to Transport.outbound: collect them; no watchdog threads, no cache."""
    saved = (RNS.Transport.outbound, RNS.Transport.cache, Resource.watchdog_job)

    def outbound(packet):
        packet.sent = True
        outbox.append(packet)
        return True

    RNS.Transport.outbound = staticmethod(outbound)
    RNS.Transport.cache = staticmethod(lambda packet, force_cache=False: None)
    Resource.watchdog_job = lambda self: None
    try:
        yield
    finally:
        RNS.Transport.outbound, RNS.Transport.cache, Resource.watchdog_job = saved


def play_transfer(sender, adv_plaintext, link):
    """
    Runs a reference receiver against the reference sender through the captured
    outbox until the sender accepts the receiver's proof. Returns what the
    receiver assembled, its proof packet data and the hashmap updates the
    sender answered with.
    """
    outbox = []
    hmus = []
    requests = 0
    with captured_transport(outbox):
        sender.adv_sent = time.time()
        adv_packet = types.SimpleNamespace(plaintext=adv_plaintext, link=link)
        concluded = {}

        def on_concluded(r):
            # The reference hands over the assembled data as an open file that it deletes afterwards.
            concluded["data"] = r.data.read()
            concluded["metadata"] = r.metadata

        receiver = Resource.accept(adv_packet, callback=on_concluded)
        assert receiver is not None, "the reference receiver refused the advertisement"
        proof = None
        steps = 0
        while steps < 100000:
            steps += 1
            if not outbox:
                # The reference assembles and proves on a thread of its own: let it finish, then look again.
                for t in threading.enumerate():
                    if t is not threading.current_thread():
                        t.join(timeout=30)
                if not outbox:
                    break
                continue
            p = outbox.pop(0)
            if p.context == Packet.RESOURCE_REQ:
                requests += 1
                sender.request(p.data)
            elif p.context == Packet.RESOURCE:
                receiver.receive_part(p)
            elif p.context == Packet.RESOURCE_HMU:
                segment, hashmap = umsgpack.unpackb(p.data[32:])
                hmus.append({"segment": segment, "plaintext": h(p.data), "hashmap": h(hashmap)})
                receiver.hashmap_update_packet(p.data)
            elif p.context == Packet.RESOURCE_PRF:
                proof = p.data
                sender.validate_proof(p.data)
            else:
                raise AssertionError(f"unexpected packet context {p.context}")
        assert receiver.status == Resource.COMPLETE, f"reference receiver ended in status {receiver.status}"
        assert sender.status == Resource.COMPLETE, f"reference sender ended in status {sender.status}"
    return concluded["data"], concluded["metadata"], proof, hmus, requests


def make_resource(name, data, metadata=None, auto_compress=False):
    prefix_seed = det_bytes(f"{name}|stream prefix", 16)
    iv = det_bytes(f"{name}|iv", 16)
    random_seed = det_bytes(f"{name}|random hash", 16)
    link = VectorLink()
    with forced_urandom([prefix_seed, iv, random_seed]):
        resource = Resource(data, link, metadata=metadata, advertise=False, auto_compress=auto_compress)
    return resource, link, {
        "urandom": [h(prefix_seed), h(iv), h(random_seed)],
        # What the three draws become: Identity.get_random_hash() is the truncated SHA-256 of 16 random
        # bytes, and a resource keeps its first 4 bytes.
        "stream_prefix": h(hashlib.sha256(prefix_seed).digest()[:4]),
        "iv": h(iv),
        "random_hash": h(hashlib.sha256(random_seed).digest()[:4]),
    }


def advertisement_fields(plaintext):
    d = umsgpack.unpackb(plaintext)
    return {k: (h(v) if isinstance(v, bytes) else v) for k, v in d.items()}


def vector(name, description, data, metadata=None, auto_compress=False):
    resource, link, random = make_resource(name, data, metadata, auto_compress)
    assert random["random_hash"] == h(resource.random_hash)
    adv = ResourceAdvertisement(resource).pack()
    parts = [p.data for p in resource.parts]
    first_raw = resource.parts[0].raw
    assembled, received_metadata, proof, hmus, requests = play_transfer(resource, adv, link)
    assert assembled == data, "the reference receiver assembled different data"
    assert proof == resource.hash + resource.expected_proof
    entry = {
        "name": name,
        "description": description,
        "data": h(data),
        "metadata": None if metadata is None else {k: h(v) for k, v in metadata.items()},
        "packed_metadata": None if metadata is None else h(umsgpack.packb(metadata)),
        "auto_compress": auto_compress,
        "random": random,
        "compressed": resource.compressed,
        "sdu": resource.sdu,
        "advertisement": h(adv),
        "advertisement_fields": advertisement_fields(adv),
        "resource_hash": h(resource.hash),
        "original_hash": h(resource.original_hash),
        "hashmap": h(resource.hashmap),
        "parts": [h(p) for p in parts],
        "first_part_raw": h(first_raw),
        "hmus": hmus,
        "proof": h(proof),
        "expected_proof": h(resource.expected_proof),
        "receiver_metadata": None if received_metadata is None else {k: h(v) for k, v in received_metadata.items()},
        "reference_requests": requests,
    }
    return entry


def zip_bomb():
    """
    An advertisement that understates the data size of a bz2-compressed resource: 1,000,000 zero bytes
    compress to a few dozen bytes, and the advertisement says the data is 1,000 bytes. A receiver must
    stop decompressing at its limit instead of inflating the whole stream.
    """
    data = bytes(1_000_000)
    resource, link, random = make_resource("zip bomb", data, auto_compress=True)
    assert resource.compressed
    honest = ResourceAdvertisement(resource)
    honest_plaintext = honest.pack()
    lying = ResourceAdvertisement(resource)
    lying.d = 1000
    lying_plaintext = lying.pack()
    return {
        "name": "zip bomb",
        "description": "1,000,000 zero bytes sent bz2-compressed; `advertisement` is honest (d = 1000000), "
                       "`lying_advertisement` was packed by the reference after setting d = 1000",
        "data_length": len(data),
        "random": random,
        "compressed": True,
        "advertisement": h(honest_plaintext),
        "lying_advertisement": h(lying_plaintext),
        "resource_hash": h(resource.hash),
        "parts": [h(p.data) for p in resource.parts],
        "proof": h(resource.hash + resource.expected_proof),
    }


def main():
    text = ("kos-edge resource vectors: compressible text to see bz2 at work. " * 400).encode()
    vectors = [
        vector("small", "128 bytes, uncompressed, one part", det_bytes("small data", 128)),
        vector("metadata", "600 bytes with metadata {\"name\": b\"file.bin\"}, two parts",
               det_bytes("metadata data", 600), metadata={"name": b"file.bin"}),
        vector("compressed", f"{len(text)} bytes of repeated text with auto_compress: sent bz2-compressed",
               text, auto_compress=True),
        vector("hashmap updates", "90,000 random-looking bytes in 195 parts: the advertisement carries 74 map "
               "hashes and the receiver needs two hashmap updates", det_bytes("large data", 90_000)),
        vector("empty", "0 bytes: the stream is the 4-byte prefix alone", b""),
    ]
    out = {
        "source": "RNS " + EXPECTED_VERSION,
        "generator": GENERATOR,
        "description": "Resources made by RNS.Resource on a link with a fixed Token key (link_key) and fixed "
                       "os.urandom draws, then transferred to a reference receiver. Byte values are hex. "
                       "`advertisement` is the RESOURCE_ADV plaintext (msgpack), `parts` the RESOURCE packet "
                       "payloads in order, `hmus` the RESOURCE_HMU plaintexts the sender answered with, `proof` "
                       "the RESOURCE_PRF payload (resource hash + proof) the reference receiver sent.",
        "link_key": h(LINK_KEY),
        "link_id": h(LINK_ID),
        "link_mtu": LINK_MTU,
        "link_mdu": RNS.Link.MDU,
        "constants": {
            "hashmap_max_len": ResourceAdvertisement.HASHMAP_MAX_LEN,
            "collision_guard_size": ResourceAdvertisement.COLLISION_GUARD_SIZE,
            "max_efficient_size": Resource.MAX_EFFICIENT_SIZE,
            "sdu": RNS.Reticulum.MTU - RNS.Reticulum.HEADER_MAXSIZE - RNS.Reticulum.IFAC_MIN_SIZE,
        },
        "resources": vectors,
        "zip_bomb": zip_bomb(),
    }
    with open(OUT_FILE, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(out, indent=2) + "\n")
    print(f"wrote {os.path.basename(OUT_FILE)}: resources={len(vectors)}, zip_bomb=1")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
