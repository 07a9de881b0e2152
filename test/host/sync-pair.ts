// In-process kosd nodes for log-sync tests: real KosNodes (engine, interface manager, LogSyncService, durable
// LogStore in a temp dir) joined by an in-memory wire, on a virtual clock. Nothing waits on the wall clock:
// time moves only in `advance`, which fires the service's timers, ticks the engines at their deadlines and
// delivers frames. The wire can go dark (frames dropped, counted) and come back, like a peer out of range.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import assert from "node:assert/strict";
import { seededRandom, type Logger, type LogLevel } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { formatIssue, loadConfigText } from "../../runtime/host/config/load.js";
import { LogSyncService, type SyncTimers } from "../../runtime/host/log-sync.js";
import { KosNode } from "../../runtime/host/node.js";
import { LogStore } from "../../runtime/log/store.js";
import { verifyLog } from "../../runtime/log/verify.js";
import { DriverBase } from "../../drivers/port.js";

/** A virtual clock and the timers of every service on it, fired in due order by `advance`. */
export class VirtualTime implements SyncTimers {
  nowMs = 1_700_000_000_000;
  readonly #due = new Map<number, { atMs: number; fn: () => void }>();
  #next = 1;

  set(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#due.set(id, { atMs: this.nowMs + Math.max(0, ms), fn });
    return id;
  }

  clear(handle: unknown): void {
    this.#due.delete(handle as number);
  }

  nextDueMs(): number {
    let t = Infinity;
    for (const d of this.#due.values()) t = Math.min(t, d.atMs);
    return t;
  }

  /** Fires the timers due by now (in due order; timers they set for now fire too), bounded. */
  fireDue(): void {
    for (let i = 0; i < 10_000; i++) {
      let best: [number, { atMs: number; fn: () => void }] | null = null;
      for (const e of this.#due) if (e[1].atMs <= this.nowMs && (best === null || e[1].atMs < best[1].atMs)) best = e;
      if (best === null) return;
      this.#due.delete(best[0]);
      best[1].fn();
    }
    assert.fail("timers keep firing at the same instant");
  }
}

/** One end of the in-memory wire. */
class PipeEnd extends DriverBase {
  constructor(
    name: string,
    private readonly wire: Wire,
    readonly side: 0 | 1,
  ) {
    super({ kind: "tcp-client", name, hwMtu: 500, bitrateBps: 10_000_000, ifacSize: 16 });
  }
  start(): void {
    this.setState("up");
  }
  send(frame: Uint8Array): boolean {
    if (!this.admit(frame)) return false;
    this.countSent(frame);
    this.wire.carry(this.side, frame);
    return true;
  }
  stop(): Promise<void> {
    this.setState("closed");
    return Promise.resolve();
  }
  receive(frame: Uint8Array): void {
    this.deliver(frame);
  }
}

/** Two driver ends; frames queue until `deliver`, and are dropped while the wire is dark. */
export class Wire {
  readonly ends: [PipeEnd, PipeEnd];
  up = true;
  dropped = 0;
  delivered = 0;
  readonly #queue: Array<{ to: 0 | 1; frame: Uint8Array }> = [];

  constructor() {
    this.ends = [new PipeEnd("Pipe[0]", this, 0), new PipeEnd("Pipe[1]", this, 1)];
  }

  carry(from: 0 | 1, frame: Uint8Array): void {
    if (!this.up) this.dropped++;
    else this.#queue.push({ to: from === 0 ? 1 : 0, frame: frame.slice() });
  }

  /** Delivers queued frames (and what they cause) until none is left, or `stop` says to go dark. */
  deliver(stop?: () => boolean): void {
    for (let i = 0; i < 200_000; i++) {
      const f = this.#queue.shift();
      if (f === undefined) return;
      if (!this.up) {
        this.dropped++;
        continue;
      }
      const end = this.ends[f.to];
      if (end.state !== "up") continue;
      this.delivered++;
      end.receive(f.frame);
      if (stop?.() === true) this.cut();
    }
    assert.fail("the wire never went quiet");
  }

  cut(): void {
    this.up = false;
    this.dropped += this.#queue.length;
    this.#queue.length = 0;
  }
}

const quiet: Logger = { log: (_l: LogLevel) => undefined };

export interface SyncNode {
  name: string;
  node: KosNode;
  store: LogStore;
  sync: LogSyncService;
  identity: Identity;
  row(peer: SyncNode): Record<string, any> | undefined;
  rows(): Array<Record<string, any>>;
  entries(): number;
}

export class SyncPair {
  readonly time = new VirtualTime();
  readonly wire = new Wire();
  readonly nodes: SyncNode[] = [];
  readonly #dirs: string[] = [];

  /** A node on end `side` of the wire (not started). */
  async add(name: string, side: 0 | 1, seed: number): Promise<SyncNode> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kos-sync-${name}-`));
    this.#dirs.push(dir);
    const r = loadConfigText(
      `[kosd]\n  data_dir = ${dir}\n[interfaces]\n  [[Pipe]]\n    type = TCPClientInterface\n    enabled = yes\n    target_host = 127.0.0.1\n    target_port = 1\n    ingress_control = no\n`,
      "kosd.conf",
    );
    if (!r.ok) assert.fail(r.errors.map(formatIssue).join("\n"));
    const random = seededRandom(seed);
    const identity = Identity.generate(random);
    const clock = { nowMs: () => this.time.nowMs };
    const node = new KosNode(r.config, identity, quiet, clock, random, { makeDriver: () => this.wire.ends[side] });
    const store = await LogStore.open({ dir: path.join(dir, "log"), logger: quiet, clock, commitWindowMs: 0 });
    const sync = new LogSyncService(node, store, { timers: this.time });
    store.onAppend(() => sync.refresh());
    const n: SyncNode = {
      name,
      node,
      store,
      sync,
      identity,
      rows: () => sync.status() as Array<Record<string, any>>,
      row: (peer) => n.rows().find((x) => x["identity"] === Buffer.from(peer.identity.hash).toString("hex")),
      // Accepted entries count at once (they are durable a little later: `verifies` flushes first).
      entries: () => store.tips().reduce((k, h) => k + h.seq, 0),
    };
    this.nodes.push(n);
    return n;
  }

  start(n: SyncNode): void {
    n.node.start();
    n.sync.start();
    this.settle();
  }

  /** Delivers every queued frame (and the frames they cause). */
  settle(stop?: () => boolean): void {
    this.wire.deliver(stop);
  }

  /**
   * Moves the virtual clock `ms` ahead, stopping at every service timer and engine deadline on the way (and at
   * least every `stepMs`), firing them and delivering what they send.
   */
  advance(ms: number, stepMs = 1000): void {
    const end = this.time.nowMs + ms;
    for (let i = 0; i < 1_000_000; i++) {
      let next = Math.min(end, this.time.nowMs + stepMs, this.time.nextDueMs());
      for (const n of this.nodes) next = Math.min(next, Math.max(this.time.nowMs, n.node.engine.nextDeadlineMs()));
      this.time.nowMs = Math.max(this.time.nowMs, Math.ceil(next));
      this.time.fireDue();
      for (const n of this.nodes) n.node.run((t) => n.node.engine.tick(t));
      this.settle();
      if (this.time.nowMs >= end) return;
    }
    assert.fail("advance did not reach its end");
  }

  /** Advances in steps until `cond` holds; false if it does not within `ms` of virtual time. */
  advanceUntil(cond: () => boolean, ms: number, stepMs = 1000): boolean {
    const end = this.time.nowMs + ms;
    while (this.time.nowMs < end) {
      if (cond()) return true;
      this.advance(Math.min(stepMs, end - this.time.nowMs), stepMs);
    }
    return cond();
  }

  async append(n: SyncNode, count: number, kind: string, bodyBytes = 120): Promise<void> {
    for (let i = 0; i < count; i++) {
      const body = new Uint8Array(bodyBytes).fill(i & 0xff);
      await n.store.appendLocal(n.identity, kind, body, this.time.nowMs);
    }
    this.settle();
  }

  async verifies(n: SyncNode): Promise<boolean> {
    await n.store.flush();
    const r = await verifyLog(n.store.records());
    return r.ok && r.problemCount === 0;
  }

  async close(): Promise<void> {
    for (const n of this.nodes) {
      await n.node.stop();
      await n.store.close();
    }
    for (const d of this.#dirs) fs.rmSync(d, { recursive: true, force: true });
  }
}

/** The identity hash of a node in hex (the key of its status row). */
export function idHex(n: SyncNode): string {
  return Buffer.from(n.identity.hash).toString("hex");
}
