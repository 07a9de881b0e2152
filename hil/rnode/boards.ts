// What an emulated RNode reports about its hardware and which firmware features its build has
// (RNode_Firmware 1.86 Boards.h: board, platform and MCU codes, modem, PMU/display; Power.h: battery and
// temperature reports). Data only: the emulator branches on these fields, never on a board's name.
import type { LoraChip } from "../medium/airtime.js";

export interface EmulatedBoard {
  /** BOARD_MODEL code reported for CMD_BOARD. */
  boardCode: number;
  /** PLATFORM code (CMD_PLATFORM): ESP32 0x80, NRF52 0x70. */
  platform: number;
  /** MCU_VARIANT code (CMD_MCU): ESP32 0x81, NRF52 0x71. */
  mcu: number;
  modem: LoraChip;
  /** Highest TX power the command handler accepts (serial_callback: 17 for SX127x, 22 for SX1262 without PA). */
  maxTxPowerDbm: number;
  /** A PMU or ADC battery measurement: CMD_STAT_BAT every 5 s. */
  battery: boolean;
  /** ESP32-S3 builds read the die temperature: CMD_STAT_TEMP with each battery report. */
  temperature: boolean;
  /** HAS_DISPLAY: answers CMD_FB_EXT, CMD_FB_READ and CMD_DISP_READ. */
  display: boolean;
  /** Text the boot ROM prints on the serial line at reset (a classic ESP32 behind a USB-UART bridge). */
  romBootLog: string | null;
  /** Boot time from reset to the firmware's first KISS frame. */
  bootMs: number;
}

const ESP32_ROM_LOG =
  "ets Jul 29 2019 12:21:46\r\n\r\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n" +
  "configsip: 0, SPIWP:0xee\r\nmode:DIO, clock div:1\r\nload:0x3fff0030,len:1184\r\nentry 0x400805e4\r\n";

export const EMULATED_BOARDS = Object.freeze({
  /** LilyGO T-Beam (BOARD_TBEAM 0x33, SX1276, AXP PMU, CP210x bridge). */
  tbeam: { boardCode: 0x33, platform: 0x80, mcu: 0x81, modem: "sx127x", maxTxPowerDbm: 17, battery: true, temperature: false, display: true, romBootLog: ESP32_ROM_LOG, bootMs: 600 },
  /** LilyGO T-Beam Supreme (BOARD_TBEAM_S_V1 0x3D, ESP32-S3, SX1262, AXP2101 PMU). */
  "tbeam-supreme": { boardCode: 0x3d, platform: 0x80, mcu: 0x81, modem: "sx126x", maxTxPowerDbm: 22, battery: true, temperature: true, display: true, romBootLog: null, bootMs: 600 },
  /** RAK4631 WisBlock (BOARD_RAK4631 0x51, nRF52840, SX1262, no PMU). */
  rak4631: { boardCode: 0x51, platform: 0x70, mcu: 0x71, modem: "sx126x", maxTxPowerDbm: 22, battery: false, temperature: false, display: true, romBootLog: null, bootMs: 400 },
} satisfies Record<string, EmulatedBoard>);

export type EmulatedBoardName = keyof typeof EMULATED_BOARDS;

export function emulatedBoard(board: EmulatedBoardName | EmulatedBoard): EmulatedBoard {
  if (typeof board !== "string") return board;
  const b = (EMULATED_BOARDS as Record<string, EmulatedBoard>)[board];
  if (b === undefined) throw new RangeError(`unknown emulated board ${board}; known: ${Object.keys(EMULATED_BOARDS).join(", ")}`);
  return b;
}
