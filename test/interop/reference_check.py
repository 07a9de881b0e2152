#!/usr/bin/env python3
# Live check of kos-edge's output against the reference (RNS 1.4.2): fresh announces validate in the
# reference, tokens decrypt, signatures and proofs verify, IFAC frames unmask, framings unescape.
# Usage (from the repo root, after `npm run compile`):
#   KOS_RNS_PATH=/path/to/Reticulum python3 test/interop/reference_check.py
import json, os, subprocess, sys, tempfile

if os.environ.get("KOS_RNS_PATH"):
    sys.path.insert(0, os.environ["KOS_RNS_PATH"])
os.environ["HOME"] = tempfile.mkdtemp(prefix="kos-interop-")  # keep ~/.reticulum untouched
import types
import RNS
from RNS.Cryptography import Token

# No Reticulum instance runs here: tell the reference not to persist remembered ratchets to storage.
RNS.Transport.owner = types.SimpleNamespace(is_connected_to_shared_instance=True)

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
out = subprocess.run(["node", os.path.join(root, ".build", "test", "interop", "emit.js")], check=True, capture_output=True, text=True).stdout
d = json.loads(out)
h = bytes.fromhex
failures = 0

def check(name, ok):
    global failures
    print(("PASS " if ok else "FAIL ") + name)
    if not ok:
        failures += 1

for i, a in enumerate(d["announces"]):
    p = RNS.Packet(None, h(a["raw"]))
    ok = p.unpack() and RNS.Identity.validate_announce(p) is True
    ident = RNS.Identity(create_keys=False)
    ident.load_public_key(h(a["identity_public_key"]))
    expected = RNS.Destination.hash(ident, a["app_name"], *a["aspects"])
    check(f"announce {i} (context_flag={p.context_flag}, context={p.context}) validates in the reference", ok)
    check(f"announce {i} destination hash matches the reference's", expected.hex() == a["destination_hash"] == p.destination_hash.hex())

recipient = RNS.Identity.from_bytes(h(d["recipient_private_key"]))
check("identity token decrypts in the reference", recipient.decrypt(h(d["identity_token"])) == h(d["plaintext"]))
check("ratchet token decrypts in the reference with the ratchet",
      recipient.decrypt(h(d["ratchet_token"]), ratchets=[h(d["ratchet_private_key"])], enforce_ratchets=True) == h(d["plaintext"]))
check("ratchet token does not decrypt without the ratchet", recipient.decrypt(h(d["ratchet_token"])) is None)
check("token decrypts in the reference", Token(h(d["token_key"])).decrypt(h(d["token"])) == h(d["plaintext"]))

signer = RNS.Identity(create_keys=False)
signer.load_public_key(h(d["signer_public_key"]))
check("signature verifies in the reference", signer.validate(h(d["signature"]), h(d["message"])))
pkt = RNS.Packet(None, h(d["data_packet"]))
pkt.unpack()
check("packet hash equals the reference's", pkt.get_hash().hex() == d["data_packet_hash"])
check("implicit proof verifies", signer.validate(h(d["proof_implicit"]), pkt.get_hash()))
check("explicit proof carries the hash and verifies",
      h(d["proof_explicit"])[:32] == pkt.get_hash() and signer.validate(h(d["proof_explicit"])[32:], pkt.get_hash()))

# IFAC: unmask as the reference's inbound path does.
ifac = d["ifac"]
origin = RNS.Identity.full_hash(ifac["network_name"].encode()) + RNS.Identity.full_hash(ifac["passphrase"].encode())
ifac_key = RNS.Cryptography.hkdf(length=64, derive_from=RNS.Identity.full_hash(origin), salt=RNS.Reticulum.IFAC_SALT, context=None)
ifac_identity = RNS.Identity.from_bytes(ifac_key)
raw = h(ifac["masked"])
size = ifac["size"]
code = raw[2:2 + size]
mask = RNS.Cryptography.hkdf(length=len(raw), derive_from=code, salt=ifac_key, context=None)
unmasked = bytes(b ^ mask[i] if (i <= 1 or i > size + 1) else b for i, b in enumerate(raw))
plain = bytes([unmasked[0] & 0x7F, unmasked[1]]) + unmasked[2 + size:]
check("IFAC frame unmasks to the packet and its code verifies",
      plain.hex() == ifac["raw"] and ifac_identity.sign(plain)[-size:] == code)

from RNS.Interfaces.TCPInterface import HDLC
from RNS.Interfaces.RNodeInterface import KISS
frame = h(d["hdlc_frame"])
check("HDLC frame equals the reference's framing", frame == bytes([HDLC.FLAG]) + HDLC.escape(h(d["data_packet"])) + bytes([HDLC.FLAG]))
check("KISS frame equals the reference's framing",
      h(d["kiss_frame"]) == bytes([KISS.FEND, KISS.CMD_DATA]) + KISS.escape(h(d["data_packet"])) + bytes([KISS.FEND]))

print(f"{failures} failed")
sys.exit(1 if failures else 0)
