#!/usr/bin/env python3
"""
kos-edge known-answer vector generator.

This script is kos-edge's own code. It imports the Reticulum reference
implementation (RNS 1.4.2) purely as a library, feeds it fixed inputs and
writes what the reference answers as JSON data files next to this script.
No reference source is copied into our tree; the JSON holds data only.

Usage:
    RNS_PATH=/work/ref/Reticulum python3 test/vectors/generate.py

Determinism: wherever the reference draws randomness (os.urandom for Token
IVs and announce random hashes, X25519PrivateKey.generate for ephemeral and
ratchet keys, time.time for the announce timestamp) the generator feeds it
explicit, recorded values for the duration of that one call. Running the
script twice must produce byte-identical files. The one exception is the
tokens file's `reference_random` section, which is deliberately made with
real randomness once and then kept (see load_sticky_reference_random).

Isolation: no Reticulum instance is started. HOME and the reference's
storage path point into a temporary directory which is removed at exit, so
nothing is written to ~/.reticulum.
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

EXPECTED_VERSION = "1.4.2"
SOURCE = "RNS " + EXPECTED_VERSION
GENERATOR = "test/vectors/generate.py"
OUT_DIR = os.path.dirname(os.path.abspath(__file__))

# Announce timestamps are pinned to this unix time (2025-11-21).
PINNED_TIME = 1763700000

# Keep everything the reference might write inside a scratch directory.
# HOME is redirected before the import so that any path the reference
# derives from "~" lands in the scratch directory too.
SCRATCH = tempfile.mkdtemp(prefix="kos-edge-vectors-")
os.environ["HOME"] = SCRATCH

RNS_PATH = os.environ.get("RNS_PATH", "/work/ref/Reticulum")


def fail(message):
    sys.stderr.write("generate.py: " + message + "\n")
    shutil.rmtree(SCRATCH, ignore_errors=True)
    sys.exit(2)


sys.path.insert(0, RNS_PATH)
try:
    import RNS
    import RNS.Interfaces.Interface
    import RNS.Interfaces.TCPInterface
    import RNS.Interfaces.KISSInterface
    import RNS.Interfaces.RNodeInterface
    from RNS.Cryptography.AES import AES_128_CBC, AES_256_CBC
    from RNS.Cryptography import HMAC as RNS_HMAC
except Exception as e:  # noqa: BLE001 - any import failure is fatal here
    fail(f"cannot import RNS from RNS_PATH={RNS_PATH!r}: {e!r}\n"
         f"Point RNS_PATH at a checkout of markqvist/Reticulum at tag {EXPECTED_VERSION}.")

if getattr(RNS, "__version__", None) != EXPECTED_VERSION:
    fail(f"RNS at {RNS_PATH!r} is version {getattr(RNS, '__version__', '?')!r}, "
         f"but these vectors must come from RNS {EXPECTED_VERSION}.")

if not os.path.abspath(os.path.dirname(RNS.__file__)).startswith(os.path.abspath(RNS_PATH)):
    fail(f"imported RNS from {RNS.__file__}, not from RNS_PATH={RNS_PATH!r}")

# Quiet by default: every answer is asserted below, so reference log output
# is only noise. Set KOS_VECTORS_LOGLEVEL=6 to see what the reference says.
RNS.loglevel = int(os.environ.get("KOS_VECTORS_LOGLEVEL", RNS.LOG_CRITICAL))

Packet = RNS.Packet
Destination = RNS.Destination
Identity = RNS.Identity
Transport = RNS.Transport
X25519PrivateKey = RNS.Cryptography.X25519PrivateKey

# Minimal Transport state, instead of a Reticulum instance. Destination()
# registers IN destinations with Transport and asks the owner whether it is
# a shared-instance client; answering False keeps it from auto-announcing.
# Ratchet bookkeeping persists to Reticulum.storagepath, so point that into
# the scratch directory.
Transport.owner = types.SimpleNamespace(is_connected_to_shared_instance=False)
RNS.Reticulum.storagepath = os.path.join(SCRATCH, "storage")
os.makedirs(RNS.Reticulum.storagepath, exist_ok=True)


# --------------------------------------------------------------------------
# Small helpers (ours)
# --------------------------------------------------------------------------

def h(b):
    """Bytes to lower-case hex; None stays None."""
    return None if b is None else bytes(b).hex()


def det_bytes(label, n):
    """Deterministic, random-looking bytes: SHA-256 in counter mode over a label."""
    out = b""
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(f"kos-edge vectors|{label}|{counter}".encode()).digest()
        counter += 1
    return out[:n]


def flip(b, index, mask=0x01):
    """Copy of b with one bit (mask) flipped at index (negative allowed)."""
    b = bytearray(b)
    b[index] ^= mask
    return bytes(b)


def header(description):
    return {"source": SOURCE, "generator": GENERATOR, "description": description}


def write_json(name, obj):
    path = os.path.join(OUT_DIR, name)
    text = json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    return path


@contextlib.contextmanager
def forced_randomness(urandom=(), x25519=()):
    """
    Feed the reference's randomness from explicit queues for one call.

    os.urandom is looked up at call time by the reference (Token IVs,
    Identity.get_random_hash), and X25519PrivateKey.generate is a classmethod
    on the provider class the reference uses everywhere (ephemeral keys,
    ratchets). Every queued value must be consumed with the requested size,
    so an unexpected extra draw is an error rather than silent drift.
    """
    urandom_q = list(urandom)
    x25519_q = list(x25519)
    real_urandom = os.urandom
    real_generate = X25519PrivateKey.__dict__["generate"]

    def fake_urandom(n):
        assert urandom_q, f"unexpected os.urandom({n}) draw"
        value = urandom_q.pop(0)
        assert len(value) == n, f"os.urandom({n}) but queued {len(value)} bytes"
        return value

    def fake_generate(cls):
        assert x25519_q, "unexpected X25519PrivateKey.generate() draw"
        return cls.from_private_bytes(x25519_q.pop(0))

    os.urandom = fake_urandom
    X25519PrivateKey.generate = classmethod(fake_generate)
    try:
        yield
    finally:
        os.urandom = real_urandom
        X25519PrivateKey.generate = real_generate
    assert not urandom_q and not x25519_q, "forced randomness was not fully consumed"


@contextlib.contextmanager
def pinned_destination_time(t):
    """Destination.announce stamps int(time.time()) into the random hash; pin it."""
    module = sys.modules["RNS.Destination"]
    real_time = module.time
    shim = types.SimpleNamespace(**{k: getattr(real_time, k) for k in dir(real_time) if not k.startswith("__")})
    shim.time = lambda: float(t)
    module.time = shim
    try:
        yield
    finally:
        module.time = real_time


def unpacked(raw):
    """The reference's view of raw bytes: Packet(None, raw).unpack()."""
    p = Packet(None, raw)
    ok = p.unpack()
    return p if ok else None


def compose_raw(header_type, context_flag, transport_type, destination_type,
                packet_type, hops, transport_id, destination_hash, context, data):
    """Our own re-encoding of unpacked fields, used only as a round-trip check."""
    flags = (header_type << 6) | (context_flag << 5) | (transport_type << 4) | (destination_type << 2) | packet_type
    raw = bytes([flags, hops])
    if header_type == Packet.HEADER_2:
        raw += transport_id
    return raw + destination_hash + bytes([context]) + data


def packet_fields(p):
    return {
        "header_type": p.header_type,
        "context_flag": p.context_flag,
        "transport_type": p.transport_type,
        "destination_type": p.destination_type,
        "packet_type": p.packet_type,
        "hops": p.hops,
        "transport_id": h(p.transport_id),
        "destination_hash": h(p.destination_hash),
        "context": p.context,
        "data": h(p.data),
        "packet_hash": h(p.get_hash()),
        "truncated_hash": h(p.getTruncatedHash()),
    }


class StubDestination:
    """
    Just the attributes Packet() and Packet.pack() read from a destination.
    encrypt() passes data through, so the vector's `data` is exactly the
    on-wire payload (for LINK packets that stands in for link ciphertext).
    """

    def __init__(self, dtype, dhash, mtu=RNS.Reticulum.MTU):
        self.type = dtype
        self.hash = dhash
        self.link_id = dhash
        self.mtu = mtu

    def encrypt(self, data):
        return data


def pack(destination, data, packet_type=Packet.DATA, context=Packet.NONE,
         transport_type=Transport.BROADCAST, header_type=Packet.HEADER_1,
         transport_id=None, context_flag=Packet.FLAG_UNSET, hops=0):
    """Build raw bytes with the reference's own Packet.pack()."""
    p = Packet(destination, data, packet_type=packet_type, context=context,
               transport_type=transport_type, header_type=header_type,
               transport_id=transport_id, create_receipt=False, context_flag=context_flag)
    p.hops = hops
    p.pack()
    return p.raw


@contextlib.contextmanager
def transport_identity(identity_hash):
    """Transport.mangle_hops() inserts Transport.identity.hash as the transport id."""
    saved = Transport.identity
    Transport.identity = types.SimpleNamespace(hash=identity_hash)
    try:
        yield
    finally:
        Transport.identity = saved


def clear_identity_memory():
    """validate_announce remembers what it sees; start each check from nothing."""
    with Identity.known_destinations_lock:
        Identity.known_destinations.clear()
    Identity.known_ratchets.clear()


def reference_validate_announce(raw):
    clear_identity_memory()
    p = unpacked(raw)
    if p is None:
        return False
    result = Identity.validate_announce(p, only_validate_signature=False)
    clear_identity_memory()
    return result


# --------------------------------------------------------------------------
# 1. Identities
# --------------------------------------------------------------------------

IDENTITY_PRIVATE_KEYS = [hashlib.sha512(f"kos-edge vector identity {n}".encode()).digest() for n in range(8)]
IDENTITIES = [Identity.from_bytes(k) for k in IDENTITY_PRIVATE_KEYS]


def gen_identities():
    entries = []
    for prv, ident in zip(IDENTITY_PRIVATE_KEYS, IDENTITIES):
        # OpenSSL keeps the raw (unclamped) X25519 scalar, so the stored
        # private key round-trips exactly.
        assert ident.get_private_key() == prv
        assert ident.hash == Identity.truncated_hash(ident.get_public_key())
        entries.append({
            "private_key": h(prv),
            "public_key": h(ident.get_public_key()),
            "identity_hash": h(ident.hash),
        })
    out = header("Identities loaded with RNS.Identity.from_bytes(private_key). private_key is the "
                 "X25519 private key (32) followed by the Ed25519 seed (32); private_key for entry N is "
                 "SHA-512('kos-edge vector identity N'). public_key is X25519 public (32) || Ed25519 "
                 "public (32); identity_hash is SHA-256(public_key)[:16].")
    out["identities"] = entries
    return out


# --------------------------------------------------------------------------
# 2. Signatures
# --------------------------------------------------------------------------

ED25519_L = 2 ** 252 + 27742317777372353535851937790883648493


def gen_signatures():
    lengths = [0, 1, 2, 16, 32, 64, 100, 255, 256, 500, 1000, 32]
    entries = []
    for i, n in enumerate(lengths):
        ident = IDENTITIES[i % len(IDENTITIES)]
        message = det_bytes(f"signature message {i}", n)
        signature = ident.sign(message)
        assert len(signature) == 64 and ident.validate(signature, message) is True
        entries.append({
            "private_key": h(ident.get_private_key()),
            "public_key": h(ident.get_public_key()),
            "message": h(message),
            "signature": h(signature),
        })

    base_id = IDENTITIES[0]
    other_id = IDENTITIES[1]
    msg = det_bytes("signature invalid base", 48)
    sig = base_id.sign(msg)
    s = int.from_bytes(sig[32:], "little")
    cases = [
        ("bit flipped in R half of signature", base_id, msg, flip(sig, 0)),
        ("bit flipped in S half of signature", base_id, msg, flip(sig, 40)),
        ("bit flipped in message", base_id, flip(msg, 10), sig),
        ("message with one byte appended", base_id, msg + b"\x00", sig),
        ("valid signature checked against a different public key", other_id, msg, sig),
        ("non-canonical S (S + L); OpenSSL rejects this malleable form", base_id, msg,
         sig[:32] + (s + ED25519_L).to_bytes(32, "little")),
        ("signature truncated to 63 bytes", base_id, msg, sig[:63]),
        ("all-zero signature", base_id, msg, bytes(64)),
    ]
    invalid = []
    for description, ident, message, signature in cases:
        assert ident.validate(signature, message) is False, description
        invalid.append({
            "description": description,
            "public_key": h(ident.get_public_key()),
            "message": h(message),
            "signature": h(signature),
        })

    out = header("Ed25519 signatures made by RNS.Identity.sign (Ed25519 key = second half of "
                 "private_key). `invalid` entries are rejected by RNS.Identity.validate.")
    out["signatures"] = entries
    out["invalid"] = invalid
    return out


# --------------------------------------------------------------------------
# 3. HKDF
# --------------------------------------------------------------------------

def gen_hkdf():
    cases = [
        ("32 bytes, no salt, no context", 32, det_bytes("hkdf ikm 0", 32), None, None),
        ("64 bytes, no salt, no context (Identity token key size)", 64, det_bytes("hkdf ikm 1", 32), None, None),
        ("64 bytes, 16-byte salt (like an identity hash)", 64, det_bytes("hkdf ikm 2", 32), det_bytes("hkdf salt 2", 16), None),
        ("100 bytes, 32-byte salt, empty context", 100, det_bytes("hkdf ikm 3", 32), det_bytes("hkdf salt 3", 32), b""),
        ("empty salt is treated like no salt (32 zero bytes)", 32, det_bytes("hkdf ikm 4", 32), b"", None),
        ("explicit 32 zero-byte salt equals no salt", 32, det_bytes("hkdf ikm 4", 32), bytes(32), None),
        ("with context bytes", 64, det_bytes("hkdf ikm 5", 32), det_bytes("hkdf salt 5", 32), b"kos-edge context"),
        ("1 byte output", 1, det_bytes("hkdf ikm 6", 32), None, None),
        ("31 bytes output", 31, det_bytes("hkdf ikm 7", 32), None, None),
        ("33 bytes output (two blocks)", 33, det_bytes("hkdf ikm 8", 32), None, None),
        ("64 bytes from the IFAC salt (as Reticulum derives ifac_key)", 64,
         det_bytes("hkdf ikm 9", 32), RNS.Reticulum.IFAC_SALT, None),
        ("516 bytes (IFAC mask length for a 500-byte packet + 16-byte IFAC)", 516,
         det_bytes("hkdf ikm 10", 16), det_bytes("hkdf salt 10", 64), None),
        ("short 8-byte IKM", 64, det_bytes("hkdf ikm 11", 8), None, None),
        ("long 100-byte IKM and 100-byte salt", 64, det_bytes("hkdf ikm 12", 100), det_bytes("hkdf salt 12", 100), None),
        ("empty IKM is accepted by the reference (its empty-input check compares bytes to str)", 32, b"", None, None),
        ("8224 bytes = 257 blocks: past RFC 5869's 255-block limit the reference wraps the block counter to 0x00", 8224,
         det_bytes("hkdf ikm 15", 32), None, None),
    ]
    entries = []
    for description, length, ikm, salt, context in cases:
        output = RNS.Cryptography.hkdf(length=length, derive_from=ikm, salt=salt, context=context)
        assert len(output) == length
        entries.append({
            "description": description,
            "length": length,
            "ikm": h(ikm),
            "salt": h(salt),
            "context": h(context),
            "output": h(output),
        })
    out = header("HKDF-SHA256 as computed by RNS.Cryptography.hkdf(length, derive_from=ikm, salt, context). "
                 "salt/context null means None was passed; \"\" means empty bytes.")
    out["hkdf"] = entries
    return out


# --------------------------------------------------------------------------
# 4. Tokens and Identity encryption
# --------------------------------------------------------------------------

TOKEN_PLAINTEXT_LENGTHS = [0, 1, 15, 16, 17, 383, 1000]


def token_encrypt(key, iv, plaintext):
    with forced_randomness(urandom=[iv]):
        return RNS.Cryptography.Token(key).encrypt(plaintext)


def token_decrypts(key, token):
    try:
        return RNS.Cryptography.Token(key).decrypt(token)
    except Exception:
        return None


def raw_token(key, iv, padded_plaintext):
    """A token with a correct HMAC over arbitrary (possibly badly padded) CBC plaintext,
    built from the reference's own AES-CBC and HMAC primitives."""
    half = len(key) // 2
    mode = AES_128_CBC if len(key) == 32 else AES_256_CBC
    ciphertext = mode.encrypt(plaintext=padded_plaintext, key=key[half:], iv=iv) if padded_plaintext else b""
    signed = iv + ciphertext
    return signed + RNS_HMAC.new(key[:half], signed).digest()


def identity_encrypt(identity, plaintext, ephemeral_prv, iv, ratchet_prv=None):
    ratchet_pub = Identity._ratchet_public_bytes(ratchet_prv) if ratchet_prv else None
    with forced_randomness(urandom=[iv], x25519=[ephemeral_prv]):
        return identity.encrypt(plaintext, ratchet=ratchet_pub)


def sticky_reference_random(planned):
    """
    `reference_random` tokens come from real randomness, so they cannot be
    regenerated identically. If the existing file already holds tokens for
    exactly the planned inputs, and the reference still decrypts each one to
    its plaintext, keep them; otherwise make new ones. Set
    KOS_VECTORS_FRESH_RANDOM=1 to force new ones.
    """
    path = os.path.join(OUT_DIR, "rns-1.4.2-tokens.json")
    if os.environ.get("KOS_VECTORS_FRESH_RANDOM") != "1" and os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as f:
                old = json.load(f).get("reference_random", [])
        except Exception:
            old = []
        if len(old) == len(planned) and all(
                o.get("description") == p["description"]
                and o.get("recipient_private_key") == p["recipient_private_key"]
                and o.get("plaintext") == p["plaintext"]
                and o.get("ratchet_private_key") == p["ratchet_private_key"]
                for o, p in zip(old, planned)):
            return [dict(p, token=o["token"]) for o, p in zip(old, planned)], True

    fresh = []
    for p in planned:
        ident = Identity.from_bytes(bytes.fromhex(p["recipient_private_key"]))
        ratchet_prv = bytes.fromhex(p["ratchet_private_key"]) if p["ratchet_private_key"] else None
        ratchet_pub = Identity._ratchet_public_bytes(ratchet_prv) if ratchet_prv else None
        token = ident.encrypt(bytes.fromhex(p["plaintext"]), ratchet=ratchet_pub)  # real randomness
        fresh.append(dict(p, token=h(token)))
    return fresh, False


def gen_tokens():
    tokens = []
    for key_len in (32, 64):
        key = det_bytes(f"token key {key_len}", key_len)
        for n in TOKEN_PLAINTEXT_LENGTHS:
            iv = det_bytes(f"token iv {key_len} {n}", 16)
            plaintext = det_bytes(f"token plaintext {key_len} {n}", n)
            token = token_encrypt(key, iv, plaintext)
            assert token[:16] == iv and len(token) == 16 + (n // 16 + 1) * 16 + 32
            assert RNS.Cryptography.Token(key).decrypt(token) == plaintext
            tokens.append({
                "description": f"AES-{key_len * 4}-CBC token, {n}-byte plaintext",
                "key": h(key), "iv": h(iv), "plaintext": h(plaintext), "token": h(token),
            })

    # Token.decrypt leniency: the HMAC is checked first, then PKCS7.unpad only
    # rejects a final byte > 16. Pad byte 0 strips nothing, and the other pad
    # bytes are never inspected. Only a key holder can make such tokens.
    key = det_bytes("token quirk key", 64)
    iv = det_bytes("token quirk iv", 16)
    block = det_bytes("token quirk block", 15)
    lenient = []
    for description, padded, expected in [
        ("final pad byte 0x00: nothing is stripped", block + b"\x00", block + b"\x00"),
        ("final pad byte 0x03 but the two bytes before it are not 0x03: still stripped by 3",
         block[:13] + b"\xaa\xbb\x03", block[:13]),
        ("final pad byte 0x10 on a one-block plaintext: whole block stripped, empty result",
         block[:15] + b"\x10", b""),
    ]:
        t = raw_token(key, iv, padded)
        assert RNS.Cryptography.Token(key).decrypt(t) == expected, description
        lenient.append({"description": description, "key": h(key), "token": h(t), "plaintext": h(expected)})

    token_invalid = []
    good = token_encrypt(key, iv, b"kos-edge token")
    for description, t in [
        ("flipped bit in HMAC", flip(good, -1)),
        ("flipped bit in ciphertext", flip(good, 20)),
        ("flipped bit in IV", flip(good, 0)),
        ("token of exactly 32 bytes (too short to hold an HMAC and data)", good[-32:]),
        ("final pad byte 0x11 (> block size) under a valid HMAC", raw_token(key, iv, block + b"\x11")),
        ("final pad byte 0xff under a valid HMAC", raw_token(key, iv, block + b"\xff")),
        ("empty ciphertext (IV + HMAC only) under a valid HMAC", raw_token(key, iv, b"")),
        ("ciphertext not a multiple of the block size under a valid HMAC",
         (lambda s: s + RNS_HMAC.new(key[:32], s).digest())(good[:16 + 16] + b"\x01\x02\x03")),
    ]:
        assert token_decrypts(key, t) is None, description
        token_invalid.append({"description": description, "key": h(key), "token": h(t)})

    # Identity.encrypt with forced ephemeral key and IV.
    identity_entries = []
    plan = [
        (0, 0, None), (1, 1, None), (2, 16, None), (3, 100, None), (4, 383, None),
        (5, 0, "ratchet 5"), (6, 32, "ratchet 6"), (7, 383, "ratchet 7"), (0, 17, "ratchet 0"),
    ]
    for i, (id_index, n, ratchet_label) in enumerate(plan):
        ident = IDENTITIES[id_index]
        plaintext = det_bytes(f"identity plaintext {i}", n)
        eph = det_bytes(f"identity ephemeral {i}", 32)
        iv = det_bytes(f"identity iv {i}", 16)
        ratchet_prv = det_bytes(ratchet_label, 32) if ratchet_label else None
        token = identity_encrypt(ident, plaintext, eph, iv, ratchet_prv)

        eph_key = X25519PrivateKey.from_private_bytes(eph)
        target_pub = Identity._ratchet_public_bytes(ratchet_prv) if ratchet_prv else ident.pub_bytes
        shared = eph_key.exchange(RNS.Cryptography.X25519PublicKey.from_public_bytes(target_pub))
        derived = RNS.Cryptography.hkdf(length=64, derive_from=shared, salt=ident.hash, context=None)
        assert token[:32] == eph_key.public_key().public_bytes()
        assert token[32:] == token_encrypt(derived, iv, plaintext)
        if ratchet_prv:
            assert ident.decrypt(token, ratchets=[ratchet_prv]) == plaintext
            assert ident.decrypt(token) is None
        else:
            assert ident.decrypt(token) == plaintext

        identity_entries.append({
            "description": f"{n}-byte plaintext to identity {id_index}" + (" via ratchet" if ratchet_prv else ""),
            "recipient_private_key": h(ident.get_private_key()),
            "recipient_public_key": h(ident.get_public_key()),
            "ephemeral_private_key": h(eph),
            "ephemeral_public_key": h(token[:32]),
            "iv": h(iv),
            "plaintext": h(plaintext),
            "ratchet_private_key": h(ratchet_prv),
            "ratchet_public_key": h(Identity._ratchet_public_bytes(ratchet_prv)) if ratchet_prv else None,
            "shared_key": h(shared),
            "derived_key": h(derived),
            "token": h(token),
        })

    planned_random = []
    for i, (id_index, n, ratchet_label) in enumerate([(0, 5, None), (3, 64, None), (6, 383, None),
                                                       (1, 12, "random ratchet 1"), (7, 200, "random ratchet 7")]):
        planned_random.append({
            "description": f"{n}-byte plaintext to identity {id_index}" + (" via ratchet" if ratchet_label else "")
                           + ", encrypted with the reference's own randomness",
            "recipient_private_key": h(IDENTITY_PRIVATE_KEYS[id_index]),
            "plaintext": h(det_bytes(f"random plaintext {i}", n)),
            "ratchet_private_key": h(det_bytes(ratchet_label, 32)) if ratchet_label else None,
        })
    reference_random, reused = sticky_reference_random(planned_random)
    for e in reference_random:
        ident = Identity.from_bytes(bytes.fromhex(e["recipient_private_key"]))
        ratchets = [bytes.fromhex(e["ratchet_private_key"])] if e["ratchet_private_key"] else None
        assert ident.decrypt(bytes.fromhex(e["token"]), ratchets=ratchets) == bytes.fromhex(e["plaintext"])

    # Identity.decrypt failures: each of these returns None.
    base = identity_entries[3]
    base_token = bytes.fromhex(base["token"])
    ratchet_entry = identity_entries[6]
    low_order_point = bytes.fromhex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
    invalid_cases = [
        ("flipped bit in HMAC", base, flip(base_token, -1)),
        ("flipped bit in first HMAC byte", base, flip(base_token, -32)),
        ("flipped bit in ciphertext", base, flip(base_token, 32 + 16 + 3)),
        ("flipped bit in IV", base, flip(base_token, 32)),
        ("flipped bit in ephemeral public key", base, flip(base_token, 0)),
        ("all-zero ephemeral public key (shared secret would be all zeros)", base, bytes(32) + base_token[32:]),
        ("low-order ephemeral public key (shared secret would be all zeros)", base, low_order_point + base_token[32:]),
        ("truncated by one byte", base, base_token[:-1]),
        ("truncated to 32 bytes (ephemeral key only)", base, base_token[:32]),
        ("truncated to 80 bytes (ephemeral key, IV, 32 bytes)", base, base_token[:80]),
        ("ratchet token decrypted with the identity key only (no ratchet supplied)",
         ratchet_entry, bytes.fromhex(ratchet_entry["token"])),
        ("valid token for a different recipient", identity_entries[0], base_token),
    ]
    invalid = []
    for description, entry, token in invalid_cases:
        ident = Identity.from_bytes(bytes.fromhex(entry["recipient_private_key"]))
        assert ident.decrypt(token) is None, description
        invalid.append({"description": description,
                        "recipient_private_key": entry["recipient_private_key"], "token": h(token)})

    # X25519 ignores the top bit of a public key (RFC 7748), so flipping it
    # in the ephemeral key still decrypts. Implementations must accept this.
    quirk_token = flip(base_token, 31, 0x80)
    quirk_ident = Identity.from_bytes(bytes.fromhex(base["recipient_private_key"]))
    assert quirk_ident.decrypt(quirk_token) == bytes.fromhex(base["plaintext"])
    identity_quirks = [{
        "description": "top bit of the ephemeral public key flipped: X25519 masks it, so decryption still succeeds",
        "recipient_private_key": base["recipient_private_key"],
        "token": h(quirk_token),
        "plaintext": base["plaintext"],
    }]

    out = header("RNS.Cryptography.Token (modified Fernet: IV(16) || AES-CBC(PKCS7) || HMAC-SHA256(32); "
                 "32-byte key = HMAC key 16 || AES-128 key 16, 64-byte key = HMAC key 32 || AES-256 key 32) "
                 "with forced IVs, and RNS.Identity.encrypt (ephemeral X25519 public key(32) || Token, Token key = "
                 "HKDF(64, X25519(ephemeral, recipient or ratchet), salt=identity_hash, context=None)) with forced "
                 "ephemeral key and IV. shared_key/derived_key are intermediates for debugging. reference_random "
                 "tokens were made with real randomness and are decrypt-only. invalid: Identity.decrypt returns None. "
                 "token_invalid: Token.decrypt raises. token_lenient / identity_decrypt_quirks: inputs a strict "
                 "implementation might reject but the reference accepts.")
    out["reference_random_note"] = ("Kept from an earlier run (real randomness cannot be regenerated); "
                                    "delete the file or set KOS_VECTORS_FRESH_RANDOM=1 to make new ones.")
    out["tokens"] = tokens
    out["token_lenient"] = lenient
    out["token_invalid"] = token_invalid
    out["identity_encrypt"] = identity_entries
    out["reference_random"] = reference_random
    out["invalid"] = invalid
    out["identity_decrypt_quirks"] = identity_quirks
    return out, reused


# --------------------------------------------------------------------------
# 5. Destinations
# --------------------------------------------------------------------------

def gen_destinations():
    plan = [
        ("single", 0, "lxmf", ["delivery"]),
        ("single", 1, "lxmf", ["propagation"]),
        ("single", 2, "nomadnetwork", ["node"]),
        ("single", 3, "rnstransport", ["remote", "management"]),
        ("single", 4, "kos", ["log", "sync"]),
        ("single", 5, "kos", ["ünïcödé", "日本語"]),
        ("single", 6, "kos", []),
        ("single", 7, "kos", ["a", "b", "c", "d", "e", "f"]),
        ("single", 0, "kos", ["log", "sync"]),
        ("plain", None, "rnstransport", ["path", "request"]),
        ("plain", None, "rnstransport", ["tunnel", "synthesize"]),
        ("plain", None, "rnstransport", ["discovery", "interface"]),
        ("plain", None, "kos", ["log", "sync"]),
        ("plain", None, "kos", ["ünïcödé"]),
        ("plain", None, "kos", []),
    ]
    entries = []
    for dtype, id_index, app_name, aspects in plan:
        ident = IDENTITIES[id_index] if id_index is not None else None
        rtype = Destination.SINGLE if dtype == "single" else Destination.PLAIN
        # OUT destinations are not registered with Transport.
        d = Destination(ident, Destination.OUT, rtype, app_name, *aspects)
        full_name = Destination.expand_name(None, app_name, *aspects)
        assert d.hash == Destination.hash(ident, app_name, *aspects)
        assert d.hash == Destination.hash_from_name_and_identity(full_name, ident)
        if ident is not None:
            assert d.hash == Destination.hash(ident.hash, app_name, *aspects)
        entries.append({
            "type": dtype,
            "identity_hash": h(ident.hash) if ident else None,
            "app_name": app_name,
            "aspects": aspects,
            "full_name": full_name,
            "name_with_identity": d.name,
            "name_hash": h(d.name_hash),
            "destination_hash": h(d.hash),
        })

    paths = ["/status", "/page/index.mu", "/page/about.mu", "/file/readme.txt", "/", "/ünïcödé/päth",
             "/kos/log/sync", "lxmf/propagation"]
    path_hashes = [{"path": p, "path_hash": h(Identity.truncated_hash(p.encode("utf-8")))} for p in paths]

    out = header("Destination naming. full_name = app_name and aspects joined by '.' (UTF-8); "
                 "name_hash = SHA-256(full_name)[:10]; destination_hash = SHA-256(name_hash || identity_hash)[:16] "
                 "(identity part omitted for plain). name_with_identity is Destination.name (identity hexhash appended). "
                 "path_hashes are request-handler path hashes: SHA-256(path UTF-8)[:16].")
    out["destinations"] = entries
    out["path_hashes"] = path_hashes
    return out


# --------------------------------------------------------------------------
# 6. Packets
# --------------------------------------------------------------------------

TRANSPORT_ID = det_bytes("transport id", 16)
LINK_ID = det_bytes("link id", 16)

CONTEXT_NAMES = {getattr(Packet, n): n for n in [
    "NONE", "RESOURCE", "RESOURCE_ADV", "RESOURCE_REQ", "RESOURCE_HMU", "RESOURCE_PRF", "RESOURCE_ICL",
    "RESOURCE_RCL", "CACHE_REQUEST", "REQUEST", "RESPONSE", "PATH_RESPONSE", "COMMAND", "COMMAND_STATUS",
    "CHANNEL", "KEEPALIVE", "LINKIDENTIFY", "LINKCLOSE", "LINKPROOF", "LRRTT", "LRPROOF"]}


def make_announce(identity, app_name, aspects, app_data=None, path_response=False, ratchet_prv=None, seed=b""):
    """
    Run the reference's Destination.announce(send=False) with a fixed random
    hash seed, pinned time and (optionally) a fixed first ratchet key.
    Returns (packed Packet, Destination); the caller must deregister.
    """
    d = Destination(identity, Destination.IN, Destination.SINGLE, app_name, *aspects)
    x25519 = []
    if ratchet_prv is not None:
        ratchet_dir = os.path.join(SCRATCH, "ratchets-" + d.hexhash)
        d.enable_ratchets(ratchet_dir)  # a file path; created on first persist
        x25519 = [ratchet_prv]
    with pinned_destination_time(PINNED_TIME), forced_randomness(urandom=[seed], x25519=x25519):
        p = d.announce(app_data=app_data, path_response=path_response, send=False)
    p.pack()
    return p, d


def gen_packets(fixtures):
    entries = []

    def add(description, raw, pack_built):
        p = unpacked(raw)
        assert p is not None, description
        fields = packet_fields(p)
        # Our re-encoding of the reference's fields must give back the raw.
        assert compose_raw(p.header_type, p.context_flag, p.transport_type, p.destination_type, p.packet_type,
                           p.hops, p.transport_id, p.destination_hash, p.context, p.data) == raw, description
        entry = {"description": description, "raw": h(raw)}
        entry.update(fields)
        entry["built_with"] = pack_built
        entries.append(entry)
        return p

    PACK = "Packet.pack"
    MANGLE = "Packet.pack + Transport.mangle_hops"

    plain = Destination(None, Destination.OUT, Destination.PLAIN, "kos", "vectors", "plain")
    mdu = RNS.Reticulum.MDU
    add("PLAIN DATA, empty payload", pack(plain, b""), PACK)
    add("PLAIN DATA, 1 byte", pack(plain, b"\x42"), PACK)
    add("PLAIN DATA, 100 bytes, hops 1", pack(plain, det_bytes("plain 100", 100), hops=1), PACK)
    add(f"PLAIN DATA, MDU ({mdu}) bytes", pack(plain, det_bytes("plain mdu", mdu)), PACK)
    add("PLAIN DATA, 481 bytes (HEADER_1 packet of exactly MTU 500)", pack(plain, det_bytes("plain 481", 481)), PACK)
    add("PLAIN DATA, context_flag set", pack(plain, det_bytes("plain flag", 20), context_flag=Packet.FLAG_SET), PACK)
    add("PLAIN DATA, unassigned context value 0x42 (encoded and decoded as-is)",
        pack(plain, det_bytes("plain ctx", 8), context=0x42), PACK)
    add("PLAIN DATA, transport_type TRANSPORT on a HEADER_1 packet (bit is just carried)",
        pack(plain, det_bytes("plain tt", 8), transport_type=Transport.TRANSPORT), PACK)
    add("PLAIN DATA, hops 127 (the largest hop count unpack accepts)",
        pack(plain, det_bytes("plain 127", 10), hops=127), PACK)

    single = Destination(IDENTITIES[0], Destination.OUT, Destination.SINGLE, "kos", "vectors", "single")
    with forced_randomness(urandom=[det_bytes("pkt single iv", 16)], x25519=[det_bytes("pkt single eph", 32)]):
        single_data_raw = pack(single, b"hello from kos-edge")
    fixtures["single_data_raw"] = single_data_raw
    add("SINGLE DATA, payload encrypted by Packet.pack via Identity.encrypt (forced ephemeral key and IV)",
        single_data_raw, PACK)
    lr_data = IDENTITIES[1].pub_bytes + IDENTITIES[1].sig_pub_bytes
    lr_raw = pack(single, lr_data, packet_type=Packet.LINKREQUEST)
    add("SINGLE LINKREQUEST, 64-byte request (X25519 pub || Ed25519 pub), not encrypted", lr_raw, PACK)
    add("SINGLE LINKREQUEST, 67 bytes (64-byte request plus 3 signalling bytes)",
        pack(single, lr_data + bytes([0x21, 0xf4, 0x00]), packet_type=Packet.LINKREQUEST), PACK)
    add("SINGLE DATA, CACHE_REQUEST context (not encrypted by pack)",
        pack(single, det_bytes("cache req", 32), context=Packet.CACHE_REQUEST), PACK)

    group = Destination(IDENTITIES[2], Destination.OUT, Destination.GROUP, "kos", "vectors", "group")
    group.load_private_key(det_bytes("group key", 64))
    with forced_randomness(urandom=[det_bytes("pkt group iv", 16)]):
        group_raw = pack(group, b"group message")
    fixtures["group_data_raw"] = group_raw
    add("GROUP DATA, payload is a Token under the group key (forced IV)", group_raw, PACK)

    # Announces, packed by the reference.
    ann, d = make_announce(IDENTITIES[3], "kos", ["vectors", "announce"], seed=det_bytes("pkt ann seed", 16))
    Transport.deregister_destination(d)
    add("ANNOUNCE, no ratchet, no app_data (Destination.announce)", ann.raw, "Destination.announce + Packet.pack")
    ann2, d = make_announce(IDENTITIES[4], "kos", ["vectors", "ratchet"], app_data=b"kos-edge",
                            ratchet_prv=det_bytes("pkt ratchet", 32), seed=det_bytes("pkt ann seed 2", 16))
    Transport.deregister_destination(d)
    add("ANNOUNCE with ratchet (context_flag set) and app_data", ann2.raw, "Destination.announce + Packet.pack")
    ann3, d = make_announce(IDENTITIES[5], "kos", ["vectors", "pr"], path_response=True,
                            seed=det_bytes("pkt ann seed 3", 16))
    Transport.deregister_destination(d)
    add("ANNOUNCE as PATH_RESPONSE (context 0x0b)", ann3.raw, "Destination.announce + Packet.pack")

    # Rebroadcast form, built the way Transport rebuilds announces it forwards.
    for src, hops, label in [(ann, 4, "no ratchet"), (ann2, 1, "with ratchet")]:
        stub = StubDestination(Destination.SINGLE, src.destination_hash)
        raw = pack(stub, src.data, packet_type=Packet.ANNOUNCE, context=src.context, header_type=Packet.HEADER_2,
                   transport_type=Transport.TRANSPORT, transport_id=TRANSPORT_ID,
                   context_flag=src.context_flag, hops=hops)
        add(f"ANNOUNCE rebroadcast, HEADER_2 with transport_id, hops {hops}, {label}", raw, PACK)

    # Proofs.
    source = unpacked(single_data_raw)
    proof_dest = source.generate_proof_destination()
    signature = IDENTITIES[0].sign(source.packet_hash)
    add("PROOF, explicit (packet_hash || signature) to the proof destination",
        pack(proof_dest, source.packet_hash + signature, packet_type=Packet.PROOF), PACK)
    add("PROOF, implicit (signature only) to the proof destination",
        pack(proof_dest, signature, packet_type=Packet.PROOF), PACK)

    # Link traffic. StubDestination stands in for an RNS.Link (type LINK,
    # hash = link id); payloads are opaque here, as link encryption is the Link's job.
    link = StubDestination(Destination.LINK, LINK_ID)
    for ctx, ptype, data in [
        (Packet.NONE, Packet.DATA, det_bytes("link none", 64)),
        (Packet.RESOURCE, Packet.DATA, det_bytes("link resource", 200)),
        (Packet.RESOURCE_ADV, Packet.DATA, det_bytes("link adv", 120)),
        (Packet.RESOURCE_REQ, Packet.DATA, det_bytes("link req", 48)),
        (Packet.RESOURCE_HMU, Packet.DATA, det_bytes("link hmu", 80)),
        (Packet.RESOURCE_PRF, Packet.PROOF, det_bytes("link prf", 64)),
        (Packet.RESOURCE_ICL, Packet.DATA, det_bytes("link icl", 48)),
        (Packet.RESOURCE_RCL, Packet.DATA, det_bytes("link rcl", 48)),
        (Packet.REQUEST, Packet.DATA, det_bytes("link request", 64)),
        (Packet.RESPONSE, Packet.DATA, det_bytes("link response", 96)),
        (Packet.COMMAND, Packet.DATA, det_bytes("link command", 32)),
        (Packet.COMMAND_STATUS, Packet.DATA, det_bytes("link cstatus", 32)),
        (Packet.CHANNEL, Packet.DATA, det_bytes("link channel", 64)),
        (Packet.KEEPALIVE, Packet.DATA, bytes([0xFF])),
        (Packet.KEEPALIVE, Packet.DATA, bytes([0xFE])),
        (Packet.LINKIDENTIFY, Packet.DATA, det_bytes("link identify", 128)),
        (Packet.LINKCLOSE, Packet.DATA, det_bytes("link close", 64)),
        (Packet.LINKPROOF, Packet.PROOF, det_bytes("link proof", 96)),
        (Packet.NONE, Packet.PROOF, det_bytes("link packet proof", 96)),
        (Packet.LRRTT, Packet.DATA, det_bytes("link rtt", 64)),
        (Packet.LRPROOF, Packet.PROOF, det_bytes("link lrproof", 67)),
    ]:
        ptype_name = {Packet.DATA: "DATA", Packet.PROOF: "PROOF"}[ptype]
        note = f", payload {data.hex()}" if ctx == Packet.KEEPALIVE else ""
        add(f"LINK {ptype_name}, context {CONTEXT_NAMES[ctx]} (0x{ctx:02x}){note}",
            pack(link, data, packet_type=ptype, context=ctx), PACK)
    add("LINK DATA, CHANNEL context with context_flag set",
        pack(link, det_bytes("link flag", 40), context=Packet.CHANNEL, context_flag=Packet.FLAG_SET), PACK)
    # LRPROOF forces destination type LINK in the flags whatever the destination is.
    add("PROOF with context LRPROOF to a SINGLE-typed destination: pack() still encodes destination type LINK",
        pack(StubDestination(Destination.SINGLE, LINK_ID), det_bytes("lrproof single", 67),
             packet_type=Packet.PROOF, context=Packet.LRPROOF), PACK)

    # HEADER_2: Packet.pack() only supports it for announces, so other packet
    # types are put into transport the way Transport does it, with mangle_hops.
    with transport_identity(TRANSPORT_ID):
        h2_single = Transport.mangle_hops(single_data_raw, 1, transport_insert=True)
        p1 = add("SINGLE DATA inserted into transport: HEADER_2, TRANSPORT, hops 1", h2_single, MANGLE)
        assert p1.get_hash() == source.get_hash(), "transport insertion must not change the packet hash"
        add("LINKREQUEST inserted into transport: HEADER_2, hops 2",
            Transport.mangle_hops(lr_raw, 2, transport_insert=True), MANGLE)
        add("GROUP DATA in transport: HEADER_2, hops 3",
            Transport.mangle_hops(group_raw, 3, transport_insert=True), MANGLE)
        add("PLAIN DATA with context_flag in transport: HEADER_2 keeps the flag, hops 127",
            Transport.mangle_hops(pack(plain, det_bytes("h2 flag", 30), context_flag=Packet.FLAG_SET), 127,
                                  transport_insert=True), MANGLE)
        add(f"PLAIN DATA, HEADER_2 with MDU ({mdu}) bytes (packet of 499 bytes)",
            Transport.mangle_hops(pack(plain, det_bytes("h2 mdu", mdu)), 0, transport_insert=True), MANGLE)
        add("LINK DATA in transport: HEADER_2, empty payload",
            Transport.mangle_hops(pack(link, b""), 5, transport_insert=True), MANGLE)
    add("SINGLE DATA, hops rewritten to 127 by Transport.mangle_hops (HEADER_1)",
        Transport.mangle_hops(single_data_raw, 127), "Packet.pack + Transport.mangle_hops")

    # Raws unpack() accepts although pack() would never produce them; fields
    # show what the reference makes of them.
    lenient = []
    for description, raw in [
        ("bit 7 (the IFAC flag) set: unpack ignores it, and the packet hash masks it out",
         bytes([single_data_raw[0] | 0x80]) + single_data_raw[1:]),
        ("HEADER_1, exactly 19 bytes: destination hash and context, empty data",
         bytes([0x08, 0x00]) + det_bytes("lenient 19", 16) + b"\x00"),
        ("HEADER_2, exactly 35 bytes: empty data",
         bytes([0x50, 0x01]) + TRANSPORT_ID + det_bytes("lenient 35", 16) + b"\x00"),
    ]:
        p = unpacked(raw)
        assert p is not None, description
        entry = {"description": description, "raw": h(raw)}
        entry.update(packet_fields(p))
        lenient.append(entry)

    malformed = []
    good19 = bytes([0x08, 0x00]) + det_bytes("malformed dst", 16) + b"\x00"
    for description, raw in [
        ("empty", b""),
        ("1 byte", b"\x08"),
        ("2 bytes: flags and hops only", b"\x08\x00"),
        ("HEADER_1, 18 bytes: no context byte", good19[:18]),
        ("HEADER_1, 10 bytes: truncated destination hash", good19[:10]),
        ("HEADER_2, 34 bytes: no context byte", bytes([0x50, 0x00]) + TRANSPORT_ID + det_bytes("m", 16)),
        ("HEADER_2 flag on a 19-byte packet that would be a valid HEADER_1 packet", bytes([0x48]) + good19[1:]),
        ("HEADER_2, 30 bytes", bytes([0x50, 0x00]) + det_bytes("m30", 28)),
        ("hops 128", good19[:1] + b"\x80" + good19[2:]),
        ("hops 255", good19[:1] + b"\xff" + good19[2:]),
        ("hops 128 on an otherwise valid SINGLE DATA packet", single_data_raw[:1] + b"\x80" + single_data_raw[2:]),
    ]:
        assert unpacked(raw) is None, description
        malformed.append({"description": description, "raw": h(raw)})

    out = header("Packets as decoded by RNS.Packet(None, raw).unpack(); packet_hash = Packet.get_hash() "
                 "(SHA-256 of (flags & 0x0f) || raw after hops [and after transport_id for HEADER_2]), "
                 "truncated_hash = Packet.getTruncatedHash(). Raws were produced by the reference (built_with). "
                 "`lenient`: raws unpack() accepts that pack() never produces. `malformed`: raws unpack() rejects.")
    out["constants"] = {
        "MTU": RNS.Reticulum.MTU, "MDU": RNS.Reticulum.MDU, "HEADER_MINSIZE": RNS.Reticulum.HEADER_MINSIZE,
        "HEADER_MAXSIZE": RNS.Reticulum.HEADER_MAXSIZE, "ENCRYPTED_MDU": Packet.ENCRYPTED_MDU,
        "PATHFINDER_M": Transport.PATHFINDER_M, "transport_id": h(TRANSPORT_ID), "link_id": h(LINK_ID),
    }
    out["packets"] = entries
    out["lenient"] = lenient
    out["malformed"] = malformed
    return out


# --------------------------------------------------------------------------
# 7. Announces
# --------------------------------------------------------------------------

def split_announce(p):
    """Our own reading of the announce layout, cross-checked below."""
    data = p.data
    pub, name_hash, random_hash = data[:64], data[64:74], data[74:84]
    off = 84
    ratchet = None
    if p.context_flag == Packet.FLAG_SET:
        ratchet = data[off:off + 32]
        off += 32
    signature = data[off:off + 64]
    app_data = data[off + 64:] or None
    return pub, name_hash, random_hash, ratchet, signature, app_data


def gen_announces():
    plan = [
        ("no app_data, no ratchet", 0, "kos", ["vectors", "announce"], None, False, False),
        ("app_data, no ratchet", 1, "lxmf", ["delivery"], b"\x91\xc4\x08kos-edge", False, False),
        ("app_data, no ratchet (nomadnetwork node)", 2, "nomadnetwork", ["node"], b"kos-edge node", False, False),
        ("ratchet, no app_data", 3, "kos", ["log", "sync"], None, True, False),
        ("ratchet and app_data", 4, "lxmf", ["delivery"], det_bytes("announce app data 4", 40), True, False),
        ("path response, no ratchet", 5, "kos", ["vectors", "pr"], None, False, True),
        ("path response with ratchet and app_data", 6, "kos", ["vectors", "pr"], b"pr app data", True, True),
        ("large app_data (200 bytes)", 7, "kos", ["vectors", "big"], det_bytes("announce app data 7", 200), False, False),
        ("unicode aspect", 0, "kos", ["ünïcödé"], None, False, False),
        ("no aspects", 1, "kos", [], b"\x00", False, False),
    ]
    announces = []
    base_raws = {}
    for i, (description, id_index, app_name, aspects, app_data, use_ratchet, pr) in enumerate(plan):
        ident = IDENTITIES[id_index]
        ratchet_prv = det_bytes(f"announce ratchet {i}", 32) if use_ratchet else None
        seed = det_bytes(f"announce random seed {i}", 16)
        p, d = make_announce(ident, app_name, aspects, app_data=app_data, path_response=pr,
                             ratchet_prv=ratchet_prv, seed=seed)
        Transport.deregister_destination(d)
        raw = p.raw
        q = unpacked(raw)
        pub, name_hash, random_hash, ratchet, signature, parsed_app_data = split_announce(q)
        assert pub == ident.get_public_key()
        assert name_hash == d.name_hash and q.destination_hash == d.hash
        assert random_hash == Identity.truncated_hash(seed)[:5] + PINNED_TIME.to_bytes(5, "big")
        assert ratchet == (Identity._ratchet_public_bytes(ratchet_prv) if ratchet_prv else None)
        assert parsed_app_data == app_data
        assert q.context == (Packet.PATH_RESPONSE if pr else Packet.NONE)
        assert reference_validate_announce(raw) is True, description
        base_raws[description] = (raw, ident, q)
        announces.append(announce_entry(description, raw, ident, app_name, aspects, ratchet_prv, True))

    # Header bytes outside the signed data can change without invalidating.
    raw, ident, q = base_raws["ratchet and app_data"]
    with transport_identity(TRANSPORT_ID):
        rebroadcast = Transport.mangle_hops(raw, 4, transport_insert=True)
    assert reference_validate_announce(rebroadcast) is True
    announces.append(announce_entry("ratchet and app_data, rebroadcast form: HEADER_2, TRANSPORT, hops 4 "
                                    "(header, hops and transport_id are not signed)",
                                    rebroadcast, ident, "lxmf", ["delivery"], det_bytes("announce ratchet 4", 32), True))
    raw0, ident0, q0 = base_raws["no app_data, no ratchet"]
    ctx_changed = raw0[:18] + bytes([Packet.PATH_RESPONSE]) + raw0[19:]
    assert reference_validate_announce(ctx_changed) is True
    announces.append(announce_entry("no app_data, no ratchet, context byte changed to PATH_RESPONSE after signing "
                                    "(the context byte is not signed)", ctx_changed, ident0, "kos",
                                    ["vectors", "announce"], None, True))

    # Invalid announces: one damaged region at a time.
    invalid = []

    def bad(description, raw):
        result = reference_validate_announce(raw)
        assert result is False, f"{description}: validate_announce returned {result!r}"
        invalid.append({"description": description, "raw": h(raw), "valid": False})

    r_raw, r_ident, r_q = base_raws["ratchet and app_data"]
    n_raw, n_ident, n_q = base_raws["app_data, no ratchet"]
    hdr = 19  # HEADER_1 announce: data starts after flags, hops, destination hash, context
    bad("ratchet announce: bit flipped in X25519 public key", flip(r_raw, hdr + 0))
    bad("ratchet announce: bit flipped in Ed25519 public key", flip(r_raw, hdr + 40))
    bad("ratchet announce: bit flipped in name hash", flip(r_raw, hdr + 64))
    bad("ratchet announce: bit flipped in random part of random hash", flip(r_raw, hdr + 74))
    bad("ratchet announce: bit flipped in timestamp part of random hash", flip(r_raw, hdr + 83))
    bad("ratchet announce: bit flipped in ratchet", flip(r_raw, hdr + 84))
    bad("ratchet announce: bit flipped in signature", flip(r_raw, hdr + 116 + 10))
    bad("ratchet announce: bit flipped in app_data", flip(r_raw, -1))
    bad("ratchet announce: app_data removed", r_raw[:hdr + 180])
    bad("ratchet announce: context_flag cleared (ratchet then parsed as signature)", bytes([r_raw[0] & ~0x20]) + r_raw[1:])
    bad("no-ratchet announce: bit flipped in X25519 public key", flip(n_raw, hdr + 5))
    bad("no-ratchet announce: bit flipped in name hash", flip(n_raw, hdr + 70))
    bad("no-ratchet announce: bit flipped in random hash", flip(n_raw, hdr + 76))
    bad("no-ratchet announce: bit flipped in signature", flip(n_raw, hdr + 84 + 63))
    bad("no-ratchet announce: bit flipped in app_data", flip(n_raw, hdr + 148))
    bad("no-ratchet announce: app_data byte appended", n_raw + b"\x00")
    bad("no-ratchet announce: context_flag set (app_data then parsed as ratchet/signature)", bytes([n_raw[0] | 0x20]) + n_raw[1:])
    bad("no-ratchet announce: destination hash replaced", n_raw[:2] + det_bytes("wrong dest", 16) + n_raw[18:])
    bad("no-ratchet announce: destination hash bit flipped", flip(n_raw, 2))
    bad("no-ratchet announce: truncated by one byte (signature short)", n_raw[:hdr + 148 - 1])
    bad("no-ratchet announce: truncated to the public key", n_raw[:hdr + 64])
    bad("no-ratchet announce: announce data empty", n_raw[:hdr])

    # Correctly signed over a destination hash that does not match
    # SHA-256(name_hash || identity_hash)[:16]: passes the signature check,
    # fails the destination check.
    pub, name_hash, random_hash, _, _, app_data = split_announce(n_q)
    wrong_dest = det_bytes("re-signed wrong dest", 16)
    sig = n_ident.sign(wrong_dest + pub + name_hash + random_hash + app_data)
    resigned = n_raw[:2] + wrong_dest + n_raw[18:19] + pub + name_hash + random_hash + sig + app_data
    assert Identity.validate_announce(unpacked(resigned), only_validate_signature=True) is True
    bad("validly signed, but destination hash does not match name_hash and identity", resigned)
    # Same for a name hash that does not belong to the destination hash.
    other_name = Identity.full_hash(b"kos.other")[:10]
    sig = n_ident.sign(n_q.destination_hash + pub + other_name + random_hash + app_data)
    resigned2 = n_raw[:19] + pub + other_name + random_hash + sig + app_data
    assert Identity.validate_announce(unpacked(resigned2), only_validate_signature=True) is True
    bad("validly signed, but name hash does not belong to the destination hash", resigned2)
    # Signed by a different identity than the one whose public key is announced.
    sig = IDENTITIES[2].sign(n_q.destination_hash + pub + name_hash + random_hash + app_data)
    bad("signed by a different identity than the announced public key",
        n_raw[:19] + pub + name_hash + random_hash + sig + app_data)

    out = header("Announces produced by RNS.Destination.announce(send=False) then Packet.pack(), with fixed "
                 "random-hash seed and time pinned to %d. Announce data = public_key(64) || name_hash(10) || "
                 "random_hash(10: 5 random bytes || 5-byte big-endian unix time) || [ratchet(32) if context_flag] || "
                 "signature(64) || app_data; signed data = destination_hash || public_key || name_hash || "
                 "random_hash || ratchet || app_data. Every entry's `valid` was checked with "
                 "RNS.Identity.validate_announce(packet, only_validate_signature=False) on a fresh "
                 "known_destinations table." % PINNED_TIME)
    out["pinned_time"] = PINNED_TIME
    out["announces"] = announces
    out["invalid"] = invalid
    return out


def announce_entry(description, raw, ident, app_name, aspects, ratchet_prv, valid):
    q = unpacked(raw)
    pub, name_hash, random_hash, ratchet, signature, app_data = split_announce(q)
    return {
        "description": description,
        "identity_private_key": h(ident.get_private_key()),
        "app_name": app_name,
        "aspects": aspects,
        "raw": h(raw),
        "header_type": q.header_type,
        "hops": q.hops,
        "transport_id": h(q.transport_id),
        "destination_hash": h(q.destination_hash),
        "public_key": h(pub),
        "name_hash": h(name_hash),
        "random_hash": h(random_hash),
        "ratchet": h(ratchet),
        "ratchet_private_key": h(ratchet_prv),
        "signature": h(signature),
        "app_data": h(app_data),
        "context": q.context,
        "context_flag": q.context_flag,
        "packet_hash": h(q.get_hash()),
        "valid": valid,
    }


# --------------------------------------------------------------------------
# 8. Proofs
# --------------------------------------------------------------------------

@contextlib.contextmanager
def captured_outbound():
    """Identity.prove() sends its proof; capture the packed proof instead."""
    sent = []
    real = Transport.__dict__["outbound"]
    Transport.outbound = staticmethod(lambda packet: sent.append(packet.raw) or True)
    try:
        yield sent
    finally:
        Transport.outbound = real


def reference_prove(signer, packet, implicit):
    RNS.Reticulum._Reticulum__use_implicit_proof = implicit
    with captured_outbound() as sent:
        signer.prove(packet)
    assert len(sent) == 1
    return sent[0]


def receipt_accepts(packet, signer, proof_data):
    """PacketReceipt.validate_proof on a receipt for `packet` held by the sender side."""
    receipt = object.__new__(RNS.PacketReceipt)
    receipt.hash = packet.get_hash()
    receipt.destination = types.SimpleNamespace(identity=Identity.from_bytes(signer.get_private_key()))
    receipt.callbacks = sys.modules["RNS.Packet"].PacketReceiptCallbacks()
    receipt.status = RNS.PacketReceipt.SENT
    return receipt.validate_proof(proof_data)


def gen_proofs(fixtures):
    plain = Destination(None, Destination.OUT, Destination.PLAIN, "kos", "vectors", "plain")
    with transport_identity(TRANSPORT_ID):
        h2 = Transport.mangle_hops(fixtures["single_data_raw"], 2, transport_insert=True)
    plan = [
        ("SINGLE DATA packet, proved by the destination's identity", IDENTITIES[0], fixtures["single_data_raw"]),
        ("same packet received in transport (HEADER_2): same hash, same proof", IDENTITIES[0], h2),
        ("GROUP DATA packet", IDENTITIES[2], fixtures["group_data_raw"]),
        ("PLAIN DATA packet, empty payload", IDENTITIES[5], pack(plain, b"")),
        ("PLAIN DATA packet, 200 bytes", IDENTITIES[6], pack(plain, det_bytes("proof plain", 200))),
    ]
    entries = []
    for description, signer, raw in plan:
        p = unpacked(raw)
        signature = signer.sign(p.packet_hash)
        explicit = p.packet_hash + signature
        explicit_raw = reference_prove(signer, unpacked(raw), implicit=False)
        implicit_raw = reference_prove(signer, unpacked(raw), implicit=True)
        pe, pi = unpacked(explicit_raw), unpacked(implicit_raw)
        assert pe.data == explicit and pi.data == signature
        assert pe.destination_hash == pi.destination_hash == p.packet_hash[:16]
        assert pe.packet_type == Packet.PROOF and pe.header_type == Packet.HEADER_1
        assert receipt_accepts(p, signer, explicit) is True and receipt_accepts(p, signer, signature) is True
        assert receipt_accepts(p, signer, flip(explicit, 70)) is False
        entries.append({
            "description": description,
            "signer_private_key": h(signer.get_private_key()),
            "signer_public_key": h(signer.get_public_key()),
            "packet_raw": h(raw),
            "packet_hash": h(p.packet_hash),
            "explicit_proof_data": h(explicit),
            "implicit_proof_data": h(signature),
            "proof_destination_hash": h(p.packet_hash[:16]),
            "explicit_proof_packet": h(explicit_raw),
            "implicit_proof_packet": h(implicit_raw),
        })
    out = header("Packet proofs. signature = Ed25519 over packet_hash by the signer; explicit proof data = "
                 "packet_hash(32) || signature(64), implicit = signature(64). explicit/implicit_proof_packet are "
                 "the PROOF packets RNS.Identity.prove() packs (captured before Transport), addressed to "
                 "packet_hash[:16]. Both forms were checked with PacketReceipt.validate_proof.")
    out["proofs"] = entries
    return out


# --------------------------------------------------------------------------
# 9. Framing
# --------------------------------------------------------------------------

class _Sink:
    def __init__(self):
        self.frames = []

    def sendall(self, data):
        self.frames.append(bytes(data))

    def write(self, data):
        self.frames.append(bytes(data))
        return len(data)


def tcp_frame(payload, kiss):
    """TCPClientInterface.process_outgoing on a stand-in object, capturing socket bytes."""
    sink = _Sink()
    fake = types.SimpleNamespace(online=True, detached=False, kiss_framing=kiss, socket=sink, txb=0,
                                 writing=False, parent_interface=None)
    RNS.Interfaces.TCPInterface.TCPClientInterface.process_outgoing(fake, payload)
    assert len(sink.frames) == 1
    return sink.frames[0]


def serial_kiss_frame(cls, payload):
    """KISSInterface / RNodeInterface process_outgoing, capturing serial bytes."""
    sink = _Sink()
    fake = types.SimpleNamespace(online=True, interface_ready=True, flow_control=False, serial=sink, txb=0,
                                 beacon_d=None, id_callsign=None, first_tx=None)
    cls.process_outgoing(fake, payload)
    assert len(sink.frames) == 1
    return sink.frames[0]


def gen_framing(fixtures):
    every = bytes(range(256))
    pattern500 = bytes(i % 256 for i in range(500))
    hdlc_payloads = [
        ("empty", b""),
        ("no special bytes", b"kos-edge"),
        ("single FLAG 0x7e", b"\x7e"),
        ("single ESC 0x7d", b"\x7d"),
        ("ESC then FLAG", b"\x7d\x7e"),
        ("FLAG then ESC", b"\x7e\x7d"),
        ("FLAG at start and end", b"\x7eabc\x7e"),
        ("ESC at start and end", b"\x7dabc\x7d"),
        ("escaped forms 0x5e and 0x5d appear literally", b"\x5e\x5d\x7d\x5e"),
        ("repeated specials", b"\x7e\x7e\x7d\x7d\x7e"),
        ("KISS special bytes are not escaped by HDLC", b"\xc0\xdb\xdc\xdd"),
        ("every byte value 0x00..0xff", every),
        ("500 bytes cycling through every value", pattern500),
        ("a real packet (SINGLE DATA)", fixtures["single_data_raw"]),
    ]
    hdlc = []
    for description, payload in hdlc_payloads:
        frame = tcp_frame(payload, kiss=False)
        assert frame[0] == 0x7E and frame[-1] == 0x7E and 0x7E not in frame[1:-1]
        assert frame == bytes([0x7E]) + RNS.Interfaces.TCPInterface.HDLC.escape(payload) + bytes([0x7E])
        hdlc.append({"description": description, "payload": h(payload), "frame": h(frame)})

    kiss_payloads = [
        ("empty", b""),
        ("no special bytes", b"kos-edge"),
        ("single FEND 0xc0", b"\xc0"),
        ("single FESC 0xdb", b"\xdb"),
        ("FESC then FEND", b"\xdb\xc0"),
        ("FEND then FESC", b"\xc0\xdb"),
        ("FEND at start and end", b"\xc0abc\xc0"),
        ("FESC at start and end", b"\xdbabc\xdb"),
        ("TFEND 0xdc and TFESC 0xdd appear literally", b"\xdc\xdd\xdb\xdc"),
        ("repeated specials", b"\xc0\xc0\xdb\xdb\xc0"),
        ("HDLC special bytes are not escaped by KISS", b"\x7e\x7d"),
        ("every byte value 0x00..0xff", every),
        ("500 bytes cycling through every value", pattern500),
        ("a real packet (SINGLE DATA)", fixtures["single_data_raw"]),
    ]
    kiss = []
    for description, payload in kiss_payloads:
        frame = tcp_frame(payload, kiss=True)
        # The three reference KISS senders must agree byte for byte.
        assert frame == serial_kiss_frame(RNS.Interfaces.KISSInterface.KISSInterface, payload)
        assert frame == serial_kiss_frame(RNS.Interfaces.RNodeInterface.RNodeInterface, payload)
        assert frame == bytes([0xC0, 0x00]) + RNS.Interfaces.KISSInterface.KISS.escape(payload) + bytes([0xC0])
        assert frame == bytes([0xC0, 0x00]) + RNS.Interfaces.RNodeInterface.KISS.escape(payload) + bytes([0xC0])
        kiss.append({"description": description, "command": 0, "payload": h(payload), "frame": h(frame)})

    out = header("Stream/serial framing. hdlc: TCPClientInterface.process_outgoing with HDLC framing "
                 "(FLAG 0x7e, ESC 0x7d, ESC_MASK 0x20; ESC escaped before FLAG). kiss: data frames "
                 "(command 0x00 = CMD_DATA) as sent by TCPClientInterface (kiss_framing), KISSInterface and "
                 "RNodeInterface, which all agree (FEND 0xc0, FESC 0xdb, TFEND 0xdc, TFESC 0xdd; FESC escaped before FEND).")
    out["hdlc"] = hdlc
    out["kiss"] = kiss
    return out


# --------------------------------------------------------------------------
# 10. IFAC
# --------------------------------------------------------------------------

class CaptureInterface(RNS.Interfaces.Interface.Interface):
    """A reference Interface subclass that records what Transport.transmit hands it."""
    AUTOCONFIGURE_MTU = False
    DEFAULT_IFAC_SIZE = 16

    def __str__(self):
        return "kos-edge vector capture interface"

    def process_outgoing(self, data):
        self.sent.append(bytes(data))


def ifac_interface(network_name, passphrase, ifac_size):
    """
    Configure IFAC with the reference's own Reticulum._add_interface, on a
    stand-in for the Reticulum instance (only ifac_salt and the shared-instance
    flag are read). Interface.__init__ needs a running instance, so it is
    bypassed and the few attributes _add_interface touches are set here.
    """
    iface = object.__new__(CaptureInterface)
    iface.sent = []
    iface.bitrate = 62500
    iface.HW_MTU = None
    owner = types.SimpleNamespace(is_connected_to_shared_instance=False, ifac_salt=RNS.Reticulum.IFAC_SALT)
    RNS.Reticulum._add_interface(owner, iface, mode=RNS.Interfaces.Interface.Interface.MODE_FULL, gravity=0,
                                 ifac_size=ifac_size, ifac_netname=network_name, ifac_netkey=passphrase)
    Transport.remove_interface(iface)
    return iface


def reference_transmit(iface, raw):
    iface.sent = []
    Transport.transmit(iface, raw)
    assert len(iface.sent) == 1
    return iface.sent[0]


def reference_inbound(iface, frame):
    """
    Run Transport.inbound's IFAC check. If the frame is accepted, inbound
    builds RNS.Packet(None, raw) from the unmasked bytes; a stand-in Packet
    class records them and stops processing there. Returns the unmasked raw,
    or None if the reference dropped the frame.
    """
    seen = []

    class Recorder:
        def __init__(self, destination, raw):
            seen.append(raw)

        def unpack(self):
            return False

    saved = (RNS.Packet, Transport.ready, Transport.identity)
    RNS.Packet, Transport.ready, Transport.identity = Recorder, True, types.SimpleNamespace(hash=TRANSPORT_ID)
    try:
        Transport.inbound(frame, iface)
    finally:
        RNS.Packet, Transport.ready, Transport.identity = saved
    return seen[0] if seen else None


def gen_ifac(fixtures):
    raws = {
        "SINGLE DATA": fixtures["single_data_raw"],
        "GROUP DATA": fixtures["group_data_raw"],
        "PLAIN DATA empty": bytes.fromhex(fixtures["packets"][0]["raw"]),
        "ANNOUNCE with ratchet": bytes.fromhex(next(p["raw"] for p in fixtures["packets"]
                                                    if p["description"].startswith("ANNOUNCE with ratchet"))),
        "PLAIN DATA MDU": bytes.fromhex(fixtures["packets"][3]["raw"]),
    }
    plan = [
        ("kos-edge", "correct horse battery staple", 8, "SINGLE DATA"),
        ("kos-edge", "correct horse battery staple", 16, "SINGLE DATA"),
        ("kos-edge", None, 16, "ANNOUNCE with ratchet"),
        (None, "only a passphrase", 8, "GROUP DATA"),
        ("ünïcödé net", "pässphräse", 16, "PLAIN DATA empty"),
        ("kos-edge", "correct horse battery staple", 1, "PLAIN DATA empty"),
        ("kos-edge", "correct horse battery staple", 32, "GROUP DATA"),
        ("kos-edge", "correct horse battery staple", 64, "SINGLE DATA"),
        ("lora-mesh", "secret", 8, "PLAIN DATA MDU"),
    ]
    entries = []
    ifaces = {}
    for network_name, passphrase, size, raw_name in plan:
        iface = ifac_interface(network_name, passphrase, size)
        ifaces[(network_name, passphrase, size)] = iface
        raw = raws[raw_name]
        masked = reference_transmit(iface, raw)
        assert len(masked) == len(raw) + size and masked[0] & 0x80
        assert reference_inbound(iface, masked) == raw
        entries.append({
            "description": f"{raw_name}, {size}-byte IFAC",
            "network_name": network_name,
            "passphrase": passphrase,
            "ifac_size": size,
            "ifac_key": h(iface.ifac_key),
            "ifac": h(masked[2:2 + size]),
            "raw": h(raw),
            "masked": h(masked),
        })

    invalid = []

    def bad(description, key, frame):
        network_name, passphrase, size = key
        iface = ifaces.get(key) or ifac_interface(network_name, passphrase, size)
        assert reference_inbound(iface, frame) is None, description
        invalid.append({"description": description, "network_name": network_name, "passphrase": passphrase,
                        "ifac_size": size, "masked": h(frame)})

    k16 = ("kos-edge", "correct horse battery staple", 16)
    k8 = ("kos-edge", "correct horse battery staple", 8)
    good16 = bytes.fromhex(entries[1]["masked"])
    good8 = bytes.fromhex(entries[0]["masked"])
    bad("flipped bit in first IFAC byte", k16, flip(good16, 2))
    bad("flipped bit in last IFAC byte", k16, flip(good16, 2 + 15))
    bad("flipped bit in masked payload", k16, flip(good16, 40))
    bad("flipped bit in masked hops byte", k16, flip(good16, 1))
    bad("IFAC flag (bit 7) cleared", k16, bytes([good16[0] & 0x7F]) + good16[1:])
    bad("unmasked packet without IFAC on an IFAC interface", k16, fixtures["single_data_raw"])
    bad("frame made with the 8-byte IFAC size, received with 16", k16, good8)
    bad("frame made with a different passphrase", ("kos-edge", "wrong passphrase", 16), good16)
    bad("frame made with a different network name", ("kos-edgy", "correct horse battery staple", 16), good16)
    bad("frame truncated to header and IFAC only", k8, good8[:2 + 8])
    bad("frame truncated by one byte", k8, good8[:-1])

    out = header("Interface access codes. ifac_key = HKDF(64, SHA-256(SHA-256(network_name) || SHA-256(passphrase)), "
                 "salt=IFAC_SALT) with absent parts omitted, as configured by Reticulum._add_interface; masked = "
                 "what Transport.transmit passes to process_outgoing. ifac = last ifac_size bytes of the Ed25519 "
                 "signature of raw by the identity whose private key is ifac_key. Every masked frame was fed back "
                 "through Transport.inbound and unmasked to raw; `invalid` frames are dropped by it.")
    out["ifac_salt"] = h(RNS.Reticulum.IFAC_SALT)
    out["ifac"] = entries
    out["invalid"] = invalid
    return out


# --------------------------------------------------------------------------

def main():
    fixtures = {}
    files = {}
    files["rns-1.4.2-identities.json"] = gen_identities()
    files["rns-1.4.2-signatures.json"] = gen_signatures()
    files["rns-1.4.2-hkdf.json"] = gen_hkdf()
    tokens, reused = gen_tokens()
    files["rns-1.4.2-tokens.json"] = tokens
    files["rns-1.4.2-destinations.json"] = gen_destinations()
    packets = gen_packets(fixtures)
    fixtures["packets"] = packets["packets"]
    files["rns-1.4.2-packets.json"] = packets
    files["rns-1.4.2-announces.json"] = gen_announces()
    files["rns-1.4.2-proofs.json"] = gen_proofs(fixtures)
    files["rns-1.4.2-framing.json"] = gen_framing(fixtures)
    files["rns-1.4.2-ifac.json"] = gen_ifac(fixtures)

    # Let ratchet persistence threads started by the reference finish
    # before the scratch directory goes away.
    for t in threading.enumerate():
        if t is not threading.current_thread() and t.daemon:
            t.join(timeout=5)

    for name, obj in files.items():
        write_json(name, obj)
        counts = ", ".join(f"{k}={len(v)}" for k, v in obj.items() if isinstance(v, list) and k != "aspects")
        print(f"wrote {name}: {counts}")
    print("reference_random tokens: " + ("kept from the existing file" if reused else "newly generated"))
    shutil.rmtree(SCRATCH, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
