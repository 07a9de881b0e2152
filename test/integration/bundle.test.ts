// The esbuild bundle runs on its own: copied away from the repository, with only what `npm run build`
// put in dist/ (native addons beside the bundle), it starts and loads serialport's native binding and the
// node-ble bundle kosd loads for Bluetooth radios.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../helpers.js";

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
});

test("the bundles are single files that start with a node shebang", () => {
  for (const f of ["kosd.cjs", "kosctl.cjs"]) {
    const text = fs.readFileSync(path.join(REPO_ROOT, "dist", f), "utf8");
    assert.ok(text.startsWith("#!/usr/bin/env node\n"));
    assert.doesNotMatch(text, /require\(["']\.\.?\//, "no relative requires left");
  }
});
