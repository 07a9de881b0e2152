// Destination naming: "app.aspect.aspect" → name hash (SHA-256[:10] of the UTF-8 name) → destination hash
// (SHA-256[:16] of name hash || identity hash, or of the name hash alone for PLAIN destinations).
import { concat, utf8, type Bytes } from "../core/bytes.js";
import { assertLength } from "../core/assert.js";
import { NAME_HASH_LENGTH, TRUNCATED_HASH_LENGTH } from "../core/limits.js";
import { sha256, truncatedHash } from "../crypto/hashes.js";

/** Joins an app name and aspects; dots inside a component are refused, as the reference refuses them. */
export function expandName(appName: string, aspects: readonly string[] = []): string {
  if (appName.length === 0) throw new RangeError("app name is empty");
  if (appName.includes(".")) throw new RangeError("dots can't be used in app names");
  for (const a of aspects) if (a.includes(".")) throw new RangeError("dots can't be used in aspects");
  return [appName, ...aspects].join(".");
}

/** Splits "app.aspect.aspect" into app name and aspects. */
export function splitName(fullName: string): { appName: string; aspects: string[] } {
  const [appName, ...aspects] = fullName.split(".");
  if (appName === undefined || appName.length === 0) throw new RangeError(`bad destination name "${fullName}"`);
  return { appName, aspects };
}

export function nameHash(appName: string, aspects: readonly string[] = []): Bytes {
  return sha256(utf8(expandName(appName, aspects))).subarray(0, NAME_HASH_LENGTH);
}

export function nameHashOf(fullName: string): Bytes {
  const { appName, aspects } = splitName(fullName);
  return nameHash(appName, aspects);
}

/** Destination hash from a name hash and an identity hash (null for PLAIN/GROUP without identity). */
export function destinationHash(nameHashBytes: Bytes, identityHash: Bytes | null): Bytes {
  assertLength(nameHashBytes, NAME_HASH_LENGTH, "name hash");
  if (identityHash === null) return truncatedHash(nameHashBytes);
  assertLength(identityHash, TRUNCATED_HASH_LENGTH, "identity hash");
  return truncatedHash(concat(nameHashBytes, identityHash));
}

export function destinationHashOf(fullName: string, identityHash: Bytes | null): Bytes {
  return destinationHash(nameHashOf(fullName), identityHash);
}

/** Request path hash, as links address request handlers. */
export function pathHash(path: string): Bytes {
  return truncatedHash(utf8(path));
}
