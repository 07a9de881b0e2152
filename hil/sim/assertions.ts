// A scenario's assertions judged on a running simulation. Each has a window [after, by] of virtual time: it
// passes as soon as its condition is seen inside the window and fails when `by` passes without it (no_crash:
// fails at the first engine bug, passes at `by`). Conditions on state (a path known) are looked at when the
// node reports a path and at every check interval; conditions on results (a probe answered, a file
// delivered) are judged by the time recorded in the result.
import type { Assertion, AssertionResult } from "../scenarios/types.js";
import type { Apps } from "./apps.js";
import type { SimNode } from "./node.js";
import type { QuorumSim } from "./quorum.js";
import type { Simulator } from "./sim.js";

interface Judged {
  a: Assertion;
  status: "open" | "passed" | "failed";
  atMs: number | null;
  detail: string;
}

export class AssertionJudge {
  readonly #judged: Judged[];
  #open: number;

  constructor(
    private readonly sim: Simulator,
    private readonly apps: Apps,
    assertions: readonly Assertion[],
    private readonly quorum: QuorumSim | null = null,
  ) {
    this.#judged = assertions.map((a) => ({ a, status: "open", atMs: null, detail: "" }));
    this.#open = this.#judged.length;
  }

  get allDecided(): boolean {
    return this.#open === 0;
  }

  /** Schedules the deadlines and the periodic checks, and listens for path events. */
  install(checkEveryMs: number): void {
    for (const j of this.#judged) {
      this.sim.after(j.a.byMs, () => {
        this.#check(j);
        if (j.status !== "open") return;
        if (j.a.kind === "no_crash") this.#decide(j, "passed", this.sim.nowMs, "no engine threw");
        else if (j.a.kind === "quorum_safe") this.#decide(j, "passed", this.sim.nowMs, `${this.quorum?.certificates.length ?? 0} certificates, all verified offline, none conflicting`);
        else if (j.a.kind === "quorum_no_certificate") this.#decide(j, "passed", this.sim.nowMs, `no node holds a certificate for ${j.a.proposal}`);
        else this.#decide(j, "failed", this.sim.nowMs, this.#missing(j.a));
      });
      if (j.a.kind === "path_known") {
        const from = this.sim.node(j.a.from);
        const to = this.sim.node(j.a.to);
        from.listeners.add((ev) => {
          if (ev.kind === "path" && j.status === "open" && ev.destinationHash.every((b, i) => b === to.probeDestination[i])) this.#check(j);
        });
      }
    }
    const tick = (): void => {
      this.checkAll();
      if (!this.allDecided) this.sim.after(checkEveryMs, tick);
    };
    this.sim.after(0, tick);
  }

  checkAll(): void {
    for (const j of this.#judged) if (j.status === "open") this.#check(j);
  }

  /** The results; anything still open (the run stopped early) fails with what was missing. */
  results(): AssertionResult[] {
    return this.#judged.map((j) => {
      const status = j.status === "open" ? "failed" : j.status;
      const detail = j.status === "open" ? `undecided when the run ended at ${(this.sim.nowMs / 1000).toFixed(1)} s: ${this.#missing(j.a)}` : j.detail;
      return { name: j.a.name, passed: status === "passed", status, detail, atS: j.atMs === null ? null : round3(j.atMs / 1000) };
    });
  }

  #check(j: Judged): void {
    const a = j.a;
    const now = this.sim.nowMs;
    if (a.kind.startsWith("quorum_")) return this.#checkQuorum(j);
    switch (a.kind) {
      case "no_crash": {
        const bug = this.sim.bugs.find((b) => b.atMs <= a.byMs);
        if (bug !== undefined) this.#decide(j, "failed", bug.atMs, `${bug.node} threw at ${(bug.atMs / 1000).toFixed(3)} s: ${bug.message}\n${bug.stack}`);
        return;
      }
      case "path_known":
        if (now >= a.afterMs && now <= a.byMs && this.sim.hasPath(this.sim.node(a.from), this.sim.node(a.to))) {
          const hops = this.sim.node(a.from).engine!.transport.hopsTo(this.sim.node(a.to).probeDestination);
          this.#decide(j, "passed", now, `${a.from} knows a path to ${a.to} (${hops} hop${hops === 1 ? "" : "s"}) at ${(now / 1000).toFixed(3)} s`);
        }
        return;
      case "all_nodes_know_paths": {
        if (now < a.afterMs || now > a.byMs) return;
        const gap = this.#firstMissingPath();
        if (gap === null) this.#decide(j, "passed", now, `every live node knows a path to every other at ${(now / 1000).toFixed(3)} s`);
        return;
      }
      case "file_delivered": {
        const t = this.apps.transfers.find((x) => x.from === a.from && x.to === a.to && x.deliveredMs !== null && x.deliveredMs >= a.afterMs && x.deliveredMs <= a.byMs);
        if (t !== undefined) this.#decide(j, "passed", t.deliveredMs!, `${t.sizeBytes} B arrived intact at ${(t.deliveredMs! / 1000).toFixed(3)} s (${((t.deliveredMs! - t.startMs) / 1000).toFixed(1)} s after the send, ${t.attempts} attempt${t.attempts === 1 ? "" : "s"})`);
        return;
      }
      case "probe_ok":
      case "probe_failed": {
        const want = a.kind === "probe_ok" ? "ok" : "failed";
        const p = this.apps.probes.find((x) => x.from === a.from && x.to === a.to && x.status === want && x.endMs! >= a.afterMs && x.endMs! <= a.byMs);
        if (p === undefined) return;
        const detail = want === "ok" ? `proof after ${p.rttMs!.toFixed(0)} ms over ${p.hops} hop${p.hops === 1 ? "" : "s"}` : `probe failed: ${p.reason}`;
        this.#decide(j, "passed", p.endMs!, `${detail} (probe sent at ${(p.startMs / 1000).toFixed(1)} s)`);
        return;
      }
    }
  }

  #checkQuorum(j: Judged): void {
    const a = j.a;
    const q = this.quorum;
    const now = this.sim.nowMs;
    if (q === null) return this.#decide(j, "failed", now, "the scenario runs no quorum");
    switch (a.kind) {
      case "quorum_safe": {
        const v = q.safetyViolation();
        if (v !== null) this.#decide(j, "failed", now, v);
        return;
      }
      case "quorum_no_certificate": {
        const p = q.proposal(a.proposal)?.proposal;
        if (p == null) return;
        const c = [...q.firstCertificates(p.id).values()].find((x) => x.atMs <= a.byMs);
        if (c !== undefined) this.#decide(j, "failed", c.atMs, `${c.node} got an ${c.certificate.outcome} certificate at ${(c.atMs / 1000).toFixed(3)} s`);
        return;
      }
      case "quorum_dropped": {
        if (now < a.afterMs || now > a.byMs) return;
        const n = q.totals().dropped[a.reason] ?? 0;
        if (n >= a.min) this.#decide(j, "passed", now, `honest nodes dropped ${n} inputs as ${a.reason} by ${(now / 1000).toFixed(1)} s`);
        return;
      }
      case "quorum_certificate": {
        const rec = q.proposal(a.proposal);
        if (rec?.proposal == null) return;
        const first = q.firstCertificates(rec.proposal.id);
        let last = 0;
        for (const name of this.#quorumTargets(a.nodes)) {
          const c = first.get(name);
          if (c === undefined || c.atMs > a.byMs) return;
          if (c.certificate.outcome !== a.outcome) return this.#decide(j, "failed", c.atMs, `${name} got an ${c.certificate.outcome} certificate`);
          last = Math.max(last, c.atMs);
        }
        if (now >= a.afterMs) this.#decide(j, "passed", last, `every one of ${this.#quorumTargets(a.nodes).length} nodes holds an ${a.outcome} certificate, the last at ${(last / 1000).toFixed(3)} s (${((last - rec.atMs) / 1000).toFixed(3)} s after proposing; deadline ${(rec.deadlineMs / 1000).toFixed(1)} s)`);
        return;
      }
      default:
        return;
    }
  }

  #quorumTargets(nodes: string[] | "members" | "all"): string[] {
    const q = this.quorum!;
    if (Array.isArray(nodes)) return nodes;
    return (nodes === "members" ? q.honestMembers() : [...q.nodes.values()]).map((x) => x.node.spec.name);
  }

  #decide(j: Judged, status: "passed" | "failed", atMs: number, detail: string): void {
    if (j.status !== "open") return;
    j.status = status;
    j.atMs = atMs;
    j.detail = detail;
    this.#open--;
    if (this.sim.trace.on) this.sim.trace.add(this.sim.nowMs, `assert ${j.a.name}: ${status}`);
  }

  /** Why an assertion is not (yet) met, for the failure message. */
  #missing(a: Assertion): string {
    const q = this.quorum;
    switch (a.kind) {
      case "quorum_safe":
      case "quorum_no_certificate":
        return "";
      case "quorum_dropped":
        return `honest nodes dropped ${q?.totals().dropped[a.reason] ?? 0} inputs as ${a.reason} (wanted ${a.min}); drops: ${JSON.stringify(q?.totals().dropped ?? {})}`;
      case "quorum_certificate": {
        const rec = q?.proposal(a.proposal);
        if (q === null || rec === undefined) return `no proposal ${a.proposal}`;
        if (rec.proposal === null) return `${a.proposal} was not proposed: ${rec.error ?? "not yet"}`;
        const first = q.firstCertificates(rec.proposal.id);
        const lacking = this.#quorumTargets(a.nodes).filter((n) => first.get(n) === undefined || first.get(n)!.atMs > a.byMs);
        return `${lacking.length} of ${this.#quorumTargets(a.nodes).length} nodes had no certificate by ${(a.byMs / 1000).toFixed(1)} s (${lacking.slice(0, 6).join(", ")}${lacking.length > 6 ? ", ..." : ""})`;
      }
      case "no_crash":
        return "";
      case "path_known": {
        const from = this.sim.node(a.from);
        return `${a.from} (${from.state}) has no path to ${a.to} (${this.sim.node(a.to).state}); ${from.engine?.transport.paths().length ?? 0} paths known`;
      }
      case "all_nodes_know_paths": {
        const gap = this.#firstMissingPath();
        const live = this.sim.nodes.filter((n) => n.up).length;
        return gap === null ? "met only outside the window" : `${gap[0]} has no path to ${gap[1]} (${this.#missingPairs()} of ${live * (live - 1)} pairs missing)`;
      }
      case "file_delivered": {
        const ts = this.apps.transfers.filter((x) => x.from === a.from && x.to === a.to);
        if (ts.length === 0) return `no file was sent from ${a.from} to ${a.to}`;
        return ts.map((t) => `transfer at ${(t.startMs / 1000).toFixed(1)} s: ${t.deliveredMs !== null ? `delivered at ${(t.deliveredMs / 1000).toFixed(1)} s (outside the window)` : `${t.status}${t.reason ? ` (${t.reason})` : ""}`}`).join("; ");
      }
      case "probe_ok":
      case "probe_failed": {
        const ps = this.apps.probes.filter((x) => x.from === a.from && x.to === a.to);
        if (ps.length === 0) return `no probe was sent from ${a.from} to ${a.to}`;
        return ps.map((p) => `probe at ${(p.startMs / 1000).toFixed(1)} s: ${p.status}${p.reason ? ` (${p.reason})` : ""}${p.endMs !== null ? ` at ${(p.endMs / 1000).toFixed(1)} s` : ""}`).join("; ");
      }
    }
  }

  #liveTargets(): SimNode[] {
    return this.sim.nodes.filter((n) => n.up && n.spec.respondToProbes);
  }

  /** A pair of live nodes where the first has no path to the second; a node yet to boot counts as missing. */
  #firstMissingPath(): [string, string] | null {
    const waiting = this.sim.nodes.find((n) => n.stats.boots === 0);
    if (waiting !== undefined) return [waiting.spec.name, "anyone (it has not started yet)"];
    const targets = this.#liveTargets();
    for (const a of this.sim.nodes) {
      if (!a.up) continue;
      for (const b of targets) if (a !== b && !this.sim.hasPath(a, b)) return [a.spec.name, b.spec.name];
    }
    return null;
  }

  #missingPairs(): number {
    const targets = this.#liveTargets();
    let n = 0;
    for (const a of this.sim.nodes) if (a.up) for (const b of targets) if (a !== b && !this.sim.hasPath(a, b)) n++;
    return n;
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
