// Loads kosd's config file: reads it (size-capped), parses it, checks it against the schema and returns a
// typed KosdConfig with every default filled in, or every problem as `file:line: message`. Format: ./README.md.
// Precedence: command-line overrides, then the file, then the environment ($KOS_DATA_DIR), then built-ins.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { LogLevel } from "../../core/ports.js";
import type { InterfaceMode } from "../../mesh/types.js";
import { defaultDataDir } from "../datadir.js";
import { PARSE_LIMITS, parseConfig, type ConfigSection, type ParseIssue } from "./parse.js";
import { readQuorum, type QuorumConfig } from "./quorum.js";
import { checkRadioLimits, readRadioOptions } from "./radio.js";
import { reticulumInterfaces } from "./reticulum.js";
import {
  BUILTIN_INTERFACE_DEFAULTS, COMMON_INTERFACE_OPTIONS, DEFAULT_IFAC_BYTES, INTERFACE_DEFAULTS, LOGGING_OPTIONS, MAIN_OPTIONS, MQTT_DEFAULTS, MQTT_OPTIONS,
  RETICULUM_ONLY_INTERFACE_TYPES, SUPPORTED_INTERFACE_TYPES, SectionReader, TYPE_OPTIONS, controlSettings, logLevelOfReticulum, suggest,
  type ConfigIssue, type InterfaceConfig, type InterfaceDefaults, type InterfaceType, type MqttConfig, type Reporter, type RNodeConfig, type RNodePort,
} from "./schema.js";

export type { ConfigIssue, MqttConfig } from "./schema.js";
export type { QuorumConfig, QuorumPolicy } from "./quorum.js";

export interface KosdConfig {
  /** The config file, or null when kosd runs on defaults. */
  file: string | null;
  dataDir: string;
  controlSocket: string;
  log: { level: LogLevel; json: boolean };
  enableTransport: boolean;
  respondToProbes: boolean;
  useImplicitProof: boolean;
  panicOnInterfaceError: boolean;
  /** Identity hashes (32 lower-case hex digits) whose announces and traffic kosd drops. */
  blackholedIdentities: string[];
  persistIntervalMs: number;
  /** The Reticulum config whose [interfaces] were imported, or null. */
  reticulumConfig: string | null;
  /** Every configured interface, disabled ones included (enabled: false), in file order. */
  interfaces: InterfaceConfig[];
  /** [mqtt]: the action-log bridge to a broker (disabled unless `enabled = yes`). */
  mqtt: MqttConfig;
  /** [quorum]: local quorum (disabled unless `enabled = yes`). */
  quorum: QuorumConfig;
}

/** What kosd's command line sets; each wins over the file. Relative paths are taken from the working directory. */
export interface ConfigOverrides {
  dataDir?: string;
  logLevel?: LogLevel;
  logJson?: boolean;
  /** `kosd --reticulum-config PATH`: import that file's [interfaces] (replaces include_reticulum_interfaces). */
  reticulumConfig?: string;
}

/** The loader's view of the machine, replaceable in tests. */
export interface ConfigHost {
  env: NodeJS.ProcessEnv;
  cwd: string;
  homeDir: string;
  readText(file: string): { ok: true; text: string } | { ok: false; message: string; line?: number };
}

export type LoadResult =
  | { ok: true; config: KosdConfig; warnings: ConfigIssue[] }
  | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[] };

export const CONFIG_LIMITS = {
  maxFileBytes: PARSE_LIMITS.maxChars,
  maxInterfaces: 256,
  maxInterfaceNameChars: 128,
  /** sun_path holds 108 bytes with the terminating NUL. */
  maxSocketPathBytes: 107,
  defaultPersistIntervalS: 12 * 60 * 60,
} as const;

export function formatIssue(issue: ConfigIssue): string {
  return issue.line > 0 ? `${issue.file}:${issue.line}: ${issue.message}` : `${issue.file}: ${issue.message}`;
}

export function loadConfig(file: string | null, overrides: ConfigOverrides = {}, host: ConfigHost = nodeConfigHost()): LoadResult {
  if (file === null) return loadConfigText(null, null, overrides, host);
  const read = host.readText(file);
  if (!read.ok) return { ok: false, errors: [{ file, line: read.line ?? 0, message: read.message }], warnings: [] };
  return loadConfigText(read.text, file, overrides, host);
}

const MAX_ISSUES = 200;

class IssueLog {
  readonly errors: ConfigIssue[] = [];
  readonly warnings: ConfigIssue[] = [];
  reporter(file: string): Reporter {
    let errorCount = 0;
    const add = (to: ConfigIssue[], line: number, message: string, column?: number): void => {
      if (to.length < MAX_ISSUES) to.push(column === undefined ? { file, line, message } : { file, line, column, message });
    };
    return {
      file,
      error: (line, message, column) => {
        errorCount++;
        add(this.errors, line, message, column);
      },
      warn: (line, message, column) => add(this.warnings, line, message, column),
      errorCount: () => errorCount,
    };
  }
  addParsed(file: string, errors: readonly ParseIssue[], warnings: readonly ParseIssue[]): void {
    const r = this.reporter(file);
    for (const e of errors) r.error(e.line, e.message, e.column);
    for (const w of warnings) r.warn(w.line, w.message, w.column);
  }
}

const EMPTY: ConfigSection = { name: "", depth: 1, line: 0, entries: [], sections: [] };

/** Validates config text (null: no file, defaults only). `file` names it in messages and anchors relative paths. */
export function loadConfigText(text: string | null, file: string | null, overrides: ConfigOverrides = {}, host: ConfigHost = nodeConfigHost()): LoadResult {
  const log = new IssueLog();
  const label = file ?? "<defaults>";
  const rep = log.reporter(label);
  let root: ConfigSection = { ...EMPTY, depth: 0 };
  if (text !== null) {
    const parsed = parseConfig(text);
    log.addParsed(label, parsed.errors, parsed.warnings);
    if (parsed.errors.length > 0) return { ok: false, errors: log.errors, warnings: log.warnings };
    root = parsed.root;
  }
  const baseDir = file === null ? host.cwd : path.dirname(path.resolve(host.cwd, file));
  const resolve = (p: string): string => path.resolve(baseDir, p === "~" || p.startsWith("~/") ? host.homeDir + p.slice(1) : p);

  const top = topSections(root, rep);
  const main = new SectionReader(top.main ?? EMPTY, MAIN_OPTIONS, rep, { where: `[${top.main?.name ?? "kosd"}]`, unknown: "error" });
  const logging = new SectionReader(top.logging ?? EMPTY, LOGGING_OPTIONS, rep, { where: "[logging]", unknown: "error" });
  const mqtt = readMqtt(top.mqtt ?? EMPTY, rep, resolve);
  const quorum = readQuorum(top.quorum ?? EMPTY, rep);
  const logLevelEntry = main.entry("log_level");
  const loglevelEntry = logging.entry("loglevel");
  if (logLevelEntry && loglevelEntry) rep.error(loglevelEntry.line, `loglevel repeats log_level (line ${logLevelEntry.line}); keep one`, loglevelEntry.column);

  const transportEnabled = main.bool("enable_transport") ?? false;
  const base = BUILTIN_INTERFACE_DEFAULTS;
  const control = controlSettings(main, base.ingress, base.egress);
  const defaults: InterfaceDefaults = {
    transportEnabled,
    ingress: control.ingress,
    egress: control.egress,
    announceRate: {
      targetMs: (main.num("default_ar_target") ?? INTERFACE_DEFAULTS.announceRateTargetS) * 1000,
      grace: main.num("default_ar_grace") ?? INTERFACE_DEFAULTS.announceRateGrace,
      penaltyMs: (main.num("default_ar_penalty") ?? INTERFACE_DEFAULTS.announceRatePenaltyS) * 1000,
    },
  };

  const interfaces: InterfaceConfig[] = [];
  const iface = top.interfaces;
  if (iface) {
    for (const e of iface.entries) rep.error(e.line, `[interfaces] holds only [[name]] subsections; "${e.key}" is outside one`, e.column);
    for (const s of iface.sections) {
      const c = readInterface(s, { rep, defaults, importing: false });
      if (c) interfaces.push(c);
    }
  }

  let reticulumConfig: string | null = null;
  const includeEntry = main.entry("include_reticulum_interfaces");
  if (overrides.reticulumConfig !== undefined) reticulumConfig = path.resolve(host.cwd, overrides.reticulumConfig);
  else if (includeEntry) reticulumConfig = resolve(main.text("include_reticulum_interfaces")!);
  if (reticulumConfig !== null) {
    const rfile = overrides.reticulumConfig ?? reticulumConfig;
    const read = host.readText(reticulumConfig);
    if (!read.ok) {
      if (includeEntry && overrides.reticulumConfig === undefined) rep.error(includeEntry.line, `include_reticulum_interfaces: ${reticulumConfig}: ${read.message}`, includeEntry.valueColumn);
      else log.reporter(rfile).error(read.line ?? 0, read.message);
    } else {
      const imported = reticulumInterfaces(read.text);
      log.addParsed(rfile, imported.errors, imported.warnings);
      const rrep = log.reporter(rfile);
      for (const s of imported.sections) {
        const c = readInterface(s, { rep: rrep, defaults, importing: true });
        if (c) interfaces.push(c);
      }
    }
  }

  const byName = new Map<string, InterfaceConfig>();
  for (const c of interfaces) {
    const first = byName.get(c.name);
    if (first) log.reporter(c.origin.file).error(c.origin.line, `interface name "${c.name}" is already used at ${first.origin.file}:${first.origin.line}`);
    else byName.set(c.name, c);
  }
  if (interfaces.length > CONFIG_LIMITS.maxInterfaces) rep.error(0, `more than ${CONFIG_LIMITS.maxInterfaces} interfaces`);

  const dataDir =
    overrides.dataDir !== undefined ? path.resolve(host.cwd, overrides.dataDir) : main.text("data_dir") !== undefined ? resolve(main.text("data_dir")!) : defaultDataDir(host.env);
  const socketEntry = main.entry("control_socket");
  const controlSocket = socketEntry ? resolve(main.text("control_socket")!) : path.join(dataDir, "kosd.sock");
  if (socketEntry && Buffer.byteLength(controlSocket) > CONFIG_LIMITS.maxSocketPathBytes) {
    rep.error(socketEntry.line, `control_socket resolves to ${Buffer.byteLength(controlSocket)} bytes, more than a socket path holds (${CONFIG_LIMITS.maxSocketPathBytes})`, socketEntry.valueColumn);
  }
  const level = overrides.logLevel ?? (main.text("log_level") as LogLevel | undefined) ?? (logging.num("loglevel") !== undefined ? logLevelOfReticulum(logging.num("loglevel")!) : "info");

  if (log.errors.length > 0) return { ok: false, errors: sortIssues(log.errors, label), warnings: sortIssues(log.warnings, label) };
  const config: KosdConfig = {
    file,
    dataDir,
    controlSocket,
    log: { level, json: overrides.logJson ?? main.bool("log_json") ?? false },
    enableTransport: transportEnabled,
    respondToProbes: main.bool("respond_to_probes") ?? false,
    useImplicitProof: main.bool("use_implicit_proof") ?? true,
    panicOnInterfaceError: main.bool("panic_on_interface_error") ?? false,
    blackholedIdentities: [...new Set(main.list("blackholed_identities") ?? [])],
    persistIntervalMs: (main.num("persist_interval") ?? CONFIG_LIMITS.defaultPersistIntervalS) * 1000,
    reticulumConfig,
    interfaces,
    mqtt,
    quorum,
  };
  return { ok: true, config, warnings: sortIssues(log.warnings, label) };
}

/** The main file's issues first, each file's in line order. */
function sortIssues(issues: ConfigIssue[], mainFile: string): ConfigIssue[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => {
      const fa = a.issue.file === mainFile ? 0 : 1;
      const fb = b.issue.file === mainFile ? 0 : 1;
      return fa - fb || (a.issue.file < b.issue.file ? -1 : a.issue.file > b.issue.file ? 1 : 0) || a.issue.line - b.issue.line || a.i - b.i;
    })
    .map((x) => x.issue);
}

type TopSections = { main?: ConfigSection; logging?: ConfigSection; interfaces?: ConfigSection; mqtt?: ConfigSection; quorum?: ConfigSection };

function topSections(root: ConfigSection, rep: Reporter): TopSections {
  const out: TopSections = {};
  for (const e of root.entries) rep.error(e.line, `option "${e.key}" is outside any section; put it under [kosd]`, e.column);
  for (const s of root.sections) {
    if (s.name === "kosd" || s.name === "reticulum") {
      if (out.main) rep.error(s.line, `[${s.name}] repeats [${out.main.name}] (line ${out.main.line}); they are the same section, keep one`);
      else out.main = s;
    } else if (s.name === "logging") out.logging = s;
    else if (s.name === "interfaces") out.interfaces = s;
    else if (s.name === "mqtt") out.mqtt = s;
    else if (s.name === "quorum") out.quorum = s;
    else {
      const near = suggest(s.name, ["kosd", "reticulum", "logging", "interfaces", "mqtt", "quorum"]);
      rep.error(s.line, `unknown section [${s.name}]${near ? `; did you mean [${near}]?` : "; kosd reads [kosd], [logging], [interfaces], [mqtt] and [quorum]"}`);
      continue;
    }
    // [interfaces] holds interfaces and [quorum] vote policies as [[subsections]].
    if (s.name !== "interfaces" && s.name !== "quorum") for (const sub of s.sections) rep.error(sub.line, `[${s.name}] has no subsections; "${sub.name}" is not expected here`);
  }
  return out;
}

const MQTT_SCHEMES = ["mqtt:", "mqtts:"];

/** [mqtt]: checked whether enabled or not; `enabled = yes` needs a url. */
function readMqtt(s: ConfigSection, rep: Reporter, resolve: (p: string) => string): MqttConfig {
  const r = new SectionReader(s, MQTT_OPTIONS, rep, { where: "[mqtt]", unknown: "error" });
  const enabled = r.bool("enabled") ?? false;
  const protocolVersion = r.text("protocol_version") === "4" ? 4 : MQTT_DEFAULTS.protocolVersion;
  let url: string | null = null;
  let tls = false;
  const urlEntry = r.entry("url");
  if (urlEntry !== undefined) {
    const text = r.text("url")!;
    let u: URL | null = null;
    try {
      u = new URL(text);
    } catch {
      rep.error(urlEntry.line, `url ${JSON.stringify(text)} is not a URL like mqtt://host:1883 or mqtts://host:8883`, urlEntry.valueColumn);
    }
    if (u !== null) {
      if (!MQTT_SCHEMES.includes(u.protocol)) rep.error(urlEntry.line, `url must start with mqtt:// or mqtts://, got ${JSON.stringify(u.protocol.replace(/:$/, ""))}`, urlEntry.valueColumn);
      else if (u.hostname === "") rep.error(urlEntry.line, "url needs a host name or address", urlEntry.valueColumn);
      else if (u.username !== "" || u.password !== "") rep.error(urlEntry.line, "url must not carry credentials: set username and password instead (they are never logged)", urlEntry.valueColumn);
      else if ((u.pathname !== "" && u.pathname !== "/") || u.search !== "" || u.hash !== "") rep.error(urlEntry.line, "url is a broker address only (mqtt://host:port): no path, query or fragment", urlEntry.valueColumn);
      else {
        url = text;
        tls = u.protocol === "mqtts:";
      }
    }
  } else if (enabled) rep.error(r.entry("enabled")!.line, "[mqtt] needs url (mqtt://host:1883 or mqtts://host:8883) when enabled = yes");

  const prefixEntry = r.entry("topic_prefix");
  let topicPrefix: string = MQTT_DEFAULTS.topicPrefix;
  if (prefixEntry !== undefined) {
    const p = r.text("topic_prefix")!;
    const problem = /[+#]/.test(p)
      ? "must not contain the wildcards + or #"
      : p.startsWith("$")
        ? "must not start with $ (topics of the broker itself)"
        : p.startsWith("/") || p.endsWith("/")
          ? "must not start or end with /"
          : /[\u0000-\u001f\u007f-\u009f]/.test(p)
            ? "must not contain control characters"
            : null;
    if (problem !== null) rep.error(prefixEntry.line, `topic_prefix ${problem}, got ${JSON.stringify(p)}`, prefixEntry.valueColumn);
    else topicPrefix = p;
  }
  const username = r.text("username") ?? null;
  const password = r.text("password") ?? null;
  if (password !== null && username === null && protocolVersion === 4) {
    rep.error(r.entry("password")!.line, "password needs username with protocol_version 3.1.1 (MQTT 5 allows a password alone)", r.entry("password")!.column);
  }
  const file = (name: string): string | null => {
    const v = r.text(name);
    if (v === undefined) return null;
    if (!tls && url !== null) rep.warn(r.entry(name)!.line, `${name} has no effect without TLS: use an mqtts:// url`, r.entry(name)!.column);
    return resolve(v);
  };
  const caFile = file("ca_file");
  const certFile = file("cert_file");
  const keyFile = file("key_file");
  if ((certFile === null) !== (keyFile === null)) {
    const e = r.entry(certFile !== null ? "cert_file" : "key_file")!;
    rep.error(e.line, "cert_file and key_file go together: the client certificate and its private key", e.column);
  }
  return {
    enabled,
    url,
    clientId: r.text("client_id") ?? null,
    username,
    password,
    topicPrefix,
    payload: (r.text("payload") ?? MQTT_DEFAULTS.payload) as "binary" | "json",
    protocolVersion,
    caFile,
    certFile,
    keyFile,
    keepaliveS: r.num("keepalive") ?? MQTT_DEFAULTS.keepaliveS,
    maxInflight: r.num("max_inflight") ?? MQTT_DEFAULTS.maxInflight,
    reconnectMaxMs: (r.num("reconnect_max") ?? MQTT_DEFAULTS.reconnectMaxS) * 1000,
  };
}

const KEY_OWNERS = new Map<string, InterfaceType[]>();
for (const t of SUPPORTED_INTERFACE_TYPES) for (const k of Object.keys(TYPE_OPTIONS[t])) KEY_OWNERS.set(k, [...(KEY_OWNERS.get(k) ?? []), t]);

interface InterfaceContext {
  rep: Reporter;
  defaults: InterfaceDefaults;
  /** From a Reticulum file: unknown keys warn (rnsd ignores them) instead of failing. */
  importing: boolean;
}

/** Checks one [[name]] interface subsection; null when it has errors (which are reported). */
export function readInterface(s: ConfigSection, ctx: InterfaceContext): InterfaceConfig | null {
  const { rep } = ctx;
  const errorsBefore = rep.errorCount();
  const name = s.name;
  if (name.length > CONFIG_LIMITS.maxInterfaceNameChars) rep.error(s.line, `interface name is longer than ${CONFIG_LIMITS.maxInterfaceNameChars} characters`);
  const typeEntry = s.entries.find((e) => e.key === "type");
  const supported = SUPPORTED_INTERFACE_TYPES.join(", ");
  if (!typeEntry) {
    rep.error(s.line, `interface "${name}" has no type; set type = one of ${supported}`);
    return null;
  }
  const type = typeof typeEntry.value === "string" ? typeEntry.value.trim() : "";
  if (!(SUPPORTED_INTERFACE_TYPES as readonly string[]).includes(type)) {
    const known = (RETICULUM_ONLY_INTERFACE_TYPES as readonly string[]).includes(type);
    const near = known ? null : suggest(type, SUPPORTED_INTERFACE_TYPES);
    const what = known ? `${type} is a Reticulum interface type kosd does not support yet` : `unknown interface type ${JSON.stringify(typeEntry.raw)}${near ? ` (did you mean ${near}?)` : ""}`;
    rep.error(typeEntry.line, `interface "${name}": ${what}; supported types: ${supported}`, typeEntry.valueColumn);
    return null;
  }
  const t = type as InterfaceType;
  const where = `interface "${name}" (${t})`;
  const r = new SectionReader(s, { ...COMMON_INTERFACE_OPTIONS, ...TYPE_OPTIONS[t] }, rep, {
    where,
    unknown: ctx.importing ? "warn" : "error",
    hint: (key) => {
      const owners = KEY_OWNERS.get(key);
      return owners ? `it is an option of ${owners.join(", ")}` : null;
    },
  });
  for (const sub of s.sections) rep.error(sub.line, `${where} has a subsection "${sub.name}"; kosd's interface types take none`);
  const need = (...names: string[]): void => {
    const missing = names.filter((n) => !r.given(n));
    if (missing.length > 0) rep.error(s.line, `${where} needs ${missing.join(", ")}`);
  };

  const enabled = r.bool("enabled");
  if (enabled === undefined) rep.warn(s.line, `${where} has no "enabled = yes"; it stays disabled, as in Reticulum`);
  const networkName = r.text("networkname") || null;
  const passphrase = r.text("passphrase") || null;
  const ifacBits = r.num("ifac_size");
  if (ifacBits !== undefined && ifacBits % 8 !== 0) rep.warn(r.entry("ifac_size")!.line, `ifac_size ${ifacBits} is not a whole number of bytes; ${Math.floor(ifacBits / 8) * 8} bits are used, as in Reticulum`);
  if (ifacBits !== undefined && networkName === null && passphrase === null) rep.warn(r.entry("ifac_size")!.line, "ifac_size has no effect without networkname or passphrase");
  const control = controlSettings(r, ctx.defaults.ingress, ctx.defaults.egress);
  let target = r.num("announce_rate_target");
  let grace = r.num("announce_rate_grace");
  let penalty = r.num("announce_rate_penalty");
  if (target !== undefined) {
    grace ??= 0;
    penalty ??= 0;
  }
  if (ctx.defaults.transportEnabled) {
    const d = ctx.defaults.announceRate;
    target ??= d.targetMs / 1000;
    grace ??= d.grace;
    penalty ??= d.penaltyMs / 1000;
  }
  const common = {
    name,
    enabled: enabled ?? false,
    mode: (r.text("mode") ?? "full") as InterfaceMode,
    outgoing: r.bool("outgoing") ?? true,
    bitrateBps: r.num("bitrate") ?? null,
    announceCap: (r.num("announce_cap") ?? INTERFACE_DEFAULTS.announceCapPercent) / 100,
    ifac: networkName === null && passphrase === null ? null : { networkName, passphrase, sizeBytes: ifacBits !== undefined ? Math.floor(ifacBits / 8) : DEFAULT_IFAC_BYTES[t] },
    ingress: { enabled: r.bool("ingress_control") ?? true, ...control.ingress },
    egress: control.egress,
    announceRate: target === undefined ? null : { targetMs: target * 1000, grace: grace ?? 0, penaltyMs: (penalty ?? 0) * 1000 },
    origin: { file: rep.file, line: s.line },
  };

  let config: InterfaceConfig | null = null;
  switch (t) {
    case "TCPClientInterface":
      need("target_host", "target_port");
      config = {
        ...common, type: t, targetHost: r.text("target_host") ?? "", targetPort: r.num("target_port") ?? 0, kissFraming: r.bool("kiss_framing") ?? false,
        i2pTunneled: r.bool("i2p_tunneled") ?? false, connectTimeoutMs: (r.num("connect_timeout") ?? 5) * 1000,
        maxReconnectTries: r.num("max_reconnect_tries") ?? null, fixedMtu: r.num("fixed_mtu") ?? null,
      };
      break;
    case "TCPServerInterface": {
      need("listen_port");
      const device = r.text("device") ?? null;
      if (!r.given("device")) need("listen_ip");
      else if (r.has("listen_ip")) rep.warn(r.entry("listen_ip")!.line, "listen_ip is ignored because device is set, as in Reticulum");
      config = {
        ...common, type: t, device, listenIp: device === null ? (r.text("listen_ip") ?? null) : null, listenPort: r.num("listen_port") ?? 0,
        preferIpv6: r.bool("prefer_ipv6") ?? false, i2pTunneled: r.bool("i2p_tunneled") ?? false,
      };
      break;
    }
    case "UDPInterface": {
      const device = r.text("device") ?? null;
      const c = {
        ...common, type: t, device, listenIp: r.text("listen_ip") ?? null, listenPort: r.num("listen_port") ?? r.num("port") ?? null,
        forwardIp: r.text("forward_ip") ?? null, forwardPort: r.num("forward_port") ?? r.num("port") ?? null,
      };
      const receives = (c.listenIp !== null || device !== null) && c.listenPort !== null;
      const sends = (c.forwardIp !== null || device !== null) && c.forwardPort !== null;
      if (!receives && !sends) rep.error(s.line, `${where} needs listen_ip and listen_port to receive, or forward_ip and forward_port to send (device and port fill in both)`);
      else if (!receives || !sends) rep.warn(s.line, `${where} only ${receives ? "receives" : "sends"}: it has no ${receives ? "forward_ip/forward_port" : "listen_ip/listen_port"}`);
      config = c;
      break;
    }
    case "AutoInterface":
      config = {
        ...common, type: t, groupId: r.text("group_id") ?? "reticulum", discoveryScope: (r.text("discovery_scope") ?? "link") as "link",
        multicastAddressType: (r.text("multicast_address_type") ?? "temporary") as "temporary",
        discoveryPort: r.num("discovery_port") ?? 29716, dataPort: r.num("data_port") ?? 42671,
        devices: r.list("devices") ?? [], ignoredDevices: r.list("ignored_devices") ?? [],
      };
      break;
    case "RNodeInterface": {
      const radio = readRadioOptions(r, rep);
      need("port", "frequency", ...(radio.preset === null ? ["bandwidth", "spreadingfactor", "codingrate"] : []));
      const port = r.has("port") ? rnodePort(r.text("port")!) : null;
      if (typeof port === "string") rep.error(r.entry("port")!.line, port, r.entry("port")!.valueColumn);
      const callsign = r.text("id_callsign");
      const interval = r.num("id_interval");
      if ((callsign === undefined) !== (interval === undefined)) {
        const e = r.entry(callsign !== undefined ? "id_callsign" : "id_interval")!;
        rep.error(e.line, "id_callsign and id_interval go together: the radio sends its callsign every id_interval seconds", e.column);
      }
      const adapterEntry = r.entry("ble_adapter");
      const bleAdapter = r.text("ble_adapter") ?? null;
      if (adapterEntry !== undefined && bleAdapter !== null) {
        if (!/^hci\d{1,3}$/.test(bleAdapter)) rep.error(adapterEntry.line, `ble_adapter must be a BlueZ adapter name like hci0, got ${JSON.stringify(bleAdapter)}`, adapterEntry.valueColumn);
        else if (typeof port === "object" && port !== null && port.kind !== "ble") rep.warn(adapterEntry.line, "ble_adapter applies to ble:// ports only; ignored", adapterEntry.column);
      }
      const rnode: RNodeConfig = {
        ...common, type: t, port: typeof port === "object" && port !== null ? port : { kind: "serial", path: "" },
        frequencyHz: r.num("frequency") ?? 0, bandwidthHz: r.num("bandwidth") ?? radio.preset?.bandwidthHz ?? 0, txPowerDbm: r.num("txpower") ?? 0,
        spreadingFactor: r.num("spreadingfactor") ?? radio.preset?.spreadingFactor ?? 0, codingRate: r.num("codingrate") ?? radio.preset?.codingRate ?? 0,
        flowControl: r.bool("flow_control") ?? false,
        id: callsign !== undefined && interval !== undefined ? { callsign, intervalMs: interval * 1000 } : null,
        airtimeLimitShortPct: r.num("airtime_limit_short") ?? null, airtimeLimitLongPct: r.num("airtime_limit_long") ?? null,
        bleAdapter: typeof port === "object" && port !== null && port.kind === "ble" ? bleAdapter : null,
        radio: { board: null, region: null, subBand: null, modemPreset: null, antennaGainDbi: null, dutyCyclePct: null },
      };
      // Limits only make sense on settings that are all there and valid.
      if (rep.errorCount() === errorsBefore) checkRadioLimits(rnode, radio, r, rep, s.line);
      config = rnode;
      break;
    }
  }
  return rep.errorCount() > errorsBefore ? null : config;
}

/** `/dev/ttyUSB0`, `ble://` (first paired), `ble://NAME`, `ble://AA:BB:CC:DD:EE:FF`, `tcp://HOST`; a string is an error. */
function rnodePort(text: string): RNodePort | string {
  const lower = text.toLowerCase();
  if (lower.startsWith("ble://")) {
    const rest = text.slice(6);
    if (rest === "") return { kind: "ble", name: null, address: null };
    if (rest.length === 17 && rest.split(":").length === 6) {
      return /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/.test(rest) ? { kind: "ble", name: null, address: rest.toUpperCase() } : `port ${JSON.stringify(text)} is not a BLE address like ble://AA:BB:CC:DD:EE:FF`;
    }
    return { kind: "ble", name: rest, address: null };
  }
  if (lower.startsWith("tcp://")) {
    const rest = text.slice(6);
    return rest === "" || /\s/.test(rest) ? `port ${JSON.stringify(text)} needs a host after tcp://` : { kind: "tcp", host: rest };
  }
  if (lower.includes("://")) return `port ${JSON.stringify(text)} has an unknown scheme; use a serial device path, ble:// or tcp://`;
  return { kind: "serial", path: text };
}

/** Reads a config file with the byte cap applied before reading it all, and checks it is UTF-8. */
export function readConfigFile(file: string, maxBytes: number = CONFIG_LIMITS.maxFileBytes): { ok: true; text: string } | { ok: false; message: string; line?: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch (e) {
    return { ok: false, message: `cannot read: ${describeError(e)}` };
  }
  try {
    if (fs.fstatSync(fd).isDirectory()) return { ok: false, message: "cannot read: it is a directory" };
    const buf = Buffer.alloc(maxBytes + 1);
    let size = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, size, buf.length - size, null);
      if (n === 0) break;
      size += n;
      if (size > maxBytes) return { ok: false, message: `file is larger than ${maxBytes} bytes; refusing to read it` };
    }
    const bytes = buf.subarray(0, size);
    try {
      return { ok: true, text: new TextDecoder("utf-8", { fatal: true }).decode(bytes) };
    } catch {
      let line = 1;
      let start = 0;
      for (let i = 0; i <= size; i++) {
        if (i < size && bytes[i] !== 0x0a) continue;
        try {
          new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(start, i));
        } catch {
          return { ok: false, message: "line is not valid UTF-8", line };
        }
        line++;
        start = i + 1;
      }
      return { ok: false, message: "file is not valid UTF-8" };
    }
  } catch (e) {
    return { ok: false, message: `cannot read: ${describeError(e)}` };
  } finally {
    fs.closeSync(fd);
  }
}

function describeError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES" || code === "EPERM") return "permission denied";
  if (code === "EISDIR") return "it is a directory";
  return code ?? String(e);
}

export function nodeConfigHost(): ConfigHost {
  return { env: process.env, cwd: process.cwd(), homeDir: os.homedir(), readText: (f) => readConfigFile(f) };
}
