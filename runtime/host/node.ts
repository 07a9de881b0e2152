// KosNode: the composition root of a running kosd. It owns the real clock, the one timer, the files in the
// data directory and the drivers, and feeds the engine: frames in, transmits out, a tick at each deadline.
// Apps (control commands, kosctl cp) subscribe to engine events through `onEvent`.
import * as fs from "node:fs";
import * as path from "node:path";
import { type Bytes } from "../core/bytes.js";
import { cryptoRandom, systemClock, type Clock, type Logger, type RandomSource } from "../core/ports.js";
import type { Identity } from "../crypto/identity.js";
import { Engine } from "../engine/engine.js";
import type { EngineEvent } from "../engine/events.js";
import { fromHex } from "../core/bytes.js";
import type { KosdConfig } from "./config/load.js";
import type { InterfaceConfig } from "./config/schema.js";
import type { LinkDriver } from "../../drivers/port.js";
import { writeFileAtomic } from "./datadir.js";
import { InterfaceManager } from "./interfaces.js";
import { AIRTIME_FILE, AirtimeBudgets } from "./radio.js";

const PATHS_FILE = "paths.json";
const KNOWN_FILE = "known_destinations.json";
/** Even with no deadline, wake up this often: a missed deadline costs at most this much. */
const MAX_SLEEP_MS = 1000;
const MAX_LISTENERS = 64;

export type EventListener = (ev: EngineEvent) => void;

/** Test seams, never set by kosd: in-process nodes wired by in-memory drivers. */
export interface KosNodeOptions {
  /** Makes the driver of each configured interface instead of the real one (TCP, UDP, radio...). */
  makeDriver?: (config: InterfaceConfig) => LinkDriver;
}

export class KosNode {
  readonly engine: Engine;
  readonly interfaces: InterfaceManager;
  /** Duty-cycle airtime budgets of the radios' region sub-bands (./radio.ts), kept in the data dir. */
  readonly airtime: AirtimeBudgets;
  readonly startedAtMs: number;
  readonly #listeners = new Set<EventListener>();
  #timer: NodeJS.Timeout | null = null;
  #persistTimer: NodeJS.Timeout | null = null;
  #stopped = false;
  #inPump = false;

  constructor(
    readonly config: KosdConfig,
    readonly identity: Identity,
    readonly log: Logger,
    readonly clock: Clock = systemClock,
    readonly random: RandomSource = cryptoRandom,
    opts: KosNodeOptions = {},
  ) {
    this.startedAtMs = clock.nowMs();
    this.engine = new Engine({
      identity,
      random,
      transportEnabled: config.enableTransport,
      respondToProbes: config.respondToProbes,
      blackholedIdentities: config.blackholedIdentities.map((h) => fromHex(h)),
    });
    this.airtime = new AirtimeBudgets(path.join(config.dataDir, AIRTIME_FILE), log, clock);
    this.interfaces = new InterfaceManager(
      {
        added: (desc) => this.#run(() => this.engine.addInterface(desc, this.clock.nowMs())),
        removed: (id) => this.#run(() => this.engine.removeInterface(id, this.clock.nowMs())),
        frame: (id, raw, meta) => this.#run(() => this.engine.inbound(id, raw, this.clock.nowMs(), meta)),
        up: (id) => this.#run(() => this.#announceOn(id)),
      },
      random,
      log,
      opts.makeDriver,
      { clock, airtime: this.airtime },
    );
  }

  start(): void {
    // The airtime budgets before the radios that spend them.
    this.airtime.load();
    // Interfaces first: persisted paths are matched to interfaces by name.
    this.interfaces.start(this.config.interfaces);
    this.#loadState();
    if (this.engine.probeDestination !== null) this.#run(() => this.engine.announce(this.engine.probeDestination!, this.clock.nowMs()));
    this.#persistTimer = setInterval(() => this.saveState(), this.config.persistIntervalMs);
    this.#persistTimer.unref();
    this.#schedule();
  }

  /**
   * Announces every local destination on an interface that just came up: a peer that restarted (or a
   * transport node that lost its path table) learns our paths at once instead of at our next announce.
   * The announce cap of the interface paces them.
   */
  #announceOn(id: number): void {
    // One destination at once, the others a couple of seconds apart: several announces arriving together
    // on a peer's new interface look like a burst to its ingress control, which would hold them all.
    const dests = this.engine.destinations().filter((d) => d.spec.identity !== null);
    dests.forEach((d, i) => {
      if (i === 0) return void this.engine.announce(d, this.clock.nowMs(), { interfaceId: id });
      const t = setTimeout(() => {
        if (!this.#stopped && this.engine.interfaceDescriptor(id) !== undefined) this.#run(() => this.engine.announce(d, this.clock.nowMs(), { interfaceId: id }));
      }, 2000 * i + (this.random.bytes(1)[0]! % 250));
      t.unref();
    });
  }


  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#persistTimer !== null) clearInterval(this.#persistTimer);
    this.saveState();
    await this.interfaces.stop();
    this.airtime.stop();
  }

  onEvent(listener: EventListener): () => void {
    if (this.#listeners.size >= MAX_LISTENERS) throw new RangeError("too many event listeners");
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Runs an engine call, then sends what it produced, hands out its events and re-arms the timer. */
  run<T>(fn: (nowMs: number) => T): T {
    return this.#run(() => fn(this.clock.nowMs()));
  }

  #run<T>(fn: () => T): T {
    const result = fn();
    if (!this.#inPump) {
      this.#inPump = true;
      try {
        this.#flush();
      } finally {
        this.#inPump = false;
      }
      this.#schedule();
    }
    return result;
  }

  #flush(): void {
    // Listeners may call back into the engine; loop until both queues are empty (bounded).
    for (let round = 0; round < 1000; round++) {
      const transmits = this.engine.takeTransmits();
      const events = this.engine.takeEvents();
      if (transmits.length === 0 && events.length === 0) return;
      for (const t of transmits) this.interfaces.send(t.interfaceId, t.raw);
      for (const ev of events) {
        for (const l of [...this.#listeners]) {
          try {
            l(ev);
          } catch (e) {
            this.log.log("error", "event listener failed", { error: (e as Error).message });
          }
        }
      }
    }
  }

  #schedule(): void {
    if (this.#stopped) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const wait = Math.max(0, Math.min(MAX_SLEEP_MS, this.engine.nextDeadlineMs() - this.clock.nowMs()));
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#run(() => this.engine.tick(this.clock.nowMs()));
    }, wait);
  }

  /** Writes the path table and known destinations (atomic files; failures are logged, never fatal). */
  saveState(): void {
    const dir = this.config.dataDir;
    try {
      writeFileAtomic(path.join(dir, PATHS_FILE), Buffer.from(JSON.stringify(this.engine.transport.exportState())), 0o600);
      writeFileAtomic(path.join(dir, KNOWN_FILE), Buffer.from(JSON.stringify(this.engine.known.export())), 0o600);
    } catch (e) {
      this.log.log("warn", "could not save state", { dir, error: (e as NodeJS.ErrnoException).code ?? (e as Error).message });
    }
    this.airtime.save(); // logs its own failure
  }

  #loadState(): void {
    const now = this.clock.nowMs();
    const read = (name: string): unknown => {
      const file = path.join(this.config.dataDir, name);
      if (!fs.existsSync(file)) return undefined;
      try {
        return JSON.parse(fs.readFileSync(file, "utf8"));
      } catch (e) {
        this.log.log("warn", "ignoring unreadable state file", { file, error: (e as Error).message.split("\n")[0] });
        return undefined;
      }
    };
    const known = read(KNOWN_FILE);
    if (known !== undefined) {
      const r = this.engine.known.import(known);
      if (r.ok) this.log.log("info", "loaded known destinations", { loaded: r.value.loaded, skipped: r.value.skipped });
      else this.log.log("warn", "ignoring known destinations file", { reason: r.detail ?? r.reason });
    }
    const paths = read(PATHS_FILE);
    if (paths !== undefined) {
      const r = this.engine.transport.importState(paths, now);
      if (r.ok) this.log.log("info", "loaded path table", { paths: r.value });
      else this.log.log("warn", "ignoring path table file", { reason: r.detail ?? r.reason });
    }
  }
}

export type { Bytes };
