// A small deterministic simulator for log sync: views, sessions over emulated links (delay, loss, a LoRa
// half-duplex channel with airtime and duty-cycle budgets), partitions that come and go, all on a virtual
// clock and one seeded random source. Used by test/log/sync.test.ts and test/bench/log-sync.bench.ts.
import { toHex, type Bytes } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import type { LogEntry } from "../../runtime/log/entry.js";
import type { DutyCycleBudget } from "../../runtime/radio/duty-cycle.js";
import { rnodePacketAirtimeMs, type LoraModulation } from "../../runtime/radio/airtime.js";
import { MemoryView } from "../../runtime/log/sync/memory-view.js";
import { linkPacketBytes } from "../../runtime/log/sync/pacing.js";
import { SyncSession, type SyncEvent, type SyncSessionOptions } from "../../runtime/log/sync/session.js";

export type Rng = ReturnType<typeof seededRandom>;
export const T0 = 1_763_700_000_000;

/** A uniform float in [0, 1). */
export const uniform = (rng: Rng): number => rng.next32() / 2 ** 32;

export function authors(seed: number, n: number): Identity[] {
  const rng = seededRandom(seed);
  return Array.from({ length: n }, () => Identity.generate(rng));
}

/** A body that makes a non-genesis entry of exactly `entryBytes` bytes (for kind and time as given). */
export function bodyFor(entryBytes: number, kind: string, seq: number): Bytes {
  // Fixed parts of a non-genesis entry: array 1, version 1, author 18, prev 34, time 9, empty key 2, signature 66.
  const seqBytes = seq < 0x80 ? 1 : seq < 0x100 ? 2 : seq < 0x10000 ? 3 : 5;
  const kindBytes = (kind.length < 32 ? 1 : 2) + kind.length;
  let body = entryBytes - (1 + 1 + 18 + seqBytes + 34 + 9 + kindBytes + 2 + 66);
  body -= body + 2 < 0x100 ? 2 : 3;
  return new Uint8Array(Math.max(0, body)).map((_, i) => (i * 31 + seq) & 0xff);
}

/** Appends `n` entries by `author` to `view`, times a second apart; kinds from `kindOf(i)`. */
export function grow(view: MemoryView, author: Identity, n: number, opts: { entryBytes?: number; kindOf?: (i: number) => string; t0?: number } = {}): LogEntry[] {
  const out: LogEntry[] = [];
  const start = view.head(author.hash)?.seq ?? 0;
  for (let i = 0; i < n; i++) {
    const seq = start + i + 1;
    const kind = opts.kindOf?.(seq) ?? "supply.handout";
    const body = bodyFor(opts.entryBytes ?? 200, kind, seq);
    out.push(view.append(author, (opts.t0 ?? T0) + seq * 1000, kind, body));
  }
  return out;
}

export function sameLogs(a: MemoryView, b: MemoryView): boolean {
  const ha = a.heads();
  const hb = b.heads();
  if (ha.size !== hb.size) return false;
  for (const [k, h] of ha) {
    const o = hb.get(k);
    if (o === undefined || o.seq !== h.seq || toHex(o.hash) !== toHex(h.hash)) return false;
  }
  return true;
}

// ---- media ---------------------------------------------------------------------------------------------

export interface Delivery {
  atMs: number;
  to: 0 | 1;
  bytes: Bytes;
}

/** How messages travel between the two ends of a link. */
export interface Medium {
  send(from: 0 | 1, bytes: Bytes, nowMs: number): void;
  /** The next time something happens on the medium (Infinity: nothing). */
  nextEventMs(): number;
  /** What arrives at or before nowMs, in order. */
  advance(nowMs: number): Delivery[];
}

/** A full-duplex link with a fixed or random delay and independent loss. `drop(i)` drops message i (0-based). */
export class IdealMedium implements Medium {
  #queue: Delivery[] = [];
  #count = 0;
  constructor(readonly o: { delayMs: number; jitterMs?: number; lossRate?: number; rng?: Rng; drop?: (index: number, bytes: Bytes) => boolean }) {}

  send(from: 0 | 1, bytes: Bytes, nowMs: number): void {
    const i = this.#count++;
    if (this.o.drop?.(i, bytes) === true) return;
    if (this.o.lossRate !== undefined && this.o.rng !== undefined && uniform(this.o.rng) < this.o.lossRate) return;
    const jitter = this.o.jitterMs !== undefined && this.o.rng !== undefined ? uniform(this.o.rng) * this.o.jitterMs : 0;
    // Never reorder one direction: a message leaves after the one before it.
    const last = this.#queue.filter((d) => d.to === (from === 0 ? 1 : 0)).at(-1)?.atMs ?? 0;
    this.#queue.push({ atMs: Math.max(last, nowMs + this.o.delayMs + jitter), to: from === 0 ? 1 : 0, bytes });
    this.#queue.sort((a, b) => a.atMs - b.atMs);
  }

  nextEventMs(): number {
    return this.#queue[0]?.atMs ?? Infinity;
  }

  advance(nowMs: number): Delivery[] {
    const out: Delivery[] = [];
    while (this.#queue.length > 0 && this.#queue[0]!.atMs <= nowMs) out.push(this.#queue.shift()!);
    return out;
  }
}

/**
 * A LoRa channel between two RNodes: half-duplex, one packet on the air at a time (each end's packets wait in
 * its radio's queue), airtime from runtime/radio/airtime.ts, and each end's duty-cycle budget recorded as the
 * radio driver would, when the packet goes on the air.
 */
export class LoraMedium implements Medium {
  readonly #queues: [Bytes[], Bytes[]] = [[], []];
  #busyUntilMs = 0;
  #inFlight: Delivery[] = [];
  #turn: 0 | 1 = 0;
  airtimeMs = 0;
  packets = 0;

  /** `loss`: a share of packets that never arrive (interference, fading), drawn from `rng`. */
  constructor(
    readonly modulation: LoraModulation,
    readonly budgets: [DutyCycleBudget | null, DutyCycleBudget | null],
    readonly loss: { rate: number; rng: Rng } | null = null,
  ) {}

  send(from: 0 | 1, bytes: Bytes): void {
    this.#queues[from].push(bytes);
  }

  nextEventMs(): number {
    let t = this.#inFlight[0]?.atMs ?? Infinity;
    if (this.#queues[0].length > 0 || this.#queues[1].length > 0) t = Math.min(t, this.#busyUntilMs);
    return t;
  }

  advance(nowMs: number): Delivery[] {
    // Start what can start (the driver records airtime into its budget as the packet goes out).
    while (this.#busyUntilMs <= nowMs && (this.#queues[0].length > 0 || this.#queues[1].length > 0)) {
      const from: 0 | 1 = this.#queues[this.#turn].length > 0 ? this.#turn : this.#turn === 0 ? 1 : 0;
      this.#turn = from === 0 ? 1 : 0;
      const bytes = this.#queues[from].shift()!;
      const airtime = rnodePacketAirtimeMs(linkPacketBytes(bytes.length), this.modulation);
      const start = Math.max(this.#busyUntilMs, nowMs);
      this.budgets[from]?.record(airtime, start);
      this.#busyUntilMs = start + airtime;
      this.airtimeMs += airtime;
      this.packets++;
      if (this.loss === null || uniform(this.loss.rng) >= this.loss.rate) this.#inFlight.push({ atMs: this.#busyUntilMs, to: from === 0 ? 1 : 0, bytes });
    }
    const out: Delivery[] = [];
    while (this.#inFlight.length > 0 && this.#inFlight[0]!.atMs <= nowMs) out.push(this.#inFlight.shift()!);
    return out;
  }
}

// ---- a pair of sessions --------------------------------------------------------------------------------

export interface PairOptions {
  views: [MemoryView, MemoryView];
  medium: Medium;
  nowMs: number;
  linkMdu?: number;
  bitrateBps?: number;
  session?: Partial<SyncSessionOptions>;
  /** Per-end options (airtime models). */
  ends?: [Partial<SyncSessionOptions>, Partial<SyncSessionOptions>];
  seed?: number;
}

export interface PairResult {
  sessions: [SyncSession, SyncSession];
  events: [SyncEvent[], SyncEvent[]];
  nowMs: number;
  /** Every message sent, in order, with its sender. */
  sent: Array<{ from: 0 | 1; bytes: Bytes; atMs: number }>;
}

export function openPair(o: PairOptions): PairResult {
  const rng = seededRandom(o.seed ?? 1);
  const make = (i: 0 | 1): SyncSession =>
    new SyncSession({
      view: o.views[i],
      linkMdu: o.linkMdu ?? 431,
      bitrateBps: o.bitrateBps ?? 1_000_000,
      role: i === 0 ? "initiator" : "responder",
      nowMs: o.nowMs,
      random: rng,
      ...o.session,
      ...o.ends?.[i],
    });
  const sessions: [SyncSession, SyncSession] = [make(0), make(1)];
  sessions[1].start(o.nowMs);
  sessions[0].start(o.nowMs);
  return { sessions, events: [[], []], nowMs: o.nowMs, sent: [] };
}

/**
 * Runs a pair until nothing is left to do, `untilMs`, or `stop()` says so. Messages go through the medium;
 * the clock jumps to the next event.
 */
export function runPair(p: PairResult, medium: Medium, o: { untilMs?: number; stop?: (p: PairResult) => boolean; maxSteps?: number } = {}): PairResult {
  const until = o.untilMs ?? p.nowMs + 24 * 3_600_000;
  for (let step = 0; step < (o.maxSteps ?? 5_000_000); step++) {
    for (const i of [0, 1] as const) {
      for (const m of p.sessions[i].takeMessages()) {
        p.sent.push({ from: i, bytes: m, atMs: p.nowMs });
        medium.send(i, m, p.nowMs);
      }
      p.events[i].push(...p.sessions[i].takeEvents());
    }
    if (o.stop?.(p) === true) break;
    const next = Math.min(medium.nextEventMs(), p.sessions[0].nextDeadlineMs(), p.sessions[1].nextDeadlineMs());
    if (next === Infinity || next > until) break;
    p.nowMs = Math.max(p.nowMs, next);
    for (const d of medium.advance(p.nowMs)) p.sessions[d.to].receive(d.bytes, p.nowMs);
    p.sessions[0].tick(p.nowMs);
    p.sessions[1].tick(p.nowMs);
  }
  return p;
}

// ---- several nodes, partitions ---------------------------------------------------------------------------

export interface SimOptions {
  seed: number;
  nodes: number;
  /** Authors per node; each node appends to its own authors' chains. */
  authorsPerNode: number;
  /** Local appends: one every this many ms per node, until appendUntilMs. */
  appendEveryMs: number;
  appendUntilMs: number;
  /** Which nodes can reach each other, by time: each phase lists groups of node indexes. */
  phases: Array<{ untilMs: number; groups: number[][] }>;
  /** After the last phase everyone is connected; the run ends this long after it (or when converged). */
  settleMs: number;
  delayMs: number;
  jitterMs: number;
  lossRate: number;
  /** Idle initiators re-check with HELLO this often (anti-entropy for lost updates). */
  resyncEveryMs: number;
}

export interface SimResult {
  converged: boolean;
  convergedAtMs: number | null;
  views: MemoryView[];
  appended: number;
  sessionsOpened: number;
  stats: { messages: number; bytes: number; entriesSent: number; entriesReceived: number; duplicates: number };
}

interface SimLink {
  a: number;
  b: number;
  pair: PairResult | null;
  /** The node behind each session of the pair (session 0 is the initiator). */
  nodes: [number, number];
  medium: IdealMedium;
  lastResyncMs: number;
}

/** Runs the simulation; deterministic for a seed. */
export function simulate(o: SimOptions): SimResult {
  const rng = seededRandom(o.seed);
  const ids = authors(o.seed, o.nodes * o.authorsPerNode);
  const views = Array.from({ length: o.nodes }, () => new MemoryView());
  const links: SimLink[] = [];
  for (let a = 0; a < o.nodes; a++) for (let b = a + 1; b < o.nodes; b++) links.push({ a, b, pair: null, nodes: [a, b], medium: new IdealMedium({ delayMs: o.delayMs, jitterMs: o.jitterMs, lossRate: o.lossRate, rng }), lastResyncMs: 0 });
  const stats = { messages: 0, bytes: 0, entriesSent: 0, entriesReceived: 0, duplicates: 0 };
  let appended = 0;
  let sessionsOpened = 0;
  const endMs = (o.phases.at(-1)?.untilMs ?? 0) + o.settleMs;
  const connected = (t: number, a: number, b: number): boolean => {
    const phase = o.phases.find((p) => t < p.untilMs);
    return phase === undefined || phase.groups.some((g) => g.includes(a) && g.includes(b));
  };
  const close = (l: SimLink): void => {
    if (l.pair === null) return;
    for (const s of l.pair.sessions) {
      stats.messages += s.stats.messagesSent;
      stats.bytes += s.stats.bytesSent;
      stats.entriesSent += s.stats.entriesSent;
      stats.entriesReceived += s.stats.entriesReceived;
      stats.duplicates += s.stats.duplicates;
    }
    l.pair = null;
    l.medium = new IdealMedium({ delayMs: o.delayMs, jitterMs: o.jitterMs, lossRate: o.lossRate, rng });
  };
  const refreshNode = (node: number, t: number, except: SimLink | null): void => {
    for (const l of links) {
      if (l === except || l.pair === null) continue;
      const i = l.nodes.indexOf(node);
      if (i >= 0) l.pair.sessions[i]!.refresh(t);
    }
  };
  let now = T0;
  let nextAppend = T0 + o.appendEveryMs;
  let convergedAtMs: number | null = null;
  for (let step = 0; step < 2_000_000; step++) {
    // Partitions: open sessions on links that came up, drop those that went down.
    for (const l of links) {
      const up = connected(now - T0, l.a, l.b);
      if (up && l.pair === null) {
        l.nodes = uniform(rng) < 0.5 ? [l.a, l.b] : [l.b, l.a];
        l.pair = openPair({ views: [views[l.nodes[0]]!, views[l.nodes[1]]!], medium: l.medium, nowMs: now, seed: rng.next32() });
        l.lastResyncMs = now;
        sessionsOpened++;
      } else if (!up && l.pair !== null) {
        close(l);
      }
    }
    // Local appends.
    if (now - T0 < o.appendUntilMs && now >= nextAppend) {
      const node = rng.next32() % o.nodes;
      const who = ids[node * o.authorsPerNode + (rng.next32() % o.authorsPerNode)]!;
      grow(views[node]!, who, 1, { entryBytes: 150 + (rng.next32() % 150), t0: now - (views[node]!.head(who.hash)?.seq ?? 0) * 1000 - 1000, kindOf: () => (uniform(rng) < 0.1 ? "alarm.fire" : "supply.handout") });
      appended++;
      refreshNode(node, now, null);
      nextAppend += o.appendEveryMs;
    }
    // Traffic, events, periodic re-checks.
    for (const l of links) {
      const p = l.pair;
      if (p === null) continue;
      for (const i of [0, 1] as const) {
        for (const m of p.sessions[i].takeMessages()) l.medium.send(i, m, now);
        if (p.sessions[i].takeEvents().some((e) => e.kind === "accepted")) refreshNode(l.nodes[i], now, l);
      }
      if (now - l.lastResyncMs >= o.resyncEveryMs) {
        l.lastResyncMs = now;
        if (p.sessions[0].idle) p.sessions[0].resync(now);
      }
    }
    if (convergedAtMs === null && now - T0 >= (o.phases.at(-1)?.untilMs ?? 0) && now - T0 >= o.appendUntilMs && views.every((v) => sameLogs(v, views[0]!))) {
      convergedAtMs = now;
      break;
    }
    let next = Math.min(nextAppend > T0 + o.appendUntilMs ? Infinity : nextAppend, ...links.map((l) => l.medium.nextEventMs()));
    for (const l of links) if (l.pair !== null) next = Math.min(next, l.pair.sessions[0].nextDeadlineMs(), l.pair.sessions[1].nextDeadlineMs(), l.lastResyncMs + o.resyncEveryMs);
    const phaseEdge = o.phases.map((p) => T0 + p.untilMs).find((t) => t > now);
    if (phaseEdge !== undefined) next = Math.min(next, phaseEdge);
    if (next === Infinity || next > T0 + endMs) break;
    now = Math.max(now, next);
    for (const l of links) {
      const deliveries = l.medium.advance(now);
      if (l.pair === null) continue;
      for (const d of deliveries) l.pair.sessions[d.to].receive(d.bytes, now);
      l.pair.sessions[0].tick(now);
      l.pair.sessions[1].tick(now);
    }
  }
  for (const l of links) close(l);
  return { converged: convergedAtMs !== null, convergedAtMs, views, appended, sessionsOpened, stats };
}

