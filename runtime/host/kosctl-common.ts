// What every kosctl subcommand family that talks to a running kosd shares: which control socket to use,
// one request over it (control errors become CLI errors), and printing JSON or text.
import * as path from "node:path";
import { CliError, flagString, type ParsedArgs } from "./cli.js";
import { ControlError, controlRequest } from "./control.js";
import { defaultDataDir } from "./datadir.js";

/** Flags every subcommand takes, and those of them that take no value. */
export const COMMON = ["socket", "data-dir", "json", "help", "h"];
export const COMMON_BOOL = ["json", "help", "h"];
/** Timeout for requests that run as long as the operator wants (watch, follow). */
export const LONG_MS = 3_600_000;

/** `--socket`, else $KOS_CONTROL_SOCKET, else kosd.sock in `--data-dir` or the default data directory. */
export function socketPath(args: ParsedArgs): string {
  const explicit = flagString(args, "socket") ?? process.env["KOS_CONTROL_SOCKET"];
  if (explicit !== undefined) return explicit;
  return path.join(flagString(args, "data-dir") ?? defaultDataDir(), "kosd.sock");
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function call(args: ParsedArgs, cmd: string, body: Record<string, unknown>, timeoutMs: number, onProgress?: (p: Record<string, unknown>) => void): Promise<any> {
  try {
    return await controlRequest(socketPath(args), cmd, body, { timeoutMs, ...(onProgress ? { onProgress } : {}) });
  } catch (e) {
    if (e instanceof ControlError) throw new CliError(e.message);
    throw e;
  }
}

/** `value` as JSON with --json, else the text; exit status 0. */
export function print(args: ParsedArgs, value: unknown, text: () => string): number {
  process.stdout.write(args.flags.has("json") ? JSON.stringify(value, null, 2) + "\n" : text());
  return 0;
}
