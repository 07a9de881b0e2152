#!/usr/bin/env python3
"""
kos-edge known-answer vectors for Reticulum links (RNS 1.4.2).

This script is kos-edge's own code. It imports the Reticulum reference
implementation purely as a library, runs two of its Link objects against
each other in one process with fixed keys, IVs and clock readings, and writes
every packet they exchange to test/vectors/rns-1.4.2-links.json. It also
records how the reference's umsgpack packs a set of typed values.

Usage:
    RNS_PATH=/work/ref/Reticulum python3 test/vectors/generate_links.py

Determinism: the reference draws its randomness from
X25519PrivateKey.generate / Ed25519PrivateKey.generate (link keys) and
os.urandom (Token IVs), and reads time.time() for RTTs and request
timestamps. For every call that draws, the script queues explicit values and
requires each to be used; the clock is a variable the script sets. Two runs
give byte-identical output.

Isolation: no Reticulum instance is started. The reference's Link talks to
Transport and to the Reticulum instance; the script replaces the few entry
points it touches (outbound, register_link, activate_link, hops_to,
next_hop_interface_hw_mtu, get_instance) and stops the link watchdog thread
from starting, so packets are captured instead of sent. HOME points into a
temporary directory which is removed at exit.
"""

import contextlib
import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
import threading
import types

EXPECTED_VERSION = "1.4.2"
SOURCE = "RNS " + EXPECTED_VERSION
GENERATOR = "test/vectors/generate_links.py"
OUT_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rns-1.4.2-links.json")

# The clock starts at this unix time (2025-11-21); every reading below is an exact binary fraction past it.
T0 = 1763700000.0

SCRATCH = tempfile.mkdtemp(prefix="kos-edge-link-vectors-")
os.environ["HOME"] = SCRATCH
RNS_PATH = os.environ.get("RNS_PATH", "/work/ref/Reticulum")


def fail(message):
    sys.stderr.write("generate_links.py: " + message + "\n")
    shutil.rmtree(SCRATCH, ignore_errors=True)
    sys.exit(2)


sys.path.insert(0, RNS_PATH)
try:
    import RNS
    from RNS.vendor import umsgpack
except Exception as e:  # noqa: BLE001 - any import failure is fatal here
    fail(f"cannot import RNS from RNS_PATH={RNS_PATH!r}: {e!r}")

if getattr(RNS, "__version__", None) != EXPECTED_VERSION:
    fail(f"RNS at {RNS_PATH!r} is version {getattr(RNS, '__version__', '?')!r}, not {EXPECTED_VERSION}")

RNS.loglevel = int(os.environ.get("KOS_VECTORS_LOGLEVEL", RNS.LOG_CRITICAL))

Packet = RNS.Packet
Link = RNS.Link
Transport = RNS.Transport
Destination = RNS.Destination
Identity = RNS.Identity
X25519 = RNS.Cryptography.X25519PrivateKey
Ed25519 = RNS.Cryptography.Ed25519PrivateKey


# --------------------------------------------------------------------------
# Helpers (ours)
# --------------------------------------------------------------------------

def h(b):
    return None if b is None else bytes(b).hex()


def det_bytes(label, n):
    """Deterministic, random-looking bytes: SHA-256 in counter mode over a label."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"kos-edge link vectors|{label}|{counter}".encode()).digest()
        counter += 1
    return out[:n]


def ms(t):
    """A clock reading as integer milliseconds (all readings here are exact)."""
    value = round(t * 1000)
    assert value / 1000 == t
    return value


class Clock:
    now = T0


def install_clock():
    """Link, Packet and PacketReceipt read time.time(); give them the script's clock."""
    for name in ("RNS.Link", "RNS.Packet"):
        module = sys.modules[name]
        real = module.time
        shim = types.SimpleNamespace(**{k: getattr(real, k) for k in dir(real) if not k.startswith("__")})
        shim.time = lambda: Clock.now
        module.time = shim


@contextlib.contextmanager
def forced(x25519=(), ed25519=(), urandom=()):
    """Feed the reference's randomness from queues for one step; every queued value must be drawn."""
    xq, eq, uq = list(x25519), list(ed25519), list(urandom)
    real_urandom = os.urandom
    real_x = X25519.__dict__["generate"]
    real_e = Ed25519.__dict__["generate"]

    def fake_urandom(n):
        assert uq, f"unexpected os.urandom({n})"
        v = uq.pop(0)
        assert len(v) == n, f"os.urandom({n}) but {len(v)} bytes queued"
        return v

    def fake_x(cls):
        assert xq, "unexpected X25519 key generation"
        return cls.from_private_bytes(xq.pop(0))

    def fake_e(cls):
        assert eq, "unexpected Ed25519 key generation"
        return cls.from_private_bytes(eq.pop(0))

    os.urandom = fake_urandom
    X25519.generate = classmethod(fake_x)
    Ed25519.generate = classmethod(fake_e)
    try:
        yield
        join_threads()
    finally:
        os.urandom = real_urandom
        X25519.generate = real_x
        Ed25519.generate = real_e
    assert not xq and not eq and not uq, "queued randomness was not fully drawn"


def join_threads():
    """Link.receive hands callbacks, requests and responses to threads; wait for them."""
    for t in threading.enumerate():
        if t is not threading.current_thread() and t.daemon:
            t.join(timeout=10)


# Captured outbound packets, in order.
SENT = []
IFACE = types.SimpleNamespace(name="vector interface")
HW_MTU = {"value": None}


def fake_outbound(packet):
    """Stands in for Transport.outbound: keeps the packet, and makes the receipt Transport would make."""
    ctx = packet.context
    if (packet.create_receipt and packet.packet_type == Packet.DATA
            and packet.destination.type != Destination.PLAIN
            and not (Packet.KEEPALIVE <= ctx <= Packet.LRPROOF)
            and not (Packet.RESOURCE <= ctx <= Packet.RESOURCE_RCL)):
        packet.receipt = RNS.PacketReceipt(packet)
    packet.sent = True
    SENT.append(packet)
    return True


def take_one():
    assert len(SENT) == 1, f"expected one packet, captured {len(SENT)}"
    return SENT.pop()


def received(raw, link=None):
    """A packet as Transport hands it to a link: unpacked, with its interface (and link, for proofs)."""
    p = Packet(None, raw)
    assert p.unpack()
    p.receiving_interface = IFACE
    if link is not None:
        p.link = link
    return p


def install_stubs():
    Transport.owner = types.SimpleNamespace(is_connected_to_shared_instance=False)
    RNS.Reticulum.storagepath = os.path.join(SCRATCH, "storage")
    os.makedirs(RNS.Reticulum.storagepath, exist_ok=True)
    instance = types.SimpleNamespace(
        get_first_hop_timeout=lambda destination_hash: RNS.Reticulum.DEFAULT_PER_HOP_TIMEOUT,
        is_blackholed=lambda identity_hash: False,
        get_packet_rssi=lambda packet_hash: None,
        get_packet_snr=lambda packet_hash: None,
        get_packet_q=lambda packet_hash: None,
    )
    RNS.Reticulum.get_instance = staticmethod(lambda: instance)
    RNS.Reticulum.link_mtu_discovery = staticmethod(lambda: True)
    Transport.outbound = staticmethod(fake_outbound)
    Transport.register_link = staticmethod(lambda link: None)
    Transport.activate_link = staticmethod(lambda link: None)
    Transport.hops_to = staticmethod(lambda destination_hash: 1)
    Transport.next_hop_interface_hw_mtu = staticmethod(lambda destination_hash: HW_MTU["value"])
    Link.start_watchdog = lambda self: None
    install_clock()


# --------------------------------------------------------------------------
# Link sessions
# --------------------------------------------------------------------------

DESTINATION_KEY = hashlib.sha512(b"kos-edge link vector destination").digest()
IDENTIFY_KEY = hashlib.sha512(b"kos-edge link vector initiator identity").digest()
APP_NAME, ASPECTS = "kos", ("vectors", "link")
REQUEST_PATH = "/kos/echo"
REQUEST_DATA = {"q": "ping", "n": 7, "blob": det_bytes("request blob", 20)}
RESPONSE_DATA = [b"pong", 1.5, None, True, "done"]


def step(label, t):
    Clock.now = T0 + t
    return {"step": label, "at_ms": ms(Clock.now)}


def session(label, hw_mtu):
    """One link between two reference Links; returns every packet with the inputs that made it."""
    HW_MTU["value"] = hw_mtu
    owner = Identity.from_bytes(DESTINATION_KEY)
    in_dest = Destination(owner, Destination.IN, Destination.SINGLE, APP_NAME, *ASPECTS)
    Transport.deregister_destination(in_dest)  # registered by the constructor; each session makes its own
    out_dest = Destination(Identity.from_bytes(DESTINATION_KEY[:32] + DESTINATION_KEY[32:]), Destination.OUT,
                           Destination.SINGLE, APP_NAME, *ASPECTS)
    assert in_dest.hash == out_dest.hash
    got = {"requests": []}

    def echo(path, data, request_id, link_id, remote_identity, requested_at):
        got["requests"].append((request_id, data, requested_at))
        return RESPONSE_DATA

    in_dest.register_request_handler(REQUEST_PATH, response_generator=echo, allow=Destination.ALLOW_ALL)
    keys = {
        "initiator_x25519_private": det_bytes(label + " initiator x25519", 32),
        "initiator_ed25519_seed": det_bytes(label + " initiator ed25519", 32),
        "responder_x25519_private": det_bytes(label + " responder x25519", 32),
    }
    ivs = {}

    def iv(name):
        ivs[name] = det_bytes(label + " iv " + name, 16)
        return ivs[name]

    steps = []

    # 1. The initiator's LINKREQUEST.
    s = step("link request", 0.0)
    with forced(x25519=[keys["initiator_x25519_private"]], ed25519=[keys["initiator_ed25519_seed"]]):
        link_i = Link(out_dest)
    s["raw"] = h(take_one().raw)
    s["link_id"] = h(link_i.link_id)
    steps.append(s)

    # 2. The destination's LRPROOF.
    s = step("link proof", 0.125)
    request = received(bytes.fromhex(steps[0]["raw"]))
    request.destination = in_dest
    with forced(x25519=[keys["responder_x25519_private"]]):
        link_r = Link.validate_request(in_dest, request.data, request)
    assert link_r is not None and link_r.link_id == link_i.link_id
    s["raw"] = h(take_one().raw)
    steps.append(s)

    # 3. The initiator validates the proof and sends its RTT.
    s = step("rtt", 0.25)
    with forced(urandom=[iv("rtt")]):
        link_i.validate_proof(received(bytes.fromhex(steps[1]["raw"])))
    assert link_i.status == Link.ACTIVE
    s["raw"] = h(take_one().raw)
    s["rtt_s"] = link_i.rtt
    s["plaintext"] = h(umsgpack.packb(link_i.rtt))
    steps.append(s)
    assert link_i.derived_key == link_r.derived_key and len(link_i.derived_key) == 64
    shared_key, derived_key = link_i.shared_key, link_i.derived_key

    s = step("rtt received", 0.5)
    link_r.receive(received(bytes.fromhex(steps[2]["raw"])))
    assert link_r.status == Link.ACTIVE
    s["responder_rtt_s"] = link_r.rtt
    steps.append(s)

    # 4. Data both ways, each proved by the other side (PROVE_ALL), and the proofs checked by the sender.
    link_r.set_packet_callback(lambda message, packet: None)
    link_i.set_packet_callback(lambda message, packet: None)
    in_dest.set_proof_strategy(Destination.PROVE_ALL)
    out_dest.set_proof_strategy(Destination.PROVE_ALL)
    for direction, sender, receiver, t in (("initiator to responder", link_i, link_r, 1.0),
                                           ("responder to initiator", link_r, link_i, 1.5)):
        s = step("data " + direction, t)
        plaintext = det_bytes("data " + direction, 40 if hw_mtu is None else 2000)
        with forced(urandom=[iv("data " + direction)]):
            sent = RNS.Packet(sender, plaintext)
            sent.send()
        raw = take_one().raw
        receiver.receive(received(raw, receiver))
        join_threads()
        proof = take_one()
        assert sent.receipt.validate_proof_packet(received(proof.raw, sender)) is True
        s.update({"plaintext": h(plaintext), "raw": h(raw), "packet_hash": h(sent.get_hash()),
                  "proof_raw": h(proof.raw)})
        steps.append(s)
    in_dest.set_proof_strategy(Destination.PROVE_NONE)
    out_dest.set_proof_strategy(Destination.PROVE_NONE)

    # 5. A request and its response.
    s = step("request", 2.5)
    with forced(urandom=[iv("request")]):
        receipt = link_i.request(REQUEST_PATH, data=REQUEST_DATA, timeout=15)
    request_packet = take_one()
    s.update({"raw": h(request_packet.raw), "request_id": h(receipt.request_id), "path": REQUEST_PATH,
              "path_hash": h(Identity.truncated_hash(REQUEST_PATH.encode())),
              "plaintext": h(umsgpack.packb([Clock.now, Identity.truncated_hash(REQUEST_PATH.encode()), REQUEST_DATA]))})
    steps.append(s)

    s = step("response", 2.75)
    with forced(urandom=[iv("response")]):
        link_r.receive(received(request_packet.raw))
    assert got["requests"] and got["requests"][0][0] == receipt.request_id
    response_packet = take_one()
    s.update({"raw": h(response_packet.raw), "plaintext": h(umsgpack.packb([receipt.request_id, RESPONSE_DATA]))})
    steps.append(s)
    link_i.receive(received(response_packet.raw))
    join_threads()
    assert receipt.get_status() == RNS.RequestReceipt.READY and receipt.get_response() == RESPONSE_DATA

    # 6. The initiator identifies itself.
    s = step("identify", 3.0)
    identity = Identity.from_bytes(IDENTIFY_KEY)
    with forced(urandom=[iv("identify")]):
        link_i.identify(identity)
    raw = take_one().raw
    link_r.receive(received(raw))
    assert link_r.get_remote_identity() is not None and link_r.get_remote_identity().hash == identity.hash
    s.update({"raw": h(raw), "identity_private_key": h(IDENTIFY_KEY), "identity_hash": h(identity.hash)})
    steps.append(s)

    # 7. A keepalive, answered because the responder has sent nothing for a keepalive interval.
    s = step("keepalive", 93.0)
    link_i.send_keepalive()
    raw = take_one().raw
    link_r.receive(received(raw))
    answer = take_one().raw
    s.update({"raw": h(raw), "answer_raw": h(answer), "responder_keepalive_s": link_r.keepalive})
    steps.append(s)

    # 8. The initiator closes the link.
    s = step("close", 100.0)
    with forced(urandom=[iv("close")]):
        link_i.teardown()
    raw = take_one().raw
    link_r.receive(received(raw))
    assert link_r.status == Link.CLOSED
    s["raw"] = h(raw)
    steps.append(s)

    return {
        "description": label,
        "hw_mtu": hw_mtu,
        "link_mtu": link_r.mtu,
        "link_mdu": link_r.mdu,
        "destination_private_key": h(DESTINATION_KEY),
        "destination_hash": h(in_dest.hash),
        "app_name": APP_NAME,
        "aspects": list(ASPECTS),
        "keys": {k: h(v) for k, v in keys.items()},
        "ivs": {k: h(v) for k, v in ivs.items()},
        "link_id": h(link_i.link_id),
        "shared_key": h(shared_key),
        "derived_key": h(derived_key),
        "steps": steps,
    }


# --------------------------------------------------------------------------
# Signalling bytes and umsgpack
# --------------------------------------------------------------------------

def gen_signalling():
    out = []
    for mtu in (500, 508, 1064, 8192, 262144, 0x1FFFFF):
        b = Link.signalling_bytes(mtu, Link.MODE_AES256_CBC)
        fake = types.SimpleNamespace(data=bytes(64) + b)
        assert Link.mtu_from_lr_packet(fake) == mtu and Link.mode_from_lr_packet(fake) == Link.MODE_AES256_CBC
        out.append({"mtu": mtu, "mode": Link.MODE_AES256_CBC, "bytes": h(b)})
    return out


def typed(v):
    """A JSON description of a Python value precise enough to rebuild it in TypeScript."""
    if isinstance(v, (str, bytes)) and len(v) > 1024 and len(set(v)) == 1:
        # Long runs of one character or byte are described, not spelled out.
        return ["str-run", v[0], len(v)] if isinstance(v, str) else ["bin-run", v[:1].hex(), len(v)]
    if v is None:
        return ["nil"]
    if isinstance(v, bool):
        return ["bool", v]
    if isinstance(v, int):
        return ["int", str(v)]
    if isinstance(v, float):
        return ["float", struct.pack(">d", v).hex()]
    if isinstance(v, str):
        return ["str", v]
    if isinstance(v, bytes):
        return ["bin", v.hex()]
    if isinstance(v, list):
        return ["list", [typed(e) for e in v]]
    if isinstance(v, dict):
        return ["map", [[typed(k), typed(e)] for k, e in v.items()]]
    raise TypeError(type(v))


def gen_msgpack():
    values = [
        None, True, False, 0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**53, 2**64 - 1,
        -1, -32, -33, -128, -129, -32768, -32769, -2**31, -2**31 - 1, -2**63,
        0.0, 1.0, -2.5, 0.25, T0 + 2.5, 1e300, 5e-324,
        "", "a", "a" * 31, "a" * 32, "a" * 255, "a" * 256, "\u00e9" * 20, "\u20ac" * 85, "\u20ac" * 86,
        "a" * 65535, "a" * 65536, "\u20ac" * 21846,
        b"", b"\x00", det_bytes("bin 255", 255), det_bytes("bin 256", 256), b"\x07" * 65535, b"\x07" * 65536,
        [], list(range(15)), list(range(16)), [[1, [2, [3]]]],
        {}, {"a": 1}, {f"k{i}": i for i in range(15)}, {f"k{i}": i for i in range(16)}, {1: b"x", b"k": "v"},
        [1763700002.5, det_bytes("path", 16), {"q": "ping"}],
    ]
    out = []
    for v in values:
        packed = umsgpack.packb(v)
        assert umsgpack.unpackb(packed) == v
        if len(packed) > 1024:
            # Long encodings: their length, first bytes and SHA-256 stand for them.
            out.append({"value": typed(v), "packed_length": len(packed), "packed_head": h(packed[:8]),
                        "packed_sha256": h(hashlib.sha256(packed).digest())})
        else:
            out.append({"value": typed(v), "packed": h(packed)})
    return out


def main():
    install_stubs()
    sessions = [session("MTU 500: the next hop does not configure its MTU", None),
                session("MTU 8192: the next hop signals a hardware MTU of 8192", 8192)]
    out = {
        "source": SOURCE,
        "generator": GENERATOR,
        "description": (
            "Two RNS 1.4.2 Links run against each other in one process with fixed keys, IVs and clock. Each "
            "session lists its steps in order: raw packets as captured from Transport.outbound, the time "
            "(at_ms) each was made, and the inputs (keys, ivs) the reference drew. Keys: initiator X25519 "
            "private key and Ed25519 seed, responder's ephemeral X25519 private key; the destination identity "
            "is destination_private_key. derived_key = HKDF(64, X25519 shared key, salt link_id). Data packets "
            "were proved by the receiver (PROVE_ALL) and the proofs accepted by the sender's receipt. "
            "`signalling` is Link.signalling_bytes; `msgpack` is umsgpack.packb of typed values "
            "(float as its IEEE 754 double, big-endian hex; int as decimal text; str-run/bin-run as one character or byte "
            "repeated); encodings over 1024 bytes are given by length, first 8 bytes and SHA-256."),
        "sessions": sessions,
        "signalling": gen_signalling(),
        "msgpack": gen_msgpack(),
    }
    with open(OUT_FILE, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {os.path.relpath(OUT_FILE)}: sessions={len(sessions)}, signalling={len(out['signalling'])}, "
          f"msgpack={len(out['msgpack'])}")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
