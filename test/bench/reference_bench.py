#!/usr/bin/env python3
# Times the reference implementation (RNS 1.4.2) on the inputs kos-edge's benchmark wrote, with the same
# method: time-bounded rounds, the median rate. Usage: reference_bench.py INPUT.json > OUTPUT.json
# RNS is imported from $KOS_RNS_PATH when set (a checkout of the reference), else from the Python path.
import json, os, sys, time, statistics

if os.environ.get("KOS_RNS_PATH"):
    sys.path.insert(0, os.environ["KOS_RNS_PATH"])
import RNS
from RNS.Cryptography import Token

def measure(fn, rounds=3, round_s=0.7, batch=64):
    for i in range(batch * 4):
        fn(i)
    rates = []
    k = 0
    for _ in range(rounds):
        n = 0
        start = time.perf_counter()
        elapsed = 0.0
        while elapsed < round_s:
            for _ in range(batch):
                fn(k)
                k += 1
            n += batch
            elapsed = time.perf_counter() - start
        rates.append(n / elapsed)
    return statistics.median(rates)

def main():
    data = json.load(open(sys.argv[1]))
    h = bytes.fromhex
    packets = [h(x) for x in data["packets"]]
    announces = [h(x) for x in data["announces"]]
    cold = [h(x) for x in data["announcesCold"]]
    signer = RNS.Identity.from_bytes(h(data["signerPrivateKey"]))
    verifier = RNS.Identity(create_keys=False)
    verifier.load_public_key(signer.get_public_key())
    message = h(data["message"])
    signature = h(data["signature"])
    token = Token(h(data["tokenKey"]))
    plaintext = h(data["plaintext"])
    token_bytes = h(data["token"])
    recipient = RNS.Identity.from_bytes(h(data["recipientPrivateKey"]))
    recipient_pub = RNS.Identity(create_keys=False)
    recipient_pub.load_public_key(recipient.get_public_key())
    identity_token = h(data["identityToken"])

    def unpack(i):
        p = RNS.Packet(None, packets[i % len(packets)])
        assert p.unpack()

    def announce(raws):
        def run(i):
            p = RNS.Packet(None, raws[i % len(raws)])
            assert p.unpack()
            assert RNS.Identity.validate_announce(p)
        return run

    def verify(i):
        assert verifier.validate(signature, message)

    def token_decrypt(i):
        assert token.decrypt(token_bytes) == plaintext

    def identity_decrypt(i):
        assert recipient.decrypt(identity_token) == plaintext

    out = {
        "backend": RNS.Cryptography.Provider.backend(),
        "version": RNS.__version__ if hasattr(RNS, "__version__") else None,
        "packet decode + hash": measure(unpack),
        "announce validation (repeat senders)": measure(announce(announces)),
        "announce validation (new senders)": measure(announce(cold), batch=16),
        "Ed25519 sign (64 B)": measure(lambda i: signer.sign(message)),
        "Ed25519 verify (64 B)": measure(verify),
        "token encrypt (100 B)": measure(lambda i: token.encrypt(plaintext)),
        "token decrypt (100 B)": measure(token_decrypt),
        "identity encrypt (100 B)": measure(lambda i: recipient_pub.encrypt(plaintext)),
        "identity decrypt (100 B)": measure(identity_decrypt),
    }
    json.dump(out, sys.stdout)

if __name__ == "__main__":
    main()
