// kosctl vote: local quorum in the running kosd: memberships, proposals, votes, watching a decision, and
// checking certificates offline (from kosd's log, or from a log bundle file with no kosd at all). Talks to
// kosd over its control socket (quorum-ops.ts).
import * as fs from "node:fs";
import * as path from "node:path";
import { CliError, flagString, parseArgs, type ParsedArgs } from "./cli.js";
import { COMMON, COMMON_BOOL, LONG_MS, call, print } from "./kosctl-common.js";
import { MEMBERSHIP_KIND } from "../quorum/membership.js";
import { authorKeysOf, checkCertificate, readBundleEntries, resolveTrust, QUORUM_KINDS } from "./quorum-verify.js";

const HELP = `usage: kosctl vote <command> [options]

commands:
  membership create --member KEY [--member KEY ...] [--threshold N]
                                  write a genesis membership (version 1) to the log; prints its id.
                                  KEY: a node's 64-byte public key in hex (kosctl status --json: quorum.key)
  membership propose-change --member KEY ... [--threshold N] [--deadline 10m]
                                  propose the next version of the current membership to its members
  propose KIND [--payload JSON | --payload @FILE] [--deadline 60s]
                                  ask the current membership to decide; prints the proposal id
  list [--json]                   proposals known here, newest first, with their tally
  show ID [--json]                one proposal: payload, tally, who voted what, our vote, certificate
  cast ID yes|no|abstain          vote (once: another choice later is refused, also after a restart)
  watch [ID] [--json]             stream votes and status changes (of ID: until it is decided)
  verify ID [--json]              check the certificate of proposal ID in kosd's log against its membership chain
  verify --bundle FILE (--trust-author HASH|KEY | --trust-genesis ID)... [--json]
                                  the same for every certificate in a log bundle, offline, without kosd

ID: a proposal id, or 4 or more of its first hex digits. Deadlines: 90s, 10m, 2h, 1d (default 60s).
options: --socket PATH | --data-dir DIR (which kosd), --json (machine-readable output)
`;

type Row = Record<string, any>;




function wantsHelp(args: ParsedArgs): boolean {
  return args.flags.has("help") || args.flags.has("h");
}

function usage(text: string, ok: boolean): number {
  process.stdout.write(text);
  return ok ? 0 : 2;
}

/** "90s", "10m", "2h", "1d" or a bare number of seconds, in ms. */
export function parseDuration(text: string, what = "--deadline"): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (m === null) throw new CliError(`${what} must be a duration like 90s, 10m, 2h or 1d, got "${text}"`, 2);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? "s"]!;
  const ms = Math.round(Number(m[1]) * unit);
  if (ms < 1000 || ms > 7 * 86_400_000) throw new CliError(`${what} must be 1 s to 7 days`, 2);
  return ms;
}

function members(args: ParsedArgs, argv: string[]): string[] {
  // --member may repeat; parseArgs keeps the last, so collect them from argv.
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--member" && argv[i + 1] !== undefined) out.push(...argv[++i]!.split(","));
    else if (a.startsWith("--member=")) out.push(...a.slice(9).split(","));
  }
  void args;
  const keys = out.map((k) => k.trim().replace(/[<>]/g, "").toLowerCase()).filter((k) => k.length > 0);
  if (keys.length === 0) throw new CliError("give the members with --member KEY (a 128-hex-digit public key), once per member", 2);
  for (const k of keys) if (!/^[0-9a-f]{128}$/.test(k)) throw new CliError(`a member is a public key of 128 hex digits, got "${k.slice(0, 40)}${k.length > 40 ? "..." : ""}"`, 2);
  return keys;
}

function threshold(args: ParsedArgs): number | undefined {
  const v = flagString(args, "threshold");
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new CliError("--threshold must be a whole number from 1 to 64", 2);
  return n;
}

function idArg(text: string | undefined): string {
  const id = (text ?? "").trim().toLowerCase().replace(/[<>]/g, "");
  if (!/^[0-9a-f]{4,32}$/.test(id)) throw new CliError(`a proposal id is 4 to 32 hex digits, got "${(text ?? "").slice(0, 40)}"`, 2);
  return id;
}

function membershipText(m: Row): string {
  let t = `membership ${m["id"]} version ${m["version"]}: ${m["members"].length} member(s), threshold ${m["threshold"]}`;
  t += ` (survives ${m["livenessTolerance"]} silent, ${m["safetyTolerance"]} equivocating)\n`;
  for (const x of m["members"] as Row[]) t += `  ${x["index"]}  ${x["identity"]}${x["index"] === m["index"] ? "  (this node)" : ""}\n`;
  return t;
}

export function proposalLine(p: Row): string {
  const left = p["deadlineInS"] > 0 ? `${p["deadlineInS"]} s left` : "deadline passed";
  const own = p["ownVote"] === null ? "" : `  voted ${p["ownVote"]["choice"]}${p["policy"] ? ` (policy ${p["policy"]})` : ""}`;
  return `${String(p["id"]).slice(0, 16)}  ${p["kind"]}  ${p["status"]}  yes ${p["yes"]} no ${p["no"]} abstain ${p["abstain"]} of ${p["membership"]["members"]} (need ${p["membership"]["threshold"]})  ${p["status"] === "pending" ? left : ""}${own}\n`;
}

function showText(p: Row): string {
  let t = `proposal  ${p["id"]}\nkind      ${p["kind"]}\npayload   ${JSON.stringify(p["payload"])}\n`;
  t += `proposer  member ${p["proposer"]["index"]} <${p["proposer"]["identity"]}>\n`;
  t += `members   ${p["membership"]["id"]} v${p["membership"]["version"]}: ${p["membership"]["members"]} member(s), threshold ${p["membership"]["threshold"]}\n`;
  t += `deadline  ${p["deadline"]} (${p["deadlineInS"] > 0 ? `in ${p["deadlineInS"]} s` : "passed"})\n`;
  t += `status    ${p["status"]}: yes ${p["yes"]}, no ${p["no"]}, abstain ${p["abstain"]}${p["status"] === "pending" ? ` (can still be approved: ${p["canApprove"] ? "yes" : "no"}, rejected: ${p["canReject"] ? "yes" : "no"})` : ""}\n`;
  for (const v of (p["voters"] ?? []) as Row[]) t += `  voted     member ${v["index"]} <${v["identity"]}> ${v["choice"]}\n`;
  if ((p["equivocators"] as number[]).length > 0) t += `equivocated (not counted): member(s) ${(p["equivocators"] as number[]).join(", ")}\n`;
  t += `our vote  ${p["ownVote"] === null ? "none" : `${p["ownVote"]["choice"]}${p["policy"] ? ` (policy ${p["policy"]})` : ""}${p["ownVote"]["durable"] ? "" : " (being written)"}`}\n`;
  if (p["certificate"] !== null) t += `certificate ${p["certificate"]["outcome"]} with ${p["certificate"]["votes"]} vote(s)${p["decided"] ? `, ${p["decided"]}` : ""}\n`;
  return t;
}

function watchLine(e: Row): string {
  const v = e["view"] as Row | null;
  const tally = v === null ? "" : `  ${v["status"]} yes ${v["yes"]} no ${v["no"]} abstain ${v["abstain"]}`;
  const what = e["event"] === "vote" ? `vote member ${e["voter"]} ${e["choice"]}` : e["event"] === "certificate" ? `certificate ${e["outcome"]}` : e["event"] === "evidence" ? `EQUIVOCATION by member ${e["voter"]}` : e["event"];
  return `${String(e["at"]).replace("T", " ").replace(/\.\d+Z$/, "Z")}  ${String(e["proposal"]).slice(0, 16)}  ${what}${tally}\n`;
}

function verifyText(r: Row): string {
  let t = "";
  for (const c of r["certificates"] as Row[]) {
    const where = c["entry"] ? ` (log entry ${c["entry"]})` : "";
    t += c["ok"]
      ? `ok: proposal ${c["proposal"]} (${c["kind"]}) ${c["outcome"]} by ${c["votes"]} of the ${c["threshold"]} votes needed, membership ${c["membership"]} v${c["version"]}, chain of ${c["chain"]}${where}\n`
      : `FAILED: proposal ${c["proposal"]} (${c["kind"]}): ${c["problem"]}${where}\n`;
  }
  return t;
}

export async function voteCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "help" || sub === "--help" || sub === "-h") {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  const run = SUBCOMMANDS[sub];
  if (run === undefined) throw new CliError(`unknown vote command "${sub.slice(0, 40)}" (see kosctl vote --help)`, 2);
  return run(rest);
}

const SUBCOMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  async membership(argv) {
    const [what, ...rest] = argv;
    const args = parseArgs(rest, [...COMMON, "member", "threshold", "deadline"], COMMON_BOOL);
    const u = "usage: kosctl vote membership create --member KEY [--member KEY ...] [--threshold N]\n       kosctl vote membership propose-change --member KEY ... [--threshold N] [--deadline 10m]\n";
    if (wantsHelp(args) || (what !== "create" && what !== "propose-change")) return usage(u, wantsHelp(args));
    if (args.positionals.length > 0) throw new CliError(`unexpected argument "${args.positionals[0]}"`, 2);
    const body = { members: members(args, rest), ...(threshold(args) !== undefined ? { threshold: threshold(args) } : {}) };
    if (what === "create") {
      const r = await call(args, "vote-membership-create", body, 30_000);
      return print(args, r, () => `created ${membershipText(r)}log entry ${r["entry"]}${r["trusted"] ? "" : "\nwarning: this node's [quorum] does not trust it (trust_self = no and not in trust_genesis / trust_authors)"}\n`);
    }
    const deadlineInMs = parseDuration(flagString(args, "deadline") ?? "10m");
    const r = await call(args, "vote-membership-change", { ...body, deadlineInMs }, 30_000);
    return print(args, r, () => `proposed ${r["proposal"]}: ${MEMBERSHIP_KIND} version ${r["draft"]["version"]} (${r["draft"]["members"].length} members, threshold ${r["draft"]["threshold"]}), deadline ${r["deadline"]}\n`);
  },

  async propose(argv) {
    const args = parseArgs(argv, [...COMMON, "payload", "deadline"], COMMON_BOOL);
    if (wantsHelp(args) || args.positionals.length !== 1) return usage("usage: kosctl vote propose KIND [--payload JSON | --payload @FILE] [--deadline 60s] [--json]\n", wantsHelp(args));
    const kind = args.positionals[0]!;
    if (kind.length === 0 || Buffer.byteLength(kind) > 32) throw new CliError("KIND must be 1 to 32 bytes", 2);
    const text = flagString(args, "payload");
    const body: Record<string, unknown> = { kind, deadlineInMs: parseDuration(flagString(args, "deadline") ?? "60s") };
    if (text !== undefined && text.startsWith("@")) {
      let data: Buffer;
      try {
        data = fs.readFileSync(text.slice(1));
      } catch (e) {
        throw new CliError(`cannot read ${text.slice(1)}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
      }
      if (data.length > 200) throw new CliError(`the payload file holds ${data.length} bytes; a proposal payload is at most 200`, 2);
      body["payloadHex"] = data.toString("hex");
    } else if (text !== undefined) {
      try {
        body["payload"] = JSON.parse(text);
      } catch (e) {
        throw new CliError(`--payload is not valid JSON (use @FILE for raw bytes): ${(e as Error).message}`, 2);
      }
    }
    const r = await call(args, "vote-propose", body, 30_000);
    return print(args, r, () => `proposed ${r["proposal"]}: ${r["kind"]}, ${r["payloadBytes"]} bytes of payload, deadline ${r["deadline"]}\n`);
  },

  async list(argv) {
    const args = parseArgs(argv, COMMON, COMMON_BOOL);
    if (wantsHelp(args)) return usage("usage: kosctl vote list [--json]\n", true);
    if (args.positionals.length > 0) throw new CliError(`unexpected argument "${args.positionals[0]}"`, 2);
    const r = await call(args, "vote-list", {}, 30_000);
    return print(args, r.proposals, () => (r.proposals as Row[]).map(proposalLine).join("") || "no proposals known\n");
  },

  async show(argv) {
    const args = parseArgs(argv, COMMON, COMMON_BOOL);
    if (wantsHelp(args) || args.positionals.length !== 1) return usage("usage: kosctl vote show ID [--json]\n", wantsHelp(args));
    const r = await call(args, "vote-show", { id: idArg(args.positionals[0]) }, 30_000);
    return print(args, r, () => showText(r));
  },

  async cast(argv) {
    const args = parseArgs(argv, COMMON, COMMON_BOOL);
    if (wantsHelp(args) || args.positionals.length !== 2) return usage("usage: kosctl vote cast ID yes|no|abstain [--json]\n", wantsHelp(args));
    const choice = args.positionals[1]!.toLowerCase();
    if (!["yes", "no", "abstain"].includes(choice)) throw new CliError(`the choice must be yes, no or abstain, got "${args.positionals[1]!.slice(0, 20)}"`, 2);
    const r = await call(args, "vote-cast", { id: idArg(args.positionals[0]), choice }, 60_000);
    return print(args, r, () => `${r["resent"] ? "sent again (already cast)" : "cast"}: ${r["choice"]} on ${r["proposal"]}\n`);
  },

  async watch(argv) {
    const args = parseArgs(argv, COMMON, COMMON_BOOL);
    if (wantsHelp(args) || args.positionals.length > 1) return usage("usage: kosctl vote watch [ID] [--json]\n", wantsHelp(args));
    const id = args.positionals[0] !== undefined ? idArg(args.positionals[0]) : "";
    const json = args.flags.has("json");
    const r = await call(args, "vote-watch", { id }, 2 ** 31 - 1, (e) => void process.stdout.write(json ? JSON.stringify(e) + "\n" : watchLine(e)));
    if (id !== "" && !json) process.stdout.write(proposalLine(r));
    return 0;
  },

  async verify(argv) {
    const args = parseArgs(argv, [...COMMON, "bundle", "trust-author", "trust-genesis"], COMMON_BOOL);
    const u = "usage: kosctl vote verify ID [--json]\n       kosctl vote verify --bundle FILE (--trust-author HASH|KEY | --trust-genesis ID)... [--json]\n";
    if (wantsHelp(args)) return usage(u, true);
    const file = flagString(args, "bundle");
    let r: Row;
    if (file !== undefined) {
      if (args.positionals.length > 1) return usage(u, false);
      r = verifyBundle(file, argv, args.positionals[0] !== undefined ? idArg(args.positionals[0]) : null);
    } else {
      if (args.positionals.length !== 1) return usage(u, false);
      r = await call(args, "vote-verify", { id: idArg(args.positionals[0]) }, LONG_MS);
    }
    print(args, r, () => verifyText(r));
    return r["ok"] ? 0 : 1;
  },
};

function repeated(argv: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}` && argv[i + 1] !== undefined) out.push(...argv[++i]!.split(","));
    else if (argv[i]!.startsWith(`--${name}=`)) out.push(...argv[i]!.slice(name.length + 3).split(","));
  }
  return out.map((x) => x.trim().replace(/[<>]/g, "").toLowerCase()).filter((x) => x.length > 0);
}

/** Every certificate (or those of one proposal) in a bundle, checked with the trust given on the command line. */
function verifyBundle(file: string, argv: string[], prefix: string | null): Row {
  const authors = repeated(argv, "trust-author");
  const genesis = repeated(argv, "trust-genesis");
  for (const a of authors) if (!/^([0-9a-f]{32}|[0-9a-f]{128})$/.test(a)) throw new CliError(`--trust-author takes an identity hash (32 hex digits) or a public key (128), got "${a.slice(0, 40)}"`, 2);
  for (const g of genesis) if (!/^[0-9a-f]{32}$/.test(g)) throw new CliError(`--trust-genesis takes a membership id of 32 hex digits, got "${g.slice(0, 40)}"`, 2);
  if (authors.length === 0 && genesis.length === 0) throw new CliError("say what to trust: --trust-author HASH|KEY (who may create a genesis membership) or --trust-genesis ID", 2);
  let read;
  try {
    read = readBundleEntries(path.resolve(file));
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  const memberships = read.entries.filter((e) => e.kind === MEMBERSHIP_KIND);
  const keys = authorKeysOf(read.entries);
  const trust = resolveTrust({ genesisIds: genesis, authors }, (a) => keys.get(a) ?? null);
  const certs = read.entries.filter((e) => e.kind === QUORUM_KINDS.certificate);
  const results = certs.map((e) => ({ entry: `${Buffer.from(e.author).toString("hex")}:${e.seq}`, ...checkCertificate(e.body, memberships, trust) })).filter((c) => prefix === null || c.proposal.startsWith(prefix));
  if (results.length === 0) throw new CliError(prefix === null ? `no certificates in ${file}` : `no certificate for a proposal ${prefix}... in ${file}`);
  return { ok: results.every((c) => c.ok), file, damagedRecords: read.damaged, certificates: results };
}
