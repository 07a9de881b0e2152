// Transport's persisted state (the reference's destination_table file, cached announces and
// known_destinations, as one JSON-serialisable object): each path with the announce that set it, so a
// restarted transport node answers path requests at once, and the public keys of known destinations.
// Interfaces are matched by name, since ids are per run; paths on interfaces that are gone are skipped, as
// the reference skips them. Import checks everything (the announce of each path is validated again) and
// applies nothing unless the whole file is sound.
import { equal, parseHex, toHex, type Bytes } from "../../core/bytes.js";
import { MAX_HOPS, PUBLIC_KEY_LENGTH, RANDOM_HASH_LENGTH, TRUNCATED_HASH_LENGTH } from "../../core/limits.js";
import { err, ok, type Result } from "../../core/result.js";
import { truncatedHash } from "../../crypto/hashes.js";
import { validateAnnounce } from "../../wire/announce.js";
import { decodePacket, PacketType } from "../../wire/packet.js";
import { MAX_RANDOM_BLOBS, PERSIST_RANDOM_BLOBS } from "./limits.js";
import { pathLifetimeMs, type PathRecord } from "./path-table.js";
import type { KnownDestination, TransportCore } from "./state.js";
import { bytesOfKey, keyOf } from "./table.js";

export const STATE_FORMAT = "kos-edge transport state";
export const STATE_VERSION = 1;

export interface PersistedPath {
  destinationHash: string;
  nextHop: string;
  hops: number;
  interfaceName: string;
  timestampMs: number;
  announcedAtMs: number;
  announceExpiresMs: number;
  randomBlobs: string[];
  /** The announce as received, hex. */
  announce: string;
}

export interface PersistedKnownDestination {
  destinationHash: string;
  publicKey: string;
  appData: string | null;
  lastSeenMs: number;
}

export interface PersistedTransportState {
  format: typeof STATE_FORMAT;
  version: typeof STATE_VERSION;
  transportId: string;
  paths: PersistedPath[];
  knownDestinations: PersistedKnownDestination[];
}

export function exportState(core: TransportCore): PersistedTransportState {
  const paths: PersistedPath[] = [];
  for (const r of core.paths.records()) {
    const iface = core.interfaces.get(r.interfaceId);
    if (iface === undefined) continue;
    paths.push({
      destinationHash: toHex(r.destinationHash),
      nextHop: toHex(r.nextHop),
      hops: r.hops,
      interfaceName: iface.name,
      timestampMs: r.timestampMs,
      announcedAtMs: r.announcedAtMs,
      announceExpiresMs: r.announceExpiresMs,
      randomBlobs: r.randomBlobs.slice(-PERSIST_RANDOM_BLOBS).map(toHex),
      announce: toHex(r.announceRaw),
    });
  }
  const knownDestinations: PersistedKnownDestination[] = [];
  for (const [key, k] of core.known.entries()) {
    knownDestinations.push({
      destinationHash: toHex(bytesOfKey(key)),
      publicKey: toHex(k.publicKey),
      appData: k.appData === null ? null : toHex(k.appData),
      lastSeenMs: k.lastSeenMs,
    });
  }
  return { format: STATE_FORMAT, version: STATE_VERSION, transportId: toHex(core.transportId), paths, knownDestinations };
}

type Fields = Record<string, unknown>;

const isObject = (v: unknown): v is Fields => typeof v === "object" && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

function hexField(o: Fields, name: string, length: number | null): Bytes | null {
  const v = o[name];
  if (typeof v !== "string") return null;
  const b = parseHex(v);
  if (b === null || (length !== null && b.length !== length)) return null;
  return b;
}

/** Validates and applies a persisted state. Returns how many paths were restored. */
export function importState(core: TransportCore, state: unknown, nowMs: number): Result<number> {
  if (!isObject(state)) return err("bad-frame", "state is not an object");
  if (state["format"] !== STATE_FORMAT || state["version"] !== STATE_VERSION) return err("bad-frame", "unknown state format or version");
  const paths = state["paths"];
  const known = state["knownDestinations"];
  if (!Array.isArray(paths) || !Array.isArray(known)) return err("bad-frame", "paths or knownDestinations is not an array");
  if (paths.length > core.limits.maxPaths || known.length > core.limits.maxKnownDestinations) return err("too-long", "more entries than the tables hold");

  const knownOut: [string, KnownDestination][] = [];
  for (const [i, k] of known.entries()) {
    if (!isObject(k)) return err("bad-frame", `knownDestinations[${i}] is not an object`);
    const dest = hexField(k, "destinationHash", TRUNCATED_HASH_LENGTH);
    const publicKey = hexField(k, "publicKey", PUBLIC_KEY_LENGTH);
    const appData = k["appData"] === null ? null : hexField(k, "appData", null);
    if (dest === null || publicKey === null || (k["appData"] !== null && appData === null) || !isTime(k["lastSeenMs"])) {
      return err("bad-frame", `knownDestinations[${i}] is malformed`);
    }
    knownOut.push([keyOf(dest), { publicKey, appData, lastSeenMs: k["lastSeenMs"] }]);
  }

  const pathsOut: { record: PathRecord; publicKey: Bytes }[] = [];
  for (const [i, p] of paths.entries()) {
    const where = `paths[${i}]`;
    if (!isObject(p)) return err("bad-frame", `${where} is not an object`);
    const dest = hexField(p, "destinationHash", TRUNCATED_HASH_LENGTH);
    const nextHop = hexField(p, "nextHop", TRUNCATED_HASH_LENGTH);
    const announceRaw = hexField(p, "announce", null);
    const hops = p["hops"];
    const blobs = p["randomBlobs"];
    if (dest === null || nextHop === null || announceRaw === null) return err("bad-frame", `${where}: bad hash or announce`);
    if (typeof hops !== "number" || !Number.isInteger(hops) || hops < 0 || hops >= MAX_HOPS) return err("bad-hops", `${where}: bad hop count`);
    if (typeof p["interfaceName"] !== "string") return err("bad-frame", `${where}: bad interface name`);
    if (!isTime(p["timestampMs"]) || !isTime(p["announcedAtMs"]) || !isTime(p["announceExpiresMs"])) return err("bad-frame", `${where}: bad time`);
    if (!Array.isArray(blobs) || blobs.length > MAX_RANDOM_BLOBS) return err("bad-frame", `${where}: bad random blobs`);
    const randomBlobs: Bytes[] = [];
    for (const b of blobs) {
      const blob = typeof b === "string" ? parseHex(b) : null;
      if (blob === null || blob.length !== RANDOM_HASH_LENGTH) return err("bad-frame", `${where}: bad random blob`);
      randomBlobs.push(blob);
    }
    const decoded = decodePacket(announceRaw);
    if (!decoded.ok || decoded.value.packetType !== PacketType.ANNOUNCE || !equal(decoded.value.destinationHash, dest)) {
      return err("bad-frame", `${where}: the cached announce is not an announce for the destination`);
    }
    const valid = validateAnnounce(decoded.value);
    if (!valid.ok) return err(valid.reason, `${where}: the cached announce does not validate`);
    const iface = [...core.interfaces.values()].find((f) => f.name === p["interfaceName"]);
    if (iface === undefined) continue;
    if (core.blackholed.has(keyOf(truncatedHash(valid.value.publicKey)))) continue;
    const conflict = knownOut.find(([k]) => k === keyOf(dest));
    if (conflict !== undefined && !equal(conflict[1].publicKey, valid.value.publicKey)) return err("bad-key", `${where}: public key conflicts`);
    const record: PathRecord = {
      destinationHash: dest,
      nextHop,
      hops,
      interfaceId: iface.id,
      timestampMs: p["timestampMs"],
      announcedAtMs: p["announcedAtMs"],
      announceExpiresMs: p["announceExpiresMs"],
      randomBlobs,
      announceRaw,
      state: "unknown",
    };
    pathsOut.push({ record, publicKey: valid.value.publicKey });
    if (conflict === undefined) knownOut.push([keyOf(dest), { publicKey: valid.value.publicKey.slice(), appData: valid.value.appData?.slice() ?? null, lastSeenMs: nowMs }]);
  }

  for (const [key, k] of knownOut) {
    const current = core.known.get(key);
    if (current !== undefined && !equal(current.publicKey, k.publicKey)) continue;
    if (current === undefined) core.known.set(key, k);
  }
  let restored = 0;
  for (const { record: r, publicKey } of pathsOut) {
    if (core.paths.get(r.destinationHash) !== undefined) continue;
    const current = core.known.get(keyOf(r.destinationHash));
    if (current === undefined || !equal(current.publicKey, publicKey)) continue;
    core.paths.set(r);
    core.noteExpiry(r.timestampMs + pathLifetimeMs(core.interfaces.get(r.interfaceId)?.mode));
    restored++;
  }
  return ok(restored);
}
