// Fuzz for the config parser and loader: random text and mutated valid configs never throw and always come
// back as either a config or a non-empty error list. Seeded: FUZZ_SEED=<n> replays; messages name the seed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../runtime/core/ports.js";
import { exampleConfig } from "../../runtime/host/config/example.js";
import { loadConfigText, type ConfigHost } from "../../runtime/host/config/load.js";
import { parseConfig } from "../../runtime/host/config/parse.js";
import { reticulumInterfaces } from "../../runtime/host/config/reticulum.js";

const BASE_SEED = Number(process.env["FUZZ_SEED"] ?? 0xc0f1) >>> 0;
const SPECIALS = ["[", "]", "=", "#", ",", "'", '"', "'''", '"""', "\n", "\r", " ", "\t", "\u0000", "~", "é", "\ufeff", "yes", "type", "enabled"];
const HOST: ConfigHost = {
  env: {},
  cwd: "/work",
  homeDir: "/home/op",
  readText: () => ({ ok: true, text: "[interfaces]\n [[R]]\n  type = AutoInterface\n  enabled = yes\n" }),
};

function rng(seed: number) {
  const r = seededRandom(seed);
  return { int: (n: number): number => r.next32() % n, bytes: (n: number): Uint8Array => r.bytes(n) };
}

function check(text: string, seed: number, i: number): void {
  const where = `seed ${seed} case ${i}`;
  let result;
  try {
    parseConfig(text);
    reticulumInterfaces(text);
    result = loadConfigText(text, "fuzz.conf", {}, HOST);
  } catch (e) {
    assert.fail(`${where}: threw ${(e as Error).stack}`);
  }
  if (result.ok) assert.ok(Array.isArray(result.config.interfaces), where);
  else assert.ok(result.errors.length > 0 && result.errors.every((e) => e.line >= 0 && e.message.length > 0), where);
}

test("random bytes never throw and yield a config or errors", (t) => {
  const seed = BASE_SEED;
  t.diagnostic(`seed ${seed}`);
  const r = rng(seed);
  const decoder = new TextDecoder("utf-8");
  for (let i = 0; i < 400; i++) check(decoder.decode(r.bytes(r.int(2048))), seed, i);
});

test("random dialect tokens never throw and yield a config or errors", (t) => {
  const seed = BASE_SEED + 1;
  t.diagnostic(`seed ${seed}`);
  const r = rng(seed);
  for (let i = 0; i < 600; i++) {
    let text = "";
    const n = r.int(200);
    for (let j = 0; j < n; j++) text += r.int(3) === 0 ? String.fromCharCode(0x20 + r.int(95)) : SPECIALS[r.int(SPECIALS.length)]!;
    check(text, seed, i);
  }
});

test("mutated example configs never throw and yield a config or errors", (t) => {
  const seed = BASE_SEED + 2;
  t.diagnostic(`seed ${seed}`);
  const r = rng(seed);
  const base = exampleConfig().replace(/^(\s*)# ([a-z_]+ = .*)$/gm, "$1$2").split("\n");
  let accepted = 0;
  for (let i = 0; i < 300; i++) {
    const lines = [...base];
    const mutations = 1 + r.int(4);
    for (let m = 0; m < mutations; m++) {
      if (lines.length === 0) lines.push("");
      const at = r.int(lines.length);
      const line = lines[at]!;
      switch (r.int(6)) {
        case 0: lines.splice(at, 1); break;
        case 1: lines.splice(at, 0, lines[r.int(lines.length)]!); break;
        case 2: { const p = r.int(line.length + 1); lines[at] = line.slice(0, p) + SPECIALS[r.int(SPECIALS.length)]! + line.slice(p); break; }
        case 3: { const p = r.int(line.length + 1); lines[at] = line.slice(0, p) + line.slice(p + 1 + r.int(4)); break; }
        case 4: lines[at] = line.replace(/= .*/, "= " + String(r.int(100_000) - 50_000)); break;
        default: lines.length = at; break;
      }
    }
    const text = lines.join("\n");
    check(text, seed, i);
    if (loadConfigText(text, "fuzz.conf", {}, HOST).ok) accepted++;
  }
  // Some mutations are harmless (a deleted comment), so both outcomes must occur.
  assert.ok(accepted > 0 && accepted < 300, `seed ${seed}: ${accepted} of 300 mutated configs accepted`);
});

test("keys and values named after Object.prototype members are ordinary unknown words", () => {
  const words = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"];
  for (const w of words) {
    const text = `[kosd]\n${w} = 1\nlog_json = ${w}\nlog_level = ${w}\n[interfaces]\n  [[X]]\n    type = AutoInterface\n    enabled = ${w}\n    mode = ${w}\n    ${w} = yes\n`;
    const r = loadConfigText(text, "proto.conf", {}, HOST);
    assert.ok(!r.ok, w);
    assert.deepEqual(r.errors.map((e) => e.line), [2, 3, 4, 8, 9, 10], w);
    assert.deepEqual(reticulumInterfaces(text.replace(/^\[kosd\][^[]*/, "")).errors.map((e) => e.line), [4], w);
  }
});
