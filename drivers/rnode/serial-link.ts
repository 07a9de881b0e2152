// One opening of an RNode's serial port: open with the RNode line settings, set the modem lines, KISS-decode
// what the radio sends into events, write frames, and let the driver wait for a report with a timeout.
// The driver makes a new SerialLink for every attempt and drops it on the first failure.
//
// Serial settings (what the reference does, RNodeInterface.open_port / rnodeconf): 115200 8N1, no flow
// control. Modem lines: opening a tty raises DTR and RTS (Linux does it in the tty layer, pyserial sets both
// again), and by default we assert both once more, in one TIOCMSET (one USB control transfer on CP210x, CH34x
// and FTDI bridges), never one after the other:
//  - ESP32 boards with the two-transistor auto-reset circuit (T-Beam, Heltec, LoRa32) only reset or enter the
//    bootloader when DTR and RTS differ (EN low needs RTS without DTR, IO0 low needs DTR without RTS); both
//    asserted and both released are idle. The ESP32-S3 USB-Serial/JTAG reset logic is the same.
//  - nRF52 boards on native USB (RAK4631, Heltec T114, T-Echo) run TinyUSB, whose Adafruit_USBD_CDC::write
//    sends nothing unless DTR is asserted (tud_cdc_n_connected is the DTR bit): releasing DTR silences them.
//    So "both released", although idle for an ESP32, loses every nRF52 RNode; "both asserted" works for both.
//  - Boards wired without the transistor pair (RTS straight to EN) need "deassert"; `modemLines` offers it.
// serialport's `hupcl: false` is passed as asked, but note: @serialport/bindings-cpp 13 only ever sets
// HUPCL and never clears it, so on Linux the kernel still drops DTR and RTS together at close. Both drop
// in one call, which the auto-reset circuit ignores, and an nRF52 then knows its host left (with DTR left
// high it would spin in its USB write loop until a host drained it). A PTY has no modem lines: setting them
// fails with ENOTTY and is recorded as "unsupported".
import type { SerialPort } from "serialport";
import { DeviceStream } from "./device-stream.js";
import { RNodeError, type DeviceEvent } from "./protocol.js";

export type ModemLinePolicy = "assert" | "deassert" | "leave";

export interface SerialLinkOptions {
  path: string;
  baudRate: number;
  modemLines: ModemLinePolicy;
  /** A frame left unfinished this long is dropped (RNodeInterface's serial read timeout: 100 ms). */
  partialFrameTimeoutMs: number;
  maxWriteBufferBytes: number;
  /** The port class; default serialport's SerialPort. Tests give one over a binding that records the modem-line calls. */
  portClass?: new (options: ConstructorParameters<typeof SerialPort>[0]) => SerialPort;
}

export interface SerialLinkHandlers {
  event(e: DeviceEvent): void;
  drop(reason: string, n: number): void;
  /** The port failed or went away (never called after close()). */
  lost(error: RNodeError): void;
}



export class SerialLink {
  /** performance.now() of the last byte received. */
  get lastRxMs(): number {
    return this.stream.lastRxMs;
  }
  modemLines: "set" | "unsupported" | "left" = "left";
  private port: SerialPort | null = null;
  private readonly stream: DeviceStream;
  private closed = false;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly options: SerialLinkOptions,
    private readonly handlers: SerialLinkHandlers,
  ) {
    this.stream = new DeviceStream(options.partialFrameTimeoutMs, handlers);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Opens the port; rejects with an RNodeError (port-missing, port-open-failed). */
  async open(): Promise<void> {
    let SerialPortClass: NonNullable<SerialLinkOptions["portClass"]>;
    try {
      SerialPortClass = this.options.portClass ?? (await import("serialport")).SerialPort;
    } catch (e) {
      throw new RNodeError("port-open-failed", `serialport is not available: ${(e as Error).message}`);
    }
    const port = new SerialPortClass({
      path: this.options.path,
      baudRate: this.options.baudRate,
      dataBits: 8,
      stopBits: 1,
      parity: "none",
      rtscts: false,
      xon: false,
      xoff: false,
      hupcl: false,
      autoOpen: false,
    });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(openError(this.options.path, e)) : resolve())));
    if (this.closed) {
      await closePort(port);
      throw new RNodeError("port-lost", "closed while opening");
    }
    this.port = port;
    port.on("data", (d: Buffer) => this.onData(d));
    port.on("error", (e: Error) => this.lose(new RNodeError("port-lost", `${this.options.path}: ${e.message}`)));
    port.on("close", (e: Error | null) => this.lose(new RNodeError("port-lost", `${this.options.path} ${e ? `went away (${e.message})` : "closed"}`)));
    if (this.options.modemLines !== "leave") {
      const on = this.options.modemLines === "assert";
      this.modemLines = await new Promise((resolve) => port.set({ dtr: on, rts: on }, (e) => resolve(e ? "unsupported" : "set")));
    }
    // Whatever waited in the input buffer belongs to an earlier session.
    await new Promise<void>((resolve) => port.flush(() => resolve()));
  }

  /** Queues bytes for the radio; false when more than maxWriteBufferBytes are already waiting. */
  write(bytes: Uint8Array): boolean {
    const port = this.port;
    if (port === null || this.closed) return false;
    if (port.writableLength > this.options.maxWriteBufferBytes) return false;
    port.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length), (e) => {
      if (e) this.lose(new RNodeError("write-failed", `${this.options.path}: write failed: ${e.message}`));
    });
    return true;
  }

  /** Resolves with the first event `match` maps to something other than undefined; rejects on timeout or close. */
  waitFor<T>(match: (e: DeviceEvent) => T | undefined, timeoutMs: number, onTimeout: () => RNodeError): Promise<T> {
    return this.stream.waitFor(match, timeoutMs, onTimeout);
  }

  /** Writes `tail` (best effort, e.g. radio off), then closes the port. Idempotent. */
  close(tail?: Uint8Array): Promise<void> {
    if (this.closing !== null) return this.closing;
    this.closed = true;
    this.stream.end();
    const port = this.port;
    this.closing = (async () => {
      if (port === null) return;
      if (tail !== undefined && port.isOpen) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 500);
          port.write(Buffer.from(tail), () => port.drain(() => (clearTimeout(t), resolve())));
        });
      }
      await closePort(port);
    })();
    return this.closing;
  }

  private lose(error: RNodeError): void {
    if (this.closed) return;
    void this.close();
    this.handlers.lost(error);
  }

  private onData(d: Buffer): void {
    if (!this.closed) this.stream.push(new Uint8Array(d.buffer, d.byteOffset, d.length));
  }
}

function openError(path: string, e: Error): RNodeError {
  const missing = /ENOENT|No such file/i.test(e.message);
  return new RNodeError(missing ? "port-missing" : "port-open-failed", `${path}: ${missing ? "no such device" : e.message}`);
}

function closePort(port: SerialPort): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!port.isOpen) return resolve();
    port.close(() => resolve());
  });
}
