// LoRa airtime for the medium model and the emulator: the same formulas kosd uses for its duty-cycle
// budget (runtime/radio/airtime.ts), so what the simulator puts on air and what a node charges itself agree.
export {
  RNODE_AIR,
  checkModulation,
  loraFrameAirtimeMs,
  lowDataRateOptimize,
  programmedPreambleSymbols,
  rnodeBitrateBps,
  rnodeFrameLengths,
  rnodePacketAirtimeMs,
  rnodePreambleSymbols,
  symbolTimeMs,
  textbookAirtimeMs,
  type FrameOptions,
  type LoraChip,
  type LoraModulation,
} from "../../runtime/radio/airtime.js";
