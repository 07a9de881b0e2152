// Timing helpers for benchmarks: time-bounded loops, several rounds, the median reported.
// Benchmarks print figures; tests never depend on them.

export interface Figure {
  name: string;
  /** Operations per second (median of rounds). */
  opsPerSec?: number;
  /** A single value with a unit, for figures that are not rates (ms, MiB, KiB). */
  value?: number;
  unit?: string;
  /** The reference implementation's figure from the same run, when it could run. */
  reference?: number;
  /** true when a larger value is better (rates); false for times and sizes. */
  higherIsBetter?: boolean;
  note?: string;
}

export function measureOps(fn: (i: number) => void, opts: { rounds?: number; roundMs?: number; batch?: number } = {}): number {
  const rounds = opts.rounds ?? 3;
  const roundMs = opts.roundMs ?? 700;
  const batch = opts.batch ?? 64;
  // Warm up the JIT.
  for (let i = 0; i < batch * 4; i++) fn(i);
  const rates: number[] = [];
  let k = 0;
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < roundMs) {
      for (let i = 0; i < batch; i++) fn(k++);
      n += batch;
      elapsed = performance.now() - start;
    }
    rates.push((n * 1000) / elapsed);
  }
  return median(rates);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function formatRate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

/** Rate of an async operation kept `inFlight` deep, over time-bounded rounds (median). */
export async function measureAsyncOps(fn: (i: number) => Promise<void>, opts: { rounds?: number; roundMs?: number; inFlight?: number } = {}): Promise<number> {
  const rounds = opts.rounds ?? 3;
  const roundMs = opts.roundMs ?? 700;
  const inFlight = opts.inFlight ?? 8;
  let k = 0;
  const runFor = async (ms: number): Promise<number> => {
    let n = 0;
    const start = performance.now();
    const lane = async (): Promise<void> => {
      while (performance.now() - start < ms) {
        await fn(k++);
        n++;
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    return (n * 1000) / (performance.now() - start);
  };
  await runFor(100);
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) rates.push(await runFor(roundMs));
  return median(rates);
}
