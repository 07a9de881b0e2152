// The esbuild bundle runs on its own: copied away from the repository, with only what `npm run build`
// put in dist/ (native addons beside the bundle), it starts and loads serialport's native binding and the
// node-ble and MQTT.js bundles kosd loads for Bluetooth radios and the [mqtt] bridge. And a feature's heavy
// dependency is neither in kosd.cjs nor loaded by a kosd that does not use the feature.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../helpers.js";
import { eventually, freePort, kosctl, makeNode, startNode, stopNode, tempRoot, type NodeHandle } from "./mesh-harness.js";

test("dist/ copied elsewhere runs kosctl and kosd and loads the serialport binding from beside the bundle", (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kos-bundle-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.cpSync(path.join(REPO_ROOT, "dist"), dir, { recursive: true });
  const run = (file: string, args: string[]) =>
    spawnSync(process.execPath, [path.join(dir, file), ...args], { cwd: dir, encoding: "utf8", timeout: 20_000, env: { ...process.env, NODE_PATH: "" } });
  assert.match(run("kosctl.cjs", ["--version"]).stdout, /^kosctl \d/);
  assert.match(run("kosd.cjs", ["--version"]).stdout, /^kosd \d/);
  const ports = run("kosctl.cjs", ["ports", "--json"]);
  assert.equal(ports.status, 0, ports.stderr);
  assert.ok(Array.isArray(JSON.parse(ports.stdout)));
  // Only Linux prebuilds travel with the bundle.
  const prebuilds = fs.readdirSync(path.join(dir, "node_modules", "@serialport", "bindings-cpp", "prebuilds")).sort();
  assert.deepEqual(prebuilds, ["linux-arm", "linux-arm64", "linux-x64"]);
  // No TypeScript sources or the whole dependency tree: the bundle is self-contained.
  assert.ok(!fs.existsSync(path.join(dir, "node_modules", "serialport")));
  assert.ok(!fs.existsSync(path.join(dir, "node_modules", "node-gyp")));
  // node-ble (BLE radios), loaded only when kosd starts one, is one file beside the bundle with its D-Bus client.
  const ble = spawnSync(process.execPath, ["-e", "const b = require('node-ble'); process.stdout.write(typeof b.createBluetooth)"], { cwd: dir, encoding: "utf8", timeout: 20_000, env: { ...process.env, NODE_PATH: "" } });
  assert.equal(ble.stdout, "function", ble.stderr);
  assert.deepEqual(fs.readdirSync(path.join(dir, "node_modules", "node-ble")).sort(), ["index.js", "package.json"]);
  assert.ok(!fs.existsSync(path.join(dir, "node_modules", "dbus-next")));
  // MQTT.js's client (the [mqtt] bridge) likewise, found by the subpath kosd imports.
  const mqtt = spawnSync(process.execPath, ["-e", "const m = require('mqtt/lib/client'); process.stdout.write(typeof (m.default ?? m))"], { cwd: dir, encoding: "utf8", timeout: 20_000, env: { ...process.env, NODE_PATH: "" } });
  assert.equal(mqtt.stdout, "function", mqtt.stderr);
  assert.ok(!fs.existsSync(path.join(dir, "node_modules", "mqtt-packet")));
});

test("the bundles are single files that start with a node shebang", () => {
  for (const f of ["kosd.cjs", "kosctl.cjs"]) {
    const text = fs.readFileSync(path.join(REPO_ROOT, "dist", f), "utf8");
    assert.ok(text.startsWith("#!/usr/bin/env node\n"));
    assert.doesNotMatch(text, /require\(["']\.\.?\//, "no relative requires left");
    // Node keeps a script's source on the heap, at two bytes a character if any is not Latin-1.
    assert.doesNotMatch(text, /[^\x00-\x7f]/, "ASCII only");
  }
});

test("kosd.cjs holds no feature's heavy dependency: those load from beside it, on demand", () => {
  const text = fs.readFileSync(path.join(REPO_ROOT, "dist", "kosd.cjs"), "utf8");
  // esbuild heads each bundled module with a comment naming its file.
  assert.match(text, /^\/\/ .*node_modules\/msgpackr\//m, "the module comments this test reads are there");
  for (const pkg of ["mqtt", "mqtt-packet", "readable-stream", "node-ble", "dbus-next"]) {
    assert.doesNotMatch(text, new RegExp(`^// .*node_modules/${pkg}/`, "m"), `${pkg} is bundled into kosd.cjs`);
  }
});

async function statusOf(n: NodeHandle): Promise<{ packages: string[]; memory: { rssMiB: number } }> {
  const r = await kosctl(n, ["status", "--json"], 20_000);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as { packages: string[]; memory: { rssMiB: number } };
}

test("kosd loads MQTT.js only with [mqtt] on, node-ble and the serial binding only for radios (kosctl status packages)", async (t) => {
  const root = tempRoot(t);
  const plain = makeNode(root, "plain", "");
  t.after(() => stopNode(plain));
  await startNode(plain);
  const idle = await statusOf(plain);
  assert.ok(Array.isArray(idle.packages));
  assert.ok(idle.memory.rssMiB > 0);
  for (const pkg of ["mqtt", "node-ble", "@serialport/bindings-cpp"]) assert.ok(!idle.packages.includes(pkg), `${pkg} loaded: ${idle.packages.join(", ")}`);
  const text = await kosctl(plain, ["status"], 20_000);
  assert.match(text.stdout, /memory [\d.]+ MiB resident, heap [\d.]+ MiB; packages loaded: /);

  // The same daemon with the bridge on (a broker port nobody listens on): the client loads to connect.
  const port = await freePort();
  const bridged = makeNode(root, "bridged", `[mqtt]\n  enabled = yes\n  url = mqtt://127.0.0.1:${port}\n`);
  t.after(() => stopNode(bridged));
  await startNode(bridged);
  let last: string[] = [];
  const loaded = await eventually(async () => {
    last = (await statusOf(bridged)).packages;
    return last.includes("mqtt");
  }, 15_000);
  assert.ok(loaded, `mqtt not loaded with [mqtt] on: ${last.join(", ")}`);
  assert.ok(!last.includes("node-ble"));
});
