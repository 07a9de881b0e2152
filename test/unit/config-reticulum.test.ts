// Importing the [interfaces] of a Reticulum config (runtime/host/config/reticulum.ts) through
// include_reticulum_interfaces or kosd --reticulum-config. Fixtures: test/fixtures/reticulum-config, kosd.conf.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { formatIssue, loadConfig, loadConfigText, nodeConfigHost, type KosdConfig, type LoadResult } from "../../runtime/host/config/load.js";
import { reticulumInterfaces } from "../../runtime/host/config/reticulum.js";
import { REPO_ROOT } from "../helpers.js";

const FIXTURES = path.join(REPO_ROOT, "test", "fixtures");
const RETICULUM = path.join(FIXTURES, "reticulum-config");

function loaded(r: LoadResult): { config: KosdConfig; warnings: string[] } {
  if (!r.ok) assert.fail(r.errors.map(formatIssue).join("\n"));
  return { config: r.config, warnings: r.warnings.map(formatIssue) };
}

test("kosd --reticulum-config imports the enabled interfaces kosd supports, in file order", () => {
  const { config } = loaded(loadConfig(null, { reticulumConfig: RETICULUM }));
  assert.deepEqual(
    config.interfaces.map((i) => [i.name, i.type, i.enabled]),
    [
      ["Local Mesh", "AutoInterface", true],
      ["Regional Hub", "TCPClientInterface", true],
      ["Valley Radio", "RNodeInterface", true],
    ],
  );
  assert.equal(config.reticulumConfig, RETICULUM);
});

test("imported interfaces keep their options, aliases and access codes", () => {
  const { config } = loaded(loadConfig(null, { reticulumConfig: RETICULUM }));
  const [mesh, hub, radio] = config.interfaces;
  assert.ok(mesh?.type === "AutoInterface" && hub?.type === "TCPClientInterface" && radio?.type === "RNodeInterface");
  assert.deepEqual([mesh.groupId, mesh.devices], ["fieldnet", ["eth0", "wlan0"]]);
  assert.deepEqual([hub.targetHost, hub.targetPort, hub.mode], ["hub.example.net", 4965, "gateway"]);
  assert.deepEqual(hub.ifac, { networkName: "regional", passphrase: "not, a # secret", sizeBytes: 8 });
  assert.deepEqual(hub.origin, { file: RETICULUM, line: 22 });
  assert.deepEqual(radio.port, { kind: "ble", name: "RNode 3B87", address: null });
  assert.deepEqual([radio.frequencyHz, radio.bandwidthHz, radio.txPowerDbm, radio.spreadingFactor, radio.codingRate], [433_575_000, 62_500, 14, 9, 6]);
  assert.deepEqual([radio.airtimeLimitShortPct, radio.airtimeLimitLongPct, radio.mode], [33, 1.5, "access_point"]);
});

test("unsupported and unknown types, and unknown keys, are warnings that name their line", () => {
  const { warnings } = loaded(loadConfig(null, { reticulumConfig: RETICULUM }));
  assert.deepEqual(warnings, [
    `${RETICULUM}:31: unknown option "selected_by_hand" in interface "Regional Hub" (TCPClientInterface); ignored`,
    `${RETICULUM}:52: interface "Anonymous Peer" (I2PInterface) is not supported by kosd yet; skipped`,
    `${RETICULUM}:62: interface "Homebrew Link" has type "LoRaMeshBridge", not a built-in Reticulum type (an external interface module?); kosd cannot run it; skipped`,
  ]);
});

test("only [interfaces] is imported: the Reticulum file's transport and log settings do not apply", () => {
  const { config } = loaded(loadConfig(null, { reticulumConfig: RETICULUM }));
  assert.equal(config.enableTransport, false);
  assert.equal(config.log.level, "info");
  assert.equal(config.interfaces[1]!.announceRate, null);
});

test("include_reticulum_interfaces resolves against the config file's directory", () => {
  const file = path.join(FIXTURES, "kosd.conf");
  const { config } = loaded(loadConfig(file, {}, { ...nodeConfigHost(), env: {} }));
  assert.equal(config.reticulumConfig, RETICULUM);
  assert.equal(config.dataDir, path.join(FIXTURES, "state"));
  assert.deepEqual(config.interfaces.map((i) => i.name), ["Backhaul", "Local Mesh", "Regional Hub", "Valley Radio"]);
  // kosd's own enable_transport governs imported interfaces too.
  assert.deepEqual(config.interfaces[2]!.announceRate, { targetMs: 3_600_000, grace: 5, penaltyMs: 0 });
});

test("the command-line path replaces include_reticulum_interfaces", () => {
  const host = { ...nodeConfigHost(), env: {} };
  const r = loadConfig(path.join(FIXTURES, "kosd.conf"), { reticulumConfig: "/nonexistent/config" }, host);
  assert.ok(!r.ok);
  assert.deepEqual(r.errors.map(formatIssue), ["/nonexistent/config: cannot read: no such file"]);
});

test("an imported interface may not reuse the name of one of kosd's own", () => {
  const text = "[kosd]\n[interfaces]\n  [[Local Mesh]]\n    type = AutoInterface\n    enabled = yes\n";
  const r = loadConfigText(text, "kosd.conf", { reticulumConfig: RETICULUM }, nodeConfigHost());
  assert.ok(!r.ok);
  assert.deepEqual(r.errors.map(formatIssue), [`${RETICULUM}:15: interface name "Local Mesh" is already used at kosd.conf:3`]);
});

test("errors in an imported interface point into the Reticulum file", () => {
  const files: Record<string, string> = { "/r/config": "[interfaces]\n  [[Hub]]\n    type = TCPClientInterface\n    enabled = yes\n    target_host = h\n    target_port = 0\n" };
  const host = { env: {}, cwd: "/", homeDir: "/root", readText: (f: string) => (f in files ? { ok: true as const, text: files[f]! } : { ok: false as const, message: "missing" }) };
  const r = loadConfigText(null, null, { reticulumConfig: "/r/config" }, host);
  assert.ok(!r.ok);
  assert.deepEqual(r.errors.map(formatIssue), ['/r/config:6: target_port must be a port number 1-65535, got "0"']);
});

test("disabled interfaces are skipped without being checked, as rnsd does", () => {
  const imported = reticulumInterfaces("[interfaces]\n  [[Off]]\n    type = TCPClientInterface\n    enabled = no\n    target_port = nonsense\n");
  assert.deepEqual(imported, { sections: [], errors: [], warnings: [] });
});

test("an enabled flag that is no boolean is an error, as it is for rnsd", () => {
  const imported = reticulumInterfaces("[interfaces]\n  [[X]]\n    type = AutoInterface\n    enabled = sure\n");
  assert.deepEqual(imported.errors, [{ line: 4, column: 15, message: 'enabled must be yes or no (or true/false, on/off, 1/0), got "sure"' }]);
});

test("a Reticulum file without [interfaces] imports nothing, with a warning", () => {
  const imported = reticulumInterfaces("[reticulum]\nenable_transport = no\n");
  assert.deepEqual(imported.sections, []);
  assert.deepEqual(imported.warnings, [{ line: 0, message: "no [interfaces] section; no interfaces imported" }]);
});

test("the same Reticulum file as kosd's main config is checked strictly: unsupported types are errors", () => {
  const r = loadConfig(RETICULUM);
  assert.ok(!r.ok);
  assert.deepEqual(r.errors.map((e) => e.line), [31, 53, 58, 63]);
});
