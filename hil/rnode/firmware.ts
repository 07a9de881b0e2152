// RNode firmware 1.86 as a host sees it over serial, for emulated radios: the KISS parser of serial_callback,
// the command handlers and their reports (RNode_Firmware.ino, Utilities.h kiss_indicate_*), the packet queue,
// CSMA and transmission (tx_queue_handler, flush_queue/pop_queue, transmit), reception (the stat frames sent
// before each packet), airtime and channel statistics (update_airtime, check_modem_status), battery and
// temperature (Power.h), reset. Written from the firmware's behaviour; no firmware code is reused.
//
// How it works: sans-IO on a clock passed in. serialIn() takes host bytes, onReceive() takes a packet from the
// medium, poll(nowMs) does whatever fell due (boot end, end of a transmission, CSMA, the 1 s status update,
// the PMU), nextDeadlineMs() says when to poll next. Output goes through FirmwareIo. Like the real radio, the
// firmware is deaf to the serial line while it transmits (endPacket blocks): host bytes wait in a 6144-byte
// buffer (CONFIG_UART_BUFFER_SIZE) and are parsed when the transmission ends.
//
// Not emulated: EEPROM/ROM commands (ROM_READ, CFG_READ, ROM_WRITE, CONF_SAVE/DELETE, UNLOCK_ROM), device
// hashes and signatures, firmware update, Bluetooth, Wi-Fi, display settings and the TNC mode: they are
// consumed and ignored, as a build without the feature does. Interference detection (ntf) always reports none.
import { KISS_CMD, KISS_FEND, KISS_FESC, KISS_TFEND, KISS_TFESC } from "../../runtime/wire/kiss.js";
import type { RandomSource } from "../../runtime/core/ports.js";
import type { RadioSettings } from "../medium/medium.js";
import type { EmulatedBoard } from "./boards.js";
import { rnodeFrameLengths } from "../medium/airtime.js";
import { airtimeLimitFromWire, airtimeToWire, firmwareAirtimeCostMs, modemBandwidthHz, modemFrequencyHz, phyParams, toUint8 } from "./firmware-math.js";
import { freshState, UNSET_RSSI, type FirmwareState } from "./firmware-state.js";
import { advanceCsma, newCsmaWait } from "./firmware-stats.js";

const C = KISS_CMD;
/** Config.h and Boards.h (ESP32/NRF52 builds). */
export const FIRMWARE_LIMITS = Object.freeze({
  mtu: 508,
  singleMtu: 255,
  cmdLength: 64,
  uartBufferBytes: 6144,
  queueBytes: 6144,
  queuePackets: 200,
  modemQueuePackets: 8,
  rssiOffset: 157,
  statusIntervalMs: 999, // UTIL_UPDATE_INTERVAL samples of STATUS_INTERVAL_MS
  dcdWindowMs: 7500, // DCD_SAMPLES * STATUS_INTERVAL_MS
  noiseFloorSampleMs: 384, // NOISE_FLOOR_SAMPLES * STATUS_INTERVAL_MS
  pmuIntervalMs: 1000,
  pmuReportEvery: 5,
  tempOffset: 120,
});

export interface FirmwareIo {
  serialOut(bytes: Uint8Array): void;
  /** Radio on with these settings, or off (null). */
  tune(settings: RadioSettings | null): void;
  /** Puts a packet on air now; returns when it ends. */
  transmit(bytes: Uint8Array, raw: boolean): number;
  inAirUntil(nowMs: number): number | null;
  busyIntervals(fromMs: number, toMs: number): [number, number][];
  currentRssiDbm(nowMs: number): number | null;
  noiseFloorDbm(bandwidthHz: number): number;
}

export interface FirmwareOptions {
  version?: readonly [number, number];
  random: RandomSource;
  battery?: { state: number; percent: number };
  temperatureC?: number;
}

/** What a test or operator may want to see inside the emulated radio. */
export interface FirmwareSnapshot {
  booted: boolean;
  online: boolean;
  frequencyHz: number;
  bandwidthHz: number;
  txPowerDbm: number;
  spreadingFactor: number;
  codingRate: number;
  shortTermLimit: number;
  longTermLimit: number;
  airtime: number;
  longTermAirtime: number;
  airtimeLocked: boolean;
  queuedPackets: number;
  transmitted: number;
  delivered: number;
}


export class RNodeFirmware {
  readonly version: readonly [number, number];
  battery: { state: number; percent: number };
  temperatureC: number;
  /** Test hook: the next transmission fails like a modem that stopped answering (errors, then hard_reset). */
  failNextTransmit = false;
  /** Test hook: the next radio start fails like a modem that does not initialise (ERROR_INITRADIO). */
  failNextRadioStart = false;
  private powered = false;
  private bootDoneMs: number | null = null;
  private s!: FirmwareState;

  constructor(
    readonly board: EmulatedBoard,
    private readonly io: FirmwareIo,
    private readonly options: FirmwareOptions,
  ) {
    this.version = options.version ?? [1, 86];
    this.battery = options.battery ?? { state: 0x01, percent: 87 };
    this.temperatureC = options.temperatureC ?? 31;
    this.s = freshState();
  }

  /** Power applied: the boot ROM talks, then after bootMs the firmware announces itself with a reset frame. */
  powerOn(nowMs: number): void {
    this.powered = true;
    this.s = freshState();
    this.io.tune(null);
    this.bootDoneMs = nowMs + this.board.bootMs;
    if (this.board.romBootLog !== null) this.io.serialOut(new TextEncoder().encode(this.board.romBootLog));
  }

  powerOff(): void {
    this.powered = false;
    this.bootDoneMs = null;
    this.s = freshState();
    this.io.tune(null);
  }

  /** hard_reset(): the MCU restarts (ESP.restart / NVIC_SystemReset). */
  hardReset(nowMs: number): void {
    this.powerOn(nowMs);
  }

  get booted(): boolean {
    return this.powered && this.bootDoneMs === null;
  }

  snapshot(): FirmwareSnapshot {
    const s = this.s;
    return {
      booted: this.booted, online: s.online, frequencyHz: s.freq, bandwidthHz: s.bw, txPowerDbm: s.txp, spreadingFactor: s.sf, codingRate: s.cr,
      shortTermLimit: s.stLimit, longTermLimit: s.ltLimit, airtime: s.stats.airtime, longTermAirtime: s.stats.longtermAirtime, airtimeLocked: s.airtimeLock,
      queuedPackets: s.queue.length, transmitted: s.transmitted, delivered: s.delivered,
    };
  }

  /** Bytes from the host. */
  serialIn(bytes: Uint8Array, nowMs: number): void {
    if (!this.booted) return; // the UART is not up: bytes are lost
    const s = this.s;
    if (s.busyUntilMs !== null) {
      const room = FIRMWARE_LIMITS.uartBufferBytes - s.backlog.length;
      for (let i = 0; i < bytes.length && i < room; i++) s.backlog.push(bytes[i]!);
      return;
    }
    for (const b of bytes) {
      this.serialByte(b, nowMs);
      if (!this.booted) return; // CMD_RESET
    }
  }

  /** A packet from the medium (already decided received, with its RSSI and SNR). */
  onReceive(bytes: Uint8Array, raw: boolean, rssiDbm: number, snrDb: number, txId: number): void {
    const s = this.s;
    if (!this.booted || !s.online) return;
    const packets: Uint8Array[] = [];
    if (s.promisc) {
      if (raw) packets.push(bytes);
      else {
        // The frames as they were on air: a header (sequence nibble, split flag) before each part.
        const header = ((txId * 16) & 0xf0) | (bytes.length > FIRMWARE_LIMITS.singleMtu - 1 ? 0x01 : 0);
        let offset = 0;
        for (const len of rnodeFrameLengths(bytes.length)) {
          packets.push(Uint8Array.of(header, ...bytes.subarray(offset, offset + len - 1)));
          offset += len - 1;
        }
      }
    } else if (!raw) {
      s.pendingSplit = null;
      packets.push(bytes);
    } else if (bytes.length > 0) {
      // A raw frame read as an RNode frame: header first, split frames paired by sequence (receive_callback).
      const seq = bytes[0]! >> 4;
      const body = bytes.subarray(1);
      if ((bytes[0]! & 0x01) === 0) {
        s.pendingSplit = null;
        packets.push(body);
      } else if (s.pendingSplit !== null && s.pendingSplit.seq === seq) {
        packets.push(Uint8Array.of(...s.pendingSplit.bytes, ...body));
        s.pendingSplit = null;
      } else s.pendingSplit = { seq, bytes: body.slice() };
    }
    for (const p of packets) {
      if (s.rxQueue.length >= FIRMWARE_LIMITS.modemQueuePackets) continue; // xQueueSendFromISR fails: freed
      s.rxQueue.push({ bytes: p.subarray(0, FIRMWARE_LIMITS.mtu), rssi: Math.round(rssiDbm), snrRaw: toUint8(Math.max(-128, Math.min(127, Math.round(snrDb * 4)))) });
    }
  }

  nextDeadlineMs(): number | null {
    if (!this.powered) return null;
    if (this.bootDoneMs !== null) return this.bootDoneMs;
    const s = this.s;
    if (s.busyUntilMs !== null) return s.busyUntilMs;
    const times: number[] = [];
    if (this.board.battery) times.push(s.pmuNextMs ?? 0);
    if (s.online) {
      times.push(s.statusNextMs);
      if (s.rxQueue.length > 0) times.push(0);
      if (s.csmaWakeMs !== null) times.push(s.csmaWakeMs);
    }
    return times.length === 0 ? null : Math.min(...times);
  }

  /** Does whatever is due at nowMs. */
  poll(nowMs: number): void {
    if (!this.powered) return;
    const s = this.s;
    if (this.bootDoneMs !== null) {
      if (nowMs < this.bootDoneMs) return;
      this.bootDoneMs = null;
      s.pmuNextMs = nowMs + FIRMWARE_LIMITS.pmuIntervalMs;
      this.frame(C.CMD_RESET, [C.CMD_RESET_BYTE], false); // kiss_indicate_reset() at the end of setup()
    }
    if (s.busyUntilMs !== null) {
      if (nowMs < s.busyUntilMs) return;
      this.continueFlush(nowMs);
      if (!this.booted || s.busyUntilMs !== null) return;
      const backlog = s.backlog;
      s.backlog = [];
      for (const b of backlog) {
        this.serialByte(b, nowMs);
        if (!this.booted) return;
      }
    }
    if (s.online) {
      for (const p of s.rxQueue.splice(0)) this.deliver(p);
      s.airtimeLock = (s.stLimit !== 0 && s.stats.airtime >= s.stLimit) || (s.ltLimit !== 0 && s.stats.longtermAirtime >= s.ltLimit);
      if (nowMs >= s.statusNextMs) this.statusUpdate(nowMs);
      this.txQueueHandler(nowMs);
    }
    if (this.board.battery && s.pmuNextMs !== null && nowMs >= s.pmuNextMs) {
      s.pmuNextMs = nowMs + FIRMWARE_LIMITS.pmuIntervalMs;
      if (++s.pmuCount % FIRMWARE_LIMITS.pmuReportEvery === 0) {
        this.frame(C.CMD_STAT_BAT, [this.battery.state, toUint8(Math.max(0, Math.min(100, Math.trunc(this.battery.percent))))]);
        if (this.board.temperature) this.frame(C.CMD_STAT_TEMP, [toUint8(this.temperatureC + FIRMWARE_LIMITS.tempOffset)]);
      }
    }
  }

  /**
   * Writes a KISS frame as kiss_indicate_* do: the command byte raw, the payload escaped, except where the
   * firmware writes a single byte with serial_write (escape false: radio state, SF, random byte, version...).
   */
  frame(command: number, payload: ArrayLike<number>, escape = true): void {
    const out: number[] = [KISS_FEND, command];
    for (let i = 0; i < payload.length; i++) {
      const b = payload[i]!;
      if (escape && b === KISS_FEND) out.push(KISS_FESC, KISS_TFEND);
      else if (escape && b === KISS_FESC) out.push(KISS_FESC, KISS_TFESC);
      else out.push(b);
    }
    out.push(KISS_FEND);
    this.io.serialOut(Uint8Array.from(out));
  }

  // --- serial_callback -------------------------------------------------------------------------------------

  private serialByte(b: number, nowMs: number): void {
    const s = this.s;
    if (s.inFrame && b === KISS_FEND && s.command === C.CMD_DATA) {
      s.inFrame = false;
      this.endDataFrame(nowMs);
    } else if (b === KISS_FEND) {
      s.inFrame = true;
      s.command = C.CMD_UNKNOWN;
      s.frameLen = 0;
    } else if (s.inFrame && s.frameLen < FIRMWARE_LIMITS.mtu) {
      if (s.frameLen === 0 && s.command === C.CMD_UNKNOWN) s.command = b;
      else if (s.command === C.CMD_DATA) this.dataByte(b);
      else this.commandByte(b, nowMs);
    }
  }

  private unescape(b: number): number | null {
    const s = this.s;
    if (b === KISS_FESC) {
      s.escape = true;
      return null;
    }
    if (s.escape) {
      if (b === KISS_TFEND) b = KISS_FEND;
      if (b === KISS_TFESC) b = KISS_FESC;
      s.escape = false;
    }
    return b;
  }

  /** Multi-byte command argument: unescaped into cmdbuf; returns the argument length so far. */
  private collect(b: number): number {
    const s = this.s;
    const v = this.unescape(b);
    if (v !== null && s.frameLen < FIRMWARE_LIMITS.cmdLength) s.cmdbuf[s.frameLen++] = v;
    return s.frameLen;
  }

  private dataByte(b: number): void {
    const s = this.s;
    const v = this.unescape(b);
    if (v === null) return;
    if (s.queue.length < FIRMWARE_LIMITS.queuePackets && s.queuedBytes < FIRMWARE_LIMITS.queueBytes) {
      s.queuedBytes++;
      s.current.push(v);
    }
  }

  private endDataFrame(nowMs: number): void {
    const s = this.s;
    if (s.queue.length >= FIRMWARE_LIMITS.queuePackets || s.queuedBytes >= FIRMWARE_LIMITS.queueBytes) return; // bytes stay for the next frame
    // CSMA starts counting when there is something to send (difs_wait_start is unset while the queue is empty).
    if (s.queue.length === 0) s.csma = newCsmaWait(nowMs);
    // An empty frame becomes a queue entry as long as the ring (the firmware's start/end arithmetic); it is never sent.
    s.queue.push(s.current.length === 0 ? { bytes: null, length: FIRMWARE_LIMITS.queueBytes } : { bytes: Uint8Array.from(s.current), length: s.current.length });
    s.current = [];
  }

  private commandByte(b: number, nowMs: number): void {
    const s = this.s;
    const be32 = (): number => ((s.cmdbuf[0]! << 24) >>> 0) + (s.cmdbuf[1]! << 16) + (s.cmdbuf[2]! << 8) + s.cmdbuf[3]!;
    switch (s.command) {
      case C.CMD_FREQUENCY:
        if (this.collect(b) === 4) {
          const freq = be32();
          if (freq !== 0) {
            s.freq = freq;
            if (s.online) {
              s.freq = modemFrequencyHz(s.freq, this.board.modem); // setFrequency(), then getFrequency()
              this.retune();
            }
          }
          this.frame(C.CMD_FREQUENCY, be32Bytes(s.freq));
        }
        return;
      case C.CMD_BANDWIDTH:
        if (this.collect(b) === 4) {
          const bw = be32();
          if (bw !== 0) {
            s.bw = bw;
            if (s.online) {
              s.bw = modemBandwidthHz(s.bw); // setBandwidth(), then getBandwidth()
              this.updateBitrate();
              this.retune();
            }
          }
          this.frame(C.CMD_BANDWIDTH, be32Bytes(s.bw));
        }
        return;
      case C.CMD_TXPOWER:
        if (b !== 0xff) {
          s.txp = Math.min(b, this.board.maxTxPowerDbm);
          if (s.online) this.retune();
        }
        return this.frame(C.CMD_TXPOWER, [toUint8(s.txp)], false);
      case C.CMD_SF:
        if (b !== 0xff) {
          s.sf = Math.max(5, Math.min(12, b));
          if (s.online) {
            this.updateBitrate();
            this.retune();
          }
        }
        return this.frame(C.CMD_SF, [toUint8(s.sf)], false);
      case C.CMD_CR:
        if (b !== 0xff) {
          s.cr = Math.max(5, Math.min(8, b));
          if (s.online) {
            this.updateBitrate();
            this.retune();
          }
        }
        return this.frame(C.CMD_CR, [toUint8(s.cr)], false);
      case C.CMD_IMPLICIT:
        s.implicitLength = b;
        return this.frame(C.CMD_IMPLICIT, [b], false);
      case C.CMD_LEAVE:
        if (b === 0xff) {
          s.currentRssi = s.lastRssi = UNSET_RSSI;
          s.lastSnrRaw = 0x80;
        }
        return;
      case C.CMD_RADIO_STATE:
        if (b === 0x00) this.stopRadio();
        else if (b === 0x01) this.startRadio(nowMs);
        if (b === 0xff || b === 0x00 || b === 0x01) this.frame(C.CMD_RADIO_STATE, [s.online ? 1 : 0], false);
        return;
      case C.CMD_ST_ALOCK:
      case C.CMD_LT_ALOCK:
        if (this.collect(b) === 2) {
          const limit = airtimeLimitFromWire((s.cmdbuf[0]! << 8) | s.cmdbuf[1]!);
          if (s.command === C.CMD_ST_ALOCK) s.stLimit = limit;
          else s.ltLimit = limit;
          const at = airtimeToWire(limit);
          this.frame(s.command, [at >> 8, at & 0xff]);
        }
        return;
      case C.CMD_STAT_RX:
      case C.CMD_STAT_TX:
        return this.frame(s.command, [0, 0, 0, 0]); // stat_rx/stat_tx are never counted in 1.86
      case C.CMD_STAT_RSSI:
        return this.frame(C.CMD_STAT_RSSI, [toUint8(s.lastRssi + FIRMWARE_LIMITS.rssiOffset)]);
      case C.CMD_RADIO_LOCK:
        return this.frame(C.CMD_RADIO_LOCK, [this.radioLocked() ? 1 : 0], false);
      case C.CMD_RANDOM:
        return this.frame(C.CMD_RANDOM, [this.options.random.bytes(1)[0]! % 0xff], false);
      case C.CMD_DETECT:
        if (b === C.DETECT_REQ) this.frame(C.CMD_DETECT, [C.DETECT_RESP], false);
        return;
      case C.CMD_PROMISC:
        if (b === 0x01) s.promisc = true;
        else if (b === 0x00) s.promisc = false;
        return this.frame(C.CMD_PROMISC, [s.promisc ? 1 : 0], false);
      case C.CMD_READY:
        return this.frame(C.CMD_READY, [this.queueFull() ? 0x00 : 0x01], false);
      case C.CMD_RESET:
        if (b === C.CMD_RESET_BYTE) this.hardReset(nowMs);
        return;
      case C.CMD_FW_VERSION:
        return this.frame(C.CMD_FW_VERSION, [this.version[0], this.version[1]], false);
      case C.CMD_PLATFORM:
        return this.frame(C.CMD_PLATFORM, [this.board.platform], false);
      case C.CMD_MCU:
        return this.frame(C.CMD_MCU, [this.board.mcu], false);
      case C.CMD_BOARD:
        return this.frame(C.CMD_BOARD, [this.board.boardCode], false);
      case C.CMD_FB_EXT:
        if (!this.board.display) return;
        if (b === 0x00 || b === 0x01) s.extFramebuffer = b === 0x01;
        if (b === 0x00 || b === 0x01 || b === 0xff) this.frame(C.CMD_FB_EXT, [s.extFramebuffer ? 1 : 0], false);
        return;
      case C.CMD_FB_READ:
        if (b !== 0x00) this.frame(C.CMD_FB_READ, this.board.display ? new Uint8Array(512) : [0xff]);
        return;
      case C.CMD_DISP_READ:
        if (b !== 0x00) this.frame(C.CMD_DISP_READ, this.board.display ? new Uint8Array(1024) : [0xff]);
        return;
      case C.CMD_ROM_WRITE:
      case C.CMD_FB_WRITE:
      case C.CMD_DEV_SIG:
      case C.CMD_FW_HASH:
      case C.CMD_WIFI_SSID:
      case C.CMD_WIFI_PSK:
      case C.CMD_WIFI_IP:
      case C.CMD_WIFI_NM:
        this.collect(b); // arguments consumed; the settings themselves are not emulated
        return;
      default:
        return; // unknown or not emulated: ignored, as serial_callback does
    }
  }

  // --- radio ------------------------------------------------------------------------------------------------

  private radioLocked(): boolean {
    const s = this.s;
    return !(s.freq !== 0 && s.bw !== 0 && s.txp !== 0xff && s.sf !== 0);
  }

  private queueFull(): boolean {
    return this.s.queue.length >= FIRMWARE_LIMITS.queuePackets || this.s.queuedBytes >= FIRMWARE_LIMITS.queueBytes;
  }

  private startRadio(nowMs: number): void {
    const s = this.s;
    if (s.online) return this.frame(C.CMD_RADIO_STATE, [1], false);
    if (this.radioLocked()) return this.frame(C.CMD_RADIO_STATE, [0], false);
    if (this.failNextRadioStart) {
      this.failNextRadioStart = false;
      return this.frame(C.CMD_ERROR, [C.ERROR_INITRADIO], false); // LoRa->begin() failed
    }
    s.online = true;
    s.onlineSinceMs = nowMs;
    s.statusNextMs = nowMs + FIRMWARE_LIMITS.statusIntervalMs;
    s.stats.reset();
    s.bw = modemBandwidthHz(s.bw);
    this.updateBitrate(); // setBandwidth
    this.updateBitrate(); // setSpreadingFactor
    this.updateBitrate(); // setCodingRate
    s.freq = modemFrequencyHz(s.freq, this.board.modem);
    s.csma = newCsmaWait(nowMs);
    this.retune();
    this.frame(C.CMD_RADIO_STATE, [1], false);
  }

  private stopRadio(): void {
    this.s.online = false;
    this.io.tune(null);
  }

  private retune(): void {
    const s = this.s;
    if (!s.online) return;
    const sf = this.board.modem === "sx127x" ? Math.max(6, s.sf) : s.sf;
    this.io.tune({ frequencyHz: s.freq, bandwidthHz: s.bw, spreadingFactor: sf, codingRate: s.cr, txPowerDbm: s.txp, chip: this.board.modem });
  }

  /** updateBitrate() and its setPreamble() report, for a radio that is on. */
  private updateBitrate(): void {
    const s = this.s;
    if (!s.online) return;
    s.phy = phyParams(s.sf, s.bw, s.cr);
    const p = s.phy;
    const u16 = (v: number): number[] => [(v >> 8) & 0xff, v & 0xff];
    this.frame(C.CMD_STAT_PHYPRM, [
      ...u16(Math.trunc(Math.fround(p.symbolTimeMs * 1000)) & 0xffff), ...u16(Math.trunc(p.symbolRate) & 0xffff), ...u16(p.preambleSymbols & 0xffff),
      ...u16(p.preambleTimeMs & 0xffff), ...u16(p.csmaSlotMs), ...u16(p.difsMs),
    ]);
  }

  // --- transmit ---------------------------------------------------------------------------------------------

  /** tx_queue_handler(): waits for DIFS and a contention window of free channel, then sends. */
  private txQueueHandler(nowMs: number): void {
    const s = this.s;
    s.csmaWakeMs = null;
    if (s.airtimeLock || s.queue.length === 0 || s.phy === null) return;
    const p = s.phy;
    const w = s.csma;
    if (w.cw === -1) {
      const span = Math.max(0, s.stats.cwMax - s.stats.cwMin);
      w.cw = s.stats.cwMin + (span === 0 ? 0 : this.options.random.bytes(1)[0]! % span); // random(cw_min, cw_max)
      w.passedMs = 0;
    }
    const busy = this.io.busyIntervals(Math.min(w.clockMs, nowMs), nowMs);
    const r = advanceCsma(w, nowMs, w.cw * p.csmaSlotMs, p.difsMs, busy, this.io.inAirUntil(nowMs));
    if (r.fireAtMs === null) {
      s.csmaWakeMs = r.wakeMs;
      return;
    }
    s.csma = newCsmaWait(nowMs);
    // flush_queue() sends everything queued; above 14 kbit/s pop_queue() sends one packet per round.
    const popOne = p.limitRate || p.guardRate;
    const entries = popOne ? s.queue.splice(0, 1) : s.queue.splice(0);
    const packets = entries.filter((e) => e.bytes !== null && e.length >= 1 && e.length <= FIRMWARE_LIMITS.mtu).map((e) => e.bytes!);
    s.queuedBytes = popOne ? (s.queuedBytes - entries[0]!.length) & 0xffff : 0;
    s.flush = { packets, next: 0 };
    this.continueFlush(nowMs);
  }

  /** Sends the next packet of the flush in progress, or ends it (update_airtime reports the channel). */
  private continueFlush(nowMs: number): void {
    const s = this.s;
    const f = s.flush;
    s.busyUntilMs = null;
    if (f === null) return;
    if (s.lastTx !== null) {
      for (const len of s.lastTx) this.addAirtime(len, nowMs);
      s.lastTx = null;
    }
    const packet = f.packets[f.next++];
    if (packet === undefined) {
      s.flush = null;
      s.csma = newCsmaWait(nowMs);
      this.updateAirtime(nowMs);
      return;
    }
    if (this.failNextTransmit) {
      this.failNextTransmit = false;
      this.frame(C.CMD_ERROR, [C.ERROR_MODEM_TIMEOUT], false);
      this.frame(C.CMD_ERROR, [C.ERROR_TXFAILED], false);
      this.hardReset(nowMs);
      return;
    }
    const raw = s.promisc;
    const bytes = raw ? packet.subarray(0, FIRMWARE_LIMITS.singleMtu) : packet;
    s.busyUntilMs = this.io.transmit(bytes, raw);
    s.lastTx = raw ? [bytes.length] : rnodeFrameLengths(bytes.length);
    s.transmitted++;
  }

  // --- statistics -------------------------------------------------------------------------------------------

  private addAirtime(written: number, nowMs: number): void {
    const s = this.s;
    if (s.phy !== null) s.stats.addAirtime(firmwareAirtimeCostMs(written, s.sf, s.cr, s.phy, this.board.modem), nowMs);
  }

  /** check_modem_status() once a second: RSSI, noise floor, utilisation from carrier detect, then update_airtime(). */
  private statusUpdate(nowMs: number): void {
    const s = this.s;
    s.statusNextMs = nowMs + FIRMWARE_LIMITS.statusIntervalMs;
    const rssi = this.io.currentRssiDbm(nowMs);
    if (rssi !== null) s.currentRssi = Math.round(rssi);
    if (nowMs - s.onlineSinceMs >= FIRMWARE_LIMITS.noiseFloorSampleMs) s.noiseFloor = Math.round(this.io.noiseFloorDbm(s.bw));
    let busyMs = 0;
    for (const [a, b] of this.io.busyIntervals(Math.max(nowMs - FIRMWARE_LIMITS.dcdWindowMs, s.onlineSinceMs), nowMs)) busyMs += b - a;
    s.stats.utilisation(busyMs, nowMs);
    this.updateAirtime(nowMs);
  }

  /** update_airtime(): new shares, the CSMA band when it changed, and the channel report. */
  private updateAirtime(nowMs: number): void {
    const st = this.s.stats;
    if (st.update(nowMs)) this.frame(C.CMD_STAT_CSMA, [st.cwBand, st.cwMin, st.cwMax]);
    this.frame(C.CMD_STAT_CHTM, st.channelReport(this.s.currentRssi, this.s.noiseFloor));
  }

  /** The loop's delivery of one received packet: RSSI, SNR, then the data (kiss_write_packet). */
  private deliver(p: { bytes: Uint8Array; rssi: number; snrRaw: number }): void {
    const s = this.s;
    s.lastRssi = p.rssi;
    s.lastSnrRaw = p.snrRaw;
    this.frame(C.CMD_STAT_RSSI, [toUint8(p.rssi + FIRMWARE_LIMITS.rssiOffset)]);
    this.frame(C.CMD_STAT_SNR, [p.snrRaw]);
    this.frame(C.CMD_DATA, p.bytes);
    s.delivered++;
  }
}

function be32Bytes(v: number): number[] {
  return [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
}
