// The RNode host protocol (RNode_Firmware 1.86 Framing.h and kiss_indicate_*; RNS 1.4.2 RNodeInterface.py):
// commands a host sends, and the decoding of every frame a radio sends into a typed event. Pure; remote
// input never throws (a frame of the wrong length is "malformed", an unknown command "unknown").
import { concat } from "../../runtime/core/bytes.js";
import { kissEncode, KISS_CMD, type KissFrame } from "../../runtime/wire/kiss.js";

const C = KISS_CMD;

/** RNodeInterface: RSSI_OFFSET, REQUIRED_FW_VER_MAJ/MIN, the frequency tolerance of validateRadioState. */
export const RNODE_PROTOCOL = Object.freeze({
  rssiOffset: 157,
  minFirmware: [1, 52] as const,
  frequencyToleranceHz: 100,
  /** The firmware's MTU (Config.h), and the reference's HW_MTU. */
  mtu: 508,
  /** Power.h PMU_TEMP_OFFSET and the range the reference accepts. */
  temperatureOffset: 120,
  temperatureMinC: -30,
  temperatureMaxC: 90,
});

export type RadioSetting =
  | "frequency"
  | "bandwidth"
  | "txPower"
  | "spreadingFactor"
  | "codingRate"
  | "radioState"
  | "airtimeLimitShort"
  | "airtimeLimitLong";

export type RNodeErrorCode =
  | "port-missing"
  | "port-open-failed"
  | "port-lost"
  | "write-failed"
  | "detect-timeout"
  | "firmware-too-old"
  | "command-timeout"
  | "config-mismatch"
  | "radio-init-failed"
  | "radio-reset"
  | "tx-failed"
  | "link-silent";

/** An operating failure of an RNode link; the driver records it as lastError and retries with backoff. */
export class RNodeError extends Error {
  override name = "RNodeError";
  constructor(
    readonly code: RNodeErrorCode,
    message: string,
    readonly setting?: RadioSetting,
    readonly wanted?: number,
    readonly reported?: number,
  ) {
    super(message);
  }
}

export const RADIO_ERROR_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [C.ERROR_INITRADIO]: "init-radio",
  [C.ERROR_TXFAILED]: "tx-failed",
  [C.ERROR_EEPROM_LOCKED]: "eeprom-locked",
  [C.ERROR_QUEUE_FULL]: "queue-full",
  [C.ERROR_MEMORY_LOW]: "memory-low",
  [C.ERROR_MODEM_TIMEOUT]: "modem-timeout",
});

export interface ChannelStats {
  airtimeShortPct: number;
  airtimeLongPct: number;
  channelLoadShortPct: number;
  channelLoadLongPct: number;
  currentRssiDbm: number;
  noiseFloorDbm: number;
  /** Interference the radio measured, or null when it reports none. */
  interferenceDbm: number | null;
}

export interface PhyStats {
  symbolTimeMs: number;
  symbolRate: number;
  preambleSymbols: number;
  preambleTimeMs: number;
  csmaSlotMs: number;
  difsMs: number;
}

export type DeviceEvent =
  | { kind: "data"; payload: Uint8Array }
  | { kind: "detect"; ok: boolean }
  | { kind: "firmware"; major: number; minor: number }
  | { kind: "platform"; code: number }
  | { kind: "mcu"; code: number }
  | { kind: "board"; code: number }
  | { kind: "setting"; setting: RadioSetting; value: number }
  | { kind: "rssi"; dbm: number }
  | { kind: "snr"; db: number }
  | { kind: "channel"; stats: ChannelStats }
  | { kind: "phy"; stats: PhyStats }
  | { kind: "csma"; band: number; cwMin: number; cwMax: number }
  | { kind: "battery"; state: number; percent: number }
  | { kind: "temperature"; celsius: number | null }
  | { kind: "ready"; ready: boolean }
  | { kind: "error"; code: number; name: string }
  | { kind: "reset" }
  | { kind: "radio-lock"; locked: boolean }
  | { kind: "other"; command: number }
  | { kind: "unknown"; command: number }
  | { kind: "malformed"; command: number; length: number };

/** Commands whose reports the driver has no use for (but which are not unknown). */
const OTHER = new Set<number>([C.CMD_STAT_RX, C.CMD_STAT_TX, C.CMD_RANDOM, C.CMD_IMPLICIT, C.CMD_PROMISC, C.CMD_FB_EXT, C.CMD_FB_READ, C.CMD_DISP_READ, C.CMD_HASHES, C.CMD_DEV_HASH, C.CMD_ROM_READ, C.CMD_CFG_READ, C.CMD_BT_PIN]);

const u16 = (p: Uint8Array, i: number): number => (p[i]! << 8) | p[i + 1]!;
const u32 = (p: Uint8Array): number => ((p[0]! << 24) >>> 0) + (p[1]! << 16) + (p[2]! << 8) + p[3]!;

export function decodeDeviceFrame(f: KissFrame): DeviceEvent {
  const p = f.payload;
  const need = (n: number): boolean => p.length === n;
  const malformed: DeviceEvent = { kind: "malformed", command: f.command, length: p.length };
  switch (f.command) {
    case C.CMD_DATA:
      return { kind: "data", payload: p };
    case C.CMD_DETECT:
      return need(1) ? { kind: "detect", ok: p[0] === C.DETECT_RESP } : malformed;
    case C.CMD_FW_VERSION:
      return need(2) ? { kind: "firmware", major: p[0]!, minor: p[1]! } : malformed;
    case C.CMD_PLATFORM:
      return need(1) ? { kind: "platform", code: p[0]! } : malformed;
    case C.CMD_MCU:
      return need(1) ? { kind: "mcu", code: p[0]! } : malformed;
    case C.CMD_BOARD:
      return need(1) ? { kind: "board", code: p[0]! } : malformed;
    case C.CMD_FREQUENCY:
      return need(4) ? { kind: "setting", setting: "frequency", value: u32(p) } : malformed;
    case C.CMD_BANDWIDTH:
      return need(4) ? { kind: "setting", setting: "bandwidth", value: u32(p) } : malformed;
    case C.CMD_TXPOWER:
      return need(1) ? { kind: "setting", setting: "txPower", value: p[0]! } : malformed;
    case C.CMD_SF:
      return need(1) ? { kind: "setting", setting: "spreadingFactor", value: p[0]! } : malformed;
    case C.CMD_CR:
      return need(1) ? { kind: "setting", setting: "codingRate", value: p[0]! } : malformed;
    case C.CMD_RADIO_STATE:
      return need(1) ? { kind: "setting", setting: "radioState", value: p[0]! } : malformed;
    case C.CMD_ST_ALOCK:
      return need(2) ? { kind: "setting", setting: "airtimeLimitShort", value: u16(p, 0) } : malformed;
    case C.CMD_LT_ALOCK:
      return need(2) ? { kind: "setting", setting: "airtimeLimitLong", value: u16(p, 0) } : malformed;
    case C.CMD_RADIO_LOCK:
      return need(1) ? { kind: "radio-lock", locked: p[0] !== 0 } : malformed;
    case C.CMD_STAT_RSSI:
      return need(1) ? { kind: "rssi", dbm: p[0]! - RNODE_PROTOCOL.rssiOffset } : malformed;
    case C.CMD_STAT_SNR:
      return need(1) ? { kind: "snr", db: (p[0]! << 24 >> 24) * 0.25 } : malformed;
    case C.CMD_STAT_CHTM: {
      if (!need(11)) return malformed;
      const stats: ChannelStats = {
        airtimeShortPct: u16(p, 0) / 100,
        airtimeLongPct: u16(p, 2) / 100,
        channelLoadShortPct: u16(p, 4) / 100,
        channelLoadLongPct: u16(p, 6) / 100,
        currentRssiDbm: p[8]! - RNODE_PROTOCOL.rssiOffset,
        noiseFloorDbm: p[9]! - RNODE_PROTOCOL.rssiOffset,
        interferenceDbm: p[10] === 0xff ? null : p[10]! - RNODE_PROTOCOL.rssiOffset,
      };
      return { kind: "channel", stats };
    }
    case C.CMD_STAT_PHYPRM:
      if (!need(12)) return malformed;
      return {
        kind: "phy",
        stats: { symbolTimeMs: u16(p, 0) / 1000, symbolRate: u16(p, 2), preambleSymbols: u16(p, 4), preambleTimeMs: u16(p, 6), csmaSlotMs: u16(p, 8), difsMs: u16(p, 10) },
      };
    case C.CMD_STAT_CSMA:
      return need(3) ? { kind: "csma", band: p[0]!, cwMin: p[1]!, cwMax: p[2]! } : malformed;
    case C.CMD_STAT_BAT:
      return need(2) ? { kind: "battery", state: p[0]!, percent: Math.min(100, p[1]!) } : malformed;
    case C.CMD_STAT_TEMP: {
      if (!need(1)) return malformed;
      const c = p[0]! - RNODE_PROTOCOL.temperatureOffset;
      return { kind: "temperature", celsius: c >= RNODE_PROTOCOL.temperatureMinC && c <= RNODE_PROTOCOL.temperatureMaxC ? c : null };
    }
    case C.CMD_READY:
      return need(1) ? { kind: "ready", ready: p[0] === 0x01 } : malformed;
    case C.CMD_ERROR:
      return need(1) ? { kind: "error", code: p[0]!, name: RADIO_ERROR_NAMES[p[0]!] ?? `error-0x${p[0]!.toString(16).padStart(2, "0")}` } : malformed;
    case C.CMD_RESET:
      return need(1) && p[0] === C.CMD_RESET_BYTE ? { kind: "reset" } : malformed;
    default:
      return OTHER.has(f.command) ? { kind: "other", command: f.command } : { kind: "unknown", command: f.command };
  }
}

const be32 = (v: number): Uint8Array => Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);

/** Host commands, KISS-framed (FEND, command, escaped argument, FEND). */
export const rnodeCommand = {
  /** Detect, firmware version, platform, MCU and board in one write (RNodeInterface.detect, plus the board). */
  detect: (): Uint8Array =>
    concat(
      kissEncode(C.CMD_DETECT, Uint8Array.of(C.DETECT_REQ)),
      kissEncode(C.CMD_FW_VERSION, Uint8Array.of(0x00)),
      kissEncode(C.CMD_PLATFORM, Uint8Array.of(0x00)),
      kissEncode(C.CMD_MCU, Uint8Array.of(0x00)),
      kissEncode(C.CMD_BOARD, Uint8Array.of(0x00)),
    ),
  /** Just the detect request: the liveness probe. */
  probe: (): Uint8Array => kissEncode(C.CMD_DETECT, Uint8Array.of(C.DETECT_REQ)),
  /** 0 asks for the current value. */
  frequency: (hz: number): Uint8Array => kissEncode(C.CMD_FREQUENCY, be32(hz)),
  /** 0 asks for the current value. */
  bandwidth: (hz: number): Uint8Array => kissEncode(C.CMD_BANDWIDTH, be32(hz)),
  /** 0xFF asks (as for SF, CR and radio state). */
  txPower: (dbm: number): Uint8Array => kissEncode(C.CMD_TXPOWER, Uint8Array.of(dbm & 0xff)),
  spreadingFactor: (sf: number): Uint8Array => kissEncode(C.CMD_SF, Uint8Array.of(sf & 0xff)),
  codingRate: (cr: number): Uint8Array => kissEncode(C.CMD_CR, Uint8Array.of(cr & 0xff)),
  radioState: (state: number): Uint8Array => kissEncode(C.CMD_RADIO_STATE, Uint8Array.of(state & 0xff)),
  /** Airtime limits travel as hundredths of a percent (RNodeInterface.setSTALock: int(percent * 100)). */
  airtimeLimitShort: (wire: number): Uint8Array => kissEncode(C.CMD_ST_ALOCK, Uint8Array.of((wire >> 8) & 0xff, wire & 0xff)),
  airtimeLimitLong: (wire: number): Uint8Array => kissEncode(C.CMD_LT_ALOCK, Uint8Array.of((wire >> 8) & 0xff, wire & 0xff)),
  ready: (): Uint8Array => kissEncode(C.CMD_READY, Uint8Array.of(0x00)),
  reset: (): Uint8Array => kissEncode(C.CMD_RESET, Uint8Array.of(C.CMD_RESET_BYTE)),
  leave: (): Uint8Array => kissEncode(C.CMD_LEAVE, Uint8Array.of(0xff)),
  data: (packet: Uint8Array): Uint8Array => kissEncode(C.CMD_DATA, packet),
};

/** Percent to the 16-bit value on the wire; 100 % and more means no limit, as the firmware treats it. */
export function airtimeLimitToWire(percent: number): number {
  if (!(percent >= 0)) throw new RangeError(`airtime limit ${percent} %: 0..100`);
  return Math.min(0xffff, Math.trunc(percent * 100));
}

/** What the firmware reports back for a limit it was sent (it stores 0 for 100 % and more). */
export function expectedAirtimeLimitReport(wire: number): number {
  return wire >= 10_000 ? 0 : wire;
}

/** The on-air bitrate for the settings (RNodeInterface.updateBitrate). */
export function rnodeBitrateBps(spreadingFactor: number, bandwidthHz: number, codingRate: number): number {
  return spreadingFactor * ((4 / codingRate) / (2 ** spreadingFactor / (bandwidthHz / 1000))) * 1000;
}
