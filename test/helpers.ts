// Shared test helpers: repo paths, vector files, seeded randomness.
import * as fs from "node:fs";
import * as path from "node:path";
import { fromHex, type Bytes } from "../runtime/core/bytes.js";

export const REPO_ROOT = process.env["KOS_REPO_ROOT"] ?? process.cwd();

export function vectorFile<T>(name: string): T {
  const file = path.join(REPO_ROOT, "test", "vectors", name);
  if (!fs.existsSync(file)) throw new Error(`missing vector file test/vectors/${name} (see test/vectors/README.md)`);
  return JSON.parse(fs.readFileSync(file, "utf8")) as T;
}

export const hex = (s: string): Bytes => fromHex(s);
export const hexOrNull = (s: string | null | undefined): Bytes | null => (s === null || s === undefined ? null : fromHex(s));

/** A fixed-output random source for known-answer tests. */
export function fixedRandom(...chunks: Bytes[]): { bytes(n: number): Bytes } {
  let i = 0;
  return {
    bytes(n: number): Bytes {
      const c = chunks[i++];
      if (c === undefined || c.length !== n) throw new Error(`fixedRandom: no ${n}-byte chunk at call ${i}`);
      return c;
    },
  };
}
