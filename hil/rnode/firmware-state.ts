// The emulated firmware's variables (Config.h and RNode_Firmware.ino globals) with their boot values.
import { KISS_CMD } from "../../runtime/wire/kiss.js";
import type { PhyParams } from "./firmware-math.js";
import { AirtimeStats, newCsmaWait, type CsmaWait } from "./firmware-stats.js";

const C = KISS_CMD;
/** current_rssi, last_rssi and noise_floor before they are measured. */
export const UNSET_RSSI = -292;
/** CMD_L: longest command argument kept. */
const CMD_L = 64;

/** A transmission in progress (flush_queue / pop_queue). */
export interface Flush {
  packets: Uint8Array[];
  next: number;
}

export interface FirmwareState {
  inFrame: boolean;
  escape: boolean;
  command: number;
  frameLen: number;
  cmdbuf: Uint8Array;
  current: number[];
  queue: { bytes: Uint8Array | null; length: number }[];
  queuedBytes: number;
  backlog: number[];
  busyUntilMs: number | null;
  flush: Flush | null;
  lastTx: number[] | null;
  online: boolean;
  onlineSinceMs: number;
  freq: number;
  bw: number;
  txp: number;
  sf: number;
  cr: number;
  implicitLength: number;
  promisc: boolean;
  extFramebuffer: boolean;
  phy: PhyParams | null;
  stLimit: number;
  ltLimit: number;
  airtimeLock: boolean;
  stats: AirtimeStats;
  statusNextMs: number;
  pmuNextMs: number | null;
  pmuCount: number;
  csma: CsmaWait;
  csmaWakeMs: number | null;
  currentRssi: number;
  noiseFloor: number;
  lastRssi: number;
  lastSnrRaw: number;
  rxQueue: { bytes: Uint8Array; rssi: number; snrRaw: number }[];
  pendingSplit: { seq: number; bytes: Uint8Array } | null;
  transmitted: number;
  delivered: number;
}

/** Config.h initial values. */
export function freshState(): FirmwareState {
  return {
    inFrame: false, escape: false, command: C.CMD_UNKNOWN, frameLen: 0, cmdbuf: new Uint8Array(CMD_L),
    current: [], queue: [], queuedBytes: 0, backlog: [], busyUntilMs: null, flush: null, lastTx: null,
    online: false, onlineSinceMs: 0, freq: 0, bw: 0, txp: 0xff, sf: 0, cr: 5, implicitLength: 0, promisc: false, extFramebuffer: false, phy: null,
    stLimit: 0, ltLimit: 0, airtimeLock: false, stats: new AirtimeStats(),
    statusNextMs: 0, pmuNextMs: null, pmuCount: 0, csma: newCsmaWait(0), csmaWakeMs: null,
    currentRssi: UNSET_RSSI, noiseFloor: UNSET_RSSI, lastRssi: UNSET_RSSI, lastSnrRaw: 0x80, rxQueue: [], pendingSplit: null, transmitted: 0, delivered: 0,
  };
}
