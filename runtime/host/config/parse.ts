// Parser for kosd's configuration files: the INI dialect with nested sections that Reticulum's config files
// use (ConfigObj style), so a Reticulum `[interfaces]` stanza pastes unchanged. Format: ./README.md.
//
// How it works: one pass over the lines. A line is blank, a `#` comment, a section header (`[name]`,
// `[[name]]`, ... the bracket count is the depth) or `key = value`. A stack holds the open section at each
// depth; a header of depth d closes everything at depth >= d and opens a child of the section at d-1.
// Values are scalars or comma lists, each item bare or quoted ('...' or "..."); `#` outside quotes starts a
// comment; '''...''' and """...""" quote a value that may span lines. Bad input never throws: every problem
// becomes an issue with its line (and column), parsing goes on with the next line, and all stop at maxErrors.

export const PARSE_LIMITS = {
  /** Longest accepted file, in UTF-16 code units of the decoded text (the loader caps bytes the same). */
  maxChars: 1024 * 1024,
  maxLines: 20_000,
  maxLineChars: 4096,
  /** [x] is depth 1, [[x]] depth 2; Reticulum's RNodeMultiInterface uses depth 3. */
  maxDepth: 4,
  maxSections: 2048,
  maxListItems: 1024,
  /** Parsing stops once this many errors are collected. */
  maxErrors: 50,
} as const;

export type ParseLimits = { [K in keyof typeof PARSE_LIMITS]: number };

export interface ParseIssue {
  /** 1-based line; 0 for the file as a whole. */
  line: number;
  /** 1-based column, where it helps. */
  column?: number;
  message: string;
}

export interface ConfigEntry {
  key: string;
  /** A scalar, or the items of a comma list (`a, b`, `a,` and the empty list `,`). */
  value: string | string[];
  /** The value as written, without the comment: for messages. */
  raw: string;
  line: number;
  column: number;
  valueColumn: number;
}

export interface ConfigSection {
  /** "" for the file's root. */
  name: string;
  depth: number;
  /** Line of the header; 0 for the root. */
  line: number;
  entries: ConfigEntry[];
  sections: ConfigSection[];
}

export interface ParseOutput {
  root: ConfigSection;
  errors: ParseIssue[];
  warnings: ParseIssue[];
}

class Fail {
  constructor(
    readonly message: string,
    readonly column?: number,
    /** The last line the failed construct consumed (an unclosed multi-line value takes the rest). */
    readonly lastLine?: number,
  ) {}
}

// Control characters other than tab have no business in a config file; random bytes are full of them.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

export function parseConfig(text: string, limits: ParseLimits = PARSE_LIMITS): ParseOutput {
  const root: ConfigSection = { name: "", depth: 0, line: 0, entries: [], sections: [] };
  const errors: ParseIssue[] = [];
  const warnings: ParseIssue[] = [];
  if (text.length > limits.maxChars) {
    errors.push({ line: 0, message: `file is larger than the ${limits.maxChars}-character limit` });
    return { root, errors, warnings };
  }
  const lines = splitLines(text.startsWith("\ufeff") ? text.slice(1) : text);
  if (lines.length > limits.maxLines) {
    errors.push({ line: 0, message: `file has ${lines.length} lines, more than the ${limits.maxLines}-line limit` });
    return { root, errors, warnings };
  }
  const stack: ConfigSection[] = [root];
  let current = root;
  let sectionCount = 0;
  // Line of every name already used in a section, for duplicate checks in constant time.
  const names = new Map<ConfigSection, Map<string, { line: number; isKey: boolean }>>();
  const namesOf = (s: ConfigSection): Map<string, { line: number; isKey: boolean }> => {
    let m = names.get(s);
    if (!m) names.set(s, (m = new Map()));
    return m;
  };
  const fail = (line: number, f: Fail): void => {
    errors.push(f.column === undefined ? { line, message: f.message } : { line, column: f.column, message: f.message });
  };

  for (let i = 0; i < lines.length; i++) {
    if (errors.length >= limits.maxErrors) {
      errors.push({ line: i + 1, message: `too many errors (${limits.maxErrors}); stopped reading here` });
      break;
    }
    const line = lines[i]!;
    const lineNo = i + 1;
    const bad = checkLine(line, limits);
    if (bad) {
      fail(lineNo, bad);
      continue;
    }
    const start = line.search(/\S/);
    if (start < 0 || line[start] === "#") continue;

    if (line[start] === "[") {
      const h = parseHeader(line, start);
      if (h instanceof Fail) {
        fail(lineNo, h);
        current = detached(0, lineNo);
        continue;
      }
      const section: ConfigSection = { name: h.name, depth: h.depth, line: lineNo, entries: [], sections: [] };
      current = section;
      if (h.depth > limits.maxDepth) {
        fail(lineNo, new Fail(`sections nest at most ${limits.maxDepth} deep, this header opens depth ${h.depth}`, start + 1));
      } else if (h.depth > stack.length) {
        const need = "[".repeat(h.depth - 1);
        fail(lineNo, new Fail(`section "${h.name}" is nested too deep: it needs an enclosing ${need}section${"]".repeat(h.depth - 1)} first`, start + 1));
      } else if (++sectionCount > limits.maxSections) {
        fail(lineNo, new Fail(`more than ${limits.maxSections} sections`));
      } else {
        const parent = stack[h.depth - 1]!;
        stack.length = h.depth;
        stack.push(section);
        const used = namesOf(parent);
        const twin = used.get(h.name);
        if (twin && !twin.isKey) fail(lineNo, new Fail(`duplicate section "${h.name}" (first opened on line ${twin.line})`, start + 1));
        else if (twin) fail(lineNo, new Fail(`section "${h.name}" has the name of a key set on line ${twin.line}`, start + 1));
        else {
          parent.sections.push(section);
          used.set(h.name, { line: lineNo, isKey: false });
        }
      }
      continue;
    }

    const kv = parseKeyValue(lines, i, start, limits);
    if (kv instanceof Fail) {
      fail(lineNo, kv);
      if (kv.lastLine !== undefined) i = kv.lastLine;
      continue;
    }
    i = kv.lastLine;
    const entry = kv.entry;
    entry.line = lineNo;
    const used = namesOf(current);
    const twin = used.get(entry.key);
    if (twin?.isKey) fail(lineNo, new Fail(`duplicate key "${entry.key}" (first set on line ${twin.line})`, entry.column));
    else if (twin) fail(lineNo, new Fail(`key "${entry.key}" has the name of the section opened on line ${twin.line}`, entry.column));
    else {
      current.entries.push(entry);
      used.set(entry.key, { line: lineNo, isKey: true });
    }
    if (kv.hashInValue !== undefined) {
      warnings.push({
        line: lineNo,
        column: kv.hashInValue,
        message: `"#" right after the value of ${entry.key} starts a comment; quote the value if "#" belongs to it`,
      });
    }
  }
  return { root, errors, warnings };
}

/** Sections that failed to attach still collect their keys, so one bad header does not cascade. */
function detached(depth: number, line: number): ConfigSection {
  return { name: "", depth, line, entries: [], sections: [] };
}

function splitLines(text: string): string[] {
  const lines = text.split(/\r\n|\n|\r/);
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

function checkLine(line: string, limits: ParseLimits): Fail | null {
  if (line.length > limits.maxLineChars) return new Fail(`line is longer than ${limits.maxLineChars} characters`);
  const c = CONTROL.exec(line);
  if (c) {
    const code = c[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0");
    return new Fail(`control character U+${code} in line`, c.index + 1);
  }
  return null;
}

const isSpace = (ch: string | undefined): boolean => ch === " " || ch === "\t";

/**
 * `[[ name ]]  # comment`. The name is the shortest text after the opening brackets that is followed by
 * only closing brackets (spaces allowed between them) and an optional comment, so `[[Radio #1]]` is named
 * "Radio #1". Linear: the closing-run end of every position is computed once from the right.
 */
function parseHeader(line: string, start: number): { name: string; depth: number } | Fail {
  let i = start;
  let opens = 0;
  while (line[i] === "[") {
    opens++;
    i++;
    while (isSpace(line[i])) i++;
  }
  const n = line.length;
  // runEnd[j]: end of the run (spaces* "]")+ starting at j, or -1; restOk[j]: line[j..] is spaces [# ...].
  const runEnd = new Int32Array(n + 1).fill(-1);
  const restOk = new Uint8Array(n + 1);
  restOk[n] = 1;
  let nextNonSpace = n;
  for (let j = n - 1; j >= i; j--) {
    if (!isSpace(line[j])) nextNonSpace = j;
    restOk[j] = isSpace(line[j]) ? restOk[j + 1]! : line[j] === "#" ? 1 : 0;
    if (line[nextNonSpace] === "]") runEnd[j] = runEnd[nextNonSpace + 1]! >= 0 ? runEnd[nextNonSpace + 1]! : nextNonSpace + 1;
  }
  const quote = line[i] === '"' || line[i] === "'" ? line[i] : undefined;
  if (i >= n || isSpace(line[i]) || line[i] === "]") return new Fail("section header has no name", start + 1);
  for (let p = i + 1; p <= n; p++) {
    const end = runEnd[p]!;
    if (end < 0 || !restOk[end]) continue;
    if (quote !== undefined && (line[p - 1] !== quote || p - 1 === i)) continue;
    const closes = line.slice(p, end).split("]").length - 1;
    if (closes !== opens) return new Fail(`section header opens with ${opens} "[" but closes with ${closes} "]"`, start + 1);
    const name = quote !== undefined ? line.slice(i + 1, p - 1) : line.slice(i, p).trimEnd();
    if (name.trim() === "") return new Fail("section header has no name", start + 1);
    return { name, depth: opens };
  }
  return new Fail(quote !== undefined ? "section name has no closing quote" : 'malformed section header: expected "[name]", "[[name]]", ...', start + 1);
}

interface KeyValue {
  entry: ConfigEntry;
  lastLine: number;
  hashInValue?: number;
}

function parseKeyValue(lines: readonly string[], index: number, start: number, limits: ParseLimits): KeyValue | Fail {
  const line = lines[index]!;
  let key: string;
  let eq: number;
  const q = line[start];
  if (q === '"' || q === "'") {
    const close = line.indexOf(q, start + 1);
    if (close < 0) return new Fail("key has no closing quote", start + 1);
    key = line.slice(start + 1, close);
    eq = close + 1;
    while (isSpace(line[eq])) eq++;
    if (line[eq] !== "=") return new Fail('expected "=" after the quoted key', eq + 1);
  } else {
    eq = line.indexOf("=", start);
    if (eq < 0) return new Fail('expected "key = value" or a [section] header', start + 1);
    key = line.slice(start, eq).trimEnd();
    if (key === "") return new Fail('"=" with no key before it', start + 1);
  }
  let v = eq + 1;
  while (isSpace(line[v])) v++;
  const entry: ConfigEntry = { key, value: "", raw: "", line: index + 1, column: start + 1, valueColumn: v + 1 };
  const triple = line.slice(v, v + 3);
  if (triple === "'''" || triple === '"""') {
    const t = parseTripleQuoted(lines, index, v, triple);
    if (t instanceof Fail) return t;
    entry.value = t.value;
    entry.raw = t.value;
    return { entry, lastLine: t.lastLine };
  }
  const parsed = parseValue(line, v, limits.maxListItems);
  if (parsed instanceof Fail) return parsed;
  entry.value = parsed.value;
  entry.raw = line.slice(v, parsed.end).trimEnd();
  return parsed.hashAt === undefined ? { entry, lastLine: index } : { entry, lastLine: index, hashInValue: parsed.hashAt + 1 };
}

function parseTripleQuoted(lines: readonly string[], index: number, v: number, triple: string): { value: string; lastLine: number } | Fail {
  const first = lines[index]!;
  const close = first.indexOf(triple, v + 3);
  if (close >= 0) {
    if (!restIsComment(first, close + 3)) return new Fail("unexpected text after the closing " + triple, close + 4);
    return { value: first.slice(v + 3, close), lastLine: index };
  }
  const parts = [first.slice(v + 3)];
  for (let j = index + 1; j < lines.length; j++) {
    const line = lines[j]!;
    const c = CONTROL.exec(line);
    if (c) return new Fail(`control character in the multi-line value, on line ${j + 1}`);
    const end = line.indexOf(triple);
    if (end < 0) {
      parts.push(line);
      continue;
    }
    if (!restIsComment(line, end + 3)) return new Fail(`unexpected text after the closing ${triple} on line ${j + 1}`);
    parts.push(line.slice(0, end));
    return { value: parts.join("\n"), lastLine: j };
  }
  return new Fail(`multi-line value opened with ${triple} is never closed`, v + 1, lines.length - 1);
}

function restIsComment(line: string, from: number): boolean {
  let i = from;
  while (isSpace(line[i])) i++;
  return i >= line.length || line[i] === "#";
}

/**
 * A scalar or a comma list. Items are bare (up to the next "," or "#", trimmed) or quoted with no escapes.
 * A lone "," is the empty list; a trailing comma ends a list ("a," is a one-item list).
 */
function parseValue(line: string, from: number, maxItems: number): { value: string | string[]; end: number; hashAt?: number } | Fail {
  const items: string[] = [];
  let comma = false;
  let end = from;
  let hashAt: number | undefined;
  let i = from;
  for (;;) {
    while (isSpace(line[i])) i++;
    const ch = line[i];
    if (i >= line.length || ch === "#") break;
    if (ch === ",") {
      if (items.length === 0 && !comma && restIsComment(line, i + 1)) {
        comma = true;
        end = i + 1;
        break;
      }
      return new Fail("empty item in a comma-separated list", i + 1);
    }
    if (items.length >= maxItems) return new Fail(`list has more than ${maxItems} items`, i + 1);
    if (ch === '"' || ch === "'") {
      const close = line.indexOf(ch, i + 1);
      if (close < 0) return new Fail(`unclosed ${ch} quote`, i + 1);
      items.push(line.slice(i + 1, close));
      i = close + 1;
      end = i;
      while (isSpace(line[i])) i++;
      if (i < line.length && line[i] !== "," && line[i] !== "#") return new Fail("unexpected text after the closing quote", i + 1);
    } else {
      let j = i;
      while (j < line.length && line[j] !== "," && line[j] !== "#") j++;
      const item = line.slice(i, j).trimEnd();
      items.push(item);
      end = i + item.length;
      if (line[j] === "#" && !isSpace(line[j - 1])) hashAt = j;
      i = j;
    }
    if (line[i] !== ",") break;
    comma = true;
    i++;
  }
  if (!comma) return hashAt === undefined ? { value: items[0] ?? "", end } : { value: items[0] ?? "", end, hashAt };
  return hashAt === undefined ? { value: items, end } : { value: items, end, hashAt };
}
