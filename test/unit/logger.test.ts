// Log lines: hand-computed UTC timestamps and both output formats.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { createLogger, isoTime } from "../../runtime/host/logger.js";
import { seededRandom } from "../../runtime/core/ports.js";

test("isoTime equals Date#toISOString across four centuries, leap days and epoch edges", () => {
  const rng = seededRandom(12);
  const fixed = [0, 951_782_400_000, 4_107_542_399_999, 1_763_700_000_123, 68_256_000_000, 253_402_300_799_999];
  for (const ms of fixed) assert.equal(isoTime(ms), new Date(ms).toISOString());
  for (let i = 0; i < 20_000; i++) {
    const ms = rng.next32() * 4096 + (rng.next32() % 4096);
    assert.equal(isoTime(ms), new Date(ms).toISOString(), `ms ${ms}`);
  }
});

function capture(): { out: Writable; text(): string } {
  let text = "";
  const out = new Writable({ write(chunk, _enc, cb) { text += String(chunk); cb(); } });
  return { out, text: () => text };
}

test("text lines carry level, message and quoted fields; levels below the threshold are dropped", () => {
  const c = capture();
  const log = createLogger({ level: "info", json: false, out: c.out });
  log.log("info", "hello", { path: "/a b", n: 3 });
  log.log("debug", "hidden");
  assert.match(c.text(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info  hello path="\/a b" n=3\n$/);
});

test("JSON lines parse and carry the fields", () => {
  const c = capture();
  createLogger({ level: "debug", json: true, out: c.out }).log("warn", "radio gone", { port: "/dev/ttyUSB0" });
  const o = JSON.parse(c.text());
  assert.equal(o.level, "warn");
  assert.equal(o.msg, "radio gone");
  assert.equal(o.port, "/dev/ttyUSB0");
});
