// The config dialect (runtime/host/config/parse.ts): sections, values, comments, and the line of every
// syntax error. Parity with the reference's ConfigObj is checked against test/fixtures/rns-1.4.2-configobj.json.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { PARSE_LIMITS, parseConfig, type ConfigSection } from "../../runtime/host/config/parse.js";
import { REPO_ROOT } from "../helpers.js";

interface Tree {
  values: Record<string, string | string[]>;
  sections: Record<string, Tree>;
}
const tree = (s: ConfigSection): Tree => ({
  values: Object.fromEntries(s.entries.map((e) => [e.key, e.value])),
  sections: Object.fromEntries(s.sections.map((x) => [x.name, tree(x)])),
});
const parsed = (text: string): Tree => {
  const p = parseConfig(text);
  assert.deepEqual(p.errors, []);
  return tree(p.root);
};
const firstError = (text: string): { line: number; column?: number; message: string } => {
  const p = parseConfig(text);
  assert.ok(p.errors.length > 0, "expected an error");
  return p.errors[0]!;
};

test("sections nest by bracket count and a header closes deeper sections", () => {
  const t = parsed("[a]\nx = 1\n[[b]]\ny = 2\n[[[c]]]\nz = 3\n[[d]]\nw = 4\n[e]\n");
  assert.deepEqual(Object.keys(t.sections), ["a", "e"]);
  assert.deepEqual(Object.keys(t.sections["a"]!.sections), ["b", "d"]);
  assert.equal(t.sections["a"]!.sections["b"]!.sections["c"]!.values["z"], "3");
  assert.equal(t.sections["a"]!.sections["d"]!.values["w"], "4");
});

test("every key and section carries its line and column", () => {
  const p = parseConfig("# c\n[a]\n\n  [[b c]]\n    key = value\n");
  const b = p.root.sections[0]!.sections[0]!;
  assert.equal(b.line, 4);
  assert.deepEqual({ line: b.entries[0]!.line, column: b.entries[0]!.column, valueColumn: b.entries[0]!.valueColumn }, { line: 5, column: 5, valueColumn: 11 });
});

test("indentation is free, header names are trimmed, quoted names keep their text", () => {
  const t = parsed('\t[ a ]\n  [[  TCP Uplink  ]]  # note\n["q ]x"]\n');
  assert.deepEqual(Object.keys(t.sections), ["a", "q ]x"]);
  assert.deepEqual(Object.keys(t.sections["a"]!.sections), ["TCP Uplink"]);
});

test("a header name may contain '#' when the brackets close after it", () => {
  const t = parsed("[a]\n[[Radio #1]]  # the first radio\n");
  assert.deepEqual(Object.keys(t.sections["a"]!.sections), ["Radio #1"]);
});

test("commas make lists; a lone comma is the empty list and a trailing comma ends a list", () => {
  const t = parsed("[a]\nk = one, two ,three\ne = ,\nt = solo,\nq = \"a, b\"\nm = 'x', \"y\" # c\n");
  assert.deepEqual(t.sections["a"]!.values, { k: ["one", "two", "three"], e: [], t: ["solo"], q: "a, b", m: ["x", "y"] });
});

test("'#' outside quotes starts a comment; inside quotes it is text", () => {
  const t = parsed("[a]\nv = hello # c\nw = 'a # b'\nempty =   # nothing\n");
  assert.deepEqual(t.sections["a"]!.values, { v: "hello", w: "a # b", empty: "" });
});

test("a '#' glued to a bare value is a comment, with a warning", () => {
  const p = parseConfig("[a]\npassphrase = abc#123\n");
  assert.equal(p.root.sections[0]!.entries[0]!.value, "abc");
  assert.equal(p.warnings.length, 1);
  assert.equal(p.warnings[0]!.line, 2);
  assert.match(p.warnings[0]!.message, /quote the value/);
});

test("keys run to the first '='; the value keeps later '=' signs", () => {
  const t = parsed("[a]\nkey with spaces = v = w\n\"quoted key\" = x\nk=tight\n");
  assert.deepEqual(t.sections["a"]!.values, { "key with spaces": "v = w", "quoted key": "x", k: "tight" });
});

test("triple quotes hold a value on one line or across lines", () => {
  const t = parsed("[a]\nk = '''multi\nline\nvalue'''  # c\nm = \"\"\"x, #y\"\"\"\nn = 2\n");
  assert.deepEqual(t.sections["a"]!.values, { k: "multi\nline\nvalue", m: "x, #y", n: "2" });
});

test("CRLF and CR line ends and a UTF-8 byte order mark are accepted", () => {
  assert.deepEqual(parsed("\ufeff[a]\r\nk = v\r\nj = w\rl = x"), { values: {}, sections: { a: { values: { k: "v", j: "w", l: "x" }, sections: {} } } });
});

test("keys before any section belong to the root", () => {
  assert.deepEqual(parsed("k = top\n[a]\n").values, { k: "top" });
});

const ERRORS: { name: string; text: string; line: number; column?: number; message: RegExp }[] = [
  { name: "a line that is neither a header nor key = value", text: "[a]\nk = 1\njust text\n", line: 3, column: 1, message: /expected "key = value"/ },
  { name: "an unclosed quote", text: "[a]\n\nk = \"abc\n", line: 3, column: 5, message: /unclosed " quote/ },
  { name: "text after a closing quote", text: "[a]\nk = 'a' b\n", line: 2, column: 9, message: /after the closing quote/ },
  { name: "an empty list item", text: "[a]\nk = a,,b\n", line: 2, column: 7, message: /empty item/ },
  { name: "a list starting with a comma", text: "[a]\nk = , a\n", line: 2, message: /empty item/ },
  { name: "a duplicate key", text: "[a]\nk = 1\n\nk = 2\n", line: 4, message: /duplicate key "k" \(first set on line 2\)/ },
  { name: "a duplicate section", text: "[a]\n[[b]]\n[[c]]\n[[b]]\n", line: 4, message: /duplicate section "b" \(first opened on line 2\)/ },
  { name: "a section that skips a level", text: "[a]\n[[[b]]]\n", line: 2, message: /nested too deep/ },
  { name: "a subsection before any section", text: "# x\n[[b]]\n", line: 2, message: /nested too deep/ },
  { name: "brackets that do not balance", text: "[a]\n[[b]]]\n", line: 2, message: /opens with 2 "\[" but closes with 3/ },
  { name: "a header with no closing bracket", text: "[a]\n[[b\n", line: 2, message: /malformed section header/ },
  { name: "a header with no name", text: "[a]\n[]\n", line: 2, message: /no name/ },
  { name: "sections deeper than the limit", text: "[a]\n[[b]]\n[[[c]]]\n[[[[d]]]]\n[[[[[e]]]]]\n", line: 5, message: /at most 4 deep/ },
  { name: "a section with the name of a key", text: "[c]\nk = 1\n[[k]]\n", line: 3, message: /name of a key set on line 2/ },
  { name: "an unclosed triple quote", text: "[a]\nk = '''never\nclosed\n", line: 2, message: /never closed/ },
  { name: "text after a closing triple quote", text: "[a]\nk = '''a''' b\n", line: 2, message: /after the closing '''/ },
  { name: "a control character", text: "[a]\nk = a\u0001b\n", line: 2, column: 6, message: /control character U\+0001/ },
  { name: "a key with no name", text: "[a]\n = v\n", line: 2, message: /no key/ },
];

for (const c of ERRORS) {
  test(`error line: ${c.name}`, () => {
    const e = firstError(c.text);
    assert.equal(e.line, c.line);
    if (c.column !== undefined) assert.equal(e.column, c.column);
    assert.match(e.message, c.message);
  });
}

test("parsing goes on after an error and reports every bad line", () => {
  const p = parseConfig("[a]\nbad one\nk = 1\nbad two\nk = 2\n");
  assert.deepEqual(p.errors.map((e) => e.line), [2, 4, 5]);
});

test("keys under a broken header do not land in the previous section", () => {
  const p = parseConfig("[a]\nk = 1\n[b\nk = 2\n");
  assert.deepEqual(p.errors.map((e) => e.line), [3]);
  assert.deepEqual(tree(p.root).sections["a"]!.values, { k: "1" });
});

test("a file over the line limit is refused before parsing", () => {
  const p = parseConfig("# c\n".repeat(PARSE_LIMITS.maxLines + 1));
  assert.equal(p.errors.length, 1);
  assert.match(p.errors[0]!.message, /more than the 20000-line limit/);
});

test("a file over the size limit is refused before parsing", () => {
  const p = parseConfig("#".repeat(PARSE_LIMITS.maxChars + 1));
  assert.equal(p.errors.length, 1);
  assert.match(p.errors[0]!.message, /larger than/);
});

test("a line over the length limit is an error", () => {
  assert.match(firstError(`[a]\nk = ${"x".repeat(PARSE_LIMITS.maxLineChars)}\n`).message, /longer than 4096/);
});

test("error collection stops at the limit", () => {
  const p = parseConfig("bad\n".repeat(500));
  assert.equal(p.errors.length, PARSE_LIMITS.maxErrors + 1);
  assert.match(p.errors.at(-1)!.message, /too many errors/);
});

test("header parsing stays linear on long bracket runs", () => {
  // A quadratic header scan would take seconds here; the test only checks the answer.
  const line = "[a" + "]".repeat(2000) + "b" + "]".repeat(2000);
  const p = parseConfig((line + "\n").repeat(200));
  assert.ok(p.errors.length > 0);
});

interface Vector {
  text: string;
  stricter?: boolean;
  tree?: Tree;
  errorLines?: number[];
}

test("reads texts the way the reference's ConfigObj does (rns-1.4.2-configobj.json)", () => {
  const file = path.join(REPO_ROOT, "test", "fixtures", "rns-1.4.2-configobj.json");
  const { cases } = JSON.parse(fs.readFileSync(file, "utf8")) as { cases: Vector[] };
  assert.ok(cases.length >= 40);
  for (const c of cases) {
    const p = parseConfig(c.text);
    const label = JSON.stringify(c.text);
    if (c.stricter) {
      assert.ok(p.errors.length > 0, `kosd refuses ${label}`);
    } else if (c.tree) {
      assert.deepEqual(p.errors, [], label);
      assert.deepEqual(tree(p.root), c.tree, label);
    } else {
      assert.ok(p.errors.length > 0, `error expected for ${label}`);
      assert.equal(p.errors[0]!.line, c.errorLines![0], label);
    }
  }
});
