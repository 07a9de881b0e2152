// KISS framing between a host and an RNode (RNode_Firmware Framing.h; RNS 1.4.2 RNodeInterface.py,
// RNodeMultiInterface.py and KISSInterface.py): FEND, a raw command byte, the FESC-escaped payload, FEND.
import { assertByte } from "../core/assert.js";
import { MAX_FRAME_LENGTH } from "../core/limits.js";

export const KISS_FEND = 0xc0;
export const KISS_FESC = 0xdb;
export const KISS_TFEND = 0xdc;
export const KISS_TFESC = 0xdd;

/**
 * RNode host protocol constants: every name in RNode_Firmware/Framing.h with its value, plus the host-side
 * names only found in the reference's KISS classes (RADIO_STATE_ASK, PLATFORM_*, CMD_INTERFACES, CMD_SEL_INT,
 * CMD_INTn_DATA, ERROR_INVALID_*). Values sharing a number are different namespaces (a command byte, a payload
 * byte, an error code), e.g. CMD_BT_CTRL and DETECT_RESP are both 0x46.
 *
 * Multi-radio RNodes (RNodeMultiInterface.py, firmware >= 1.74; not in this Framing.h): the host selects a
 * radio with a frame [FEND, CMD_SEL_INT, index, FEND] sent right before the command frame it applies to, e.g.
 * FEND 1F 02 FEND FEND 00 <escaped packet> FEND; the device does the same before each received packet, and
 * the host delivers a CMD_DATA frame to the radio last selected. The CMD_INTn_DATA table exists in the
 * reference but only 0x00 ends a data frame there; note CMD_INT5_DATA equals CMD_ERROR and CMD_INT8_DATA
 * equals FEND, so those two can never be sent as commands. CMD_INTERFACES (0x71) is answered with two raw
 * bytes per radio: index, chip type (0x0X SX127x, 0x1X SX126x, 0x2X SX128x).
 */
export const KISS_CMD = Object.freeze({
  CMD_UNKNOWN: 0xfe, // decoder sentinel in the firmware and reference; never a real command
  CMD_DATA: 0x00,
  CMD_FREQUENCY: 0x01,
  CMD_BANDWIDTH: 0x02,
  CMD_TXPOWER: 0x03,
  CMD_SF: 0x04,
  CMD_CR: 0x05,
  CMD_RADIO_STATE: 0x06,
  CMD_RADIO_LOCK: 0x07,
  CMD_DETECT: 0x08,
  CMD_IMPLICIT: 0x09,
  CMD_LEAVE: 0x0a,
  CMD_ST_ALOCK: 0x0b,
  CMD_LT_ALOCK: 0x0c,
  CMD_PROMISC: 0x0e,
  CMD_READY: 0x0f,
  CMD_SEL_INT: 0x1f,

  CMD_STAT_RX: 0x21,
  CMD_STAT_TX: 0x22,
  CMD_STAT_RSSI: 0x23,
  CMD_STAT_SNR: 0x24,
  CMD_STAT_CHTM: 0x25,
  CMD_STAT_PHYPRM: 0x26,
  CMD_STAT_BAT: 0x27,
  CMD_STAT_CSMA: 0x28,
  CMD_STAT_TEMP: 0x29,
  CMD_BLINK: 0x30,
  CMD_RANDOM: 0x40,

  CMD_FB_EXT: 0x41,
  CMD_FB_READ: 0x42,
  CMD_FB_WRITE: 0x43,
  CMD_FB_READL: 0x44,
  CMD_DISP_READ: 0x66,
  CMD_DISP_INT: 0x45,
  CMD_DISP_ADDR: 0x63, // rnodeconf spells it CMD_DISP_ADR
  CMD_DISP_BLNK: 0x64,
  CMD_DISP_ROT: 0x67,
  CMD_DISP_RCND: 0x68,
  CMD_NP_INT: 0x65,
  CMD_BT_CTRL: 0x46,
  CMD_BT_UNPAIR: 0x70,
  CMD_BT_PIN: 0x62,
  CMD_DIS_IA: 0x69,
  CMD_WIFI_MODE: 0x6a,
  CMD_WIFI_SSID: 0x6b,
  CMD_WIFI_PSK: 0x6c,
  CMD_WIFI_CHN: 0x6e,
  CMD_WIFI_IP: 0x84,
  CMD_WIFI_NM: 0x85,

  CMD_BOARD: 0x47,
  CMD_PLATFORM: 0x48,
  CMD_MCU: 0x49,
  CMD_FW_VERSION: 0x50,
  CMD_CFG_READ: 0x6d,
  CMD_ROM_READ: 0x51,
  CMD_ROM_WRITE: 0x52,
  CMD_CONF_SAVE: 0x53,
  CMD_CONF_DELETE: 0x54,
  CMD_DEV_HASH: 0x56,
  CMD_DEV_SIG: 0x57,
  CMD_FW_HASH: 0x58,
  CMD_HASHES: 0x60,
  CMD_FW_UPD: 0x61,
  CMD_UNLOCK_ROM: 0x59, // rnodeconf calls it CMD_ROM_WIPE
  ROM_UNLOCK_BYTE: 0xf8,
  CMD_RESET: 0x55,
  CMD_RESET_BYTE: 0xf8,
  CMD_INTERFACES: 0x71,

  CMD_LOG: 0x80,
  CMD_TIME: 0x81,
  CMD_MUX_CHAIN: 0x82,
  CMD_MUX_DSCVR: 0x83,

  CMD_INT0_DATA: 0x00,
  CMD_INT1_DATA: 0x10,
  CMD_INT2_DATA: 0x20,
  CMD_INT3_DATA: 0x70,
  CMD_INT4_DATA: 0x75,
  CMD_INT5_DATA: 0x90,
  CMD_INT6_DATA: 0xa0,
  CMD_INT7_DATA: 0xb0,
  CMD_INT8_DATA: 0xc0,
  CMD_INT9_DATA: 0xd0,
  CMD_INT10_DATA: 0xe0,
  CMD_INT11_DATA: 0xf0,

  DETECT_REQ: 0x73,
  DETECT_RESP: 0x46,

  RADIO_STATE_OFF: 0x00,
  RADIO_STATE_ON: 0x01,
  RADIO_STATE_ASK: 0xff,

  // Split-packet header on the air (first byte of a LoRa frame), not KISS, but defined in Framing.h.
  NIBBLE_SEQ: 0xf0,
  NIBBLE_FLAGS: 0x0f,
  FLAG_SPLIT: 0x01,
  SEQ_UNSET: 0xff,

  CMD_ERROR: 0x90,
  ERROR_INITRADIO: 0x01,
  ERROR_TXFAILED: 0x02,
  ERROR_EEPROM_LOCKED: 0x03,
  ERROR_QUEUE_FULL: 0x04,
  ERROR_MEMORY_LOW: 0x05,
  ERROR_MODEM_TIMEOUT: 0x06,
  ERROR_INVALID_FIRMWARE: 0x10, // Android RNodeInterface.py
  ERROR_INVALID_BLE_MTU: 0x20, // Android RNodeInterface.py
  ERROR_INVALID_CONFIG: 0x40, // Android RNodeInterface.py

  PLATFORM_AVR: 0x90,
  PLATFORM_ESP32: 0x80,
  PLATFORM_NRF52: 0x70,
});

/** Plain KISS TNC commands (KISSInterface.py), for non-RNode modems. */
export const KISS_TNC_CMD = Object.freeze({
  CMD_DATA: 0x00,
  CMD_TXDELAY: 0x01,
  CMD_P: 0x02,
  CMD_SLOTTIME: 0x03,
  CMD_TXTAIL: 0x04,
  CMD_FULLDUPLEX: 0x05,
  CMD_SETHARDWARE: 0x06,
  CMD_READY: 0x0f,
  CMD_RETURN: 0xff,
});

export interface KissFrame {
  /** The raw command byte (RNodeInterface keeps it whole; KISSInterface and TCP KISS mask it with 0x0F). */
  command: number;
  /** Unescaped payload; may be empty. */
  payload: Uint8Array;
}

/**
 * FEND, command, escaped payload, FEND. Like the reference and the firmware, the command byte is not escaped;
 * so a command of FEND, FESC or CMD_UNKNOWN (which receivers skip) cannot be framed and is a RangeError.
 */
export function kissEncode(command: number, payload: Uint8Array): Uint8Array {
  assertByte(command, "kissEncode: command");
  if (command === KISS_FEND || command === KISS_FESC || command === KISS_CMD.CMD_UNKNOWN) {
    throw new RangeError(`kissEncode: command 0x${command.toString(16)} cannot be sent unescaped`);
  }
  if (!(payload instanceof Uint8Array)) throw new TypeError("kissEncode: payload must be a Uint8Array");
  let specials = 0;
  for (let i = 0; i < payload.length; i++) {
    const b = payload[i]!;
    if (b === KISS_FEND || b === KISS_FESC) specials++;
  }
  const out = new Uint8Array(payload.length + specials + 3);
  out[0] = KISS_FEND;
  out[1] = command;
  let o = 2;
  for (let i = 0; i < payload.length; i++) {
    const b = payload[i]!;
    if (b === KISS_FEND) {
      out[o++] = KISS_FESC;
      out[o++] = KISS_TFEND;
    } else if (b === KISS_FESC) {
      out[o++] = KISS_FESC;
      out[o++] = KISS_TFESC;
    } else {
      out[o++] = b;
    }
  }
  out[o] = KISS_FEND;
  return out;
}

/**
 * An FESC followed by anything but TFEND/TFESC. "keep" (default) is the reference's read loop: FESC arms the
 * escape (a second FESC re-arms it, so the first vanishes), the next byte is translated if it is TFEND or
 * TFESC and otherwise kept as is, and an FESC left armed at the closing FEND adds nothing. "drop" discards
 * the frame.
 */
export type KissBadEscapePolicy = "keep" | "drop";

export interface KissDecoderOptions {
  /** Longest unescaped payload (command byte excluded) passed up; longer frames are dropped. */
  maxFrameLength?: number;
  badEscape?: KissBadEscapePolicy;
}

/** Counters. FEND FEND (no command byte) is an empty frame: neither a frame nor a drop. */
export interface KissStats {
  /** Frames returned by push. */
  frames: number;
  /** Every byte given to push. */
  bytesIn: number;
  /** Bytes outside any frame: before the first FEND, CMD_UNKNOWN command bytes, the rest of a dropped frame. */
  skippedBytes: number;
  /** Invalid escape sequences seen, whatever the policy. */
  badEscapes: number;
  dropped: {
    /** Frames whose payload exceeded maxFrameLength (counted when the limit is crossed). */
    oversize: number;
    /** Frames dropped for an invalid escape (only with badEscape: "drop"). */
    badEscape: number;
  };
}

const OUTSIDE = 0; // no FEND seen yet
const AWAIT_COMMAND = 1; // FEND seen, command byte next
const IN_FRAME = 2;
const DISCARD = 3; // dropping the current frame until the next FEND

const INITIAL_CAPACITY_BYTES = 1024;

/**
 * Incremental KISS decoder; never throws on input. Every FEND closes the frame in progress and opens the next;
 * as in RNodeInterface.readLoop and the firmware's serial_callback, the byte after a FEND is the raw command
 * and a command byte of CMD_UNKNOWN (0xFE) is skipped (the next byte is read as the command).
 * One deliberate difference: after the FEND closing a CMD_DATA frame the reference leaves frame mode until
 * another FEND, so a single lost FEND costs it the following frame too; here that FEND also opens the next
 * frame, as it does in the reference after any other command. Streams framed FEND..FEND (the firmware's and
 * the reference's) decode the same either way.
 */
export class KissDecoder {
  readonly stats: KissStats = {
    frames: 0,
    bytesIn: 0,
    skippedBytes: 0,
    badEscapes: 0,
    dropped: { oversize: 0, badEscape: 0 },
  };
  readonly maxFrameLength: number;
  readonly badEscape: KissBadEscapePolicy;
  private buf: Uint8Array;
  private len = 0;
  private state = OUTSIDE;
  private command = 0;
  private escaped = false;

  constructor(options: KissDecoderOptions = {}) {
    this.maxFrameLength = options.maxFrameLength ?? MAX_FRAME_LENGTH;
    this.badEscape = options.badEscape ?? "keep";
    if (!Number.isInteger(this.maxFrameLength) || this.maxFrameLength < 1) {
      throw new RangeError(`maxFrameLength must be a positive integer, got ${this.maxFrameLength}`);
    }
    if (this.badEscape !== "keep" && this.badEscape !== "drop") throw new RangeError("badEscape: keep or drop");
    this.buf = new Uint8Array(Math.min(INITIAL_CAPACITY_BYTES, this.maxFrameLength));
  }

  /** Payload bytes of the frame in progress. */
  get bufferedBytes(): number {
    return this.len;
  }

  /** Size of the internal buffer; never more than maxFrameLength. */
  get bufferCapacityBytes(): number {
    return this.buf.length;
  }

  /** Forgets any partial frame; the next frame starts at the next FEND. */
  reset(): void {
    this.len = 0;
    this.escaped = false;
    this.state = OUTSIDE;
  }

  push(chunk: Uint8Array): KissFrame[] {
    if (!(chunk instanceof Uint8Array)) throw new TypeError("KissDecoder.push: chunk must be a Uint8Array");
    const frames: KissFrame[] = [];
    this.stats.bytesIn += chunk.length;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === KISS_FEND) this.onFend(frames);
      else if (this.state === IN_FRAME) this.onPayloadByte(b);
      else if (this.state === AWAIT_COMMAND && b !== KISS_CMD.CMD_UNKNOWN) {
        this.command = b;
        this.state = IN_FRAME;
      } else this.stats.skippedBytes++;
    }
    return frames;
  }

  private onFend(frames: KissFrame[]): void {
    if (this.state === IN_FRAME) {
      if (this.escaped) this.onBadEscape(); // an FESC left armed adds nothing
      if (this.state === IN_FRAME) {
        frames.push({ command: this.command, payload: this.buf.slice(0, this.len) });
        this.stats.frames++;
      }
    }
    this.state = AWAIT_COMMAND;
    this.len = 0;
    this.escaped = false;
  }

  private onPayloadByte(b: number): void {
    if (b === KISS_FESC) {
      if (this.escaped && !this.onBadEscape()) return;
      this.escaped = true;
      return;
    }
    if (this.escaped) {
      this.escaped = false;
      if (b === KISS_TFEND) b = KISS_FEND;
      else if (b === KISS_TFESC) b = KISS_FESC;
      else if (!this.onBadEscape()) return;
    }
    if (this.len === this.buf.length && !this.makeRoom()) return;
    this.buf[this.len++] = b;
  }

  /** Counts a bad escape; returns true when the frame goes on (keep), false when it is now being dropped. */
  private onBadEscape(): boolean {
    this.stats.badEscapes++;
    if (this.badEscape === "keep") return true;
    this.stats.dropped.badEscape++;
    this.state = DISCARD;
    this.len = 0;
    return false;
  }

  /** Grows the buffer, or drops the frame when it would pass maxFrameLength; returns whether there is room. */
  private makeRoom(): boolean {
    if (this.len >= this.maxFrameLength) {
      this.stats.dropped.oversize++;
      this.state = DISCARD;
      this.len = 0;
      return false;
    }
    const next = new Uint8Array(Math.min(this.buf.length * 2, this.maxFrameLength));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    return true;
  }
}
