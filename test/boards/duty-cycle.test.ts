// The duty-cycle budget (runtime/radio/duty-cycle.ts): window arithmetic, the next allowed time, bounded
// memory, a clock that goes back, and persistence across restarts with corrupt states refused.
import { test } from "node:test";
import assert from "node:assert/strict";
import { builtinCatalog } from "../../boards/index.js";
import { DutyCycleBudget, budgetForSubBand, type DutyCycleState } from "../../runtime/radio/duty-cycle.js";

const HOUR = 3_600_000;
const MIN = 60_000;
const T0 = 1_800_000_000_000;
/** 1 % of an hour: 36 s of airtime. */
const onePct = (): DutyCycleBudget => new DutyCycleBudget({ dutyCyclePct: 1 });

test("the allowance is the duty cycle times the window", () => {
  assert.equal(onePct().allowedMs, 36_000);
  assert.equal(new DutyCycleBudget({ dutyCyclePct: 0.1 }).allowedMs, 3_600);
  assert.equal(new DutyCycleBudget({ dutyCyclePct: 10, windowMs: 60_000, bucketMs: 1_000 }).allowedMs, 6_000);
});

test("transmissions are allowed until the window's allowance is used up", () => {
  const b = onePct();
  for (let i = 0; i < 36; i++) {
    assert.ok(b.canTransmit(1_000, T0 + i * 10_000), `transmission ${i}`);
    b.record(1_000, T0 + i * 10_000);
  }
  assert.equal(b.usedMs(T0 + 360_000), 36_000);
  assert.equal(b.canTransmit(1, T0 + 360_000), false);
  assert.equal(b.canTransmit(0, T0 + 360_000), true);
  assert.equal(b.remainingMs(T0 + 360_000), 0);
});

test("airtime leaves the window one window after the transmission ends, never earlier", () => {
  const b = onePct();
  b.record(36_000, T0);
  assert.equal(b.canTransmit(100, T0 + HOUR), false, "still inside the window: the transmission ended at T0 + 36 s");
  assert.equal(b.canTransmit(100, T0 + HOUR + 35_999), false);
  assert.equal(b.canTransmit(100, T0 + HOUR + 36_000), true);
});

test("nextAllowedMs is now when there is room, else when enough old airtime leaves the window", () => {
  const b = onePct();
  assert.equal(b.nextAllowedMs(1_000, T0), T0);
  b.record(20_000, T0);
  b.record(16_000, T0 + 10 * MIN);
  assert.equal(b.nextAllowedMs(1_000, T0 + 20 * MIN), T0 + 20_000 + HOUR);
  assert.equal(b.nextAllowedMs(30_000, T0 + 20 * MIN), T0 + 10 * MIN + 16_000 + HOUR);
  assert.equal(b.nextAllowedMs(36_001, T0 + 20 * MIN), Number.POSITIVE_INFINITY, "more than the whole allowance never fits");
  const at = b.nextAllowedMs(1_000, T0 + 20 * MIN);
  assert.ok(!b.canTransmit(1_000, at - 1) && b.canTransmit(1_000, at));
});

test("records close together share a bucket, so memory stays bounded however much is sent", () => {
  const b = onePct();
  for (let t = 0; t < 10 * HOUR; t += 500) b.record(1, T0 + t);
  const s = b.export();
  assert.ok(s.buckets.length <= b.maxBuckets, `${s.buckets.length} buckets`);
  assert.ok(s.buckets.length <= 62);
  assert.ok(Math.abs(b.usedMs(T0 + 10 * HOUR) - 7_200) < 130, "about an hour of records, give or take one bucket");
});

test("bucketing never undercounts: a bucket counts until its last transmission is a window old", () => {
  const b = new DutyCycleBudget({ dutyCyclePct: 1, bucketMs: 10 * MIN });
  b.record(1_000, T0);
  b.record(1_000, T0 + 9 * MIN);
  assert.equal(b.usedMs(T0 + HOUR + 5 * MIN), 2_000, "the first record is older than the window but shares a bucket with a newer one");
  assert.equal(b.usedMs(T0 + 9 * MIN + 1_000 + HOUR), 0);
});

test("a clock that goes back keeps recorded airtime at its age instead of forgetting or freezing it", () => {
  const b = onePct();
  b.record(36_000, T0);
  assert.equal(b.usedMs(T0 + 10 * MIN), 36_000);
  // Ten minutes after the transmission (the last time the budget saw), the clock steps back a day.
  const back = T0 + 10 * MIN - 24 * HOUR;
  assert.equal(b.canTransmit(1, back), false, "airtime from the future still counts");
  assert.equal(b.nextAllowedMs(1, back), back - 10 * MIN + 36_000 + HOUR, "and leaves the window as if no time passed at the jump");
  assert.equal(b.canTransmit(1, back - 10 * MIN + 36_000 + HOUR), true, "not a day later");
});

test("the budget survives a restart through export and fromState", () => {
  const b = onePct();
  b.record(10_000, T0);
  b.record(5_000, T0 + 5 * MIN);
  const saved = JSON.parse(JSON.stringify(b.export())) as DutyCycleState;
  const r = DutyCycleBudget.fromState(saved, { dutyCyclePct: 1 });
  assert.ok(r.ok, r.ok ? "" : r.reason);
  assert.deepEqual(r.budget.export(), b.export());
  assert.equal(r.budget.usedMs(T0 + 30 * MIN), 15_000);
  assert.equal(r.budget.nextAllowedMs(30_000, T0 + 30 * MIN), b.nextAllowedMs(30_000, T0 + 30 * MIN));
});

test("a saved state restored on a machine whose clock starts earlier still counts its airtime", () => {
  const b = onePct();
  b.record(36_000, T0);
  const r = DutyCycleBudget.fromState(b.export(), { dutyCyclePct: 1 });
  assert.ok(r.ok);
  // A Pi without a real-time clock boots with an older time than it saved.
  assert.equal(r.budget.canTransmit(1, T0 - 3 * HOUR), false);
});

test("a corrupt or foreign state is refused with a reason, never thrown", () => {
  const good = (): Record<string, unknown> => {
    const b = onePct();
    b.record(1_000, T0);
    b.record(1_000, T0 + 2 * MIN);
    return b.export() as unknown as Record<string, unknown>;
  };
  const cases: [string, unknown, RegExp][] = [
    ["not an object", "garbage", /not an object/],
    ["null", null, /not an object/],
    ["another version", { ...good(), version: 2 }, /version is 2, expected 1/],
    ["another window", { ...good(), windowMs: 60_000 }, /kept over a 60000 ms window, this budget uses 3600000 ms/],
    ["another bucket size", { ...good(), bucketMs: 1 }, /1 ms buckets/],
    ["buckets not a list", { ...good(), buckets: {} }, /buckets is not a list/],
    ["a bucket with text", { ...good(), buckets: [{ startMs: "x", endMs: 1, usedMs: 1 }] }, /bucket 0 needs startMs, endMs and usedMs as numbers/],
    ["negative airtime", { ...good(), buckets: [{ startMs: T0, endMs: T0, usedMs: -5 }] }, /bucket 0 uses -5 ms/],
    ["NaN", { ...good(), buckets: [{ startMs: T0, endMs: T0, usedMs: Number.NaN }] }, /as numbers/],
    ["ends before it starts", { ...good(), buckets: [{ startMs: T0, endMs: T0 - 1, usedMs: 1 }] }, /ends before it starts/],
    ["buckets out of order", { ...good(), buckets: [{ startMs: T0 + MIN, endMs: T0 + MIN, usedMs: 1 }, { startMs: T0, endMs: T0, usedMs: 1 }] }, /bucket 1 starts less than one bucket after bucket 0/],
    ["a bucket after the high-water mark", { ...good(), highWaterMs: T0 }, /bucket 1 starts after the state's highWaterMs/],
    ["too many buckets", { ...good(), buckets: Array.from({ length: 500 }, (_, i) => ({ startMs: T0 + i * MIN, endMs: T0 + i * MIN, usedMs: 1 })), highWaterMs: T0 + 500 * MIN }, /more than the 122/],
  ];
  for (const [name, state, reason] of cases) {
    const r = DutyCycleBudget.fromState(state, { dutyCyclePct: 1 });
    assert.ok(!r.ok, name);
    if (!r.ok) assert.match(r.reason, reason, name);
  }
});

test("after a refused state the host can start from a spent allowance", () => {
  const b = DutyCycleBudget.exhausted({ dutyCyclePct: 1 }, T0);
  assert.equal(b.nextAllowedMs(1_000, T0), T0 + HOUR);
  assert.equal(b.canTransmit(1, T0 + 30 * MIN), false);
  assert.equal(b.canTransmit(1, T0 + HOUR), true);
});

test("local misuse throws: a negative airtime, a non-finite time, a bad duty cycle", () => {
  assert.throws(() => onePct().record(-1, T0), RangeError);
  assert.throws(() => onePct().canTransmit(1, Number.NaN), RangeError);
  assert.throws(() => onePct().record(2 * HOUR, T0), RangeError);
  assert.throws(() => new DutyCycleBudget({ dutyCyclePct: 0 }), RangeError);
  assert.throws(() => new DutyCycleBudget({ dutyCyclePct: 1, windowMs: 1000, bucketMs: 2000 }), RangeError);
});

test("a region sub-band gives its budget: g1 in eu868 allows 36 s an hour, g3 360 s", () => {
  const eu = builtinCatalog().find("region", "eu868")!;
  const sb = (id: string) => eu.subBands.find((b) => b.id === id)!;
  assert.equal(budgetForSubBand(eu, sb("g1")).allowedMs, 36_000);
  assert.equal(budgetForSubBand(eu, sb("g3")).allowedMs, 360_000);
  assert.equal(budgetForSubBand(eu, sb("g4-5mw")).allowedMs, HOUR);
});
