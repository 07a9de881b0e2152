// Bringing an RNode up on an open serial link: detection (RNodeInterface.detect and validate_firmware) and
// configuration confirmed by reading every setting back once the radio is on (stricter than
// RNodeInterface.validateRadioState, which compares the reports sent before the radio applied them).
import { KISS_CMD } from "../../runtime/wire/kiss.js";
import { airtimeLimitToWire, expectedAirtimeLimitReport, rnodeCommand as cmd, RNODE_PROTOCOL, RNodeError, type DeviceEvent, type RadioSetting } from "./protocol.js";
import type { RNodeLink } from "./carrier.js";

export interface DeviceInfo {
  detected: boolean;
  /** "major.minor" */
  firmware: string | null;
  platform: number | null;
  mcu: number | null;
  board: number | null;
}

export interface RadioConfig {
  port: string;
  frequencyHz: number;
  bandwidthHz: number;
  txPowerDbm: number;
  spreadingFactor: number;
  codingRate: number;
  airtimeLimitShortPct: number | null;
  airtimeLimitLongPct: number | null;
  detectTimeoutMs: number;
  detectRetryMs: number;
  commandTimeoutMs: number;
}

/** How long to wait for the board report after the others (firmware before CMD_BOARD existed sends none). */
const BOARD_WAIT_MS = 250;

/**
 * Sends detect, firmware version, platform, MCU and board requests every detectRetryMs until the radio has
 * answered the first four (the driver fills `device` from the events); then checks the firmware version.
 */
export async function detectRadio(link: RNodeLink, device: DeviceInfo, o: RadioConfig): Promise<void> {
  const deadline = performance.now() + o.detectTimeoutMs;
  const complete = (): boolean => device.detected && device.firmware !== null && device.platform !== null && device.mcu !== null;
  const retry = new RNodeError("detect-timeout", "retry");
  while (!complete()) {
    const left = deadline - performance.now();
    if (left <= 0) {
      throw new RNodeError("detect-timeout", `no RNode answered on ${o.port} within ${o.detectTimeoutMs} ms (not an RNode, the wrong port, or still booting)`);
    }
    link.write(cmd.detect());
    await link.waitFor((e) => (isDeviceInfo(e) && complete() ? true : undefined), Math.min(o.detectRetryMs, left), () => retry).catch((e: unknown) => {
      if (e !== retry) throw e;
    });
  }
  if (device.board === null) await link.waitFor((e) => (e.kind === "board" ? true : undefined), BOARD_WAIT_MS, () => retry).catch(() => undefined);
  const [major, minor] = device.firmware!.split(".").map(Number) as [number, number];
  const [reqMajor, reqMinor] = RNODE_PROTOCOL.minFirmware;
  if (major < reqMajor || (major === reqMajor && minor < reqMinor)) {
    throw new RNodeError("firmware-too-old", `${o.port}: RNode firmware ${device.firmware} is older than ${reqMajor}.${reqMinor}; update it with rnodeconf`);
  }
}

/** Sends each setting and the airtime limits, turns the radio on, reads everything back and compares. */
export async function configureRadio(link: RNodeLink, o: RadioConfig): Promise<void> {
  const ask = (setting: RadioSetting, bytes: Uint8Array): Promise<number> => {
    const reply = link.waitFor((e) => (e.kind === "setting" && e.setting === setting ? e.value : undefined), o.commandTimeoutMs, () =>
      new RNodeError("command-timeout", `${o.port}: no ${setting} report within ${o.commandTimeoutMs} ms`, setting));
    link.write(bytes);
    return reply;
  };
  const check = (setting: RadioSetting, wanted: number, reported: number, tolerance: number, show: (v: number) => string): void => {
    if (Math.abs(wanted - reported) <= tolerance) return;
    throw new RNodeError("config-mismatch", `${o.port}: the radio reports ${setting} ${show(reported)}, configured ${show(wanted)}`, setting, wanted, reported);
  };
  await ask("frequency", cmd.frequency(o.frequencyHz));
  await ask("bandwidth", cmd.bandwidth(o.bandwidthHz));
  await ask("txPower", cmd.txPower(o.txPowerDbm));
  await ask("spreadingFactor", cmd.spreadingFactor(o.spreadingFactor));
  await ask("codingRate", cmd.codingRate(o.codingRate));
  const limits: [RadioSetting, number | null, (w: number) => Uint8Array][] = [
    ["airtimeLimitShort", o.airtimeLimitShortPct, cmd.airtimeLimitShort],
    ["airtimeLimitLong", o.airtimeLimitLongPct, cmd.airtimeLimitLong],
  ];
  for (const [setting, pct, encode] of limits) {
    if (pct === null) continue;
    const wire = airtimeLimitToWire(pct);
    // The firmware keeps the limit as a float and reports it truncated: one unit (0.01 %) of slack.
    check(setting, expectedAirtimeLimitReport(wire), await ask(setting, encode(wire)), 1, (v) => `${v / 100} %`);
  }
  await ask("radioState", cmd.radioState(KISS_CMD.RADIO_STATE_ON));
  // The firmware applies frequency and bandwidth to the modem only once the radio is on (the modem rounds
  // them to its steps then): read everything back now. Frequency within the reference's 100 Hz.
  check("radioState", 1, await ask("radioState", cmd.radioState(KISS_CMD.RADIO_STATE_ASK)), 0, (v) => (v === 1 ? "on" : "off"));
  check("frequency", o.frequencyHz, await ask("frequency", cmd.frequency(0)), RNODE_PROTOCOL.frequencyToleranceHz, (v) => `${v} Hz`);
  check("bandwidth", o.bandwidthHz, await ask("bandwidth", cmd.bandwidth(0)), 0, (v) => `${v} Hz`);
  check("txPower", o.txPowerDbm, await ask("txPower", cmd.txPower(0xff)), 0, (v) => `${v} dBm`);
  check("spreadingFactor", o.spreadingFactor, await ask("spreadingFactor", cmd.spreadingFactor(0xff)), 0, (v) => `SF${v}`);
  check("codingRate", o.codingRate, await ask("codingRate", cmd.codingRate(0xff)), 0, (v) => `4/${v}`);
}

function isDeviceInfo(e: DeviceEvent): boolean {
  return e.kind === "detect" || e.kind === "firmware" || e.kind === "platform" || e.kind === "mcu";
}
