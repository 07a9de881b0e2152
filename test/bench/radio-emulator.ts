// Child process of the radio benchmark (radio.bench.ts): one emulated RNode on a PTY, so that the parent's
// CPU time is the driver's alone. Started with the PTY path as its argument; says {ready} once the PTY exists.
// Messages from the parent: {burst: n, size: bytes} writes n received packets (RSSI, SNR and data frames, as
// the firmware sends them) to the host at once; {quit: true} closes the emulator and exits.
import { seededRandom } from "../../runtime/core/ports.js";
import { concat } from "../../runtime/core/bytes.js";
import { kissEncode, KISS_CMD } from "../../runtime/wire/kiss.js";
import { Medium } from "../../hil/medium/medium.js";
import { RealtimeAir } from "../../hil/rnode/air.js";
import { RNodeEmulator } from "../../hil/rnode/emulator.js";

const ptyPath = process.argv[2];
if (ptyPath === undefined || process.send === undefined) {
  process.stderr.write("usage: radio-emulator.js PTY_PATH (as a forked child)\n");
  process.exit(2);
}
const air = new RealtimeAir(new Medium({ seed: 1 }));
const emu = new RNodeEmulator({ air, ptyPath, bootMs: 0 });
const bursts = new Map<number, Uint8Array>();

function burst(n: number, size: number): Uint8Array {
  const key = n * 100_000 + size;
  let b = bursts.get(key);
  if (b === undefined) {
    const rng = seededRandom(size);
    const frames: Uint8Array[] = [];
    for (let i = 0; i < n; i++) {
      frames.push(kissEncode(KISS_CMD.CMD_STAT_RSSI, Uint8Array.of(157 - 96)), kissEncode(KISS_CMD.CMD_STAT_SNR, Uint8Array.of(40)), kissEncode(KISS_CMD.CMD_DATA, rng.bytes(size)));
    }
    b = concat(...frames);
    bursts.set(key, b);
  }
  return b;
}

process.on("message", (m: { burst?: number; size?: number; quit?: boolean }) => {
  if (m.quit === true) {
    void emu.close().then(() => {
      air.close();
      process.exit(0);
    });
    return;
  }
  if (m.burst !== undefined && m.size !== undefined) emu.injectSerial(burst(m.burst, m.size));
});

emu.plug().then(
  () => process.send!({ ready: true }),
  (e: Error) => {
    process.stderr.write(`radio-emulator: ${e.message}\n`);
    process.exit(1);
  },
);
