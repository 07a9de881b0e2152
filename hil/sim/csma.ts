// Carrier-sense timing of a simulated radio, as RNode firmware 1.86 computes it (updateBitrate via
// hil/rnode/firmware-math.ts): a slot of 12 symbols (24..100 ms; 6 ms floor above 30 kbit/s), DIFS of two
// slots, and a contention window of 0..14 slots (the firmware's first band, cw_min 0, cw_max 15).
import { phyParams } from "../rnode/firmware-math.js";
import type { RadioSettings } from "../medium/medium.js";

export interface CsmaTiming {
  slotMs: number;
  difsMs: number;
  windowSlots: number;
}

export function csmaTiming(s: RadioSettings): CsmaTiming {
  const p = phyParams(s.spreadingFactor, s.bandwidthHz, s.codingRate);
  return { slotMs: p.csmaSlotMs, difsMs: p.difsMs, windowSlots: 15 };
}
