#!/usr/bin/env python3
"""
kos-edge known-answer vectors for the IP interfaces (AutoInterface, TCP, UDP).

This script is kos-edge's own code. It imports the Reticulum reference
implementation (RNS 1.4.2) purely as a library, constructs its AutoInterface
on a simulated network card (a stand-in `netinfo` and `socket` module that
record what the reference asks of them, so no real socket is opened), and
writes what the reference did into test/vectors/rns-1.4.2-auto.json:

  - the multicast discovery address derived from group ids, scopes and
    address types, and the ports it binds;
  - the socket setup on one NIC (options, multicast group join, binds);
  - the discovery datagrams it sends (multicast peering and unicast reverse
    peering) for fixed group ids and link-local addresses;
  - which received discovery datagrams it accepts as a peer, as its own
    multicast echo, or rejects;
  - the link-local address text its netinfo produces from packed addresses
    (the discovery token hashes that text);
  - the interface constants (ports, timings, MTUs) of AutoInterface,
    TCPClientInterface/TCPServerInterface and UDPInterface, and the hardware
    MTU that Interface.optimise_mtu picks for a bitrate.

Usage:
    RNS_PATH=/work/ref/Reticulum python3 test/vectors/generate_net.py

Deterministic: no clock, randomness or network is involved; two runs give
byte-identical files. No reference source is copied here; the JSON holds data.
"""

import hashlib
import ipaddress
import json
import os
import shutil
import socket as real_socket
import struct
import sys
import tempfile
import types

EXPECTED_VERSION = "1.4.2"
SOURCE = "RNS " + EXPECTED_VERSION
GENERATOR = "test/vectors/generate_net.py"
OUT_DIR = os.path.dirname(os.path.abspath(__file__))
OUT_FILE = "rns-1.4.2-auto.json"

SCRATCH = tempfile.mkdtemp(prefix="kos-edge-netvectors-")
os.environ["HOME"] = SCRATCH
RNS_PATH = os.environ.get("RNS_PATH", "/work/ref/Reticulum")


def fail(message):
    sys.stderr.write("generate_net.py: " + message + "\n")
    shutil.rmtree(SCRATCH, ignore_errors=True)
    sys.exit(2)


sys.path.insert(0, RNS_PATH)
try:
    import RNS
    import RNS.Interfaces
    import RNS.Interfaces.Interface
    import RNS.Interfaces.AutoInterface
    import RNS.Interfaces.TCPInterface
    import RNS.Interfaces.UDPInterface
except Exception as e:  # noqa: BLE001 - any import failure is fatal here
    fail(f"cannot import RNS from RNS_PATH={RNS_PATH!r}: {e!r}")

if getattr(RNS, "__version__", None) != EXPECTED_VERSION:
    fail(f"RNS at {RNS_PATH!r} is version {getattr(RNS, '__version__', '?')!r}, not {EXPECTED_VERSION}")

RNS.loglevel = int(os.environ.get("KOS_VECTORS_LOGLEVEL", RNS.LOG_CRITICAL))

AutoModule = RNS.Interfaces.AutoInterface
AutoInterface = AutoModule.AutoInterface
Interface = RNS.Interfaces.Interface.Interface

IFNAME = "kos0"
IFINDEX = 7


# --------------------------------------------------------------------------
# Stand-ins (ours): a Reticulum instance for Interface.__init__, a netinfo
# that reports one simulated NIC, a socket module that records every call,
# and a threading module whose threads never start.
# --------------------------------------------------------------------------

class StubInstance:
    """Interface.__init__ asks the running instance for configured defaults; None means 'use the default'."""

    def __getattr__(self, name):
        if name.startswith("_default_"):
            return lambda: None
        raise AttributeError(name)


def fake_netinfo(addresses_by_ifname):
    def ifaddresses(ifname):
        addrs = addresses_by_ifname.get(ifname, [])
        return {real_socket.AF_INET6.value: [{"addr": a} for a in addrs]} if addrs else {}

    return types.SimpleNamespace(
        AF_INET6=real_socket.AF_INET6.value,
        AF_INET=real_socket.AF_INET.value,
        interfaces=lambda: list(addresses_by_ifname.keys()),
        ifaddresses=ifaddresses,
        interface_name_to_nice_name=lambda ifname: ifname,
    )


class Recorder:
    def __init__(self):
        self.events = []


class FakeSocket:
    def __init__(self, recorder, family, kind, datagrams=None):
        self.recorder = recorder
        self.sid = sum(1 for e in recorder.events if e["op"] == "socket")
        self.datagrams = list(datagrams or [])
        recorder.events.append({"op": "socket", "socket": self.sid, "family": "AF_INET6" if family == real_socket.AF_INET6 else str(family),
                                "type": "SOCK_DGRAM" if kind == real_socket.SOCK_DGRAM else str(kind)})

    def setsockopt(self, level, option, value):
        names = {
            (real_socket.SOL_SOCKET, real_socket.SO_REUSEADDR): "SO_REUSEADDR",
            (real_socket.SOL_SOCKET, getattr(real_socket, "SO_REUSEPORT", -1)): "SO_REUSEPORT",
            (real_socket.IPPROTO_IPV6, real_socket.IPV6_MULTICAST_IF): "IPV6_MULTICAST_IF",
            (real_socket.IPPROTO_IPV6, real_socket.IPV6_JOIN_GROUP): "IPV6_JOIN_GROUP",
        }
        name = names.get((level, option), f"{level}/{option}")
        shown = value.hex() if isinstance(value, (bytes, bytearray)) else value
        self.recorder.events.append({"op": "setsockopt", "socket": self.sid, "option": name, "value": shown})

    def bind(self, address):
        self.recorder.events.append({"op": "bind", "socket": self.sid, "address": list(address)})

    def sendto(self, data, address):
        self.recorder.events.append({"op": "sendto", "socket": self.sid, "data": bytes(data).hex(), "address": list(address)})

    def recvfrom(self, size):
        if not self.datagrams:
            raise EndOfDatagrams()
        return self.datagrams.pop(0)

    def close(self):
        self.recorder.events.append({"op": "close", "socket": self.sid})


class EndOfDatagrams(Exception):
    pass


def fake_socket_module(recorder):
    def getaddrinfo(host, port, family=0, kind=0, *args):
        # Numeric hosts only; "%ifname" becomes the simulated interface index.
        text, _, scope = host.partition("%")
        scope_id = IFINDEX if scope in (IFNAME, str(IFINDEX)) else 0
        return [(real_socket.AF_INET6, real_socket.SOCK_DGRAM, 17, "", (text, port, 0, scope_id))]

    shim = types.SimpleNamespace(**{k: getattr(real_socket, k) for k in dir(real_socket) if k.isupper()})
    shim.socket = lambda family, kind: FakeSocket(recorder, family, kind)
    shim.getaddrinfo = getaddrinfo
    shim.if_nametoindex = lambda name: IFINDEX
    shim.inet_pton = real_socket.inet_pton
    return shim


class NoThread:
    def __init__(self, target=None, daemon=None, **kw):
        self.target = target

    def start(self):
        return None


class Patched:
    """Swap the reference's module globals for the stand-ins while a block runs."""

    def __init__(self, nics, recorder):
        self.nics = nics
        self.recorder = recorder

    def __enter__(self):
        self.saved = (RNS.Interfaces.netinfo, AutoModule.socket, AutoModule.threading,
                      RNS.Reticulum.__dict__.get("_Reticulum__instance"))
        RNS.Interfaces.netinfo = fake_netinfo(self.nics)
        AutoModule.socket = fake_socket_module(self.recorder)
        AutoModule.threading = types.SimpleNamespace(Thread=NoThread, Lock=lambda: types.SimpleNamespace())
        RNS.Reticulum._Reticulum__instance = StubInstance()
        return self

    def __exit__(self, *exc):
        RNS.Interfaces.netinfo, AutoModule.socket, AutoModule.threading, instance = self.saved
        RNS.Reticulum._Reticulum__instance = instance
        return False


def make_auto(config, nics=None, recorder=None):
    recorder = recorder or Recorder()
    cfg = {"name": "kos-edge vectors"}
    cfg.update(config)
    with Patched(nics or {}, recorder):
        iface = AutoInterface(None, cfg)
    return iface, recorder


def header(description):
    return {"source": SOURCE, "generator": GENERATOR, "description": description}


# --------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------

def gen_multicast_addresses():
    configs = [
        ("defaults (group 'reticulum', link scope, temporary)", {}),
        ("explicit group 'reticulum'", {"group_id": "reticulum"}),
        ("group 'kos-edge'", {"group_id": "kos-edge"}),
        ("group 'kos-edge-test'", {"group_id": "kos-edge-test"}),
        ("group with UTF-8", {"group_id": "grüppe ∆"}),
        ("long group", {"group_id": "a-rather-long-group-name-for-a-field-deployment-0123456789"}),
        ("admin scope", {"group_id": "reticulum", "discovery_scope": "admin"}),
        ("site scope", {"group_id": "reticulum", "discovery_scope": "site"}),
        ("organisation scope", {"group_id": "reticulum", "discovery_scope": "organisation"}),
        ("global scope", {"group_id": "reticulum", "discovery_scope": "global"}),
        ("permanent address type", {"group_id": "reticulum", "multicast_address_type": "permanent"}),
        ("permanent, site scope, group 'kos-edge'", {"group_id": "kos-edge", "multicast_address_type": "permanent", "discovery_scope": "site"}),
        ("custom ports", {"group_id": "reticulum", "discovery_port": "40000", "data_port": "40100"}),
    ]
    # Several groups: some hash bytes are small, exercising the "{:02x}" (not 4-digit) hextet text.
    for i in range(12):
        configs.append((f"group 'kos-group-{i}'", {"group_id": f"kos-group-{i}"}))
    out = []
    for description, config in configs:
        iface, _ = make_auto(config)
        address = iface.mcast_discovery_address
        out.append({
            "description": description,
            "group_id": config.get("group_id"),
            "discovery_scope": config.get("discovery_scope"),
            "multicast_address_type": config.get("multicast_address_type"),
            "group_hash": iface.group_hash.hex(),
            "multicast_address": address,
            "multicast_address_bytes": real_socket.inet_pton(real_socket.AF_INET6, address).hex(),
            "discovery_port": iface.discovery_port,
            "unicast_discovery_port": iface.unicast_discovery_port,
            "data_port": iface.data_port,
        })
    return out


def gen_socket_setup():
    ll = "fe80::a00:27ff:fe4e:66a1"
    iface, rec = make_auto({"group_id": "reticulum"}, nics={IFNAME: [ll]})
    return {
        "description": "Sockets the reference opens in its constructor for one NIC named " + IFNAME +
                       " with interface index " + str(IFINDEX) + " and link-local address " + ll +
                       " (threads not started; the data socket is opened later, in final_init).",
        "ifname": IFNAME, "ifindex": IFINDEX, "link_local": ll,
        "adopted": dict(iface.adopted_interfaces),
        "multicast_address": iface.mcast_discovery_address,
        "events": rec.events,
    }


def discovery_sends(group_id, ll, peer):
    iface, rec = make_auto({"group_id": group_id} if group_id is not None else {}, nics={IFNAME: [ll]})
    rec.events.clear()
    with Patched({IFNAME: [ll]}, rec):
        iface.peer_announce(IFNAME)
        iface.reverse_announce(IFNAME, peer)
    sends = [e for e in rec.events if e["op"] == "sendto"]
    opts = [e for e in rec.events if e["op"] == "setsockopt"]
    assert len(sends) == 2, sends
    return iface, sends, opts


def gen_discovery_packets():
    cases = [
        (None, "fe80::a00:27ff:fe4e:66a1", "fe80::b"),
        ("reticulum", "fe80::1", "fe80::2"),
        ("reticulum", "fe80::a", "fe80::b"),
        ("kos-edge", "fe80::a", "fe80::b"),
        ("kos-edge-test", "fe80::1c2b:3aff:fe4d:5e6f", "fe80::dead:beef"),
        ("grüppe ∆", "fe80::1:0:0:0", "fe80::2"),
    ]
    out = []
    for group_id, ll, peer in cases:
        iface, sends, opts = discovery_sends(group_id, ll, peer)
        out.append({
            "description": "peer_announce (multicast) and reverse_announce (unicast) on " + IFNAME,
            "group_id": group_id,
            "link_local": ll,
            "multicast": {"data": sends[0]["data"], "address": sends[0]["address"]},
            "multicast_if": [o["value"] for o in opts if o["option"] == "IPV6_MULTICAST_IF"],
            "reverse_peer": peer,
            "reverse": {"data": sends[1]["data"], "address": sends[1]["address"]},
            "token_is_sha256_of": (iface.group_id + ll.encode("utf-8")).hex(),
        })
    return out


def gen_discovery_acceptance():
    own = "fe80::a"
    group = b"reticulum"
    peer = "fe80::b"
    token = hashlib.sha256(group + peer.encode()).digest()
    flipped = bytearray(token)
    flipped[5] ^= 0x10
    cases = [
        ("valid token from a peer", token, peer),
        ("valid token followed by extra bytes (only the first 32 are compared)", token + b"extra", peer),
        ("our own token: multicast echo", hashlib.sha256(group + own.encode()).digest(), own),
        ("token for another source address", hashlib.sha256(group + b"fe80::c").digest(), peer),
        ("token for another group", hashlib.sha256(b"kos-edge" + peer.encode()).digest(), peer),
        ("one bit flipped", bytes(flipped), peer),
        ("truncated to 31 bytes", token[:31], peer),
        ("truncated 16-byte hash", token[:16], peer),
        ("empty datagram", b"", peer),
        ("token over the scoped text (fe80::b%kos0) is not what the reference expects",
         hashlib.sha256(group + (peer + "%" + IFNAME).encode()).digest(), peer),
        ("token over uncompressed text is not what the reference expects",
         hashlib.sha256(group + b"fe80:0:0:0:0:0:0:b").digest(), peer),
    ]
    out = []
    for description, data, src in cases:
        iface, rec = make_auto({"group_id": "reticulum"}, nics={IFNAME: [own]})
        iface.final_init_done = True
        outcome = []
        real_add_peer = iface.add_peer

        def add_peer(addr, ifname, outcome=outcome, iface=iface, real_add_peer=real_add_peer):
            if addr in iface.link_local_addresses:
                real_add_peer(addr, ifname)  # only touches the echo bookkeeping for our own address
                outcome.append("echo" if ifname in iface.initial_echoes else "echo-unrecorded")
            else:
                outcome.append("peer")

        iface.add_peer = add_peer
        sock = FakeSocket(rec, real_socket.AF_INET6, real_socket.SOCK_DGRAM, datagrams=[(data, (src, 29716, 0, IFINDEX))])
        try:
            iface.discovery_handler(sock, IFNAME, announce=False)
        except EndOfDatagrams:
            pass
        assert len(outcome) <= 1
        out.append({"description": description, "group_id": "reticulum", "own_link_local": own,
                    "source": src, "data": data.hex(), "outcome": outcome[0] if outcome else "rejected"})
    return out


def gen_address_text():
    packed = [
        "fe800000000000000000000000000001",
        "fe80000000000000020000fffe000001",
        "fe800000000000000a0027fffe4e66a1",
        "fe800000000000000001000000000000",
        "fe800000000000000000000100000000",
        "fe800000000000000001000000010000",
        "fe80000000000000deadbeef00000000",
        "fe8000000000000000000000000a000b",
        "fe800000000000001c2b3afffe4d5e6f",
        "fe80000000000000ffffffffffffffff",
        "fe800000000000010000000000000001",
        "fe800001000000010000000000000001",
    ]
    # netinfo turns each packed sin6_addr into text with str(ipaddress.ip_address(...)).
    return [{"packed": p, "text": str(ipaddress.ip_address(bytes.fromhex(p)))} for p in packed]


def gen_constants():
    A = AutoInterface
    tcp_client = RNS.Interfaces.TCPInterface.TCPClientInterface
    tcp_server = RNS.Interfaces.TCPInterface.TCPServerInterface
    udp = RNS.Interfaces.UDPInterface.UDPInterface
    return {
        "auto": {
            "HW_MTU": A.HW_MTU, "FIXED_MTU": A.FIXED_MTU, "DEFAULT_DISCOVERY_PORT": A.DEFAULT_DISCOVERY_PORT,
            "DEFAULT_DATA_PORT": A.DEFAULT_DATA_PORT, "DEFAULT_GROUP_ID": A.DEFAULT_GROUP_ID.decode(),
            "DEFAULT_IFAC_SIZE": A.DEFAULT_IFAC_SIZE, "PEERING_TIMEOUT": A.PEERING_TIMEOUT,
            "ANNOUNCE_INTERVAL": A.ANNOUNCE_INTERVAL, "PEER_JOB_INTERVAL": A.PEER_JOB_INTERVAL,
            "MCAST_ECHO_TIMEOUT": A.MCAST_ECHO_TIMEOUT, "BITRATE_GUESS": A.BITRATE_GUESS,
            "MULTI_IF_DEQUE_LEN": A.MULTI_IF_DEQUE_LEN, "MULTI_IF_DEQUE_TTL": A.MULTI_IF_DEQUE_TTL,
            "ALL_IGNORE_IFS": A.ALL_IGNORE_IFS,
            "reverse_peering_interval": A.ANNOUNCE_INTERVAL * 3.25,
            "peering_wait": A.ANNOUNCE_INTERVAL * 1.2,
            "discovery_token_length": RNS.Identity.HASHLENGTH // 8,
        },
        "tcp": {
            "HW_MTU": RNS.Interfaces.TCPInterface.TCPInterface.HW_MTU,
            "BITRATE_GUESS": tcp_client.BITRATE_GUESS, "SERVER_BITRATE_GUESS": tcp_server.BITRATE_GUESS,
            "DEFAULT_IFAC_SIZE": tcp_client.DEFAULT_IFAC_SIZE, "AUTOCONFIGURE_MTU": tcp_client.AUTOCONFIGURE_MTU,
            "RECONNECT_WAIT": tcp_client.RECONNECT_WAIT, "INITIAL_CONNECT_TIMEOUT": tcp_client.INITIAL_CONNECT_TIMEOUT,
            "TCP_USER_TIMEOUT": tcp_client.TCP_USER_TIMEOUT, "TCP_PROBE_AFTER": tcp_client.TCP_PROBE_AFTER,
            "TCP_PROBE_INTERVAL": tcp_client.TCP_PROBE_INTERVAL, "TCP_PROBES": tcp_client.TCP_PROBES,
            "HEADER_MINSIZE": RNS.Reticulum.HEADER_MINSIZE,
        },
        "udp": {
            "BITRATE_GUESS": udp.BITRATE_GUESS, "DEFAULT_IFAC_SIZE": udp.DEFAULT_IFAC_SIZE,
            "AUTOCONFIGURE_MTU": udp.AUTOCONFIGURE_MTU,
        },
    }


def gen_udp_hw_mtu():
    """UDPInterface sets HW_MTU in its constructor; build one on a loopback port to read it, then close it."""
    with Patched({}, Recorder()):
        iface = RNS.Interfaces.UDPInterface.UDPInterface(None, {"name": "kos-edge vectors", "listen_ip": "127.0.0.1",
                                                                "listen_port": "0", "forward_ip": "127.0.0.1",
                                                                "forward_port": "9"})
    iface.server.shutdown()
    iface.server.server_close()
    return iface.HW_MTU


def gen_optimised_mtu():
    bitrates = [1200, 62500, 62501, 1_000_000, 1_000_001, 2_000_000, 2_000_001, 5_000_000, 5_000_001,
                10_000_000, 10_000_001, 100_000_000, 100_000_001, 200_000_001, 400_000_001, 750_000_001,
                999_999_999, 1_000_000_000]
    out = []
    for bitrate in bitrates:
        stub = types.SimpleNamespace(AUTOCONFIGURE_MTU=True, bitrate=bitrate, HW_MTU=None)
        Interface.optimise_mtu(stub)
        out.append({"bitrate": bitrate, "hw_mtu": stub.HW_MTU})
    return out


def main():
    constants = gen_constants()
    constants["udp"]["HW_MTU"] = gen_udp_hw_mtu()
    obj = header("AutoInterface discovery (multicast address, tokens, acceptance) and IP interface constants, "
                 "recorded from the reference on a simulated NIC; see generate_net.py.")
    obj["constants"] = constants
    obj["optimised_hw_mtu"] = gen_optimised_mtu()
    obj["multicast_addresses"] = gen_multicast_addresses()
    obj["socket_setup"] = gen_socket_setup()
    obj["discovery_packets"] = gen_discovery_packets()
    obj["discovery_acceptance"] = gen_discovery_acceptance()
    obj["address_text"] = gen_address_text()
    path = os.path.join(OUT_DIR, OUT_FILE)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(obj, indent=2, ensure_ascii=False) + "\n")
    counts = ", ".join(f"{k}={len(v)}" for k, v in obj.items() if isinstance(v, list))
    print(f"wrote {OUT_FILE}: {counts}")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
