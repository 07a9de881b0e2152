// Imports point one way: core <- crypto <- wire <- {mesh, log, quorum} <- engine <- host. Drivers depend on
// core and wire only. This test reads every source file's imports and fails on an arrow the wrong way.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "../helpers.js";

/** For each layer, the layers it may import from (itself included). */
const ALLOWED: Record<string, string[]> = {
  "runtime/core": ["runtime/core"],
  "runtime/crypto": ["runtime/core", "runtime/crypto"],
  "runtime/wire": ["runtime/core", "runtime/crypto", "runtime/wire"],
  "runtime/mesh": ["runtime/core", "runtime/crypto", "runtime/wire", "runtime/mesh"],
  "runtime/log": ["runtime/core", "runtime/crypto", "runtime/wire", "runtime/log"],
  "runtime/quorum": ["runtime/core", "runtime/crypto", "runtime/wire", "runtime/log", "runtime/quorum"],
  "runtime/engine": ["runtime/core", "runtime/crypto", "runtime/wire", "runtime/mesh", "runtime/log", "runtime/quorum", "runtime/engine"],
  "drivers": ["runtime/core", "runtime/wire", "drivers"],
};

function sources(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

function layerOf(file: string): string | undefined {
  const rel = path.relative(REPO_ROOT, file).split(path.sep).join("/");
  return Object.keys(ALLOWED).find((layer) => rel === layer || rel.startsWith(layer + "/"));
}

test("no module imports from a layer above its own", () => {
  const violations: string[] = [];
  let checked = 0;
  for (const root of ["runtime", "drivers"]) {
    for (const file of sources(path.join(REPO_ROOT, root))) {
      const layer = layerOf(file);
      if (layer === undefined) continue;
      const text = fs.readFileSync(file, "utf8");
      for (const m of text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)) {
        const target = layerOf(path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, ".ts")));
        checked++;
        if (target !== undefined && !ALLOWED[layer]!.includes(target)) {
          violations.push(`${path.relative(REPO_ROOT, file)} imports ${m[1]} (${target})`);
        }
      }
    }
  }
  assert.ok(checked > 20, "the test found the imports it checks");
  assert.deepEqual(violations, []);
});

test("pure cores (core, crypto, wire, quorum) never reach for the wall clock, Math.random or the file system", () => {
  const offenders: string[] = [];
  for (const layer of ["runtime/core", "runtime/crypto", "runtime/wire", "runtime/quorum"]) {
    for (const file of sources(path.join(REPO_ROOT, layer))) {
      const text = fs.readFileSync(file, "utf8").replace(/\/\/.*$/gm, "");
      if (/Date\.now\(|new Date\(|Math\.random\(|performance\.now\(|from "node:fs"|setTimeout\(|setInterval\(/.test(text)) {
        offenders.push(path.relative(REPO_ROOT, file));
      }
    }
  }
  // systemClock in core/ports.ts is the one sanctioned wall-clock reader, handed to cores by the host.
  assert.deepEqual(offenders.filter((f) => f !== "runtime/core/ports.ts"), []);
});
