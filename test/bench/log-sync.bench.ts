// Action-log sync benchmarks: bytes on air per entry byte against entry size at MTU 500 (every sync message
// counted as the link packet it travels in), the time for 1,000 entries to converge over an emulated
// SF7/125 kHz LoRa link (half-duplex, one packet at a time, RNode airtime) with and without the EU868 1 %
// duty cycle, against the airtime lower bound (the entries' own bytes in full 500-byte packets), and the CPU
// cost of syncing on a fast link. The LoRa figures are virtual time: deterministic, not measured.

import { MemoryView } from "../../runtime/log/sync/memory-view.js";
import { DutyCycleBudget } from "../../runtime/radio/duty-cycle.js";
import { rnodeBitrateBps, rnodePacketAirtimeMs, type LoraModulation } from "../../runtime/radio/airtime.js";
import { authors, grow, IdealMedium, LoraMedium, openPair, runPair, sameLogs, T0 } from "../log/sync-sim.js";
import { median, type Figure } from "./measure.js";

const LORA: LoraModulation = { spreadingFactor: 7, bandwidthHz: 125_000, codingRate: 5 };
const NOW = T0 + 10_000_000;

/** A view of `perAuthor` entries of `entryBytes` by each of `n` authors. */
function source(n: number, perAuthor: number, entryBytes: number, seed = 41): MemoryView {
  const v = new MemoryView();
  for (const id of authors(seed, n)) grow(v, id, perAuthor, { entryBytes });
  return v;
}

const entryBytesOf = (v: MemoryView): number => v.entries().reduce((n, e) => n + e.encoded.length, 0);

/** Air bytes (both directions) per entry byte for a one-way transfer at MTU 500. */
function efficiency(entryBytes: number): { ratio: number; perEntry: number } {
  const perAuthor = entryBytes > 1000 ? 20 : 100;
  const A = source(3, perAuthor, entryBytes);
  const B = new MemoryView();
  const medium = new IdealMedium({ delayMs: 100 });
  const p = runPair(openPair({ views: [A, B], medium, nowMs: NOW }), medium);
  if (!sameLogs(A, B)) throw new Error("efficiency run did not converge");
  const air = p.sessions[0].stats.airBytesSent + p.sessions[1].stats.airBytesSent;
  return { ratio: air / entryBytesOf(A), perEntry: air / A.size };
}

/** The entries' own bytes packed into full 500-byte packets, and the airtime of those packets. */
function airtimeLowerBoundMs(totalBytes: number): number {
  const full = Math.floor(totalBytes / 500);
  const rest = totalBytes - full * 500;
  return full * rnodePacketAirtimeMs(500, LORA) + (rest > 0 ? rnodePacketAirtimeMs(rest, LORA) : 0);
}

/** With at most `allowedMs` of airtime in any `windowMs`, the least time to put `airtimeMs` on the air. */
function dutyLowerBoundMs(airtimeMs: number, allowedMs: number, windowMs: number): number {
  if (airtimeMs <= allowedMs) return airtimeMs;
  const fullWindows = Math.ceil(airtimeMs / allowedMs) - 1;
  return fullWindows * windowMs + (airtimeMs - fullWindows * allowedMs);
}

/** Virtual time for 1,000 entries (4 authors x 250, 200 bytes) to reach an empty peer over LoRa. */
function loraConvergence(dutyCyclePct: number | null): { ms: number; airtimeMs: number; packets: number; entryBytes: number } {
  const A = source(4, 250, 200);
  const B = new MemoryView();
  const budgets: [DutyCycleBudget | null, DutyCycleBudget | null] =
    dutyCyclePct === null ? [null, null] : [new DutyCycleBudget({ dutyCyclePct }), new DutyCycleBudget({ dutyCyclePct })];
  const medium = new LoraMedium(LORA, budgets);
  const airtime = (i: 0 | 1) => ({ sf: 7, bwHz: 125_000, cr: 5, ...(budgets[i] !== null ? { budget: budgets[i]! } : {}) });
  const p = openPair({ views: [A, B], medium, nowMs: NOW, session: { bitrateBps: rnodeBitrateBps(LORA) }, ends: [{ airtime: airtime(0) }, { airtime: airtime(1) }], seed: 3 });
  let doneAt: number | null = null;
  runPair(p, medium, { stop: (q) => (B.size === A.size && doneAt === null ? ((doneAt = q.nowMs), true) : false) });
  if (doneAt === null || !sameLogs(A, B)) throw new Error("LoRa run did not converge");
  return { ms: doneAt - NOW, airtimeMs: medium.airtimeMs, packets: medium.packets, entryBytes: entryBytesOf(A) };
}

/** Entries per second through a pair of sessions on a fast link (verification and rebuilding included). */
function cpuRate(): number {
  const rates: number[] = [];
  const A = source(4, 250, 200, 43);
  for (let r = 0; r < 3; r++) {
    const B = new MemoryView();
    const medium = new IdealMedium({ delayMs: 1 });
    const t = performance.now();
    runPair(openPair({ views: [A, B], medium, nowMs: NOW, linkMdu: 8111, bitrateBps: 1e9, seed: r + 1 }), medium);
    rates.push((B.size * 1000) / (performance.now() - t));
  }
  return median(rates);
}

export async function benchLogSync(): Promise<Figure[]> {
  const figures: Figure[] = [];
  for (const size of [150, 200, 250, 300, 400, 1000, 4000]) {
    const e = efficiency(size);
    figures.push({ name: `sync air bytes per entry byte, ${size} B entries (MTU 500)`, value: e.ratio, unit: "x", higherIsBetter: false, note: `${e.perEntry.toFixed(0)} B on air per entry` });
  }
  const free = loraConvergence(null);
  const lbMs = airtimeLowerBoundMs(free.entryBytes);
  figures.push({ name: "1,000 entries over SF7/125 kHz LoRa, no duty cycle", value: free.ms / 1000, unit: "s", higherIsBetter: false, note: `${free.packets} packets, ${(free.airtimeMs / 1000).toFixed(0)} s airtime both ways` });
  figures.push({ name: "  airtime lower bound (entry bytes alone)", value: lbMs / 1000, unit: "s", higherIsBetter: false, note: `measured / bound = ${(free.ms / lbMs).toFixed(2)}` });
  const eu = loraConvergence(1);
  const euLbMs = dutyLowerBoundMs(lbMs, 36_000, 3_600_000);
  figures.push({ name: "1,000 entries over SF7/125 kHz LoRa, EU868 1 % duty cycle", value: eu.ms / 3_600_000, unit: "h", higherIsBetter: false, note: `${eu.packets} packets` });
  figures.push({ name: "  airtime lower bound at 1 % (entry bytes alone)", value: euLbMs / 3_600_000, unit: "h", higherIsBetter: false, note: `measured / bound = ${(eu.ms / euLbMs).toFixed(2)}` });
  figures.push({ name: "log sync on a fast link (verify + rebuild, 200 B entries)", opsPerSec: cpuRate(), higherIsBetter: true, note: "entries/s, both sessions in one thread" });
  return figures;
}

// `node .build/test/bench/log-sync.bench.js` prints the figures on their own.
if (process.argv[1]?.endsWith("log-sync.bench.js") === true) {

  for (const f of await benchLogSync()) {
    const v = f.opsPerSec !== undefined ? `${f.opsPerSec.toFixed(0)}/s` : `${f.value!.toFixed(3)} ${f.unit ?? ""}`;
    process.stdout.write(`${f.name.padEnd(62)} ${v.padStart(14)}  ${f.note ?? ""}\n`);
  }
}
