// kosctl log against real kosd processes (the bundle): append, list, tail --follow, show, verify, status,
// export from one node and import into another, restarts, and bad input.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { toHex } from "../../runtime/core/bytes.js";
import { KOSCTL, eventually, kosctl, makeNode, startNode, stopNode, tempRoot, type NodeHandle } from "../integration/mesh-harness.js";

function withInput(n: NodeHandle, args: string[], input: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [KOSCTL, ...args, "--socket", n.socket], { input, encoding: "utf8", timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One line on stderr and the exit code: how every operator mistake must end. */
async function fails(n: NodeHandle, args: string[], code: number, message: RegExp): Promise<void> {
  const r = await kosctl(n, args);
  assert.equal(r.code, code, `${args.join(" ")}: ${r.stdout} ${r.stderr}`);
  assert.match(r.stderr, message);
  assert.equal(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
}

test("kosctl log: append, list, tail --follow, show, verify, export to another node and import there", { timeout: 120_000 }, async (t) => {
  const root = tempRoot(t);
  const a = makeNode(root, "a", "");
  const b = makeNode(root, "b", "");
  t.after(async () => {
    await stopNode(a);
    await stopNode(b);
  });
  await Promise.all([startNode(a), startNode(b)]);
  const ida = toHex(a.identity().hash);

  const first = await kosctl(a, ["log", "append", "supply.handout", "--body", '{"item":"water","qty":12}']);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, new RegExp(`^appended ${ida}:1 [0-9a-f]{64}\\n$`));
  const second = withInput(a, ["log", "append", "road.closed", "--stdin", "--json"], '{"road":"north","lanes":[1,2],"note":"flooded"}');
  assert.equal(second.code, 0, second.stderr);
  const e2 = JSON.parse(second.stdout) as { seq: number; hash: string; body: unknown };
  assert.deepEqual([e2.seq, e2.body], [2, { road: "north", lanes: [1, 2], note: "flooded" }]);

  const list = await kosctl(a, ["log", "list"]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`${ida}:1  supply.handout  \\{"item":"water","qty":12\\}\\n.*${ida}:2  road.closed`, "s"));
  const byKind = JSON.parse((await kosctl(a, ["log", "list", "--kind", "road.closed", "--json"])).stdout) as Array<{ seq: number }>;
  assert.deepEqual(byKind.map((e) => e.seq), [2]);
  const byAuthor = JSON.parse((await kosctl(a, ["log", "list", "--author", ida, "--limit", "1", "--json"])).stdout) as Array<{ seq: number }>;
  assert.deepEqual(byAuthor.map((e) => e.seq), [2]);

  // tail --follow prints the last entry, then each new one as it becomes durable.
  const follower = spawn(process.execPath, [KOSCTL, "log", "tail", "--follow", "-n", "1", "--socket", a.socket], { stdio: ["ignore", "pipe", "pipe"] });
  t.after(() => void follower.kill("SIGKILL"));
  let followed = "";
  follower.stdout.on("data", (c: Buffer) => (followed += c.toString()));
  assert.ok(await eventually(async () => followed.includes("road.closed"), 10_000, 50), `follower started: ${followed}`);
  assert.equal((await kosctl(a, ["log", "append", "late.entry", "--body", '"seen live"'])).code, 0);
  assert.ok(await eventually(async () => followed.includes(`${ida}:3  late.entry  "seen live"`), 10_000, 50), `follower saw the new entry: ${followed}`);
  follower.kill("SIGTERM");
  assert.deepEqual(JSON.parse((await kosctl(a, ["log", "tail", "-n", "2", "--json"])).stdout).map((e: { seq: number }) => e.seq), [2, 3]);

  const show = await kosctl(a, ["log", "show", `${ida}:2`]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, new RegExp(`entry   ${ida}:2\\nhash    ${e2.hash}\\n`));
  assert.match(show.stdout, /"note": "flooded"/);
  const byHash = JSON.parse((await kosctl(a, ["log", "show", e2.hash.slice(0, 12), "--json"])).stdout) as { seq: number; signature: string };
  assert.equal(byHash.seq, 2);
  assert.equal(byHash.signature.length, 128);

  const verify = await kosctl(a, ["log", "verify"]);
  assert.deepEqual([verify.code, verify.stdout], [0, "ok: 3 entries of 1 author(s) verified\n"]);

  // Sneakernet: a bundle from a, imported into b, verified there; importing again changes nothing.
  const bundle = path.join(root, "a.kosbundle");
  const ex = await kosctl(a, ["log", "export", bundle]);
  assert.equal(ex.code, 0, ex.stderr);
  assert.match(ex.stdout, /^exported 3 entries to .*a\.kosbundle \(\d+ bytes\)\n$/);
  const im = await kosctl(b, ["log", "import", bundle]);
  assert.equal(im.code, 0, im.stderr);
  assert.match(im.stdout, /: 3 accepted, 0 already held, 0 fork\(s\) kept as evidence, 0 rejected\n$/);
  assert.match((await kosctl(b, ["log", "import", bundle])).stdout, /: 0 accepted, 3 already held/);
  assert.equal((await kosctl(b, ["log", "verify"])).code, 0);
  const status = JSON.parse((await kosctl(b, ["log", "status", "--json"])).stdout) as { heads: Array<{ author: string; seq: number; self: boolean }> };
  assert.deepEqual(status.heads, [{ ...status.heads[0]!, author: ida, seq: 3, self: false }]);
  assert.match((await kosctl(b, ["log", "list", "--author", ida])).stdout, /late\.entry/);
  assert.match((await kosctl(a, ["log", "status"])).stdout, new RegExp(`${ida}  seq 3  head [0-9a-f]{16}  \\(this node\\)`));

  // A bundle damaged in transit: what verifies is kept, the rest refused, the exit code says so.
  const bytes = fs.readFileSync(bundle);
  bytes[bytes.length - 40]! ^= 0xff;
  const damaged = path.join(root, "damaged.kosbundle");
  fs.writeFileSync(damaged, bytes);
  const c = makeNode(root, "c", "");
  t.after(async () => void (await stopNode(c)));
  await startNode(c);
  const dim = await kosctl(c, ["log", "import", damaged]);
  assert.equal(dim.code, 1);
  assert.match(dim.stdout, /: 2 accepted, .* 1 rejected/);
  assert.match(dim.stderr, /the bundle is damaged: bundle checksum mismatch/);
  assert.equal((await kosctl(c, ["log", "verify"])).code, 0, "what was imported verifies");

  // Entries survive a restart.
  await stopNode(a);
  await startNode(a);
  assert.equal((JSON.parse((await kosctl(a, ["log", "list", "--json"])).stdout) as unknown[]).length, 3);
  assert.match((await kosctl(a, ["log", "append", "after.restart"])).stdout, new RegExp(`appended ${ida}:4 `));
});

test("kosctl log: bad input ends in one clear line and a non-zero exit", { timeout: 60_000 }, async (t) => {
  const root = tempRoot(t);
  const a = makeNode(root, "a", "");
  t.after(async () => void (await stopNode(a)));
  await startNode(a);
  const ida = toHex(a.identity().hash);
  await fails(a, ["log", "frobnicate"], 2, /^kosctl: unknown log command "frobnicate"/);
  await fails(a, ["log", "append"], 2, /usage: kosctl log append KIND/);
  await fails(a, ["log", "append", "k", "--body", "{not json"], 2, /the body is not valid JSON/);
  await fails(a, ["log", "append", "k", "--body", "1", "--stdin"], 2, /not both/);
  await fails(a, ["log", "append", "k".repeat(65)], 2, /KIND must be 1 to 64 bytes/);
  await fails(a, ["log", "append", "k", "--body", JSON.stringify("x".repeat(20_000))], 1, /exceeds 16384/);
  await fails(a, ["log", "list", "--limit", "many"], 2, /--limit must be a whole number/);
  await fails(a, ["log", "list", "--author", "abc"], 2, /author must be an identity hash/);
  await fails(a, ["log", "list", "--colour"], 2, /unknown option --colour/);
  await fails(a, ["log", "show", "nope"], 2, /neither AUTHOR:SEQ/);
  await fails(a, ["log", "show", `${ida}:7`], 1, new RegExp(`no entry ${ida}:7 in the log`));
  await fails(a, ["log", "show", "deadbeef"], 1, /no entry with hash deadbeef/);
  await fails(a, ["log", "import", path.join(root, "missing.kosbundle")], 1, /no such file/);
  const junk = path.join(root, "junk");
  fs.writeFileSync(junk, "this is not a bundle");
  await fails(a, ["log", "import", junk], 1, /is not a kos-edge log bundle/);
  await fails(a, ["log", "export", path.join(root, "no", "such", "dir", "x.kosbundle")], 1, /cannot write .*ENOENT/);
  await stopNode(a);
  await fails(a, ["log", "status"], 1, /kosd is not running/);
});
