// RNode radio driver over a serial port (USB), behaving toward the radio as RNS 1.4.2 RNodeInterface does and
// stricter where that helps: every setting is read back after the radio is on and compared.
//
// How it works: start() opens the port ("connecting"), detects the radio (CMD_DETECT with firmware version,
// platform, MCU and board, repeated until detectTimeoutMs), checks the firmware (>= 1.52), sends frequency,
// bandwidth, TX power, SF, CR, the airtime limits and radio on, then asks for every value again and compares
// what the radio reports with what was configured (frequency within 100 Hz, the reference's tolerance for the
// modem's register steps; the rest exactly). A difference is an RNodeError "config-mismatch" naming the
// setting; the radio is switched off and the driver never goes up with it. Then "up": packets go out as KISS
// data frames and arrive with the RSSI and SNR the radio reports just before each one (FrameMeta).
// Any failure (port missing or gone, write error, silence, a radio that reset or reports ERROR_INITRADIO or
// ERROR_TXFAILED) drops the link: "down", lastError set, and a new attempt after a backoff (1 s to 60 s,
// reset after a link that lasted stableAfterMs). Nothing is thrown out of the driver.
// Hot-plug: serialport reports an unplugged USB device only on the next write, so the driver also polls the
// device path (gone, or now another device: down at once; back: try at once) and, when the radio has been
// silent for keepaliveIdleMs, probes it with CMD_DETECT (no answer in keepaliveTimeoutMs: down).
// Flow control (off by default, as in the reference): firmware 1.86 sends CMD_READY only when asked, so after
// each packet the driver asks and holds further packets (up to maxQueuedFrames) until the radio says ready.
// Writes use runtime/wire kissEncode (not @serialport/parser-slip-encoder: data and command frames share one
// ordered write path, and kissEncode already refuses command bytes that cannot be framed).
import * as fs from "node:fs";
import { concat } from "../../runtime/core/bytes.js";
import { cryptoRandom, type RandomSource } from "../../runtime/core/ports.js";
import { KISS_CMD } from "../../runtime/wire/kiss.js";
import { Backoff, DEFAULT_BACKOFF, DriverBase, type BackoffOptions, type FrameMeta } from "../port.js";
import { configureRadio, detectRadio } from "./handshake.js";
import { rnodeBitrateBps, rnodeCommand as cmd, RNODE_PROTOCOL, RNodeError, type ChannelStats, type DeviceEvent, type PhyStats, type RadioSetting } from "./protocol.js";
import { SerialLink, type ModemLinePolicy } from "./serial-link.js";
import { CarrierLink, type RNodeCarrierFactory, type RNodeLink } from "./carrier.js";

export const RNODE_DEFAULTS = Object.freeze({
  /** RNodeInterface.DEFAULT_IFAC_SIZE and HW_MTU. */
  ifacSize: 8,
  hwMtu: 508,
  baudRate: 115200,
  detectTimeoutMs: 5_000,
  detectRetryMs: 500,
  commandTimeoutMs: 2_000,
  keepaliveIdleMs: 10_000,
  keepaliveTimeoutMs: 3_000,
  tickMs: 250,
  stableAfterMs: 10_000,
  partialFrameTimeoutMs: 100,
  maxQueuedFrames: 64,
  maxWriteBufferBytes: 64 * 1024,
  readyRetryMs: 100,
});

export interface RNodeDriverOptions {
  /** Serial device path, e.g. /dev/ttyUSB0 or /dev/serial/by-id/... (with `carrier`: how the radio is named, e.g. ble://RNode 3B87). */
  port: string;
  /**
   * Another byte carrier instead of the serial port at `port` (drivers/ble: BLE). Detection, configuration,
   * traffic and recovery stay the same; the device-path watch applies to the serial port only.
   */
  carrier?: RNodeCarrierFactory | null;
  /** Shown as RNodeInterface[name]. */
  name?: string;
  frequencyHz: number;
  bandwidthHz: number;
  txPowerDbm: number;
  spreadingFactor: number;
  codingRate: number;
  /** Airtime limits in percent (null: leave the radio's). */
  airtimeLimitShortPct?: number | null;
  airtimeLimitLongPct?: number | null;
  flowControl?: boolean;
  /** Station identification: the callsign goes out as a packet once intervalMs has passed since the first packet after the last one. */
  id?: { callsign: string; intervalMs: number } | null;
  /** Called with the callsign's length each time the driver sends it (the host counts its airtime). */
  onIdSent?: (bytes: number) => void;
  ifacSize?: number;
  bitrateBps?: number;
  modemLines?: ModemLinePolicy;
  detectTimeoutMs?: number;
  detectRetryMs?: number;
  commandTimeoutMs?: number;
  keepaliveIdleMs?: number;
  keepaliveTimeoutMs?: number;
  /** Period of the housekeeping timer (device path watch, keepalive, flow control). */
  tickMs?: number;
  stableAfterMs?: number;
  maxQueuedFrames?: number;
  readyTimeoutMs?: number;
  backoff?: BackoffOptions;
  random?: RandomSource;
}

type Phase = "idle" | "opening" | "detecting" | "configuring" | "up" | "waiting" | "closed";

export interface RNodeStatus {
  port: string;
  phase: Phase;
  lastError: { code: string; message: string; setting?: RadioSetting } | null;
  device: { detected: boolean; firmware: string | null; platform: number | null; mcu: number | null; board: number | null };
  /** The values the radio last reported (null until it did). */
  radio: Record<RadioSetting, number | null>;
  bitrateBps: number;
  modemLines: "set" | "unsupported" | "left";
  channel: ChannelStats | null;
  phy: PhyStats | null;
  csma: { band: number; cwMin: number; cwMax: number } | null;
  battery: { state: "unknown" | "discharging" | "charging" | "charged"; percent: number } | null;
  temperatureC: number | null;
  lastPacket: { rssiDbm: number; snrDb: number } | null;
  /** CMD_ERROR reports by name (tx-failed, queue-full, memory-low, modem-timeout, init-radio, ...). */
  radioErrors: Record<string, number>;
  /** Packets held for CMD_READY (flow control). */
  queuedFrames: number;
}

const BATTERY_STATES = ["unknown", "discharging", "charging", "charged"] as const;
const SETTINGS: RadioSetting[] = ["frequency", "bandwidth", "txPower", "spreadingFactor", "codingRate", "radioState", "airtimeLimitShort", "airtimeLimitLong"];

export class RNodeDriver extends DriverBase {
  /** Why the last attempt failed or the last link ended (kept after the driver recovers). */
  lastError: RNodeError | null = null;
  /** Times the driver went up. */
  connections = 0;
  private readonly o: Required<Omit<RNodeDriverOptions, "name" | "random" | "backoff" | "bitrateBps" | "ifacSize" | "id" | "readyTimeoutMs" | "onIdSent">> & {
    id: { callsign: Uint8Array; intervalMs: number } | null;
    readyTimeoutMs: number;
    onIdSent: ((bytes: number) => void) | null;
  };
  private readonly backoff: Backoff;
  private phase: Phase = "idle";
  private link: RNodeLink | null = null;
  private linkRealPath: string | null = null;
  private closing: Promise<void> = Promise.resolve();
  private retryTimer: NodeJS.Timeout | null = null;
  private tickTimer: NodeJS.Timeout | null = null;
  private readyTimer: NodeJS.Timeout | null = null;
  private pathSeen = false;
  private upSinceMs = 0;
  private probeSentMs: number | null = null;
  private ready = true;
  private readyAskedMs = 0;
  private readonly queue: Uint8Array[] = [];
  private firstTxMs: number | null = null;
  private pendingMeta: FrameMeta = {};
  private readonly st: Omit<RNodeStatus, "port" | "phase" | "lastError" | "bitrateBps" | "modemLines" | "queuedFrames">;

  constructor(options: RNodeDriverOptions) {
    if (typeof options.port !== "string" || options.port.length === 0) throw new TypeError("port must be a device path");
    checkInt(options.frequencyHz, 137_000_000, 3_000_000_000, "frequencyHz");
    checkInt(options.bandwidthHz, 7_800, 1_625_000, "bandwidthHz");
    checkInt(options.txPowerDbm, 0, 37, "txPowerDbm");
    checkInt(options.spreadingFactor, 5, 12, "spreadingFactor");
    checkInt(options.codingRate, 5, 8, "codingRate");
    for (const [k, v] of [["airtimeLimitShortPct", options.airtimeLimitShortPct], ["airtimeLimitLongPct", options.airtimeLimitLongPct]] as const) {
      if (v !== undefined && v !== null && !(v >= 0 && v <= 100)) throw new RangeError(`${k}: 0..100`);
    }
    const callsign = options.id ? new TextEncoder().encode(options.id.callsign) : null;
    if (callsign !== null && (callsign.length === 0 || callsign.length > 32)) throw new RangeError("id callsign: 1..32 bytes");
    const bitrateBps = options.bitrateBps ?? rnodeBitrateBps(options.spreadingFactor, options.bandwidthHz, options.codingRate);
    super({ kind: "rnode", name: `RNodeInterface[${options.name ?? options.port}]`, hwMtu: RNODE_DEFAULTS.hwMtu, bitrateBps, ifacSize: options.ifacSize ?? RNODE_DEFAULTS.ifacSize });
    const d = RNODE_DEFAULTS;
    this.o = {
      port: options.port,
      frequencyHz: options.frequencyHz,
      bandwidthHz: options.bandwidthHz,
      txPowerDbm: options.txPowerDbm,
      spreadingFactor: options.spreadingFactor,
      codingRate: options.codingRate,
      airtimeLimitShortPct: options.airtimeLimitShortPct ?? null,
      airtimeLimitLongPct: options.airtimeLimitLongPct ?? null,
      flowControl: options.flowControl ?? false,
      carrier: options.carrier ?? null,
      id: callsign !== null ? { callsign, intervalMs: options.id!.intervalMs } : null,
      onIdSent: options.onIdSent ?? null,
      modemLines: options.modemLines ?? "assert",
      detectTimeoutMs: options.detectTimeoutMs ?? d.detectTimeoutMs,
      detectRetryMs: options.detectRetryMs ?? d.detectRetryMs,
      commandTimeoutMs: options.commandTimeoutMs ?? d.commandTimeoutMs,
      keepaliveIdleMs: options.keepaliveIdleMs ?? d.keepaliveIdleMs,
      keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? d.keepaliveTimeoutMs,
      tickMs: options.tickMs ?? d.tickMs,
      stableAfterMs: options.stableAfterMs ?? d.stableAfterMs,
      maxQueuedFrames: options.maxQueuedFrames ?? d.maxQueuedFrames,
      // Long enough for the radio to send a full packet and answer: three 508-byte airtimes and 2 s.
      readyTimeoutMs: options.readyTimeoutMs ?? Math.ceil(3 * ((RNODE_DEFAULTS.hwMtu * 8) / bitrateBps) * 1000 + 2000),
    };
    this.backoff = new Backoff(options.backoff ?? DEFAULT_BACKOFF, options.random ?? cryptoRandom);
    this.st = {
      device: { detected: false, firmware: null, platform: null, mcu: null, board: null },
      radio: Object.fromEntries(SETTINGS.map((s) => [s, null])) as Record<RadioSetting, number | null>,
      channel: null, phy: null, csma: null, battery: null, temperatureC: null, lastPacket: null, radioErrors: {},
    };
  }

  /** Failed attempts since the last stable link. */
  get failedAttempts(): number {
    return this.backoff.attempts;
  }

  status(): RNodeStatus {
    const e = this.lastError;
    return {
      port: this.o.port,
      phase: this.phase,
      lastError: e === null ? null : { code: e.code, message: e.message, ...(e.setting !== undefined ? { setting: e.setting } : {}) },
      ...structuredClone(this.st),
      bitrateBps: this.info.bitrateBps,
      modemLines: this.link?.modemLines ?? "left",
      queuedFrames: this.queue.length,
    };
  }

  start(): void {
    if (this.phase === "closed") throw new Error(`${this.info.name} is closed`);
    if (this.phase !== "idle") return;
    this.pathSeen = fs.existsSync(this.o.port);
    this.tickTimer = setInterval(() => this.tick(), this.o.tickMs);
    this.connect();
  }

  send(frame: Uint8Array): boolean {
    if (!this.admit(frame)) return false;
    if (frame.length > RNODE_PROTOCOL.mtu) {
      this.drop("tx-oversize");
      return false;
    }
    if (this.o.flowControl && (!this.ready || this.queue.length > 0)) {
      if (this.queue.length >= this.o.maxQueuedFrames) {
        this.drop("tx-backpressure");
        return false;
      }
      this.queue.push(frame.slice());
      this.countSent(frame);
      return true;
    }
    if (!this.writePacket(frame)) {
      this.drop("tx-backpressure");
      return false;
    }
    this.countSent(frame);
    return true;
  }

  /** Asks the radio to restart (CMD_RESET); it comes back configured. False when there is no link. */
  resetRadio(): boolean {
    return this.link !== null && this.phase !== "opening" && this.link.write(cmd.reset());
  }

  async stop(): Promise<void> {
    const wasUp = this.phase === "up";
    this.phase = "closed";
    this.clearTimers();
    if (this.tickTimer !== null) clearInterval(this.tickTimer);
    this.tickTimer = null;
    this.setState("closed");
    const link = this.link;
    this.link = null;
    // As RNodeInterface.detach: radio off, then tell the firmware the host left.
    if (link !== null) this.closing = link.close(wasUp ? concat(cmd.radioState(KISS_CMD.RADIO_STATE_OFF), cmd.leave()) : undefined);
    await this.closing;
  }

  // --- link lifecycle ---------------------------------------------------------------------------------------

  private connect(): void {
    this.retryTimer = null;
    if (this.phase === "closed") return;
    this.phase = "opening";
    this.setState("connecting");
    const handlers = { event: (e: DeviceEvent) => this.onEvent(link, e), drop: (r: string, n: number) => this.drop(r, n), lost: (e: RNodeError) => this.fail(link, e) };
    const carrier = this.o.carrier?.() ?? null;
    const link: RNodeLink = carrier !== null
      ? new CarrierLink(carrier, { partialFrameTimeoutMs: carrier.partialFrameTimeoutMs ?? RNODE_DEFAULTS.partialFrameTimeoutMs }, handlers)
      : new SerialLink({ path: this.o.port, baudRate: RNODE_DEFAULTS.baudRate, modemLines: this.o.modemLines, partialFrameTimeoutMs: RNODE_DEFAULTS.partialFrameTimeoutMs, maxWriteBufferBytes: RNODE_DEFAULTS.maxWriteBufferBytes }, handlers);
    this.link = link;
    this.run(link).catch((e: unknown) => this.fail(link, e instanceof RNodeError ? e : new RNodeError("port-open-failed", String((e as Error)?.message ?? e))));
  }

  private async run(link: RNodeLink): Promise<void> {
    await this.closing; // the previous opening must release the port (it is opened exclusively)
    if (this.link !== link) return;
    const serial = link instanceof SerialLink;
    if (serial && !fs.existsSync(this.o.port)) throw new RNodeError("port-missing", `${this.o.port}: no such device`);
    await link.open();
    if (this.link !== link) return;
    this.linkRealPath = serial ? realPath(this.o.port) : null;
    this.st.device = { detected: false, firmware: null, platform: null, mcu: null, board: null };
    this.phase = "detecting";
    await detectRadio(link, this.st.device, this.o);
    if (this.link !== link) return;
    this.phase = "configuring";
    await configureRadio(link, this.o);
    if (this.link !== link) return;
    this.phase = "up";
    this.connections++;
    this.upSinceMs = performance.now();
    this.probeSentMs = null;
    this.ready = true;
    this.setState("up");
  }

  private fail(link: RNodeLink, error: RNodeError): void {
    if (this.link !== link) return;
    this.link = null;
    this.lastError = error;
    const wasConfigured = this.phase === "configuring" || this.phase === "up";
    if (this.phase === "up" && performance.now() - this.upSinceMs >= this.o.stableAfterMs) this.backoff.reset();
    this.phase = "waiting";
    if (this.queue.length > 0) this.drop("tx-error", this.queue.splice(0).length);
    if (this.readyTimer !== null) clearTimeout(this.readyTimer);
    this.readyTimer = null;
    this.pendingMeta = {};
    // A radio left on with settings we refused must not stay on the air.
    const tail = error.code === "config-mismatch" && wasConfigured ? cmd.radioState(KISS_CMD.RADIO_STATE_OFF) : undefined;
    this.closing = link.close(tail);
    this.setState("down");
    this.retryTimer = setTimeout(() => this.connect(), this.backoff.nextDelayMs());
  }

  // --- traffic ----------------------------------------------------------------------------------------------

  private writePacket(frame: Uint8Array): boolean {
    const link = this.link!;
    if (!link.write(cmd.data(frame))) return false;
    if (this.o.flowControl) {
      this.ready = false;
      this.askReady();
    }
    if (this.o.id !== null && this.firstTxMs === null) this.firstTxMs = performance.now();
    return true;
  }

  private askReady(): void {
    this.readyAskedMs = performance.now();
    this.link?.write(cmd.ready());
  }

  private onEvent(link: RNodeLink, e: DeviceEvent): void {
    if (this.link !== link) return;
    this.probeSentMs = null;
    const st = this.st;
    switch (e.kind) {
      case "data":
        if (this.phase !== "up") {
          this.drop("rx-not-up");
          break;
        }
        if (this.pendingMeta.rssiDbm !== undefined && this.pendingMeta.snrDb !== undefined) {
          st.lastPacket = { rssiDbm: this.pendingMeta.rssiDbm, snrDb: this.pendingMeta.snrDb };
        }
        this.deliver(e.payload, this.pendingMeta);
        this.pendingMeta = {};
        break;
      case "rssi": // the radio sends RSSI and SNR just before each packet
        this.pendingMeta = { ...this.pendingMeta, rssiDbm: e.dbm };
        break;
      case "snr":
        this.pendingMeta = { ...this.pendingMeta, snrDb: e.db };
        break;
      case "detect":
        st.device.detected ||= e.ok;
        break;
      case "firmware":
        st.device.firmware = `${e.major}.${e.minor}`;
        break;
      case "platform":
        st.device.platform = e.code;
        break;
      case "mcu":
        st.device.mcu = e.code;
        break;
      case "board":
        st.device.board = e.code;
        break;
      case "setting":
        st.radio[e.setting] = e.value;
        break;
      case "channel":
        st.channel = e.stats;
        break;
      case "phy":
        st.phy = e.stats;
        break;
      case "csma":
        st.csma = { band: e.band, cwMin: e.cwMin, cwMax: e.cwMax };
        break;
      case "battery":
        st.battery = { state: BATTERY_STATES[e.state] ?? "unknown", percent: e.percent };
        break;
      case "temperature":
        st.temperatureC = e.celsius;
        break;
      case "ready":
        if (this.phase === "up" && this.o.flowControl) this.onReady(e.ready);
        break;
      case "error":
        st.radioErrors[e.name] = (st.radioErrors[e.name] ?? 0) + 1;
        if (this.phase === "configuring" || this.phase === "up") {
          if (e.code === KISS_CMD.ERROR_INITRADIO) return this.fail(link, new RNodeError("radio-init-failed", `${this.o.port}: the radio could not start its modem (ERROR_INITRADIO)`));
          if (e.code === KISS_CMD.ERROR_TXFAILED) return this.fail(link, new RNodeError("tx-failed", `${this.o.port}: the radio failed to transmit (ERROR_TXFAILED); reconfiguring`));
        }
        break;
      case "reset":
        if (this.phase === "configuring" || this.phase === "up") return this.fail(link, new RNodeError("radio-reset", `${this.o.port}: the radio restarted; reconfiguring`));
        break;
      case "unknown":
        this.drop("kiss-command");
        break;
      case "malformed":
        this.drop("kiss-malformed");
        break;
      case "radio-lock":
      case "other":
        break;
    }
  }

  private onReady(ready: boolean): void {
    if (this.readyTimer !== null) clearTimeout(this.readyTimer);
    this.readyTimer = null;
    if (!ready) {
      this.readyTimer = setTimeout(() => (this.readyTimer = null, this.askReady()), RNODE_DEFAULTS.readyRetryMs);
      return;
    }
    this.ready = true;
    const next = this.queue.shift();
    if (next !== undefined && !this.writePacket(next)) this.drop("tx-backpressure");
  }

  /** Housekeeping: the device path, silence, flow control and station identification. */
  private tick(): void {
    const now = performance.now();
    const serial = this.o.carrier === null; // the device-path watch is for serial ports
    const exists = serial && fs.existsSync(this.o.port);
    const appeared = exists && !this.pathSeen;
    this.pathSeen = exists;
    const link = this.link;
    if (serial && link !== null && this.phase !== "opening") {
      if (!exists) return this.fail(link, new RNodeError("port-lost", `${this.o.port} disappeared (unplugged)`));
      if (this.linkRealPath !== null && realPath(this.o.port) !== this.linkRealPath) return this.fail(link, new RNodeError("port-lost", `${this.o.port} now names another device (replugged)`));
    }
    if (this.phase === "waiting" && appeared && this.retryTimer !== null) {
      clearTimeout(this.retryTimer);
      this.connect();
      return;
    }
    if (link === null || this.phase !== "up") return;
    if (this.probeSentMs === null && now - link.lastRxMs > this.o.keepaliveIdleMs) {
      this.probeSentMs = now;
      link.write(cmd.probe());
    } else if (this.probeSentMs !== null && now - this.probeSentMs > this.o.keepaliveTimeoutMs) {
      return this.fail(link, new RNodeError("link-silent", `${this.o.port}: the radio stopped answering`));
    }
    if (this.o.flowControl && !this.ready && now - this.readyAskedMs > this.o.readyTimeoutMs) {
      return this.fail(link, new RNodeError("link-silent", `${this.o.port}: no CMD_READY within ${this.o.readyTimeoutMs} ms`));
    }
    const id = this.o.id;
    if (id !== null && this.firstTxMs !== null && now - this.firstTxMs > id.intervalMs && (!this.o.flowControl || this.ready)) {
      this.firstTxMs = null;
      if (link.write(cmd.data(id.callsign))) this.o.onIdSent?.(id.callsign.length);
    }
  }

  private clearTimers(): void {
    for (const t of [this.retryTimer, this.readyTimer]) if (t !== null) clearTimeout(t);
    this.retryTimer = this.readyTimer = null;
  }
}

function realPath(p: string): string | null {
  try {
    return fs.realpathSync(p);
  } catch {
    return null;
  }
}

function checkInt(v: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${what}: an integer in ${min}..${max}, got ${v}`);
}
