// Rig files (hil/rig/README.md): which real radio each scenario node uses — a serial port or a BLE address
// per node, with the board (for its power limits) and the region (for the duty cycle) kosd should apply.
// Checked like scenario files: every problem with its line, column and field path.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { builtinCatalog } from "../../boards/index.js";
import { Fields, Issues, text, type Reader, type SchemaIssue } from "../../boards/check.js";
import { childPath, parseJsonWithPositions } from "../../boards/json.js";

export interface RigRadio {
  node: string;
  /** A serial device path, or null for BLE. */
  port: string | null;
  /** A BLE address AA:BB:CC:DD:EE:FF, or null for serial. */
  ble: string | null;
  board: string | null;
}

export interface Rig {
  file: string;
  name: string;
  description: string;
  region: string | null;
  radios: RigRadio[];
}

export type RigResult = { ok: true; rig: Rig } | { ok: false; issues: SchemaIssue[] };

const BLE_ADDRESS = /^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$/;

export function parseRig(source: string, file = "rig.json"): RigResult {
  const parsed = parseJsonWithPositions(source);
  if (!parsed.ok) return { ok: false, issues: [{ file, line: parsed.line, column: parsed.column, path: "", message: parsed.message }] };
  const out = new Issues();
  const catalog = builtinCatalog();
  const known = (kind: "rnode" | "region", what: string): Reader<string> => (v, p, o) => {
    const t = text({ maxChars: 64 })(v, p, o);
    if (t === undefined) return undefined;
    const e = catalog.find(kind, t);
    if (e === undefined) {
      const near = catalog.suggest(kind, t);
      o.add(p, `unknown ${what} "${t}"${near ? `; did you mean "${near}"?` : ""}`);
      return undefined;
    }
    return e.id;
  };
  const f = new Fields(parsed.value, "", out, ["name", "description", "region", "radios"]);
  const name = f.req("name", text({ maxChars: 80 }));
  const description = f.opt("description", text({ maxChars: 2000 }), "");
  const region = f.opt("region", known("region", "region"), null as string | null);
  const radios = f.req("radios", (v, p, o) => {
    if (typeof v !== "object" || v === null || Array.isArray(v) || Object.keys(v).length === 0) {
      o.add(p, "must be an object naming a radio for each node: {\"n0\": {\"port\": \"/dev/ttyUSB0\"}, ...}");
      return undefined;
    }
    const list: RigRadio[] = [];
    for (const [node, spec] of Object.entries(v)) {
      const rp = childPath(p, node);
      const g = new Fields(spec, rp, o, ["port", "ble", "board"]);
      const port = g.opt("port", text({ maxChars: 256, pattern: /^\//, what: "a serial device path such as /dev/serial/by-id/..." }), null as string | null);
      const ble = g.opt("ble", text({ maxChars: 17, pattern: BLE_ADDRESS, what: "a BLE address like AA:BB:CC:DD:EE:FF" }), null as string | null);
      const board = g.opt("board", known("rnode", "RNode board"), null as string | null);
      if (g.ok && (port === null) === (ble === null)) o.add(rp, 'give exactly one of "port" (serial) or "ble" (address)');
      if (g.clean() && port !== undefined && ble !== undefined && board !== undefined) list.push({ node, port, ble: ble?.toUpperCase() ?? null, board });
    }
    return list;
  });
  if (!f.clean() || name === undefined || description === undefined || region === undefined || radios === undefined) {
    return { ok: false, issues: out.list.map((i) => locate(i, file, parsed.positions)) };
  }
  return { ok: true, rig: { file, name, description, region, radios } };
}

function locate(issue: SchemaIssue, file: string, positions: ReadonlyMap<string, { line: number; column: number }>): SchemaIssue {
  for (let p = issue.path; ; p = p.replace(/(?:\.[A-Za-z_][A-Za-z0-9_]*|\[[^\]]*\])$/, "")) {
    const pos = positions.get(p);
    if (pos !== undefined) return { ...issue, file, line: pos.line, column: pos.column };
    if (p === "") return { ...issue, file };
  }
}

/** A serial radio is attached when its device exists; a BLE one when BlueZ knows it as paired. */
export function radioAttached(r: RigRadio): boolean {
  if (r.port !== null) return fs.existsSync(r.port);
  const info = spawnSync("bluetoothctl", ["info", r.ble!], { encoding: "utf8", timeout: 5_000 });
  return info.status === 0 && /Paired: yes/.test(info.stdout ?? "");
}

export function describeRadio(r: RigRadio): string {
  return r.port !== null ? r.port : `ble://${r.ble}`;
}
