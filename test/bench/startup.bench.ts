// Start-up time, idle memory and bundle size of kosd, and of the reference daemon (rnsd) when it can run.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { median, type Figure } from "./measure.js";
import type { ReferenceEnv } from "./reference.js";

interface Run {
  readyMs: number;
  rssMiB: number;
}

/** Starts a daemon, waits for `readyLine` on stdout/stderr, samples RSS after `idleMs`, then stops it. */
function runDaemon(cmd: string, args: string[], env: NodeJS.ProcessEnv, readyLine: RegExp, idleMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let readyMs = -1;
    let out = "";
    const killTimer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} did not become ready in 20 s: ${out.slice(-300)}`));
    }, 20_000);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      if (readyMs < 0 && readyLine.test(out)) {
        readyMs = performance.now() - start;
        setTimeout(() => {
          const rssMiB = readRssMiB(child.pid!);
          child.kill("SIGTERM");
          clearTimeout(killTimer);
          child.once("exit", () => resolve({ readyMs, rssMiB }));
          setTimeout(() => child.kill("SIGKILL"), 5000).unref();
        }, idleMs);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("error", reject);
  });
}

function readRssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /VmRSS:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

export async function benchStartup(repoRoot: string, reference: ReferenceEnv, runs = 5): Promise<Figure[]> {
  const kosd = path.join(repoRoot, "dist", "kosd.cjs");
  if (!fs.existsSync(kosd)) throw new Error("dist/kosd.cjs missing: run npm run build");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kos-bench-"));
  try {
    const ours: Run[] = [];
    for (let i = 0; i < runs; i++) {
      const dataDir = path.join(tmp, `kosd-${i}`);
      // First start creates the identity; measure the ordinary (second) start.
      await runDaemon(process.execPath, [kosd, "--data-dir", dataDir], process.env, /running until/, 0);
      ours.push(await runDaemon(process.execPath, [kosd, "--data-dir", dataDir], process.env, /running until/, 3000));
    }
    const refs: Run[] = [];
    if (reference.available) {
      for (let i = 0; i < runs; i++) {
        const dir = path.join(tmp, `rnsd-${i}`);
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(
          path.join(dir, "config"),
          `[reticulum]\n  enable_transport = No\n  share_instance = Yes\n  instance_name = kosbench${process.pid}x${i}\n` +
            `[logging]\n  loglevel = 4\n[interfaces]\n`,
        );
        const args = ["-m", "RNS.Utilities.rnsd", "--config", dir];
        await runDaemon("python3", args, reference.env, /Started rnsd/, 0);
        refs.push(await runDaemon("python3", args, reference.env, /Started rnsd/, 3000));
      }
    }
    const bundleKiB = (fs.statSync(kosd).size + fs.statSync(path.join(repoRoot, "dist", "kosctl.cjs")).size) / 1024;
    const f = (xs: Run[], k: keyof Run): number | undefined => (xs.length ? median(xs.map((r) => r[k])) : undefined);
    const refStart = f(refs, "readyMs");
    const refRss = f(refs, "rssMiB");
    return [
      { name: "daemon start to ready", value: f(ours, "readyMs")!, unit: "ms", higherIsBetter: false, ...(refStart !== undefined ? { reference: refStart } : {}) },
      { name: "daemon idle RSS after 3 s", value: f(ours, "rssMiB")!, unit: "MiB", higherIsBetter: false, ...(refRss !== undefined ? { reference: refRss } : {}) },
      { name: "bundle size (kosd + kosctl)", value: bundleKiB, unit: "KiB", higherIsBetter: false },
    ];
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
