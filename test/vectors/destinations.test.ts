// Known-answer tests: destination names and hashes recorded from RNS 1.4.2 (test/vectors/rns-1.4.2-destinations.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { toHex } from "../../runtime/core/bytes.js";
import { destinationHash, destinationHashOf, expandName, nameHash, pathHash } from "../../runtime/wire/destination.js";
import { hexOrNull, vectorFile } from "../helpers.js";

interface DestinationVector {
  type: "single" | "plain";
  identity_hash: string | null;
  app_name: string;
  aspects: string[];
  full_name: string;
  name_with_identity: string;
  name_hash: string;
  destination_hash: string;
}
interface PathHashVector {
  path: string;
  path_hash: string;
}
interface DestinationVectors {
  destinations: DestinationVector[];
  path_hashes: PathHashVector[];
}

const load = (): DestinationVectors => vectorFile<DestinationVectors>("rns-1.4.2-destinations.json");
const label = (v: DestinationVector, i: number): string => `destination ${i} (${v.type} ${v.full_name})`;

test("the destination vector file has destinations and path hashes", () => {
  const v = load();
  assert.ok(v.destinations.length > 0 && v.path_hashes.length > 0);
});

test("expandName reproduces every reference full name", async (t) => {
  for (const [i, v] of load().destinations.entries()) {
    await t.test(label(v, i), () => {
      assert.equal(expandName(v.app_name, v.aspects), v.full_name, label(v, i));
      // Destination.name appends the identity's hex hash for destinations with an identity.
      const withIdentity = v.identity_hash === null ? v.full_name : `${v.full_name}.${v.identity_hash}`;
      assert.equal(withIdentity, v.name_with_identity, `${label(v, i)}: name with identity`);
    });
  }
});

test("nameHash reproduces every reference name hash", async (t) => {
  for (const [i, v] of load().destinations.entries()) {
    await t.test(label(v, i), () => {
      assert.equal(toHex(nameHash(v.app_name, v.aspects)), v.name_hash, label(v, i));
    });
  }
});

test("destinationHash and destinationHashOf reproduce every reference destination hash", async (t) => {
  for (const [i, v] of load().destinations.entries()) {
    await t.test(label(v, i), () => {
      assert.equal(v.identity_hash === null, v.type === "plain", `${label(v, i)}: identity only for single`);
      const id = hexOrNull(v.identity_hash);
      assert.equal(toHex(destinationHash(nameHash(v.app_name, v.aspects), id)), v.destination_hash, `${label(v, i)}: destinationHash`);
      assert.equal(toHex(destinationHashOf(v.full_name, id)), v.destination_hash, `${label(v, i)}: destinationHashOf`);
    });
  }
});

test("pathHash reproduces every reference request path hash", async (t) => {
  for (const [i, v] of load().path_hashes.entries()) {
    const l = `path hash ${i} (${v.path})`;
    await t.test(l, () => {
      assert.equal(toHex(pathHash(v.path)), v.path_hash, l);
    });
  }
});
