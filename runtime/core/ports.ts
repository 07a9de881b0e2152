// Ports handed to the sans-IO cores: time, randomness and logging come in from the host, never from globals.
import { randomFillSync } from "node:crypto";

export interface Clock {
  /** Milliseconds since the Unix epoch (real clock on a node, virtual in the simulator). */
  nowMs(): number;
}

export interface RandomSource {
  bytes(length: number): Uint8Array;
}

export type LogLevel = "error" | "warn" | "info" | "debug";

export interface Logger {
  log(level: LogLevel, message: string, fields?: Record<string, unknown>): void;
}

/** Deferred work: `after(ms, fn)` runs fn once, ms from now (0: as soon as the current I/O callbacks are done). */
export interface Timers {
  after(ms: number, fn: () => void): void;
}

// The system's clock and timers. The only place the wall clock and Node's timers are read for the cores;
// every core takes them as options, and hosts (runtime/host, the simulator) pass their own.
export const systemClock: Clock = { nowMs: () => Date.now() };
export const systemTimers: Timers = { after: (ms, fn) => void (ms > 0 ? setTimeout(fn, ms) : setImmediate(fn)) };

/**
 * The operating system's CSPRNG, drawn 4 KiB at a time: one getrandom() call per IV costs more than the
 * AES and HMAC of a whole packet. Bytes handed out are never handed out again.
 */
export const cryptoRandom: RandomSource = (() => {
  const POOL = 4096;
  const pool = new Uint8Array(POOL);
  let used = POOL;
  return {
    bytes(length: number): Uint8Array {
      if (length > POOL / 4) {
        const out = new Uint8Array(length);
        randomFillSync(out);
        return out;
      }
      if (used + length > POOL) {
        randomFillSync(pool);
        used = 0;
      }
      const out = pool.slice(used, used + length);
      pool.fill(0, used, used + length);
      used += length;
      return out;
    },
  };
})();

/**
 * A seeded deterministic source (xoshiro128**) for simulation and tests. Never for keys in production.
 */
export function seededRandom(seed: number): RandomSource & { next32(): number } {
  let a = seed >>> 0 || 1;
  let b = 0x9e3779b9;
  let c = 0x243f6a88;
  let d = 0xb7e15162;
  const next32 = (): number => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return r;
  };
  for (let i = 0; i < 16; i++) next32();
  return {
    next32,
    bytes(length: number): Uint8Array {
      const out = new Uint8Array(length);
      for (let i = 0; i < length; i += 4) {
        const r = next32();
        for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (r >>> (8 * j)) & 0xff;
      }
      return out;
    },
  };
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

export const silentLogger: Logger = { log: () => undefined };
