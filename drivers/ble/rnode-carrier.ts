// An RNode over Bluetooth LE: the byte carrier the RNode driver uses instead of a serial port (drivers/rnode/
// carrier.ts), through BlueZ's D-Bus API with node-ble. Everything above the bytes (detection, configuration
// read back, traffic, keepalive, reconnect with backoff) is the RNode driver's, unchanged.
//
// The radio side (RNode_Firmware Bluetooth.h, BLESerial.cpp; RNS 1.4.2 RNodeInterface.BLEConnection): a
// Nordic-UART-style GATT service 6e400001-b5a3-f393-e0a9-e50e24dcca9e; the host writes KISS bytes to its RX
// characteristic (…0002, "write" on ESP32 boards, also "write-without-response" on nRF52 ones) and subscribes
// to notifications on its TX characteristic (…0003), which carry the radio's bytes. Both need an encrypted,
// bonded link: the firmware sends nothing to an unauthenticated client, so the radio must be paired with the
// host once (bluetoothctl; the RNode shows its PIN in pairing mode), as the reference also requires.
//
// How it works, per connection attempt (the driver makes a new carrier for each): a fresh D-Bus connection to
// the system bus (DBUS_SYSTEM_BUS_ADDRESS, or `busAddress`); the adapter (`adapter`, else BlueZ's first),
// powered; the radio among the devices BlueZ knows, else after scanning up to scanTimeoutMs: by address
// (ble://AA:BB:CC:DD:EE:FF), by name (ble://NAME: the exact name, else the one name starting with NAME), or
// the first paired device named "RNode …" (ble://); paired, unless requirePaired is false; Device1.Connect;
// the services resolved; the RNode service and both characteristics; notifications on. Writes are queued,
// coalesced and sent one GATT write at a time in pieces of at most MTU - 3 bytes (BlueZ's MTU property, else
// the 23-byte ATT default), as "request" (acknowledged) writes when the characteristic allows them, else
// "command". The link is lost when BlueZ reports the device disconnected, a write fails or times out, or the
// D-Bus connection fails: the carrier reports it once and the driver goes down and retries. Every D-Bus call
// has a deadline (a dead bluetoothd or bus never hangs the driver); nothing is thrown out of a callback.
// close() writes the driver's goodbye (radio off, leave) if it can, disconnects the device, and closes the
// D-Bus connection, which drops every subscription of the attempt.
import type { EventEmitter } from "node:events";
import { RNodeError } from "../rnode/protocol.js";
import type { CarrierHandlers, RNodeCarrier } from "../rnode/carrier.js";

type NodeBle = typeof import("node-ble");
type Adapter = import("node-ble").Adapter;
type Device = import("node-ble").Device;
type GattCharacteristic = import("node-ble").GattCharacteristic;

/** The RNode's GATT service and characteristics (lower case, as BlueZ reports UUIDs). */
export const RNODE_BLE_UUIDS = Object.freeze({
  service: "6e400001-b5a3-f393-e0a9-e50e24dcca9e",
  /** The host writes here. */
  rx: "6e400002-b5a3-f393-e0a9-e50e24dcca9e",
  /** The radio notifies here. */
  tx: "6e400003-b5a3-f393-e0a9-e50e24dcca9e",
});

/** What `ble://…` names: an address, a name, or neither (the first paired RNode). */
export interface BleTarget {
  /** "AA:BB:CC:DD:EE:FF", upper case. */
  address: string | null;
  name: string | null;
}

/**
 * Reads an RNode port of the form ble://, ble://NAME or ble://AA:BB:CC:DD:EE:FF (RNodeInterface's rule: six
 * colon-separated parts in 17 characters are an address); null for anything else (a serial path, tcp://).
 * Throws a TypeError for an address that is not hexadecimal.
 */
export function parseBleTarget(port: string): BleTarget | null {
  if (!port.toLowerCase().startsWith("ble://")) return null;
  const rest = port.slice(6);
  if (rest === "") return { address: null, name: null };
  if (rest.length === 17 && rest.split(":").length === 6) {
    if (!/^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(rest)) throw new TypeError(`${port}: not a BLE address like ble://AA:BB:CC:DD:EE:FF`);
    return { address: rest.toUpperCase(), name: null };
  }
  return { address: null, name: rest };
}

export interface BleCarrierOptions {
  /** BlueZ adapter, e.g. "hci0"; default the first one BlueZ lists. */
  adapter?: string;
  /** D-Bus address of the system bus BlueZ is on; default $DBUS_SYSTEM_BUS_ADDRESS, else the standard socket. */
  busAddress?: string;
  /** How long to scan for a radio BlueZ does not know yet. */
  scanTimeoutMs?: number;
  /** Device1.Connect, the services resolved, the subscription: all within this. */
  connectTimeoutMs?: number;
  /** Any other D-Bus call. */
  callTimeoutMs?: number;
  /** One GATT write. */
  writeTimeoutMs?: number;
  /** Refuse a radio that is not paired (default true: the firmware talks only over a bonded link). */
  requirePaired?: boolean;
  /** write() refuses more than this many bytes waiting. */
  maxWriteBufferBytes?: number;
}

export const BLE_CARRIER_DEFAULTS = Object.freeze({
  /** RNodeInterface BLEConnection: SCAN_TIMEOUT 2 s, CONNECT_TIMEOUT 5 s; a little more room here. */
  scanTimeoutMs: 5_000,
  connectTimeoutMs: 10_000,
  callTimeoutMs: 5_000,
  writeTimeoutMs: 5_000,
  maxWriteBufferBytes: 64 * 1024,
  /** RNodeInterface reads a BLE link with a 1250 ms frame timeout (serial: 100 ms). */
  partialFrameTimeoutMs: 1_250,
  /** The ATT default when BlueZ does not say (its MTU property is BlueZ 5.62 and newer). */
  defaultAttMtu: 23,
  closeTailTimeoutMs: 500,
  scanPollMs: 250,
  servicesPollMs: 500,
});

const NAME_PREFIX_ANY = "RNode ";

/** A carrier factory for the RNode driver: `new RNodeDriver({ port: "ble://RNode 3B87", carrier: bleCarrier("ble://RNode 3B87"), ... })`. */
export function bleCarrier(port: string, options: BleCarrierOptions = {}): () => BleRNodeCarrier {
  const target = parseBleTarget(port);
  if (target === null) throw new TypeError(`${port}: not a ble:// port`);
  return () => new BleRNodeCarrier(target, options);
}

class Aborted extends Error {}

export class BleRNodeCarrier implements RNodeCarrier {
  readonly partialFrameTimeoutMs = BLE_CARRIER_DEFAULTS.partialFrameTimeoutMs;
  /** Set once connected: the radio's address, name and link figures (for status and tests). */
  info: { address: string; name: string | null; mtu: number; chunkBytes: number; writeType: "request" | "command" } | null = null;
  private readonly o: Required<Omit<BleCarrierOptions, "adapter" | "busAddress">> & { adapter: string | null; busAddress: string | null };
  private handlers: CarrierHandlers | null = null;
  private destroyBus: (() => void) | null = null;
  private device: Device | null = null;
  private rx: GattCharacteristic | null = null;
  private opened = false;
  private ended = false; // lost or closing: nothing more goes out or up
  private lostReported = false;
  private closing: Promise<void> | null = null;
  /** Rejecters of the D-Bus calls in flight, so that the end of the carrier ends them all. */
  private readonly inflight = new Set<(e: Error) => void>();
  private abortedWith: Error | null = null;
  /** Devices by address, with their names, met during this attempt. */
  private readonly known = new Map<string, { device: Device; name: string | null }>();
  private readonly pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private pumping = false;
  private drained: (() => void)[] = [];

  constructor(
    readonly target: BleTarget,
    options: BleCarrierOptions = {},
  ) {
    const d = BLE_CARRIER_DEFAULTS;
    this.o = {
      adapter: options.adapter ?? null,
      busAddress: options.busAddress ?? null,
      scanTimeoutMs: options.scanTimeoutMs ?? d.scanTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs ?? d.connectTimeoutMs,
      callTimeoutMs: options.callTimeoutMs ?? d.callTimeoutMs,
      writeTimeoutMs: options.writeTimeoutMs ?? d.writeTimeoutMs,
      requirePaired: options.requirePaired ?? true,
      maxWriteBufferBytes: options.maxWriteBufferBytes ?? d.maxWriteBufferBytes,
    };
  }

  /** How the target reads in messages. */
  get label(): string {
    const t = this.target;
    return t.address !== null ? `ble://${t.address}` : t.name !== null ? `ble://${t.name}` : "ble:// (first paired RNode)";
  }

  async open(handlers: CarrierHandlers): Promise<void> {
    if (this.handlers !== null) throw new RNodeError("port-open-failed", `${this.label}: a carrier opens once`);
    this.handlers = handlers;
    try {
      await this.connect();
    } catch (e) {
      const error = e instanceof RNodeError ? e : e instanceof Aborted ? new RNodeError("port-lost", `${this.label}: ${e.message}`) : new RNodeError("port-open-failed", `${this.label}: ${dbusMessage(e)}`);
      await this.close();
      throw error;
    }
    if (this.ended) throw new RNodeError("port-lost", `${this.label}: closed while connecting`);
    this.opened = true;
  }

  write(bytes: Uint8Array): boolean {
    if (!this.opened || this.ended) return false;
    if (this.pendingBytes > this.o.maxWriteBufferBytes) return false;
    if (bytes.length === 0) return true;
    this.pending.push(bytes.slice());
    this.pendingBytes += bytes.length;
    void this.pump();
    return true;
  }

  close(tail?: Uint8Array): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.closing = (async () => {
      if (tail !== undefined && this.opened && !this.ended && this.write(tail)) await this.waitDrained(BLE_CARRIER_DEFAULTS.closeTailTimeoutMs);
      this.ended = true;
      this.abort(new Aborted("closed"));
      this.pending.length = 0;
      this.pendingBytes = 0;
      const device = this.device;
      if (device !== null) await settle(device.disconnect(), this.o.callTimeoutMs);
      this.destroyBus?.();
      this.destroyBus = null;
      for (const cb of this.drained.splice(0)) cb();
    })();
    return this.closing;
  }

  // --- connecting ------------------------------------------------------------------------------------------

  private async connect(): Promise<void> {
    const ble = await loadNodeBle(this.label);
    const { bluetooth, destroy } = onBus(this.o.busAddress, () => ble.createBluetooth());
    this.destroyBus = destroy;
    // dbus-next throws an 'error' event without a listener (a missing bus, a daemon gone): catch it here.
    const bus = (bluetooth as unknown as { dbus?: EventEmitter }).dbus;
    bus?.on("error", (e: Error) => this.lose(new RNodeError("port-lost", `${this.label}: D-Bus: ${e.message}`)));
    const call = <T>(p: Promise<T>, what: string, ms = this.o.callTimeoutMs): Promise<T> => this.step(p, ms, what);

    const adapter = await call(this.o.adapter !== null ? bluetooth.getAdapter(this.o.adapter) : bluetooth.defaultAdapter(), "finding the Bluetooth adapter").catch((e: unknown) => {
      if (e instanceof Aborted || e instanceof RNodeError) throw e;
      throw new RNodeError("port-open-failed", `${this.label}: no Bluetooth adapter${this.o.adapter !== null ? ` ${this.o.adapter}` : ""} (${dbusMessage(e)}; is bluetoothd running?)`);
    });
    if (!(await call(adapter.isPowered(), "reading the adapter state"))) {
      throw new RNodeError("port-open-failed", `${this.label}: the Bluetooth adapter is powered off (bluetoothctl power on)`);
    }
    const { device, address, name } = await this.find(adapter);
    if (this.o.requirePaired && !(await call(device.isPaired() as unknown as Promise<boolean>, "reading the pairing state"))) {
      throw new RNodeError("port-open-failed", `${this.label}: ${describe(address, name)} is not paired; pair it once (bluetoothctl pair ${address}; the RNode shows its PIN in pairing mode)`);
    }
    this.device = device;
    device.on("disconnect", () => this.lose(new RNodeError("port-lost", `${this.label}: the BLE link to ${describe(address, name)} dropped`)));

    const deadline = performance.now() + this.o.connectTimeoutMs;
    const left = (): number => Math.max(1, deadline - performance.now());
    await call(device.connect(), `connecting to ${describe(address, name)}`, left()).catch((e: unknown) => {
      if (dbusName(e) === "org.bluez.Error.AlreadyConnected") return;
      if (e instanceof Aborted || e instanceof RNodeError) throw e;
      throw new RNodeError("port-open-failed", `${this.label}: cannot connect to ${describe(address, name)}: ${dbusMessage(e)}`);
    });
    // node-ble's gatt() reads ServicesResolved and, when false, waits for it to change; a change that comes
    // between the two is missed. Asking again after a while covers that.
    let gatt: import("node-ble").GattServer | null = null;
    while (gatt === null) {
      if (performance.now() >= deadline) throw new RNodeError("port-open-failed", `${this.label}: ${describe(address, name)} connected but its services were not resolved within ${this.o.connectTimeoutMs} ms`);
      gatt = await this.step(device.gatt(), Math.min(BLE_CARRIER_DEFAULTS.servicesPollMs, left()), "resolving services").catch((e: unknown) => {
        if (e instanceof Aborted || (e instanceof RNodeError && e.code !== "command-timeout")) throw e;
        return e instanceof RNodeError ? null : sleep(BLE_CARRIER_DEFAULTS.scanPollMs).then(() => null); // refused: not so fast
      });
    }
    const service = await call(gatt.getPrimaryService(RNODE_BLE_UUIDS.service), "finding the RNode service").catch((e: unknown) => {
      if (e instanceof Aborted) throw e;
      throw new RNodeError("port-open-failed", `${this.label}: ${describe(address, name)} has no RNode BLE service (${RNODE_BLE_UUIDS.service}); is it an RNode with Bluetooth on?`);
    });
    const characteristic = (uuid: string, what: string): Promise<GattCharacteristic> =>
      call(service.getCharacteristic(uuid), `finding the ${what} characteristic`).catch((e: unknown) => {
        if (e instanceof Aborted) throw e;
        throw new RNodeError("port-open-failed", `${this.label}: the RNode service of ${describe(address, name)} has no ${what} characteristic (${uuid})`);
      });
    const rx = await characteristic(RNODE_BLE_UUIDS.rx, "RX");
    const tx = await characteristic(RNODE_BLE_UUIDS.tx, "TX");
    const flags = await call(rx.getFlags(), "reading the RX characteristic's flags");
    const writeType = flags.includes("write") ? "request" : flags.includes("write-without-response") ? "command" : null;
    if (writeType === null) throw new RNodeError("port-open-failed", `${this.label}: the RX characteristic of ${describe(address, name)} is not writable (flags ${flags.join(", ")})`);
    const mtu = await readMtu(rx, this.o.callTimeoutMs);
    tx.on("valuechanged", (value: Buffer) => this.fromRadio(value));
    await call(tx.startNotifications(), "subscribing to the TX notifications", left());
    this.rx = rx;
    this.info = { address, name, mtu, chunkBytes: Math.max(20, mtu - 3), writeType };
  }

  /** The radio among the devices BlueZ knows, else after scanning for it. */
  private async find(adapter: Adapter): Promise<{ device: Device; address: string; name: string | null }> {
    const call = <T>(p: Promise<T>, what: string): Promise<T> => this.step(p, this.o.callTimeoutMs, what);
    let found = await this.pick(adapter, await call(adapter.devices(), "listing devices"));
    if (found === null && this.o.scanTimeoutMs > 0) {
      const started = !(await call(adapter.isDiscovering(), "reading the scan state")) && (await call(adapter.startDiscovery(), "starting a scan").then(() => true, (e: unknown) => {
        if (e instanceof Aborted) throw e;
        return false; // someone else is scanning, or the adapter refuses: look at what BlueZ learns anyway
      }));
      try {
        const deadline = performance.now() + this.o.scanTimeoutMs;
        while (found === null && performance.now() < deadline) {
          await this.step(sleep(BLE_CARRIER_DEFAULTS.scanPollMs), BLE_CARRIER_DEFAULTS.scanPollMs * 4, "scanning");
          found = await this.pick(adapter, await call(adapter.devices(), "listing devices"));
        }
      } finally {
        if (started && !this.ended) await settle(adapter.stopDiscovery(), this.o.callTimeoutMs);
      }
    }
    if (found === null) {
      const what = this.target.address ?? (this.target.name !== null ? `named "${this.target.name}"` : `paired and named "${NAME_PREFIX_ANY}…"`);
      throw new RNodeError("port-missing", `${this.label}: no BLE RNode ${what} among the devices BlueZ knows${this.o.scanTimeoutMs > 0 ? ` or found in a ${this.o.scanTimeoutMs} ms scan` : ""} (out of range, off, or Bluetooth off on the radio)`);
    }
    return found;
  }

  private async pick(adapter: Adapter, addresses: string[]): Promise<{ device: Device; address: string; name: string | null } | null> {
    const call = <T>(p: Promise<T>, what: string): Promise<T> => this.step(p, this.o.callTimeoutMs, what);
    const t = this.target;
    const open = async (address: string): Promise<{ device: Device; name: string | null } | null> => {
      let d = this.known.get(address);
      if (d === undefined) {
        const device = await call(adapter.getDevice(address), "opening the device").catch(nothingThere);
        if (device === null) return null; // gone meanwhile
        d = { device, name: await call(device.getName(), "reading the device name").catch(nothingThere) };
        this.known.set(address, d);
      }
      return d;
    };
    if (t.address !== null) {
      const address = addresses.find((a) => a.toUpperCase() === t.address);
      const d = address === undefined ? null : await open(address);
      return d === null ? null : { device: d.device, address: t.address, name: d.name };
    }
    const named: { device: Device; address: string; name: string }[] = [];
    for (const address of [...addresses].sort()) {
      const d = await open(address);
      if (d !== null && d.name !== null) named.push({ device: d.device, address: address.toUpperCase(), name: d.name });
    }
    if (t.name !== null) {
      const exact = named.find((d) => d.name === t.name);
      if (exact !== undefined) return exact;
      const prefixed = named.filter((d) => d.name.startsWith(t.name!));
      if (prefixed.length > 1) {
        throw new RNodeError("port-open-failed", `${this.label}: ${prefixed.length} radios match (${prefixed.map((d) => describe(d.address, d.name)).join(", ")}); give the full name or the address`);
      }
      return prefixed[0] ?? null;
    }
    for (const d of named) {
      if (!d.name.startsWith(NAME_PREFIX_ANY)) continue;
      if (await call(d.device.isPaired() as unknown as Promise<boolean>, "reading the pairing state").catch(nothingThere)) return d;
    }
    return null;
  }

  /** Races a D-Bus call with its deadline and with the end of this carrier. */
  private step<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    if (this.abortedWith !== null) {
      p.catch(() => undefined);
      return Promise.reject(this.abortedWith);
    }
    return new Promise<T>((resolve, reject) => {
      const end = (): void => {
        clearTimeout(timer);
        this.inflight.delete(fail);
      };
      const fail = (e: Error): void => (end(), reject(e));
      const timer = setTimeout(() => fail(new RNodeError("command-timeout", `${this.label}: no answer from BlueZ within ${Math.round(ms)} ms ${what}`)), ms);
      this.inflight.add(fail);
      p.then((v) => (end(), resolve(v)), (e: unknown) => (end(), reject(e)));
    });
  }

  private abort(e: Error): void {
    this.abortedWith ??= e;
    for (const fail of [...this.inflight]) fail(this.abortedWith);
  }

  // --- traffic ---------------------------------------------------------------------------------------------

  private fromRadio(value: Buffer): void {
    if (!this.opened || this.ended || this.handlers === null) return;
    this.handlers.data(new Uint8Array(value.buffer, value.byteOffset, value.length));
  }

  /** Sends what is queued, one GATT write at a time, coalescing small writes up to the chunk size. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.ended && this.pending.length > 0 && this.rx !== null && this.info !== null) {
        const chunk = this.takeChunk(this.info.chunkBytes);
        try {
          await this.step(this.rx.writeValue(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length), { type: this.info.writeType }), this.o.writeTimeoutMs, "writing to the radio");
        } catch (e) {
          if (!(e instanceof Aborted)) this.lose(new RNodeError("write-failed", `${this.label}: write failed: ${e instanceof RNodeError ? e.message : dbusMessage(e)}`));
          return;
        }
      }
    } finally {
      this.pumping = false;
      if (this.pending.length === 0 || this.ended) for (const cb of this.drained.splice(0)) cb();
    }
  }

  private takeChunk(max: number): Uint8Array {
    const out = new Uint8Array(Math.min(max, this.pendingBytes));
    let n = 0;
    while (n < out.length) {
      const head = this.pending[0]!;
      const take = Math.min(head.length, out.length - n);
      out.set(head.subarray(0, take), n);
      n += take;
      if (take === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(take);
    }
    this.pendingBytes -= n;
    return out;
  }

  private waitDrained(ms: number): Promise<void> {
    if (this.pending.length === 0 && !this.pumping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.drained.push(() => (clearTimeout(timer), resolve()));
    });
  }

  /** The link is gone: while opening, open() fails with it; afterwards the driver hears it once. */
  private lose(error: RNodeError): void {
    if (this.ended) return;
    this.ended = true;
    this.abort(error);
    if (this.opened && !this.lostReported && this.closing === null) {
      this.lostReported = true;
      this.handlers?.lost(error);
    }
  }
}

let nodeBle: Promise<NodeBle> | null = null;

async function loadNodeBle(label: string): Promise<NodeBle> {
  nodeBle ??= import("node-ble").then((m) => ((m as { default?: NodeBle }).default ?? m) as NodeBle);
  try {
    return await nodeBle;
  } catch (e) {
    nodeBle = null;
    throw new RNodeError("port-open-failed", `${label}: node-ble is not available: ${(e as Error).message}`);
  }
}

/** node-ble connects to $DBUS_SYSTEM_BUS_ADDRESS (read once, synchronously, while it connects). */
function onBus<T>(address: string | null, create: () => T): T {
  if (address === null) return create();
  const saved = process.env["DBUS_SYSTEM_BUS_ADDRESS"];
  process.env["DBUS_SYSTEM_BUS_ADDRESS"] = address;
  try {
    return create();
  } finally {
    if (saved === undefined) delete process.env["DBUS_SYSTEM_BUS_ADDRESS"];
    else process.env["DBUS_SYSTEM_BUS_ADDRESS"] = saved;
  }
}

/** BlueZ's MTU property (BlueZ 5.62+), which node-ble does not wrap; the ATT default without it. */
async function readMtu(ch: GattCharacteristic, timeoutMs: number): Promise<number> {
  const helper = (ch as unknown as { helper?: { prop?: (name: string) => Promise<unknown> } }).helper;
  if (typeof helper?.prop !== "function") return BLE_CARRIER_DEFAULTS.defaultAttMtu;
  const v = await settle(helper.prop("MTU"), timeoutMs);
  return typeof v === "number" && Number.isInteger(v) && v >= BLE_CARRIER_DEFAULTS.defaultAttMtu && v <= 517 ? v : BLE_CARRIER_DEFAULTS.defaultAttMtu;
}

/** The promise's value, or undefined when it rejects or takes longer than ms. */
function settle<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    p.then((v) => (clearTimeout(timer), resolve(v)), () => (clearTimeout(timer), resolve(undefined)));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** For calls whose refusal by BlueZ means "nothing there": null; our own deadline or end goes on up. */
function nothingThere(e: unknown): null {
  if (e instanceof Aborted || e instanceof RNodeError) throw e;
  return null;
}

function describe(address: string, name: string | null): string {
  return name !== null ? `"${name}" (${address})` : address;
}

function dbusName(e: unknown): string | null {
  const type = (e as { type?: unknown } | null)?.type;
  return typeof type === "string" ? type : null;
}

function dbusMessage(e: unknown): string {
  const name = dbusName(e);
  const text = (e as { text?: unknown; message?: unknown } | null)?.text ?? (e as { message?: unknown } | null)?.message ?? String(e);
  return name !== null ? `${String(text)} (${name})` : String(text);
}
