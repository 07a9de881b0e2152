// kosd's config loader (runtime/host/config/load.ts, schema.ts, example.ts): the example loads, defaults and
// overrides, typed interface settings, and the file and line of every validation error.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { exampleConfig } from "../../runtime/host/config/example.js";
import { formatIssue, loadConfig, loadConfigText, type ConfigHost, type KosdConfig, type LoadResult } from "../../runtime/host/config/load.js";
import {
  COMMON_INTERFACE_OPTIONS, LOGGING_OPTIONS, MAIN_OPTIONS, MQTT_OPTIONS, SUPPORTED_INTERFACE_TYPES, TYPE_OPTIONS, type InterfaceConfig,
} from "../../runtime/host/config/schema.js";
import { POLICY_OPTIONS, QUORUM_OPTIONS, matchPolicy } from "../../runtime/host/config/quorum.js";
import { REPO_ROOT } from "../helpers.js";

const files = new Map<string, string>();
const HOST: ConfigHost = {
  env: { KOS_DATA_DIR: "/env/data" },
  cwd: "/work",
  homeDir: "/home/op",
  readText: (f) => (files.has(f) ? { ok: true, text: files.get(f)! } : { ok: false, message: "cannot read: no such file" }),
};

const load = (text: string, overrides = {}): LoadResult => loadConfigText(text, "/etc/kos/kosd.conf", overrides, HOST);
function ok(text: string, overrides = {}): KosdConfig {
  const r = load(text, overrides);
  if (!r.ok) assert.fail(r.errors.map(formatIssue).join("\n"));
  return r.config;
}
function errors(text: string): string[] {
  const r = load(text);
  assert.equal(r.ok, false, "expected errors");
  return r.ok ? [] : r.errors.map(formatIssue);
}
function iface(text: string, extraMain = ""): InterfaceConfig {
  const c = ok(`[kosd]\n${extraMain}\n[interfaces]\n  [[X]]\n    enabled = yes\n${text}`);
  assert.equal(c.interfaces.length, 1);
  return c.interfaces[0]!;
}

test("the example config loads with no errors and no warnings", () => {
  const r = loadConfigText(exampleConfig(), "kosd.conf", {}, HOST);
  assert.ok(r.ok, r.ok ? "" : r.errors.map(formatIssue).join("\n"));
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.config.interfaces.map((i) => i.type).sort(), [...SUPPORTED_INTERFACE_TYPES].sort());
  assert.ok(r.config.interfaces.every((i) => !i.enabled), "the example enables nothing");
});

test("the example still loads with every commented-out option switched on", () => {
  files.set("/home/op/.reticulum/config", "[interfaces]\n  [[Imported]]\n    type = AutoInterface\n    enabled = yes\n");
  const text = exampleConfig().replace(/^(\s*)# ([a-z_]+ = .*)$/gm, "$1$2");
  assert.notEqual(text, exampleConfig());
  const r = loadConfigText(text, "kosd.conf", {}, HOST);
  assert.ok(r.ok, r.ok ? "" : r.errors.map(formatIssue).join("\n"));
  assert.deepEqual(r.warnings, []);
  assert.equal(r.config.interfaces.find((i) => i.name === "Uplink")?.ifac?.networkName, "my-network");
});

test("the example shows every option kosd acts on", () => {
  const example = exampleConfig();
  const tables = [MAIN_OPTIONS, LOGGING_OPTIONS, MQTT_OPTIONS, QUORUM_OPTIONS, POLICY_OPTIONS, COMMON_INTERFACE_OPTIONS, ...Object.values(TYPE_OPTIONS)];
  const missing = tables.flatMap((t) => Object.entries(t).filter(([k, d]) => !d.ignored && !d.alias && !new RegExp(`\\b${k}\\b`).test(example)).map(([k]) => k));
  assert.deepEqual(missing, []);
});

test("the README documents every option, ignored ones included", () => {
  const readmes = [path.join(REPO_ROOT, "runtime", "host", "config", "README.md"), path.join(REPO_ROOT, "README.md")];
  const text = readmes.filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f, "utf8")).join("\n");
  const tables = [MAIN_OPTIONS, LOGGING_OPTIONS, MQTT_OPTIONS, QUORUM_OPTIONS, POLICY_OPTIONS, COMMON_INTERFACE_OPTIONS, ...Object.values(TYPE_OPTIONS)];
  const missing = tables.flatMap((t) => Object.keys(t).filter((k) => !text.includes("`" + k + "`")));
  assert.deepEqual([...new Set(missing)], []);
});

test("no file means built-in defaults, with the data directory from the environment", () => {
  const r = loadConfigText(null, null, {}, HOST);
  assert.ok(r.ok);
  assert.deepEqual(r.config, {
    file: null, dataDir: "/env/data", controlSocket: "/env/data/kosd.sock", log: { level: "info", json: false }, enableTransport: false,
    respondToProbes: false, useImplicitProof: true, panicOnInterfaceError: false, blackholedIdentities: [], persistIntervalMs: 43_200_000,
    reticulumConfig: null, interfaces: [],
    mqtt: {
      enabled: false, url: null, clientId: null, username: null, password: null, topicPrefix: "kos/log", payload: "binary", protocolVersion: 5,
      caFile: null, certFile: null, keyFile: null, keepaliveS: 60, maxInflight: 32, reconnectMaxMs: 60_000,
    },
    quorum: { enabled: false, trustGenesis: [], trustAuthors: [], trustSelf: true, skewMs: 2000, policies: [] },
  });
});

test("command-line overrides win over the file, the file over the environment", () => {
  const text = "[kosd]\ndata_dir = /file/data\nlog_level = warn\nlog_json = no\n";
  assert.equal(ok(text).dataDir, "/file/data");
  const c = ok(text, { dataDir: "cli-data", logLevel: "debug", logJson: true });
  assert.deepEqual([c.dataDir, c.log.level, c.log.json], ["/work/cli-data", "debug", true]);
});

test("relative paths are taken from the config file's directory and ~/ from the home directory", () => {
  const c = ok("[kosd]\ndata_dir = state\ncontrol_socket = ~/kosd.sock\n");
  assert.deepEqual([c.dataDir, c.controlSocket], ["/etc/kos/state", "/home/op/kosd.sock"]);
});

test("[reticulum] is accepted as the main section and [logging] loglevel maps onto kosd's levels", () => {
  const c = ok("[reticulum]\nenable_transport = Yes\nrespond_to_probes = on\n[logging]\nloglevel = 6\n");
  assert.deepEqual([c.enableTransport, c.respondToProbes, c.log.level], [true, true, "debug"]);
  assert.equal(ok("[logging]\nloglevel = 2\n").log.level, "warn");
});

test("Reticulum options kosd does not act on are accepted with a warning naming the line", () => {
  const r = load("[reticulum]\nshare_instance = Yes\ninstance_name = default\n");
  assert.ok(r.ok);
  assert.deepEqual(r.warnings.map((w) => w.line), [2, 3]);
  assert.match(r.warnings[0]!.message, /share_instance is ignored: kosd has no shared instance/);
});

test("blackholed identities are lower-cased and deduplicated", () => {
  const c = ok("[kosd]\nblackholed_identities = 9FB6D773498FB3FEDA407ED8EF2C3229, 9fb6d773498fb3feda407ed8ef2c3229\n");
  assert.deepEqual(c.blackholedIdentities, ["9fb6d773498fb3feda407ed8ef2c3229"]);
});

test("a TCP client gets every default of the reference", () => {
  const i = iface("    type = TCPClientInterface\n    target_host = hub.example.net\n    target_port = 4242\n");
  assert.deepEqual(i, {
    name: "X", enabled: true, mode: "full", outgoing: true, bitrateBps: null, announceCap: 0.02, ifac: null,
    ingress: {
      enabled: true, maxHeldAnnounces: 256, burstHoldMs: 15_000, burstFreqNewHz: 3, burstFreqHz: 10, prBurstFreqNewHz: 3, prBurstFreqHz: 8,
      newTimeMs: 7_200_000, burstPenaltyMs: 15_000, heldReleaseIntervalMs: 5_000,
    },
    egress: { enabled: false, prFreqHz: 5 }, announceRate: null, origin: { file: "/etc/kos/kosd.conf", line: 4 },
    type: "TCPClientInterface", targetHost: "hub.example.net", targetPort: 4242, kissFraming: false, i2pTunneled: false,
    connectTimeoutMs: 5000, maxReconnectTries: null, fixedMtu: null,
  });
});

test("modes take the reference's spellings, case-insensitively, under mode or interface_mode", () => {
  const tcp = "    type = TCPClientInterface\n    target_host = h\n    target_port = 1\n";
  assert.equal(iface(tcp + "    mode = AP\n").mode, "access_point");
  assert.equal(iface(tcp + "    interface_mode = ptp\n").mode, "point_to_point");
  assert.equal(iface(tcp + "    mode = gw\n").mode, "gateway");
});

test("an access code takes the interface type's default size unless ifac_size (bits) is set", () => {
  const tcp = "    type = TCPClientInterface\n    target_host = h\n    target_port = 1\n";
  assert.deepEqual(iface(tcp + "    network_name = net\n").ifac, { networkName: "net", passphrase: null, sizeBytes: 16 });
  assert.deepEqual(iface(tcp + "    passphrase = pw\n    ifac_size = 64\n").ifac, { networkName: null, passphrase: "pw", sizeBytes: 8 });
  assert.equal(iface(tcp + "    networkname =\n").ifac, null);
  const rnode = "    type = RNodeInterface\n    port = /dev/ttyUSB0\n    frequency = 868000000\n    bandwidth = 125000\n    spreadingfactor = 8\n    codingrate = 5\n";
  assert.equal(iface(rnode + "    networkname = net\n").ifac?.sizeBytes, 8);
});

test("announce rate limits apply with transport, from [kosd] defaults unless the interface sets them", () => {
  const tcp = "    type = TCPClientInterface\n    target_host = h\n    target_port = 1\n";
  assert.equal(iface(tcp).announceRate, null);
  assert.deepEqual(iface(tcp, "enable_transport = yes").announceRate, { targetMs: 3_600_000, grace: 5, penaltyMs: 0 });
  assert.deepEqual(iface(tcp, "enable_transport = yes\ndefault_ar_grace = 2").announceRate, { targetMs: 3_600_000, grace: 2, penaltyMs: 0 });
  assert.deepEqual(iface(tcp + "    announce_rate_target = 600\n").announceRate, { targetMs: 600_000, grace: 0, penaltyMs: 0 });
});

test("ingress control defaults come from [kosd] and each interface can override them", () => {
  const tcp = "    type = TCPClientInterface\n    target_host = h\n    target_port = 1\n";
  const i = iface(tcp + "    ic_burst_freq = 20\n", "ic_burst_hold = 30\nic_burst_freq = 4");
  assert.deepEqual([i.ingress.burstHoldMs, i.ingress.burstFreqHz], [30_000, 20]);
});

test("a UDP port and device fill in both directions", () => {
  const i = iface("    type = UDPInterface\n    device = eth0\n    port = 4242\n    forward_port = 5000\n");
  assert.deepEqual(
    i.type === "UDPInterface" && [i.device, i.listenIp, i.listenPort, i.forwardIp, i.forwardPort],
    ["eth0", null, 4242, null, 5000],
  );
});

test("an AutoInterface takes the reference's group, scope and ports by default", () => {
  const i = iface("    type = AutoInterface\n    devices = eth0\n");
  assert.ok(i.type === "AutoInterface");
  assert.deepEqual([i.groupId, i.discoveryScope, i.multicastAddressType, i.discoveryPort, i.dataPort, i.devices, i.ignoredDevices], [
    "reticulum", "link", "temporary", 29716, 42671, ["eth0"], [],
  ]);
});

test("RNode ports are serial paths, ble:// names or addresses, or tcp:// hosts", () => {
  const rnode = (p: string): InterfaceConfig =>
    iface(`    type = RNodeInterface\n    port = ${p}\n    frequency = 868000000\n    bandwidth = 125000\n    spreadingfactor = 8\n    codingrate = 5\n`);
  const port = (p: string): unknown => {
    const i = rnode(p);
    return i.type === "RNodeInterface" ? i.port : null;
  };
  assert.deepEqual(port("/dev/ttyUSB0"), { kind: "serial", path: "/dev/ttyUSB0" });
  assert.deepEqual(port("ble://RNode 3B87"), { kind: "ble", name: "RNode 3B87", address: null });
  assert.deepEqual(port("ble://f4:12:73:29:4e:89"), { kind: "ble", name: null, address: "F4:12:73:29:4E:89" });
  assert.deepEqual(port("ble://"), { kind: "ble", name: null, address: null });
  assert.deepEqual(port("tcp://10.0.0.7"), { kind: "tcp", host: "10.0.0.7" });
  const i = rnode("/dev/ttyACM0");
  assert.ok(i.type === "RNodeInterface");
  assert.deepEqual([i.frequencyHz, i.bandwidthHz, i.txPowerDbm, i.spreadingFactor, i.codingRate, i.id], [868_000_000, 125_000, 0, 8, 5, null]);
  assert.equal(i.bleAdapter, null);
  // ble_adapter picks the BlueZ adapter of a BLE radio (default: BlueZ's first).
  const ble = iface("    type = RNodeInterface\n    port = ble://AA:BB:CC:DD:EE:FF\n    ble_adapter = hci1\n    frequency = 868000000\n    bandwidth = 125000\n    spreadingfactor = 8\n    codingrate = 5\n");
  assert.ok(ble.type === "RNodeInterface");
  assert.deepEqual([ble.port, ble.bleAdapter], [{ kind: "ble", name: null, address: "AA:BB:CC:DD:EE:FF" }, "hci1"]);
});

test("the brief's example error reads file:line: message", () => {
  const text = ["[kosd]", "", "# uplink", "", "", "", "", "[interfaces]", "", "  [[Uplink]]", "    type = TCPClientInterface", "    enabled = yes", "    target_host = example.org", "    target_port = 99999", ""].join("\n");
  const r = loadConfigText(text, "kosd.conf", {}, HOST);
  assert.ok(!r.ok);
  assert.deepEqual(r.errors.map(formatIssue), ['kosd.conf:14: target_port must be a port number 1-65535, got "99999"']);
});

const TCP = "    type = TCPClientInterface\n    enabled = yes\n    target_host = h\n    target_port = 1\n";
const CASES: { name: string; text: string; expect: string }[] = [
  { name: "an unknown key, with a suggestion", text: "[kosd]\nenable_transprt = yes\n", expect: 'kosd.conf:2: unknown option "enable_transprt" in [kosd]; did you mean "enable_transport"?' },
  { name: "a key of another interface type", text: `[interfaces]\n  [[X]]\n${TCP}    frequency = 868000000\n`, expect: 'kosd.conf:7: unknown option "frequency" in interface "X" (TCPClientInterface) (it is an option of RNodeInterface)' },
  { name: "an unknown section", text: "[kosd]\n[interface]\n", expect: "kosd.conf:2: unknown section [interface]; did you mean [interfaces]?" },
  { name: "an option outside any section", text: "# c\nenable_transport = yes\n", expect: 'kosd.conf:2: option "enable_transport" is outside any section; put it under [kosd]' },
  { name: "a bad boolean", text: "[kosd]\n\nlog_json = maybe\n", expect: 'kosd.conf:3: log_json must be yes or no (or true/false, on/off, 1/0), got "maybe"' },
  { name: "a bad number", text: "[kosd]\npersist_interval = 10\n", expect: 'kosd.conf:2: persist_interval must be a number of seconds from 60 to 604800, got "10"' },
  { name: "a list where one value is expected", text: "[kosd]\ndata_dir = a, b\n", expect: 'kosd.conf:2: data_dir takes a single value but got a comma-separated list "a, b" (quote the value if the comma belongs to it)' },
  { name: "a bad identity hash", text: "[kosd]\nblackholed_identities = abc\n", expect: 'kosd.conf:2: blackholed_identities must list identity hashes of 32 hex digits, got "abc"' },
  { name: "an unknown log level", text: "[kosd]\nlog_level = loud\n", expect: 'kosd.conf:2: log_level must be one of error, warn, info, debug, got "loud"' },
  { name: "log level set in both spellings", text: "[kosd]\nlog_level = info\n[logging]\nloglevel = 4\n", expect: "kosd.conf:4: loglevel repeats log_level (line 2); keep one" },
  { name: "both [kosd] and [reticulum]", text: "[kosd]\n[reticulum]\n", expect: "kosd.conf:2: [reticulum] repeats [kosd] (line 1); they are the same section, keep one" },
  { name: "a subsection of [kosd]", text: "[kosd]\n[[extra]]\n", expect: 'kosd.conf:2: [kosd] has no subsections; "extra" is not expected here' },
  { name: "a key directly in [interfaces]", text: "[interfaces]\ntype = AutoInterface\n", expect: 'kosd.conf:2: [interfaces] holds only [[name]] subsections; "type" is outside one' },
  { name: "an interface without a type", text: "[interfaces]\n\n  [[X]]\n    enabled = yes\n", expect: "kosd.conf:3: interface \"X\" has no type; set type = one of AutoInterface, TCPClientInterface, TCPServerInterface, UDPInterface, RNodeInterface" },
  { name: "an unknown interface type", text: "[interfaces]\n  [[X]]\n    type = TcpClientInterface\n", expect: 'kosd.conf:3: interface "X": unknown interface type "TcpClientInterface" (did you mean TCPClientInterface?); supported types: AutoInterface, TCPClientInterface, TCPServerInterface, UDPInterface, RNodeInterface' },
  { name: "a Reticulum type kosd does not run", text: "[interfaces]\n  [[X]]\n    type = I2PInterface\n", expect: 'kosd.conf:3: interface "X": I2PInterface is a Reticulum interface type kosd does not support yet; supported types: AutoInterface, TCPClientInterface, TCPServerInterface, UDPInterface, RNodeInterface' },
  { name: "missing required options, at the interface header", text: "[interfaces]\n  [[X]]\n    type = TCPClientInterface\n    enabled = yes\n", expect: 'kosd.conf:2: interface "X" (TCPClientInterface) needs target_host, target_port' },
  { name: "two spellings of one option", text: `[interfaces]\n  [[X]]\n${TCP}    mode = full\n    interface_mode = ap\n`, expect: "kosd.conf:8: interface_mode and mode (line 7) set the same option; keep one" },
  { name: "a mode the reference does not know", text: `[interfaces]\n  [[X]]\n${TCP}    mode = point_to_point\n`, expect: 'kosd.conf:7: mode must be one of full, gateway, access_point, point_to_point, roaming, boundary, got "point_to_point"' },
  { name: "an announce cap of zero", text: `[interfaces]\n  [[X]]\n${TCP}    announce_cap = 0\n`, expect: 'kosd.conf:7: announce_cap must be a percentage above 0 and at most 100, got "0"' },
  { name: "a bitrate below the reference's minimum", text: `[interfaces]\n  [[X]]\n${TCP}    bitrate = 4\n`, expect: 'kosd.conf:7: bitrate must be a bitrate in bits per second, 5 or more, got "4"' },
  { name: "an IFAC size over 512 bits", text: `[interfaces]\n  [[X]]\n${TCP}    networkname = n\n    ifac_size = 1024\n`, expect: 'kosd.conf:8: ifac_size must be a size in bits from 8 to 512, got "1024"' },
  { name: "an RNode frequency out of range", text: "[interfaces]\n  [[R]]\n    type = RNodeInterface\n    port = /dev/ttyUSB0\n    frequency = 100\n    bandwidth = 125000\n    spreadingfactor = 8\n    codingrate = 5\n", expect: 'kosd.conf:5: frequency must be a frequency in Hz from 137000000 to 3000000000, got "100"' },
  { name: "an RNode missing its radio settings", text: "[interfaces]\n  [[R]]\n    type = RNodeInterface\n    port = /dev/ttyUSB0\n", expect: 'kosd.conf:2: interface "R" (RNodeInterface) needs frequency, bandwidth, spreadingfactor, codingrate' },
  { name: "a callsign without an interval", text: "[interfaces]\n  [[R]]\n    type = RNodeInterface\n    port = /dev/ttyUSB0\n    frequency = 868000000\n    bandwidth = 125000\n    spreadingfactor = 8\n    codingrate = 5\n    id_callsign = N0CALL\n", expect: "kosd.conf:9: id_callsign and id_interval go together: the radio sends its callsign every id_interval seconds" },
  { name: "an RNode port with an unknown scheme", text: "[interfaces]\n  [[R]]\n    type = RNodeInterface\n    port = usb://x\n    frequency = 868000000\n    bandwidth = 125000\n    spreadingfactor = 8\n    codingrate = 5\n", expect: 'kosd.conf:4: port "usb://x" has an unknown scheme; use a serial device path, ble:// or tcp://' },
  { name: "a BLE adapter that is not an adapter name", text: "[interfaces]\n  [[R]]\n    type = RNodeInterface\n    port = ble://RNode 3B87\n    frequency = 868000000\n    bandwidth = 125000\n    spreadingfactor = 8\n    codingrate = 5\n    ble_adapter = usb0\n", expect: 'kosd.conf:9: ble_adapter must be a BlueZ adapter name like hci0, got "usb0"' },
  { name: "a UDP interface that can neither send nor receive", text: "[interfaces]\n  [[U]]\n    type = UDPInterface\n    listen_ip = 0.0.0.0\n", expect: 'kosd.conf:2: interface "U" (UDPInterface) needs listen_ip and listen_port to receive, or forward_ip and forward_port to send (device and port fill in both)' },
  { name: "a TCP server with no address", text: "[interfaces]\n  [[S]]\n    type = TCPServerInterface\n    port = 4242\n", expect: 'kosd.conf:2: interface "S" (TCPServerInterface) needs listen_ip' },
  { name: "a secret never echoed", text: `[interfaces]\n  [[X]]\n${TCP}    passphrase = my, secret\n`, expect: "kosd.conf:7: passphrase takes a single value but got a comma-separated list (quote the value if the comma belongs to it)" },
  { name: "an unreadable include", text: "[kosd]\ninclude_reticulum_interfaces = /nowhere/config\n", expect: "kosd.conf:2: include_reticulum_interfaces: /nowhere/config: cannot read: no such file" },
  { name: "a control socket path too long for a socket", text: `[kosd]\ncontrol_socket = /${"s".repeat(120)}\n`, expect: "kosd.conf:2: control_socket resolves to 121 bytes, more than a socket path holds (107)" },
  { name: "a syntax error, before any validation", text: "[kosd]\nenable_transport = 'yes\nbogus = 1\n", expect: "kosd.conf:2: unclosed ' quote" },
];

for (const c of CASES) {
  test(`error: ${c.name}`, () => {
    const r = loadConfigText(c.text, "kosd.conf", {}, HOST);
    assert.ok(!r.ok, "expected errors");
    assert.deepEqual(r.errors.map(formatIssue), [c.expect]);
  });
}

test("errors come back in line order, all of them at once", () => {
  const lines = errors("[kosd]\nlog_json = maybe\n[interfaces]\n  [[X]]\n    type = Nope\n[extra]\n").map((e) => e.split(":")[1]);
  assert.deepEqual(lines, ["2", "5", "6"]);
});

const WARNINGS: { name: string; text: string; expect: string }[] = [
  { name: "an interface without enabled", text: "[interfaces]\n  [[A]]\n    type = AutoInterface\n", expect: 'kosd.conf:2: interface "A" (AutoInterface) has no "enabled = yes"; it stays disabled, as in Reticulum' },
  { name: "an IFAC size that is not whole bytes", text: `[interfaces]\n  [[X]]\n${TCP}    networkname = n\n    ifac_size = 60\n`, expect: "kosd.conf:8: ifac_size 60 is not a whole number of bytes; 56 bits are used, as in Reticulum" },
  { name: "an IFAC size without a network name", text: `[interfaces]\n  [[X]]\n${TCP}    ifac_size = 64\n`, expect: "kosd.conf:7: ifac_size has no effect without networkname or passphrase" },
  { name: "a listen address next to a device", text: "[interfaces]\n  [[S]]\n    type = TCPServerInterface\n    enabled = yes\n    device = eth0\n    listen_ip = 10.0.0.1\n    listen_port = 4242\n", expect: "kosd.conf:6: listen_ip is ignored because device is set, as in Reticulum" },
  { name: "a send-only UDP interface", text: "[interfaces]\n  [[U]]\n    type = UDPInterface\n    enabled = yes\n    forward_ip = 10.0.0.255\n    forward_port = 4242\n", expect: 'kosd.conf:2: interface "U" (UDPInterface) only sends: it has no listen_ip/listen_port' },
  { name: "a BLE adapter on a serial radio", text: "[interfaces]\n  [[R]]\n    type = RNodeInterface\n    enabled = yes\n    port = /dev/ttyUSB0\n    frequency = 868000000\n    bandwidth = 125000\n    spreadingfactor = 8\n    codingrate = 5\n    ble_adapter = hci1\n", expect: "kosd.conf:10: ble_adapter applies to ble:// ports only; ignored" },
  { name: "a discovery option", text: `[interfaces]\n  [[X]]\n${TCP}    discoverable = yes\n`, expect: "kosd.conf:7: discoverable is ignored: interface discovery is not implemented by kosd (the interface keeps its configured mode)" },
];

for (const c of WARNINGS) {
  test(`warning: ${c.name}`, () => {
    const r = loadConfigText(c.text, "kosd.conf", {}, HOST);
    assert.ok(r.ok, r.ok ? "" : r.errors.map(formatIssue).join("\n"));
    assert.deepEqual(r.warnings.map(formatIssue), [c.expect]);
  });
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "kos-config-"));
}

test("loadConfig reads a file from disk and names it in messages", () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, "kosd.conf");
    fs.writeFileSync(file, "[kosd]\nlog_json = sometimes\n");
    const r = loadConfig(file);
    assert.ok(!r.ok);
    assert.equal(formatIssue(r.errors[0]!), `${file}:2: log_json must be yes or no (or true/false, on/off, 1/0), got "sometimes"`);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test("a missing config file is one error, not an exception", () => {
  const r = loadConfig("/nonexistent/kosd.conf");
  assert.ok(!r.ok);
  assert.deepEqual(r.errors.map(formatIssue), ["/nonexistent/kosd.conf: cannot read: no such file"]);
});

test("a 10 MB file is refused without being read whole", () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, "big.conf");
    fs.writeFileSync(file, Buffer.alloc(10 * 1024 * 1024, 0x23));
    const r = loadConfig(file);
    assert.ok(!r.ok);
    assert.match(r.errors[0]!.message, /larger than 1048576 bytes; refusing to read it/);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test("a 100k-line file is refused by the line limit", () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, "long.conf");
    fs.writeFileSync(file, "[kosd]\n" + "\n".repeat(100_000));
    const r = loadConfig(file);
    assert.ok(!r.ok);
    assert.match(r.errors[0]!.message, /100001 lines, more than the 20000-line limit/);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test("a file that is not UTF-8 is refused with the line of the first bad byte", () => {
  const dir = tempDir();
  try {
    const file = path.join(dir, "latin1.conf");
    fs.writeFileSync(file, Buffer.concat([Buffer.from("[kosd]\n# ok\n# caf"), Buffer.from([0xe9]), Buffer.from("\n")]));
    const r = loadConfig(file);
    assert.ok(!r.ok);
    assert.equal(formatIssue(r.errors[0]!), `${file}:3: line is not valid UTF-8`);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

const H1 = "9fb6d773498fb3feda407ed8ef2c3229";
const H2 = "1d2e3f405162738495a6b7c8d9eaf00b";

test("[quorum]: trust, skew and vote policies in file order", () => {
  const c = ok(`[quorum]\nenabled = yes\ntrust_genesis = <6F1D2C7E9A0B4C3D8E5F60718293A4B5>\ntrust_authors = ${H1}, ${"ab".repeat(64)}\nskew = 5\n` +
    `  [[river]]\n    vote = approve\n    kind = sensor.anomaly\n    proposer = ${H1}, ${H2}\n  [[rest]]\n    vote = manual\n    kind = *\n`);
  assert.deepEqual(c.quorum, {
    enabled: true, trustGenesis: ["6f1d2c7e9a0b4c3d8e5f60718293a4b5"], trustAuthors: [H1, "ab".repeat(64)], trustSelf: true, skewMs: 5000,
    policies: [
      { name: "river", line: 6, vote: "yes", kinds: ["sensor.anomaly"], proposers: [H1, H2] },
      { name: "rest", line: 10, vote: "manual", kinds: ["*"], proposers: null },
    ],
  });
  assert.equal(matchPolicy(c.quorum.policies, "sensor.anomaly", H2)?.name, "river");
  assert.equal(matchPolicy(c.quorum.policies, "sensor.anomaly", "00".repeat(16))?.name, "rest");
  const prefix = ok(`[quorum]\n  [[s]]\n    vote = no\n    kind = sensor.*\n`).quorum.policies;
  assert.equal(matchPolicy(prefix, "sensor.flood", H1)?.vote, "no");
  assert.equal(matchPolicy(prefix, "alarm.fire", H1), null);
});

test("[quorum]: bad values are reported on their lines", () => {
  const e = errors(
    "[quorum]\nenabled = maybe\ntrust_genesis = 1234\ntrust_authors = xyz\nskew = 600\ncolour = red\n" +
      "  [[p1]]\n    vote = perhaps\n    kind = a*b\n    proposer = nobody\n  [[p2]]\n    kind = x\n  [[p3]]\n    vote = yes\n    [[[deep]]]\n",
  );
  const want: Array<[number, RegExp]> = [
    [2, /enabled must be yes or no/], [3, /trust_genesis must list membership ids of 32 hex digits, got "1234"/],
    [4, /trust_authors must list identity hashes \(32 hex digits\) or public keys \(128 hex digits\)/], [5, /skew must be a whole number of seconds from 0 to 60/],
    [6, /unknown option "colour" in \[quorum\]/], [8, /vote must be one of yes, no, abstain, manual/], [9, /kind "a\*b" must be at most 32 bytes, with \* only at the end/],
    [10, /proposer must list identity hashes of 32 hex digits, got "nobody"/], [11, /policy "p2" needs vote/], [13, /policy "p3" needs kind/], [15, /policy "p3" has no subsections/],
  ];
  for (const [line, re] of want) assert.ok(e.some((x) => x.startsWith(`/etc/kos/kosd.conf:${line}:`) && re.test(x)), `line ${line} ${re}: ${e.join("\n")}`);
  assert.match(errors("[quorum]\nenabled = yes\ntrust_self = no\n")[0]!, /kosd.conf:3: with trust_self = no, \[quorum\] needs trust_genesis or trust_authors/);
  assert.match(errors("[quorom]\n")[0]!, /did you mean \[quorum\]/);
});
