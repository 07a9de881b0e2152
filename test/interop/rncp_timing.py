#!/usr/bin/env python3
# Runs the reference's rncp with two timing probes, to see its request race live (test/README.md, section 4):
# RNS 1.4.2's Link.request sends the request packet before it registers the request as pending, and a response
# that arrives in between finds nothing to answer and is dropped (rncp -f then waits forever). Prints, per
# request, when it was registered and when each response arrived (milliseconds after Link.request was called),
# and whether a pending request matched. Arguments are rncp's.
# Usage: PYTHONPATH=/path/to/Reticulum HOME=$(mktemp -d) python3 test/interop/rncp_timing.py --config DIR -f FILE DEST
import sys, time

import RNS
from RNS.Utilities import rncp

started = {"t": None}
request = RNS.Link.request
handle_response = RNS.Link.handle_response


def timed_request(self, *args, **kwargs):
    started["t"] = time.time()
    receipt = request(self, *args, **kwargs)
    print(f"TIMING request registered {1000 * (time.time() - started['t']):.2f} ms after Link.request", flush=True)
    return receipt


def timed_response(self, request_id, *args, **kwargs):
    pending = any(p.request_id == request_id for p in self.pending_requests)
    since = 1000 * (time.time() - started["t"]) if started["t"] is not None else float("nan")
    print(f"TIMING response arrived {since:.2f} ms after Link.request, pending request found: {pending}", flush=True)
    return handle_response(self, request_id, *args, **kwargs)


RNS.Link.request = timed_request
RNS.Link.handle_response = timed_response
sys.argv = ["rncp"] + sys.argv[1:]
rncp.main()
