// Structured logs for the host: one line per event, either "time level message key=value" for people or
// JSON lines for journald/log shippers.
import type { LogLevel, Logger } from "../core/ports.js";

const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export function createLogger(opts: { level: LogLevel; json: boolean; out?: NodeJS.WritableStream }): Logger {
  const out = opts.out ?? process.stderr;
  return {
    log(level, message, fields) {
      if (ORDER[level] > ORDER[opts.level]) return;
      const time = isoTime(Date.now());
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

/**
 * UTC ISO-8601 time from epoch milliseconds, computed by hand: Date#toISOString pulls in ICU time-zone
 * data on first use, about 0.9 MiB of resident memory a daemon otherwise never needs.
 */
export function isoTime(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  const msOfDay = ms - days * 86_400_000;
  // Civil-from-days (H. Hinnant), proleptic Gregorian calendar.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const p2 = (n: number): string => String(n).padStart(2, "0");
  const h = Math.floor(msOfDay / 3_600_000);
  const m = Math.floor((msOfDay % 3_600_000) / 60_000);
  const sec = Math.floor((msOfDay % 60_000) / 1000);
  const milli = msOfDay % 1000;
  return `${String(year).padStart(4, "0")}-${p2(month)}-${p2(day)}T${p2(h)}:${p2(m)}:${p2(sec)}.${String(milli).padStart(3, "0")}Z`;
}
