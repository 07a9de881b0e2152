#!/usr/bin/env bash
# Live check: a reference Reticulum (rnsd with an RNodeInterface) and kosd (with an rnode interface), each on
# one pseudo-terminal of our RNode emulator (hil/rnode), both radios on one emulated medium. Shows announces
# seen both ways, probes both ways, Links both ways (rncp to `kosctl cp --listen`, an rncp fetch from it,
# `kosctl cp` to `rncp --listen`), and kosd's radio unplugged in the middle of a transfer to the reference.
# Not part of `npm test`: it needs the reference (see test/README.md, "Live checks").
#
#   npm run build                     # .build/ and dist/
#   KOS_RNS_PATH=/path/to/Reticulum PYTHON=/usr/bin/python3 test/interop/rnode_live_check.sh
#
# PYTHON must have pyserial (the reference's RNodeInterface needs it) and cryptography. Needs socat.
# Everything lives in a fresh temporary directory; nothing touches ~/.reticulum. Exit status: the number of
# failed checks (0 when all passed). KEEP=1 keeps the directory and prints it.
set -u
KOS=$(cd "$(dirname "$0")/../.." && pwd)
PY=${PYTHON:-python3}
: "${KOS_RNS_PATH:?set KOS_RNS_PATH to a checkout of Reticulum 1.4.2}"
command -v socat >/dev/null || { echo "socat is needed (Debian package socat)"; exit 100; }
"$PY" -c 'import serial' 2>/dev/null || { echo "$PY has no pyserial: set PYTHON to a Python that has it"; exit 100; }
[ -f "$KOS/dist/kosd.cjs" ] && [ -f "$KOS/.build/hil/rnode/cli.js" ] || { echo "run npm run build first"; exit 100; }

W=$(mktemp -d /tmp/kos-rnode-live.XXXXXX)
export HOME=$W/home PYTHONPATH=$KOS_RNS_PATH
mkdir -p "$HOME" "$W/pty" "$W/ref" "$W/kos" "$W/recvK" "$W/recvR" "$W/fetchR"
PIDS=()
cleanup() {
  exec 3>&- 2>/dev/null
  # Newest first: the emulator goes last, so no reference process logs its port vanishing.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[$i]}" 2>/dev/null; done
  sleep 1
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT

R() { local t=$1; shift; "$PY" -m "RNS.Utilities.$t" "$@"; }
K() { node "$KOS/dist/kosctl.cjs" "$@" --socket "$W/kos/kosd.sock"; }
FAILED=0
ok() { echo "PASS $*"; }
bad() { echo "FAIL $*"; FAILED=$((FAILED + 1)); }
# wait_for SECONDS COMMAND...: runs COMMAND once a second until it succeeds or SECONDS pass.
wait_for() { local n=$1; shift; for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done; return 1; }

# Settings both sides use: EU 868 sub-band g3 (869.4-869.65 MHz, 10 % duty cycle), 125 kHz, SF7, CR 4/5.
RADIO="frequency = 869525000
    bandwidth = 125000
    txpower = 14
    spreadingfactor = 7
    codingrate = 5"

# Two emulated RNodes (T-Beam Supreme, firmware 1.86) on one medium; its stdin takes unplug/plug commands.
mkfifo "$W/emu.in"
node "$KOS/.build/hil/rnode/cli.js" --radios 2 --dir "$W/pty" < "$W/emu.in" > "$W/emu.log" 2>&1 &
PIDS+=($!)
exec 3> "$W/emu.in"
wait_for 10 test -e "$W/pty/rnode1" || { echo "emulator did not start"; cat "$W/emu.log"; exit 100; }

cat > "$W/ref/config" <<END
[reticulum]
  enable_transport = Yes
  share_instance = Yes
  instance_name = kosrnodelive-${W##*.}
  respond_to_probes = Yes
[logging]
  loglevel = 5
[interfaces]
  [[RNode]]
    type = RNodeInterface
    enabled = yes
    port = $W/pty/rnode0
    $RADIO
END
cat > "$W/kos/kosd.conf" <<END
[kosd]
  data_dir = $W/kos
  control_socket = $W/kos/kosd.sock
  respond_to_probes = yes
[interfaces]
  [[LoRa]]
    type = RNodeInterface
    enabled = yes
    port = $W/pty/rnode1
    $RADIO
    board = lilygo-tbeam-supreme
    region = eu868
END

"$PY" -m RNS.Utilities.rnsd --config "$W/ref" -v > "$W/ref.log" 2>&1 &   # not through R: $! must be rnsd itself
PIDS+=($!)
node "$KOS/dist/kosd.cjs" --config "$W/kos/kosd.conf" --log-level debug > "$W/kos.log" 2>&1 &
KOSD=$!
PIDS+=($KOSD)

if wait_for 30 grep -q "is configured and powered up" "$W/ref.log"; then
  ok "reference RNodeInterface configured on the emulator: $(grep -o 'Radio reporting frequency is.*' "$W/ref.log" | head -1)"
else bad "reference RNodeInterface did not come up"; fi
wait_for 30 grep -q "Started rnsd" "$W/ref.log"
grep -q "another shared local instance" "$W/ref.log" && bad "rnsd joined another instance named like this one"
if wait_for 20 sh -c "node '$KOS/dist/kosctl.cjs' status --socket '$W/kos/kosd.sock' | grep -q 'Status  : Up'"; then
  ok "kosd radio up: $(K status | grep 'Radio   :' | sed 's/^ *//')"
else bad "kosd radio did not come up"; fi

P=$(node "$KOS/dist/kosctl.cjs" id hash rnstransport.probe --identity "$W/kos/identity" | awk '/destination hash/ {print $3}')
AP=$(grep -o 'probe requests on <[^>]*>' "$W/ref.log" | grep -o '[0-9a-f]\{32\}>' | tr -d '>')

# 1. kosd's announce reaches the reference (kosd announced at start-up while the reference's radio may still
#    have been off, so announce again).
K announce > /dev/null
if wait_for 30 sh -c "'$PY' -m RNS.Utilities.rnpath --config '$W/ref' -t | grep -q '<$P> is 1 hop.*RNodeInterface\[RNode\]'"; then
  ok "reference heard kosd's announce: $(R rnpath --config "$W/ref" -t | grep "<$P>")"
else bad "reference has no path to kosd's probe destination $P"; fi

# 2. The reference's announce reaches kosd: an rncp listener announces when it starts.
(cd "$W/recvR" && exec "$PY" -m RNS.Utilities.rncp --config "$W/ref" --listen -n -s "$W/recvR" -b 0 > "$W/rncpR.log" 2>&1) &
PIDS+=($!)
A=$(R rncp --config "$W/ref" -p | awk '/Listening/ {print $4}' | tr -d '<>')
if wait_for 30 sh -c "node '$KOS/dist/kosctl.cjs' path --table --socket '$W/kos/kosd.sock' | grep -q '<$A> is 1 hop'"; then
  ok "kosd heard the reference's rncp announce: $(K path --table | grep "<$A>")"
else bad "kosd has no path to the reference's rncp listener $A"; fi

# 3. Probes both ways.
out=$(K probe "$AP" --count 3 --timeout 15 2>&1)
if echo "$out" | grep -q "received 3"; then ok "kosctl probe of the reference: $(echo "$out" | tail -1); $(echo "$out" | grep -m1 'Round-trip')"
else bad "kosctl probe of the reference: $out"; fi
out=$(R rnprobe --config "$W/ref" -n 3 -w 15 rnstransport.probe "$P" 2>&1 | tr '\r' '\n')
if echo "$out" | grep -q "received 3"; then ok "rnprobe of kosd: $(echo "$out" | grep 'Sent 3'); $(echo "$out" | grep -m1 'Round-trip')"
else bad "rnprobe of kosd: $(echo "$out" | tail -3)"; fi

# 4. A Link from the reference to kosd: rncp sends to `kosctl cp --listen`, then fetches from it.
head -c 5000 /dev/urandom > "$W/f5k.bin"
node "$KOS/dist/kosctl.cjs" cp --listen --no-auth --allow-fetch --save "$W/recvK" --socket "$W/kos/kosd.sock" > "$W/kcp.log" 2>&1 &
PIDS+=($!)
wait_for 10 grep -q "listening on" "$W/kcp.log"
D=$(grep -o 'listening on <[0-9a-f]*>' "$W/kcp.log" | grep -o '[0-9a-f]\{32\}')
t0=$(date +%s)
out=$(timeout 240 "$PY" -m RNS.Utilities.rncp --config "$W/ref" -S "$W/f5k.bin" "$D" 2>&1 | tr '\r' '\n')
if cmp -s "$W/f5k.bin" "$W/recvK/f5k.bin"; then ok "rncp -> kosctl cp --listen over a Link, 5000 B identical in $(( $(date +%s) - t0 )) s: $(grep received "$W/kcp.log" | head -1)"
else bad "rncp -> kosctl cp --listen: $(echo "$out" | grep -v '^\s*$' | tail -2)"; fi
t0=$(date +%s)
out=$(cd "$W/fetchR" && timeout 240 "$PY" -m RNS.Utilities.rncp --config "$W/ref" -S -f "$W/f5k.bin" "$D" -s "$W/fetchR" 2>&1 | tr '\r' '\n')
if cmp -s "$W/f5k.bin" "$W/fetchR/f5k.bin"; then ok "rncp -f from kosctl cp --listen --allow-fetch, 5000 B identical in $(( $(date +%s) - t0 )) s"
else bad "rncp -f from kosd: $(echo "$out" | grep -v '^\s*$' | tail -2)"; fi

# 5. A Link from kosd to the reference: kosctl cp to rncp --listen.
out=$(K cp "$W/f5k.bin" "$A" --timeout 240 2>&1)
if cmp -s "$W/f5k.bin" "$W/recvR/f5k.bin"; then ok "kosctl cp -> rncp --listen over a Link: $out"
else bad "kosctl cp -> rncp --listen: $out"; fi

# 6. kosd's radio unplugged for 6 s in the middle of a 12 KB transfer to the reference. kosd must stay up,
#    bring the radio back configured, and the file must arrive (kosctl cp is run again if the first try
#    fails, as hil/rig's runner does).
head -c 12000 /dev/urandom > "$W/f12k.bin"
n0=$(wc -l < "$W/emu.log")
parts_sent() { [ "$(tail -n +$((n0 + 1)) "$W/emu.log" | grep -c 'rnode1 sent 4[0-9][0-9] B')" -ge "$1" ]; }
node "$KOS/dist/kosctl.cjs" cp "$W/f12k.bin" "$A" --timeout 120 --socket "$W/kos/kosd.sock" > "$W/cp12.log" 2>&1 &
CP=$!
# Unplug once kosd's radio has put 3 full resource parts (about 490 bytes on air each) on the air.
wait_for 60 parts_sent 3 || bad "no resource part on air within 60 s"
echo "unplug 1" >&3; t_unplug=$(date +%s); echo "    unplugged kosd's radio after $(tail -n +$((n0 + 1)) "$W/emu.log" | grep -c 'rnode1 sent 4[0-9][0-9] B') parts"
sleep 6; echo "plug 1" >&3
if wait_for 90 sh -c "node '$KOS/dist/kosctl.cjs' status --socket '$W/kos/kosd.sock' | grep -q 'Status  : Up'"; then
  ok "kosd radio back up $(( $(date +%s) - t_unplug - 6 )) s after replug"
else bad "kosd radio not back after replug"; fi
wait "$CP"; first=$?
tries=1
while ! cmp -s "$W/f12k.bin" "$W/recvR/f12k.bin" && [ $tries -lt 3 ]; do
  K cp "$W/f12k.bin" "$A" --timeout 120 >> "$W/cp12.log" 2>&1; tries=$((tries + 1))
done
if cmp -s "$W/f12k.bin" "$W/recvR/f12k.bin" && kill -0 "$KOSD" 2>/dev/null; then
  ok "12000 B identical after an unplug mid-transfer (first kosctl cp exit $first, $tries tries); kosd pid $KOSD still running"
else bad "transfer across the unplug: $(cat "$W/cp12.log")"; fi
grep -E 'interface state' "$W/kos.log" | sed 's/^/    kosd: /' | tail -4

echo "--- kosd radio after the run"
K status | sed -n '/RNodeInterface/,/Temp/p'
echo "--- $FAILED failed"
exit "$FAILED"
