// kosd's radios: builds the RNode driver of an RNodeInterface (serial, or BLE through drivers/ble), keeps the duty-cycle airtime budget of each
// region sub-band (persisted in the data directory), gates every packet sent on a radio through it, and
// reports the radio for `kosctl status`.
//
// How the budget gates sends (RadioGate.send): a packet's time on air is computed as the firmware puts it on
// air (runtime/radio/airtime.ts: preamble, split over 254 bytes, the board's chip; the longest of every chip
// family when the config names no board). If the sub-band's budget allows it now and nothing is held, it goes
// to the driver and its airtime is recorded. Otherwise it is held, in order, in a bounded queue
// (RADIO_LIMITS.maxHeldPackets) and released at the budget's nextAllowedMs. A packet is dropped and counted
// on the interface, never sent over the budget, when: the queue is full ("duty-cycle-queue-full", the new
// packet is refused), it waited longer than maxHoldMs ("duty-cycle-expired": link traffic that old is
// retransmitted by its own machine anyway, and an announce that old is stale), or its airtime alone is more
// than the whole allowance ("duty-cycle-too-long"). The station identification the driver sends by itself is
// counted too (onIdSent). Airtime is recorded when the driver accepts a packet; one it accepted but lost
// later (unplugged with packets in the flow-control queue) stays counted: the error is on the safe side.
//
// Persistence (AirtimeBudgets): one budget per "region/sub-band", shared by every radio in that sub-band (the
// duty cycle is the device's, whichever port it uses), in `airtime.json`. Saved a few seconds after airtime
// was recorded, with the other state, and at stop. A missing file is a first start (empty budgets); a file
// that cannot be read or parsed, or a budget state that DutyCycleBudget refuses, starts that budget
// exhausted (DutyCycleBudget.exhausted: nothing is sent until a full window has passed) with a warning.
import * as fs from "node:fs";
import { builtinCatalog, type Region, type SubBand } from "../../boards/index.js";
import type { Clock, Logger, RandomSource } from "../core/ports.js";
import { rnodePacketAirtimeMs, RNODE_AIR, type LoraChip, type LoraModulation } from "../radio/airtime.js";
import { DEFAULT_BUCKET_MS, DutyCycleBudget, type DutyCycleOptions } from "../radio/duty-cycle.js";
import { RNodeDriver, type RNodeStatus } from "../../drivers/rnode/driver.js";
import { bleCarrier } from "../../drivers/ble/rnode-carrier.js";
import type { RNodeConfig, RNodePort } from "./config/schema.js";
import { writeFileAtomic } from "./datadir.js";

export const AIRTIME_FILE = "airtime.json";

export const RADIO_LIMITS = Object.freeze({
  /** Packets one radio holds while its sub-band's budget is spent. */
  maxHeldPackets: 32,
  /** A held packet older than this is dropped instead of sent. */
  maxHoldMs: 60_000,
  /** Airtime recorded is written to the data directory this long after (and at stop). */
  saveDelayMs: 5_000,
  /** A budget state file larger than this is refused as corrupt. */
  maxFileBytes: 1024 * 1024,
});

const ALL_CHIPS: readonly LoraChip[] = ["sx127x", "sx126x", "sx128x"];

interface StoredFile {
  version: 1;
  budgets: Record<string, unknown>;
}

/** The duty-cycle budgets of every region sub-band a radio of this node uses, and their file. */
export class AirtimeBudgets {
  readonly #budgets = new Map<string, DutyCycleBudget>();
  /** States read from the file, taken by budget() when a radio of that sub-band starts. */
  #stored: Record<string, unknown> = {};
  /** The file could not be read: every budget starts exhausted. */
  #corrupt: string | null = null;
  #saveTimer: NodeJS.Timeout | null = null;
  #loaded = false;

  constructor(
    /** Null: kept in memory only (tests, tools). */
    readonly file: string | null,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {}

  /** Reads the file (once). */
  load(): void {
    if (this.#loaded) return;
    this.#loaded = true;
    if (this.file === null) return;
    let text: string;
    try {
      const st = fs.statSync(this.file, { throwIfNoEntry: false });
      if (st === undefined) return;
      if (st.size > RADIO_LIMITS.maxFileBytes) throw new Error(`${st.size} bytes, more than ${RADIO_LIMITS.maxFileBytes}`);
      text = fs.readFileSync(this.file, "utf8");
    } catch (e) {
      this.#corrupt = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      return;
    }
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("not an object");
      const f = v as Partial<StoredFile>;
      if (f.version !== 1) throw new Error(`version ${JSON.stringify(f.version)}, expected 1`);
      if (typeof f.budgets !== "object" || f.budgets === null || Array.isArray(f.budgets)) throw new Error("budgets is not an object");
      this.#stored = { ...f.budgets };
    } catch (e) {
      this.#corrupt = (e as Error).message.split("\n")[0]!;
    }
  }

  /** The budget of a sub-band, made on first use from the file's state (or exhausted, see the header). */
  budget(key: string, opts: DutyCycleOptions): DutyCycleBudget {
    const have = this.#budgets.get(key);
    if (have !== undefined) return have;
    const now = this.clock.nowMs();
    let b: DutyCycleBudget;
    if (this.#corrupt !== null) {
      this.log.log("warn", "airtime budget file unreadable: starting with the budget spent", { file: this.file, budget: key, error: this.#corrupt });
      b = DutyCycleBudget.exhausted(opts, now);
    } else if (this.#stored[key] === undefined) {
      b = new DutyCycleBudget(opts);
    } else {
      const r = DutyCycleBudget.fromState(this.#stored[key], opts);
      if (r.ok) b = r.budget;
      else {
        this.log.log("warn", "airtime budget state refused: starting with the budget spent", { file: this.file, budget: key, reason: r.reason });
        b = DutyCycleBudget.exhausted(opts, now);
      }
    }
    this.#budgets.set(key, b);
    // Saved at once, so a corrupt file is replaced by a sound one that still says "spent".
    if (this.#corrupt !== null || this.#stored[key] !== undefined) this.changed();
    return b;
  }

  /** Schedules a save. */
  changed(): void {
    if (this.#saveTimer !== null || this.file === null) return;
    this.#saveTimer = setTimeout(() => {
      this.#saveTimer = null;
      this.save();
    }, RADIO_LIMITS.saveDelayMs);
    this.#saveTimer.unref();
  }

  /** Writes every budget (and states of sub-bands no radio used this time, unchanged). */
  save(): void {
    if (this.#saveTimer !== null) clearTimeout(this.#saveTimer);
    this.#saveTimer = null;
    if (this.#budgets.size === 0 || this.file === null) return;
    const budgets: Record<string, unknown> = this.#corrupt === null ? { ...this.#stored } : {};
    for (const [k, b] of this.#budgets) budgets[k] = b.export();
    const body: StoredFile = { version: 1, budgets };
    try {
      writeFileAtomic(this.file, Buffer.from(JSON.stringify(body)), 0o600);
    } catch (e) {
      this.log.log("warn", "could not save the airtime budget", { file: this.file, error: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
    }
  }

  stop(): void {
    this.save();
  }
}

/** What `kosctl status` shows of a radio (the `radio` field of its interface row). */
export interface RadioRow {
  port: string;
  phase: string;
  lastError: RNodeStatus["lastError"];
  connections: number;
  /** Reported by the radio once it confirmed them, else as configured. */
  frequencyHz: number;
  bandwidthHz: number;
  spreadingFactor: number;
  codingRate: number;
  txPowerDbm: number;
  bitrateBps: number;
  board: string | null;
  region: string | null;
  subBand: string | null;
  modemPreset: string | null;
  device: RNodeStatus["device"];
  lastPacket: RNodeStatus["lastPacket"];
  channel: RNodeStatus["channel"];
  battery: RNodeStatus["battery"];
  temperatureC: number | null;
  radioErrors: Record<string, number>;
  /** The duty-cycle budget of the sub-band; null when the config names no region (no duty cycle applies). */
  airtime: {
    budget: string;
    dutyCyclePct: number;
    windowMs: number;
    usedMs: number;
    allowedMs: number;
    heldPackets: number;
    maxHeldPackets: number;
  } | null;
}

/** What the gate needs of the driver (RNodeDriver; tests pass a stand-in). */
export type RadioDriver = Pick<RNodeDriver, "state" | "send" | "stop" | "status" | "connections">;

interface Held {
  frame: Uint8Array;
  airtimeMs: number;
  heldAtMs: number;
}

/** One RNodeInterface: its driver, and the airtime budget every packet it sends passes through. */
export class RadioGate<D extends RadioDriver = RNodeDriver> {
  /** Packets this gate dropped, by reason (merged into the interface's drops). */
  readonly drops: Record<string, number> = {};
  readonly #queue: Held[] = [];
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  readonly #modulation: LoraModulation;
  readonly #chips: readonly LoraChip[];

  constructor(
    readonly driver: D,
    private readonly config: RNodeConfig,
    private readonly budget: { key: string; budget: DutyCycleBudget; changed: () => void } | null,
    private readonly clock: Clock,
  ) {
    this.#modulation = { spreadingFactor: config.spreadingFactor, bandwidthHz: config.bandwidthHz, codingRate: config.codingRate };
    this.#chips = chipsOf(config);
  }

  /** Time on air of a packet of `bytes` (the longest over the chips the radio may have). */
  airtimeMs(bytes: number): number {
    const n = Math.min(Math.max(1, bytes), RNODE_AIR.mtuBytes);
    return Math.max(...this.#chips.map((c) => rnodePacketAirtimeMs(n, this.#modulation, c)));
  }

  /** The station identification the driver sent by itself: count it. */
  idSent(bytes: number): void {
    if (this.budget === null) return;
    const air = Math.min(this.airtimeMs(bytes), this.budget.budget.windowMs);
    this.budget.budget.record(air, this.clock.nowMs());
    this.budget.changed();
  }

  send(frame: Uint8Array): boolean {
    const b = this.budget;
    // No duty cycle, or nothing would go on air (the driver counts why): straight to the driver.
    if (b === null || this.driver.state !== "up" || frame.length > RNODE_AIR.mtuBytes || this.#stopped) return this.driver.send(frame);
    const now = this.clock.nowMs();
    const airtimeMs = this.airtimeMs(frame.length);
    if (airtimeMs > b.budget.allowedMs) return this.#drop("duty-cycle-too-long");
    this.#expire(now);
    if (this.#queue.length === 0 && b.budget.canTransmit(airtimeMs, now)) return this.#transmit(frame, airtimeMs, now);
    if (this.#queue.length >= RADIO_LIMITS.maxHeldPackets) return this.#drop("duty-cycle-queue-full");
    this.#queue.push({ frame: frame.slice(), airtimeMs, heldAtMs: now });
    this.#arm(now);
    return true;
  }

  status(): RadioRow {
    const s = this.driver.status();
    const c = this.config;
    const b = this.budget;
    const now = this.clock.nowMs();
    return {
      port: s.port,
      phase: s.phase,
      lastError: s.lastError,
      connections: this.driver.connections,
      frequencyHz: s.radio.frequency ?? c.frequencyHz,
      bandwidthHz: s.radio.bandwidth ?? c.bandwidthHz,
      spreadingFactor: s.radio.spreadingFactor ?? c.spreadingFactor,
      codingRate: s.radio.codingRate ?? c.codingRate,
      txPowerDbm: s.radio.txPower ?? c.txPowerDbm,
      bitrateBps: s.bitrateBps,
      board: c.radio.board,
      region: c.radio.region,
      subBand: c.radio.subBand,
      modemPreset: c.radio.modemPreset,
      device: s.device,
      lastPacket: s.lastPacket,
      channel: s.channel,
      battery: s.battery,
      temperatureC: s.temperatureC,
      radioErrors: s.radioErrors,
      airtime: b === null ? null : {
        budget: b.key,
        dutyCyclePct: b.budget.dutyCyclePct,
        windowMs: b.budget.windowMs,
        usedMs: Math.round(b.budget.usedMs(now) * 10) / 10,
        allowedMs: b.budget.allowedMs,
        heldPackets: this.#queue.length,
        maxHeldPackets: RADIO_LIMITS.maxHeldPackets,
      },
    };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#queue.length = 0;
    await this.driver.stop();
  }

  #transmit(frame: Uint8Array, airtimeMs: number, now: number): boolean {
    if (!this.driver.send(frame)) return false;
    this.budget!.budget.record(airtimeMs, now);
    this.budget!.changed();
    return true;
  }

  #drop(reason: string, n = 1): false {
    this.drops[reason] = (this.drops[reason] ?? 0) + n;
    return false;
  }

  #expire(now: number): void {
    let n = 0;
    while (this.#queue.length > 0 && now - this.#queue[0]!.heldAtMs > RADIO_LIMITS.maxHoldMs) {
      this.#queue.shift();
      n++;
    }
    if (n > 0) this.#drop("duty-cycle-expired", n);
  }

  /** Releases what the budget allows now, then waits for the next packet's turn. */
  #release(): void {
    this.#timer = null;
    if (this.#stopped) return;
    const b = this.budget!.budget;
    const now = this.clock.nowMs();
    this.#expire(now);
    while (this.#queue.length > 0 && b.canTransmit(this.#queue[0]!.airtimeMs, now)) {
      const h = this.#queue.shift()!;
      // A radio that went down meanwhile refuses it (counted by the driver as not-up): nothing went on air.
      this.#transmit(h.frame, h.airtimeMs, now);
    }
    this.#arm(now);
  }

  #arm(now: number): void {
    if (this.#timer !== null || this.#queue.length === 0 || this.#stopped) return;
    const head = this.#queue[0]!;
    const at = this.budget!.budget.nextAllowedMs(head.airtimeMs, now);
    // Wake at the budget's time, or when the head expires, whichever is first (bounded either way).
    const wait = Math.min(Number.isFinite(at) ? at - now : Infinity, head.heldAtMs + RADIO_LIMITS.maxHoldMs + 1 - now);
    this.#timer = setTimeout(() => this.#release(), Math.max(1, Math.ceil(wait)));
  }
}

/** The chip families the radio may have: the board's variant for the frequency, else every family. */
function chipsOf(c: RNodeConfig): readonly LoraChip[] {
  if (c.radio.board === null) return ALL_CHIPS;
  const board = builtinCatalog().find("rnode", c.radio.board);
  const mhz = c.frequencyHz / 1e6;
  const families = new Set(board?.variants.filter((v) => mhz >= v.band.minMHz && mhz <= v.band.maxMHz).map((v) => v.chip.family) ?? []);
  return families.size > 0 ? [...families] : ALL_CHIPS;
}

/** The region and sub-band of a radio's budget, or null when its config names none (or no duty cycle applies). */
export function subBandOf(c: RNodeConfig): { key: string; region: Region; subBand: SubBand } | null {
  const { region: regionId, subBand: subBandId, dutyCyclePct } = c.radio;
  if (regionId === null || subBandId === null || dutyCyclePct === null || dutyCyclePct >= 100) return null;
  const region = builtinCatalog().find("region", regionId);
  const subBand = region?.subBands.find((s) => s.id === subBandId);
  if (region === undefined || subBand === undefined) return null;
  return { key: `${region.id}/${subBand.id}`, region, subBand };
}

/** The port as the driver and `kosctl status` name it: the serial path, or ble://ADDRESS, ble://NAME, ble://. */
export function radioPortName(port: RNodePort): string {
  switch (port.kind) {
    case "serial":
      return port.path;
    case "ble":
      return `ble://${port.address ?? port.name ?? ""}`;
    case "tcp":
      return `tcp://${port.host}`;
  }
}

/**
 * Builds the driver and gate of an RNodeInterface: on its serial port, or over Bluetooth LE through BlueZ on
 * the system bus ($DBUS_SYSTEM_BUS_ADDRESS, else the standard socket) for a ble:// port. Either way the driver
 * retries a missing or lost radio with backoff and configures it again when it is back. TCP radios are not
 * driven yet (thrown: the interface is not started, with the reason logged).
 */
export function buildRadio(
  c: RNodeConfig,
  deps: { random: RandomSource; clock: Clock; budgets: AirtimeBudgets },
  common: { ifacSize?: number; bitrateBps?: number },
): RadioGate {
  if (c.port.kind === "tcp") throw new Error("RNode radios over TCP (tcp://) are not driven yet by this kosd build; use the serial port or ble://");
  const port = radioPortName(c.port);
  const sb = subBandOf(c);
  let gate: RadioGate | null = null;
  const driver = new RNodeDriver({
    port,
    carrier: c.port.kind === "ble" ? bleCarrier(port, c.bleAdapter !== null ? { adapter: c.bleAdapter } : {}) : null,
    name: c.name,
    frequencyHz: c.frequencyHz,
    bandwidthHz: c.bandwidthHz,
    txPowerDbm: c.txPowerDbm,
    spreadingFactor: c.spreadingFactor,
    codingRate: c.codingRate,
    airtimeLimitShortPct: c.airtimeLimitShortPct,
    airtimeLimitLongPct: c.airtimeLimitLongPct,
    flowControl: c.flowControl,
    id: c.id,
    onIdSent: (bytes) => gate?.idSent(bytes),
    random: deps.random,
    ...common,
  });
  const budgets = deps.budgets;
  const budget =
    sb !== null
      ? {
          key: sb.key,
          budget: budgets.budget(sb.key, {
            dutyCyclePct: sb.subBand.dutyCyclePct,
            windowMs: sb.region.dutyCycleWindowMs,
            bucketMs: Math.min(DEFAULT_BUCKET_MS, sb.region.dutyCycleWindowMs),
          }),
          changed: () => budgets.changed(),
        }
      : null;
  gate = new RadioGate(driver, c, budget, deps.clock);
  return gate;
}
