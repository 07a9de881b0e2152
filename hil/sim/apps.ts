// What an operator does on a simulated node, done as kosd does it on a real one: probes (kosctl probe: make
// sure of a path, asking the network, then one packet with a proof requested) and file transfers (kosctl cp:
// path, link, the file as a resource with its name; a link that cannot be established over a known path gets
// the path dropped and asked for again once). Results are records the scenario's assertions read.
import { equal, toHex, utf8, type Bytes } from "../../runtime/core/bytes.js";
import type { EngineEvent } from "../../runtime/engine/events.js";
import type { SimNode } from "./node.js";
import type { Simulator } from "./sim.js";
import { short } from "./trace.js";

export type AppStatus = "pending" | "ok" | "failed";

export interface ProbeRecord {
  id: number;
  from: string;
  to: string;
  startMs: number;
  endMs: number | null;
  status: AppStatus;
  rttMs: number | null;
  hops: number | null;
  reason: string | null;
}

export interface TransferRecord {
  id: number;
  from: string;
  to: string;
  sizeBytes: number;
  startMs: number;
  attempts: number;
  /** The sender's view: ok when the receiver proved the resource. */
  status: AppStatus;
  /** When the receiver had every byte, intact; null until then. */
  deliveredMs: number | null;
  reason: string | null;
  readonly data: Bytes;
}

export interface ProbeOptions {
  timeoutMs: number;
  sizeBytes?: number;
}

export interface TransferOptions {
  timeoutMs: number;
  /** Further attempts after a failed one (kosctl cp makes one; a script may retry). */
  retries: number;
}

/** Every probe and transfer of a run, and the receiving side of transfers. */
export class Apps {
  readonly probes: ProbeRecord[] = [];
  readonly transfers: TransferRecord[] = [];

  constructor(private readonly sim: Simulator) {}

  /** Starts listening on every node: a node with a file receiver reports each file that arrives intact. */
  install(): void {
    for (const node of this.sim.nodes) node.listeners.add((ev) => this.#onReceiverEvent(node, ev));
  }

  probe(from: SimNode, to: SimNode, o: ProbeOptions): ProbeRecord {
    const sim = this.sim;
    const r: ProbeRecord = { id: this.probes.length + 1, from: from.spec.name, to: to.spec.name, startMs: sim.nowMs, endMs: null, status: "pending", rttMs: null, hops: null, reason: null };
    this.probes.push(r);
    const finish = (status: AppStatus, reason: string | null): void => {
      if (r.status !== "pending") return;
      r.status = status;
      r.reason = reason;
      r.endMs = sim.nowMs;
      if (sim.trace.on) sim.trace.add(sim.nowMs, `probe ${r.from}->${r.to} ${status}${reason ? ` (${reason})` : ""}${r.rttMs !== null ? ` rtt=${r.rttMs.toFixed(0)}ms hops=${r.hops}` : ""}`);
    };
    if (!from.up) {
      finish("failed", `${from.spec.name} is down`);
      return r;
    }
    const dest = to.probeDestination;
    ensurePath(sim, from, dest, o.timeoutMs, (ok) => {
      if (!ok) return finish("failed", from.up ? `path request for <${short(dest)}> timed out` : `${from.spec.name} went down`);
      const gen = from.gen;
      const sent = sim.call(from, (engine, now) => engine.sendPacket(dest, sim.appBytes(o.sizeBytes ?? 16), now, { wantProof: true }));
      if (sent === undefined || !sent.ok) return finish("failed", sent?.ok === false ? (sent.detail ?? sent.reason) : "node down");
      const receiptId = sent.value.receiptId;
      const off = (): boolean => from.listeners.delete(listener);
      const listener = (ev: EngineEvent): void => {
        if (ev.kind !== "receipt" || ev.receiptId !== receiptId) return;
        off();
        if (ev.status === "delivered") {
          r.rttMs = ev.rttMs;
          r.hops = from.engine?.transport.hopsTo(dest) ?? null;
          finish("ok", null);
        } else finish("failed", "no proof before the receipt expired");
      };
      from.listeners.add(listener);
      sim.after(o.timeoutMs, () => {
        off();
        finish("failed", from.gen === gen ? "probe timed out" : `${from.spec.name} went down`);
      });
    });
    return r;
  }

  transfer(from: SimNode, to: SimNode, sizeBytes: number, o: TransferOptions): TransferRecord {
    const sim = this.sim;
    const r: TransferRecord = { id: this.transfers.length + 1, from: from.spec.name, to: to.spec.name, sizeBytes, startMs: sim.nowMs, attempts: 0, status: "pending", deliveredMs: null, reason: null, data: sim.appBytes(sizeBytes) };
    this.transfers.push(r);
    const finish = (status: AppStatus, reason: string | null): void => {
      if (r.status !== "pending") return;
      r.status = status;
      r.reason = reason;
      if (sim.trace.on) sim.trace.add(sim.nowMs, `cp ${r.from}->${r.to} ${sizeBytes}B ${status} after ${r.attempts} attempt(s)${reason ? ` (${reason})` : ""}`);
    };
    const attempt = (): void => {
      r.attempts++;
      new CpAttempt(sim, from, to.fileDestination, r, o.timeoutMs, (ok, reason) => {
        if (ok) return finish("ok", null);
        if (r.deliveredMs !== null) return finish("ok", `the receiver has the file; the sender saw: ${reason}`);
        if (r.attempts <= o.retries && from.up) {
          if (sim.trace.on) sim.trace.add(sim.nowMs, `cp ${r.from}->${r.to} attempt ${r.attempts} failed (${reason}), retrying`);
          return sim.after(1000, () => (from.up ? attempt() : finish("failed", `${from.spec.name} went down`)));
        }
        finish("failed", reason);
      }).start();
    };
    if (!from.up) finish("failed", `${from.spec.name} is down`);
    else attempt();
    return r;
  }

  #onReceiverEvent(node: SimNode, ev: EngineEvent): void {
    if (ev.kind !== "resource" || ev.direction !== "in" || ev.status !== "complete" || ev.data === undefined) return;
    for (const t of this.transfers) {
      if (t.to === node.spec.name && t.deliveredMs === null && t.sizeBytes === ev.data.length && equal(t.data, ev.data)) {
        t.deliveredMs = this.sim.nowMs;
        if (this.sim.trace.on) this.sim.trace.add(this.sim.nowMs, `cp ${t.from}->${t.to} delivered ${t.sizeBytes}B intact`);
        return;
      }
    }
  }
}

/** kosctl's ensurePath: done(true) once a path and the destination's identity are known, asking if needed. */
export function ensurePath(sim: Simulator, node: SimNode, dest: Bytes, timeoutMs: number, done: (ok: boolean) => void): void {
  const ready = (): boolean => node.engine !== null && node.engine.transport.hasPath(dest) && node.engine.known.recall(dest) !== null;
  if (!node.up) return done(false);
  if (ready()) return done(true);
  sim.waitFor(node, ready, timeoutMs, done);
  sim.call(node, (engine, now) => engine.requestPath(dest, now));
}

/** One kosctl cp: path, link (one rediscovery of the path if the link fails), resource, then close. */
class CpAttempt {
  #done = false;
  #phase: "path" | "linking" | "sending" = "path";
  #linkId: Bytes | null = null;
  #rediscovered = false;
  readonly #gen: number;
  readonly #listener = (ev: EngineEvent): void => this.#onEvent(ev);

  constructor(
    private readonly sim: Simulator,
    private readonly node: SimNode,
    private readonly dest: Bytes,
    private readonly record: TransferRecord,
    private readonly timeoutMs: number,
    private readonly onEnd: (ok: boolean, reason: string) => void,
  ) {
    this.#gen = node.gen;
  }

  start(): void {
    this.node.listeners.add(this.#listener);
    this.#resolve();
  }

  get #alive(): boolean {
    return this.node.gen === this.#gen && this.node.up;
  }

  #resolve(): void {
    this.#phase = "path";
    ensurePath(this.sim, this.node, this.dest, this.timeoutMs, (ok) => {
      if (this.#done) return;
      if (!this.#alive) return this.#end(false, "the sender went down");
      if (!ok) return this.#end(false, `path request for <${toHex(this.dest)}> timed out`);
      const opened = this.sim.call(this.node, (engine, now) => engine.openLink(this.dest, now));
      if (opened === undefined) return this.#end(false, "the sender went down");
      if (!opened.ok) return this.#end(false, opened.detail ?? opened.reason);
      const linkId = opened.value;
      this.#linkId = linkId;
      this.#phase = "linking";
      // Timers are not bound to the node: a crash must end the attempt too.
      this.sim.after(this.timeoutMs, () => {
        if (this.#done || this.#linkId !== linkId || this.#phase !== "linking") return;
        if (!this.#alive) return this.#end(false, "the sender went down");
        this.#linkFailed("link establishment timed out");
      });
    });
  }

  #linkFailed(reason: string): void {
    const linkId = this.#linkId;
    this.#linkId = null;
    if (linkId !== null) this.sim.call(this.node, (engine, now) => engine.closeLink(linkId, now));
    if (this.#rediscovered) return this.#end(false, reason);
    this.#rediscovered = true;
    this.sim.call(this.node, (engine) => engine.transport.dropPath(this.dest));
    this.#resolve();
  }

  #onEvent(ev: EngineEvent): void {
    const linkId = this.#linkId;
    if (this.#done || linkId === null) return;
    if (ev.kind === "link" && equal(ev.linkId, linkId)) {
      if (ev.event.kind === "established" && this.#phase === "linking") {
        this.#phase = "sending";
        const sent = this.sim.call(this.node, (engine, now) => engine.sendResource(linkId, this.record.data, { name: utf8(`file-${this.record.id}.bin`) }, now));
        if (sent !== undefined && !sent.ok) return this.#end(false, "could not start the transfer");
        const wait = Math.max(this.timeoutMs, 60_000 + this.record.sizeBytes / 10);
        this.sim.after(wait, () => this.#end(false, this.#alive ? "transfer timed out" : "the sender went down"));
      } else if (ev.event.kind === "closed") {
        if (this.#phase === "linking") this.#linkFailed("the link could not be established");
        else this.#end(false, "the link closed");
      }
    } else if (ev.kind === "resource" && ev.direction === "out" && equal(ev.linkId, linkId)) {
      if (ev.status === "complete") this.#end(true, "");
      else if (ev.status === "failed") this.#end(false, `transfer failed: ${ev.reason ?? "?"}`);
    }
  }

  #end(ok: boolean, reason: string): void {
    if (this.#done) return;
    this.#done = true;
    this.node.listeners.delete(this.#listener);
    const linkId = this.#linkId;
    this.#linkId = null;
    if (linkId !== null && this.#alive) this.sim.call(this.node, (engine, now) => engine.closeLink(linkId, now));
    this.onEnd(ok, reason);
  }
}
