// Action-log store benchmarks: durable appends per second and their latency with group commit (many concurrent
// appenders), against one fsync per append; verified imports; recovery time on open. Files go to the system
// temp directory, which must be a real disk for the fsync figures to mean anything (tmpfs makes fsync free).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { createEntry, type LogEntry } from "../../runtime/log/entry.js";
import { LogStore, type LogStoreOptions } from "../../runtime/log/store.js";
import { packMsgpack } from "../../runtime/wire/msgpack.js";
import { median, type Figure } from "./measure.js";

const T0 = 1_763_700_000_000;
const BODY = packMsgpack({ item: "water", qty: 12, site: "north gate", note: "x".repeat(60) });

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** `appenders` lanes append for `ms`, each awaiting its own append; rate and latency percentiles. */
async function appendRun(dir: string, opts: Partial<LogStoreOptions>, authors: Identity[], appenders: number, ms: number, rounds: number): Promise<{ rate: number; p50: number; p99: number; syncs: number }> {
  const rates: number[] = [];
  const latencies: number[] = [];
  let records = 0;
  for (let r = 0; r < rounds; r++) {
    const store = await LogStore.open({ dir: path.join(dir, `run-${r}`), ...opts });
    let n = 0;
    const start = performance.now();
    const lane = async (k: number): Promise<void> => {
      const author = authors[k % authors.length]!;
      while (performance.now() - start < ms) {
        const t = performance.now();
        await store.appendLocal(author, "bench.append", BODY, T0 + n);
        latencies.push(performance.now() - t);
        n++;
      }
    };
    await Promise.all(Array.from({ length: appenders }, (_, k) => lane(k)));
    rates.push((n * 1000) / (performance.now() - start));
    records += n;
    await store.close();
  }
  latencies.sort((a, b) => a - b);
  return { rate: median(rates), p50: percentile(latencies, 50), p99: percentile(latencies, 99), syncs: records };
}

export async function benchLog(): Promise<Figure[]> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "kos-log-bench-"));
  const rng = seededRandom(91);
  const authors = Array.from({ length: 8 }, () => Identity.generate(rng));
  const figures: Figure[] = [];
  try {
    const appenders = 64;
    const group = await appendRun(path.join(root, "group"), {}, authors, appenders, 1500, 3);
    figures.push({ name: `durable appends, group commit (${appenders} appenders)`, opsPerSec: group.rate, note: "sign + write + fdatasync" });
    figures.push({ name: "  append latency p50 (group commit)", value: group.p50, unit: "ms", higherIsBetter: false });
    figures.push({ name: "  append latency p99 (group commit)", value: group.p99, unit: "ms", higherIsBetter: false });
    const single = await appendRun(path.join(root, "single"), { maxBatchRecords: 1 }, authors, appenders, 1500, 3);
    figures.push({ name: `durable appends, one fsync each (${appenders} appenders)`, opsPerSec: single.rate, note: "for contrast" });
    figures.push({ name: "  append latency p50 (one fsync each)", value: single.p50, unit: "ms", higherIsBetter: false });
    figures.push({ name: "  append latency p99 (one fsync each)", value: single.p99, unit: "ms", higherIsBetter: false });
    const alone = await appendRun(path.join(root, "alone"), {}, authors, 1, 1000, 1);
    figures.push({ name: "durable appends, one appender", opsPerSec: alone.rate, note: `p50 ${alone.p50.toFixed(2)} ms: one fdatasync` });

    // Entries from elsewhere: decoded, signature-checked, chained, group-committed.
    const foreign: LogEntry[] = [];
    const imported = 20_000;
    for (let a = 0; a < authors.length; a++) {
      let prev: LogEntry | null = null;
      for (let i = 0; i < imported / authors.length; i++) foreign.push((prev = createEntry(authors[a]!, prev, T0 + i, "bench.import", BODY)));
    }
    const store = await LogStore.open({ dir: path.join(root, "import") });
    const start = performance.now();
    for (let i = 0; i < foreign.length; i += 512) await Promise.all(foreign.slice(i, i + 512).map((e) => store.append(e.encoded)));
    figures.push({ name: "verified appends from elsewhere (import/sync)", opsPerSec: (foreign.length * 1000) / (performance.now() - start), note: "Ed25519 verify bound" });
    await store.close();

    // Recovery: open a store of 100k entries (every record's checksum and encoding checked, index rebuilt).
    const big = await LogStore.open({ dir: path.join(root, "big") });
    const total = 100_000;
    for (let i = 0; i < total; i += 1000) await Promise.all(Array.from({ length: 1000 }, (_, k) => big.appendLocal(authors[k % authors.length]!, "bench.open", BODY, T0 + i + k)));
    const bytes = big.stats().bytes;
    await big.close();
    const opens: number[] = [];
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      const s = await LogStore.open({ dir: path.join(root, "big") });
      opens.push(performance.now() - t);
      await s.close();
    }
    figures.push({ name: `open + recovery scan, ${total / 1000}k entries (${(bytes / 2 ** 20).toFixed(0)} MiB)`, value: median(opens), unit: "ms", higherIsBetter: false });
    // Heap plus typed-array backing stores (the index's rings and sparse points live there).
    const used = (): number => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const settle = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        global.gc?.();
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await settle();
    const heapBefore = used();
    const held = await LogStore.open({ dir: path.join(root, "big") });
    await settle();
    // Heap growth is only meaningful after a full gc; without --expose-gc the index's own count is reported.
    const counted = held.stats().indexBytes / 2 ** 20;
    const delta = (used() - heapBefore) / 2 ** 20;
    figures.push({
      name: `  index memory for ${total / 1000}k entries, 8 authors`,
      // The index's own count is the figure: the heap change of the whole process after gc is within the
      // noise left by the benchmarks before (it has come out slightly negative), so it is only a cross-check.
      value: counted,
      unit: "MiB",
      higherIsBetter: false,
      note: global.gc ? `index arrays as counted by the index; whole-heap change after gc ${delta.toFixed(2)} MiB (cross-check, noisy)` : `index arrays as counted by the index`,
    });
    await held.close();
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  return figures;
}

// Run directly: node .build/test/bench/log.bench.js
if (process.argv[1] !== undefined && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  void benchLog().then((figures) => {
    for (const f of figures) {
      const v = f.opsPerSec !== undefined ? `${f.opsPerSec.toFixed(0)}/s` : `${f.value?.toFixed(2)} ${f.unit ?? ""}`;
      process.stdout.write(`${f.name.padEnd(56)} ${v.padStart(12)}${f.note ? `  (${f.note})` : ""}\n`);
    }
  });
}
