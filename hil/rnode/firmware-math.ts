// Arithmetic of RNode_Firmware 1.86 that shows in what it reports: the PHY parameters updateBitrate derives
// (Utilities.h), the airtime cost add_airtime books (RNode_Firmware.ino), the modem drivers' bandwidth steps
// and frequency register (sx127x.cpp, sx126x.cpp), the CSMA band map (update_csma_parameters) and the
// float-to-integer conversions of its reports. Pure functions; float32 where the firmware uses float.
import type { LoraChip } from "../medium/airtime.js";

const f32 = Math.fround;

/** C conversion of an int to uint8_t: modulo 256. */
export function toUint8(v: number): number {
  return ((Math.trunc(v) % 256) + 256) % 256;
}

/** C conversion of a non-negative float to uint16_t (truncation; out-of-range values wrap like the ESP32 does). */
export function toUint16(v: number): number {
  return ((Math.trunc(v) % 65536) + 65536) % 65536;
}

/** Bandwidth after the modem driver's setSignalBandwidth/getSignalBandwidth (same steps on SX127x and SX126x). */
export function modemBandwidthHz(requestedHz: number): number {
  const steps = [7800, 10400, 15600, 20800, 31250, 41700, 62500, 125000, 250000];
  for (const s of steps) if (requestedHz <= s) return s;
  return 500000;
}

/** Frequency read back from the modem: the SX127x register holds f * 2^19 / 32 MHz, truncated; the SX126x driver returns what it was given. */
export function modemFrequencyHz(requestedHz: number, chip: LoraChip): number {
  if (chip !== "sx127x") return requestedHz;
  const frf = Math.floor((requestedHz * 2 ** 19) / 32_000_000);
  return Math.floor((frf * 32_000_000) / 2 ** 19);
}

export interface PhyParams {
  bitrateBps: number;
  symbolRate: number;
  symbolTimeMs: number;
  preambleSymbols: number;
  preambleTimeMs: number;
  csmaSlotMs: number;
  difsMs: number;
  /** lora_limit_rate: above 60 kbit/s the queue is sent one packet per CSMA round. */
  limitRate: boolean;
  /** lora_guard_rate: 14-60 kbit/s, also one packet per round. */
  guardRate: boolean;
  lowDataRate: boolean;
}

/** updateBitrate() for a radio that is on. */
export function phyParams(sf: number, bandwidthHz: number, cr: number): PhyParams {
  const symbolRate = f32(bandwidthHz / 2 ** sf);
  const symbolTimeMs = f32((1 / symbolRate) * 1000);
  const bitrateBps = Math.trunc(sf * ((4 / cr) / (2 ** sf / (bandwidthHz / 1000))) * 1000);
  const fast = bitrateBps > 30_000;
  const limitRate = bitrateBps > 60_000;
  const guardRate = !limitRate && bitrateBps > 14_000;
  const slotMin = fast ? 24 - 18 : 24;
  const preambleTargetMs = fast ? 24 - 18 : 24;
  let csmaSlotMs = Math.trunc(f32(symbolTimeMs * 12));
  if (csmaSlotMs > 100) csmaSlotMs = 100;
  if (csmaSlotMs < 24) csmaSlotMs = slotMin;
  const target = f32(preambleTargetMs / symbolTimeMs);
  const preambleSymbols = target < 18 ? 18 : Math.ceil(target);
  return {
    bitrateBps,
    symbolRate,
    symbolTimeMs,
    preambleSymbols,
    preambleTimeMs: Math.ceil(preambleSymbols * symbolTimeMs),
    csmaSlotMs,
    difsMs: 2 * csmaSlotMs,
    limitRate,
    guardRate,
    lowDataRate: Math.trunc(2 ** sf / Math.max(1, Math.trunc(bandwidthHz / 1000))) > 16,
  };
}

/** add_airtime(): what the firmware books for one LoRa frame of `written` bytes (no rounding up, unlike the air). */
export function firmwareAirtimeCostMs(written: number, sf: number, cr: number, p: PhyParams, chip: LoraChip): number {
  const ldr = p.lowDataRate ? 1 : 0;
  let symbols: number;
  if (chip !== "sx127x" && sf < 7) {
    symbols = ((8 * written + 16 - 4 * sf + 20) / (4 * sf)) * cr + p.preambleSymbols + 2.25 + 8;
  } else {
    symbols = ((8 * written + 16 - 4 * sf + 8 + 20) / (4 * (sf - 2 * ldr))) * cr + p.preambleSymbols + 0.25 + 8;
  }
  return f32(symbols * p.symbolTimeMs);
}

/** update_csma_parameters(): the contention window band for an airtime share (0..1). */
export function csmaBand(airtime: number): number {
  const pct = Math.trunc(airtime * 100);
  if (pct <= 7) return 1;
  const band = Math.trunc(((pct + 7 - 7) * (4 - 2)) / (85 - 7)) + 2; // Arduino map(at, 7, 85, 2, 4)
  return Math.min(band, 4);
}

/** An airtime limit as the firmware stores it from the host's 16-bit value (hundredths of a percent). */
export function airtimeLimitFromWire(at: number): number {
  if (at === 0) return 0;
  const limit = f32(at / (100 * 100));
  return limit >= 1 ? 0 : limit;
}

/** The 16-bit value the firmware reports for a stored airtime limit or share. */
export function airtimeToWire(share: number): number {
  return toUint16(f32(f32(share * 100) * 100));
}
