// An emulated RNode as the BLE mock sees it: the firmware model (hil/rnode/firmware.ts) on a RealtimeAir,
// its BLE serial (BLESerial) behind a Unix socket that the BlueZ mock (bluez_rnode.py) connects to while a
// central is connected. One connection at a time, as the firmware serves one central; what the firmware
// writes while nobody is connected is lost, as BLESerial::write drops it.
//
// powerOn() boots the firmware and listens; powerOff() cuts power and closes the socket (the mock sees the
// link drop, and cannot connect again until powerOn()); dropLink() ends the current connection only.
import * as fs from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { seededRandom } from "../../../runtime/core/ports.js";
import type { RealtimeAir } from "../../../hil/rnode/air.js";
import { emulatedBoard } from "../../../hil/rnode/boards.js";
import { RNodeFirmware, type FirmwareIo } from "../../../hil/rnode/firmware.js";

export interface BleRadioOptions {
  air: RealtimeAir;
  radioId: string;
  socketPath: string;
  bootMs?: number;
  seed?: number;
}

export class BleRadio {
  readonly firmware: RNodeFirmware;
  readonly counters = { toHost: 0, fromHost: 0, droppedToHost: 0, connections: 0 };
  private server: Server | null = null;
  private line: Socket | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: BleRadioOptions) {
    const board = { ...emulatedBoard("tbeam-supreme"), bootMs: o.bootMs ?? 100 };
    const io: FirmwareIo = {
      serialOut: (bytes) => this.toHost(bytes),
      tune: (settings) => o.air.tune(o.radioId, settings),
      transmit: (bytes, raw) => o.air.transmit(o.radioId, bytes, raw).endMs,
      inAirUntil: (nowMs) => o.air.medium.inAirUntil(o.radioId, nowMs),
      busyIntervals: (fromMs, toMs) => o.air.medium.busyIntervals(o.radioId, fromMs, toMs),
      currentRssiDbm: (nowMs) => o.air.medium.currentRssiDbm(o.radioId, nowMs),
      noiseFloorDbm: (bw) => o.air.medium.noiseFloorDbm(bw),
    };
    this.firmware = new RNodeFirmware(board, io, { random: seededRandom(o.seed ?? 11) });
    o.air.join(o.radioId, (t, outcome) => {
      if (!outcome.received) return;
      this.firmware.onReceive(t.bytes, t.raw, outcome.rssiDbm, outcome.snrDb, t.id);
      this.run();
    });
  }

  get connected(): boolean {
    return this.line !== null;
  }

  async powerOn(): Promise<void> {
    if (this.server !== null) return;
    fs.rmSync(this.o.socketPath, { force: true });
    const server = createServer((c) => this.accept(c));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.o.socketPath, () => resolve());
    });
    server.on("error", () => undefined);
    this.server = server;
    this.firmware.powerOn(this.o.air.nowMs());
    this.run();
  }

  async powerOff(): Promise<void> {
    this.firmware.powerOff();
    this.stopTimer();
    this.dropLink();
    const server = this.server;
    this.server = null;
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(this.o.socketPath, { force: true });
  }

  /** The radio ends the BLE connection (the firmware keeps running). */
  dropLink(): void {
    this.line?.destroy();
    this.line = null;
  }

  async close(): Promise<void> {
    await this.powerOff();
    this.o.air.leave(this.o.radioId);
  }

  private accept(c: Socket): void {
    this.line?.destroy(); // one central at a time
    this.line = c;
    this.counters.connections++;
    c.on("data", (d: Buffer) => {
      this.counters.fromHost += d.length;
      this.firmware.serialIn(new Uint8Array(d.buffer, d.byteOffset, d.length), this.o.air.nowMs());
      this.run();
    });
    c.on("error", () => undefined);
    c.on("close", () => {
      if (this.line === c) this.line = null;
    });
  }

  private toHost(bytes: Uint8Array): void {
    const line = this.line;
    if (line === null || line.destroyed) {
      this.counters.droppedToHost += bytes.length;
      return;
    }
    this.counters.toHost += bytes.length;
    line.write(bytes);
  }

  private run(): void {
    this.stopTimer();
    this.firmware.poll(this.o.air.nowMs());
    const next = this.firmware.nextDeadlineMs();
    if (next === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run();
    }, Math.max(0, Math.ceil(next - this.o.air.nowMs())));
  }

  private stopTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
