// The bounded tables every Transport table is built on: a full table evicts its oldest entry (insertion
// order, moved by touch), checked against a plain model over long seeded runs of mixed operations.
import { test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../runtime/core/ports.js";
import { BoundedMap, BoundedSet } from "../../runtime/mesh/transport/table.js";

test("a full BoundedMap evicts the oldest entry; touch makes an entry young; replacing keeps its age", () => {
  const m = new BoundedMap<number>(3);
  assert.equal(m.set("a", 1), null);
  m.set("b", 2);
  m.set("c", 3);
  assert.deepEqual(m.set("d", 4), ["a", 1]);
  m.touch("b");
  assert.deepEqual(m.set("e", 5), ["c", 3]);
  assert.equal(m.set("d", 40), null, "replacing an entry evicts nothing");
  assert.deepEqual(m.set("f", 6), ["d", 40], "a replaced entry keeps its place in age order");
  assert.deepEqual([...m.keys()], ["b", "e", "f"]);
});

test("a BoundedMap evicts correctly after deletes, deleteWhere and clear", () => {
  const m = new BoundedMap<number>(2);
  m.set("a", 1);
  m.set("b", 2);
  m.set("c", 3); // evicts a
  m.delete("b");
  m.set("d", 4); // not full: nothing evicted
  assert.deepEqual(m.set("e", 5), ["c", 3]);
  m.deleteWhere((v) => v === 4);
  m.set("f", 6);
  assert.deepEqual(m.set("g", 7), ["e", 5]);
  m.clear();
  m.set("h", 8);
  m.set("i", 9);
  assert.deepEqual(m.set("j", 10), ["h", 8]);
});

test("BoundedMap matches a plain model over 20,000 seeded operations", () => {
  const rng = seededRandom(2024);
  const max = 16;
  const m = new BoundedMap<number>(max);
  let model: Array<[string, number]> = [];
  for (let step = 0; step < 20_000; step++) {
    const key = `k${rng.next32() % 40}`;
    const op = rng.next32() % 10;
    if (op < 6) {
      const i = model.findIndex(([k]) => k === key);
      let expected: [string, number] | null = null;
      if (i >= 0) model[i] = [key, step];
      else {
        if (model.length >= max) expected = model.shift()!;
        model.push([key, step]);
      }
      assert.deepEqual(m.set(key, step), expected, `step ${step}: set ${key}`);
    } else if (op < 8) {
      m.touch(key);
      const i = model.findIndex(([k]) => k === key);
      if (i >= 0) model.push(...model.splice(i, 1));
    } else if (op < 9) {
      assert.equal(m.delete(key), model.some(([k]) => k === key));
      model = model.filter(([k]) => k !== key);
    } else {
      assert.equal(m.get(key), model.find(([k]) => k === key)?.[1]);
    }
    assert.equal(m.size, model.length);
  }
  assert.deepEqual([...m.entries()], model);
});

test("a full BoundedSet forgets its oldest key first", () => {
  const s = new BoundedSet(3);
  for (const k of ["a", "b", "c", "a", "d", "e"]) s.add(k);
  assert.deepEqual(["a", "b", "c", "d", "e"].map((k) => s.has(k)), [false, false, true, true, true]);
});
