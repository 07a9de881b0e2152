// Real kosd processes for the process runners (emulated radios, real radios): each node is a bundled kosd
// (dist/kosd.cjs) with its own data directory, config and control socket; kosctl (dist/kosctl.cjs) talks to
// it. Everything waits with a timeout; nothing here retries by itself.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Identity } from "../../runtime/crypto/identity.js";
import { toHex } from "../../runtime/core/bytes.js";
import { destinationHashOf } from "../../runtime/wire/destination.js";

export const PROCESS_LIMITS = Object.freeze({
  readyTimeoutMs: 30_000,
  stopTimeoutMs: 10_000,
  /** kosd output kept per node (the tail is shown when something fails). */
  maxOutputChars: 200_000,
});

export interface CtlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class KosdProcess {
  readonly dir: string;
  readonly socket: string;
  readonly configFile: string;
  child: ChildProcess | null = null;
  output = "";
  /** Exits we did not ask for (a crash), with the code or signal. */
  readonly unexpectedExits: string[] = [];
  #expectingExit = false;

  constructor(
    readonly name: string,
    root: string,
    config: string,
    private readonly kosd: string,
  ) {
    this.dir = path.join(root, name);
    fs.mkdirSync(this.dir, { recursive: true });
    this.socket = path.join(this.dir, "kosd.sock");
    this.configFile = path.join(this.dir, "kosd.conf");
    fs.writeFileSync(this.configFile, `[kosd]\n  data_dir = ${this.dir}\n  control_socket = ${this.socket}\n${config}`);
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts kosd and resolves when it prints its ready line. */
  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.#expectingExit = false;
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [this.kosd, "--config", this.configFile, "--log-level", "debug"], { stdio: ["ignore", "pipe", "pipe"] });
      this.child = child;
      let ready = false;
      const timer = setTimeout(() => reject(new Error(`kosd ${this.name} not ready after ${PROCESS_LIMITS.readyTimeoutMs} ms: ${this.tail()}`)), PROCESS_LIMITS.readyTimeoutMs);
      const onData = (b: Buffer): void => {
        this.output += b.toString();
        if (this.output.length > PROCESS_LIMITS.maxOutputChars) this.output = this.output.slice(-PROCESS_LIMITS.maxOutputChars / 2);
        if (!ready && this.output.includes("running until")) {
          ready = true;
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("error", (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot run kosd ${this.name}: ${e.message}`));
      });
      child.once("exit", (code, signal) => {
        if (!this.#expectingExit) this.unexpectedExits.push(signal !== null ? `killed by ${signal}` : `exit code ${code}`);
        if (!ready) {
          clearTimeout(timer);
          reject(new Error(`kosd ${this.name} exited before it was ready (${code ?? signal}): ${this.tail()}`));
        }
      });
    });
  }

  /** SIGTERM (kosd saves its state) or SIGKILL (a crash: nothing saved). */
  async stop(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<void> {
    const child = this.child;
    if (child === null || !this.running) return;
    this.#expectingExit = true;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    const t = setTimeout(() => child.kill("SIGKILL"), PROCESS_LIMITS.stopTimeoutMs);
    await exited;
    clearTimeout(t);
    this.child = null;
  }

  identity(): Identity | null {
    const file = path.join(this.dir, "identity");
    return fs.existsSync(file) ? Identity.fromPrivateKey(new Uint8Array(fs.readFileSync(file))) : null;
  }

  /** The node's rnstransport.probe destination (what scenarios call the node's address). */
  probeDestination(): string | null {
    if (this.#probe !== null) return this.#probe;
    const id = this.identity();
    if (id !== null) this.#probe = toHex(destinationHashOf("rnstransport.probe", id.hash));
    return this.#probe;
  }

  #probe: string | null = null;

  tail(chars = 1500): string {
    return this.output.slice(-chars);
  }
}

/** Runs kosctl against a node and collects its output. */
export function kosctl(kosctlPath: string, node: KosdProcess, args: string[], timeoutMs: number): Promise<CtlResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [kosctlPath, ...args, "--socket", node.socket], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (e) => {
      clearTimeout(timer);
      resolve({ code: null, stdout, stderr: stderr + e.message });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running kosctl (cp --listen): resolves once a line matches, with the child to stop later. */
export function kosctlUntil(kosctlPath: string, node: KosdProcess, args: string[], match: RegExp, timeoutMs: number): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [kosctlPath, ...args, "--socket", node.socket], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`kosctl ${args.join(" ")} on ${node.name}: no ${match} within ${timeoutMs} ms: ${out.slice(-500)}`));
    }, timeoutMs);
    const onData = (b: Buffer): void => {
      out += b.toString();
      const m = out.match(match);
      if (m !== null) {
        clearTimeout(timer);
        resolve({ child, match: m });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Where the bundles are: beside the running kosctl bundle, else dist/ under the working directory. */
export function bundlePaths(explicitKosd?: string): { kosd: string; kosctl: string } {
  const candidates = [path.dirname(process.argv[1] ?? ""), path.join(process.cwd(), "dist")];
  for (const dir of candidates) {
    const kosd = explicitKosd ?? path.join(dir, "kosd.cjs");
    const ctl = path.join(dir, "kosctl.cjs");
    if (fs.existsSync(kosd) && fs.existsSync(ctl)) return { kosd: path.resolve(kosd), kosctl: path.resolve(ctl) };
  }
  throw new Error("cannot find dist/kosd.cjs and dist/kosctl.cjs (run npm run build, or give --kosd)");
}
