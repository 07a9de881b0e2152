// kosctl log: the operator's view of the action log in the running kosd: append, list, tail, show, verify,
// export/import of bundles (sneakernet) and status. Talks to kosd over its control socket (log-ops.ts).
import * as fs from "node:fs";
import * as path from "node:path";
import { CliError, flagString, parseArgs, type ParsedArgs } from "./cli.js";
import { COMMON, COMMON_BOOL, LONG_MS, call, print } from "./kosctl-common.js";
import { mqttStatusText } from "./kosctl-mqtt.js";

const HELP = `usage: kosctl log <command> [options]

commands:
  append KIND [--body JSON | --stdin]       append an entry signed by the node identity (body: JSON,
                                            stored as MessagePack; --stdin reads the JSON from stdin)
  list [--author HASH] [--kind K] [--limit N] [--json]
                                            the most recent N (default 100) matching entries, oldest first
  tail [-n N] [--follow] [--json]           the last N entries (default 10); --follow prints new ones
  show AUTHOR:SEQ | HASH [--json]           one entry in full (HASH: 8 to 64 hex digits of its hash)
  verify [--json]                           check every chain and signature; exit 1 with the first problem
  export FILE [--author HASH[,HASH...]]     write a bundle file of entries for another node
  import FILE [--json]                      add a bundle's entries, each one verified; exit 1 if any is refused
  status [--json]                           entries, segments, heads per author, last recovery, sync state
                                            per peer, MQTT bridge

options: --socket PATH | --data-dir DIR (which kosd), --json (machine-readable output)
`;


type Row = Record<string, any>;




function positiveInt(args: ParsedArgs, name: string, max: number): number | undefined {
  const v = flagString(args, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new CliError(`${name.length === 1 ? "-" : "--"}${name} must be a whole number from 1 to ${max}`, 2);
  return n;
}

function authorHash(text: string, what = "author"): string {
  const clean = text.replace(/[<>]/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(clean)) throw new CliError(`${what} must be an identity hash of 32 hex digits, got "${text}"`, 2);
  return clean.toLowerCase();
}

function oneLine(e: Row): string {
  let body = JSON.stringify(e["body"]);
  if (body.length > 120) body = body.slice(0, 117) + "...";
  return `${String(e["time"]).replace("T", " ").replace(/\.\d+Z$/, "Z")}  ${e["author"]}:${e["seq"]}  ${e["kind"]}  ${body}\n`;
}

function usage(args: ParsedArgs, text: string, ok: boolean): number {
  process.stdout.write(text);
  return args.flags.has("help") || args.flags.has("h") || ok ? 0 : 2;
}

export async function logCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "help" || sub === "--help" || sub === "-h") {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  const run = SUBCOMMANDS[sub];
  if (run === undefined) throw new CliError(`unknown log command "${sub}" (see kosctl log --help)`, 2);
  return run(rest);
}

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  async append(argv) {
    const args = parseArgs(argv, [...COMMON, "body", "stdin"], [...COMMON_BOOL, "stdin"]);
    if (args.flags.has("help") || args.flags.has("h")) return usage(args, "usage: kosctl log append KIND [--body JSON | --stdin] [--json]\n", true);
    if (args.positionals.length !== 1) throw new CliError("usage: kosctl log append KIND [--body JSON | --stdin]", 2);
    const kind = args.positionals[0]!;
    if (kind.length === 0 || Buffer.byteLength(kind) > 64) throw new CliError("KIND must be 1 to 64 bytes", 2);
    const text = flagString(args, "body");
    if (text !== undefined && args.flags.has("stdin")) throw new CliError("give the body with --body or --stdin, not both", 2);
    let body: unknown = null;
    const source = args.flags.has("stdin") ? readStdin() : text;
    if (source !== undefined) {
      try {
        body = JSON.parse(source);
      } catch (e) {
        throw new CliError(`the body is not valid JSON: ${(e as Error).message}`, 2);
      }
    }
    const r = await call(args, "log-append", { kind, body }, 30_000);
    return print(args, r, () => `appended ${r["author"]}:${r["seq"]} ${r["hash"]}\n`);
  },

  async list(argv) {
    const args = parseArgs(argv, [...COMMON, "author", "kind", "limit"], COMMON_BOOL);
    if (args.flags.has("help") || args.flags.has("h")) return usage(args, "usage: kosctl log list [--author HASH] [--kind K] [--limit N] [--json]\n", true);
    if (args.positionals.length > 0) throw new CliError(`unexpected argument "${args.positionals[0]}"`, 2);
    const author = flagString(args, "author");
    const body = { ...(author !== undefined ? { author: authorHash(author) } : {}), ...(flagString(args, "kind") !== undefined ? { kind: flagString(args, "kind") } : {}), limit: positiveInt(args, "limit", 10_000) ?? 100 };
    const r = await call(args, "log-list", body, LONG_MS);
    return print(args, r.entries, () => (r.entries as Row[]).map(oneLine).join("") || "no entries\n");
  },

  async tail(argv) {
    const args = parseArgs(argv, [...COMMON, "n", "follow", "f"], [...COMMON_BOOL, "follow", "f"]);
    if (args.flags.has("help") || args.flags.has("h")) return usage(args, "usage: kosctl log tail [-n N] [--follow] [--json]\n", true);
    if (args.positionals.length > 0) throw new CliError(`unexpected argument "${args.positionals[0]}"`, 2);
    const n = flagString(args, "n") === "0" ? 0 : (positiveInt(args, "n", 1024) ?? 10);
    const json = args.flags.has("json");
    const show = (e: Row): void => void process.stdout.write(json ? JSON.stringify(e) + "\n" : oneLine(e));
    if (args.flags.has("follow") || args.flags.has("f")) {
      await call(args, "log-tail", { n, follow: true }, 2 ** 31 - 1, (p) => show(p["entry"] as Row));
      return 0;
    }
    const r = await call(args, "log-tail", { n }, 60_000);
    if (json) process.stdout.write(JSON.stringify(r.entries, null, 2) + "\n");
    else for (const e of r.entries as Row[]) show(e);
    return 0;
  },

  async show(argv) {
    const args = parseArgs(argv, COMMON, COMMON_BOOL);
    if (args.flags.has("help") || args.flags.has("h") || args.positionals.length !== 1) return usage(args, "usage: kosctl log show AUTHOR:SEQ | HASH [--json]\n", false);
    const ref = args.positionals[0]!.replace(/[<>]/g, "");
    if (!/^[0-9a-fA-F]{32}:\d+$/.test(ref) && !/^[0-9a-fA-F]{8,64}$/.test(ref)) throw new CliError(`"${ref}" is neither AUTHOR:SEQ (32 hex digits, a colon, a number) nor an entry hash (8 to 64 hex digits)`, 2);
    const e = await call(args, "log-show", { ref }, LONG_MS);
    return print(args, e, () => {
      let t = `entry   ${e["author"]}:${e["seq"]}${e["forkEvidence"] ? "  (fork evidence: conflicts with the held chain)" : ""}\n`;
      t += `hash    ${e["hash"]}\nprev    ${e["prev"] || "(genesis)"}\ntime    ${e["time"]}\nkind    ${e["kind"]}\n`;
      t += `body    ${JSON.stringify(e["body"], null, 2).replace(/\n/g, "\n        ")}\n`;
      t += `size    ${e["bytes"]} bytes, signature ${String(e["signature"]).slice(0, 16)}...\n`;
      for (const f of e["otherForks"] as string[]) t += `fork    another entry for this seq: ${f}\n`;
      return t;
    });
  },

  async verify(argv) {
    const args = parseArgs(argv, COMMON, COMMON_BOOL);
    if (args.flags.has("help") || args.flags.has("h")) return usage(args, "usage: kosctl log verify [--json]\n", true);
    const r = await call(args, "log-verify", {}, LONG_MS);
    if (args.flags.has("json")) process.stdout.write(JSON.stringify(r, null, 2) + "\n");
    if (!r.ok) {
      if (!args.flags.has("json")) process.stderr.write(`kosctl: log verify: ${r.problems[0]}${r.problemCount > 1 ? ` (and ${r.problemCount - 1} more problem(s))` : ""}\n`);
      return 1;
    }
    if (!args.flags.has("json")) process.stdout.write(`ok: ${r.entries} entries of ${r.authors} author(s) verified${r.forks > 0 ? `, ${r.forks} fork(s) kept as evidence` : ""}\n`);
    return 0;
  },

  async export(argv) {
    const args = parseArgs(argv, [...COMMON, "author"], COMMON_BOOL);
    if (args.flags.has("help") || args.flags.has("h") || args.positionals.length !== 1) return usage(args, "usage: kosctl log export FILE [--author HASH[,HASH...]] [--json]\n", false);
    const authors = flagString(args, "author")?.split(",").filter((a) => a.length > 0).map((a) => authorHash(a));
    const file = path.resolve(args.positionals[0]!);
    const r = await call(args, "log-export", { file, ...(authors !== undefined ? { authors } : {}) }, LONG_MS);
    return print(args, r, () => `exported ${r["entries"]} entries${r["forks"] > 0 ? ` and ${r["forks"]} fork(s)` : ""} to ${r["file"]} (${r["bytes"]} bytes)\n`);
  },

  async import(argv) {
    const args = parseArgs(argv, COMMON, COMMON_BOOL);
    if (args.flags.has("help") || args.flags.has("h") || args.positionals.length !== 1) return usage(args, "usage: kosctl log import FILE [--json]\n", false);
    const file = path.resolve(args.positionals[0]!);
    if (!fs.existsSync(file)) throw new CliError(`no such file: ${file}`);
    const r = await call(args, "log-import", { file }, LONG_MS);
    print(args, r, () => {
      const reasons = Object.entries(r["reasons"] as Record<string, number>).map(([k, n]) => `${k} ${n}`).join(", ");
      let t = `imported ${r["file"]}: ${r["accepted"]} accepted, ${r["duplicates"]} already held, ${r["forks"]} fork(s) kept as evidence, ${r["rejected"]} rejected${reasons ? ` (${reasons})` : ""}\n`;
      for (const x of r["examples"] as Row[]) t += `  rejected ${x["author"] ?? "?"}:${x["seq"] ?? "?"}: ${x["reason"]}: ${x["detail"]}\n`;
      return t;
    });
    if (r["damaged"] !== null) process.stderr.write(`kosctl: the bundle is damaged: ${r["damaged"]}\n`);
    return r["rejected"] > 0 || r["damaged"] !== null ? 1 : 0;
  },

  async status(argv) {
    const args = parseArgs(argv, COMMON, COMMON_BOOL);
    if (args.flags.has("help") || args.flags.has("h")) return usage(args, "usage: kosctl log status [--json]\n", true);
    const s = await call(args, "log-status", {}, 60_000);
    return print(args, s, () => {
      let t = `log ${s["dir"]}: ${s["entries"]} entries from ${s["authors"]} author(s) in ${s["segments"]} segment(s), ${(s["bytes"] / 1024).toFixed(1)} KiB, ${s["forks"]} fork(s)\n`;
      if (s["broken"]) t += `appends stopped: ${s["broken"]} (restart kosd)\n`;
      for (const h of s["heads"] as Row[]) {
        t += ` ${h["author"]}  seq ${h["seq"]}  head ${String(h["hash"]).slice(0, 16)}${h["self"] ? "  (this node)" : ""}${h["missing"] > 0 ? `  ${h["missing"]} missing` : ""}${h["forks"] > 0 ? `  ${h["forks"]} fork(s)` : ""}\n`;
      }
      const rec = s["recovery"] as Row;
      for (const x of rec["truncated"] as Row[]) t += `recovery: truncated a torn tail of ${x["file"]} at ${x["offset"]} (${x["bytes"]} bytes)\n`;
      for (const x of rec["quarantined"] as Row[]) t += `recovery: ${x["file"]} damaged at ${x["offset"]} (${x["reason"]}), kept as ${x["movedTo"]}\n`;
      t += syncPeersText(s["peers"] as Row[] | null, typeof s["peersEvicted"] === "number" ? s["peersEvicted"] : 0);
      t += mqttStatusText(s["mqtt"] as Row | undefined);
      return t;
    });
  },
};

const SYNC_STATE_TEXT: Record<string, string> = {
  idle: "idle",
  summarising: "summarising (exchanging heads)",
  pulling: "pulling (receiving entries)",
  pushing: "pushing (sending entries)",
  "in-sync": "in sync",
  behind: "behind (logs differ; waiting for a session)",
};

function kib(n: number): string {
  return n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`;
}

/** The per-peer sync lines of `kosctl log status`. */
export function syncPeersText(peers: Row[] | null, evicted = 0): string {
  if (peers === null) return "sync: not running\n";
  if (peers.length === 0) return "sync: no peers heard yet (peers appear when they announce a log or open a sync link)\n";
  let t = `sync: ${peers.length} peer(s)${evicted > 0 ? ` (${evicted} least recently seen forgotten)` : ""}\n`;
  for (const p of peers) {
    const seen = p["lastSeenAgoS"] === null ? "never seen" : `last seen ${p["lastSeenAgoS"]} s ago`;
    t += ` ${p["identity"] ?? p["peer"]}  ${SYNC_STATE_TEXT[p["state"]] ?? p["state"]}  ${seen}\n`;
    t += `   sent ${p["entriesSent"]} entries${p["entriesResent"] > 0 ? ` (+${p["entriesResent"]} re-sent)` : ""} (${kib(p["bytesSent"])}), received ${p["entriesReceived"]} (${kib(p["bytesReceived"])}) in ${p["sessions"] + (p["session"] !== null ? 1 : 0)} session(s)`;
    if (p["rejected"] > 0 || p["dropped"] > 0) t += `, ${p["rejected"]} refused, ${p["dropped"]} dropped`;
    t += "\n";
    if (p["destination"] !== null) t += `   destination <${p["destination"]}>${p["peerEntries"] !== null ? `, announced ${p["peerEntries"]} entries` : ""}\n`;
    if (p["session"] !== null) t += `   session on link ${String(p["session"]["link"]).slice(0, 16)} as ${p["session"]["role"]}\n`;
    if (p["lastError"] !== null) t += `   last error ${p["lastError"]["at"]}: ${p["lastError"]["message"]}\n`;
    if (p["nextRetryInS"] !== null) t += `   next retry in ${p["nextRetryInS"]} s\n`;
  }
  return t;
}

function readStdin(): string {
  if (process.stdin.isTTY) throw new CliError("no input: pipe the JSON body on stdin", 2);
  try {
    return fs.readFileSync(0, "utf8");
  } catch (e) {
    throw new CliError(`cannot read stdin: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}
