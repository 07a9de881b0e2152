// Test scaffolding for AutoInterface: two network namespaces joined by veth pairs with fixed IPv6 link-local
// addresses, AutoInterface nodes (and optionally the reference) running inside them as child processes that
// speak JSON lines. Everything made here is removed in t.after, also when a test fails. Where namespaces
// cannot be made (not Linux, no iproute2, no privilege) the test is skipped with the reason.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createInterface } from "node:readline";
import type { TestContext } from "node:test";
import type { AutoOptions } from "../../drivers/net/auto.js";

/** Short timings so a test takes seconds; the protocol is the same at the reference's timings. */
export const FAST_AUTO = { announceIntervalMs: 250, peerJobIntervalMs: 250, peeringTimeoutMs: 2000, multicastEchoTimeoutMs: 1500, peeringWaitMs: 300 };

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

function ip(args: string[]): string | null {
  const r = spawnSync("ip", args, { encoding: "utf8", timeout: 10_000 });
  if (r.error) return r.error.message;
  return r.status === 0 ? null : `ip ${args.join(" ")}: ${(r.stderr || r.stdout).trim()}`;
}

let made = 0;

export class NamespacePair {
  readonly nsA: string;
  readonly nsB: string;
  readonly devA: string[] = [];
  readonly devB: string[] = [];
  readonly addrA: string[] = [];
  readonly addrB: string[] = [];

  private constructor(id: string, links: number) {
    this.nsA = `kos-auto-a-${id}`;
    this.nsB = `kos-auto-b-${id}`;
    for (let i = 0; i < links; i++) {
      this.devA.push(`ka${id}x${i}`);
      this.devB.push(`kb${id}x${i}`);
      this.addrA.push(`fe80::a${i}`);
      this.addrB.push(`fe80::b${i}`);
    }
  }

  /** Two namespaces with `links` veth pairs between them, or null when the test was skipped. */
  static create(t: TestContext, links: number): NamespacePair | null {
    if (process.platform !== "linux") return skip(t, "network namespaces need Linux");
    const probe = spawnSync("ip", ["-V"], { encoding: "utf8" });
    if (probe.error || probe.status !== 0) return skip(t, "iproute2 is not installed (apt-get install -y iproute2)");
    const pair = new NamespacePair(`${process.pid % 10000}${made++}`, links);
    t.after(() => pair.destroy());
    const failure = pair.build();
    return failure === null ? pair : skip(t, `cannot create network namespaces: ${failure}`);
  }

  /** Sends one datagram from `source` (added to `dev` for the purpose) inside `ns`. */
  rawSend(ns: string, source: string, dev: string, target: string, port: number, data: Uint8Array): void {
    ip(["-n", ns, "addr", "add", `${source}/64`, "dev", dev, "nodad"]);
    const script = `const s = require("node:dgram").createSocket("udp6");
      s.bind(0, "${source}%${dev}", () => s.send(Buffer.from("${Buffer.from(data).toString("hex")}", "hex"), ${port}, "${target}%${dev}", () => s.close()));`;
    const r = spawnSync("ip", ["netns", "exec", ns, process.execPath, "-e", script], { encoding: "utf8", timeout: 10_000 });
    if (r.status !== 0) throw new Error(`raw send failed: ${r.stderr}`);
  }

  private build(): string | null {
    for (const ns of [this.nsA, this.nsB]) {
      const e = ip(["netns", "add", ns]);
      if (e !== null) return e;
    }
    for (let i = 0; i < this.devA.length; i++) {
      const e = ip(["link", "add", this.devA[i]!, "netns", this.nsA, "type", "veth", "peer", "name", this.devB[i]!, "netns", this.nsB]);
      if (e !== null) return e;
      for (const [ns, dev, addr] of [[this.nsA, this.devA[i]!, this.addrA[i]!], [this.nsB, this.devB[i]!, this.addrB[i]!]] as const) {
        // No kernel-made link-local address (and no duplicate address detection): exactly one, known, at once.
        const steps = [["link", "set", dev, "addrgenmode", "none"], ["addr", "add", `${addr}/64`, "dev", dev, "nodad"], ["link", "set", dev, "up"]];
        for (const step of steps) {
          const err = ip(["-n", ns, ...step]);
          if (err !== null) return err;
        }
      }
    }
    return null;
  }

  private destroy(): void {
    for (const ns of [this.nsA, this.nsB]) ip(["netns", "del", ns]);
  }
}

function skip(t: TestContext, reason: string): null {
  process.stderr.write(`# skipped: ${reason}\n`);
  t.skip(reason);
  return null;
}

// ---- AutoInterface nodes in child processes --------------------------------------------------------------------

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Event = Record<string, any>;

let scratch: string | null = null;

function scratchDir(): string {
  scratch ??= fs.mkdtempSync(path.join(os.tmpdir(), "kos-auto-test-"));
  return scratch;
}

process.on("exit", () => {
  if (scratch !== null) fs.rmSync(scratch, { recursive: true, force: true });
});

function peerScript(): string {
  const file = path.join(scratchDir(), "peer.mjs");
  if (fs.existsSync(file)) return file;
  const driverUrl = new URL("../../drivers/net/auto.js", import.meta.url).href;
  fs.writeFileSync(
    file,
    `import { AutoInterfaceDriver } from ${JSON.stringify(driverUrl)};
import { createInterface } from "node:readline";
const driver = new AutoInterfaceDriver(JSON.parse(process.argv[2]));
const out = (o) => process.stdout.write(JSON.stringify(o) + "\\n");
const hex = (b) => Buffer.from(b).toString("hex");
const peers = [];
driver.on("state", (state) => out({ ev: "state", state }));
driver.on("child", (c) => {
  peers.push(c);
  out({ ev: "child", address: c.address, ifname: c.ifname, name: c.info.name });
  c.on("frame", (f) => out({ ev: "frame", from: c.address, ifname: c.ifname, hex: hex(f) }));
  c.on("state", (state) => out({ ev: "child-state", address: c.address, ifname: c.ifname, state }));
});
driver.start();
const rl = createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const m = JSON.parse(line);
  if (m.cmd === "send") {
    const frame = new Uint8Array(Buffer.from(m.hex, "hex"));
    out({ ev: "reply", seq: m.seq, results: peers.filter((p) => p.state === "up").map((p) => p.send(frame)) });
  } else if (m.cmd === "status") {
    const peerInfo = driver.peers.map((p) => ({ address: p.address, ifname: p.ifname, state: p.state, counters: p.counters, drops: p.counters.drops }));
    out({ ev: "reply", seq: m.seq, state: driver.state, nics: driver.nics, discovery: driver.discovery, counters: driver.counters, drops: driver.counters.drops, lastError: driver.lastError, peers: peerInfo });
  }
});
rl.on("close", () => driver.stop().then(() => process.exit(0)));
`,
  );
  return file;
}

export class PeerHandle {
  readonly events: Event[] = [];
  readonly stderr: string[] = [];
  private readonly consumed = new Set<number>();
  private seq = 0;

  constructor(private readonly proc: ChildProcess) {
    createInterface({ input: proc.stdout! }).on("line", (line) => {
      try {
        this.events.push(JSON.parse(line) as Event);
      } catch {
        this.stderr.push(`stdout: ${line}`);
      }
    });
    createInterface({ input: proc.stderr! }).on("line", (line) => this.stderr.push(line));
  }

  /** The first event not yet taken that matches; waits for it. */
  async next(match: (e: Event) => boolean, what: string, timeoutMs = 5000): Promise<Event> {
    return (await this.collect(match, 1, what, timeoutMs))[0]!;
  }

  /** `count` events not yet taken that match; waits for them. */
  async collect(match: (e: Event) => boolean, count: number, what: string, timeoutMs = 5000): Promise<Event[]> {
    const found = (): number[] => this.events.map((e, i) => (!this.consumed.has(i) && match(e) ? i : -1)).filter((i) => i >= 0);
    try {
      await waitFor(() => found().length >= count, what, timeoutMs);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nstderr: ${this.stderr.join("\n")}`);
    }
    const picked = found().slice(0, count);
    for (const i of picked) this.consumed.add(i);
    return picked.map((i) => this.events[i]!);
  }

  /** Marks every event so far as taken. */
  clear(): void {
    this.events.forEach((_, i) => this.consumed.add(i));
  }

  command(cmd: Event): Promise<Event> {
    const seq = ++this.seq;
    this.proc.stdin!.write(JSON.stringify({ ...cmd, seq }) + "\n");
    return this.next((e) => e.ev === "reply" && e.seq === seq, `reply to ${cmd["cmd"]}`);
  }

  status(): Promise<Event> {
    return this.command({ cmd: "status" });
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill("SIGKILL");
  }
}

/** An AutoInterface node inside `ns`, stopped in t.after. */
export function startPeer(t: TestContext, ns: string, options: AutoOptions): PeerHandle {
  const proc = spawn("ip", ["netns", "exec", ns, process.execPath, peerScript(), JSON.stringify(options)], { stdio: ["pipe", "pipe", "pipe"] });
  const handle = new PeerHandle(proc);
  t.after(() => handle.kill());
  return handle;
}

// ---- The reference (RNS 1.4.2) inside a namespace -------------------------------------------------------------

const RNS_PATH = process.env["KOS_RNS_PATH"] ?? "/work/ref/Reticulum";

/** Null when the reference can run here, otherwise why not. */
export function referenceAvailable(): string | null {
  if (!fs.existsSync(path.join(RNS_PATH, "RNS", "__init__.py"))) return `the reference is not at ${RNS_PATH} (set KOS_RNS_PATH)`;
  const r = spawnSync("python3", ["-c", `import sys; sys.path.insert(0, ${JSON.stringify(RNS_PATH)}); import RNS`], { encoding: "utf8", timeout: 20_000 });
  if (r.error) return `python3 is not available: ${r.error.message}`;
  return r.status === 0 ? null : `cannot import RNS: ${r.stderr.trim().split("\n").pop()}`;
}

export interface ReferenceHandle {
  lines: string[];
  waitLine(match: (line: string) => boolean, what: string, timeoutMs?: number): Promise<string>;
}

/**
 * A reference Reticulum instance with one AutoInterface on `dev`, HOME and config in a scratch directory. It
 * prints "KOS-DEST <hash>" for a destination it announces every second and "KOS-ANNOUNCE <hash>" for every
 * announce it accepts; its own log (debug level) goes to stdout too.
 */
export function runReference(t: TestContext, ns: string, dev: string): ReferenceHandle {
  const dir = fs.mkdtempSync(path.join(scratchDir(), "ref-"));
  fs.writeFileSync(
    path.join(dir, "config"),
    `[reticulum]\n  enable_transport = No\n  share_instance = No\n  panic_on_interface_error = No\n\n[logging]\n  loglevel = 6\n\n` +
      `[interfaces]\n  [[Auto]]\n    type = AutoInterface\n    enabled = yes\n    devices = ${dev}\n`,
  );
  const script = path.join(dir, "node.py");
  fs.writeFileSync(
    script,
    `import os, sys, time
sys.path.insert(0, os.environ["KOS_RNS_PATH"])
import RNS
RNS.Reticulum(configdir=sys.argv[1], loglevel=RNS.LOG_DEBUG)
class Handler:
    aspect_filter = None
    def received_announce(self, destination_hash, announced_identity, app_data):
        print("KOS-ANNOUNCE " + destination_hash.hex(), flush=True)
RNS.Transport.register_announce_handler(Handler())
destination = RNS.Destination(RNS.Identity(), RNS.Destination.IN, RNS.Destination.SINGLE, "kosedge", "interop")
print("KOS-DEST " + destination.hash.hex(), flush=True)
for _ in range(120):
    destination.announce()
    time.sleep(1.0)
`,
  );
  const proc = spawn("ip", ["netns", "exec", ns, "python3", "-u", script, dir], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, HOME: dir, KOS_RNS_PATH: RNS_PATH },
  });
  const lines: string[] = [];
  createInterface({ input: proc.stdout! }).on("line", (l) => lines.push(l));
  createInterface({ input: proc.stderr! }).on("line", (l) => lines.push(`stderr: ${l}`));
  t.after(() => {
    if (proc.exitCode === null) proc.kill("SIGKILL");
  });
  return {
    lines,
    async waitLine(match, what, timeoutMs = 5000) {
      try {
        await waitFor(() => lines.some(match), what, timeoutMs);
      } catch (e) {
        throw new Error(`${(e as Error).message}\nreference output:\n${lines.slice(-40).join("\n")}`);
      }
      return lines.find(match)!;
    },
  };
}
