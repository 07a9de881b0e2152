// Integration tests for `kosctl id`: spawn the bundled CLI (dist/kosctl.cjs, built by `npm run build`)
// and check its output against the runtime computed in-process and against known answers produced by
// the reference implementation (RNS 1.4.2).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { concat, fromHex, toHex, type Bytes } from "../../runtime/core/bytes.js";
import { cryptoRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { ratchetPublicKey } from "../../runtime/crypto/ratchet.js";
import { destinationHashOf, nameHashOf } from "../../runtime/wire/destination.js";

const CLI = path.join(process.cwd(), "dist", "kosctl.cjs");
const VECTORS = path.join(process.cwd(), "test", "vectors", "rns-1.4.2-identities.json");
const SPAWN_TIMEOUT_MS = 30_000;

// Known answers from RNS 1.4.2 (Identity.from_bytes, Destination.hash_from_name_and_identity, base64/base32).
const KA = {
  privateKey:
    "95e0ceceed88a36972bc21d4570f2cd53b50f2357a34b52d2947d4c056ba598a2ccf43602ea610cc67de29dbd7a983d374dc1067288c20e7c03576b59320072f",
  publicKey:
    "82c7c2fdc3cbc592fe42ff4fd9eac52f17093f666732364468fa296c5ba199426af2736264498cd7ba8817d30dba449c77ddab32280cc5a7aa9abfef45040cf5",
  identityHash: "a7af3007279fc3a571d89e63980dadc2",
  lxmfNameHash: "6ec60bc318e2c0f0d908",
  lxmfDestination: "165b9263c1c5658c609a87557118f101",
  lxmfPlain: "9497d16c52ac5faec04c36db5c301e8e",
  base32: "SXQM5TXNRCRWS4V4EHKFODZM2U5VB4RVPI2LKLJJI7KMAVV2LGFCZT2DMAXKMEGMM7PCTW6XVGB5G5G4CBTSRDBA47ADK5VVSMQAOLY=",
  base64: "leDOzu2Io2lyvCHUVw8s1TtQ8jV6NLUtKUfUwFa6WYosz0NgLqYQzGfeKdvXqYPTdNwQZyiMIOfANXa1kyAHLw==",
  /** Identity.sign(b"kos-edge known answer") */
  message: "kos-edge known answer",
  signature:
    "2294557af78581c8244bc8009fb54dfb2d6619064c89646f6efe0dd6ee859bdf46bd26c3db7e9f0d6a9dd0fdf105839cac05c6434b493a8e56974b5534b91107",
  /** Identity.encrypt(bytes(range(256))) */
  token:
    "df701ca66ce9f40173ba529eff95eaf36f99f4080144fff109f1f131c1bc7c3abe3c49e166c8326aac71119ebae1a3334476a129853928169e0639ab8952e1efd9091fdde3f32ae62cefe40145fd098050f31dfde779b0ad5b9edbb742eb17294160bc60953870f378923809b96ce6b1b4aa6fe08db10992acce6cda9d99d3ae5b47d2971449c32006ae8f938ae884acb33311c2d8d5be3ad8000123801293b7cc2388ed48f12a872f979d6ec276fd8108053e3cb2064c88f0c19864fa76a694af5683a24a2eccd8187ba5a52d1163edc8c6312a1b06e9e5c9853fabd98a1ce8d65d2ff80f5ced939c42a75794f4a1fe79b4bd087b53a07b446f9c82af87a8d3c087e4317cf467314cd3b999245f3a6e9cc1249b3914634a7f22001edd527ed8ccfed7b200aa3d54df0cce95707731dd451d25982333655b03822c26de722b1d0066327a237470896f2c603eb335ad7c5390a17f4a953b11e058594d79ca2d6f",
  /** ratchet private key bytes(range(1, 33)); Identity.encrypt(b"ratchet known answer", ratchet=its public key) */
  ratchetPrivate: "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
  ratchetPublic: "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c",
  ratchetToken:
    "05d68002ed4bd655e800972a743f4b15df9733268fca3664d2ea55a051b7ca67231beb8d167f1e8b53ec6be911e052dee5c92a5eb43b77ca8908e1c913f3bad6776168581d8c9df869e4c2100a3d77e3c3335e6bc9408db7596c95f6991bb41489480aa2843ee05fcd438f571e6ad5ac",
  ratchetPlaintext: "ratchet known answer",
};

const ALL_BYTES = Uint8Array.from({ length: 256 }, (_, i) => i);
/** Every byte value, several times over and not block aligned. */
const BINARY = concat(ALL_BYTES, ALL_BYTES.slice().reverse(), ALL_BYTES, Uint8Array.of(0, 255, 10, 13, 26));

interface Run {
  code: number | null;
  stdout: Buffer;
  out: string;
  stderr: string;
}

function kosctl(args: readonly string[], opts: { input?: Uint8Array | string; cwd?: string } = {}): Run {
  const r = spawnSync(process.execPath, [CLI, "id", ...args], {
    input: opts.input ?? "",
    cwd: opts.cwd,
    timeout: SPAWN_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, KOS_DEBUG: "" },
  });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, out: r.stdout.toString("utf8"), stderr: r.stderr.toString("utf8") };
}

/** The same as kosctl(), without blocking: for tables of independent cases run a few at a time. */
function kosctlAsync(args: readonly string[], opts: { input?: Uint8Array | string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "id", ...args], {
      timeout: SPAWN_TIMEOUT_MS,
      env: { ...process.env, KOS_DEBUG: "" },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (signal !== null) return reject(new Error(`kosctl id ${args.join(" ")}: killed by ${signal}`));
      const stdout = Buffer.concat(out);
      resolve({ code, stdout, out: stdout.toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

/** Runs `fn` over `items`, `limit` at a time. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function loadVectors<T>(name: string): T | null {
  const file = path.join(process.cwd(), "test", "vectors", name);
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as T) : null;
}

/** Runs and requires success with a quiet stderr. */
function ok(args: readonly string[], opts: { input?: Uint8Array | string; cwd?: string } = {}): Run {
  const r = kosctl(args, opts);
  assert.equal(r.stderr, "", `kosctl id ${args.join(" ")}: unexpected stderr`);
  assert.equal(r.code, 0, `kosctl id ${args.join(" ")}: exit code`);
  return r;
}

function json(r: Run): Record<string, unknown> {
  return JSON.parse(r.out) as Record<string, unknown>;
}

/** A failure is exactly one stderr line "kosctl: ...", no stack trace, and the given exit code. */
function assertFails(r: Run, code: 1 | 2, pattern?: RegExp): void {
  const lines = r.stderr.split("\n");
  assert.equal(lines.at(-1), "", `stderr ends with a newline: ${JSON.stringify(r.stderr)}`);
  assert.equal(lines.length, 2, `exactly one stderr line: ${JSON.stringify(r.stderr)}`);
  assert.match(lines[0]!, /^kosctl: \S/);
  assert.doesNotMatch(r.stderr, /^\s+at /m);
  assert.doesNotMatch(r.stderr, /internal error|Error:/);
  assert.equal(r.code, code, `exit code for ${JSON.stringify(lines[0])}`);
  if (pattern) assert.match(lines[0]!, pattern);
}

function tmpDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kosctl-id-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function writeIdentity(dir: string, name: string, id: Identity): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, id.privateKey, { mode: 0o600 });
  return file;
}

test("help: kosctl id and every subcommand document their usage", () => {
  const top = ok(["--help"]);
  for (const sub of ["new", "show", "export", "import", "sign", "verify", "encrypt", "decrypt", "hash"]) {
    assert.match(top.out, new RegExp(`^  ${sub} `, "m"));
    const r = ok([sub, "--help"]);
    assert.match(r.out, new RegExp(`^usage: kosctl id ${sub}`));
    assert.equal(ok([sub, "-h"]).out, r.out);
  }
  const bare = kosctl([]);
  assert.equal(bare.code, 2);
  assert.match(bare.out, /^usage: kosctl id/);
});

test("new writes a 0600 identity file that show reads back", (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, "node.id");
  const created = json(ok(["new", "--out", file, "--json"]));
  const data = fs.readFileSync(file);
  assert.equal(data.length, 64);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const id = Identity.fromPrivateKey(new Uint8Array(data));
  assert.deepEqual(created, { identity_hash: toHex(id.hash), public_key: toHex(id.publicKey), file });
  assert.deepEqual(json(ok(["show", "--identity", file, "--json"])), {
    identity_hash: toHex(id.hash),
    public_key: toHex(id.publicKey),
    has_private_key: true,
  });
  const text = ok(["show", "--identity", file]).out;
  assert.match(text, new RegExp(`identity hash: ${toHex(id.hash)}`));
  assert.match(text, new RegExp(`public key: +${toHex(id.publicKey)}`));
  assert.ok(!text.includes(toHex(id.privateKey)), "show never prints the private key");
  // No temp files are left behind.
  assert.deepEqual(fs.readdirSync(dir), ["node.id"]);
});

test("new refuses to overwrite an identity file unless --force", (t) => {
  const dir = tmpDir(t);
  const file = path.join(dir, "node.id");
  ok(["new", "--out", file]);
  const before = fs.readFileSync(file);
  assertFails(kosctl(["new", "--out", file]), 1, /already exists/);
  assert.deepEqual(fs.readFileSync(file), before);
  const replaced = json(ok(["new", "--out", file, "--force", "--json"]));
  const after = Identity.fromPrivateKey(new Uint8Array(fs.readFileSync(file)));
  assert.equal(replaced["identity_hash"], toHex(after.hash));
  assert.notDeepEqual(fs.readFileSync(file), before);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
});

test("new without --out prints a fresh private key and writes nothing", (t) => {
  const dir = tmpDir(t);
  const j = json(ok(["new", "--json"], { cwd: dir }));
  const id = Identity.fromPrivateKey(fromHex(j["private_key"] as string));
  assert.equal(j["identity_hash"], toHex(id.hash));
  assert.equal(j["public_key"], toHex(id.publicKey));
  assert.deepEqual(fs.readdirSync(dir), []);
  assert.notEqual(json(ok(["new", "--json"]))["private_key"], j["private_key"]);
});

test("show --json matches Identity computed in-process, for every way of naming an identity", (t) => {
  const dir = tmpDir(t);
  const id = Identity.generate(cryptoRandom);
  const want = { identity_hash: toHex(id.hash), public_key: toHex(id.publicKey) };
  const file = writeIdentity(dir, "a.id", id);
  const pubFile = path.join(dir, "a.pub");
  fs.writeFileSync(pubFile, id.publicKey);
  assert.deepEqual(json(ok(["show", "--identity", file, "--json"])), { ...want, has_private_key: true });
  assert.deepEqual(json(ok(["show", "--private-hex", toHex(id.privateKey), "--json"])), { ...want, has_private_key: true });
  assert.deepEqual(json(ok(["show", "--private-hex", toHex(id.privateKey).toUpperCase(), "--json"])), { ...want, has_private_key: true });
  assert.deepEqual(json(ok(["show", "--public-hex", toHex(id.publicKey), "--json"])), { ...want, has_private_key: false });
  assert.deepEqual(json(ok(["show", "--public-file", pubFile, "--json"])), { ...want, has_private_key: false });
  assert.deepEqual(json(ok(["show", `--private-hex=${toHex(id.privateKey)}`, "--json"])), { ...want, has_private_key: true });
});

test("known answers from RNS 1.4.2: hash, public key, exports and lxmf.delivery", () => {
  assert.deepEqual(json(ok(["show", "--private-hex", KA.privateKey, "--json"])), {
    identity_hash: KA.identityHash,
    public_key: KA.publicKey,
    has_private_key: true,
  });
  assert.equal(ok(["export", "--private-hex", KA.privateKey]).out, `${KA.privateKey}\n`);
  assert.equal(ok(["export", "--private-hex", KA.privateKey, "--format", "base32"]).out, `${KA.base32}\n`);
  assert.equal(ok(["export", "--private-hex", KA.privateKey, "--format", "base64"]).out, `${KA.base64}\n`);
  const h = json(ok(["hash", "lxmf.delivery", "--private-hex", KA.privateKey, "--json"]));
  assert.deepEqual(h, {
    name: "lxmf.delivery",
    type: "single",
    identity_hash: KA.identityHash,
    name_hash: KA.lxmfNameHash,
    destination_hash: KA.lxmfDestination,
  });
  assert.equal(json(ok(["hash", "lxmf.delivery", "--plain", "--json"]))["destination_hash"], KA.lxmfPlain);
  assert.equal(ok(["sign", "--private-hex", KA.privateKey], { input: KA.message }).out, `${KA.signature}\n`);
});

test("known answers from RNS 1.4.2: tokens made by the reference decrypt", (t) => {
  const dir = tmpDir(t);
  const tokenFile = path.join(dir, "ka.rfe");
  fs.writeFileSync(tokenFile, fromHex(KA.token));
  const r = ok(["decrypt", "--private-hex", KA.privateKey, "--file", tokenFile]);
  assert.deepEqual(new Uint8Array(r.stdout), ALL_BYTES);
  const rt = ok(["decrypt", "--private-hex", KA.privateKey, "--ratchet-private-hex", KA.ratchetPrivate], {
    input: fromHex(KA.ratchetToken),
  });
  assert.equal(rt.out, KA.ratchetPlaintext);
  assert.equal(toHex(ratchetPublicKey(fromHex(KA.ratchetPrivate))), KA.ratchetPublic);
});

test("known-answer vectors file: show --private-hex matches every entry", (t) => {
  if (!fs.existsSync(VECTORS)) {
    t.skip(`${path.relative(process.cwd(), VECTORS)} not present`);
    return;
  }
  const doc = JSON.parse(fs.readFileSync(VECTORS, "utf8")) as {
    identities: { private_key: string; public_key: string; identity_hash: string }[];
  };
  assert.ok(doc.identities.length > 0, "vectors file lists identities");
  for (const v of doc.identities) {
    assert.deepEqual(json(ok(["show", "--private-hex", v.private_key, "--json"])), {
      identity_hash: v.identity_hash.toLowerCase(),
      public_key: v.public_key.toLowerCase(),
      has_private_key: true,
    });
  }
});

test("export/import round trip in hex, base32 and base64, private and public", (t) => {
  const dir = tmpDir(t);
  const id = Identity.generate(cryptoRandom);
  const file = writeIdentity(dir, "a.id", id);
  let n = 0;
  for (const format of ["hex", "base32", "base64"]) {
    for (const pub of [false, true]) {
      const text = ok(["export", "--identity", file, "--format", format, ...(pub ? ["--public"] : [])]).out.trim();
      const key = pub ? id.publicKey : id.privateKey;
      if (format === "hex") assert.equal(text, toHex(key));
      if (format === "base32") assert.match(text, /^[A-Z2-7]{103}=$/);
      if (format === "base64") assert.match(text, /^[A-Za-z0-9_-]{86}==$/);
      // The key text may begin with "-" (URL-safe base64), so it follows "--"; also via --stdin.
      for (const viaStdin of [false, true]) {
        const out = path.join(dir, `k${n++}`);
        const extra = pub ? ["--public"] : [];
        const args = viaStdin
          ? ["import", "--stdin", "--format", format, "--out", out, "--json", ...extra]
          : ["import", "--format", format, "--out", out, "--json", ...extra, "--", text];
        const j = json(ok(args, viaStdin ? { input: `${text}\n` } : {}));
        assert.deepEqual(new Uint8Array(fs.readFileSync(out)), key);
        assert.equal(j["identity_hash"], toHex(id.hash));
        assert.equal(j["has_private_key"], !pub);
        assert.equal(fs.statSync(out).mode & 0o777, pub ? 0o644 : 0o600);
      }
      // The default format, auto, recognises each encoding; the file works as an identity.
      const auto = path.join(dir, `k${n++}`);
      ok(["import", "--out", auto, ...(pub ? ["--public"] : []), "--", text]);
      assert.deepEqual(new Uint8Array(fs.readFileSync(auto)), key);
      const shown = json(ok(["show", pub ? "--public-file" : "--identity", auto, "--json"]));
      assert.equal(shown["identity_hash"], toHex(id.hash));
    }
  }
});

test("import refuses to overwrite unless --force", (t) => {
  const dir = tmpDir(t);
  const a = Identity.generate(cryptoRandom);
  const b = Identity.generate(cryptoRandom);
  const out = path.join(dir, "x.id");
  ok(["import", toHex(a.privateKey), "--out", out]);
  assertFails(kosctl(["import", toHex(b.privateKey), "--out", out]), 1, /already exists/);
  assert.deepEqual(new Uint8Array(fs.readFileSync(out)), a.privateKey);
  ok(["import", toHex(b.privateKey), "--out", out, "--force"]);
  assert.deepEqual(new Uint8Array(fs.readFileSync(out)), b.privateKey);
});

test("sign then verify; a flipped message or signature byte fails with exit 1", (t) => {
  const dir = tmpDir(t);
  const id = Identity.generate(cryptoRandom);
  const file = writeIdentity(dir, "a.id", id);
  const msgFile = path.join(dir, "msg");
  fs.writeFileSync(msgFile, BINARY);
  const sigFile = path.join(dir, "msg.rsg");
  const sigHex = ok(["sign", "--identity", file, "--file", msgFile, "--out", sigFile]).out.trim();
  assert.match(sigHex, /^[0-9a-f]{128}$/);
  assert.equal(sigHex, toHex(id.sign(BINARY)), "Ed25519 is deterministic: the CLI signs as the runtime does");
  assert.deepEqual(new Uint8Array(fs.readFileSync(sigFile)), fromHex(sigHex), "the signature file is the raw 64 bytes");
  assert.equal(ok(["sign", "--private-hex", toHex(id.privateKey)], { input: BINARY }).out.trim(), sigHex, "stdin signs the same bytes");

  const pub = ["--public-hex", toHex(id.publicKey)];
  assert.equal(ok(["verify", "--identity", file, "--signature", sigHex, "--file", msgFile]).out, "signature valid\n");
  assert.equal(ok(["verify", ...pub, "--signature-file", sigFile], { input: BINARY }).out, "signature valid\n");
  const hexSigFile = path.join(dir, "msg.sig.txt");
  fs.writeFileSync(hexSigFile, `${sigHex}\n`);
  ok(["verify", ...pub, "--signature-file", hexSigFile, "--file", msgFile]);

  const flippedMsg = BINARY.slice();
  flippedMsg[100]! ^= 0x01;
  const r1 = kosctl(["verify", ...pub, "--signature", sigHex], { input: flippedMsg });
  assertFails(r1, 1, /^kosctl: signature invalid$/);
  assert.equal(r1.out, "");
  const flippedSig = fromHex(sigHex);
  flippedSig[5]! ^= 0x80;
  assertFails(kosctl(["verify", ...pub, "--signature", toHex(flippedSig), "--file", msgFile]), 1, /signature invalid/);
  const other = Identity.generate(cryptoRandom);
  assertFails(kosctl(["verify", "--public-hex", toHex(other.publicKey), "--signature", sigHex, "--file", msgFile]), 1, /signature invalid/);
});

test("encrypt then decrypt round trip with every byte value, via files and via stdin/stdout", (t) => {
  const dir = tmpDir(t);
  const id = Identity.generate(cryptoRandom);
  const file = writeIdentity(dir, "a.id", id);
  const plainFile = path.join(dir, "plain");
  fs.writeFileSync(plainFile, BINARY);
  const encFile = path.join(dir, "plain.rfe");
  const decFile = path.join(dir, "plain.out");

  assert.equal(ok(["encrypt", "--public-hex", toHex(id.publicKey), "--file", plainFile, "--out", encFile]).out, "");
  const token = new Uint8Array(fs.readFileSync(encFile));
  const padded = Math.floor(BINARY.length / 16) * 16 + 16;
  assert.equal(token.length, 32 + 16 + padded + 32, "ephemeral key || IV || ciphertext || HMAC");
  const inProcess = id.decrypt(token);
  assert.ok(inProcess.ok);
  assert.deepEqual(inProcess.value.plaintext, BINARY, "Identity.decrypt opens what the CLI encrypted");

  ok(["decrypt", "--identity", file, "--file", encFile, "--out", decFile]);
  assert.deepEqual(new Uint8Array(fs.readFileSync(decFile)), BINARY);
  assert.equal(fs.statSync(decFile).mode & 0o777, 0o600);

  // stdin → stdout, raw bytes both ways.
  const enc = ok(["encrypt", "--identity", file], { input: BINARY }).stdout;
  assert.notDeepEqual(new Uint8Array(enc), token, "a fresh ephemeral key each time");
  const dec = ok(["decrypt", "--private-hex", toHex(id.privateKey)], { input: enc }).stdout;
  assert.deepEqual(new Uint8Array(dec), BINARY);

  // What the runtime encrypts in-process, the CLI decrypts.
  const mine = id.encrypt(BINARY, cryptoRandom);
  assert.deepEqual(new Uint8Array(ok(["decrypt", "--identity", file], { input: mine }).stdout), BINARY);
});

test("encrypt to a ratchet: decrypting needs --ratchet-private-hex", (t) => {
  const dir = tmpDir(t);
  const id = Identity.generate(cryptoRandom);
  const file = writeIdentity(dir, "a.id", id);
  const ratchet = cryptoRandom.bytes(32);
  const ratchetPub = ratchetPublicKey(ratchet);
  const enc = ok(["encrypt", "--public-hex", toHex(id.publicKey), "--ratchet-hex", toHex(ratchetPub)], { input: BINARY }).stdout;

  const inProcess = id.decrypt(new Uint8Array(enc), [ratchet], true);
  assert.ok(inProcess.ok, "Identity.decrypt with the ratchet opens it");
  assert.deepEqual(inProcess.value.plaintext, BINARY);

  const without = kosctl(["decrypt", "--identity", file], { input: enc });
  assertFails(without, 1, /decryption failed/);
  assert.equal(without.stdout.length, 0);

  const other = toHex(cryptoRandom.bytes(32));
  const dec = ok(["decrypt", "--identity", file, "--ratchet-private-hex", `${other},${toHex(ratchet)}`], { input: enc });
  assert.deepEqual(new Uint8Array(dec.stdout), BINARY);
  // A ratchet list does not stop the identity key from opening ordinary tokens (as Identity.decrypt).
  const plain = ok(["encrypt", "--identity", file], { input: BINARY }).stdout;
  assert.deepEqual(new Uint8Array(ok(["decrypt", "--identity", file, "--ratchet-private-hex", other], { input: plain }).stdout), BINARY);
});

test("data over 16 MiB is encrypted in rnid's 16 MiB chunks", (t) => {
  const dir = tmpDir(t);
  const id = Identity.generate(cryptoRandom);
  const file = writeIdentity(dir, "a.id", id);
  const chunk = 16 * 1024 * 1024;
  const big = new Uint8Array(chunk + 1000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >>> 8)) & 0xff;
  const plainFile = path.join(dir, "big");
  fs.writeFileSync(plainFile, big);
  const encFile = path.join(dir, "big.rfe");
  ok(["encrypt", "--identity", file, "--file", plainFile, "--out", encFile]);
  const enc = new Uint8Array(fs.readFileSync(encFile));
  assert.equal(enc.length, chunk + 96 + (32 + 16 + 1008 + 32));
  const first = id.decrypt(enc.subarray(0, chunk + 96));
  const second = id.decrypt(enc.subarray(chunk + 96));
  assert.ok(first.ok && second.ok, "each chunk is a token of its own");
  assert.deepEqual(concat(first.value.plaintext, second.value.plaintext), big);
  const dec = ok(["decrypt", "--identity", file], { input: enc }).stdout;
  assert.equal(dec.length, big.length);
  assert.ok(Buffer.from(big).equals(dec));
});

test("decrypt: wrong identity, damaged or truncated data fail with exit 1 and no output", (t) => {
  const dir = tmpDir(t);
  const id = Identity.generate(cryptoRandom);
  const other = Identity.generate(cryptoRandom);
  const file = writeIdentity(dir, "a.id", id);
  const enc = id.encrypt(BINARY, cryptoRandom);
  const cases: Bytes[] = [enc.subarray(0, 40), enc.subarray(0, enc.length - 1), Uint8Array.from(enc, (b, i) => (i === 60 ? b ^ 1 : b))];
  for (const input of cases) {
    const r = kosctl(["decrypt", "--identity", file], { input });
    assertFails(r, 1, /decryption failed/);
    assert.equal(r.stdout.length, 0);
  }
  const out = path.join(dir, "never");
  assertFails(kosctl(["decrypt", "--private-hex", toHex(other.privateKey), "--out", out], { input: enc }), 1, /not encrypted for this identity/);
  assert.ok(!fs.existsSync(out), "no output file on failure");
  assert.deepEqual(fs.readdirSync(dir).sort(), ["a.id"], "no temp file left behind");
});

test("hash lxmf.delivery equals runtime/wire/destination.ts, for SINGLE and PLAIN", (t) => {
  const dir = tmpDir(t);
  const id = Identity.generate(cryptoRandom);
  const file = writeIdentity(dir, "a.id", id);
  const single = toHex(destinationHashOf("lxmf.delivery", id.hash));
  const nameHash = toHex(nameHashOf("lxmf.delivery"));
  for (const source of [
    ["--identity", file],
    ["--private-hex", toHex(id.privateKey)],
    ["--public-hex", toHex(id.publicKey)],
    ["--identity-hash", toHex(id.hash)],
  ]) {
    const j = json(ok(["hash", "lxmf.delivery", ...source, "--json"]));
    assert.deepEqual(j, { name: "lxmf.delivery", type: "single", identity_hash: toHex(id.hash), name_hash: nameHash, destination_hash: single });
  }
  const plain = json(ok(["hash", "lxmf.delivery", "--plain", "--json"]));
  assert.deepEqual(plain, {
    name: "lxmf.delivery",
    type: "plain",
    identity_hash: null,
    name_hash: nameHash,
    destination_hash: toHex(destinationHashOf("lxmf.delivery", null)),
  });
  const text = ok(["hash", "lxmf.delivery", "--identity", file]).out;
  assert.match(text, new RegExp(`destination hash: ${single}`));
  assert.match(text, new RegExp(`name hash: +${nameHash}`));
  // More aspects, and an app name alone.
  assert.equal(
    json(ok(["hash", "nomadnetwork.node.x", "--identity-hash", toHex(id.hash), "--json"]))["destination_hash"],
    toHex(destinationHashOf("nomadnetwork.node.x", id.hash)),
  );
  assert.equal(json(ok(["hash", "app", "--plain", "--json"]))["destination_hash"], toHex(destinationHashOf("app", null)));
});

test("bad input: one 'kosctl: ' line on stderr, no stack trace, exit 2 for usage and 1 for failures", async (t) => {
  const dir = tmpDir(t);
  const id = Identity.generate(cryptoRandom);
  const file = writeIdentity(dir, "a.id", id);
  const priv = toHex(id.privateKey);
  const pub = toHex(id.publicKey);
  const msg = path.join(dir, "msg");
  fs.writeFileSync(msg, "hello");
  const shortFile = path.join(dir, "short.id");
  fs.writeFileSync(shortFile, new Uint8Array(10));
  const garbage = path.join(dir, "garbage");
  fs.writeFileSync(garbage, "this is not a signature at all, not even close to one");
  const missing = path.join(dir, "missing");
  const subdir = path.join(dir, "subdir");
  fs.mkdirSync(subdir);
  const existing = path.join(dir, "existing");
  fs.writeFileSync(existing, "keep me");
  const sig = toHex(id.sign(new TextEncoder().encode("hello")));

  const cases: [string, string[], 1 | 2, RegExp?, (Uint8Array | string)?][] = [
    ["unknown id command", ["frobnicate"], 2, /unknown id command/],
    ["unknown option", ["show", "--identity", file, "--bogus"], 2, /unknown option --bogus/],
    ["missing option value", ["show", "--identity"], 2, /needs a value/],
    ["unexpected argument", ["show", "--identity", file, "extra"], 2, /unexpected argument/],
    ["no identity", ["show"], 2, /no identity/],
    ["two identities", ["show", "--identity", file, "--private-hex", priv], 2, /only one of/],
    ["malformed hex", ["show", "--private-hex", "zz".repeat(64)], 2, /not hex/],
    ["odd-length hex", ["show", "--private-hex", priv.slice(1)], 2, /not hex/],
    ["short private key", ["show", "--private-hex", priv.slice(2)], 2, /64 bytes/],
    ["long public key", ["show", "--public-hex", `${pub}00`], 2, /64 bytes/],
    ["missing identity file", ["show", "--identity", missing], 1, /no such identity file/],
    ["unreadable identity file (a directory)", ["show", "--identity", subdir], 1],
    ["identity file of the wrong size", ["show", "--identity", shortFile], 1, /holds 10 bytes/],
    ["public key where a private key is needed", ["sign", "--public-hex", pub, "--file", msg], 2, /private key/],
    ["export private from a public key", ["export", "--public-hex", pub], 2, /private key/],
    ["unknown format", ["export", "--identity", file, "--format", "base58"], 2, /unknown format/],
    ["missing message file", ["sign", "--identity", file, "--file", missing], 1, /no such input file/],
    ["message file is a directory", ["sign", "--identity", file, "--file", subdir], 1],
    ["bad signature (not valid)", ["verify", "--identity", file, "--signature", "00".repeat(64), "--file", msg], 1, /signature invalid/],
    ["signature not hex", ["verify", "--identity", file, "--signature", "xy".repeat(64), "--file", msg], 2, /not hex/],
    ["signature too short", ["verify", "--identity", file, "--signature", sig.slice(0, 64), "--file", msg], 2, /64 bytes/],
    ["signature and signature file", ["verify", "--identity", file, "--signature", sig, "--signature-file", garbage, "--file", msg], 2, /only one of/],
    ["no signature", ["verify", "--identity", file, "--file", msg], 2, /no signature/],
    ["garbage signature file", ["verify", "--identity", file, "--signature-file", garbage, "--file", msg], 1],
    ["missing signature file", ["verify", "--identity", file, "--signature-file", missing, "--file", msg], 1, /no such signature file/],
    ["bad base64", ["import", "--format", "base64", "--out", path.join(dir, "o1"), "not*base64!"], 2, /not valid base64/],
    ["bad base32", ["import", "--format", "base32", "--out", path.join(dir, "o2"), "11111111"], 2, /not valid base32/],
    ["base64 of the wrong length", ["import", "--format", "base64", "--out", path.join(dir, "o3"), "AAAA"], 2, /3 bytes/],
    ["hex of the wrong length", ["import", "--format", "hex", "--out", path.join(dir, "o4"), "abcd"], 2, /2 bytes/],
    ["undecodable key text", ["import", "--out", path.join(dir, "o5"), "hello"], 2, /does not decode/],
    ["bad key on stdin", ["import", "--stdin", "--out", path.join(dir, "o6")], 1, /on stdin/, "@@@@\n"],
    ["import without --out", ["import", priv], 2, /--out/],
    ["import with no key", ["import", "--out", path.join(dir, "o7")], 2, /no key/],
    ["import TEXT and --stdin", ["import", priv, "--stdin", "--out", path.join(dir, "o8")], 2, /not both/],
    ["import onto an existing file", ["import", priv, "--out", existing], 1, /already exists/],
    ["new onto an existing file", ["new", "--out", existing], 1, /already exists/],
    ["new into a missing directory", ["new", "--out", path.join(missing, "x.id")], 1, /cannot write/],
    ["encrypt onto an existing file", ["encrypt", "--identity", file, "--file", msg, "--out", existing], 1, /already exists/],
    ["encrypt with a short ratchet", ["encrypt", "--identity", file, "--ratchet-hex", "abcd", "--file", msg], 2, /32 bytes/],
    ["decrypt with a public key", ["decrypt", "--public-hex", pub, "--file", msg], 2, /private key/],
    ["decrypt garbage", ["decrypt", "--identity", file, "--file", garbage], 1, /decryption failed/],
    ["decrypt with a bad ratchet", ["decrypt", "--identity", file, "--ratchet-private-hex", "12,34", "--file", msg], 2, /32 bytes/],
    ["hash without a name", ["hash", "--plain"], 2, /missing destination name/],
    ["hash without an identity", ["hash", "lxmf.delivery"], 2, /no identity/],
    ["hash with identity and --plain", ["hash", "lxmf.delivery", "--plain", "--identity", file], 2, /only one of/],
    ["hash with an empty app name", ["hash", ".delivery", "--plain"], 2, /bad destination name/],
    ["hash with a short identity hash", ["hash", "lxmf.delivery", "--identity-hash", "abcd"], 2, /16 bytes/],
    ["flag with a value", ["show", "--identity", file, "--json=yes"], 2, /takes no value/],
    ["--force without --out", ["sign", "--identity", file, "--file", msg, "--force"], 2, /--force/],
  ];
  await eachLimited(cases, 8, async ([what, args, code, pattern, input]) => {
    const r = await kosctlAsync(args, input === undefined ? {} : { input });
    try {
      assertFails(r, code, pattern);
    } catch (e) {
      (e as Error).message = `${what}: ${(e as Error).message}`;
      throw e;
    }
  });
  assert.equal(fs.readFileSync(existing, "utf8"), "keep me", "existing files are never touched");
  for (const name of ["o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8"]) assert.ok(!fs.existsSync(path.join(dir, name)), `${name} not written`);
  assert.ok(
    fs.readdirSync(dir).every((n) => !n.includes(".tmp-")),
    "no temp files left behind",
  );
});

test("vector files from RNS 1.4.2: destination hashes, signatures and tokens agree (when present)", async (t) => {
  const dests = loadVectors<{ destinations: { type: string; full_name: string; identity_hash: string | null; name_hash: string; destination_hash: string }[] }>(
    "rns-1.4.2-destinations.json",
  );
  const sigs = loadVectors<{
    signatures: { private_key: string; public_key: string; message: string; signature: string }[];
    invalid: { public_key: string; message: string; signature: string }[];
  }>("rns-1.4.2-signatures.json");
  const tokens = loadVectors<{
    identity_encrypt: { recipient_private_key: string; ratchet_private_key: string | null; plaintext: string; token: string }[];
    reference_random: { recipient_private_key: string; ratchet_private_key: string | null; plaintext: string; token: string }[];
    invalid: { description: string; recipient_private_key: string; token: string }[];
  }>("rns-1.4.2-tokens.json");
  if (dests === null && sigs === null && tokens === null) {
    t.skip("test/vectors/rns-1.4.2-{destinations,signatures,tokens}.json not present");
    return;
  }
  const jobs: (() => Promise<void>)[] = [];
  for (const d of dests?.destinations ?? []) {
    if (d.type !== "single" && d.type !== "plain") continue;
    jobs.push(async () => {
      const source = d.identity_hash === null ? ["--plain"] : ["--identity-hash", d.identity_hash];
      const r = await kosctlAsync(["hash", d.full_name, ...source, "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const j = JSON.parse(r.out) as Record<string, unknown>;
      assert.equal(j["name_hash"], d.name_hash, d.full_name);
      assert.equal(j["destination_hash"], d.destination_hash, d.full_name);
    });
  }
  for (const v of sigs?.signatures ?? []) {
    jobs.push(async () => {
      const r = await kosctlAsync(["sign", "--private-hex", v.private_key], { input: fromHex(v.message) });
      assert.equal(r.out, `${v.signature}\n`, r.stderr);
      const ver = await kosctlAsync(["verify", "--public-hex", v.public_key, "--signature", v.signature], { input: fromHex(v.message) });
      assert.equal(ver.code, 0, ver.stderr);
    });
  }
  for (const v of sigs?.invalid ?? []) {
    jobs.push(async () => {
      const r = await kosctlAsync(["verify", "--public-hex", v.public_key, "--signature", v.signature], { input: fromHex(v.message) });
      // A signature of the wrong length is refused as a bad argument (exit 2) before any check.
      if (v.signature.length === 128) assertFails(r, 1, /signature invalid/);
      else assertFails(r, 2, /--signature must be 64 bytes/);
    });
  }
  for (const v of [...(tokens?.identity_encrypt ?? []), ...(tokens?.reference_random ?? [])]) {
    jobs.push(async () => {
      const ratchet = v.ratchet_private_key === null ? [] : ["--ratchet-private-hex", v.ratchet_private_key];
      const r = await kosctlAsync(["decrypt", "--private-hex", v.recipient_private_key, ...ratchet], { input: fromHex(v.token) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(toHex(new Uint8Array(r.stdout)), v.plaintext);
    });
  }
  for (const v of tokens?.invalid ?? []) {
    jobs.push(async () => {
      const r = await kosctlAsync(["decrypt", "--private-hex", v.recipient_private_key], { input: fromHex(v.token) });
      try {
        assertFails(r, 1, /decryption failed/);
      } catch (e) {
        (e as Error).message = `${v.description}: ${(e as Error).message}`;
        throw e;
      }
      assert.equal(r.stdout.length, 0);
    });
  }
  assert.ok(jobs.length > 0);
  await eachLimited(jobs, 8, (job) => job());
});

test("stdin on a terminal is refused rather than waited on", (t) => {
  const hasScript = process.platform === "linux" && spawnSync("script", ["--version"], { timeout: SPAWN_TIMEOUT_MS }).status === 0;
  if (!hasScript) {
    t.skip("needs util-linux script(1) to give the CLI a terminal");
    return;
  }
  // script(1) runs the command on a pseudo-terminal; -e returns the command's exit code.
  const cmd = `'${process.execPath}' '${CLI}' id sign --private-hex ${KA.privateKey}`;
  const r = spawnSync("script", ["-qec", cmd, "/dev/null"], { input: "", timeout: SPAWN_TIMEOUT_MS });
  if (r.error) throw r.error;
  const text = r.stdout.toString("utf8").replace(/\r/g, "");
  assert.equal(text, "kosctl: no input: give --file or pipe data on stdin\n");
  assert.equal(r.status, 2);
});
