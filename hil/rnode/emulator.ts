// An emulated RNode on a pseudo-terminal: the firmware model (firmware.ts) behind a PTY that a host opens
// like a USB serial port, its radio on a shared RealtimeAir.
//
// How it works: Node cannot allocate PTYs without a native addon, so each radio listens on a Unix socket and
// runs `socat PTY,link=<ptyPath>,rawer,echo=0 UNIX-CONNECT:<socket>`; socat creates the PTY, links it at
// ptyPath and shuttles bytes. plug() starts socat and powers the radio on (the boot ROM's text, if the board
// has one, then the firmware's reset frame after bootMs); unplug() kills socat, so the PTY and its link
// disappear and a host holding it open sees a hangup, and the radio loses power; plug() again gives a new PTY
// at the same path. reset() restarts the firmware (CMD_RESET does the same) without touching the line.
// The emulator runs on the real clock: one timer armed at the firmware's next deadline.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import * as path from "node:path";
import { seededRandom } from "../../runtime/core/ports.js";
import type { RealtimeAir } from "./air.js";
import { emulatedBoard, type EmulatedBoard, type EmulatedBoardName } from "./boards.js";
import { RNodeFirmware, type FirmwareIo } from "./firmware.js";

export interface RNodeEmulatorOptions {
  air: RealtimeAir;
  /** Where the PTY appears (a symlink to /dev/pts/N). */
  ptyPath: string;
  /** Name on the air; default: the PTY path's base name. */
  radioId?: string;
  board?: EmulatedBoardName | EmulatedBoard;
  firmwareVersion?: readonly [number, number];
  /** Overrides the board's boot time. */
  bootMs?: number;
  /** Unix socket socat connects to; default `<ptyPath>.sock`. */
  socketPath?: string;
  socatPath?: string;
  /** Seed for the firmware's random numbers (split header sequence, CSMA window). */
  seed?: number;
  battery?: { state: number; percent: number };
  temperatureC?: number;
}

/** Bytes kept for a host that does not read before the emulator drops output, like a USB-UART bridge. */
const MAX_PENDING_OUTPUT_BYTES = 256 * 1024;
const SOCAT_START_TIMEOUT_MS = 5_000;

export class RNodeEmulator {
  readonly firmware: RNodeFirmware;
  readonly radioId: string;
  readonly ptyPath: string;
  readonly socketPath: string;
  /** Bytes sent to and received from the host, and output dropped while nobody read it. */
  readonly counters = { toHost: 0, fromHost: 0, droppedToHost: 0 };
  private readonly air: RealtimeAir;
  private readonly socatPath: string;
  private server: Server | null = null;
  private socat: ChildProcess | null = null;
  private line: Socket | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(options: RNodeEmulatorOptions) {
    this.air = options.air;
    this.ptyPath = path.resolve(options.ptyPath);
    this.radioId = options.radioId ?? path.basename(this.ptyPath);
    this.socketPath = options.socketPath ?? `${this.ptyPath}.sock`;
    this.socatPath = options.socatPath ?? "socat";
    const board = { ...emulatedBoard(options.board ?? "tbeam-supreme") };
    if (options.bootMs !== undefined) board.bootMs = options.bootMs;
    const io: FirmwareIo = {
      serialOut: (bytes) => this.toHost(bytes),
      tune: (settings) => this.air.tune(this.radioId, settings),
      transmit: (bytes, raw) => this.air.transmit(this.radioId, bytes, raw).endMs,
      inAirUntil: (nowMs) => this.air.medium.inAirUntil(this.radioId, nowMs),
      busyIntervals: (fromMs, toMs) => this.air.medium.busyIntervals(this.radioId, fromMs, toMs),
      currentRssiDbm: (nowMs) => this.air.medium.currentRssiDbm(this.radioId, nowMs),
      noiseFloorDbm: (bw) => this.air.medium.noiseFloorDbm(bw),
    };
    this.firmware = new RNodeFirmware(board, io, {
      random: seededRandom(options.seed ?? hashSeed(this.radioId)),
      ...(options.firmwareVersion !== undefined ? { version: options.firmwareVersion } : {}),
      ...(options.battery !== undefined ? { battery: options.battery } : {}),
      ...(options.temperatureC !== undefined ? { temperatureC: options.temperatureC } : {}),
    });
    this.air.join(this.radioId, (t, o) => {
      if (!o.received) return;
      this.firmware.onReceive(t.bytes, t.raw, o.rssiDbm, o.snrDb, t.id);
      this.run();
    });
  }

  get plugged(): boolean {
    return this.socat !== null;
  }

  /** Starts the PTY and powers the radio on; resolves once the PTY exists at ptyPath. */
  async plug(): Promise<void> {
    if (this.closed) throw new Error(`emulator ${this.radioId} is closed`);
    if (this.socat !== null) return;
    await this.listen();
    removeStaleLink(this.ptyPath);
    const socat = spawn(this.socatPath, [`PTY,link=${this.ptyPath},rawer,echo=0`, `UNIX-CONNECT:${this.socketPath}`], { stdio: ["ignore", "ignore", "pipe"] });
    this.socat = socat;
    let stderr = "";
    socat.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const connected = new Promise<Socket>((resolve, reject) => {
      const timeout = setTimeout(() => reject(new Error(`socat for ${this.ptyPath} did not connect within ${SOCAT_START_TIMEOUT_MS} ms`)), SOCAT_START_TIMEOUT_MS);
      this.server!.once("connection", (s: Socket) => (clearTimeout(timeout), resolve(s)));
      socat.once("error", (e) => (clearTimeout(timeout), reject(new Error(`cannot run ${this.socatPath}: ${e.message} (install the socat package)`))));
      socat.once("exit", (code) => (clearTimeout(timeout), reject(new Error(`socat exited (${code}): ${stderr.trim()}`))));
    });
    let line: Socket;
    try {
      line = await connected;
    } catch (e) {
      this.socat = null;
      socat.kill("SIGKILL");
      throw e;
    }
    this.line = line;
    line.on("data", (d: Buffer) => {
      this.counters.fromHost += d.length;
      this.firmware.serialIn(new Uint8Array(d.buffer, d.byteOffset, d.length), this.air.nowMs());
      this.run();
    });
    line.on("error", () => undefined);
    socat.once("exit", () => {
      if (this.socat === socat) void this.unplug();
    });
    this.firmware.powerOn(this.air.nowMs());
    this.run();
  }

  /** Kills the PTY (a host holding it open sees a hangup; the path disappears) and cuts the radio's power. */
  async unplug(): Promise<void> {
    const socat = this.socat;
    this.socat = null;
    this.firmware.powerOff();
    this.stopTimer();
    this.line?.destroy();
    this.line = null;
    if (socat !== null && socat.exitCode === null && socat.signalCode === null) {
      const exited = new Promise<void>((resolve) => socat.once("exit", () => resolve()));
      socat.kill("SIGTERM");
      await exited;
    }
    removeStaleLink(this.ptyPath);
  }

  /** Restarts the firmware (as the reset button or CMD_RESET): state lost, the reset frame after booting. */
  reset(): void {
    if (this.socat === null) return;
    this.firmware.hardReset(this.air.nowMs());
    this.run();
  }

  /** Raw bytes to the host as if the radio sent them (garbage, broken frames). */
  injectSerial(bytes: Uint8Array): void {
    this.toHost(bytes);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.unplug();
    this.air.leave(this.radioId);
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(this.socketPath, { force: true });
  }

  private async listen(): Promise<void> {
    if (this.server !== null) return;
    fs.rmSync(this.socketPath, { force: true });
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.socketPath, () => resolve());
    });
    server.on("error", () => undefined);
    this.server = server;
  }

  private toHost(bytes: Uint8Array): void {
    const line = this.line;
    if (line === null || line.destroyed || line.writableLength > MAX_PENDING_OUTPUT_BYTES) {
      this.counters.droppedToHost += bytes.length;
      return;
    }
    this.counters.toHost += bytes.length;
    line.write(bytes);
  }

  /** Polls the firmware and re-arms the timer at its next deadline. */
  private run(): void {
    this.stopTimer();
    if (this.socat === null) return;
    this.firmware.poll(this.air.nowMs());
    const next = this.firmware.nextDeadlineMs();
    if (next === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run();
    }, Math.max(0, Math.ceil(next - this.air.nowMs())));
  }

  private stopTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** Removes a leftover PTY link (a symlink into /dev/pts) from a socat that died without cleaning up. */
function removeStaleLink(p: string): void {
  try {
    if (fs.lstatSync(p).isSymbolicLink()) fs.unlinkSync(p);
  } catch {
    // nothing there
  }
}

function hashSeed(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
