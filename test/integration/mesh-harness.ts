// Runs real kosd processes (the bundle) on loopback for integration tests, and kosctl against them.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../helpers.js";
import { Identity } from "../../runtime/crypto/identity.js";

export const KOSD = path.join(REPO_ROOT, "dist", "kosd.cjs");
export const KOSCTL = path.join(REPO_ROOT, "dist", "kosctl.cjs");

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface NodeHandle {
  name: string;
  dir: string;
  socket: string;
  configFile: string;
  child: ChildProcess | null;
  output: string;
  /** Run kosd inside this network namespace (`ip netns exec`); kosctl still runs outside (the socket is a file). */
  netns?: string;
  /** Extra environment for kosd (e.g. DBUS_SYSTEM_BUS_ADDRESS of a mocked BlueZ). */
  env?: Record<string, string>;
  identity(): Identity;
}

export function makeNode(root: string, name: string, config: string): NodeHandle {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  const socket = path.join(dir, "kosd.sock");
  const configFile = path.join(dir, "kosd.conf");
  fs.writeFileSync(configFile, `[kosd]\n  data_dir = ${dir}\n  control_socket = ${socket}\n${config}`);
  return {
    name,
    dir,
    socket,
    configFile,
    child: null,
    output: "",
    identity: () => Identity.fromPrivateKey(new Uint8Array(fs.readFileSync(path.join(dir, "identity")))),
  };
}

export function startNode(n: NodeHandle, timeoutMs = 20_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const argv = [KOSD, "--config", n.configFile, "--log-level", "debug"];
    // `ip netns exec` execs node in place, so the child's pid is kosd's own and signals reach it directly.
    const [cmd, args] = n.netns !== undefined ? ["ip", ["netns", "exec", n.netns, process.execPath, ...argv]] : [process.execPath, argv];
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: n.env !== undefined ? { ...process.env, ...n.env } : process.env });
    n.child = child;
    let ready = false;
    const timer = setTimeout(() => reject(new Error(`${n.name} not ready: ${n.output.slice(-2000)}`)), timeoutMs);
    const onData = (b: Buffer): void => {
      n.output += b.toString();
      if (n.output.length > 2_000_000) n.output = n.output.slice(-1_000_000);
      if (!ready && n.output.includes("running until")) {
        ready = true;
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      if (!ready) {
        clearTimeout(timer);
        reject(new Error(`${n.name} exited with ${code}: ${n.output.slice(-2000)}`));
      }
    });
  });
}

export async function stopNode(n: NodeHandle): Promise<number | null> {
  const child = n.child;
  if (child === null || child.exitCode !== null) return child?.exitCode ?? null;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");
  const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const code = await exited;
  clearTimeout(t);
  n.child = null;
  return code;
}

export interface CtlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function kosctl(n: NodeHandle, args: string[], timeoutMs = 60_000): Promise<CtlResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [KOSCTL, ...args, "--socket", n.socket], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts a long-running kosctl (cp --listen) and resolves once a line matches. */
export function kosctlUntil(n: NodeHandle, args: string[], match: RegExp, timeoutMs = 30_000): Promise<{ child: ChildProcess; line: RegExpMatchArray; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KOSCTL, ...args, "--socket", n.socket], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`kosctl ${args.join(" ")}: no ${match} in ${timeoutMs} ms: ${out}`));
    }, timeoutMs);
    const onData = (b: Buffer): void => {
      out += b.toString();
      const m = out.match(match);
      if (m) {
        clearTimeout(timer);
        resolve({ child, line: m, output: () => out });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
  });
}

/** Retries `fn` until it returns true, every `everyMs`, at most `timeoutMs`. */
export async function eventually(fn: () => Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (let i = 0; Date.now() < end && i < 10_000; i++) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}

export function tempRoot(t: { after(fn: () => void | Promise<void>): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kos-mesh-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
