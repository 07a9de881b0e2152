// runtime/radio is pure: it imports only itself and board types, and never reaches for the clock, randomness,
// timers or files (the host feeds it nowMs and persists its state).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../helpers.js";

const DIR = path.join(REPO_ROOT, "runtime", "radio");
const files = fs.readdirSync(DIR).filter((f) => f.endsWith(".ts"));

test("runtime/radio imports only itself, runtime/core and types from boards/", () => {
  assert.ok(files.length >= 3);
  const bad: string[] = [];
  for (const f of files) {
    const text = fs.readFileSync(path.join(DIR, f), "utf8");
    for (const m of text.matchAll(/^import (type )?[^;]*?from "([^"]+)";/gms)) {
      const [, typeOnly, spec] = m;
      const target = path.resolve(DIR, spec!);
      const rel = path.relative(REPO_ROOT, target).split(path.sep).join("/");
      const ok = spec!.startsWith("./") || rel.startsWith("runtime/core/") || (typeOnly !== undefined && rel.startsWith("boards/"));
      if (!ok) bad.push(`${f}: ${spec}`);
    }
  }
  assert.deepEqual(bad, []);
});

test("runtime/radio never reads the clock, randomness, timers or the file system", () => {
  const offenders = files.filter((f) => {
    const text = fs.readFileSync(path.join(DIR, f), "utf8").replace(/\/\/.*$/gm, "");
    return /Date\.now\(|new Date\(|Math\.random\(|performance\.now\(|from "node:|setTimeout\(|setInterval\(/.test(text);
  });
  assert.deepEqual(offenders, []);
});
