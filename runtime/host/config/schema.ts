// What kosd accepts in its config file: option tables (type, range, aliases, Reticulum options accepted but
// ignored), value coercion in the dialect's terms (yes/no booleans, comma lists), a reader that checks a
// section against a table with line-precise messages, and the typed interface configurations. Options and
// defaults follow RNS 1.4.2 (Reticulum.py __apply_config and _synthesize_interface, Interfaces/*.py).
// Every option is documented in ./README.md.
import type { InterfaceMode } from "../../mesh/types.js";
import type { ConfigEntry, ConfigSection } from "./parse.js";
import type { RadioProfile } from "./radio.js";

export interface ConfigIssue {
  /** The file as the operator named it ("<defaults>" when there is none). */
  file: string;
  line: number;
  column?: number;
  message: string;
}

/** Collects issues for one file; the loader owns one per file it reads. */
export interface Reporter {
  readonly file: string;
  error(line: number, message: string, column?: number): void;
  warn(line: number, message: string, column?: number): void;
  /** Errors reported so far through this reporter (capped lists still count). */
  errorCount(): number;
}

export type Spec =
  | { t: "bool" }
  | { t: "int"; min: number; max: number; what?: string }
  | { t: "float"; min: number; max: number; aboveMin?: boolean; what?: string }
  /** `word`: no whitespace; `secret`: never echoed in messages. */
  | { t: "string"; word?: boolean; nonEmpty?: boolean; maxBytes?: number; secret?: boolean }
  /** Case-insensitive spellings mapped to canonical values. */
  | { t: "enum"; values: Readonly<Record<string, string>>; shown: string }
  /** A comma list (a single value is a one-item list); `hash`: 32 hex digits each, lower-cased. */
  | { t: "list"; hash?: boolean };

export interface OptionDef {
  spec: Spec;
  /** Another spelling of the named option; setting both is an error. */
  alias?: string;
  /** Accepted for Reticulum compatibility and validated, but kosd does not act on it (a warning says why). */
  ignored?: string;
}
export type OptionTable = Readonly<Record<string, OptionDef>>;

const MAX_INT = Number.MAX_SAFE_INTEGER;
export const bool = (): OptionDef => ({ spec: { t: "bool" } });
export const int = (min: number, max: number, what?: string): OptionDef => ({ spec: what ? { t: "int", min, max, what } : { t: "int", min, max } });
export const float = (min: number, max: number, what?: string, aboveMin = false): OptionDef => ({
  spec: what ? { t: "float", min, max, what, aboveMin } : { t: "float", min, max, aboveMin },
});
export const str = (opts: { word?: boolean; nonEmpty?: boolean; maxBytes?: number; secret?: boolean } = {}): OptionDef => ({ spec: { t: "string", ...opts } });
export const oneOf = (values: Record<string, string>): OptionDef => ({
  spec: { t: "enum", values, shown: [...new Set(Object.values(values))].join(", ") },
});
export const list = (hash = false): OptionDef => ({ spec: { t: "list", hash } });
export const port = (): OptionDef => int(1, 65535, "a port number 1-65535");
/** The spec of an alias is never used: values are checked against the named option's. */
export const aliasOf = (name: string): OptionDef => ({ spec: { t: "bool" }, alias: name });
export const ignoredOpt = (d: OptionDef, why: string): OptionDef => ({ ...d, ignored: why });

const BOOLS: Readonly<Record<string, boolean>> = { yes: true, no: false, true: true, false: false, on: true, off: false, "1": true, "0": false };
const INT_RE = /^[+-]?\d+(?:_\d+)*$/;
const FLOAT_RE = /^[+-]?(?:\d+(?:_\d+)*(?:\.(?:\d+(?:_\d+)*)?)?|\.\d+(?:_\d+)*)(?:[eE][+-]?\d+)?$/;

/** Shows a value in a message: quoted, escaped, cut at 60 characters. */
export function shown(raw: string): string {
  return JSON.stringify(raw.length > 60 ? raw.slice(0, 57) + "..." : raw);
}

/** A table lookup that never reaches Object.prototype: keys come from the file ("constructor", "__proto__"). */
export function own<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** The boolean of a dialect word, or undefined. */
export function parseBool(text: string): boolean | undefined {
  return own(BOOLS, text.trim().toLowerCase());
}

/** Coerces an entry's value to its option's type; a string is the error message. */
export function coerce(key: string, entry: ConfigEntry, spec: Spec): { value: unknown } | string {
  const got = spec.t === "string" && spec.secret ? "" : `, got ${shown(entry.raw)}`;
  if (spec.t === "list") {
    const items = typeof entry.value === "string" ? (entry.value.trim() === "" ? [] : [entry.value]) : entry.value;
    const out: string[] = [];
    for (const item of items) {
      const v = item.trim();
      if (spec.hash && !/^[0-9a-fA-F]{32}$/.test(v)) return `${key} must list identity hashes of 32 hex digits, got ${shown(item)}`;
      if (v === "" || /\s/.test(v)) return `${key} items must be non-empty words without spaces, got ${shown(item)}`;
      out.push(spec.hash ? v.toLowerCase() : v);
    }
    return { value: out };
  }
  if (typeof entry.value !== "string") {
    return `${key} takes a single value but got a comma-separated list${spec.t === "string" && spec.secret ? "" : ` ${shown(entry.raw)}`} (quote the value if the comma belongs to it)`;
  }
  const text = entry.value;
  switch (spec.t) {
    case "bool": {
      const b = parseBool(text);
      return b === undefined ? `${key} must be yes or no (or true/false, on/off, 1/0)${got}` : { value: b };
    }
    case "int": {
      const t = text.trim();
      const n = INT_RE.test(t) ? Number(t.replace(/_/g, "")) : NaN;
      const what = spec.what ?? `a whole number from ${spec.min} to ${spec.max}`;
      return Number.isSafeInteger(n) && n >= spec.min && n <= spec.max ? { value: n } : `${key} must be ${what}${got}`;
    }
    case "float": {
      const t = text.trim();
      const n = FLOAT_RE.test(t) ? Number(t.replace(/_/g, "")) : NaN;
      const low = spec.aboveMin ? n > spec.min : n >= spec.min;
      const what = spec.what ?? `a number from ${spec.min} to ${spec.max}`;
      return Number.isFinite(n) && low && n <= spec.max ? { value: n } : `${key} must be ${what}${got}`;
    }
    case "string": {
      if (spec.nonEmpty && text.trim() === "") return `${key} must not be empty`;
      if (spec.word && /\s/.test(text)) return `${key} must not contain spaces${got}`;
      if (spec.maxBytes !== undefined && Buffer.byteLength(text, "utf8") > spec.maxBytes) return `${key} is longer than ${spec.maxBytes} bytes`;
      return { value: text };
    }
    case "enum": {
      const v = own(spec.values, text.trim().toLowerCase());
      return v === undefined ? `${key} must be one of ${spec.shown}${got}` : { value: v };
    }
  }
}

/** The closest candidate within a small edit distance, for "did you mean" hints. */
export function suggest(word: string, candidates: Iterable<string>): string | null {
  const w = word.toLowerCase();
  let best: string | null = null;
  let bestDistance = Math.max(2, Math.floor(w.length / 3)) + 1;
  for (const c of candidates) {
    const d = c.toLowerCase() === w ? 0 : editDistance(w, c.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap || a.length > 64 || b.length > 64) return cap;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const swap = i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1] ? prev[j - 2]! : Infinity;
      row.push(Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1), swap));
    }
    prev = row;
  }
  return prev[b.length]!;
}

const MAX_SUGGESTIONS = 20;

export interface ReaderOptions {
  /** How messages name the section: `[kosd]`, `interface "Uplink" (TCPClientInterface)`. */
  where: string;
  /** Unknown keys are errors in kosd's own file, warnings when importing a Reticulum file (rnsd ignores them). */
  unknown: "error" | "warn";
  /** Extra words for an unknown key, e.g. which interface types have it. */
  hint?: (key: string) => string | null;
}

/**
 * Checks every key of a section against a table: unknown keys (with a suggestion), alias clashes, values of
 * the wrong type. Valid values of acted-on options are kept under their canonical names.
 */
export class SectionReader {
  readonly #values = new Map<string, { value: unknown; entry: ConfigEntry }>();
  readonly #given = new Set<string>();

  constructor(section: ConfigSection, table: OptionTable, report: Reporter, opts: ReaderOptions) {
    let unknownCount = 0;
    for (const entry of section.entries) {
      const def = own(table, entry.key);
      if (def === undefined) {
        // Suggestions cost an edit distance per option: only the first few unknown keys get one.
        const near = ++unknownCount <= MAX_SUGGESTIONS ? suggest(entry.key, Object.keys(table)) : null;
        const hint = opts.hint?.(entry.key);
        const message =
          `unknown option "${entry.key}" in ${opts.where}` + (hint ? ` (${hint})` : near ? `; did you mean "${near}"?` : "");
        if (opts.unknown === "error") report.error(entry.line, message, entry.column);
        else report.warn(entry.line, message + "; ignored", entry.column);
        continue;
      }
      const name = def.alias ?? entry.key;
      const canonical = own(table, name)!;
      this.#given.add(name);
      const earlier = this.#values.get(name);
      if (earlier !== undefined) {
        report.error(entry.line, `${entry.key} and ${earlier.entry.key} (line ${earlier.entry.line}) set the same option; keep one`, entry.column);
        continue;
      }
      const result = coerce(entry.key, entry, canonical.spec);
      if (typeof result === "string") {
        report.error(entry.line, result, entry.valueColumn);
        continue;
      }
      if (canonical.ignored !== undefined) report.warn(entry.line, `${entry.key} is ignored: ${canonical.ignored}`, entry.column);
      else this.#values.set(name, { value: result.value, entry });
    }
  }

  /** Set to a valid value. */
  has(name: string): boolean {
    return this.#values.has(name);
  }
  /** Set at all, valid or not (for "needs X" checks that should not repeat a value error). */
  given(name: string): boolean {
    return this.#given.has(name);
  }
  /** The entry that set an option (alias spellings included), for line numbers. */
  entry(name: string): ConfigEntry | undefined {
    return this.#values.get(name)?.entry;
  }
  bool(name: string): boolean | undefined {
    return this.#values.get(name)?.value as boolean | undefined;
  }
  num(name: string): number | undefined {
    return this.#values.get(name)?.value as number | undefined;
  }
  text(name: string): string | undefined {
    return this.#values.get(name)?.value as string | undefined;
  }
  list(name: string): string[] | undefined {
    return this.#values.get(name)?.value as string[] | undefined;
  }
}

// ---- Options shared by [kosd] (as defaults) and every interface: ingress/egress control, announce rates.

/** Reference defaults, Interfaces/Interface.py (RNS 1.4.2). */
export const INTERFACE_DEFAULTS = {
  maxHeldAnnounces: 256,
  newTimeS: 2 * 60 * 60,
  burstFreqNewHz: 3,
  burstFreqHz: 10,
  prBurstFreqNewHz: 3,
  prBurstFreqHz: 8,
  burstHoldS: 15,
  burstPenaltyS: 15,
  heldReleaseIntervalS: 5,
  egressPrFreqHz: 5,
  egressControl: false,
  announceRateTargetS: 3600,
  announceRatePenaltyS: 0,
  announceRateGrace: 5,
  /** Reticulum.ANNOUNCE_CAP, percent of the bitrate. */
  announceCapPercent: 2,
} as const;

const seconds = (min: number): OptionDef => float(min, 1e9, `a number of seconds, ${min} or more`);
const hertz = (): OptionDef => float(0, 1e6, "a rate in announces per second, 0 or more");

export const CONTROL_OPTIONS: OptionTable = {
  egress_control: bool(),
  ec_pr_freq: hertz(),
  ic_max_held_announces: int(0, 65536),
  ic_burst_hold: seconds(0),
  ic_burst_freq_new: hertz(),
  ic_burst_freq: hertz(),
  ic_pr_burst_freq_new: hertz(),
  ic_pr_burst_freq: hertz(),
  ic_new_time: seconds(0),
  ic_burst_penalty: seconds(0),
  ic_held_release_interval: seconds(0),
};

const DISCOVERY = "interface discovery is not implemented by kosd";
const SHARED = "kosd has no shared instance; local programs reach it through control_socket";
const NOT_YET = "not implemented by kosd";

/** [kosd] (also spelled [reticulum], so a Reticulum config's main section is accepted). */
export const MAIN_OPTIONS: OptionTable = {
  data_dir: str({ nonEmpty: true }),
  control_socket: str({ nonEmpty: true }),
  log_level: oneOf({ error: "error", warn: "warn", warning: "warn", info: "info", debug: "debug" }),
  log_json: bool(),
  enable_transport: bool(),
  respond_to_probes: bool(),
  use_implicit_proof: bool(),
  panic_on_interface_error: bool(),
  blackholed_identities: list(true),
  persist_interval: int(60, 7 * 24 * 3600, "a number of seconds from 60 to 604800"),
  include_reticulum_interfaces: str({ nonEmpty: true }),
  default_ar_target: int(1, MAX_INT, "a whole number of seconds, 1 or more"),
  default_ar_grace: int(0, MAX_INT),
  default_ar_penalty: int(0, MAX_INT, "a whole number of seconds, 0 or more"),
  ...CONTROL_OPTIONS,
  share_instance: ignoredOpt(bool(), SHARED),
  instance_name: ignoredOpt(str(), SHARED),
  shared_instance_type: ignoredOpt(str(), SHARED),
  shared_instance_port: ignoredOpt(port(), SHARED),
  instance_control_port: ignoredOpt(port(), SHARED),
  rpc_key: ignoredOpt(str({ secret: true }), SHARED),
  static_transport_identity: ignoredOpt(bool(), NOT_YET),
  local_hops_delta: ignoredOpt(bool(), NOT_YET),
  network_identity: ignoredOpt(str(), NOT_YET),
  link_mtu_discovery: ignoredOpt(bool(), NOT_YET),
  force_shared_instance_bitrate: ignoredOpt(int(-MAX_INT, MAX_INT), SHARED),
  enable_remote_management: ignoredOpt(bool(), "remote management is not implemented by kosd"),
  remote_management_allowed: ignoredOpt(list(true), "remote management is not implemented by kosd"),
  default_gravity: ignoredOpt(int(-MAX_INT, MAX_INT), NOT_YET),
  discover_interfaces: ignoredOpt(bool(), DISCOVERY),
  interface_discovery_sources: ignoredOpt(list(true), DISCOVERY),
  required_discovery_value: ignoredOpt(int(-MAX_INT, MAX_INT), DISCOVERY),
  autoconnect_discovered_interfaces: ignoredOpt(int(-MAX_INT, MAX_INT), DISCOVERY),
  autoconnect_interface_mode: ignoredOpt(str(), DISCOVERY),
  autoconnect_interface_gravity: ignoredOpt(int(-MAX_INT, MAX_INT), DISCOVERY),
  autoconnect_announces_to_internal: ignoredOpt(bool(), DISCOVERY),
  publish_blackhole: ignoredOpt(bool(), "blackhole publishing is not implemented by kosd"),
  blackhole_sources: ignoredOpt(list(true), "remote blackhole lists are not implemented by kosd; use blackholed_identities"),
  blackhole_update_interval: ignoredOpt(float(0, 1e9), "remote blackhole lists are not implemented by kosd"),
};

/** [logging], Reticulum's spelling: loglevel 0-8 maps onto kosd's four levels. */
export const LOGGING_OPTIONS: OptionTable = {
  loglevel: int(0, 8, "a Reticulum log level from 0 to 8"),
  logtimestamps: ignoredOpt(bool(), "kosd always writes timestamps"),
};

/** Reticulum levels 0 critical, 1 error, 2 warning, 3 notice, 4 info, 5 verbose, 6 debug, 7 path, 8 extreme. */
export function logLevelOfReticulum(level: number): "error" | "warn" | "info" | "debug" {
  return level <= 1 ? "error" : level === 2 ? "warn" : level <= 4 ? "info" : "debug";
}

// ---- [mqtt]: the bridge that publishes the action log to headquarters (../mqtt-bridge.ts).

export const MQTT_DEFAULTS = {
  topicPrefix: "kos/log",
  payload: "binary",
  protocolVersion: 5,
  keepaliveS: 60,
  maxInflight: 32,
  reconnectMaxS: 60,
} as const;

export const MQTT_OPTIONS: OptionTable = {
  enabled: bool(),
  url: str({ word: true, nonEmpty: true, maxBytes: 1024 }),
  client_id: str({ word: true, nonEmpty: true, maxBytes: 256 }),
  username: str({ nonEmpty: true, maxBytes: 1024 }),
  password: str({ secret: true, maxBytes: 1024 }),
  topic_prefix: str({ word: true, nonEmpty: true, maxBytes: 256 }),
  payload: oneOf({ binary: "binary", msgpack: "binary", json: "json" }),
  protocol_version: oneOf({ "5": "5", "5.0": "5", "3.1.1": "4", "4": "4" }),
  ca_file: str({ nonEmpty: true }),
  cert_file: str({ nonEmpty: true }),
  key_file: str({ nonEmpty: true }),
  keepalive: int(0, 65535, "a whole number of seconds from 0 to 65535"),
  max_inflight: int(1, 1000, "a whole number from 1 to 1000"),
  reconnect_max: int(1, 3600, "a whole number of seconds from 1 to 3600"),
};

/** The [mqtt] section, defaults filled in. Paths are absolute. `password` is a secret: never log it. */
export interface MqttConfig {
  enabled: boolean;
  /** mqtt://host[:port] or mqtts://host[:port], without credentials; null when not configured. */
  url: string | null;
  /** null: kosd-<first 16 hex digits of the node identity hash>. */
  clientId: string | null;
  username: string | null;
  password: string | null;
  topicPrefix: string;
  payload: "binary" | "json";
  /** 5 (MQTT 5.0) or 4 (MQTT 3.1.1). */
  protocolVersion: 4 | 5;
  caFile: string | null;
  certFile: string | null;
  keyFile: string | null;
  keepaliveS: number;
  maxInflight: number;
  reconnectMaxMs: number;
}

// ---- Interfaces: [[name]] subsections of [interfaces].

export const SUPPORTED_INTERFACE_TYPES = ["AutoInterface", "TCPClientInterface", "TCPServerInterface", "UDPInterface", "RNodeInterface"] as const;
export type InterfaceType = (typeof SUPPORTED_INTERFACE_TYPES)[number];
/** Types RNS 1.4.2 builds in that kosd does not drive (yet). */
export const RETICULUM_ONLY_INTERFACE_TYPES = [
  "BackboneInterface", "BackboneClientInterface", "I2PInterface", "SerialInterface", "PipeInterface",
  "KISSInterface", "AX25KISSInterface", "RNodeMultiInterface", "WeaveInterface",
] as const;

export interface IngressControl {
  enabled: boolean;
  maxHeldAnnounces: number;
  burstHoldMs: number;
  burstFreqNewHz: number;
  burstFreqHz: number;
  prBurstFreqNewHz: number;
  prBurstFreqHz: number;
  newTimeMs: number;
  burstPenaltyMs: number;
  heldReleaseIntervalMs: number;
}
export interface EgressControl {
  enabled: boolean;
  prFreqHz: number;
}
/** Per-destination announce rate limit on an interface (Transport drops announces that come faster). */
export interface AnnounceRate {
  targetMs: number;
  grace: number;
  penaltyMs: number;
}
/** Interface access code: derived from the network name and/or passphrase (wire/ifac.ts). */
export interface IfacConfig {
  networkName: string | null;
  passphrase: string | null;
  sizeBytes: number;
}

export interface InterfaceCommon {
  name: string;
  enabled: boolean;
  mode: InterfaceMode;
  outgoing: boolean;
  /** Configured bitrate; null lets the driver estimate it. */
  bitrateBps: number | null;
  /** Share of the bitrate announces may use, 0 < cap <= 1. */
  announceCap: number;
  ifac: IfacConfig | null;
  ingress: IngressControl;
  egress: EgressControl;
  announceRate: AnnounceRate | null;
  /** Where the [[section]] header is, for later messages about this interface. */
  origin: { file: string; line: number };
}
export interface TcpClientConfig extends InterfaceCommon {
  type: "TCPClientInterface";
  targetHost: string;
  targetPort: number;
  kissFraming: boolean;
  i2pTunneled: boolean;
  connectTimeoutMs: number;
  /** null: retry for ever. */
  maxReconnectTries: number | null;
  fixedMtu: number | null;
}
export interface TcpServerConfig extends InterfaceCommon {
  type: "TCPServerInterface";
  /** Listen on this network device's address; listenIp is then null. */
  device: string | null;
  listenIp: string | null;
  listenPort: number;
  preferIpv6: boolean;
  i2pTunneled: boolean;
}
export interface UdpConfig extends InterfaceCommon {
  type: "UDPInterface";
  /** With a device, a missing listen/forward address is that device's broadcast address. */
  device: string | null;
  listenIp: string | null;
  listenPort: number | null;
  forwardIp: string | null;
  forwardPort: number | null;
}
export interface AutoConfig extends InterfaceCommon {
  type: "AutoInterface";
  groupId: string;
  discoveryScope: "link" | "admin" | "site" | "organisation" | "global";
  multicastAddressType: "temporary" | "permanent";
  discoveryPort: number;
  dataPort: number;
  devices: string[];
  ignoredDevices: string[];
}
export type RNodePort = { kind: "serial"; path: string } | { kind: "ble"; name: string | null; address: string | null } | { kind: "tcp"; host: string };
export interface RNodeConfig extends InterfaceCommon {
  type: "RNodeInterface";
  port: RNodePort;
  frequencyHz: number;
  bandwidthHz: number;
  txPowerDbm: number;
  spreadingFactor: number;
  codingRate: number;
  flowControl: boolean;
  id: { callsign: string; intervalMs: number } | null;
  airtimeLimitShortPct: number | null;
  airtimeLimitLongPct: number | null;
  /** BlueZ adapter of a ble:// radio (`ble_adapter`, e.g. "hci0"); null: BlueZ's first. */
  bleAdapter: string | null;
  /** Board, region and modem preset the settings were checked against (./radio.ts); all null when none is named. */
  radio: RadioProfile;
}
export type InterfaceConfig = TcpClientConfig | TcpServerConfig | UdpConfig | AutoConfig | RNodeConfig;

const MODES = {
  full: "full", gateway: "gateway", gw: "gateway", access_point: "access_point", accesspoint: "access_point", ap: "access_point",
  pointtopoint: "point_to_point", ptp: "point_to_point", roaming: "roaming", boundary: "boundary",
};
const IGNORED_IFACE = "not implemented by kosd";

export const COMMON_INTERFACE_OPTIONS: OptionTable = {
  type: str(),
  enabled: bool(),
  interface_enabled: aliasOf("enabled"),
  mode: oneOf(MODES),
  interface_mode: aliasOf("mode"),
  outgoing: bool(),
  bitrate: int(5, 1e12, "a bitrate in bits per second, 5 or more"),
  announce_cap: float(0, 100, "a percentage above 0 and at most 100", true),
  ifac_size: int(8, 512, "a size in bits from 8 to 512"),
  networkname: str(),
  network_name: aliasOf("networkname"),
  passphrase: str({ secret: true }),
  pass_phrase: aliasOf("passphrase"),
  ingress_control: bool(),
  ...CONTROL_OPTIONS,
  announce_rate_target: int(1, MAX_INT, "a whole number of seconds, 1 or more"),
  announce_rate_grace: int(0, MAX_INT),
  announce_rate_penalty: int(0, MAX_INT, "a whole number of seconds, 0 or more"),
  gravity: ignoredOpt(int(-MAX_INT, MAX_INT), IGNORED_IFACE),
  bootstrap_only: ignoredOpt(bool(), IGNORED_IFACE),
  recursive_prs: ignoredOpt(bool(), IGNORED_IFACE),
  announces_from_internal: ignoredOpt(bool(), IGNORED_IFACE),
  announces_to_internal: ignoredOpt(bool(), IGNORED_IFACE),
  ignore_config_warnings: ignoredOpt(bool(), IGNORED_IFACE),
  discoverable: ignoredOpt(bool(), DISCOVERY + " (the interface keeps its configured mode)"),
  ...Object.fromEntries(
    ["announce_interval", "discovery_stamp_value", "discovery_name", "discovery_encrypt", "reachable_on", "publish_ifac", "location_cmd",
      "latitude", "longitude", "height", "discovery_frequency", "discovery_bandwidth", "discovery_modulation"].map((k) => [k, ignoredOpt(str(), DISCOVERY)]),
  ),
};

const host = (): OptionDef => str({ word: true, nonEmpty: true });
export const TYPE_OPTIONS: Readonly<Record<InterfaceType, OptionTable>> = {
  TCPClientInterface: {
    target_host: host(), target_port: port(), kiss_framing: bool(), i2p_tunneled: bool(),
    connect_timeout: int(1, 3600, "a whole number of seconds from 1 to 3600"), max_reconnect_tries: int(0, MAX_INT), fixed_mtu: int(500, 262144),
  },
  TCPServerInterface: { listen_ip: host(), listen_port: port(), port: aliasOf("listen_port"), device: host(), prefer_ipv6: bool(), i2p_tunneled: bool() },
  UDPInterface: { listen_ip: host(), listen_port: port(), forward_ip: host(), forward_port: port(), port: port(), device: host() },
  AutoInterface: {
    group_id: str({ nonEmpty: true }),
    discovery_scope: oneOf({ link: "link", admin: "admin", site: "site", organisation: "organisation", global: "global" }),
    multicast_address_type: oneOf({ temporary: "temporary", permanent: "permanent" }),
    discovery_port: int(1, 65534, "a port number 1-65534 (the next port is used too)"), data_port: port(),
    devices: list(), ignored_devices: list(),
  },
  RNodeInterface: {
    port: str({ nonEmpty: true }),
    frequency: int(137_000_000, 3_000_000_000, "a frequency in Hz from 137000000 to 3000000000"),
    bandwidth: int(7800, 1_625_000, "a bandwidth in Hz from 7800 to 1625000"),
    txpower: int(0, 37, "a TX power in dBm from 0 to 37"),
    spreadingfactor: int(5, 12, "a spreading factor from 5 to 12"),
    codingrate: int(5, 8, "a coding rate from 5 to 8"),
    flow_control: bool(),
    id_interval: int(1, MAX_INT, "a whole number of seconds, 1 or more"),
    id_callsign: str({ nonEmpty: true, maxBytes: 32 }),
    airtime_limit_short: float(0, 100, "a percentage from 0 to 100"),
    airtime_limit_long: float(0, 100, "a percentage from 0 to 100"),
    board: str({ word: true, nonEmpty: true }),
    region: str({ word: true, nonEmpty: true }),
    sub_band: str({ word: true, nonEmpty: true }),
    modem_preset: str({ word: true, nonEmpty: true }),
    antenna_gain: float(-20, 40, "an antenna gain in dBi from -20 to 40"),
    ble_adapter: str({ word: true, nonEmpty: true }),
  },
};

/** Defaults an interface inherits from [kosd]. */
export interface InterfaceDefaults {
  transportEnabled: boolean;
  ingress: Omit<IngressControl, "enabled">;
  egress: EgressControl;
  announceRate: AnnounceRate;
}

/** Ingress/egress control and announce-rate defaults from a reader of [kosd] or of an interface. */
export function controlSettings(r: SectionReader, base: Omit<IngressControl, "enabled">, egress: EgressControl) {
  const ms = (name: string, d: number): number => (r.num(name) !== undefined ? r.num(name)! * 1000 : d);
  const hz = (name: string, d: number): number => r.num(name) ?? d;
  return {
    ingress: {
      maxHeldAnnounces: r.num("ic_max_held_announces") ?? base.maxHeldAnnounces,
      burstHoldMs: ms("ic_burst_hold", base.burstHoldMs),
      burstFreqNewHz: hz("ic_burst_freq_new", base.burstFreqNewHz),
      burstFreqHz: hz("ic_burst_freq", base.burstFreqHz),
      prBurstFreqNewHz: hz("ic_pr_burst_freq_new", base.prBurstFreqNewHz),
      prBurstFreqHz: hz("ic_pr_burst_freq", base.prBurstFreqHz),
      newTimeMs: ms("ic_new_time", base.newTimeMs),
      burstPenaltyMs: ms("ic_burst_penalty", base.burstPenaltyMs),
      heldReleaseIntervalMs: ms("ic_held_release_interval", base.heldReleaseIntervalMs),
    },
    egress: { enabled: r.bool("egress_control") ?? egress.enabled, prFreqHz: hz("ec_pr_freq", egress.prFreqHz) },
  };
}

const D = INTERFACE_DEFAULTS;
export const BUILTIN_INTERFACE_DEFAULTS: InterfaceDefaults = {
  transportEnabled: false,
  ingress: {
    maxHeldAnnounces: D.maxHeldAnnounces, burstHoldMs: D.burstHoldS * 1000, burstFreqNewHz: D.burstFreqNewHz, burstFreqHz: D.burstFreqHz,
    prBurstFreqNewHz: D.prBurstFreqNewHz, prBurstFreqHz: D.prBurstFreqHz, newTimeMs: D.newTimeS * 1000,
    burstPenaltyMs: D.burstPenaltyS * 1000, heldReleaseIntervalMs: D.heldReleaseIntervalS * 1000,
  },
  egress: { enabled: D.egressControl, prFreqHz: D.egressPrFreqHz },
  announceRate: { targetMs: D.announceRateTargetS * 1000, grace: D.announceRateGrace, penaltyMs: D.announceRatePenaltyS * 1000 },
};

/** Reticulum's DEFAULT_IFAC_SIZE per interface class, in bytes. */
export const DEFAULT_IFAC_BYTES: Readonly<Record<InterfaceType, number>> = {
  AutoInterface: 16, TCPClientInterface: 16, TCPServerInterface: 16, UDPInterface: 16, RNodeInterface: 8,
};
