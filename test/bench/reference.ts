// Finding and running the reference implementation (RNS, Python) beside our benchmarks.
// It runs when `python3` can import RNS, from $KOS_RNS_PATH (a checkout) or the Python path; otherwise the
// benchmarks print our figures alone and say why.
import { spawnSync } from "node:child_process";

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
