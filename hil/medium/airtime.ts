// LoRa time on air as an RNode (firmware 1.86) puts a packet on air: the Semtech formula (SX1276 datasheet
// §4.1.1.7, SX1261/2 datasheet §6.1.4) applied to each LoRa frame the firmware sends, with the firmware's
// preamble length, its low-data-rate rule and its split of packets over 254 bytes into two frames.
//
// How the firmware frames a packet (RNode_Firmware.ino transmit(), Config.h SINGLE_MTU/HEADER_L): every LoRa
// frame starts with a one-byte header (random sequence nibble, FLAG_SPLIT); a packet of more than 254 bytes
// goes out as a first frame of 255 bytes (header + 254) and a second frame with the header and the rest.
// The preamble (Utilities.h updateBitrate) is 24 ms worth of symbols (6 ms above 30 kbit/s), at least 18.
// An SX127x gets that count minus 4 in its preamble register (sx127x.cpp setPreambleLength) and an SX126x
// gets it as is, so on air the SX127x sends preamble + 0.25 symbols and the SX126x preamble + 4.25; the
// firmware's own airtime accounting (add_airtime) uses preamble + 0.25 for both.
import { assert } from "../../runtime/core/assert.js";

export interface LoraModulation {
  spreadingFactor: number;
  bandwidthHz: number;
  /** Coding rate denominator: 5..8 for 4/5..4/8. */
  codingRate: number;
}

export type LoraChip = "sx127x" | "sx126x";

/** Firmware Config.h and Utilities.h constants. */
export const RNODE_AIR = Object.freeze({
  /** SINGLE_MTU: largest LoRa frame, header included. */
  singleFrameBytes: 255,
  /** HEADER_L. */
  headerBytes: 1,
  /** MTU: largest packet the firmware queues and sends. */
  mtuBytes: 508,
  preambleSymbolsMin: 18,
  preambleTargetMs: 24,
  preambleFastDeltaMs: 18,
  fastThresholdBps: 30_000,
  limitThresholdBps: 60_000,
  guardThresholdBps: 14_000,
});

export function checkModulation(m: LoraModulation): void {
  if (!Number.isInteger(m.spreadingFactor) || m.spreadingFactor < 5 || m.spreadingFactor > 12) throw new RangeError(`spreading factor ${m.spreadingFactor}: 5..12`);
  if (!Number.isInteger(m.codingRate) || m.codingRate < 5 || m.codingRate > 8) throw new RangeError(`coding rate ${m.codingRate}: 5..8 (4/5..4/8)`);
  if (!(m.bandwidthHz > 0)) throw new RangeError(`bandwidth ${m.bandwidthHz} must be positive`);
}

export function symbolTimeMs(m: LoraModulation): number {
  return (2 ** m.spreadingFactor / m.bandwidthHz) * 1000;
}

/**
 * The firmware's rule (sx127x/sx126x handleLowDataRate): long(2^SF / (BW / 1000)) > 16 in C integer arithmetic,
 * so SF11 at 125 kHz is off (2048 / 125 = 16) and SF12 at 125 kHz is on.
 */
export function lowDataRateOptimize(m: LoraModulation): boolean {
  const khz = Math.trunc(m.bandwidthHz / 1000);
  return khz > 0 ? Math.trunc(2 ** m.spreadingFactor / khz) > 16 : true;
}

/** On-air bitrate as the firmware and RNodeInterface.updateBitrate compute it: SF * (4/CR) / (2^SF / BW kHz) kbit/s. */
export function rnodeBitrateBps(m: LoraModulation): number {
  return m.spreadingFactor * ((4 / m.codingRate) / (2 ** m.spreadingFactor / (m.bandwidthHz / 1000))) * 1000;
}

/** The firmware's preamble length in symbols (updateBitrate): 24 ms of symbols, 6 ms above 30 kbit/s, at least 18. */
export function rnodePreambleSymbols(m: LoraModulation): number {
  const fast = Math.trunc(rnodeBitrateBps(m)) > RNODE_AIR.fastThresholdBps;
  const targetMs = RNODE_AIR.preambleTargetMs - (fast ? RNODE_AIR.preambleFastDeltaMs : 0);
  const symbols = targetMs / symbolTimeMs(m);
  return symbols < RNODE_AIR.preambleSymbolsMin ? RNODE_AIR.preambleSymbolsMin : Math.ceil(symbols);
}

/** Preamble symbols programmed into the chip for the firmware's count (sx127x.cpp writes count - 4). */
export function programmedPreambleSymbols(firmwareSymbols: number, chip: LoraChip): number {
  return chip === "sx127x" ? firmwareSymbols - 4 : firmwareSymbols;
}

export interface FrameOptions {
  /** N_preamble of the datasheet formula: the value in the chip's preamble register. */
  preambleSymbols: number;
  explicitHeader?: boolean;
  crc?: boolean;
  /** Defaults to the firmware's rule. */
  lowDataRateOptimize?: boolean;
}

/** Time on air of one LoRa frame of `payloadBytes` (datasheet formula; SF5/SF6 per the SX126x datasheet). */
export function loraFrameAirtimeMs(payloadBytes: number, m: LoraModulation, o: FrameOptions): number {
  checkModulation(m);
  if (!Number.isInteger(payloadBytes) || payloadBytes < 0 || payloadBytes > 255) throw new RangeError(`LoRa frame of ${payloadBytes} bytes: 0..255`);
  if (!(o.preambleSymbols >= 0)) throw new RangeError("preambleSymbols must be >= 0");
  const sf = m.spreadingFactor;
  const crcBits = (o.crc ?? true) ? 16 : 0;
  const headerBits = (o.explicitHeader ?? true) ? 20 : 0;
  const de = (o.lowDataRateOptimize ?? lowDataRateOptimize(m)) ? 1 : 0;
  let payloadSymbols: number;
  let preambleExtra: number;
  if (sf < 7) {
    payloadSymbols = 8 + Math.ceil(Math.max(8 * payloadBytes + crcBits - 4 * sf + headerBits, 0) / (4 * sf)) * m.codingRate;
    preambleExtra = 6.25;
  } else {
    payloadSymbols = 8 + Math.ceil(Math.max(8 * payloadBytes + crcBits - 4 * sf + 8 + headerBits, 0) / (4 * (sf - 2 * de))) * m.codingRate;
    preambleExtra = 4.25;
  }
  return (o.preambleSymbols + preambleExtra + payloadSymbols) * symbolTimeMs(m);
}

/** LoRa frame lengths (header included) the firmware sends for a packet of `packetBytes` (1..508). */
export function rnodeFrameLengths(packetBytes: number): number[] {
  if (!Number.isInteger(packetBytes) || packetBytes < 1 || packetBytes > RNODE_AIR.mtuBytes) throw new RangeError(`packet of ${packetBytes} bytes: 1..${RNODE_AIR.mtuBytes}`);
  const firstMax = RNODE_AIR.singleFrameBytes - RNODE_AIR.headerBytes;
  if (packetBytes <= firstMax) return [packetBytes + RNODE_AIR.headerBytes];
  const frames = [RNODE_AIR.singleFrameBytes, packetBytes - firstMax + RNODE_AIR.headerBytes];
  assert(frames[1]! <= RNODE_AIR.singleFrameBytes, "a packet fits two frames");
  return frames;
}

/**
 * Time on air of one packet sent by an RNode, every frame and preamble included. `raw` is a promiscuous-mode
 * frame: no header, at most 255 bytes, one frame.
 */
export function rnodePacketAirtimeMs(packetBytes: number, m: LoraModulation, chip: LoraChip = "sx127x", raw = false): number {
  const preambleSymbols = programmedPreambleSymbols(rnodePreambleSymbols(m), chip);
  const frames = raw ? [Math.min(packetBytes, RNODE_AIR.singleFrameBytes)] : rnodeFrameLengths(packetBytes);
  let total = 0;
  for (const length of frames) total += loraFrameAirtimeMs(length, m, { preambleSymbols });
  return total;
}

/** The textbook figure: one frame of the whole payload with the common 8-symbol preamble. */
export function textbookAirtimeMs(payloadBytes: number, m: LoraModulation): number {
  const sf = m.spreadingFactor;
  const de = lowDataRateOptimize(m) ? 1 : 0;
  const payloadSymbols = 8 + Math.ceil(Math.max(8 * payloadBytes - 4 * sf + 44, 0) / (4 * (sf - 2 * de))) * m.codingRate;
  return (8 + 4.25 + payloadSymbols) * symbolTimeMs(m);
}
