// Where simulated nodes stand and what the radio path between them loses: placements (line, grid, random in a
// rectangle, explicit positions), the log-distance path-loss model, and the sparse neighbour table built from
// them with a spatial hash (cells as wide as the longest distance that still matters), so placing 1,000
// nodes costs about N times the neighbourhood, not N².
//
// A pair is linked when its path loss leaves the receiver within `interferenceMarginDb` of its demodulator
// floor: those pairs can hear each other (above the floor) or at least collide (below it, with no capture).
// Pairs further apart do not exist for the medium at all.
import { seededRandom } from "../../runtime/core/ports.js";
import { DEMOD_SNR_FLOOR_DB, type RadioSettings } from "../medium/medium.js";

export type Position = readonly [number, number];

export type Placement =
  | { kind: "line"; spacingM: number }
  | { kind: "grid"; spacingM: number; columns?: number }
  | { kind: "random"; widthM: number; heightM: number }
  | { kind: "explicit"; positions: Position[] };

export interface Propagation {
  /** Path loss at 1 m, dB. */
  refLossDb: number;
  /** Log-distance exponent (2 free space, 2.7-3.5 built-up areas). */
  exponent: number;
  /** Pairs are linked up to this far below the demodulator floor (they can still collide). */
  interferenceMarginDb: number;
  noiseFigureDb: number;
}

export const DEFAULT_PROPAGATION: Readonly<Propagation> = Object.freeze({ refLossDb: 40, exponent: 3, interferenceMarginDb: 6, noiseFigureDb: 6 });

export function place(p: Placement, count: number, seed: number): Position[] {
  switch (p.kind) {
    case "line":
      return Array.from({ length: count }, (_, i) => [i * p.spacingM, 0] as const);
    case "grid": {
      const cols = p.columns ?? Math.ceil(Math.sqrt(count));
      return Array.from({ length: count }, (_, i) => [(i % cols) * p.spacingM, Math.floor(i / cols) * p.spacingM] as const);
    }
    case "random": {
      const rng = seededRandom(seed);
      const u = (): number => rng.next32() / 2 ** 32;
      return Array.from({ length: count }, () => [u() * p.widthM, u() * p.heightM] as const);
    }
    case "explicit":
      if (p.positions.length !== count) throw new RangeError(`${p.positions.length} positions for ${count} nodes`);
      return p.positions.map((q) => [q[0], q[1]] as const);
  }
}

export function pathLossDb(distanceM: number, prop: Propagation): number {
  return prop.refLossDb + 10 * prop.exponent * Math.log10(Math.max(distanceM, 1));
}

/** The largest path loss at which `s` still matters to a receiver tuned alike (hearing or colliding). */
export function maxRelevantPathLossDb(s: RadioSettings, prop: Propagation): number {
  const noiseFloor = -174 + 10 * Math.log10(s.bandwidthHz) + prop.noiseFigureDb;
  return s.txPowerDbm - (noiseFloor + DEMOD_SNR_FLOOR_DB[s.spreadingFactor]!) + prop.interferenceMarginDb;
}

export function distanceForPathLossM(lossDb: number, prop: Propagation): number {
  return 10 ** ((lossDb - prop.refLossDb) / (10 * prop.exponent));
}

/** Every pair (i < j) within `rangeM` of each other, with its distance, found through a grid of cells. */
export function pairsWithin(positions: readonly Position[], rangeM: number): { a: number; b: number; distanceM: number }[] {
  if (!(rangeM > 0)) return [];
  const cell = (v: number): number => Math.floor(v / rangeM);
  const cells = new Map<string, number[]>();
  positions.forEach((p, i) => {
    const key = `${cell(p[0])},${cell(p[1])}`;
    let list = cells.get(key);
    if (list === undefined) cells.set(key, (list = []));
    list.push(i);
  });
  const out: { a: number; b: number; distanceM: number }[] = [];
  positions.forEach((p, i) => {
    const cx = cell(p[0]);
    const cy = cell(p[1]);
    for (let dx = -1; dx <= 1; dx++) {
      for (let dy = -1; dy <= 1; dy++) {
        for (const j of cells.get(`${cx + dx},${cy + dy}`) ?? []) {
          if (j <= i) continue;
          const q = positions[j]!;
          const d = Math.hypot(p[0] - q[0], p[1] - q[1]);
          if (d <= rangeM) out.push({ a: i, b: j, distanceM: d });
        }
      }
    }
  });
  out.sort((x, y) => x.a - y.a || x.b - y.b);
  return out;
}
