// Shared plumbing for kosd and kosctl: argument parsing, operator-facing errors, exit codes.
// Operator mistakes end in one clear line on stderr and a non-zero exit, never a stack trace.

/** An operator-facing failure: printed as one line, exit code 2 (usage) or 1 (operation failed). */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

/**
 * Parses `--name value`, `--name=value`, `--flag` and `-x` options. `booleans` lists flags without a value;
 * `known` lists every accepted flag so that a typo is an error rather than silently ignored.
 */
export function parseArgs(argv: readonly string[], known: readonly string[], booleans: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf("=");
    const name = (eq > 0 ? a.slice(0, eq) : a).replace(/^--?/, "");
    if (!known.includes(name)) throw new CliError(`unknown option ${a.slice(0, eq > 0 ? eq : undefined)} (see --help)`, 2);
    if (booleans.includes(name)) {
      if (eq > 0) throw new CliError(`option --${name} takes no value`, 2);
      flags.set(name, true);
    } else if (eq > 0) {
      flags.set(name, a.slice(eq + 1));
    } else {
      const v = argv[i + 1];
      if (v === undefined) throw new CliError(`option --${name} needs a value`, 2);
      flags.set(name, v);
      i++;
    }
  }
  return { positionals, flags };
}

export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === "string" ? v : undefined;
}

/** Runs a CLI main function and maps failures to exit codes; unexpected errors print one line too. */
export async function runMain(name: string, main: () => Promise<number | void>): Promise<void> {
  try {
    const code = await main();
    if (typeof code === "number") process.exitCode = code;
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`${name}: ${e.message.split("\n")[0]}\n`);
      process.exitCode = e.exitCode;
    } else {
      const msg = (e instanceof Error ? e.message : String(e)).split("\n")[0];
      process.stderr.write(`${name}: internal error: ${msg}\n`);
      if (process.env["KOS_DEBUG"]) process.stderr.write(`${(e as Error).stack ?? ""}\n`);
      process.exitCode = 70;
    }
  }
}
