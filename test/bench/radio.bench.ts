// Radio benchmarks: what LoRa does with Reticulum's packet sizes per modem preset, how fast the RNode driver
// brings a replugged radio back, and the CPU it spends per received frame.
//
// 1. Airtime efficiency, per modem preset (boards/modem) and packet: an announce (167 B: header 19, public key
//    64, name hash 10, random hash 10, signature 64; no ratchet, no app data), a link packet with 100 B of data
//    (179 B: header 19, Token = IV 16 + 112 B of padded ciphertext + HMAC 32) and a full 500-byte packet
//    (Reticulum's MTU; the firmware sends it as two LoRa frames). Time on air as an RNode with an SX126x puts
//    it on air (runtime/radio/airtime.ts: the firmware's preamble, one header byte per LoRa frame, explicit
//    header, CRC). "Bytes on air" = airtime x the raw LoRa bit rate (SF x BW / 2^SF: symbol rate times bits
//    per symbol, before the coding rate) / 8, so the efficiency is packet bytes / bytes on air: the share of
//    the channel's raw capacity that carries the packet (coding rate, preamble, LoRa header, CRC, the RNode
//    header byte and symbol padding are the rest). The note gives the airtime and the goodput (packet bits
//    per second of airtime).
// 2. Replug to up: an emulated radio (hil/rnode on a PTY) is unplugged, then plugged in again; the time from
//    plug-in (the PTY exists and the radio has power) to the real RNodeDriver (default options, as kosd runs it) reporting "up":
//    noticing the device (the driver polls its path every 250 ms), opening it, detection and configuration
//    read back. Median of several replugs, with the T-Beam Supreme's 600 ms boot and with no boot time (the
//    host side alone).
// 3. CPU per received frame: the emulator runs in a child process and writes bursts of received packets
//    (RSSI, SNR and data frames, as the firmware sends them) to the PTY; this process runs only the driver
//    (serialport read, KISS decode, events, delivery with FrameMeta). process.cpuUsage over the run / frames.
import { fork, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { builtinCatalog } from "../../boards/index.js";
import { rnodePacketAirtimeMs } from "../../runtime/radio/airtime.js";
import { RNodeDriver } from "../../drivers/rnode/driver.js";
import { Medium } from "../../hil/medium/medium.js";
import { RealtimeAir } from "../../hil/rnode/air.js";
import { RNodeEmulator } from "../../hil/rnode/emulator.js";
import { median, type Figure } from "./measure.js";

const PACKETS = [
  { label: "announce 167 B", bytes: 167 },
  { label: "link 100 B data (179 B)", bytes: 179 },
  { label: "full 500 B", bytes: 500 },
] as const;

const SETTINGS = { frequencyHz: 869_525_000, bandwidthHz: 125_000, txPowerDbm: 14, spreadingFactor: 7, codingRate: 5 };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

export function airtimeFigures(): Figure[] {
  const out: Figure[] = [];
  for (const p of builtinCatalog().list("modem")) {
    const m = { spreadingFactor: p.spreadingFactor, bandwidthHz: p.bandwidthHz, codingRate: p.codingRate };
    const rawBps = (p.spreadingFactor * p.bandwidthHz) / 2 ** p.spreadingFactor;
    for (const pk of PACKETS) {
      const airMs = rnodePacketAirtimeMs(pk.bytes, m, "sx126x");
      const onAirBytes = (airMs / 1000) * rawBps / 8;
      out.push({
        name: `air efficiency ${p.id}, ${pk.label}`,
        value: (100 * pk.bytes) / onAirBytes,
        unit: "%",
        higherIsBetter: true,
        note: `SF${p.spreadingFactor}/${p.bandwidthHz / 1000} kHz/4:${p.codingRate}: ${airMs.toFixed(1)} ms on air, ${Math.round((pk.bytes * 8) / (airMs / 1000))} bit/s goodput`,
      });
    }
  }
  return out;
}

async function replugFigure(bootMs: number | undefined, rounds: number): Promise<Figure> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kos-bench-radio-"));
  const air = new RealtimeAir(new Medium({ seed: 3 }));
  const emu = new RNodeEmulator({ air, ptyPath: path.join(dir, "tty"), ...(bootMs !== undefined ? { bootMs } : {}) });
  const driver = new RNodeDriver({ port: emu.ptyPath, ...SETTINGS });
  const times: number[] = [];
  const configure: number[] = [];
  let connectingAt = 0;
  driver.on("state", (st) => {
    if (st === "connecting") connectingAt = performance.now();
    if (st === "up") configure.push(performance.now() - connectingAt);
  });
  try {
    await emu.plug();
    driver.start();
    await until(() => driver.state === "up", 15_000, "the radio up");
    configure.length = 0;
    for (let i = 0; i < rounds; i++) {
      await emu.unplug();
      await until(() => driver.state !== "up", 5000, "the driver to see the unplug");
      // Spread the plug-in moments over the driver's 250 ms polling period, as real replugs fall.
      await sleep(300 + Math.round((250 * i) / rounds));
      await emu.plug(); // resolves when the PTY exists and the radio is powered: the device is "in"
      const t0 = performance.now();
      await until(() => driver.state === "up", 15_000, "the radio up again");
      times.push(performance.now() - t0);
    }
  } finally {
    await driver.stop();
    await emu.close();
    air.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const boot = bootMs ?? 600;
  return {
    name: `replug to interface up (${boot} ms radio boot)`,
    value: median(times),
    unit: "ms",
    higherIsBetter: false,
    note: `median of ${rounds}, min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)}; open + detect + configure ${median(configure).toFixed(0)} ms of it, the rest is noticing the device (path polled every 250 ms)`,
  };
}

async function cpuFigures(sizes: number[], frames: number): Promise<Figure[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kos-bench-radio-"));
  const pty = path.join(dir, "tty");
  const child = fork(fileURLToPath(new URL("./radio-emulator.js", import.meta.url)), [pty], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const driver = new RNodeDriver({ port: pty, ...SETTINGS });
  const out: Figure[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      child.once("exit", (code) => reject(new Error(`emulator child exited (${code})`)));
    });
    // No polling while measuring: the frame listener asks for the next burst and ends the run.
    let received = 0;
    let asked = 0;
    let target = 0;
    let size = 0;
    let done: (() => void) | null = null;
    const burst = 100;
    const ask = (): void => {
      asked += burst;
      child.send({ burst, size });
    };
    driver.on("frame", (_f, meta) => {
      if (meta?.rssiDbm === undefined) return;
      received++;
      if (received % burst === 0 && asked < target) ask();
      if (received >= target && done !== null) {
        const d = done;
        done = null;
        d();
      }
    });
    driver.start();
    await until(() => driver.state === "up", 15_000, "the radio up");
    for (const s of sizes) {
      size = s;
      // A warm-up run, then the measured one; two bursts in flight.
      for (const n of [frames / 10, frames]) {
        received = 0;
        asked = 0;
        target = n;
        const finished = new Promise<void>((r) => (done = r));
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        ask();
        ask();
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([finished, new Promise<never>((_, j) => (timer = setTimeout(() => j(new Error(`only ${received} of ${n} frames arrived: ${JSON.stringify(driver.counters.drops)}`)), 120_000)))]);
        clearTimeout(timer);
        const cpu = process.cpuUsage(cpu0);
        const wall = performance.now() - t0;
        if (n === frames) {
          out.push({
            name: `driver CPU per received ${s} B frame (PTY)`,
            value: (cpu.user + cpu.system) / n,
            unit: "µs",
            higherIsBetter: false,
            note: `${n} frames, ${Math.round((n * 1000) / wall)} frames/s, ${((n * s * 8) / (wall / 1000) / 1e6).toFixed(1)} Mbit/s through the PTY`,
          });
        }
        await until(() => received >= asked, 5000, "the last burst");
      }
    }
    if (Object.keys(driver.counters.drops).length > 0) out.push({ name: "driver drops during the CPU run", value: Object.values(driver.counters.drops).reduce((a, b) => a + b, 0), unit: "frames", note: JSON.stringify(driver.counters.drops) });
  } finally {
    await driver.stop();
    child.send({ quit: true });
    await new Promise<void>((r) => (child.exitCode !== null ? r() : child.once("exit", () => r())));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

export async function benchRadio(): Promise<Figure[]> {
  const figures = airtimeFigures();
  if (spawnSync("socat", ["-V"], { stdio: "ignore" }).status !== 0) {
    figures.push({ name: "replug / driver CPU", value: NaN, note: "not run: socat is not installed" });
    return figures;
  }
  figures.push(await replugFigure(undefined, 7));
  figures.push(await replugFigure(0, 7));
  figures.push(...(await cpuFigures([180, 500], 20_000)));
  return figures;
}

// Run directly: node .build/test/bench/radio.bench.js
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  benchRadio().then(
    (fs_) => {
      for (const f of fs_) process.stdout.write(`${f.name.padEnd(80)} ${(f.value ?? NaN).toFixed(f.unit === "%" ? 1 : 2).padStart(10)} ${f.unit ?? ""}${f.note ? `  (${f.note})` : ""}\n`);
    },
    (e: unknown) => {
      process.stderr.write(`radio bench failed: ${(e as Error).stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
