// Scenario files and `kosctl hil run`: the schema names every problem with its line, column and field; every
// shipped scenario passes on the simulator; the bundled kosctl runs a scenario, exits non-zero with the seed
// when an assertion fails, reports a rig without radios as pending; and one scenario runs on three kosd
// processes with emulated radios (needs socat).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseScenario, formatIssues } from "../../hil/scenarios/schema.js";
import { runScenarioSim } from "../../hil/sim/run-scenario.js";
import { parseRig } from "../../hil/rig/rig-file.js";
import { runRig } from "../../hil/rig/run-rig.js";
import { socatAvailable } from "../../hil/rig/run-emulated.js";
import type { RunSummary } from "../../hil/scenarios/types.js";
import { REPO_ROOT } from "../helpers.js";

const KOSCTL = path.join(REPO_ROOT, "dist", "kosctl.cjs");
const SCENARIOS = path.join(REPO_ROOT, "hil", "scenarios");

function problems(text: string): string[] {
  const r = parseScenario(text, "s.json");
  assert.equal(r.ok, false, "the scenario should be refused");
  return r.ok ? [] : formatIssues(r.issues).split("\n");
}

function hil(args: string[], timeoutMs = 120_000): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [KOSCTL, "hil", "run", ...args], { cwd: REPO_ROOT, encoding: "utf8", timeout: timeoutMs });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kos-hil-test-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const MINIMAL = `{
  "name": "minimal",
  "duration_s": 60,
  "nodes": { "count": 2 },
  "assertions": [ { "path_known": { "from": "n0", "to": "n1" } } ]
}`;

test("a minimal scenario parses with every default filled in", () => {
  const r = parseScenario(MINIMAL, "m.json");
  assert.ok(r.ok, r.ok ? "" : formatIssues(r.issues));
  const s = r.scenario;
  assert.deepEqual([s.seed, s.durationMs, s.radio.spreadingFactor, s.radio.bandwidthHz, s.radio.codingRate, s.radio.frequencyHz, s.radio.txPowerDbm], [1, 60_000, 7, 125_000, 5, 869_525_000, 14]);
  assert.deepEqual(s.nodes.map((n) => [n.name, n.lora, n.transport, n.respondToProbes]), [["n0", true, true, true], ["n1", true, true, true]]);
  assert.deepEqual(s.placement, { kind: "line", spacingM: 1000 });
  assert.equal(s.assertions[0]!.name, "path_known n0->n1 by 60 s");
  assert.equal(s.assertions[0]!.byMs, 60_000);
});

test("a modem preset sets the modulation; explicit fields override it", () => {
  const r = parseScenario(MINIMAL.replace(`"nodes"`, `"radio": { "preset": "LONG_FAST", "coding_rate": 8 }, "nodes"`));
  assert.ok(r.ok);
  assert.deepEqual([r.scenario.radio.preset, r.scenario.radio.spreadingFactor, r.scenario.radio.bandwidthHz, r.scenario.radio.codingRate], ["long-fast", 11, 250_000, 8]);
});

test("problems are reported with file, line, column and field, with the nearest known name", () => {
  const p = problems(`{
  "name": "bad",
  "duration_s": 100,
  "radio": { "preset": "long-fsat" },
  "nodes": { "count": 2, "placment": { "kind": "line", "spacing_m": 500 } },
  "assertions": [ { "no_crash": {} } ]
}`);
  assert.deepEqual(p, [
    's.json:4:14: radio.preset: unknown modem preset "long-fsat"; did you mean "long-fast"? (boards/modem/)',
    's.json:5:26: nodes.placment: unknown field; did you mean "placement"?',
  ]);
});

test("every problem of the timeline and the assertions is reported at once", () => {
  const p = problems(`{
  "name": "bad",
  "duration_s": 100,
  "nodes": { "count": 3 },
  "timeline": [
    { "at": 10, "do": "probe", "from": "n0", "to": "n7" },
    { "at": 200, "do": "announce", "node": "all" },
    { "at": 20, "do": "explode" },
    { "at": 30, "do": "partition", "groups": [["n0", "n1"], ["n1", "n2"]] },
    { "at": 40, "do": "send_file", "from": "n0", "to": "n0", "size": 0 }
  ],
  "assertions": [
    { "path_known": { "from": "n0", "to": "n1", "by": 500 } },
    { "path_knwon": {} },
    { "probe_ok": { "from": "n0", "to": "n1", "after": 50, "by": 40 } },
    { "no_crash": {}, "path_known": {} }
  ]
}`);
  assert.deepEqual(p, [
    's.json:6:46: timeline[0].to: unknown node "n7" (nodes: n0, n1, n2)',
    "s.json:7:7: timeline[1].at: 200 s is after the end of the scenario (duration_s 100)",
    's.json:8:17: timeline[2].do: unknown event "explode"; (announce, unplug, replug, reset, crash, restart, stop, power_cycle, partition, heal, loss, send_file, probe, propose)',
    's.json:9:62: timeline[3].groups[1][0]: node "n1" is in two groups',
    "s.json:10:62: timeline[4].size: must be a whole number from 1 to 1048576, got 0",
    "s.json:10:50: timeline[4].to: a node does not send a file to itself",
    "s.json:13:49: assertions[0].path_known.by: 500 s is after the end of the scenario (duration_s 100)",
    's.json:14:7: assertions[1].path_knwon: unknown assertion "path_knwon"; did you mean "path_known"? (path_known, file_delivered, probe_ok, probe_failed, all_nodes_know_paths, no_crash, quorum_certificate, quorum_no_certificate, quorum_safe, quorum_dropped)',
    "s.json:15:47: assertions[2].probe_ok.after: after (50 s) is later than by (40 s)",
    "s.json:16:5: assertions[3]: must be an object with one key naming the assertion (path_known, file_delivered, probe_ok, probe_failed, all_nodes_know_paths, no_crash, quorum_certificate, quorum_no_certificate, quorum_safe, quorum_dropped)",
  ]);
});

test("broken JSON, missing fields, wired interfaces and radio-less nodes are named precisely", () => {
  assert.deepEqual(problems(`{\n  "name": "x",\n  "duration_s": 10,,\n}`), ['s.json:3:20: expected "\\"", found ","']);
  assert.deepEqual(problems(`{ "name": "x", "nodes": { "count": 1 }, "assertions": [] }`), [
    's.json:1:1: missing field "duration_s"',
  ]);
  const p = problems(`{
  "name": "x", "duration_s": 10,
  "wired": [ { "name": "lan" } ],
  "nodes": [
    { "name": "a", "interfaces": ["wired:lan", "wired:wan"] },
    { "name": "b" }
  ],
  "assertions": [ { "probe_ok": { "from": "a", "to": "b" } } ]
}`);
  assert.deepEqual(p, [
    's.json:5:48: nodes[0].interfaces[1]: no wired segment "wan" (declare it under "wired")',
    's.json:6:5: nodes[1]: node "b" has a LoRa radio: give its "position" [x, y] in metres',
  ]);
});

test("every shipped scenario is valid and passes on the simulator", () => {
  const files = fs.readdirSync(SCENARIOS).filter((f) => f.endsWith(".json")).sort();
  for (const required of ["two-nodes-announce.json", "line-of-5-transport.json", "partition-heal.json", "unplug-mid-transfer.json", "grid-100.json"]) assert.ok(files.includes(required), required);
  for (const f of files) {
    const file = path.join("hil", "scenarios", f);
    const r = parseScenario(fs.readFileSync(path.join(REPO_ROOT, file), "utf8"), file);
    assert.ok(r.ok, r.ok ? "" : formatIssues(r.issues));
    assert.equal(`${r.scenario.name}.json`, f, "a scenario is named after its file");
    const s = runScenarioSim(r.scenario).summary;
    const failed = s.assertions.filter((a) => !a.passed).map((a) => `  ${a.name}: ${a.detail}`);
    assert.equal(s.passed, true, `${f} failed with seed ${s.seed}:\n${failed.join("\n")}`);
  }
});

test("kosctl hil run --sim --json (the bundle) runs a scenario, prints the summary and exits 0", () => {
  const r = hil(["hil/scenarios/two-nodes-announce.json", "--sim", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as RunSummary;
  assert.deepEqual([s.scenario, s.seed, s.mode, s.passed, s.status], ["two-nodes-announce", 1, "sim", true, "passed"]);
  assert.ok(s.assertions.length === 4 && s.assertions.every((a) => a.passed && typeof a.detail === "string"));
  assert.equal(typeof s.stats["traceSha256"], "string");
  const text = hil(["hil/scenarios/two-nodes-announce.json"]);
  assert.equal(text.code, 0);
  assert.match(text.stdout, /^scenario two-nodes-announce .*mode sim, seed 1\n {2}PASS {8}path_known n0->n1 by 20 s/);
  assert.match(text.stdout, /result: passed \(4 of 4 assertions passed\)\n$/);
});

test("a failing scenario exits 1 and prints its seed; --seed replays the very same run", (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, "fails.json");
  fs.writeFileSync(file, `{
  "name": "fails", "duration_s": 120, "seed": 42,
  "nodes": { "count": 3, "placement": { "kind": "line", "spacing_m": 1200 }, "transport": false },
  "assertions": [ { "path_known": { "from": "n0", "to": "n2", "by": 100 } } ]
}`);
  const r = hil([file, "--json"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /fails failed with seed 42; replay: kosctl hil run .*fails\.json --sim --seed 42/);
  const first = JSON.parse(r.stdout) as RunSummary;
  assert.equal(first.passed, false);
  assert.match(first.assertions[0]!.detail, /n0 \(up\) has no path to n2/);
  const again = hil([file, "--json", "--seed", "42"]);
  assert.equal(again.code, 1);
  assert.deepEqual(JSON.parse(again.stdout).stats.traceSha256, first.stats["traceSha256"]);
  const other = hil([file, "--json", "--seed", "43"]);
  assert.match(other.stderr, /with seed 43/);
});

test("kosctl hil run refuses a bad scenario with every problem and exit status 2", (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, "bad.json");
  fs.writeFileSync(file, MINIMAL.replace(`"count": 2`, `"count": 2, "transprt": true`));
  const r = hil([file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /bad\.json:4:26: nodes\.transprt: unknown field; did you mean "transport"\?\nkosctl: scenario .* is not valid \(1 problem above\)/);
  assert.equal(hil([file, "--sim", "--emulated"]).code, 2);
  assert.equal(hil(["/nonexistent/x.json"]).code, 2);
});

test("a rig whose radios are not attached reports every assertion pending and exits 0", async () => {
  const rigFile = path.join(REPO_ROOT, "hil", "rig", "example-rig.json");
  const rig = parseRig(fs.readFileSync(rigFile, "utf8"), rigFile);
  assert.ok(rig.ok, rig.ok ? "" : formatIssues(rig.issues));
  const r = hil(["hil/scenarios/line-of-3.json", "--rig", "hil/rig/example-rig.json", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as RunSummary;
  assert.deepEqual([s.mode, s.status, s.passed], ["rig", "pending", false]);
  assert.ok(s.assertions.every((a) => a.status === "pending" && !a.passed));
  assert.match(s.message!, /none of the radios of rig "example-three-radios" is attached \(looked for n0: \/dev\/serial\/by-id\/.*; nothing was run/);
  assert.match(r.stderr, /kosctl hil: none of the radios/);
  // Some but not all attached: still nothing runs.
  const line3 = parseScenario(fs.readFileSync(path.join(SCENARIOS, "line-of-3.json"), "utf8"));
  assert.ok(line3.ok && rig.ok);
  const partial = await runRig(line3.scenario, rig.rig, { attached: (x) => x.node === "n0" });
  assert.equal(partial.status, "pending");
  assert.match(partial.message!, /1 of 3 radios .* missing n1: .*, n2: ble:\/\/AA:BB:CC:DD:EE:02/);
});

test("rig files are checked like scenarios, and must name a radio for every LoRa node", (t) => {
  const bad = parseRig(`{\n  "name": "r",\n  "radios": {\n    "n0": { "port": "ttyUSB0", "board": "tbeam" },\n    "n1": { "port": "/dev/ttyUSB1", "ble": "AA:BB:CC:DD:EE:FF" }\n  }\n}`, "r.json");
  assert.equal(bad.ok, false);
  assert.deepEqual(formatIssues(bad.ok ? [] : bad.issues).split("\n"), [
    'r.json:4:13: radios.n0.port: must be a serial device path such as /dev/serial/by-id/..., got "ttyUSB0"',
    'r.json:4:32: radios.n0.board: unknown RNode board "tbeam"',
    'r.json:5:5: radios.n1: give exactly one of "port" (serial) or "ble" (address)',
  ]);
  const dir = tempDir(t);
  const rigFile = path.join(dir, "two.json");
  fs.writeFileSync(rigFile, `{ "name": "two", "radios": { "n0": { "port": "/dev/nonexistent0" }, "n1": { "port": "/dev/nonexistent1" } } }`);
  const r = hil(["hil/scenarios/line-of-3.json", "--rig", rigFile]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /names no radio for node n2 of hil\/scenarios\/line-of-3\.json/);
});

test("three kosd on emulated radios run line-of-3: paths over a transport node and a probe answered", { skip: socatAvailable() ? false : "socat is not installed (apt-get install socat)", timeout: 240_000 }, () => {
  const r = hil(["hil/scenarios/line-of-3.json", "--emulated", "--json"], 200_000);
  const s = JSON.parse(r.stdout || "{}") as RunSummary;
  assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  assert.deepEqual([s.mode, s.status], ["emulated", "passed"]);
  assert.deepEqual(s.unsupported, []);
  assert.ok(s.assertions.every((a) => a.passed));
  assert.equal(s.stats["crashes"], 0);
});
