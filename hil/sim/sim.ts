// The simulator: a second host for the engine (DESIGN.md). Many Engines in one process on a virtual clock,
// joined by a modelled LoRa medium (air.ts: airtime, half-duplex, collisions, loss, partitions; the radios'
// queues and carrier sense in radio-host.ts) and optional wired segments (wired.ts: a delay and a loss rate).
// Repeatable from one seed: identities, engine randomness, loss draws, carrier-sense backoff, placements and
// app data all come from generators seeded from it, and events are ordered by (virtual time, order
// scheduled).
//
// How it works: one queue of events (queue.ts): an engine's deadline, or a function to run at a time (the end
// of a packet on air, a carrier-sense wake-up, a wired delivery, a timeline action, an app timeout). run()
// pops the earliest, sets the clock to it and handles it; whatever an engine produced is flushed at once
// (transmits to its ports, events to its apps) and its next deadline is queued. Every loop is bounded (events
// per run, flush rounds, queue size, ticks at one instant). An engine that throws is a bug: the node is marked
// failed, the run goes on, no_crash assertions fail. Faults: partition/heal, crash/stop/restart/power cycle
// (the engine is rebuilt from the state the node last saved), radio unplug/replug/reset, loss rate changes.
import { assert } from "../../runtime/core/assert.js";
import { seededRandom } from "../../runtime/core/ports.js";
import type { Bytes } from "../../runtime/core/bytes.js";
import type { Engine } from "../../runtime/engine/engine.js";
import type { EngineEvent } from "../../runtime/engine/events.js";
import type { Transmit } from "../../runtime/mesh/types.js";
import { SimAir } from "./air.js";
import { SimNode, type LoraPort, type NodeSpec, type Port } from "./node.js";
import { EventQueue } from "./queue.js";
import { RadioHost, type RadioContext } from "./radio-host.js";
import { DEFAULT_PROPAGATION, maxRelevantPathLossDb, distanceForPathLossM, pairsWithin, pathLossDb, type Propagation } from "./topology.js";
import { Trace, short, type TraceMode } from "./trace.js";
import { WiredSegments, type WiredContext, type WiredSegmentSpec } from "./wired.js";

export type { WiredSegmentSpec } from "./wired.js";

/** Engines see virtual time as this epoch plus the simulation's milliseconds. */
export const EPOCH_MS = 1_763_700_000_000;

export const SIM_LIMITS = Object.freeze({
  /** Events one Simulator handles in all; past this run() stops with reason "max-events". */
  maxEvents: 200_000_000,
  maxQueuedEvents: 10_000_000,
  maxFlushRounds: 256,
  /** Ticks of one engine at one instant before its next tick is pushed 1 ms on (a deadline that does not move). */
  maxTicksPerInstant: 16,
});

export interface SimOptions {
  seed: number;
  nodes: NodeSpec[];
  propagation?: Partial<Propagation>;
  lossProbability?: number;
  /** Capture threshold in dB; null: any overlap collides. Default 6 dB. */
  captureThresholdDb?: number | null;
  /** Path loss set by hand between named nodes (null: out of range), over what placement gives. */
  links?: { a: string; b: string; pathLossDb: number | null }[];
  wired?: WiredSegmentSpec[];
  trace?: TraceMode;
  maxEvents?: number;
}

/** A node's engine deadline, or a function to run (radios, wired deliveries, timeline, app timers). */
type SimEvent = { k: "tick"; node: SimNode; gen: number } | { k: "call"; fn: () => void; node: SimNode | null; gen: number };

export interface Bug {
  node: string;
  atMs: number;
  message: string;
  stack: string;
}

export interface SimStats {
  events: number;
  framesOnAir: number;
  airtimeMs: number;
  receptions: number;
  /** Frames heard by nobody for a reason, by reason (collision, half-duplex, loss...). */
  lost: Record<string, number>;
  wiredFrames: number;
  /** Frames the hosts dropped (radio down, queue full...), summed over nodes. */
  hostDrops: Record<string, number>;
  deadlineStalls: number;
  links: number;
}

export type RunEnd = "until" | "stopped" | "max-events" | "idle";

export class Simulator implements RadioContext, WiredContext {
  nowMs = 0;
  readonly nodes: SimNode[] = [];
  readonly byName = new Map<string, SimNode>();
  readonly air: SimAir;
  readonly trace: Trace;
  readonly bugs: Bug[] = [];
  readonly stats: SimStats = { events: 0, framesOnAir: 0, airtimeMs: 0, receptions: 0, lost: {}, wiredFrames: 0, hostDrops: {}, deadlineStalls: 0, links: 0 };
  /** Called after each handled event; return true to stop run(). */
  stopWhen: (() => boolean) | null = null;
  readonly radios: RadioHost;
  readonly #wired: WiredSegments;
  readonly #queue: EventQueue<SimEvent>;
  readonly #groups = new Map<SimNode, number>();
  /** Announce jitter and app data (file contents, probe payloads). */
  readonly #appRandom: ReturnType<typeof seededRandom>;
  readonly #maxEvents: number;

  constructor(readonly options: SimOptions) {
    const seed = options.seed;
    this.trace = new Trace(options.trace ?? "off");
    this.#queue = new EventQueue(SIM_LIMITS.maxQueuedEvents);
    this.#maxEvents = options.maxEvents ?? SIM_LIMITS.maxEvents;
    this.#appRandom = seededRandom(mixSeed(seed, 5));
    const prop: Propagation = { ...DEFAULT_PROPAGATION, ...options.propagation };
    this.air = new SimAir({ seed: mixSeed(seed, 1), lossProbability: options.lossProbability ?? 0, captureThresholdDb: options.captureThresholdDb === undefined ? 6 : options.captureThresholdDb, noiseFigureDb: prop.noiseFigureDb });
    this.radios = new RadioHost(this, mixSeed(seed, 3));
    this.#wired = new WiredSegments(this, options.wired ?? [], mixSeed(seed, 2));
    options.nodes.forEach((spec, i) => this.#addNode(spec, mixSeed(seed, 1000 + i)));
    this.#linkRadios(prop);
    for (const l of options.links ?? []) {
      const a = this.node(l.a).lora;
      const b = this.node(l.b).lora;
      if (a === null || b === null) throw new RangeError(`link ${l.a}-${l.b}: both nodes need a LoRa radio`);
      this.air.setLink(a.airIndex, b.airIndex, l.pathLossDb);
    }
    for (const n of this.nodes) this.after(n.spec.startMs, () => this.boot(n));
  }

  node(name: string): SimNode {
    const n = this.byName.get(name);
    if (n === undefined) throw new RangeError(`no node ${name}`);
    return n;
  }

  get eventsLeft(): number {
    return this.#maxEvents - this.stats.events;
  }

  // ---- the loop ------------------------------------------------------------------------------------

  /** Handles events up to `untilMs` (inclusive) and leaves the clock there, unless stopped first. */
  run(untilMs: number): RunEnd {
    assert(untilMs >= this.nowMs, "run() never goes back in time");
    for (;;) {
      const at = this.#queue.peekMs();
      if (at === null || at > untilMs) {
        this.nowMs = untilMs;
        return at === null ? "idle" : "until";
      }
      if (this.stats.events >= this.#maxEvents) return "max-events";
      const e = this.#queue.pop()!;
      this.stats.events++;
      this.nowMs = e.atMs;
      this.#handle(e.item);
      if (this.stopWhen !== null && this.stopWhen()) return "stopped";
    }
  }

  /** Runs `fn` at `nowMs + delayMs`; bound to `node`, it is dropped if the node crashed or rebooted meanwhile. */
  after(delayMs: number, fn: () => void, node: SimNode | null = null): void {
    this.at(this.nowMs + Math.max(0, delayMs), fn, node);
  }

  /** Runs `fn` at `atMs` (not before now), bound to `node` as after() is. */
  at(atMs: number, fn: () => void, node: SimNode | null = null): void {
    this.#queue.push(Math.max(atMs, this.nowMs), { k: "call", fn, node, gen: node?.gen ?? 0 });
  }

  /** What engines see as the time now. */
  engineTimeMs(): number {
    return EPOCH_MS + this.nowMs;
  }

  #handle(e: SimEvent): void {
    switch (e.k) {
      case "tick":
        if (e.gen !== e.node.gen || this.nowMs !== e.node.tickAtMs) return;
        e.node.tickAtMs = Infinity;
        if (e.node.ticksAt.ms !== this.nowMs) e.node.ticksAt = { ms: this.nowMs, count: 0 };
        e.node.ticksAt.count++;
        this.call(e.node, (engine, now) => {
          engine.tick(now);
          for (const h of e.node.hosted) h.tick(now);
        });
        return;
      case "call":
        if (e.node !== null && (e.gen !== e.node.gen || !e.node.up)) return;
        e.fn();
        return;
    }
  }

  // ---- engines -------------------------------------------------------------------------------------

  /** Runs an engine call on a live node, then sends what it produced. An engine that throws fails its node. */
  call<T>(node: SimNode, fn: (engine: Engine, nowMs: number) => T): T | undefined {
    const engine = node.engine;
    if (!node.up || engine === null) return undefined;
    let result: T | undefined;
    try {
      result = fn(engine, EPOCH_MS + this.nowMs);
    } catch (e) {
      this.fail(node, e);
      return undefined;
    }
    if (!node.inFlush) this.#flush(node);
    return result;
  }

  /** Calls `done(true)` once `test()` holds after one of the node's engine calls, or `done(false)` at the timeout. */
  waitFor(node: SimNode, test: () => boolean, timeoutMs: number, done: (ok: boolean) => void): void {
    if (!node.up) return done(false);
    if (test()) return done(true);
    const w = { test, done };
    if (node.waiters.length >= 1024) throw new RangeError(`node ${node.spec.name}: too many waiters`);
    node.waiters.push(w);
    this.after(timeoutMs, () => {
      const i = node.waiters.indexOf(w);
      if (i < 0) return;
      node.waiters.splice(i, 1);
      done(false);
    });
  }

  #flush(node: SimNode): void {
    node.inFlush = true;
    try {
      for (let round = 0; round < SIM_LIMITS.maxFlushRounds; round++) {
        const engine = node.engine;
        if (engine === null || !node.up) break;
        const transmits = engine.takeTransmits();
        const events = engine.takeEvents();
        if (transmits.length === 0 && events.length === 0) break;
        for (const t of transmits) this.#send(node, t);
        for (const ev of events) this.#onEvent(node, ev);
      }
    } finally {
      node.inFlush = false;
    }
    if (!node.up) return;
    if (node.waiters.length > 0) {
      for (const w of [...node.waiters]) {
        if (!node.up) return;
        if (!node.waiters.includes(w) || !w.test()) continue;
        node.waiters.splice(node.waiters.indexOf(w), 1);
        w.done(true);
      }
    }
    this.#scheduleTick(node);
  }

  #scheduleTick(node: SimNode): void {
    const engine = node.engine;
    if (engine === null || !node.up) return;
    let deadline = engine.nextDeadlineMs();
    for (const h of node.hosted) deadline = Math.min(deadline, h.nextDeadlineMs());
    const d = deadline - EPOCH_MS;
    if (!Number.isFinite(d)) return;
    let at = Math.max(d, this.nowMs);
    if (at === this.nowMs && node.ticksAt.ms === this.nowMs && node.ticksAt.count >= SIM_LIMITS.maxTicksPerInstant) {
      at = this.nowMs + 1;
      this.stats.deadlineStalls++;
    }
    if (at < node.tickAtMs) {
      node.tickAtMs = at;
      this.#queue.push(at, { k: "tick", node, gen: node.gen });
    }
  }

  #onEvent(node: SimNode, ev: EngineEvent): void {
    if (this.trace.on) {
      if (ev.kind === "path") this.trace.add(this.nowMs, `ev ${node.spec.name} path ${short(ev.destinationHash)} hops=${ev.hops}`);
      else if (ev.kind === "announce") this.trace.add(this.nowMs, `ev ${node.spec.name} announce ${short(ev.destinationHash)} hops=${ev.hops}${ev.pathResponse ? " path-response" : ""}`);
      else if (ev.kind === "receipt") this.trace.add(this.nowMs, `ev ${node.spec.name} receipt ${ev.receiptId} ${ev.status}`);
      else if (ev.kind === "link") this.trace.add(this.nowMs, `ev ${node.spec.name} link ${short(ev.linkId)} ${ev.event.kind}`);
      else if (ev.kind === "resource" && ev.status !== "transferring") this.trace.add(this.nowMs, `ev ${node.spec.name} resource ${ev.direction} ${ev.sizeBytes}B ${ev.status}`);
    }
    for (const l of [...node.listeners]) l(ev);
    for (const h of node.hosted) {
      try {
        h.onEngineEvent(ev, EPOCH_MS + this.nowMs);
      } catch (e) {
        this.fail(node, e);
        return;
      }
    }
  }

  /** An engine threw: a bug. The node fails (as a kosd process would die) and the run goes on. */
  fail(node: SimNode, e: unknown): void {
    const err = e instanceof Error ? e : new Error(String(e));
    this.bugs.push({ node: node.spec.name, atMs: this.nowMs, message: `${err.name}: ${err.message}`, stack: (err.stack ?? "").split("\n").slice(0, 8).join("\n") });
    if (this.trace.on) this.trace.add(this.nowMs, `bug ${node.spec.name} ${err.name}: ${err.message}`);
    this.#powerDown(node);
    node.state = "failed";
    node.failure = { atMs: this.nowMs, message: err.message };
  }

  // ---- nodes: boot, crash, stop --------------------------------------------------------------------

  boot(node: SimNode): void {
    if (node.state !== "off") return;
    node.gen++;
    node.state = "up";
    node.stats.boots++;
    const now = EPOCH_MS + this.nowMs;
    let restored = 0;
    try {
      node.buildEngine();
      for (const port of node.ports) {
        if (port.kind === "lora") {
          if (!port.plugged) continue;
          this.radios.powerOn(port);
        }
        node.attach(port, now);
      }
      restored = node.loadState(now);
      for (const h of node.hosted) h.boot(node.engine!, now);
    } catch (e) {
      this.fail(node, e);
      return;
    }
    if (this.trace.on) this.trace.add(this.nowMs, `boot ${node.spec.name} restored=${restored}`);
    if (node.spec.announceOnStart) for (const p of node.ports) if (p.ifaceId !== null) this.announceOn(node, p);
    this.#flush(node);
    const gen = node.gen;
    const persist = (): void => {
      node.saveState();
      this.after(node.spec.persistIntervalMs, persist, node);
    };
    this.after(node.spec.persistIntervalMs, persist, node);
    const every = node.spec.announceIntervalMs;
    if (every !== null) {
      const again = (): void => {
        if (node.gen !== gen) return;
        this.announce(node);
        this.after(every * (0.9 + 0.1 * this.#uniform(this.#appRandom)), again, node);
      };
      this.after(every * this.#uniform(this.#appRandom), again, node);
    }
  }

  /** The box dies (power, kernel, kill -9): nothing is saved past the last periodic save. */
  crash(node: SimNode, how = "crash"): void {
    if (!node.up) return;
    if (this.trace.on) this.trace.add(this.nowMs, `${how} ${node.spec.name}`);
    this.#powerDown(node);
    node.state = "off";
  }

  /** A clean shutdown (SIGTERM): the state is saved first, as kosd saves it at stop. */
  stop(node: SimNode): void {
    if (!node.up) return;
    node.saveState();
    this.crash(node, "stop");
  }

  restart(node: SimNode): void {
    if (node.state === "off") this.boot(node);
  }

  powerCycle(node: SimNode, offMs: number): void {
    if (!node.up) return;
    this.crash(node, "power-off");
    this.after(offMs, () => this.restart(node));
  }

  #powerDown(node: SimNode): void {
    for (const p of node.ports) {
      if (p.kind === "lora") this.radios.powerOff(p);
      p.ifaceId = null;
    }
    node.byIface.clear();
    for (const h of node.hosted) h.down();
    node.engine = null;
    node.gen++;
    node.tickAtMs = Infinity;
    const waiters = node.waiters;
    node.waiters = [];
    for (const w of waiters) w.done(false);
  }

  // ---- radios --------------------------------------------------------------------------------------

  /** The radio is pulled out: off the air, its interface leaves the engine (paths through it go). */
  unplug(node: SimNode): void {
    this.radios.unplug(node);
  }

  /** Plugged back in: after the radio's boot time the interface rejoins the engine and the node announces on it. */
  replug(node: SimNode): void {
    this.radios.replug(node);
  }

  /** The radio restarts (reset button, firmware reset): off the air for its boot time; the interface stays. */
  resetRadio(node: SimNode): void {
    this.radios.reset(node);
  }

  #send(node: SimNode, t: Transmit): void {
    const port = node.byIface.get(t.interfaceId);
    if (port === undefined) return node.drop("no-interface");
    node.stats.txFrames++;
    if (port.kind === "wired") this.#wired.send(node, port, t.raw);
    else this.radios.send(node, port, t.raw);
  }

  // ---- faults on the media ---------------------------------------------------------------------------

  /** Splits the named nodes into groups that cannot hear each other (LoRa and wired); others are unaffected. */
  partition(groups: readonly (readonly string[])[]): void {
    this.#groups.clear();
    const radioGroups: number[][] = [];
    groups.forEach((g, i) => {
      const radios: number[] = [];
      for (const name of g) {
        const n = this.node(name);
        this.#groups.set(n, i);
        if (n.lora !== null) radios.push(n.lora.airIndex);
      }
      radioGroups.push(radios);
    });
    this.air.partition(radioGroups);
    if (this.trace.on) this.trace.add(this.nowMs, `partition ${groups.map((g) => g.join(",")).join(" | ")}`);
  }

  heal(): void {
    this.#groups.clear();
    this.air.heal();
    if (this.trace.on) this.trace.add(this.nowMs, "heal");
  }

  /** Sets the loss probability of every link and segment, or of the radio link between two nodes (false: no such link). */
  setLoss(probability: number, between?: readonly [string, string]): boolean {
    if (between !== undefined) {
      const a = this.node(between[0]).lora;
      const b = this.node(between[1]).lora;
      const ok = a !== null && b !== null && this.air.setLinkLoss(a.airIndex, b.airIndex, probability);
      if (this.trace.on) this.trace.add(this.nowMs, `loss ${probability} ${between.join("-")}${ok ? "" : " (no radio link between them)"}`);
      return ok;
    } else {
      this.air.setDefaultLoss(probability);
      this.#wired.setLoss(probability);
    }
    if (this.trace.on) this.trace.add(this.nowMs, `loss ${probability}`);
    return true;
  }

  partitioned(a: SimNode, b: SimNode): boolean {
    const ga = this.#groups.get(a);
    const gb = this.#groups.get(b);
    return ga !== undefined && gb !== undefined && ga !== gb;
  }

  // ---- apps ------------------------------------------------------------------------------------------

  /** Announces every destination of the node (kosctl announce). */
  announce(node: SimNode): void {
    this.call(node, (engine, now) => {
      for (const d of engine.destinations()) if (d.spec.identity !== null) engine.announce(d, now);
    });
  }

  /** Announces every destination on one interface, as kosd does when an interface comes up. */
  announceOn(node: SimNode, port: Port): void {
    const id = port.ifaceId;
    if (id === null) return;
    this.call(node, (engine, now) => {
      for (const d of engine.destinations()) if (d.spec.identity !== null) engine.announce(d, now, { interfaceId: id });
    });
  }

  /** A uniform number in [0, 1) from the simulator's app generator (jitter, file contents). */
  appRandom(): number {
    return this.#uniform(this.#appRandom);
  }

  appBytes(n: number): Bytes {
    return this.#appRandom.bytes(n);
  }

  /** Does `from` know a path to `to`'s probe destination (the node's address in scenarios)? */
  hasPath(from: SimNode, to: SimNode): boolean {
    return from.engine !== null && from.up && from.engine.transport.hasPath(to.probeDestination);
  }

  // ---- construction ----------------------------------------------------------------------------------

  #addNode(spec: NodeSpec, seed: number): void {
    if (this.byName.has(spec.name)) throw new RangeError(`two nodes named ${spec.name}`);
    const node = new SimNode(this.nodes.length, spec, seed);
    this.nodes.push(node);
    this.byName.set(spec.name, node);
    if (spec.lora !== null) {
      const airIndex = this.air.addRadio(spec.name, null, 0);
      const port: LoraPort = { kind: "lora", name: "RNodeInterface[lora]", airIndex, settings: { ...spec.lora }, plugged: true, up: false, ifaceId: null, queue: [], sending: null, csmaSinceMs: null, csmaSlots: 0, csmaCreditMs: 0, epoch: 0 };
      node.ports.push(port);
      node.lora = port;
      this.radios.register(node, port);
    }
    for (const name of spec.wired) node.ports.push(this.#wired.join(node, name));
  }

  #linkRadios(prop: Propagation): void {
    const radios = this.nodes.filter((n) => n.lora !== null);
    let maxLoss = -Infinity;
    for (const n of radios) maxLoss = Math.max(maxLoss, maxRelevantPathLossDb(n.lora!.settings, prop));
    const rangeM = distanceForPathLossM(maxLoss, prop);
    for (const p of pairsWithin(radios.map((n) => n.spec.position), rangeM)) {
      const loss = pathLossDb(p.distanceM, prop);
      if (loss > maxLoss) continue;
      this.air.setLink(radios[p.a]!.lora!.airIndex, radios[p.b]!.lora!.airIndex, loss);
      this.stats.links++;
    }
  }

  #uniform(rng: ReturnType<typeof seededRandom>): number {
    return rng.next32() / 2 ** 32;
  }
}

/** Derives independent seeds from one (splitmix-style). */
export function mixSeed(seed: number, stream: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream + 0x7f4a7c15, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97) >>> 0;
  return (z ^ (z >>> 15)) >>> 0 || 1;
}
