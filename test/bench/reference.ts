// Finding and running the reference implementation (RNS, Python) beside our benchmarks.
// It runs when `python3` can import RNS, from $KOS_RNS_PATH (a checkout) or the Python path; otherwise the
// benchmarks print our figures alone and say why.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export interface ReferenceEnv {
  available: boolean;
  reason: string;
  env: NodeJS.ProcessEnv;
  version?: string;
  backend?: string;
}

export function findReference(): ReferenceEnv {
  const env = { ...process.env };
  if (process.env["KOS_RNS_PATH"]) env["PYTHONPATH"] = [process.env["KOS_RNS_PATH"], process.env["PYTHONPATH"]].filter(Boolean).join(":");
  const r = spawnSync("python3", ["-c", "import RNS, RNS.Cryptography.Provider as P; print(RNS.__version__, P.backend())"], {
    env,
    encoding: "utf8",
    timeout: 30_000,
  });
  if (r.error) return { available: false, reason: `python3 not runnable: ${r.error.message}`, env };
  if (r.status !== 0) return { available: false, reason: "python3 cannot import RNS (set KOS_RNS_PATH to a Reticulum checkout)", env };
  const [version, ...backend] = r.stdout.trim().split(" ");
  return { available: true, reason: "", env, version: version ?? "?", backend: backend.join(" ") };
}

export type ReferenceRun = { ok: true; value: Record<string, unknown> } | { ok: false; error: string };

/**
 * Runs test/bench/reference_mesh_bench.py MODE with `input` written to a temporary JSON file; its stdout is
 * one JSON object. The child is killed (SIGKILL) if it outlives `timeoutMs`.
 */
export function runReferenceMesh(root: string, reference: ReferenceEnv, mode: string, input: unknown, timeoutMs = 300_000): ReferenceRun {
  if (!reference.available) return { ok: false, error: reference.reason };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kos-bench-"));
  try {
    const file = path.join(tmp, "input.json");
    fs.writeFileSync(file, JSON.stringify(input));
    const r = spawnSync("python3", [path.join(root, "test", "bench", "reference_mesh_bench.py"), mode, file], {
      env: reference.env,
      encoding: "utf8",
      timeout: timeoutMs,
      killSignal: "SIGKILL",
      maxBuffer: 16 * 1024 * 1024,
    });
    if (r.error) return { ok: false, error: r.error.message };
    if (r.status !== 0) return { ok: false, error: (r.stderr || `exit ${r.status}`).trim().split("\n").slice(-3).join(" | ") };
    return { ok: true, value: JSON.parse(r.stdout) as Record<string, unknown> };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
