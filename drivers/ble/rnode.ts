// Picking the RNode driver's carrier from its port, as RNodeInterface does: ble://… is Bluetooth LE (this
// folder), anything else a serial device path. (tcp://, the RNode firmware's Wi-Fi link, is not here yet.)
import { RNodeDriver, type RNodeDriverOptions } from "../rnode/driver.js";
import type { RNodeCarrierFactory } from "../rnode/carrier.js";
import { bleCarrier, parseBleTarget, type BleCarrierOptions } from "./rnode-carrier.js";

/** The carrier for a ble:// port; null for a serial path (the driver's own serial link). */
export function rnodeCarrierFor(port: string, ble: BleCarrierOptions = {}): RNodeCarrierFactory | null {
  if (port.toLowerCase().startsWith("tcp://")) throw new TypeError(`${port}: RNodes over TCP are not supported yet`);
  return parseBleTarget(port) !== null ? bleCarrier(port, ble) : null;
}

/** An RNode driver on a serial port or, for ble://NAME, ble://AA:BB:CC:DD:EE:FF or ble://, over BLE. */
export function createRNodeDriver(options: RNodeDriverOptions & { ble?: BleCarrierOptions }): RNodeDriver {
  const { ble, ...rest } = options;
  return new RNodeDriver({ ...rest, carrier: rest.carrier ?? rnodeCarrierFor(rest.port, ble) });
}
