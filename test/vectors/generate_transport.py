#!/usr/bin/env python3
"""
kos-edge known-answer vectors for Transport (routing), from RNS 1.4.2.

This script is kos-edge's own code. It imports the Reticulum reference
implementation purely as a library: it gives RNS.Transport the minimum of
state a running instance would have (a transport identity, three capture
interfaces, the path request destination), feeds it fixed packets through
Transport.inbound / Transport.outbound / Transport.request_path, runs
Transport.jobs for due rebroadcasts, and records every frame the reference
hands to an interface. No reference source is copied; the JSON holds data.

Usage:
    RNS_PATH=/work/ref/Reticulum python3 test/vectors/generate_transport.py

Output: test/vectors/rns-1.4.2-transport.json
  path_requests  what request_path() emits for a fixed destination and tag,
                 on a transport node and on a plain node.
  scenario       a list of steps applied to one transport node; for each,
                 the frames the reference transmitted (per interface name).
                 kos-edge's test replays the same steps against its Transport.

Determinism: identities come from SHA-512 of fixed labels, announce random
hashes from fixed bytes, announce timestamps are pinned. Where the reference
waits a random or grace delay before a rebroadcast, the script sets the due
time of that one announce table entry to the past before running jobs();
that changes when, never what, the reference sends.
"""

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
import threading
import types
import collections

EXPECTED_VERSION = "1.4.2"
OUT_NAME = "rns-1.4.2-transport.json"
OUT_DIR = os.path.dirname(os.path.abspath(__file__))
PINNED_TIME = 1763700000

SCRATCH = tempfile.mkdtemp(prefix="kos-edge-transport-vectors-")
os.environ["HOME"] = SCRATCH
RNS_PATH = os.environ.get("RNS_PATH", "/work/ref/Reticulum")
sys.path.insert(0, RNS_PATH)

try:
    import RNS
    import RNS.Interfaces.Interface as IfaceModule
except Exception as e:  # noqa: BLE001
    sys.stderr.write(f"generate_transport.py: cannot import RNS from {RNS_PATH!r}: {e!r}\n")
    sys.exit(2)

if getattr(RNS, "__version__", None) != EXPECTED_VERSION:
    sys.stderr.write(f"generate_transport.py: RNS is {getattr(RNS, '__version__', '?')}, need {EXPECTED_VERSION}\n")
    sys.exit(2)

RNS.loglevel = int(os.environ.get("KOS_VECTORS_LOGLEVEL", RNS.LOG_CRITICAL))

Transport = RNS.Transport
Packet = RNS.Packet
Destination = RNS.Destination
Identity = RNS.Identity
Interface = IfaceModule.Interface


def h(b):
    return None if b is None else bytes(b).hex()


def label_key(label):
    return hashlib.sha512(f"kos-edge transport vector {label}".encode()).digest()


def label_bytes(label, n):
    return hashlib.sha256(f"kos-edge transport vector bytes {label}".encode()).digest()[:n]


# ---------------------------------------------------------------------------
# Minimal reference state
# ---------------------------------------------------------------------------

def set_transport_enabled(on):
    setattr(RNS.Reticulum, "_Reticulum__transport_enabled", bool(on))


class CaptureInterface(Interface):
    """An interface that records what Transport hands it to send."""

    def __str__(self):
        return f"CaptureInterface[{self.capture_name}]"

    def process_outgoing(self, data):
        self.sent.append(bytes(data))


def make_interface(name, bitrate, hw_mtu, mtu_signalling):
    # Interface.__init__ wants a running Reticulum instance; set what Transport reads instead.
    i = object.__new__(CaptureInterface)
    i.capture_name = name
    i.sent = []
    i.rxb = 0
    i.txb = 0
    i.mode = Interface.MODE_FULL
    i.gravity = 0
    i.OUT = True
    i.IN = True
    i.online = True
    i.bitrate = bitrate
    i.HW_MTU = hw_mtu
    i.AUTOCONFIGURE_MTU = mtu_signalling
    i.FIXED_MTU = False
    i.ifac_identity = None
    i.ifac_size = 0
    i.announce_cap = RNS.Reticulum.ANNOUNCE_CAP / 100.0
    i.announce_rate_target = None
    i.announce_rate_grace = None
    i.announce_rate_penalty = None
    i.recursive_prs = False
    i.announces_from_internal = True
    i.announces_to_internal = None
    i.parent_interface = None
    i.spawned_interfaces = None
    i.tunnel_id = None
    i.ingress_control = False
    i.egress_control = False
    i.held_announces = {}
    i.created = 0
    for q in ("ia_freq_deque", "oa_freq_deque", "ip_freq_deque", "op_freq_deque"):
        setattr(i, q, collections.deque(maxlen=48))
    return i


def setup_reference():
    Transport.owner = types.SimpleNamespace(is_connected_to_shared_instance=False)
    RNS.Reticulum.storagepath = os.path.join(SCRATCH, "storage")
    RNS.Reticulum.cachepath = os.path.join(SCRATCH, "cache")
    os.makedirs(RNS.Reticulum.storagepath, exist_ok=True)
    os.makedirs(os.path.join(RNS.Reticulum.cachepath, "announces"), exist_ok=True)
    Transport.ready = True
    far = 1e12
    # Keep jobs() to announce retransmission only: every other periodic task is "not due".
    for attr in ("links_last_checked", "receipts_last_checked", "pending_prs_last_checked", "cache_last_cleaned",
                 "destinations_last_cleaned", "tables_last_culled", "interface_last_jobs", "last_mgmt_announce",
                 "blackhole_last_checked"):
        setattr(Transport, attr, far)
    prd = Destination(None, Destination.IN, Destination.PLAIN, Transport.APP_NAME, "path", "request")
    prd.set_packet_callback(Transport.path_request_handler)
    Transport.path_request_destination = prd
    Transport.control_destinations.append(prd)
    Transport.control_hashes.append(prd.hash)


@contextlib.contextmanager
def pinned(urandom_values):
    """Feed os.urandom from a queue and pin Destination's clock, for one call."""
    q = list(urandom_values)
    real_urandom = os.urandom
    dmod = sys.modules["RNS.Destination"]
    real_time = dmod.time
    shim = types.SimpleNamespace(**{k: getattr(real_time, k) for k in dir(real_time) if not k.startswith("__")})
    shim.time = lambda: float(PINNED_TIME)

    def fake(n):
        assert q, f"unexpected os.urandom({n})"
        v = q.pop(0)
        assert len(v) == n
        return v

    os.urandom = fake
    dmod.time = shim
    try:
        yield
    finally:
        os.urandom = real_urandom
        dmod.time = real_time
    assert not q, "forced randomness not consumed"


def announce_of(identity, aspects, seed):
    """Destination.announce(send=False) for an OUT-less IN destination, then deregistered."""
    d = Destination(identity, Destination.IN, Destination.SINGLE, "kosvec", *aspects)
    with pinned([seed]):
        p = d.announce(send=False)
    p.pack()
    Transport.deregister_destination(d)
    return p


class StubDestination:
    def __init__(self, dtype, dhash):
        self.type = dtype
        self.hash = dhash
        self.link_id = dhash
        self.mtu = RNS.Reticulum.MTU

    def encrypt(self, data):
        return data


def pack(dtype, dhash, data, packet_type=Packet.DATA, context=Packet.NONE, header_type=Packet.HEADER_1,
         transport_id=None, hops=0, context_flag=Packet.FLAG_UNSET):
    """Packet.pack(); HEADER_2 forms (other than announces, which pack() builds) via Transport.mangle_hops."""
    if header_type == Packet.HEADER_2 and packet_type != Packet.ANNOUNCE:
        raw = pack(dtype, dhash, data, packet_type, context, Packet.HEADER_1, None, 0, context_flag)
        saved = Transport.identity
        Transport.identity = types.SimpleNamespace(hash=transport_id)
        try:
            return Transport.mangle_hops(raw, hops, transport_insert=True)
        finally:
            Transport.identity = saved
    transport_type = Transport.TRANSPORT if header_type == Packet.HEADER_2 else Transport.BROADCAST
    p = Packet(StubDestination(dtype, dhash), data, packet_type=packet_type, context=context,
               transport_type=transport_type, header_type=header_type, transport_id=transport_id,
               create_receipt=False, context_flag=context_flag)
    p.hops = hops
    p.pack()
    return p.raw


def join_threads():
    for t in threading.enumerate():
        if t is not threading.current_thread():
            t.join(timeout=10)


# ---------------------------------------------------------------------------
# Vectors
# ---------------------------------------------------------------------------

T_ID = Identity.from_bytes(label_key("transport node T"))
B_ID = Identity.from_bytes(label_key("destination B"))
D_ID = Identity.from_bytes(label_key("destination D"))
X_HASH = label_bytes("upstream transport X", 16)
R_HASH = label_bytes("requesting transport R", 16)
INTERFACES = [
    # name, bitrate, hw_mtu, mtu signalling (AUTOCONFIGURE_MTU)
    ("a", 10_000_000, 1064, True),
    ("b", 1_000_000, 508, False),
    ("x", 5_000_000, 8192, True),
]


def gen_path_requests(ifaces):
    out = []
    dest = label_bytes("path request destination", 16)
    tag = label_bytes("path request tag", 16)
    for enabled in (True, False):
        set_transport_enabled(enabled)
        for i in ifaces.values():
            i.sent = []
        Transport.request_path(dest, tag=tag)
        frames = {n: [h(f) for f in i.sent] for n, i in ifaces.items()}
        raws = {f for fs in frames.values() for f in fs}
        assert len(raws) == 1, frames
        out.append({
            "description": f"Transport.request_path(destination, tag=tag) on a {'transport' if enabled else 'plain'} node",
            "transport_enabled": enabled,
            "transport_id": h(T_ID.hash),
            "destination_hash": h(dest),
            "tag": h(tag),
            "raw": raws.pop(),
        })
    set_transport_enabled(True)
    Transport.path_requests.clear()
    for i in ifaces.values():
        i.sent = []
    return out


def gen_scenario(ifaces):
    steps = []

    def sent():
        frames = []
        for n, i in ifaces.items():
            frames += [{"interface": n, "raw": h(f)} for f in i.sent]
            i.sent = []
        return sorted(frames, key=lambda f: (f["interface"], f["raw"]))

    def inbound(description, iface, raw):
        Transport.inbound(raw, ifaces[iface])
        join_threads()
        steps.append({"description": description, "action": "inbound", "interface": iface, "raw": h(raw), "expect": sent()})

    def jobs(description, due_destinations, within_ms):
        for dh in due_destinations:
            Transport.announce_table[dh][1] = 0  # IDX_AT_RTRNS_TMO: due now
        for i in ifaces.values():
            i.announce_allowed_at = 0
        Transport.announces_last_checked = 0
        Transport.jobs()
        join_threads()
        steps.append({"description": description, "action": "jobs", "within_ms": within_ms, "expect": sent()})

    def outbound(description, packet_fields):
        raw = pack(**packet_fields)
        p = Packet(StubDestination(packet_fields["dtype"], packet_fields["dhash"]), packet_fields["data"],
                   packet_type=packet_fields.get("packet_type", Packet.DATA), create_receipt=False)
        p.send()
        join_threads()
        assert p.raw == raw
        steps.append({"description": description, "action": "outbound", "raw": h(raw), "expect": sent()})

    b_announce = announce_of(B_ID, ["transport", "b"], label_bytes("B random", 16))
    d_announce = announce_of(D_ID, ["transport", "d"], label_bytes("D random", 16))
    b_hash, d_hash = b_announce.destination_hash, d_announce.destination_hash

    inbound("B's announce, heard directly on b", "b", b_announce.raw)
    jobs("rebroadcast of B's announce: HEADER_2, T's transport id, hops 1, on every interface", [b_hash], 600)

    d_via_x = pack(Destination.SINGLE, d_hash, d_announce.data, packet_type=Packet.ANNOUNCE,
                   header_type=Packet.HEADER_2, transport_id=X_HASH, hops=1, context_flag=d_announce.context_flag)
    inbound("D's announce, rebroadcast by transport node X (hops 1), heard on x", "x", d_via_x)
    jobs("rebroadcast of D's announce with hops 2", [d_hash], 600)

    pr = pack(Destination.PLAIN, Transport.path_request_destination.hash, b_hash + R_HASH + label_bytes("R tag", 16))
    inbound("path request for B from transport node R, heard on a", "a", pr)
    jobs("the answer: B's cached announce as a PATH_RESPONSE, HEADER_2, hops 1, on a only", [b_hash], 1000)

    to_b = pack(Destination.SINGLE, b_hash, label_bytes("payload to B", 24), header_type=Packet.HEADER_2,
                transport_id=T_ID.hash, context_flag=Packet.FLAG_SET)
    inbound("data for B in transport via T (context flag set): last hop, so HEADER_1 broadcast on b", "a", to_b)

    to_d = pack(Destination.SINGLE, d_hash, label_bytes("payload to D", 40), header_type=Packet.HEADER_2,
                transport_id=T_ID.hash)
    inbound("data for D in transport via T: HEADER_2 to X, hops 1, on x", "a", to_d)

    p = Packet(None, to_d)
    p.unpack()
    proof = pack(Destination.SINGLE, p.getTruncatedHash(), D_ID.sign(p.get_hash()), packet_type=Packet.PROOF, hops=1)
    inbound("D's proof of that packet, back on x: relayed by the reverse table on a", "x", proof)

    lr_keys = label_bytes("link keys 1", 32) + label_bytes("link keys 2", 32)
    signalling = RNS.Link.signalling_bytes(262144, RNS.Link.MODE_AES256_CBC)
    lr_b = pack(Destination.SINGLE, b_hash, lr_keys + signalling, packet_type=Packet.LINKREQUEST,
                header_type=Packet.HEADER_2, transport_id=T_ID.hash)
    inbound("link request for B via T with MTU signalling: relayed on b without it (b can't signal MTUs)", "a", lr_b)
    lr_packet = Packet(None, lr_b)
    lr_packet.unpack()
    link_id = RNS.Link.link_id_from_lr_packet(lr_packet)
    responder_pub = label_bytes("responder x25519", 32)
    signed = link_id + responder_pub + B_ID.get_public_key()[32:64]
    lrproof = pack(Destination.LINK, link_id, B_ID.sign(signed) + responder_pub, packet_type=Packet.PROOF,
                   context=Packet.LRPROOF)
    inbound("B's link proof on b, checked against B's key and relayed on a", "b", lrproof)

    link_data_a = pack(Destination.LINK, link_id, label_bytes("link data from A", 30))
    inbound("link traffic from the initiator's side, relayed by the link table on b", "a", link_data_a)
    link_data_b = pack(Destination.LINK, link_id, label_bytes("link data from B", 30))
    inbound("link traffic from B's side, relayed by the link table on a", "b", link_data_b)

    lr_d = pack(Destination.SINGLE, d_hash, lr_keys + signalling, packet_type=Packet.LINKREQUEST,
                header_type=Packet.HEADER_2, transport_id=T_ID.hash)
    inbound("link request for D via T signalling 262144: clamped to a's MTU (1064) on x", "a", lr_d)

    outbound("T's own data for D (2 hops): put into transport, HEADER_2 with X's id, on x",
             {"dtype": Destination.SINGLE, "dhash": d_hash, "data": label_bytes("T's own payload", 20)})
    outbound("T's own data for B (1 hop): sent as it is on b",
             {"dtype": Destination.SINGLE, "dhash": b_hash, "data": label_bytes("T to B", 20)})
    return steps


def main():
    setup_reference()
    set_transport_enabled(True)
    Transport.identity = T_ID
    ifaces = {}
    for name, bitrate, hw_mtu, sig in INTERFACES:
        ifaces[name] = make_interface(name, bitrate, hw_mtu, sig)
        Transport.interfaces.append(ifaces[name])

    path_requests = gen_path_requests(ifaces)
    scenario = gen_scenario(ifaces)
    out = {
        "source": "RNS " + EXPECTED_VERSION,
        "generator": "test/vectors/generate_transport.py",
        "description": "Frames RNS.Transport emits as a transport node: path requests, announce rebroadcasts, path "
                       "responses, packets relayed in transport (next hop and last hop), proofs by the reverse table, "
                       "link requests (MTU signalling stripped or clamped), link proofs and link traffic by the link "
                       "table, and local packets put into transport. Steps run in order on one node.",
        "transport_private_key": h(label_key("transport node T")),
        "transport_id": h(T_ID.hash),
        "interfaces": [{"name": n, "bitrate": b, "hw_mtu": m, "mtu_signalling": s} for n, b, m, s in INTERFACES],
        "path_requests": path_requests,
        "scenario": scenario,
    }
    path = os.path.join(OUT_DIR, OUT_NAME)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(out, indent=2) + "\n")
    print(f"wrote {OUT_NAME}: path_requests={len(path_requests)}, scenario={len(scenario)} steps, "
          f"{sum(len(s['expect']) for s in scenario)} frames")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
