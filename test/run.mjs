// Runs every compiled test file (.build/test/**/*.test.js) under node's built-in test runner.
// `npm test` compiles first (pretest); extra arguments filter files by substring: `npm test -- packet`.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const buildDir = path.join(root, ".build", "test");
const filters = process.argv.slice(2);

function walk(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else if (e.name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

if (!fs.existsSync(buildDir)) {
  process.stderr.write("no compiled tests: run `npm run compile` first (npm test does it for you)\n");
  process.exit(2);
}
const files = walk(buildDir)
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  process.stderr.write(`no test files match ${filters.join(" ")}\n`);
  process.exit(2);
}
const reporter = process.env.KOS_TEST_REPORTER ?? "spec";
const r = spawnSync(process.execPath, ["--test", `--test-reporter=${reporter}`, ...files], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, KOS_REPO_ROOT: root },
});
process.exit(r.status ?? 1);
