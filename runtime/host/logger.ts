// Structured logs for the host: one line per event, either "time level message key=value" for people or
// JSON lines for journald/log shippers.
import type { LogLevel, Logger } from "../core/ports.js";

const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export function createLogger(opts: { level: LogLevel; json: boolean; out?: NodeJS.WritableStream }): Logger {
  const out = opts.out ?? process.stderr;
  return {
    log(level, message, fields) {
      if (ORDER[level] > ORDER[opts.level]) return;
      const time = new Date().toISOString();
      if (opts.json) {
        out.write(JSON.stringify({ time, level, msg: message, ...fields }) + "\n");
        return;
      }
      let line = `${time} ${level.padEnd(5)} ${message}`;
      if (fields) for (const [k, v] of Object.entries(fields)) line += ` ${k}=${formatValue(v)}`;
      out.write(line + "\n");
    },
  };
}

function formatValue(v: unknown): string {
  if (typeof v === "string") return /[\s"=]/.test(v) ? JSON.stringify(v) : v;
  return JSON.stringify(v);
}

export function parseLogLevel(text: string): LogLevel | null {
  return text in ORDER ? (text as LogLevel) : null;
}
