// Scenario files (hil/scenarios/*.json, documented in README.md here): nodes, radio settings, wired segments,
// a timeline of events at virtual times and assertions with deadlines. parseScenario() checks a file against
// the schema and returns the scenario in normalised form (times in ms, names resolved, defaults applied) or
// every problem at once, each with its line, column and field path. Never throws on a bad file.
import { builtinCatalog } from "../../boards/index.js";
import { arrayOf, bool, distance, Fields, formatSchemaIssue, int, Issues, nullable, num, oneOf, shownValue, text, type Reader, type SchemaIssue } from "../../boards/check.js";
import { parseJsonWithPositions, type Position as JsonPosition } from "../../boards/json.js";
import type { RadioSettings } from "../medium/medium.js";
import type { Placement, Position } from "../sim/topology.js";
import type { Assertion, QuorumRole, QuorumVote, Scenario, ScenarioMedium, ScenarioNode, ScenarioQuorum, TimelineEvent, WiredSpec } from "./types.js";

export type { Assertion, Scenario, ScenarioNode, TimelineEvent } from "./types.js";

export const SCENARIO_LIMITS = Object.freeze({
  maxNodes: 2000,
  maxTimelineEvents: 10_000,
  maxAssertions: 1_000,
  maxDurationS: 7 * 24 * 3600,
  maxFileBytes: 1024 * 1024,
  maxWiredSegments: 64,
});

export type ScenarioResult = { ok: true; scenario: Scenario } | { ok: false; issues: SchemaIssue[] };

const NAME = text({ maxChars: 32, pattern: /^[A-Za-z0-9_.-]+$/, what: 'a node name of letters, digits, "_", "-" and "." (at most 32)' });
const SECONDS = num(0, SCENARIO_LIMITS.maxDurationS);
const PROBABILITY = num(0, 1);
const EVENTS = ["announce", "unplug", "replug", "reset", "crash", "restart", "stop", "power_cycle", "partition", "heal", "loss", "send_file", "probe", "propose"] as const;
const ASSERTIONS = [
  "path_known", "file_delivered", "probe_ok", "probe_failed", "all_nodes_know_paths", "no_crash", "quorum_certificate", "quorum_no_certificate", "quorum_safe", "quorum_dropped",
] as const;
const VOTES = ["yes", "no", "abstain", "none"] as const;
const ROLES = ["equivocate", "forge", "replay", "late", "silent"] as const;

/** Reads a scenario file's text; `file` names it in messages. */
export function parseScenario(source: string, file = "scenario.json"): ScenarioResult {
  const parsed = parseJsonWithPositions(source);
  if (!parsed.ok) return { ok: false, issues: [{ file, line: parsed.line, column: parsed.column, path: "", message: parsed.message }] };
  const out = new Issues();
  const scenario = readScenario(parsed.value, out);
  if (scenario !== undefined && out.count === 0) return { ok: true, scenario: { ...scenario, file } };
  return { ok: false, issues: out.list.map((i) => locate(i, file, parsed.positions)) };
}

export function formatIssues(issues: readonly SchemaIssue[]): string {
  return issues.map(formatSchemaIssue).join("\n");
}

function locate(issue: SchemaIssue, file: string, positions: ReadonlyMap<string, JsonPosition>): SchemaIssue {
  // The field's own position, else its nearest parent's.
  for (let p = issue.path; ; p = parentPath(p)) {
    const pos = positions.get(p);
    if (pos !== undefined) return { ...issue, file, line: pos.line, column: pos.column };
    if (p === "") return { ...issue, file };
  }
}

function parentPath(p: string): string {
  const m = /^(.*?)(?:\.[A-Za-z_][A-Za-z0-9_]*|\[[^\]]*\])$/.exec(p);
  return m === null ? "" : m[1]!;
}

function readScenario(v: unknown, out: Issues): Omit<Scenario, "file"> | undefined {
  const f = new Fields(v, "", out, ["name", "description", "seed", "duration_s", "max_events", "radio", "medium", "wired", "nodes", "start_jitter_s", "quorum", "timeline", "assertions"]);
  const name = f.req("name", text({ maxChars: 80 }));
  const description = f.opt("description", text({ maxChars: 2000 }), "");
  const seed = f.opt("seed", int(0, 2 ** 32 - 1), 1);
  const durationS = f.req("duration_s", num(0, SCENARIO_LIMITS.maxDurationS, { aboveMin: true }));
  const maxEvents = f.opt("max_events", nullable(int(1, 2_000_000_000)), null);
  const radio = f.opt("radio", readRadio, readRadio({}, "radio", out)!);
  const medium = f.opt("medium", readMedium, readMedium({}, "medium", out)!);
  const wired = f.opt("wired", arrayOf(readWired, { max: SCENARIO_LIMITS.maxWiredSegments }), []);
  const startJitterS = f.opt("start_jitter_s", SECONDS, 0);
  const nodesResult = f.req("nodes", (x, p, o) => readNodes(x, p, o, radio ?? null, wired ?? []));
  if (!f.ok || nodesResult === undefined || durationS === undefined) return undefined;
  const names = new Set(nodesResult.nodes.map((n) => n.name));
  const ctx: Ctx = { names, nodes: nodesResult.nodes, durationMs: durationS * 1000, wired: new Set((wired ?? []).map((w) => w.name)), quorum: null, proposals: new Map() };
  const quorum = f.opt("quorum", nullable((x, p, o) => readQuorum(x, p, o, ctx)), null);
  if (quorum === undefined) return undefined;
  ctx.quorum = quorum;
  for (const m of medium?.links ?? []) for (const [i, n] of m.between.entries()) checkNode(n, `medium.links[${medium!.links.indexOf(m)}].between[${i}]`, out, ctx, false);
  const timeline = f.opt("timeline", arrayOf((x, p, o) => readEvent(x, p, o, ctx), { max: SCENARIO_LIMITS.maxTimelineEvents }), []);
  const assertions = f.req("assertions", arrayOf((x, p, o) => readAssertion(x, p, o, ctx), { min: 1, max: SCENARIO_LIMITS.maxAssertions }));
  if (name === undefined || radio === undefined || medium === undefined || wired === undefined || timeline === undefined || assertions === undefined) return undefined;
  if (description === undefined || seed === undefined || maxEvents === undefined || startJitterS === undefined) return undefined;
  const sorted = timeline.map((e, i) => ({ e, i })).sort((a, b) => a.e.atMs - b.e.atMs || a.i - b.i).map((x) => x.e);
  return { name, description, seed, durationMs: durationS * 1000, maxEvents, radio, medium, wired, nodes: nodesResult.nodes, placement: nodesResult.placement, startJitterMs: startJitterS * 1000, timeline: sorted, assertions, quorum };
}

// ---- radio and media -------------------------------------------------------------------------------------

const readRadio: Reader<RadioSettings & { preset: string | null }> = (v, path, out) => {
  const f = new Fields(v, path, out, ["preset", "spreading_factor", "bandwidth_hz", "coding_rate", "frequency_hz", "tx_power_dbm", "chip"]);
  const presetName = f.opt("preset", nullable(text({ maxChars: 40 })), "sf7-bw125-cr45");
  let base = { spreadingFactor: 7, bandwidthHz: 125_000, codingRate: 5 };
  let preset: string | null = null;
  if (presetName !== undefined && presetName !== null) {
    const catalog = builtinCatalog();
    const p = catalog.find("modem", presetName);
    if (p === undefined) {
      const near = catalog.suggest("modem", presetName);
      out.add(`${path}.preset`, `unknown modem preset "${presetName}"${near ? `; did you mean "${near}"?` : ""} (boards/modem/)`);
    } else {
      base = { spreadingFactor: p.spreadingFactor, bandwidthHz: p.bandwidthHz, codingRate: p.codingRate };
      preset = p.id;
    }
  }
  const spreadingFactor = f.opt("spreading_factor", int(5, 12), base.spreadingFactor);
  const bandwidthHz = f.opt("bandwidth_hz", num(7_800, 1_625_000), base.bandwidthHz);
  const codingRate = f.opt("coding_rate", int(5, 8, "a coding rate denominator from 5 to 8 (4/5 to 4/8)"), base.codingRate);
  const frequencyHz = f.opt("frequency_hz", num(137_000_000, 3_000_000_000), 869_525_000);
  const txPowerDbm = f.opt("tx_power_dbm", num(-9, 37), 14);
  const chip = f.opt("chip", oneOf(["sx127x", "sx126x"] as const), "sx127x");
  if (!f.clean()) return undefined;
  return { preset, spreadingFactor: spreadingFactor!, bandwidthHz: bandwidthHz!, codingRate: codingRate!, frequencyHz: frequencyHz!, txPowerDbm: txPowerDbm!, chip: chip! };
};

const readMedium: Reader<ScenarioMedium> = (v, path, out) => {
  const f = new Fields(v, path, out, ["loss", "capture_db", "ref_loss_db", "path_loss_exponent", "interference_margin_db", "noise_figure_db", "links"]);
  const loss = f.opt("loss", PROBABILITY, 0);
  const captureDb = f.opt("capture_db", nullable(num(0, 60)), 6);
  const refLossDb = f.opt("ref_loss_db", num(0, 120), 40);
  const exponent = f.opt("path_loss_exponent", num(1.5, 6), 3);
  const interferenceMarginDb = f.opt("interference_margin_db", num(0, 40), 6);
  const noiseFigureDb = f.opt("noise_figure_db", num(0, 20), 6);
  const links = f.opt(
    "links",
    arrayOf(
      (x, p, o) => {
        const g = new Fields(x, p, o, ["between", "path_loss_db"]);
        const between = g.req("between", arrayOf(NAME, { min: 2, max: 2 }));
        const pathLossDb = g.req("path_loss_db", nullable(num(0, 250)));
        if (between !== undefined && between[0] === between[1]) o.add(`${p}.between`, "a link needs two different nodes");
        return g.clean() ? { between: between as [string, string], pathLossDb: pathLossDb! } : undefined;
      },
      { max: 100_000 },
    ),
    [],
  );
  if (!f.clean()) return undefined;
  return { loss: loss!, captureDb: captureDb!, refLossDb: refLossDb!, exponent: exponent!, interferenceMarginDb: interferenceMarginDb!, noiseFigureDb: noiseFigureDb!, links: links! };
};

const readWired: Reader<WiredSpec> = (v, path, out) => {
  const f = new Fields(v, path, out, ["name", "delay_ms", "loss", "bitrate_bps"]);
  const name = f.req("name", NAME);
  const delayMs = f.opt("delay_ms", num(0, 60_000), 1);
  const loss = f.opt("loss", PROBABILITY, 0);
  const bitrateBps = f.opt("bitrate_bps", num(1_000, 100_000_000_000), 10_000_000);
  return f.clean() ? { name: name!, delayMs: delayMs!, loss: loss!, bitrateBps: bitrateBps! } : undefined;
};

// ---- nodes -----------------------------------------------------------------------------------------------

const NODE_OPTIONS = ["interfaces", "transport", "respond_to_probes", "announce_on_start", "announce_interval_s", "persist_interval_s"];

function readNodes(v: unknown, path: string, out: Issues, radio: RadioSettings | null, wired: readonly WiredSpec[]): { nodes: ScenarioNode[]; placement: Placement | null } | undefined {
  const segments = new Set(wired.map((w) => w.name));
  if (Array.isArray(v)) {
    const list = arrayOf((x, p, o) => readNode(x, p, o, radio, segments), { min: 1, max: SCENARIO_LIMITS.maxNodes })(v, path, out);
    if (list === undefined) return undefined;
    const seen = new Set<string>();
    list.forEach((n, i) => {
      if (seen.has(n.name)) out.add(`${path}[${i}].name`, `a second node named "${n.name}"`);
      seen.add(n.name);
    });
    return { nodes: list, placement: null };
  }
  const f = new Fields(v, path, out, ["count", "prefix", "placement", "transport_nodes", ...NODE_OPTIONS]);
  const count = f.req("count", int(1, SCENARIO_LIMITS.maxNodes));
  const prefix = f.opt("prefix", text({ maxChars: 16, pattern: /^[A-Za-z_][A-Za-z0-9_.-]*$/, what: "a name prefix of letters, digits, _ . -" }), "n");
  const placement = f.opt("placement", readPlacement, { kind: "line", spacingM: 1000 } as Placement);
  const transportNodes = f.opt("transport_nodes", nullable(arrayOf(NAME, { max: SCENARIO_LIMITS.maxNodes })), null);
  const common = readNodeOptions(f, path, out, radio, segments);
  if (!f.clean() || count === undefined || common === undefined || placement === undefined || transportNodes === undefined || prefix === undefined) return undefined;
  if (placement.kind === "explicit" && placement.positions.length !== count) out.add(`${path}.placement.positions`, `lists ${placement.positions.length} positions for ${count} nodes`);
  const names = Array.from({ length: count }, (_, i) => `${prefix}${i}`);
  const transport = transportNodes === null ? null : new Set(transportNodes);
  transportNodes?.forEach((n, i) => {
    if (!names.includes(n)) out.add(`${path}.transport_nodes[${i}]`, `unknown node "${n}" (nodes are ${names[0]}..${names[names.length - 1]})`);
  });
  const nodes = names.map((name) => ({ ...common, name, transport: transport === null ? common.transport : transport.has(name), position: null, startMs: 0 }));
  return { nodes, placement };
}

function readNode(v: unknown, path: string, out: Issues, radio: RadioSettings | null, segments: ReadonlySet<string>): ScenarioNode | undefined {
  const f = new Fields(v, path, out, ["name", "position", "start_s", "radio", ...NODE_OPTIONS]);
  const name = f.req("name", NAME);
  const position = f.opt("position", nullable(POSITION), null);
  const startS = f.opt("start_s", SECONDS, 0);
  const own = f.opt("radio", (x, p, o) => readRadio(inherit(radio, x), p, o), null);
  const common = readNodeOptions(f, path, out, own ?? radio, segments);
  if (!f.clean() || common === undefined) return undefined;
  if (common.lora && position === null) out.add(path, `node "${name}" has a LoRa radio: give its "position" [x, y] in metres`);
  return { ...common, name: name!, position: position!, startMs: startS! * 1000 };
}

function readNodeOptions(f: Fields, path: string, out: Issues, radio: RadioSettings | null, segments: ReadonlySet<string>): Omit<ScenarioNode, "name" | "position" | "startMs"> | undefined {
  const interfaces = f.opt("interfaces", arrayOf(text({ maxChars: 48 }), { max: 8 }), ["lora"]);
  const transport = f.opt("transport", bool(), true);
  const respondToProbes = f.opt("respond_to_probes", bool(), true);
  const announceOnStart = f.opt("announce_on_start", bool(), true);
  const announceIntervalS = f.opt("announce_interval_s", nullable(num(1, SCENARIO_LIMITS.maxDurationS)), null);
  const persistIntervalS = f.opt("persist_interval_s", num(1, SCENARIO_LIMITS.maxDurationS), 600);
  if (interfaces === undefined) return undefined;
  let lora = false;
  const wired: string[] = [];
  interfaces.forEach((kind, i) => {
    if (kind === "lora") lora = true;
    else if (kind.startsWith("wired:") && segments.has(kind.slice(6))) wired.push(kind.slice(6));
    else out.add(`${path}.interfaces[${i}]`, kind.startsWith("wired:") ? `no wired segment "${kind.slice(6)}" (declare it under "wired")` : `must be "lora" or "wired:<segment>", got ${JSON.stringify(kind)}`);
  });
  if (!lora && wired.length === 0) out.add(`${path}.interfaces`, "a node needs at least one interface");
  if (transport === undefined || respondToProbes === undefined || announceOnStart === undefined || announceIntervalS === undefined || persistIntervalS === undefined) return undefined;
  return { lora, radio: radio!, wired, transport, respondToProbes, announceOnStart, announceIntervalMs: announceIntervalS === null ? null : announceIntervalS * 1000, persistIntervalMs: persistIntervalS * 1000 };
}

/** A node's own radio fields over the scenario's radio; a preset of its own replaces the inherited modulation. */
function inherit(r: RadioSettings | null, own: unknown): unknown {
  if (r === null || typeof own !== "object" || own === null || Array.isArray(own)) return own;
  const base: Record<string, unknown> = { preset: null, frequency_hz: r.frequencyHz, tx_power_dbm: r.txPowerDbm, chip: r.chip ?? "sx127x" };
  if (!Object.hasOwn(own, "preset")) Object.assign(base, { spreading_factor: r.spreadingFactor, bandwidth_hz: r.bandwidthHz, coding_rate: r.codingRate });
  return { ...base, ...own };
}

const POSITION: Reader<Position> = (v, path, out) => {
  const p = arrayOf(num(-1e7, 1e7), { min: 2, max: 2 })(v, path, out);
  return p === undefined ? undefined : [p[0]!, p[1]!];
};

const readPlacement: Reader<Placement> = (v, path, out) => {
  const f = new Fields(v, path, out, ["kind", "spacing_m", "columns", "width_m", "height_m", "positions"]);
  const kind = f.req("kind", oneOf(["line", "grid", "random", "explicit"] as const));
  if (kind === "line") {
    const spacingM = f.req("spacing_m", num(0, 1e6, { aboveMin: true }));
    return f.clean() ? { kind, spacingM: spacingM! } : undefined;
  }
  if (kind === "grid") {
    const spacingM = f.req("spacing_m", num(0, 1e6, { aboveMin: true }));
    const columns = f.opt("columns", nullable(int(1, SCENARIO_LIMITS.maxNodes)), null);
    return f.clean() ? { kind, spacingM: spacingM!, ...(columns !== null ? { columns: columns! } : {}) } : undefined;
  }
  if (kind === "random") {
    const widthM = f.req("width_m", num(0, 1e7, { aboveMin: true }));
    const heightM = f.req("height_m", num(0, 1e7, { aboveMin: true }));
    return f.clean() ? { kind, widthM: widthM!, heightM: heightM! } : undefined;
  }
  if (kind === "explicit") {
    const positions = f.req("positions", arrayOf(POSITION, { min: 1, max: SCENARIO_LIMITS.maxNodes }));
    return f.clean() ? { kind, positions: positions! } : undefined;
  }
  return undefined;
};

// ---- timeline and assertions -----------------------------------------------------------------------------

/** One of `kinds`, or an error naming the closest one. */
function kindOf<T extends string>(kinds: readonly T[], what: string): Reader<T> {
  return (v, path, out) => {
    if (typeof v === "string" && (kinds as readonly string[]).includes(v)) return v as T;
    const near = typeof v === "string" ? kinds.map((k) => ({ k, d: distance(v, k) })).sort((a, b) => a.d - b.d)[0] : undefined;
    const hint = near !== undefined && near.d <= Math.max(2, Math.floor(near.k.length / 3)) ? `did you mean "${near.k}"? ` : "";
    out.add(path, `unknown ${what} ${shownValue(v)}; ${hint}(${kinds.join(", ")})`);
    return undefined;
  };
}

interface Ctx {
  names: ReadonlySet<string>;
  nodes: readonly ScenarioNode[];
  durationMs: number;
  wired: ReadonlySet<string>;
  quorum: ScenarioQuorum | null;
  /** Proposals named by the timeline so far: their deadline (ms). */
  proposals: Map<string, number>;
}

// ---- local quorum ----------------------------------------------------------------------------------------

const VOTE = oneOf(VOTES);

function voteMap(ctx: Ctx, members: ReadonlySet<string>): Reader<Record<string, QuorumVote>> {
  return (v, path, out) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      out.add(path, `must be an object of member name to vote (${VOTES.join(", ")}), got ${shownValue(v)}`);
      return undefined;
    }
    const res: Record<string, QuorumVote> = {};
    for (const [k, x] of Object.entries(v)) {
      if (checkNode(k, `${path}.${k}`, out, ctx, false) === undefined) continue;
      if (!members.has(k)) out.add(`${path}.${k}`, `node "${k}" is not a quorum member`);
      const c = VOTE(x, `${path}.${k}`, out);
      if (c !== undefined) res[k] = c;
    }
    return res;
  };
}

function readQuorum(v: unknown, path: string, out: Issues, ctx: Ctx): ScenarioQuorum | undefined {
  const f = new Fields(v, path, out, ["members", "threshold", "relays", "vote", "votes", "byzantine", "vote_delay_s", "fsync_ms"]);
  const nodeList = arrayOf((x, p, o) => checkNode(x, p, o, ctx, false), { min: 1, max: 64 });
  const members = f.opt<string[] | "all">("members", (x, p, o) => (x === "all" ? "all" : nodeList(x, p, o)), "all");
  if (members === undefined) return undefined;
  const list = members === "all" ? [...ctx.names] : members;
  if (list.length > 64) out.add(`${path}.members`, `${list.length} members; a membership has at most 64`);
  const set = new Set(list);
  if (set.size !== list.length) out.add(`${path}.members`, "a member is listed twice");
  const n = list.length;
  const threshold = f.opt("threshold", nullable(int(Math.floor(n / 2) + 1, Math.max(1, n), `a threshold from ${Math.floor(n / 2) + 1} (a strict majority) to ${n}`)), null);
  const relays = f.opt("relays", nullable(nodeList), null);
  relays?.forEach((r, i) => {
    if (set.has(r)) out.add(`${path}.relays[${i}]`, `node "${r}" is a member (members run quorum anyway)`);
  });
  const vote = f.opt("vote", VOTE, "yes");
  const votes = f.opt("votes", voteMap(ctx, set), {});
  const byzantine = f.opt<Record<string, QuorumRole>>("byzantine", (x, p, o) => {
    if (typeof x !== "object" || x === null || Array.isArray(x)) {
      o.add(p, `must be an object of member name to role (${ROLES.join(", ")}), got ${shownValue(x)}`);
      return undefined;
    }
    const res: Record<string, QuorumRole> = {};
    for (const [k, r] of Object.entries(x)) {
      if (checkNode(k, `${p}.${k}`, o, ctx, false) === undefined) continue;
      if (!set.has(k)) o.add(`${p}.${k}`, `node "${k}" is not a quorum member`);
      const role = oneOf(ROLES)(r, `${p}.${k}`, o);
      if (role !== undefined) res[k] = role;
    }
    return res;
  }, {});
  const voteDelayS = f.opt("vote_delay_s", num(0, 86_400), 0);
  const fsyncMs = f.opt("fsync_ms", num(0, 60_000), 5);
  if (!f.clean()) return undefined;
  return { members: list, threshold: threshold!, relays: relays!, vote: vote!, votes: votes!, byzantine: byzantine!, voteDelayMs: voteDelayS! * 1000, fsyncMs: fsyncMs! };
}

function checkNode(name: unknown, path: string, out: Issues, ctx: Ctx, allowAll: boolean): string | undefined {
  if (allowAll && name === "all") return "all";
  if (typeof name === "string" && ctx.names.has(name)) return name;
  const some = [...ctx.names].slice(0, 3).join(", ") + (ctx.names.size > 3 ? ", ..." : "");
  out.add(path, `unknown node ${JSON.stringify(name)} (nodes: ${some}${allowAll ? '; or "all"' : ""})`);
  return undefined;
}

function nodeField(f: Fields, key: string, ctx: Ctx, allowAll = false): string | undefined {
  return f.req(key, (v, p, o) => checkNode(v, p, o, ctx, allowAll));
}

function readEvent(v: unknown, path: string, out: Issues, ctx: Ctx): TimelineEvent | undefined {
  const kind = (v as Record<string, unknown> | null)?.["do"];
  const extra: Record<string, string[]> = {
    announce: ["node"], unplug: ["node"], replug: ["node"], reset: ["node"], crash: ["node"], restart: ["node"], stop: ["node"],
    power_cycle: ["node", "off_s"], partition: ["groups"], heal: [], loss: ["rate", "between"],
    send_file: ["from", "to", "size", "timeout_s", "retries"], probe: ["from", "to", "timeout_s"],
    propose: ["node", "name", "deadline_s", "kind", "payload", "vote", "votes"],
  };
  const f = new Fields(v, path, out, ["at", "do", ...(typeof kind === "string" ? (extra[kind] ?? []) : [])]);
  const atS = f.req("at", SECONDS);
  const what = f.req("do", kindOf(EVENTS, "event"));
  if (atS !== undefined && atS * 1000 > ctx.durationMs) out.add(`${path}.at`, `${atS} s is after the end of the scenario (duration_s ${ctx.durationMs / 1000})`);
  if (what === undefined || atS === undefined) return undefined;
  const atMs = atS * 1000;
  switch (what) {
    case "announce": {
      const node = nodeField(f, "node", ctx, true);
      return f.clean() ? { atMs, do: what, node: node! } : undefined;
    }
    case "unplug": case "replug": case "reset": {
      const node = nodeField(f, "node", ctx);
      if (node !== undefined && !ctx.nodes.find((n) => n.name === node)!.lora) out.add(`${path}.node`, `node "${node}" has no LoRa radio to ${what}`);
      return f.clean() ? { atMs, do: what, node: node! } : undefined;
    }
    case "crash": case "restart": case "stop": {
      const node = nodeField(f, "node", ctx);
      return f.clean() ? { atMs, do: what, node: node! } : undefined;
    }
    case "power_cycle": {
      const node = nodeField(f, "node", ctx);
      const offS = f.opt("off_s", num(0, 86_400), 5);
      return f.clean() ? { atMs, do: what, node: node!, offMs: offS! * 1000 } : undefined;
    }
    case "partition": {
      const groups = f.req("groups", arrayOf(arrayOf((x, p, o) => checkNode(x, p, o, ctx, false), { min: 1, max: SCENARIO_LIMITS.maxNodes }), { min: 2, max: 64 }));
      const seen = new Set<string>();
      for (const [gi, g] of (groups ?? []).entries()) for (const [ni, n] of g.entries()) {
        if (seen.has(n)) out.add(`${path}.groups[${gi}][${ni}]`, `node "${n}" is in two groups`);
        seen.add(n);
      }
      return f.clean() ? { atMs, do: what, groups: groups! } : undefined;
    }
    case "heal":
      return f.clean() ? { atMs, do: what } : undefined;
    case "loss": {
      const rate = f.req("rate", PROBABILITY);
      const between = f.opt("between", nullable(arrayOf((x, p, o) => checkNode(x, p, o, ctx, false), { min: 2, max: 2 })), null);
      return f.clean() ? { atMs, do: what, rate: rate!, between: between === null ? null : [between![0]!, between![1]!] } : undefined;
    }
    case "send_file": {
      const from = nodeField(f, "from", ctx);
      const to = nodeField(f, "to", ctx);
      const sizeBytes = f.req("size", int(1, SCENARIO_LIMITS.maxFileBytes));
      const timeoutS = f.opt("timeout_s", num(1, 86_400), 60);
      const retries = f.opt("retries", int(0, 100), 0);
      if (from !== undefined && from === to) out.add(`${path}.to`, "a node does not send a file to itself");
      return f.clean() ? { atMs, do: what, from: from!, to: to!, sizeBytes: sizeBytes!, timeoutMs: timeoutS! * 1000, retries: retries! } : undefined;
    }
    case "probe": {
      const from = nodeField(f, "from", ctx);
      const to = nodeField(f, "to", ctx);
      const timeoutS = f.opt("timeout_s", num(1, 86_400), 15);
      if (from !== undefined && from === to) out.add(`${path}.to`, "a node does not probe itself");
      if (to !== undefined && !ctx.nodes.find((n) => n.name === to)!.respondToProbes) out.add(`${path}.to`, `node "${to}" does not respond to probes`);
      return f.clean() ? { atMs, do: what, from: from!, to: to!, timeoutMs: timeoutS! * 1000 } : undefined;
    }
    case "propose": {
      const node = nodeField(f, "node", ctx);
      const name = f.req("name", text({ maxChars: 40 }));
      const deadlineS = f.req("deadline_s", num(0, 7 * 24 * 3600, { aboveMin: true }));
      const kind = f.opt("kind", text({ maxChars: 32 }), "alarm.confirm");
      const payload = f.opt("payload", text({ maxChars: 200 }), "");
      const vote = f.opt("vote", nullable(VOTE), null);
      const q = ctx.quorum;
      const votes = f.opt("votes", voteMap(ctx, new Set(q?.members ?? [])), {});
      if (q === null) out.add(path, 'a "propose" event needs a "quorum" block');
      else if (node !== undefined && !q.members.includes(node)) out.add(`${path}.node`, `node "${node}" is not a quorum member`);
      else if (node !== undefined && q.byzantine[node] !== undefined) out.add(`${path}.node`, `node "${node}" is Byzantine; proposers are honest`);
      if (name !== undefined && ctx.proposals.has(name)) out.add(`${path}.name`, `a second proposal named "${name}"`);
      if (!f.clean()) return undefined;
      ctx.proposals.set(name!, atMs + deadlineS! * 1000);
      return { atMs, do: what, node: node!, name: name!, deadlineMs: deadlineS! * 1000, kind: kind!, payload: payload!, vote: vote!, votes: votes! };
    }
  }
}

function readAssertion(v: unknown, path: string, out: Issues, ctx: Ctx): Assertion | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v) || Object.keys(v).length !== 1) {
    out.add(path, `must be an object with one key naming the assertion (${ASSERTIONS.join(", ")})`);
    return undefined;
  }
  const key = Object.keys(v)[0]!;
  const kind = kindOf(ASSERTIONS, "assertion")(key, `${path}.${key}`, out);
  if (kind === undefined) return undefined;
  const body = (v as Record<string, unknown>)[key];
  const bpath = `${path}.${key}`;
  if (kind.startsWith("quorum_")) return readQuorumAssertion(kind as QuorumKind, body, bpath, out, ctx);
  const pair = kind === "path_known" || kind === "file_delivered" || kind === "probe_ok" || kind === "probe_failed";
  const f = new Fields(body, bpath, out, pair ? ["from", "to", "after", "by"] : kind === "no_crash" ? ["by"] : ["after", "by"]);
  const from = pair ? nodeField(f, "from", ctx) : undefined;
  const to = pair ? nodeField(f, "to", ctx) : undefined;
  const afterS = kind === "no_crash" ? 0 : f.opt("after", SECONDS, 0);
  const byS = f.opt("by", SECONDS, ctx.durationMs / 1000);
  if (byS !== undefined && byS * 1000 > ctx.durationMs) out.add(`${bpath}.by`, `${byS} s is after the end of the scenario (duration_s ${ctx.durationMs / 1000})`);
  if (afterS !== undefined && byS !== undefined && afterS > byS) out.add(`${bpath}.after`, `after (${afterS} s) is later than by (${byS} s)`);
  if (pair && from !== undefined && from === to) out.add(`${bpath}.to`, "from and to are the same node");
  if ((kind === "path_known" || kind === "probe_ok" || kind === "probe_failed") && to !== undefined && !ctx.nodes.find((n) => n.name === to)!.respondToProbes) {
    out.add(`${bpath}.to`, `node "${to}" does not respond to probes (its probe destination is what ${kind} looks for)`);
  }
  if (!f.clean() || afterS === undefined || byS === undefined) return undefined;
  const window = { afterMs: afterS * 1000, byMs: byS * 1000 };
  const tail = `${afterS > 0 ? ` after ${afterS} s` : ""} by ${byS} s`;
  if (pair) return { kind, from: from!, to: to!, ...window, name: `${kind} ${from}->${to}${tail}` };
  if (kind === "all_nodes_know_paths") return { kind, ...window, name: `${kind}${tail}` };
  return { kind: "no_crash", afterMs: 0, byMs: byS * 1000, name: `no_crash by ${byS} s` };
}

type QuorumKind = "quorum_certificate" | "quorum_no_certificate" | "quorum_safe" | "quorum_dropped";

function readQuorumAssertion(kind: QuorumKind, body: unknown, path: string, out: Issues, ctx: Ctx): Assertion | undefined {
  const keys = { quorum_certificate: ["proposal", "nodes", "outcome", "after", "by"], quorum_no_certificate: ["proposal", "by"], quorum_safe: ["by"], quorum_dropped: ["reason", "min", "after", "by"] }[kind];
  const f = new Fields(body, path, out, keys);
  if (ctx.quorum === null) out.add(path, `${kind} needs a "quorum" block`);
  const proposalReader: Reader<string> = (v, p, o) => {
    if (typeof v === "string" && ctx.proposals.has(v)) return v;
    o.add(p, `no "propose" event in the timeline names ${shownValue(v)} (proposals: ${[...ctx.proposals.keys()].join(", ") || "none"})`);
    return undefined;
  };
  const proposal = kind === "quorum_certificate" || kind === "quorum_no_certificate" ? f.req("proposal", proposalReader) : undefined;
  const deadlineS = proposal !== undefined ? ctx.proposals.get(proposal)! / 1000 : undefined;
  const afterS = kind === "quorum_certificate" || kind === "quorum_dropped" ? f.opt("after", SECONDS, 0) : 0;
  // A certificate is due by its proposal's deadline unless told otherwise; the rest by the end of the run.
  const byS = f.opt("by", SECONDS, kind === "quorum_certificate" && deadlineS !== undefined ? deadlineS : ctx.durationMs / 1000);
  if (byS !== undefined && byS * 1000 > ctx.durationMs) out.add(`${path}.by`, `${byS} s is after the end of the scenario (duration_s ${ctx.durationMs / 1000})`);
  if (afterS !== undefined && byS !== undefined && afterS > byS) out.add(`${path}.after`, `after (${afterS} s) is later than by (${byS} s)`);
  const nodes = kind === "quorum_certificate"
    ? f.opt<string[] | "members" | "all">("nodes", (v, p, o) => (v === "members" || v === "all" ? v : arrayOf((x, pp, oo) => checkNode(x, pp, oo, ctx, false), { min: 1, max: SCENARIO_LIMITS.maxNodes })(v, p, o)), "members")
    : undefined;
  if (Array.isArray(nodes) && ctx.quorum !== null) {
    nodes.forEach((n, i) => {
      if (ctx.quorum!.byzantine[n] !== undefined) out.add(`${path}.nodes[${i}]`, `node "${n}" is Byzantine: nothing is asserted of it`);
    });
  }
  const outcome = kind === "quorum_certificate" ? f.opt("outcome", oneOf(["approved", "rejected"] as const), "approved") : undefined;
  const reason = kind === "quorum_dropped" ? f.req("reason", text({ maxChars: 32 })) : undefined;
  const min = kind === "quorum_dropped" ? f.opt("min", int(1, 1_000_000_000), 1) : undefined;
  if (!f.clean() || afterS === undefined || byS === undefined) return undefined;
  const w = { afterMs: afterS * 1000, byMs: byS * 1000 };
  const tail = `${afterS > 0 ? ` after ${afterS} s` : ""} by ${byS} s`;
  switch (kind) {
    case "quorum_certificate":
      return { kind, proposal: proposal!, nodes: nodes!, outcome: outcome!, ...w, name: `quorum_certificate ${proposal} ${outcome} at ${Array.isArray(nodes) ? nodes.join(",") : nodes}${tail}` };
    case "quorum_no_certificate":
      return { kind, proposal: proposal!, ...w, name: `quorum_no_certificate ${proposal}${tail}` };
    case "quorum_safe":
      return { kind, ...w, name: `quorum_safe${tail}` };
    case "quorum_dropped":
      return { kind, reason: reason!, min: min!, ...w, name: `quorum_dropped ${reason} >= ${min}${tail}` };
  }
}
