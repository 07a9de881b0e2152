// Runs a scenario on real kosd processes, on the real clock: one kosd per node with an RNodeInterface on the
// radio a backend gives it (an emulated RNode on a PTY, or a real radio named in a rig file). Events are
// applied with kosctl (announce, probe, cp), by stopping and starting kosd (crash = SIGKILL, stop = SIGTERM,
// restart, power_cycle) and through the backend (unplug, replug, reset, partition, heal, loss) where it can;
// assertions are read with kosctl --json. What a mode cannot do is reported as unsupported, never skipped
// silently. Times in the scenario are seconds of real time from the moment every radio is up.
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { seededRandom } from "../../runtime/core/ports.js";
import type { Assertion, AssertionResult, RunMode, RunSummary, Scenario, TimelineEvent } from "../scenarios/types.js";
import { overallStatus } from "../scenarios/types.js";
import { KosdProcess, kosctl, kosctlUntil, sleep } from "./processes.js";

/** What a process runner needs from the radios; a missing operation is unsupported in that mode. */
export interface RadioBackend {
  readonly mode: RunMode;
  /** The `port = ...` of the node's RNodeInterface. */
  port(node: string): string;
  /** More RNodeInterface options for the node (board, region...). */
  extraOptions(node: string): string;
  close(): Promise<void>;
  unplug?(node: string): Promise<void>;
  replug?(node: string): Promise<void>;
  reset?(node: string): Promise<void>;
  partition?(groups: string[][]): void;
  heal?(): void;
  loss?(rate: number, between: [string, string] | null): void;
}

export interface ProcessRunOptions {
  seed: number;
  kosd: string;
  kosctl: string;
  /** Working directory (default: a new temporary one, removed afterwards). */
  workDir?: string;
  log?: (line: string) => void;
}

interface Transfer {
  from: string;
  to: string;
  file: string;
  data: Buffer;
  startMs: number;
  deliveredMs: number | null;
  status: "pending" | "ok" | "failed";
  reason: string | null;
}

interface Probe {
  from: string;
  to: string;
  startMs: number;
  endMs: number | null;
  status: "pending" | "ok" | "failed";
  reason: string | null;
}

const POLL_MS = 1000;

export async function runProcesses(scenario: Scenario, backend: RadioBackend, o: ProcessRunOptions): Promise<RunSummary> {
  const log = o.log ?? (() => undefined);
  const ownDir = o.workDir === undefined;
  const root = o.workDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "kos-hil-"));
  const unsupported: string[] = [];
  const nodes = new Map<string, KosdProcess>();
  const listeners = new Map<string, { child: ChildProcess; dest: string; dir: string }>();
  const transfers: Transfer[] = [];
  const probes: Probe[] = [];
  const timers: NodeJS.Timeout[] = [];
  const rng = seededRandom(o.seed);
  let t0 = 0;
  const now = (): number => performance.now() - t0;
  const note = (e: TimelineEvent, why: string): void => void unsupported.push(`at ${e.atMs / 1000} s: ${e.do}: ${why}`);

  for (const n of scenario.nodes) {
    if (n.wired.length > 0 && !n.lora) unsupported.push(`node ${n.name}: wired-only nodes are not run in ${backend.mode} mode`);
    else if (n.wired.length > 0) unsupported.push(`node ${n.name}: wired segments (${n.wired.join(", ")}) are not run in ${backend.mode} mode; only its radio is`);
    if (!n.announceOnStart) unsupported.push(`node ${n.name}: announce_on_start false (kosd always announces when its radio comes up)`);
    if (!n.lora && n.wired.length > 0) continue;
    const r = n.radio;
    const radio = n.lora
      ? `[interfaces]\n  [[LoRa]]\n    type = RNodeInterface\n    enabled = yes\n    port = ${backend.port(n.name)}\n` +
        `    frequency = ${r.frequencyHz}\n    bandwidth = ${r.bandwidthHz}\n    spreadingfactor = ${r.spreadingFactor}\n    codingrate = ${r.codingRate}\n    txpower = ${r.txPowerDbm}\n${backend.extraOptions(n.name)}`
      : "";
    const config = `  enable_transport = ${n.transport ? "yes" : "no"}\n  respond_to_probes = ${n.respondToProbes ? "yes" : "no"}\n  persist_interval = ${Math.max(1, Math.round(n.persistIntervalMs / 1000))}\n${radio}`;
    nodes.set(n.name, new KosdProcess(n.name, root, config, o.kosd));
  }
  const node = (name: string): KosdProcess | undefined => nodes.get(name);

  const startListener = async (name: string): Promise<void> => {
    const k = node(name);
    if (k === undefined || !k.running) return;
    const dir = path.join(root, `${name}-received`);
    fs.mkdirSync(dir, { recursive: true });
    const l = await kosctlUntil(o.kosctl, k, ["cp", "--listen", "--no-auth", "--save", dir], /listening on <([0-9a-f]{32})>/, 15_000);
    listeners.set(name, { child: l.child, dest: l.match[1]!, dir });
  };
  const receivers = new Set(scenario.timeline.filter((e) => e.do === "send_file").map((e) => (e as { to: string }).to));

  const startNode = async (name: string): Promise<void> => {
    const k = node(name);
    if (k === undefined) return;
    await k.start();
    if (receivers.has(name)) await startListener(name);
  };

  const apply = async (e: TimelineEvent): Promise<void> => {
    log(`${(now() / 1000).toFixed(1)} s: ${e.do}`);
    const named = [..."node" in e && e.node !== "all" ? [e.node] : [], ..."from" in e ? [e.from, e.to] : [], ...(e.do === "partition" ? e.groups.flat() : [])];
    const absent = named.filter((n) => !nodes.has(n));
    if (absent.length > 0) return note(e, `unsupported in ${backend.mode} mode: ${absent.join(", ")} run${absent.length === 1 ? "s" : ""} no kosd here (wired-only)`);
    switch (e.do) {
      case "announce":
        for (const [name, k] of nodes) if ((e.node === "all" || e.node === name) && k.running) await kosctl(o.kosctl, k, ["announce"], 10_000);
        return;
      case "unplug":
      case "replug":
      case "reset": {
        const op = backend[e.do];
        if (op === undefined) return note(e, `unsupported in ${backend.mode} mode`);
        return op.call(backend, e.node);
      }
      case "crash":
        return node(e.node)?.stop("SIGKILL");
      case "stop":
        return node(e.node)?.stop("SIGTERM");
      case "restart":
        return startNode(e.node);
      case "power_cycle": {
        await node(e.node)?.stop("SIGKILL");
        if (backend.unplug !== undefined) await backend.unplug(e.node);
        else note(e, `the radio keeps its power in ${backend.mode} mode; only kosd is killed`);
        await sleep(e.offMs);
        if (backend.replug !== undefined) await backend.replug(e.node);
        return startNode(e.node);
      }
      case "partition":
        if (backend.partition === undefined) return note(e, `unsupported in ${backend.mode} mode`);
        return backend.partition(e.groups);
      case "heal":
        if (backend.heal === undefined) return note(e, `unsupported in ${backend.mode} mode`);
        return backend.heal();
      case "loss":
        if (backend.loss === undefined) return note(e, `unsupported in ${backend.mode} mode`);
        return backend.loss(e.rate, e.between);
      case "probe":
        return probe(e);
      case "send_file":
        return sendFile(e);
      case "propose":
        return note(e, `local quorum runs on the simulator only for now`);
    }
  };

  const probe = async (e: TimelineEvent & { do: "probe" }): Promise<void> => {
    const p: Probe = { from: e.from, to: e.to, startMs: now(), endMs: null, status: "pending", reason: null };
    probes.push(p);
    const from = node(e.from);
    const dest = node(e.to)?.probeDestination() ?? null;
    if (from === undefined || !from.running || dest === null) return finish(p, "failed", `${e.from} or ${e.to} is not running`);
    const r = await kosctl(o.kosctl, from, ["probe", dest, "--timeout", String(Math.round(e.timeoutMs / 1000)), "--json"], e.timeoutMs + 60_000);
    finish(p, r.code === 0 ? "ok" : "failed", r.code === 0 ? null : (r.stderr.trim() || r.stdout.trim()).split("\n")[0] ?? "probe failed");
  };

  const sendFile = async (e: TimelineEvent & { do: "send_file" }): Promise<void> => {
    const file = path.join(root, `file-${transfers.length + 1}-${e.from}-${e.to}.bin`);
    const data = Buffer.from(rng.bytes(e.sizeBytes));
    fs.writeFileSync(file, data);
    const t: Transfer = { from: e.from, to: e.to, file, data, startMs: now(), deliveredMs: null, status: "pending", reason: null };
    transfers.push(t);
    for (let attempt = 0; attempt <= e.retries; attempt++) {
      const from = node(e.from);
      const dest = listeners.get(e.to)?.dest;
      if (from === undefined || !from.running || dest === undefined) {
        t.reason = `${e.from} or the listener on ${e.to} is not running`;
        await sleep(1000);
        continue;
      }
      const r = await kosctl(o.kosctl, from, ["cp", file, dest, "--timeout", String(Math.round(e.timeoutMs / 1000)), "--json"], e.timeoutMs * 3 + 60_000);
      if (r.code === 0) return finish(t, "ok", null);
      t.reason = (r.stderr.trim() || r.stdout.trim()).split("\n")[0] ?? "cp failed";
    }
    finish(t, "failed", t.reason);
  };

  const finish = (x: Probe | Transfer, status: "ok" | "failed", reason: string | null): void => {
    if (x.status !== "pending") return;
    x.status = status;
    x.reason = reason;
    if ("endMs" in x) x.endMs = now();
  };

  const results = new Map<Assertion, AssertionResult>();
  const decide = (a: Assertion, passed: boolean, atMs: number, detail: string): void => {
    if (results.has(a)) return;
    results.set(a, { name: a.name, passed, status: passed ? "passed" : "failed", detail, atS: Math.round(atMs) / 1000 });
  };

  const pathTable = async (k: KosdProcess): Promise<Set<string> | null> => {
    if (!k.running) return null;
    const r = await kosctl(o.kosctl, k, ["path", "--table", "--json"], 10_000);
    if (r.code !== 0) return null;
    try {
      return new Set((JSON.parse(r.stdout) as { paths: { destination: string }[] }).paths.map((p) => p.destination));
    } catch {
      return null;
    }
  };

  const check = async (): Promise<void> => {
    const t = now();
    for (const [name, k] of nodes) {
      for (const a of scenario.assertions) if (a.kind === "no_crash" && k.unexpectedExits.length > 0 && t <= a.byMs + POLL_MS) decide(a, false, t, `kosd ${name} exited by itself (${k.unexpectedExits.join(", ")}):\n${k.tail()}`);
    }
    const tables = new Map<string, Set<string> | null>();
    const table = async (name: string): Promise<Set<string> | null> => {
      if (!tables.has(name)) tables.set(name, await pathTable(nodes.get(name)!));
      return tables.get(name)!;
    };
    for (const a of scenario.assertions) {
      if (results.has(a) || t < a.afterMs || a.kind.startsWith("quorum_")) continue;
      switch (a.kind) {
        case "path_known": {
          const dest = node(a.to)?.probeDestination();
          if (node(a.from) !== undefined && dest != null && (await table(a.from))?.has(dest) === true && t <= a.byMs + POLL_MS) decide(a, true, t, `${a.from} knows a path to ${a.to} at ${(t / 1000).toFixed(1)} s`);
          break;
        }
        case "all_nodes_know_paths": {
          const live = [...nodes.values()].filter((k) => k.running);
          let missing: string | null = null;
          for (const k of live) {
            const tab = await table(k.name);
            for (const m of live) if (m !== k && m.probeDestination() !== null && tab?.has(m.probeDestination()!) !== true) missing ??= `${k.name} has no path to ${m.name}`;
          }
          if (missing === null && live.length > 1 && t <= a.byMs + POLL_MS) decide(a, true, t, `every running kosd knows a path to every other at ${(t / 1000).toFixed(1)} s`);
          break;
        }
        case "probe_ok":
        case "probe_failed": {
          const want = a.kind === "probe_ok" ? "ok" : "failed";
          const p = probes.find((x) => x.from === a.from && x.to === a.to && x.status === want && x.endMs! >= a.afterMs && x.endMs! <= a.byMs + POLL_MS);
          if (p !== undefined) decide(a, true, p.endMs!, want === "ok" ? `probe at ${(p.startMs / 1000).toFixed(1)} s answered` : `probe at ${(p.startMs / 1000).toFixed(1)} s failed: ${p.reason}`);
          break;
        }
        case "file_delivered": {
          for (const x of transfers.filter((y) => y.from === a.from && y.to === a.to && y.deliveredMs === null)) {
            const dir = listeners.get(a.to)?.dir;
            const got = dir !== undefined ? path.join(dir, path.basename(x.file)) : null;
            if (got !== null && fs.existsSync(got) && fs.readFileSync(got).equals(x.data)) x.deliveredMs = t;
          }
          const d = transfers.find((y) => y.from === a.from && y.to === a.to && y.deliveredMs !== null && y.deliveredMs >= a.afterMs && y.deliveredMs <= a.byMs + POLL_MS);
          if (d !== undefined) decide(a, true, d.deliveredMs!, `${d.data.length} B arrived intact (${((d.deliveredMs! - d.startMs) / 1000).toFixed(1)} s after the send)`);
          break;
        }
        default:
          break;
      }
      if (!results.has(a) && t > a.byMs) {
        if (a.kind === "no_crash") decide(a, true, t, "no kosd exited by itself");
        else decide(a, false, t, missingDetail(a, probes, transfers));
      }
    }
  };

  let message: string | null = null;
  try {
    for (const name of nodes.keys()) await startNode(name);
    await waitRadiosUp([...nodes.values()].filter((k) => scenario.nodes.find((n) => n.name === k.name)!.lora), o.kosctl);
    t0 = performance.now();
    const pending: Promise<void>[] = [];
    for (const e of scenario.timeline) {
      timers.push(setTimeout(() => pending.push(apply(e).catch((err: Error) => void unsupported.push(`at ${e.atMs / 1000} s: ${e.do} failed: ${err.message}`))), e.atMs));
    }
    for (const n of scenario.nodes) {
      if (n.announceIntervalMs === null || !nodes.has(n.name)) continue;
      const every = n.announceIntervalMs;
      const again = (): void => {
        const k = nodes.get(n.name)!;
        if (k.running) void kosctl(o.kosctl, k, ["announce"], 10_000);
        timers.push(setTimeout(again, every));
      };
      timers.push(setTimeout(again, rng.bytes(2).reduce((x, b) => x * 256 + b, 0) / 65536 * every));
    }
    for (let i = 0; now() <= scenario.durationMs + POLL_MS && results.size < scenario.assertions.length && i < 1_000_000; i++) {
      await check();
      await sleep(POLL_MS);
    }
    await check();
    for (const t of timers) clearTimeout(t);
    await Promise.race([Promise.all(pending), sleep(5_000)]);
  } catch (e) {
    message = (e as Error).message;
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const l of listeners.values()) l.child.kill("SIGTERM");
    for (const k of nodes.values()) await k.stop("SIGTERM");
    await backend.close();
    if (ownDir) fs.rmSync(root, { recursive: true, force: true });
  }
  const assertions = scenario.assertions.map((a): AssertionResult => {
    if (a.kind.startsWith("quorum_")) return { name: a.name, passed: false, status: "unsupported", detail: `local quorum runs on the simulator only for now`, atS: null };
    const absent = "from" in a ? [a.from, a.to].filter((n) => !nodes.has(n)) : [];
    if (absent.length > 0) return { name: a.name, passed: false, status: "unsupported", detail: `unsupported in ${backend.mode} mode: ${absent.join(" and ")} run${absent.length === 1 ? "s" : ""} no kosd here (wired-only)`, atS: null };
    return results.get(a) ?? { name: a.name, passed: false, status: "failed", detail: message ?? "undecided when the run ended", atS: null };
  });
  const status = overallStatus(assertions);
  return {
    scenario: scenario.name,
    file: scenario.file,
    seed: o.seed,
    mode: backend.mode,
    passed: status === "passed",
    status,
    assertions,
    unsupported,
    message,
    stats: { nodes: nodes.size, elapsedS: Math.round(now()) / 1000, probes: probes.length, transfers: transfers.length, crashes: [...nodes.values()].reduce((s, k) => s + k.unexpectedExits.length, 0) },
  };
}

/** Waits until every node's RNodeInterface reports "up" (kosctl status --json). */
async function waitRadiosUp(nodes: KosdProcess[], kosctlPath: string): Promise<void> {
  const deadline = performance.now() + 60_000;
  for (const k of nodes) {
    for (;;) {
      const r = await kosctl(kosctlPath, k, ["status", "--json"], 10_000);
      if (r.code === 0) {
        const s = JSON.parse(r.stdout) as { interfaces: { type: string; state: string }[] };
        if (s.interfaces.some((i) => i.type === "RNodeInterface" && i.state === "up")) break;
      }
      if (performance.now() > deadline) throw new Error(`the radio of ${k.name} did not come up within 60 s:\n${k.tail()}`);
      await sleep(250);
    }
  }
}

function missingDetail(a: Assertion, probes: readonly Probe[], transfers: readonly Transfer[]): string {
  switch (a.kind) {
    case "probe_ok":
    case "probe_failed": {
      const ps = probes.filter((p) => p.from === a.from && p.to === a.to);
      return ps.length === 0 ? `no probe was sent from ${a.from} to ${a.to}` : ps.map((p) => `probe at ${(p.startMs / 1000).toFixed(1)} s: ${p.status}${p.reason ? ` (${p.reason})` : ""}`).join("; ");
    }
    case "file_delivered": {
      const ts = transfers.filter((t) => t.from === a.from && t.to === a.to);
      return ts.length === 0 ? `no file was sent from ${a.from} to ${a.to}` : ts.map((t) => `cp at ${(t.startMs / 1000).toFixed(1)} s: ${t.status}${t.reason ? ` (${t.reason})` : ""}`).join("; ");
    }
    case "path_known":
      return `${a.from} had no path to ${a.to} by ${a.byMs / 1000} s`;
    case "all_nodes_know_paths":
      return `not every running kosd knew a path to every other by ${a.byMs / 1000} s`;
    case "no_crash":
      return "";
    default:
      return "local quorum runs on the simulator only for now";
  }
}
