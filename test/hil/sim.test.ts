// The simulator (hil/sim): many engines on a virtual clock over the modelled LoRa medium. Runs repeat from a
// seed byte for byte; scenarios of two nodes, a line of five transport nodes, a partition, a crash and restart
// behave as the protocol should; a run that cannot succeed ends at its deadline; the sparse medium decides
// exactly as hil/medium's Medium does.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { seededRandom } from "../../runtime/core/ports.js";
import { Medium, type Outcome, type RadioSettings } from "../../hil/medium/medium.js";
import { SimAir, type AirOutcome, type AirTransmission } from "../../hil/sim/air.js";
import { runScenarioSim, buildSimulator } from "../../hil/sim/run-scenario.js";
import { Apps } from "../../hil/sim/apps.js";
import { Simulator } from "../../hil/sim/sim.js";
import type { NodeSpec } from "../../hil/sim/node.js";
import { parseScenario, formatIssues, type Scenario } from "../../hil/scenarios/schema.js";
import { REPO_ROOT } from "../helpers.js";

function shipped(name: string): Scenario {
  const file = path.join("hil", "scenarios", `${name}.json`);
  return scenario(fs.readFileSync(path.join(REPO_ROOT, file), "utf8"), file);
}

function scenario(text: string, file = "inline.json"): Scenario {
  const r = parseScenario(text, file);
  assert.ok(r.ok, r.ok ? "" : formatIssues(r.issues));
  return r.scenario;
}

/** Runs a scenario and fails with the seed and every assertion's detail when it did not pass. */
function expectPass(s: Scenario, seed?: number): ReturnType<typeof runScenarioSim> {
  const run = runScenarioSim(s, seed !== undefined ? { seed } : {});
  const bad = run.summary.assertions.filter((a) => !a.passed).map((a) => `${a.name}: ${a.detail}`);
  assert.equal(run.summary.passed, true, `${s.name} failed with seed ${run.summary.seed}:\n${bad.join("\n")}`);
  return run;
}

const SF7: RadioSettings = { frequencyHz: 869_525_000, bandwidthHz: 125_000, spreadingFactor: 7, codingRate: 5, txPowerDbm: 14 };

test("the same seed gives a byte-identical trace; the seed is what changes it", () => {
  const s = shipped("unplug-mid-transfer");
  const a = runScenarioSim(s, { trace: "full" });
  const b = runScenarioSim(s, { trace: "full" });
  assert.ok(a.sim.trace.count > 200, `a trace of ${a.sim.trace.count} lines`);
  assert.equal(a.sim.trace.text(), b.sim.trace.text());
  assert.equal(a.summary.stats["traceSha256"], b.summary.stats["traceSha256"]);
  assert.deepEqual(a.summary.assertions, b.summary.assertions);
  const c = runScenarioSim(s, { trace: "full", seed: s.seed + 1 });
  assert.notEqual(c.summary.stats["traceSha256"], a.summary.stats["traceSha256"]);
  assert.notEqual(c.sim.trace.text(), a.sim.trace.text());
});

test("two nodes in range learn paths to each other from their announces and answer a probe", () => {
  const run = expectPass(shipped("two-nodes-announce"));
  assert.equal(run.summary.mode, "sim");
  assert.equal(run.summary.seed, 1);
  assert.equal(run.apps.probes[0]!.hops, 1);
});

test("a line of five nodes carries paths, a probe and a file over four LoRa hops through transport nodes", () => {
  const run = expectPass(shipped("line-of-5-transport"));
  const n0 = run.sim.node("n0");
  assert.equal(n0.engine!.transport.hopsTo(run.sim.node("n4").probeDestination), 4);
  const t = run.apps.transfers[0]!;
  assert.ok(t.deliveredMs !== null && t.sizeBytes === 2000);
  // Nobody two hops away heard anybody: the line really is a line.
  assert.equal(run.sim.air.linkBetween(0, 2) !== null, true, "two hops away is an interferer, not nothing");
  const n2 = run.sim.node("n2");
  assert.equal(n2.engine!.transport.hopsTo(n0.probeDestination), 2);
});

test("a partition blocks probes across it and healing it lets them through again", () => {
  const run = expectPass(shipped("partition-heal"));
  const probes = run.apps.probes.filter((p) => p.from === "n0" && p.to === "n3");
  assert.equal(probes[0]!.status, "failed", "during the partition");
  assert.equal(probes[1]!.status, "ok", "after healing");
  assert.ok((run.summary.stats["lost"] as Record<string, number>)["partitioned"]! > 0);
});

test("a node that crashes comes back with the paths it saved; without a save it comes back empty", () => {
  const check = (persistS: number): boolean => {
    const s = shipped("crash-restart");
    const sim = buildSimulator({ ...s, nodes: s.nodes.map((n) => (n.name === "n1" ? { ...n, persistIntervalMs: persistS * 1000 } : n)) }, s.seed, "off");
    sim.run(150_000);
    const n1 = sim.node("n1");
    assert.ok(sim.hasPath(n1, sim.node("n2")), "n1 knew a path to n2 before the crash");
    sim.crash(n1);
    assert.equal(n1.engine, null);
    assert.equal(sim.hasPath(n1, sim.node("n2")), false);
    sim.run(160_000);
    sim.restart(n1);
    return sim.hasPath(n1, sim.node("n2"));
  };
  assert.equal(check(30), true, "saved every 30 s: the path is back at once");
  assert.equal(check(3600), false, "never saved before the crash: no path until someone announces");
  expectPass(shipped("crash-restart"));
});

test("an unplugged radio leaves the engine with its paths; plugged back in, it rejoins and announces", () => {
  const s = shipped("unplug-mid-transfer");
  const sim = buildSimulator(s, s.seed, "full");
  sim.run(120_000);
  const n1 = sim.node("n1");
  assert.ok(sim.hasPath(n1, sim.node("n0")));
  sim.unplug(n1);
  assert.equal(n1.lora!.ifaceId, null);
  assert.equal(Object.keys(n1.engine!.transport.stats.interfaces).length, 0);
  assert.equal(sim.hasPath(n1, sim.node("n0")), false, "paths through the radio went with it");
  sim.run(125_000);
  sim.replug(n1);
  sim.run(127_000);
  assert.notEqual(n1.lora!.ifaceId, null);
  assert.match(sim.trace.text(), /radio-up n1\n[\s\S]*air n1 #\d+ 167B/, "it announced on the radio when it came up");
  expectPass(s);
});

test("wired segments carry frames between sites, with their delay and loss, and LoRa joins the sites", () => {
  const run = expectPass(shipped("two-sites-lan-lora"));
  assert.ok((run.summary.stats["wiredFrames"] as number) > 100);
  assert.equal(run.apps.probes.find((p) => p.status === "ok")!.hops, 3);
});

test("a scenario that can never pass ends at its deadline with passed=false, not a hang", () => {
  const s = scenario(`{
    "name": "too-far", "duration_s": 86400,
    "nodes": { "count": 2, "placement": { "kind": "line", "spacing_m": 50000 } },
    "timeline": [ { "at": 10, "do": "probe", "from": "n0", "to": "n1", "timeout_s": 15 } ],
    "assertions": [ { "path_known": { "from": "n0", "to": "n1", "by": 60 } }, { "probe_ok": { "from": "n0", "to": "n1", "by": 120 } } ]
  }`);
  const started = Date.now();
  const run = runScenarioSim(s);
  assert.equal(run.summary.passed, false);
  assert.equal(run.summary.status, "failed");
  assert.equal(run.summary.stats["virtualS"], 120, "stopped once both assertions were decided");
  assert.equal(run.summary.stats["radioLinks"], 0, "50 km apart: no link at all");
  assert.match(run.summary.assertions[0]!.detail, /has no path to n1/);
  assert.match(run.summary.assertions[1]!.detail, /path request .* timed out/);
  assert.ok(Date.now() - started < 10_000);
});

test("the event budget bounds a run: it stops with reason max-events and fails what was undecided", () => {
  const s = shipped("line-of-5-transport");
  const run = runScenarioSim(s, { maxEvents: 500 });
  assert.equal(run.summary.stats["end"], "max-events");
  assert.equal(run.summary.stats["events"], 500);
  assert.equal(run.summary.passed, false);
  assert.match(run.summary.message!, /event budget/);
  assert.ok(run.summary.assertions.some((a) => /undecided when the run ended/.test(a.detail)));
});

test("the sparse medium decides every packet exactly as hil/medium's Medium does", () => {
  for (const seed of [1, 2, 3]) {
    const rng = seededRandom(seed);
    const u = (): number => rng.next32() / 2 ** 32;
    const n = 8;
    const ids = Array.from({ length: n }, (_, i) => `r${i}`);
    const medium = new Medium({ seed: 77, lossProbability: 0.2, captureThresholdDb: 6 });
    const air = new SimAir({ seed: 77, lossProbability: 0.2, captureThresholdDb: 6 });
    for (const id of ids) {
      medium.addRadio(id, SF7, 0);
      air.addRadio(id, SF7, 0);
    }
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b < n; b++) {
        const loss = u() < 0.3 ? null : 100 + u() * 45;
        medium.setLink(ids[a]!, ids[b]!, loss === null ? null : { pathLossDb: loss });
        if (loss !== null) air.setLink(a, b, loss);
      }
    }
    // Each radio sends packets one after another, with random gaps: plenty of overlaps between radios.
    const sends: { radio: number; atMs: number; bytes: Uint8Array }[] = [];
    for (let r = 0; r < n; r++) {
      let t = u() * 1000;
      for (let k = 0; k < 20; k++) {
        const bytes = rng.bytes(20 + Math.floor(u() * 400));
        sends.push({ radio: r, atMs: t, bytes });
        t += 700 + u() * 3000;
      }
    }
    sends.sort((x, y) => x.atMs - y.atMs);
    const ended: { t: AirTransmission; mid: number }[] = [];
    const fromMedium: string[] = [];
    const fromAir: string[] = [];
    const settleUpTo = (nowMs: number): void => {
      ended.sort((x, y) => x.t.endMs - y.t.endMs);
      while (ended.length > 0 && ended[0]!.t.endMs <= nowMs) {
        const e = ended.shift()!;
        for (const s of medium.settle(e.t.endMs)) fromMedium.push(...s.outcomes.filter((o) => !(o.received === false && o.reason === "out-of-range")).map((o) => show(s.transmission.id, o)));
        fromAir.push(...air.settle(e.t, e.t.endMs).map((o) => show(e.mid, toOutcome(o, ids))));
      }
    };
    for (const s of sends) {
      settleUpTo(s.atMs);
      const mt = medium.transmit(ids[s.radio]!, s.bytes, s.atMs);
      const at = air.transmit(s.radio, s.bytes, s.atMs);
      assert.equal(at.endMs, mt.endMs, "same airtime");
      ended.push({ t: at, mid: mt.id });
    }
    settleUpTo(Infinity);
    assert.ok(fromAir.length > 300);
    assert.ok(fromAir.some((x) => x.includes("collision")) && fromAir.some((x) => x.includes("loss")) && fromAir.some((x) => x.includes("half-duplex")));
    assert.deepEqual(fromAir, fromMedium, `seed ${seed}`);
  }
});

function toOutcome(o: AirOutcome, ids: string[]): Outcome {
  return o.received ? { radioId: ids[o.radio]!, received: true, rssiDbm: o.rssiDbm, snrDb: o.snrDb } : { radioId: ids[o.radio]!, received: false, reason: o.reason, ...(o.rssiDbm !== undefined ? { rssiDbm: o.rssiDbm } : {}) };
}

function show(id: number, o: Outcome): string {
  return `#${id} ${o.radioId} ${o.received ? `ok ${o.rssiDbm.toFixed(3)}` : o.reason}`;
}

test("a thousand nodes on a sparse grid: links grow with the neighbourhoods, not with N²", () => {
  const grid = (count: number): NodeSpec[] =>
    Array.from({ length: count }, (_, i) => ({
      name: `n${i}`, transport: i % 4 === 0, respondToProbes: true, lora: SF7, wired: [], position: [(i % 32) * 700, Math.floor(i / 32) * 700] as const,
      startMs: (i * 37) % 20_000, announceOnStart: true, announceIntervalMs: null, persistIntervalMs: 600_000, fileReceiver: false,
    }));
  const quarter = new Simulator({ seed: 5, nodes: grid(256) });
  const started = Date.now();
  const sim = new Simulator({ seed: 5, nodes: grid(1024) });
  const perNode = (s: Simulator): number => s.stats.links / s.nodes.length;
  assert.ok(perNode(sim) < perNode(quarter) * 1.3, `${perNode(quarter).toFixed(1)} links per node at 256 nodes, ${perNode(sim).toFixed(1)} at 1024`);
  assert.ok(Math.max(...sim.nodes.map((n) => sim.air.neighbours(n.lora!.airIndex).length)) < 100);
  new Apps(sim).install();
  const end = sim.run(30_000);
  assert.ok(end === "until" || end === "idle", end);
  assert.ok(sim.stats.framesOnAir >= 1024, `${sim.stats.framesOnAir} frames on air`);
  assert.ok(sim.nodes.every((n) => n.up));
  assert.equal(sim.bugs.length, 0, JSON.stringify(sim.bugs[0]));
  assert.ok(Date.now() - started < 120_000);
});

test("closing a link while a resource is still being sent does not crash the engine", () => {
  const s = scenario(`{
    "name": "cp-timeout", "duration_s": 400, "seed": 7, "start_jitter_s": 20,
    "nodes": { "count": 5, "placement": { "kind": "line", "spacing_m": 1200 }, "announce_interval_s": 120 },
    "timeline": [ { "at": 200, "do": "send_file", "from": "n0", "to": "n4", "size": 20000, "timeout_s": 20 } ],
    "assertions": [ { "no_crash": {} } ]
  }`);
  expectPass(s);
});
