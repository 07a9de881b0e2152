// Wired segments of the simulator: an ideal broadcast medium, as a LAN looks to AutoInterface. A frame reaches
// every other member of the segment after the segment's delay plus its serialisation time, unless a seeded
// draw loses it or a partition separates the two nodes. No collisions, no queueing.
import { seededRandom } from "../../runtime/core/ports.js";
import type { Bytes } from "../../runtime/core/bytes.js";
import type { SimNode, WiredPort } from "./node.js";
import type { RadioContext } from "./radio-host.js";

export interface WiredSegmentSpec {
  name: string;
  delayMs: number;
  lossProbability: number;
  bitrateBps: number;
}

interface Segment {
  spec: WiredSegmentSpec;
  members: { node: SimNode; port: WiredPort }[];
}

export interface WiredContext extends Pick<RadioContext, "nowMs" | "trace" | "at" | "call"> {
  readonly stats: { wiredFrames: number; lost: Record<string, number> };
  partitioned(a: SimNode, b: SimNode): boolean;
}

export class WiredSegments {
  readonly #segments = new Map<string, Segment>();
  readonly #random: ReturnType<typeof seededRandom>;

  constructor(
    private readonly ctx: WiredContext,
    specs: readonly WiredSegmentSpec[],
    seed: number,
  ) {
    this.#random = seededRandom(seed);
    for (const s of specs) this.#segments.set(s.name, { spec: { ...s }, members: [] });
  }

  /** A node's port on a segment (named in the node's spec). */
  join(node: SimNode, segment: string): WiredPort {
    const seg = this.#segments.get(segment);
    if (seg === undefined) throw new RangeError(`node ${node.spec.name}: no wired segment ${segment}`);
    const port: WiredPort = { kind: "wired", name: `AutoInterface[${segment}]`, segment, bitrateBps: seg.spec.bitrateBps, ifaceId: null };
    seg.members.push({ node, port });
    return port;
  }

  setLoss(p: number): void {
    for (const s of this.#segments.values()) s.spec.lossProbability = p;
  }

  send(node: SimNode, port: WiredPort, raw: Bytes): void {
    const ctx = this.ctx;
    const seg = this.#segments.get(port.segment)!;
    const atMs = ctx.nowMs + seg.spec.delayMs + (raw.length * 8 * 1000) / seg.spec.bitrateBps;
    for (const m of seg.members) {
      const id = m.port.ifaceId;
      if (m.node === node || !m.node.up || id === null) continue;
      if (ctx.partitioned(node, m.node)) {
        ctx.stats.lost["partitioned"] = (ctx.stats.lost["partitioned"] ?? 0) + 1;
        continue;
      }
      if (seg.spec.lossProbability > 0 && this.#random.next32() / 2 ** 32 < seg.spec.lossProbability) {
        ctx.stats.lost["loss"] = (ctx.stats.lost["loss"] ?? 0) + 1;
        continue;
      }
      ctx.stats.wiredFrames++;
      if (ctx.trace.on) ctx.trace.add(ctx.nowMs, `wire ${seg.spec.name} ${node.spec.name}->${m.node.spec.name} ${raw.length}B`);
      const rx = m.node;
      ctx.at(atMs, () => {
        if (rx.byIface.get(id) !== m.port) return;
        rx.stats.rxFrames++;
        ctx.call(rx, (engine, now) => engine.inbound(id, raw, now));
      }, rx);
    }
  }
}
