// End-to-end benchmarks over real loopback TCP, each implementation as an operator runs it:
//   kos-edge:  two kosd processes (the bundle, dist/kosd.cjs), A a TCP server and transport node, B its TCP
//              client; kosctl (dist/kosctl.cjs) drives them through their control sockets.
//   reference: two rnsd processes configured alike (share_instance on, so A's rncp listener and B's tools
//              are clients of their daemon, as rncp and rnprobe always are); HOME is a temporary directory.
// Per link MTU (8192, which TCP negotiates, and 500, forced by `fixed_mtu = 500` on B's TCP client interface
// in both configs), with the same 5 MiB file of random bytes:
//   - link establishment and the 5 MiB transfer timed inside the process that owns the link: kosd reports
//     both in `kosctl cp --json` (linkMs, seconds: sendResource to the receiver's proof); for the reference,
//     reference_mesh_bench.py client makes the same RNS.Link and RNS.Resource (auto_compress off) through
//     rnsd B, timed from RNS.Link() to the established callback and from RNS.Resource() to its concluded
//     callback (no polling);
//   - the tools' wall time: `kosctl cp FILE DEST` against `rncp -C FILE DEST` (compression off: both move
//     the same bytes), spawn to exit. rncp start-up (interpreter, RNS import, attaching to rnsd, identity) is
//     measured from spawn to its first line about the path ("Path to ... requested" / "Establishing link",
//     read unbuffered from its stdout) and subtracted; kosctl's is measured as the wall time of
//     `kosctl status --json` (spawn, connect, one request, exit), an upper bound, and subtracted likewise;
//   - (MTU 8192 run only) probe round trip: `kosctl probe` against `rnprobe` from B to A's probe destination,
//     20 probes of 16 bytes each, the mean (kosd's clock has 1 ms resolution, so the mean, not the median).
// Every wait is bounded; every process started here is killed at the end, on failure too.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { toHex } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { Identity } from "../../runtime/crypto/identity.js";
import { destinationHashOf } from "../../runtime/wire/destination.js";
import { freePort } from "../integration/mesh-harness.js";
import { median, type Figure } from "./measure.js";
import type { ReferenceEnv } from "./reference.js";

const FILE_BYTES = 5 * 1024 * 1024;
const ROUNDS = 5;
/** Transfers before the measured ones, on both sides: the daemons are measured warm, as they run. */
const WARMUP = 1;
const PROBES = 20;
const MTUS = [8192, 500] as const;
const STEP_TIMEOUT_MS = 60_000;
const TRANSFER_TIMEOUT_MS = 180_000;

interface Proc {
  name: string;
  child: ChildProcess;
  out: string;
  /** performance.now() when each watched pattern first appeared in the output. */
  marks: Map<string, number>;
  exited: Promise<number | null>;
  startedAt: number;
}

/** Every child process of this benchmark; killAll() ends them all. */
class Procs {
  readonly all: Proc[] = [];

  start(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, watch: Record<string, RegExp> = {}): Proc {
    const startedAt = performance.now();
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const p: Proc = { name, child, out: "", marks: new Map(), startedAt, exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) };
    child.once("error", (e) => (p.out += `\nspawn error: ${e.message}`));
    const onData = (b: Buffer): void => {
      const now = performance.now();
      p.out += b.toString();
      if (p.out.length > 1_000_000) p.out = p.out.slice(-500_000);
      for (const [k, re] of Object.entries(watch)) if (!p.marks.has(k) && re.test(p.out)) p.marks.set(k, now);
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    this.all.push(p);
    return p;
  }

  async waitFor(p: Proc, re: RegExp, timeoutMs = STEP_TIMEOUT_MS): Promise<RegExpMatchArray> {
    const end = performance.now() + timeoutMs;
    while (performance.now() < end) {
      const m = p.out.match(re);
      if (m) return m;
      if (p.child.exitCode !== null) throw new Error(`${p.name} exited (${p.child.exitCode}) before ${re}: ${p.out.slice(-800)}`);
      await sleep(20);
    }
    throw new Error(`${p.name}: no ${re} within ${timeoutMs} ms: ${p.out.slice(-800)}`);
  }

  /** Runs a command to completion (bounded); returns its exit code, output and wall time. */
  async run(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, watch: Record<string, RegExp> = {}): Promise<{ code: number | null; out: string; wallMs: number; marks: Map<string, number> }> {
    const p = this.start(name, cmd, args, env, watch);
    const timer = setTimeout(() => p.child.kill("SIGKILL"), timeoutMs);
    const code = await p.exited;
    clearTimeout(timer);
    const wallMs = performance.now() - p.startedAt;
    const marks = new Map([...p.marks].map(([k, t]) => [k, t - p.startedAt] as [string, number]));
    return { code, out: p.out, wallMs, marks };
  }

  async killAll(): Promise<void> {
    const live = this.all.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    for (const p of live) p.child.kill("SIGTERM");
    await Promise.race([Promise.all(live.map((p) => p.exited)), sleep(5000)]);
    for (const p of live) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    await Promise.race([Promise.all(live.map((p) => p.exited)), sleep(2000)]);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

interface Side {
  linkMs: number[];
  transferS: number[];
  wallS: number[];
  startupS: number[];
  linkMtu: number | null;
  probeRttMs: number[];
  note: string;
}

const emptySide = (): Side => ({ linkMs: [], transferS: [], wallS: [], startupS: [], linkMtu: null, probeRttMs: [], note: "" });

// ---- kos-edge --------------------------------------------------------------------------------------------

function kosdConfig(dir: string, body: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "kosd.conf");
  fs.writeFileSync(file, `[kosd]\n  data_dir = ${dir}\n  control_socket = ${path.join(dir, "kosd.sock")}\n${body}`);
  return file;
}

async function runOurs(root: string, tmp: string, procs: Procs, mtu: number, file: string, probe: boolean): Promise<Side> {
  const side = emptySide();
  const kosd = path.join(root, "dist", "kosd.cjs");
  const kosctl = path.join(root, "dist", "kosctl.cjs");
  if (!fs.existsSync(kosd) || !fs.existsSync(kosctl)) throw new Error("dist/ is missing: run npm run build");
  const port = await freePort();
  const dirA = path.join(tmp, `kos-a-${mtu}`);
  const dirB = path.join(tmp, `kos-b-${mtu}`);
  const confA = kosdConfig(dirA, `  enable_transport = yes\n  respond_to_probes = yes\n[interfaces]\n  [[Hub]]\n    type = TCPServerInterface\n    enabled = yes\n    listen_ip = 127.0.0.1\n    listen_port = ${port}\n`);
  const confB = kosdConfig(
    dirB,
    `  respond_to_probes = yes\n[interfaces]\n  [[Uplink]]\n    type = TCPClientInterface\n    enabled = yes\n    target_host = 127.0.0.1\n    target_port = ${port}\n` +
      (mtu === 500 ? "    fixed_mtu = 500\n" : ""),
  );
  const env = { ...process.env };
  const a = procs.start(`kosd A (MTU ${mtu})`, process.execPath, [kosd, "--config", confA], env);
  await procs.waitFor(a, /running until/);
  const b = procs.start(`kosd B (MTU ${mtu})`, process.execPath, [kosd, "--config", confB], env);
  await procs.waitFor(b, /running until/);
  const ctl = (dir: string, args: string[], timeoutMs = STEP_TIMEOUT_MS) =>
    procs.run(`kosctl ${args[0]}`, process.execPath, [kosctl, ...args, "--socket", path.join(dir, "kosd.sock")], env, timeoutMs);

  // B's uplink is up.
  const end = performance.now() + STEP_TIMEOUT_MS;
  for (;;) {
    const s = await ctl(dirB, ["status", "--json"]);
    if (s.code === 0 && (JSON.parse(s.out) as { interfaces: Array<{ state: string }> }).interfaces.some((i) => i.state === "up")) break;
    if (performance.now() > end) throw new Error(`kosd B never came up: ${b.out.slice(-800)}`);
    await sleep(100);
  }

  const recv = path.join(tmp, `kos-recv-${mtu}`);
  fs.mkdirSync(recv);
  const listener = procs.start("kosctl cp --listen", process.execPath, [kosctl, "cp", "--listen", "--no-auth", "--overwrite", "--save", recv, "--socket", path.join(dirA, "kosd.sock")], env);
  const dest = (await procs.waitFor(listener, /listening on <([0-9a-f]{32})>/))[1]!;
  const found = await ctl(dirB, ["path", dest, "--timeout", "30", "--json"]);
  if (found.code !== 0) throw new Error(`kosctl path failed: ${found.out}`);

  if (probe) {
    const identityA = Identity.fromPrivateKey(new Uint8Array(fs.readFileSync(path.join(dirA, "identity"))));
    const probeDest = toHex(destinationHashOf("rnstransport.probe", identityA.hash));
    const r = await ctl(dirB, ["probe", probeDest, "--count", String(PROBES), "--timeout", "10", "--json"]);
    if (r.code !== 0) throw new Error(`kosctl probe failed: ${r.out}`);
    const results = (JSON.parse(r.out) as { results: Array<{ rttMs: number | null }> }).results;
    side.probeRttMs = results.map((x) => x.rttMs).filter((x): x is number => x !== null);
  }

  for (let i = -WARMUP; i < ROUNDS; i++) {
    const status = await ctl(dirB, ["status", "--json"]);
    const r = await ctl(dirB, ["cp", file, dest, "--json", "--timeout", "30"], TRANSFER_TIMEOUT_MS);
    if (r.code !== 0) throw new Error(`kosctl cp failed: ${r.out.slice(-800)}`);
    const j = JSON.parse(r.out) as { seconds: number; linkMs?: number; linkMtu?: number; bytes: number };
    if (j.bytes !== FILE_BYTES) throw new Error(`kosctl cp sent ${j.bytes} bytes`);
    if (j.linkMs === undefined) throw new Error("kosctl cp --json has no linkMs: rebuild dist/ (npm run build)");
    side.linkMtu = j.linkMtu ?? null;
    if (i >= 0) {
      side.startupS.push(status.wallMs / 1000);
      side.linkMs.push(j.linkMs);
      side.transferS.push(j.seconds);
      side.wallS.push(r.wallMs / 1000);
    }
    await waitForFile(path.join(recv, path.basename(file)), FILE_BYTES);
    fs.rmSync(path.join(recv, path.basename(file)), { force: true });
  }
  return side;
}

async function waitForFile(file: string, size: number): Promise<void> {
  const end = performance.now() + STEP_TIMEOUT_MS;
  while (performance.now() < end) {
    if (fs.existsSync(file) && fs.statSync(file).size === size) return;
    await sleep(20);
  }
  throw new Error(`${file} did not arrive`);
}

// ---- the reference --------------------------------------------------------------------------------------

function rnsdConfig(dir: string, instance: string, body: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, "config"),
    `[reticulum]\n  share_instance = Yes\n  instance_name = ${instance}\n  panic_on_interface_error = No\n${body}` +
      `[logging]\n  loglevel = 4\n`,
  );
}

async function runReference(root: string, tmp: string, procs: Procs, reference: ReferenceEnv, mtu: number, file: string, probe: boolean): Promise<Side> {
  const side = emptySide();
  const port = await freePort();
  const home = path.join(tmp, "home");
  fs.mkdirSync(home, { recursive: true });
  const env = { ...reference.env, HOME: home, PYTHONUNBUFFERED: "1" };
  const dirA = path.join(tmp, `rns-a-${mtu}`);
  const dirB = path.join(tmp, `rns-b-${mtu}`);
  const tag = `kosbench${process.pid}m${mtu}`;
  rnsdConfig(dirA, `${tag}a`, `  enable_transport = Yes\n  respond_to_probes = Yes\n[interfaces]\n  [[Hub]]\n    type = TCPServerInterface\n    enabled = yes\n    listen_ip = 127.0.0.1\n    listen_port = ${port}\n`);
  rnsdConfig(
    dirB,
    `${tag}b`,
    `  enable_transport = No\n  respond_to_probes = Yes\n[interfaces]\n  [[Uplink]]\n    type = TCPClientInterface\n    enabled = yes\n    target_host = 127.0.0.1\n    target_port = ${port}\n` +
      (mtu === 500 ? "    fixed_mtu = 500\n" : ""),
  );
  const py = (args: string[]): string[] => ["-m", ...args];
  const a = procs.start(`rnsd A (MTU ${mtu})`, "python3", py(["RNS.Utilities.rnsd", "--config", dirA]), env);
  await procs.waitFor(a, /Started rnsd/);
  const b = procs.start(`rnsd B (MTU ${mtu})`, "python3", py(["RNS.Utilities.rnsd", "--config", dirB]), env);
  await procs.waitFor(b, /Started rnsd/);

  const recv = path.join(tmp, `rns-recv-${mtu}`);
  fs.mkdirSync(recv);
  const listener = procs.start("rncp --listen", "python3", py(["RNS.Utilities.rncp", "--config", dirA, "-l", "-n", "-O", "-b", "0", "-s", recv, "-v"]), env);
  const dest = (await procs.waitFor(listener, /rncp listening on <([0-9a-f]{32})>/))[1]!;

  if (probe) {
    const identityA = Identity.fromPrivateKey(new Uint8Array(fs.readFileSync(path.join(dirA, "storage", "transport_identity"))));
    const probeDest = toHex(destinationHashOf("rnstransport.probe", identityA.hash));
    const r = await procs.run("rnprobe", "python3", py(["RNS.Utilities.rnprobe", "--config", dirB, "-n", String(PROBES), "-t", "10", "rnstransport.probe", probeDest]), env, STEP_TIMEOUT_MS + PROBES * 12_000);
    for (const m of r.out.matchAll(/Round-trip time is ([0-9.]+) (milliseconds|seconds)/g)) side.probeRttMs.push(Number(m[1]) * (m[2] === "seconds" ? 1000 : 1));
    if (side.probeRttMs.length === 0) throw new Error(`rnprobe failed: ${r.out.slice(-800)}`);
  }

  // Library client through rnsd B: in-process timings of the link and the transfer.
  const c = await procs.run(
    "reference client",
    "python3",
    [path.join(root, "test", "bench", "reference_mesh_bench.py"), "client", dirB, dest, file, String(ROUNDS), String(WARMUP)],
    env,
    TRANSFER_TIMEOUT_MS * (ROUNDS + WARMUP),
  );
  const line = c.out.split("\n").find((l) => l.startsWith("{"));
  if (c.code !== 0 || line === undefined) throw new Error(`reference client failed: ${c.out.slice(-800)}`);
  const j = JSON.parse(line) as { link_ms: number[]; transfer_s: number[]; mtu: number; size: number };
  if (j.size !== FILE_BYTES) throw new Error("reference client read a different file");
  side.linkMs = j.link_ms;
  side.transferS = j.transfer_s;
  side.linkMtu = j.mtu;

  // The operator's tool: rncp -C, spawn to exit; its start-up from its first line about the path.
  const speeds: string[] = [];
  for (let i = -WARMUP; i < ROUNDS; i++) {
    const r = await procs.run("rncp", "python3", py(["RNS.Utilities.rncp", "--config", dirB, "-C", "-w", "30", file, dest]), env, TRANSFER_TIMEOUT_MS, {
      startup: /Path to|Establishing link/,
    });
    if (r.code !== 0 || !/copied to/.test(r.out)) throw new Error(`rncp failed: ${r.out.slice(-800)}`);
    if (i >= 0) {
      side.wallS.push(r.wallMs / 1000);
      side.startupS.push((r.marks.get("startup") ?? NaN) / 1000);
      const m = r.out.match(/Transfer complete\s+[0-9.]+% - [^-]+ of [^-]+ - ([0-9.]+ [KMG]?bps)/);
      if (m) speeds.push(m[1]!);
    }
    await waitForFile(path.join(recv, path.basename(file)), FILE_BYTES);
    fs.rmSync(path.join(recv, path.basename(file)), { force: true });
  }
  side.note = speeds.length ? `rncp's own speed figures: ${speeds.join(", ")}` : "";
  return side;
}

/**
 * The reference without rnsd: two standalone RNS instances (share_instance off), each owning its TCP
 * interface, as each kosd does: reference_mesh_bench.py serve (an rncp.receive destination that accepts and
 * saves every resource) and reference_mesh_bench.py client. No local-socket hop on either side: the
 * reference's best case over the same loopback TCP.
 */
async function runReferenceStandalone(root: string, tmp: string, procs: Procs, reference: ReferenceEnv, mtu: number, file: string): Promise<Side> {
  const side = emptySide();
  const port = await freePort();
  const env = { ...reference.env, HOME: path.join(tmp, "home"), PYTHONUNBUFFERED: "1" };
  const dirS = path.join(tmp, `rns-s-${mtu}`);
  const dirC = path.join(tmp, `rns-c-${mtu}`);
  const standalone = (dir: string, body: string): void => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "config"), `[reticulum]\n  share_instance = No\n  enable_transport = No\n  panic_on_interface_error = No\n[logging]\n  loglevel = 2\n[interfaces]\n${body}`);
  };
  standalone(dirS, `  [[Hub]]\n    type = TCPServerInterface\n    enabled = yes\n    listen_ip = 127.0.0.1\n    listen_port = ${port}\n`);
  standalone(dirC, `  [[Uplink]]\n    type = TCPClientInterface\n    enabled = yes\n    target_host = 127.0.0.1\n    target_port = ${port}\n` + (mtu === 500 ? "    fixed_mtu = 500\n" : ""));
  const script = path.join(root, "test", "bench", "reference_mesh_bench.py");
  const recv = path.join(tmp, `rns-s-recv-${mtu}`);
  fs.mkdirSync(recv);
  const server = procs.start("reference serve", "python3", [script, "serve", dirS, recv], env);
  const dest = (await procs.waitFor(server, /listening on <([0-9a-f]{32})>/))[1]!;
  const c = await procs.run("reference client (standalone)", "python3", [script, "client", dirC, dest, file, String(ROUNDS), String(WARMUP)], env, TRANSFER_TIMEOUT_MS * (ROUNDS + WARMUP));
  const line = c.out.split("\n").find((l) => l.startsWith("{"));
  if (c.code !== 0 || line === undefined) throw new Error(`standalone reference client failed: ${c.out.slice(-800)}`);
  const j = JSON.parse(line) as { link_ms: number[]; transfer_s: number[]; mtu: number };
  side.linkMs = j.link_ms;
  side.transferS = j.transfer_s;
  side.linkMtu = j.mtu;
  return side;
}

// ---- figures ----------------------------------------------------------------------------------------------

export async function benchE2e(o: { root: string; reference: ReferenceEnv }): Promise<Figure[]> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kos-e2e-"));
  const procs = new Procs();
  const figures: Figure[] = [];
  try {
    const file = path.join(tmp, "payload.bin");
    fs.writeFileSync(file, seededRandom(35).bytes(FILE_BYTES));
    for (const mtu of MTUS) {
      const probe = mtu === MTUS[0];
      let ours: Side;
      try {
        ours = await runOurs(o.root, tmp, procs, mtu, file, probe);
      } catch (e) {
        process.stdout.write(`kos-edge e2e benchmark (MTU ${mtu}) failed: ${(e as Error).message.slice(0, 1500)}\n`);
        continue;
      } finally {
        await procs.killAll();
      }
      let ref: Side | null = null;
      let alone: Side | null = null;
      if (o.reference.available) {
        try {
          ref = await runReference(o.root, tmp, procs, o.reference, mtu, file, probe);
        } catch (e) {
          process.stdout.write(`reference e2e benchmark (MTU ${mtu}) failed: ${(e as Error).message.slice(0, 1500)}\n`);
        } finally {
          await procs.killAll();
        }
        try {
          alone = await runReferenceStandalone(o.root, tmp, procs, o.reference, mtu, file);
        } catch (e) {
          process.stdout.write(`standalone reference e2e benchmark (MTU ${mtu}) failed: ${(e as Error).message.slice(0, 1500)}\n`);
        } finally {
          await procs.killAll();
        }
      }
      const r = (f: (s: Side) => number): { reference?: number } => (ref !== null ? { reference: f(ref) } : {});
      const mb = (s: Side): number => FILE_BYTES / 1e6 / median(s.transferS);
      const mtuNote = `link MTU ${ours.linkMtu}${ref ? ` / reference ${ref.linkMtu}` : ""}`;
      if (probe) {
        figures.push({ name: "e2e probe round trip (B to A)", value: mean(ours.probeRttMs), unit: "ms", higherIsBetter: false, note: `mean of ${PROBES}; kosctl probe vs rnprobe`, ...r((s) => mean(s.probeRttMs)) });
      }
      const a = (f: (s: Side) => number): { reference?: number } => (alone !== null ? { reference: f(alone) } : {});
      figures.push({ name: `e2e link establishment, MTU ${mtu}`, value: median(ours.linkMs), unit: "ms", higherIsBetter: false, note: `median of ${ROUNDS}; ${mtuNote}; reference via rnsd`, ...r((s) => median(s.linkMs)) });
      figures.push({ name: `e2e link establishment, MTU ${mtu}, ref. standalone`, value: median(ours.linkMs), unit: "ms", higherIsBetter: false, note: "same figure of ours; reference without rnsd", ...a((s) => median(s.linkMs)) });
      figures.push({ name: `e2e 5 MiB transfer, MTU ${mtu}`, value: mb(ours), unit: "MB/s", higherIsBetter: true, note: `median of ${ROUNDS}, timed in the process owning the link; reference via rnsd`, ...r(mb) });
      figures.push({ name: `e2e 5 MiB transfer, MTU ${mtu}, ref. standalone`, value: mb(ours), unit: "MB/s", higherIsBetter: true, note: `same figure of ours; reference without rnsd${alone ? `, link MTU ${alone.linkMtu}` : ""}`, ...a(mb) });
      figures.push({ name: `e2e cp 5 MiB wall time, MTU ${mtu}`, value: median(ours.wallS), unit: "s", higherIsBetter: false, note: "kosctl cp vs rncp -C, spawn to exit", ...r((s) => median(s.wallS)) });
      figures.push({
        name: `e2e cp 5 MiB minus tool start-up, MTU ${mtu}`,
        value: median(ours.wallS.map((w, i) => w - ours.startupS[i]!)),
        unit: "s",
        higherIsBetter: false,
        note: `start-up kosctl ${median(ours.startupS).toFixed(2)} s${ref ? `, rncp ${median(ref.startupS).toFixed(2)} s` : ""}${ref?.note ? `; ${ref.note}` : ""}`,
        ...r((s) => median(s.wallS.map((w, i) => w - s.startupS[i]!))),
      });
    }
  } finally {
    await procs.killAll();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return figures;
}
