// Loads the board data: every entry checked against the schema (./schema.ts), then across entries (a board's
// chip exists, its bands lie inside the chip's range, ids, aliases and model codes are unique, a file is
// named after its id and sits in its kind's folder). kosd uses the copy built into the bundle
// (builtinCatalog, from ./catalog.ts); tools and tests read the folder itself (loadCatalogFromDir), which
// also gives line numbers. Lookups take an id or an alias, ignoring case and "_"/"-"/space differences.
import * as fs from "node:fs";
import * as path from "node:path";
import { distance, formatSchemaIssue, type SchemaIssue } from "./check.js";
import { BUILTIN_FILES } from "./catalog.js";
import { JSON_LIMITS, childPath, parseJsonWithPositions, type Position } from "./json.js";
import {
  ENTRY_KINDS, validateEntry, type BoardEntry, type EntryKind, type ModemPreset, type RNodeBoard, type RNodeVariant, type RadioChip, type Region,
  type SbcBoard,
} from "./schema.js";

export * from "./schema.js";

export interface ResolvedVariant extends Omit<RNodeVariant, "chip"> {
  chip: RadioChip;
}
export interface ResolvedRNodeBoard extends Omit<RNodeBoard, "variants"> {
  variants: ResolvedVariant[];
}
interface EntryOf {
  chip: RadioChip;
  rnode: ResolvedRNodeBoard;
  sbc: SbcBoard;
  region: Region;
  modem: ModemPreset;
}

/** One data file: where it came from (`rnode/x.json`), its parsed value, and where each field starts. */
export interface DataFile {
  file: string;
  value: unknown;
  positions?: ReadonlyMap<string, Position>;
}

export type CatalogResult = { ok: true; catalog: BoardCatalog } | { ok: false; issues: SchemaIssue[] };

/** How names are compared: case, "_" and spaces do not matter ("LONG_FAST" finds "long-fast"). */
export function lookupKey(name: string): string {
  return name.trim().toLowerCase().replace(/[_\s]+/g, "-");
}

export class BoardCatalog {
  readonly #byKey = new Map<EntryKind, Map<string, BoardEntry | ResolvedRNodeBoard>>();
  readonly #lists: { [K in EntryKind]: EntryOf[K][] };

  constructor(lists: { [K in EntryKind]: EntryOf[K][] }) {
    this.#lists = lists;
    for (const kind of ENTRY_KINDS) {
      const map = new Map<string, BoardEntry | ResolvedRNodeBoard>();
      for (const e of lists[kind]) for (const n of [e.id, ...e.aliases]) map.set(lookupKey(n), e);
      this.#byKey.set(kind, map);
    }
  }

  list<K extends EntryKind>(kind: K): readonly EntryOf[K][] {
    return this.#lists[kind];
  }

  /** The entry with this id or alias. */
  find<K extends EntryKind>(kind: K, name: string): EntryOf[K] | undefined {
    return this.#byKey.get(kind)!.get(lookupKey(name)) as EntryOf[K] | undefined;
  }

  /** The closest id or alias, for "did you mean" messages. */
  suggest(kind: EntryKind, name: string): string | null {
    const key = lookupKey(name);
    let best: string | null = null;
    let bestDistance = Math.max(2, Math.floor(key.length / 3)) + 1;
    for (const e of this.#lists[kind]) {
      for (const n of [e.id, ...e.aliases]) {
        const d = distance(key, lookupKey(n));
        if (d < bestDistance) {
          best = n;
          bestDistance = d;
        }
      }
    }
    return best;
  }
}

const kindOfFolder = (file: string): EntryKind | undefined => {
  const folder = file.split("/")[0];
  return (ENTRY_KINDS as readonly string[]).includes(folder ?? "") ? (folder as EntryKind) : undefined;
};

/** Checks every file and every cross-reference; all problems at once. */
export function buildCatalog(files: readonly DataFile[]): CatalogResult {
  const issues: SchemaIssue[] = [];
  const entries: { entry: BoardEntry; df: DataFile }[] = [];
  const locate = (df: DataFile, p: string, message: string): void => {
    // The field's own position, else its nearest parent's.
    let pos: Position | undefined;
    for (let q = p; ; ) {
      pos = df.positions?.get(q);
      if (pos !== undefined || q === "") break;
      const up = q.replace(/(?:^|\.)[A-Za-z_][A-Za-z0-9_]*$|\[[^\]]*\]$/, "");
      q = up === q ? "" : up;
    }
    issues.push(pos ? { file: df.file, line: pos.line, column: pos.column, path: p, message } : { file: df.file, path: p, message });
  };
  for (const df of files) {
    const kind = kindOfFolder(df.file);
    if (kind === undefined) {
      locate(df, "", `is not in a folder of entries (${ENTRY_KINDS.join(", ")})`);
      continue;
    }
    const r = validateEntry(df.value, kind);
    if (!r.ok) {
      for (const i of r.issues) locate(df, i.path, i.message);
      continue;
    }
    const stem = path.posix.basename(df.file, ".json");
    if (stem !== r.entry.id) locate(df, "id", `is "${r.entry.id}" but the file is named ${stem}.json; name the file after the id`);
    entries.push({ entry: r.entry, df });
  }

  const lists = { chip: [] as RadioChip[], rnode: [] as ResolvedRNodeBoard[], sbc: [] as SbcBoard[], region: [] as Region[], modem: [] as ModemPreset[] };
  const names = new Map<string, string>();
  for (const { entry, df } of entries) {
    [entry.id, ...entry.aliases].forEach((n, i) => {
      const key = `${entry.kind}:${lookupKey(n)}`;
      const other = names.get(key);
      if (other !== undefined && other !== entry.id) locate(df, i === 0 ? "id" : childPath("aliases", i - 1), `"${n}" is already a name of ${entry.kind} "${other}"`);
      else if (other === entry.id && i > 0) locate(df, childPath("aliases", i - 1), `"${n}" repeats a name of this entry`);
      names.set(key, entry.id);
    });
  }
  const chips = new Map(entries.filter((x) => x.entry.kind === "chip").map((x) => [x.entry.id, x.entry as RadioChip]));
  const models = new Map<string, string>();
  for (const { entry, df } of entries) {
    if (entry.kind === "chip") lists.chip.push(entry);
    else if (entry.kind === "sbc") lists.sbc.push(entry);
    else if (entry.kind === "region") lists.region.push(entry);
    else if (entry.kind === "modem") {
      const fits = [...chips.values()].some((c) => c.bandwidthsHz.includes(entry.bandwidthHz) && entry.spreadingFactor >= c.spreadingFactor.min && entry.spreadingFactor <= c.spreadingFactor.max);
      if (!fits) locate(df, "bandwidthHz", `no radio chip supports SF${entry.spreadingFactor} at ${entry.bandwidthHz} Hz`);
      lists.modem.push(entry);
    } else {
      const variants: ResolvedVariant[] = [];
      entry.variants.forEach((v, i) => {
        const at = (k: string): string => childPath(childPath(childPath("", "variants"), i), k);
        const c = chips.get(v.chip);
        const owner = models.get(v.model);
        if (owner !== undefined) locate(df, at("model"), `model ${v.model} is already a model of rnode "${owner}"`);
        models.set(v.model, entry.id);
        if (c === undefined) {
          locate(df, at("chip"), `no chip "${v.chip}" under chip/ (${[...chips.keys()].join(", ")})`);
          return;
        }
        if (v.band.minMHz < c.frequency.minMHz || v.band.maxMHz > c.frequency.maxMHz) {
          locate(df, at("band"), `${v.band.minMHz}-${v.band.maxMHz} MHz is outside the ${c.name}'s ${c.frequency.minMHz}-${c.frequency.maxMHz} MHz`);
        }
        const ceiling = entry.pa ? entry.pa.maxOutputDbm : c.maxOutputDbm;
        if (v.maxTxPowerDbm > ceiling) locate(df, at("maxTxPowerDbm"), `${v.maxTxPowerDbm} dBm is above the ${ceiling} dBm the ${entry.pa ? "PA" : c.name} can deliver`);
        variants.push({ ...v, chip: c });
      });
      lists.rnode.push({ ...entry, variants });
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  for (const kind of ENTRY_KINDS) (lists[kind] as { id: string }[]).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { ok: true, catalog: new BoardCatalog(lists) };
}

const MAX_FILES = 1000;

/** Reads every `<kind>/*.json` under a boards folder, with line numbers for every problem. */
export function loadCatalogFromDir(dir: string): CatalogResult {
  const files: DataFile[] = [];
  const issues: SchemaIssue[] = [];
  for (const kind of ENTRY_KINDS) {
    const sub = path.join(dir, kind);
    if (!fs.existsSync(sub)) continue;
    for (const name of fs.readdirSync(sub).sort()) {
      if (!name.endsWith(".json")) continue;
      const file = `${kind}/${name}`;
      if (files.length >= MAX_FILES) return { ok: false, issues: [{ file, path: "", message: `more than ${MAX_FILES} data files` }] };
      const full = path.join(sub, name);
      if (fs.statSync(full).size > JSON_LIMITS.maxChars) {
        issues.push({ file, path: "", message: `larger than ${JSON_LIMITS.maxChars} bytes` });
        continue;
      }
      const parsed = parseJsonWithPositions(fs.readFileSync(full, "utf8"));
      if (!parsed.ok) issues.push({ file, line: parsed.line, column: parsed.column, path: "", message: `not valid JSON: ${parsed.message}` });
      else files.push({ file, value: parsed.value, positions: parsed.positions });
    }
  }
  const built = buildCatalog(files);
  if (issues.length === 0) return built;
  return { ok: false, issues: [...issues, ...(built.ok ? [] : built.issues)] };
}

let builtin: BoardCatalog | undefined;

/** The data built into this program (./catalog.ts), checked once. Invalid built-in data is a bug. */
export function builtinCatalog(): BoardCatalog {
  if (builtin === undefined) {
    const r = buildCatalog(BUILTIN_FILES);
    if (!r.ok) throw new Error(`built-in board data is invalid:\n${r.issues.map(formatSchemaIssue).join("\n")}`);
    builtin = r.catalog;
  }
  return builtin;
}
