// The host side of each simulated node's LoRa radio, as kosd and the RNode firmware share it: a bounded queue
// of frames, carrier sense before each one (csma.ts timing: DIFS and a random window of free channel; a packet
// heard meanwhile starts the wait over from its end), one frame on air at a time, and at the end of each frame
// the medium's verdict for every neighbour, received frames going to their engines with RSSI and SNR. Also the
// radio faults: unplugged (off the air, interface out of the engine), plugged back, reset.
import { seededRandom } from "../../runtime/core/ports.js";
import type { Bytes } from "../../runtime/core/bytes.js";
import type { Engine } from "../../runtime/engine/engine.js";
import type { AirOutcome, AirTransmission, SimAir } from "./air.js";
import { csmaTiming, type CsmaTiming } from "./csma.js";
import { LORA_HW_MTU, type LoraPort, type Port, type SimNode } from "./node.js";
import type { Trace } from "./trace.js";

export const RADIO_LIMITS = Object.freeze({
  /** Frames a radio holds while it waits for the channel (RNode firmware queue, in packets). */
  maxQueue: 64,
  /** Time a radio takes to come up after power (the host detects and configures it). */
  bootMs: 1_000,
});

/** What the radios need from the simulator. */
export interface RadioContext {
  readonly nowMs: number;
  readonly air: SimAir;
  readonly trace: Trace;
  readonly stats: { framesOnAir: number; airtimeMs: number; receptions: number; lost: Record<string, number> };
  /** Runs `fn` at `atMs`; bound to `node`, it is dropped if the node crashed or rebooted meanwhile. */
  at(atMs: number, fn: () => void, node?: SimNode | null): void;
  call<T>(node: SimNode, fn: (engine: Engine, nowMs: number) => T): T | undefined;
  announceOn(node: SimNode, port: Port): void;
  fail(node: SimNode, e: unknown): void;
  engineTimeMs(): number;
}

export class RadioHost {
  readonly #byRadio: SimNode[] = [];
  readonly #timing = new Map<LoraPort, CsmaTiming>();
  readonly #random: ReturnType<typeof seededRandom>;

  constructor(
    private readonly ctx: RadioContext,
    seed: number,
  ) {
    this.#random = seededRandom(seed);
  }

  register(node: SimNode, port: LoraPort): void {
    this.#byRadio[port.airIndex] = node;
  }

  nodeOfRadio(index: number): SimNode {
    return this.#byRadio[index]!;
  }

  /** A frame from the engine: queued for the channel, or dropped (counted on the node) when it cannot go. */
  send(node: SimNode, port: LoraPort, raw: Bytes): void {
    if (!port.up) return node.drop("radio-down");
    if (raw.length > LORA_HW_MTU) return node.drop("oversize");
    if (port.queue.length >= RADIO_LIMITS.maxQueue) return node.drop("queue-full");
    port.queue.push(raw);
    this.#kick(node, port);
  }

  /** Powers the radio on with its settings (a node's boot). */
  powerOn(port: LoraPort): void {
    this.ctx.air.setRadio(port.airIndex, port.settings, this.ctx.nowMs);
    port.up = true;
  }

  /** The radio loses power: off the air, its queue and any carrier-sense wait gone. */
  powerOff(port: LoraPort): void {
    this.ctx.air.setRadio(port.airIndex, null, this.ctx.nowMs);
    port.up = false;
    port.queue = [];
    port.sending = null;
    port.csmaSinceMs = null;
    port.epoch++;
  }

  /** Pulled out: off the air, and its interface leaves the engine (with the paths and relayed links through it). */
  unplug(node: SimNode): void {
    const port = node.lora;
    if (port === null || !port.plugged) return;
    if (this.ctx.trace.on) this.ctx.trace.add(this.ctx.nowMs, `unplug ${node.spec.name}`);
    port.plugged = false;
    this.powerOff(port);
    const id = port.ifaceId;
    if (node.up && id !== null) {
      node.byIface.delete(id);
      port.ifaceId = null;
      this.ctx.call(node, (engine, now) => engine.removeInterface(id, now));
    }
  }

  /** Plugged back in: after the radio's boot time the interface rejoins the engine and the node announces on it. */
  replug(node: SimNode): void {
    const port = node.lora;
    if (port === null || port.plugged) return;
    if (this.ctx.trace.on) this.ctx.trace.add(this.ctx.nowMs, `replug ${node.spec.name}`);
    port.plugged = true;
    this.#boot(node, port);
  }

  /** Reset (button, firmware): off the air for its boot time; the interface stays in the engine. */
  reset(node: SimNode): void {
    const port = node.lora;
    if (port === null || !port.plugged) return;
    if (this.ctx.trace.on) this.ctx.trace.add(this.ctx.nowMs, `reset ${node.spec.name}`);
    this.powerOff(port);
    this.#boot(node, port);
  }

  #boot(node: SimNode, port: LoraPort): void {
    const epoch = port.epoch;
    this.ctx.at(this.ctx.nowMs + RADIO_LIMITS.bootMs, () => {
      if (port.epoch !== epoch || !port.plugged) return;
      this.powerOn(port);
      if (port.ifaceId === null) {
        try {
          node.attach(port, this.ctx.engineTimeMs());
        } catch (e) {
          return this.ctx.fail(node, e);
        }
      }
      if (this.ctx.trace.on) this.ctx.trace.add(this.ctx.nowMs, `radio-up ${node.spec.name}`);
      this.ctx.announceOn(node, port);
    }, node);
  }

  /** Starts carrier sense when the radio is idle and has something to send. */
  #kick(node: SimNode, port: LoraPort): void {
    if (port.sending !== null || port.csmaSinceMs !== null || port.queue.length === 0 || !port.up) return;
    const c = this.#timingOf(port);
    port.csmaSinceMs = this.ctx.nowMs;
    port.csmaSlots = this.#random.next32() % c.windowSlots;
    port.csmaCreditMs = 0;
    const epoch = port.epoch;
    this.ctx.at(this.ctx.nowMs + c.difsMs + port.csmaSlots * c.slotMs, () => this.#wake(node, port, epoch));
  }

  #wake(node: SimNode, port: LoraPort, epoch: number): void {
    const now = this.ctx.nowMs;
    if (port.epoch !== epoch || !node.up || !port.up || port.csmaSinceMs === null) return;
    const busy = this.ctx.air.busyUntilMs(port.airIndex);
    if (busy > port.csmaSinceMs) {
      // A packet was heard during the wait: wait again from the end of it, DIFS first. As in the firmware
      // (cw_wait_passed), contention-window time already waited on a free channel counts: the window is paused,
      // not drawn again, so a radio that drew a long one is not starved by neighbours that keep drawing short
      // ones. (Several busy periods within one wait credit from the latest one's start: a slight overcount.)
      const c = this.#timingOf(port);
      const from = this.ctx.air.busyFromMs(port.airIndex);
      port.csmaCreditMs += Math.max(0, Math.min(from, now) - (port.csmaSinceMs + c.difsMs));
      port.csmaSinceMs = busy;
      this.ctx.at(Math.max(now, busy + c.difsMs + Math.max(0, port.csmaSlots * c.slotMs - port.csmaCreditMs)), () => this.#wake(node, port, epoch));
      return;
    }
    port.csmaSinceMs = null;
    const raw = port.queue.shift();
    if (raw === undefined) return;
    const t = this.ctx.air.transmit(port.airIndex, raw, now);
    port.sending = t;
    this.ctx.stats.framesOnAir++;
    this.ctx.stats.airtimeMs += t.airtimeMs;
    this.ctx.at(t.endMs, () => this.#end(t, node, port, epoch));
  }

  /** The packet's end: every neighbour's outcome, received frames to their engines, then the next frame. */
  #end(t: AirTransmission, node: SimNode, port: LoraPort, epoch: number): void {
    const ctx = this.ctx;
    const outcomes = ctx.air.settle(t, ctx.nowMs);
    if (ctx.trace.on) ctx.trace.add(ctx.nowMs, `air ${node.spec.name} #${t.id} ${t.bytes.length}B ${t.airtimeMs.toFixed(1)}ms -> ${this.#describe(outcomes)}`);
    for (const o of outcomes) {
      if (!o.received) {
        ctx.stats.lost[o.reason] = (ctx.stats.lost[o.reason] ?? 0) + 1;
        continue;
      }
      const rx = this.#byRadio[o.radio]!;
      const rport = rx.lora!;
      const id = rport.ifaceId;
      if (!rx.up || !rport.up || id === null) continue;
      ctx.stats.receptions++;
      rx.stats.rxFrames++;
      ctx.call(rx, (engine, now) => engine.inbound(id, t.bytes, now, { rssiDbm: o.rssiDbm, snrDb: o.snrDb }));
    }
    if (port.epoch === epoch && port.sending === t) {
      port.sending = null;
      this.#kick(node, port);
    }
  }

  #describe(outcomes: readonly AirOutcome[]): string {
    if (outcomes.length === 0) return "nobody";
    return outcomes.map((o) => `${this.#byRadio[o.radio]!.spec.name}:${o.received ? `ok/${o.rssiDbm.toFixed(0)}/${o.snrDb.toFixed(1)}` : o.reason}`).join(" ");
  }

  #timingOf(port: LoraPort): CsmaTiming {
    let c = this.#timing.get(port);
    if (c === undefined) this.#timing.set(port, (c = csmaTiming(port.settings)));
    return c;
  }
}
