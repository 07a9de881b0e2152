// kosd as a user runs it: the bundled daemon, a data directory, signals and bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../helpers.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { toHex } from "../../runtime/core/bytes.js";

const KOSD = path.join(REPO_ROOT, "dist", "kosd.cjs");

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kosd-test-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts kosd, waits for its ready line, sends `signal`, and returns what it printed and its exit code. */
function runUntilReady(args: string[], signal: NodeJS.Signals): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KOSD, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let signalled = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`kosd not ready in 15 s; stdout: ${stdout} stderr: ${stderr}`));
    }, 15_000);
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
      if (!signalled && stdout.includes("running until")) {
        signalled = true;
        child.kill(signal);
      }
    });
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code });
    });
  });
}

test("first start creates a 64-byte identity file (mode 0600) and prints its hash", async (t) => {
  const dir = tempDir(t);
  const r = await runUntilReady(["--data-dir", dir], "SIGTERM");
  assert.equal(r.code, 0, r.stderr);
  const file = path.join(dir, "identity");
  const prv = fs.readFileSync(file);
  assert.equal(prv.length, 64);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const id = Identity.fromPrivateKey(new Uint8Array(prv));
  assert.match(r.stdout, new RegExp(`<${toHex(id.hash)}>`));
  assert.match(r.stderr, /created node identity/);
});

test("a restart keeps the same identity, and SIGINT stops cleanly too", async (t) => {
  const dir = tempDir(t);
  const first = await runUntilReady(["--data-dir", dir], "SIGTERM");
  const second = await runUntilReady(["--data-dir", dir], "SIGINT");
  assert.equal(second.code, 0);
  const hash = /<([0-9a-f]{32})>/.exec(first.stdout)?.[1];
  assert.ok(hash);
  assert.match(second.stdout, new RegExp(`<${hash}>`));
  assert.match(second.stderr, /loaded node identity/);
  assert.match(second.stderr, /kosd stopping signal=SIGINT/);
});

test("KOS_DATA_DIR chooses the data directory when --data-dir is absent", async (t) => {
  const dir = tempDir(t);
  const child = spawnSync(process.execPath, [KOSD, "--version"], { encoding: "utf8" });
  assert.match(child.stdout, /^kosd \d+\.\d+\.\d+/);
  const r = await new Promise<number | null>((resolve) => {
    const c = spawn(process.execPath, [KOSD], { env: { ...process.env, KOS_DATA_DIR: dir }, stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    c.stdout.on("data", (b: Buffer) => {
      const before = out.includes("running until");
      out += b.toString();
      if (!before && out.includes("running until")) c.kill("SIGTERM");
    });
    c.on("exit", resolve);
  });
  assert.equal(r, 0);
  assert.ok(fs.existsSync(path.join(dir, "identity")));
});

test("a corrupt identity file is refused with one clear line, and left untouched", (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, "identity");
  fs.writeFileSync(file, Buffer.alloc(10, 1));
  const r = spawnSync(process.execPath, [KOSD, "--data-dir", dir], { encoding: "utf8", timeout: 15_000 });
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /^kosd: identity file .* holds 10 bytes, expected a 64-byte private key/);
  assert.deepEqual(fs.readFileSync(file), Buffer.alloc(10, 1));
});

test("bad options give one line on stderr and exit 2", () => {
  for (const args of [["--nope"], ["--log-level", "loud"], ["extra"], ["--data-dir"]]) {
    const r = spawnSync(process.execPath, [KOSD, ...args], { encoding: "utf8", timeout: 15_000 });
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^kosd: /);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  }
});

test("an unusable data directory is a clear error", (t) => {
  const dir = tempDir(t);
  const blocker = path.join(dir, "file");
  fs.writeFileSync(blocker, "x");
  const r = spawnSync(process.execPath, [KOSD, "--data-dir", path.join(blocker, "sub")], { encoding: "utf8", timeout: 15_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^kosd: cannot create data directory/);
});
