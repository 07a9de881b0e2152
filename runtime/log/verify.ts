// Offline verification of a whole log: every author's chain from its genesis entry, every signature, every
// link, and the signatures of fork evidence. One pass in log order (each chain is in seq order on disk).
import { equal, toHex, type Bytes } from "../core/bytes.js";
import { verifyEntry, type LogEntry } from "./entry.js";
import { RECORD_FORK, type RecordType } from "./format.js";

export const MAX_PROBLEMS = 100;

export interface VerifyReport {
  ok: boolean;
  authors: number;
  entries: number;
  forks: number;
  /** The first MAX_PROBLEMS problems, "author:seq: what" (the first is the first found in log order). */
  problems: string[];
  problemCount: number;
}

interface ChainState {
  key: Bytes | null;
  lastSeq: number;
  lastHash: Bytes;
}

/** Verifies records in log order; yields to the event loop every `yieldEvery` records. */
export async function verifyLog(records: Iterable<{ type: RecordType; entry: LogEntry }>, yieldEvery = 1000): Promise<VerifyReport> {
  const chains = new Map<string, ChainState>();
  const report: VerifyReport = { ok: true, authors: 0, entries: 0, forks: 0, problems: [], problemCount: 0 };
  const problem = (e: LogEntry, what: string): void => {
    report.ok = false;
    report.problemCount++;
    if (report.problems.length < MAX_PROBLEMS) report.problems.push(`${toHex(e.author)}:${e.seq}: ${what}`);
  };
  let n = 0;
  for (const { type, entry: e } of records) {
    if (++n % yieldEvery === 0) await new Promise((r) => setImmediate(r));
    const hex = toHex(e.author);
    let st = chains.get(hex);
    if (type === RECORD_FORK) {
      report.forks++;
      const key = st?.key ?? (e.seq === 1 ? e.authorKey : null);
      if (key !== null && !verifyEntry(e, key).ok) problem(e, "fork evidence with a bad signature");
      continue;
    }
    report.entries++;
    if (st === undefined) {
      st = { key: e.seq === 1 ? e.authorKey : null, lastSeq: 0, lastHash: new Uint8Array(0) };
      chains.set(hex, st);
      if (e.seq !== 1) problem(e, `entries 1..${e.seq - 1} are missing (no genesis entry: the chain cannot be verified)`);
    } else if (e.seq !== st.lastSeq + 1) {
      problem(e, e.seq <= st.lastSeq ? `seq ${e.seq} appears again after seq ${st.lastSeq}` : `entries ${st.lastSeq + 1}..${e.seq - 1} are missing`);
    } else if (!equal(e.prev, st.lastHash)) {
      problem(e, `does not follow seq ${st.lastSeq} (prev hash differs)`);
    }
    if (st.key !== null) {
      const v = verifyEntry(e, st.key);
      if (!v.ok) problem(e, v.reason === "bad-key" ? "the genesis key does not belong to the author" : "bad signature");
    }
    st.lastSeq = e.seq;
    st.lastHash = e.hash;
  }
  report.authors = chains.size;
  return report;
}
