// LoRa time on air as an RNode (firmware 1.86) puts a packet on air: the Semtech formula (SX1276 datasheet
// §4.1.1.7; SX1261/2 datasheet §6.1.4 for SF5/SF6) applied to each LoRa frame the firmware sends, with the
// firmware's preamble, its low-data-rate rule and its split of packets over 254 bytes. Pure; the duty-cycle
// budget and the HIL radio medium (hil/medium) count airtime with these same functions.
//
// How the firmware frames a packet (RNode_Firmware.ino transmit(), Config.h SINGLE_MTU/HEADER_L): every LoRa
// frame starts with a one-byte header; a packet of more than 254 bytes goes out as a first frame of 255
// bytes (header + 254) and a second frame with the header and the rest. The preamble (Utilities.h
// updateBitrate) is 24 ms worth of symbols (6 ms above 30 kbit/s), at least 18. An SX127x gets that count
// minus 4 in its preamble register (sx127x.cpp setPreambleLength), an SX126x/SX128x gets it as is, and the
// radio adds 4.25 symbols to the register's value on air.

export interface LoraModulation {
  spreadingFactor: number;
  bandwidthHz: number;
  /** Reticulum's codingrate, the denominator of 4/5..4/8: 5-8. */
  codingRate: number;
}

/** Chip families as the firmware drives them (boards/chip/*.json `family`). */
export type LoraChip = "sx127x" | "sx126x" | "sx128x";

/** Firmware Config.h and Utilities.h constants. */
export const RNODE_AIR = Object.freeze({
  /** SINGLE_MTU: largest LoRa frame, header included. */
  singleFrameBytes: 255,
  /** HEADER_L. */
  headerBytes: 1,
  /** MTU: largest packet the firmware queues and sends (two frames). */
  mtuBytes: 508,
  preambleSymbolsMin: 18,
  preambleTargetMs: 24,
  preambleFastDeltaMs: 18,
  fastThresholdBps: 30_000,
});

export function checkModulation(m: LoraModulation): void {
  if (!Number.isInteger(m.spreadingFactor) || m.spreadingFactor < 5 || m.spreadingFactor > 12) throw new RangeError(`spreading factor must be 5-12, got ${m.spreadingFactor}`);
  if (!Number.isInteger(m.codingRate) || m.codingRate < 5 || m.codingRate > 8) throw new RangeError(`coding rate must be 5-8 (4/5 to 4/8), got ${m.codingRate}`);
  if (!Number.isFinite(m.bandwidthHz) || m.bandwidthHz <= 0) throw new RangeError(`bandwidth must be a positive number of Hz, got ${m.bandwidthHz}`);
}

/** One symbol: 2^SF / BW. */
export function symbolTimeMs(m: LoraModulation): number {
  checkModulation(m);
  return (2 ** m.spreadingFactor / m.bandwidthHz) * 1000;
}

/**
 * Whether the firmware turns on low data rate optimisation. SX127x/SX126x (handleLowDataRate):
 * long(2^SF / long(BW / 1000)) > 16 in C's integer arithmetic, so SF11 at 125 kHz is off (2048/125 truncates
 * to 16) and SF12 at 125 kHz is on. SX128x: above SF10.
 */
export function lowDataRateOptimize(m: LoraModulation, chip: LoraChip = "sx127x"): boolean {
  checkModulation(m);
  if (chip === "sx128x") return m.spreadingFactor > 10;
  const khz = Math.floor(m.bandwidthHz / 1000);
  return khz > 0 ? Math.floor(2 ** m.spreadingFactor / khz) > 16 : true;
}

/** The firmware's bitrate (updateBitrate): SF * (4/CR) / (2^SF / BW kHz) kbit/s, truncated to bits per second. */
export function rnodeBitrateBps(m: LoraModulation): number {
  checkModulation(m);
  return Math.trunc(m.spreadingFactor * ((4 / m.codingRate) / (2 ** m.spreadingFactor / (m.bandwidthHz / 1000))) * 1000);
}

/** The firmware's preamble count: 24 ms of symbols (6 ms above 30 kbit/s), at least 18. */
export function rnodePreambleSymbols(m: LoraModulation): number {
  const targetMs = RNODE_AIR.preambleTargetMs - (rnodeBitrateBps(m) > RNODE_AIR.fastThresholdBps ? RNODE_AIR.preambleFastDeltaMs : 0);
  const symbols = targetMs / symbolTimeMs(m);
  return symbols < RNODE_AIR.preambleSymbolsMin ? RNODE_AIR.preambleSymbolsMin : Math.ceil(symbols);
}

/** What the chip's preamble register holds for the firmware's count (sx127x.cpp writes count - 4). */
export function programmedPreambleSymbols(firmwareSymbols: number, chip: LoraChip): number {
  return chip === "sx127x" ? firmwareSymbols - 4 : firmwareSymbols;
}

export interface FrameOptions {
  /** N_preamble of the datasheet formula: the value in the chip's preamble register. */
  preambleSymbols: number;
  /** Default true (RNodes always use an explicit header). */
  explicitHeader?: boolean;
  /** Default true (RNodes always send a payload CRC). */
  crc?: boolean;
  /** Default: the firmware's SX127x/SX126x rule. */
  lowDataRateOptimize?: boolean;
}

/**
 * Time on air of one LoRa frame of `payloadBytes`. A real frame carries at most 255 bytes; larger sizes are
 * accepted so the textbook single-frame figure of a whole packet can be computed for comparison.
 */
export function loraFrameAirtimeMs(payloadBytes: number, m: LoraModulation, o: FrameOptions): number {
  checkModulation(m);
  if (!Number.isInteger(payloadBytes) || payloadBytes < 0 || payloadBytes > 65_535) throw new RangeError(`payload must be 0-65535 bytes, got ${payloadBytes}`);
  if (!Number.isFinite(o.preambleSymbols) || o.preambleSymbols < 0) throw new RangeError(`preamble must be 0 or more symbols, got ${o.preambleSymbols}`);
  const sf = m.spreadingFactor;
  const crcBits = (o.crc ?? true) ? 16 : 0;
  const headerBits = (o.explicitHeader ?? true) ? 20 : 0;
  if (sf < 7) {
    // SX126x/SX128x SF5 and SF6: 6.25 extra preamble symbols, no low data rate optimisation.
    const payloadSymbols = 8 + Math.ceil(Math.max(8 * payloadBytes + crcBits - 4 * sf + headerBits, 0) / (4 * sf)) * m.codingRate;
    return (o.preambleSymbols + 6.25 + payloadSymbols) * symbolTimeMs(m);
  }
  const de = (o.lowDataRateOptimize ?? lowDataRateOptimize(m)) ? 1 : 0;
  const payloadSymbols = 8 + Math.ceil(Math.max(8 * payloadBytes + crcBits - 4 * sf + 8 + headerBits, 0) / (4 * (sf - 2 * de))) * m.codingRate;
  return (o.preambleSymbols + 4.25 + payloadSymbols) * symbolTimeMs(m);
}

/** LoRa frame lengths (header included) the firmware sends for a packet of 1-508 bytes: one, or two above 254. */
export function rnodeFrameLengths(packetBytes: number): number[] {
  if (!Number.isInteger(packetBytes) || packetBytes < 1 || packetBytes > RNODE_AIR.mtuBytes) throw new RangeError(`an RNode packet is 1-${RNODE_AIR.mtuBytes} bytes, got ${packetBytes}`);
  const firstMax = RNODE_AIR.singleFrameBytes - RNODE_AIR.headerBytes;
  if (packetBytes <= firstMax) return [packetBytes + RNODE_AIR.headerBytes];
  return [RNODE_AIR.singleFrameBytes, packetBytes - firstMax + RNODE_AIR.headerBytes];
}

/**
 * Time on air of one packet sent by an RNode, every frame and preamble included. `raw` is a promiscuous-mode
 * frame: no header, at most 255 bytes, one frame.
 */
export function rnodePacketAirtimeMs(packetBytes: number, m: LoraModulation, chip: LoraChip = "sx127x", raw = false): number {
  const preambleSymbols = programmedPreambleSymbols(rnodePreambleSymbols(m), chip);
  const frames = raw ? [Math.min(packetBytes, RNODE_AIR.singleFrameBytes)] : rnodeFrameLengths(packetBytes);
  const opts: FrameOptions = { preambleSymbols, lowDataRateOptimize: lowDataRateOptimize(m, chip) };
  let total = 0;
  for (const length of frames) total += loraFrameAirtimeMs(length, m, opts);
  return total;
}

/** The textbook figure: one frame of the whole payload with the common 8-symbol preamble. */
export function textbookAirtimeMs(payloadBytes: number, m: LoraModulation): number {
  return loraFrameAirtimeMs(payloadBytes, m, { preambleSymbols: 8 });
}
