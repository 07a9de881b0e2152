// Announce handling (RNS 1.4.2 Transport.inbound, announce part, and the rebroadcast part of jobs()).
//
// How it works: a valid announce (signature, destination hash, no key conflict, identity not blackholed)
// for an unknown destination may be held by ingress control. Otherwise it updates the path table when it
// is new: a destination we had no path to, a newer emission (random blob not seen before) with no more
// hops, a path whose announce expired, or the same emission on a higher-gravity interface. A transport
// node then schedules a rebroadcast (HEADER_2 with its own transport id, hop count as received) after a
// random delay up to PATHFINDER_RW, retried once after PATHFINDER_G; hearing neighbours rebroadcast it
// (LOCAL_REBROADCASTS_MAX) or pass it on ends the retries. Path responses are never rebroadcast, but one
// arriving for a path request we relayed is sent on to the interface that asked.
import { equal, type Bytes } from "../../core/bytes.js";
import { truncatedHash } from "../../crypto/hashes.js";
import { parseAnnounce, validateAnnounce } from "../../wire/announce.js";
import { Context, DestinationType, HeaderType, PacketType, TransportType, encodePacket, type Packet, type ReceivedPacket } from "../../wire/packet.js";
import { announceComplete, type AnnounceEntry } from "./announce-table.js";
import type { InterfaceState } from "./interfaces.js";
import { LOCAL_REBROADCASTS_MAX, PATHFINDER_GRACE_MS, PATHFINDER_RANDOM_WINDOW_MS, INTERFACE_JOBS_INTERVAL_MS } from "./limits.js";
import { broadcast } from "./outbound.js";
import { blobsTimebaseS, blobTimestampS, hasBlob, pathLifetimeMs, withBlob, type PathRecord } from "./path-table.js";
import type { TransportCore } from "./state.js";
import { keyOf } from "./table.js";

/** The HEADER_2 form of an announce as a transport node re-emits it. */
export function transportAnnounce(core: TransportCore, destinationHash: Bytes, data: Bytes, contextFlag: boolean, hops: number, pathResponse: boolean): Packet {
  return {
    headerType: HeaderType.HEADER_2,
    contextFlag,
    transportType: TransportType.TRANSPORT,
    destinationType: DestinationType.SINGLE,
    packetType: PacketType.ANNOUNCE,
    hops,
    transportId: core.transportId,
    destinationHash,
    context: pathResponse ? Context.PATH_RESPONSE : Context.NONE,
    data,
  };
}

export function handleAnnounce(core: TransportCore, iface: InterfaceState, p: ReceivedPacket, nowMs: number): void {
  const parsed = parseAnnounce(p);
  if (!parsed.ok) return core.drop(iface, "bad-announce");
  if (core.blackholed.size > 0 && core.blackholed.has(keyOf(truncatedHash(parsed.value.publicKey)))) return core.drop(iface, "blackholed");
  const valid = validateAnnounce(p);
  if (!valid.ok) return core.drop(iface, "bad-announce");
  const a = valid.value;
  recordAnnounce(core, iface, nowMs);
  const destKey = keyOf(p.destinationHash);
  const path = core.paths.getByKey(destKey);
  if (path === undefined && !core.pathRequestTimes.has(destKey) && !core.discoveryRequests.has(destKey)) {
    if (iface.ingress.shouldLimitAnnounces(nowMs, iface.ageMs(nowMs))) {
      if (iface.ingress.hold(destKey, { raw: p.raw.slice(), hops: p.hops })) iface.stats.announcesHeld++;
      else core.drop(iface, "ingress-limited");
      core.noteInterfaceJobs(nowMs + INTERFACE_JOBS_INTERVAL_MS);
      return;
    }
  }
  if (core.localDestinations.has(destKey)) return core.drop(iface, "local-destination");
  const known = core.known.get(destKey);
  if (known !== undefined && !equal(known.publicKey, a.publicKey)) return core.drop(iface, "key-conflict");
  core.known.set(destKey, { publicKey: a.publicKey.slice(), appData: a.appData?.slice() ?? null, lastSeenMs: nowMs });
  core.known.touch(destKey);

  const receivedFrom = p.transportId ?? p.destinationHash;
  if (p.transportId !== null && core.transportEnabled) noticeRebroadcast(core, destKey, p.hops, nowMs);

  const verdict = shouldAdd(core, iface, path, a.randomHash, a.emittedAtS, p.hops, nowMs);
  if (verdict !== "add") return core.drop(iface, verdict);

  let rateBlocked = false;
  if (p.context !== Context.PATH_RESPONSE && iface.rateTarget !== null) rateBlocked = core.rates.blocked(destKey, nowMs, iface.rateTarget);

  if (core.transportEnabled && p.context !== Context.PATH_RESPONSE) {
    const entry: AnnounceEntry = {
      destinationHash: p.destinationHash.slice(),
      createdMs: nowMs,
      retransmitAtMs: nowMs + core.randomFraction() * PATHFINDER_RANDOM_WINDOW_MS,
      retries: 0,
      receivedFrom: receivedFrom.slice(),
      hops: p.hops,
      contextFlag: p.contextFlag,
      data: p.data.slice(),
      localRebroadcasts: 0,
      blockRebroadcasts: false,
      attachedInterfaceId: null,
    };
    if (rateBlocked || !core.announces.set(destKey, entry)) core.totals.rebroadcastsBlocked++;
  }

  const waiting = core.discoveryRequests.get(destKey);
  if (waiting !== undefined) {
    const answer = encodePacket(transportAnnounce(core, p.destinationHash, p.data, p.contextFlag, p.hops, true));
    if (broadcast(core, answer, null, waiting.interfaceId, true, nowMs).sent) core.totals.pathResponsesSent++;
  }

  const lifetimeMs = pathLifetimeMs(iface.mode);
  const record: PathRecord = {
    destinationHash: p.destinationHash.slice(),
    nextHop: receivedFrom.slice(),
    hops: p.hops,
    interfaceId: iface.id,
    timestampMs: nowMs,
    announcedAtMs: nowMs,
    announceExpiresMs: nowMs + lifetimeMs,
    randomBlobs: withBlob(path?.randomBlobs ?? [], a.randomHash),
    announceRaw: p.raw.slice(),
    state: "unknown",
  };
  core.paths.set(record);
  core.noteExpiry(nowMs + lifetimeMs);
  core.emit({ kind: "path", destinationHash: record.destinationHash, hops: p.hops, interfaceId: iface.id });
  core.emit({ kind: "announce", announce: a, packet: p, hops: p.hops, interfaceId: iface.id, pathResponse: p.context === Context.PATH_RESPONSE });
}

/** Counts an announce heard on an interface (and on the interface that spawned it). */
function recordAnnounce(core: TransportCore, iface: InterfaceState, nowMs: number): void {
  iface.ingress.announces.record(nowMs);
  if (iface.parentId !== null) core.interfaces.get(iface.parentId)?.ingress.announces.record(nowMs);
}

/** A neighbour's rebroadcast of an announce we are about to rebroadcast, or a later node passing it on. */
function noticeRebroadcast(core: TransportCore, destKey: string, hops: number, nowMs: number): void {
  const entry = core.announces.get(destKey);
  if (entry === undefined) return;
  if (hops - 1 === entry.hops) {
    entry.localRebroadcasts++;
    if (entry.retries > 0 && entry.localRebroadcasts >= LOCAL_REBROADCASTS_MAX) core.announces.delete(destKey);
  }
  if (hops - 1 === entry.hops + 1 && entry.retries > 0 && nowMs < entry.retransmitAtMs) core.announces.delete(destKey);
}

type AddVerdict = "add" | "replay" | "worse-path";

/** Whether an announce replaces the current path (the reference's should_add). */
function shouldAdd(
  core: TransportCore,
  iface: InterfaceState,
  path: PathRecord | undefined,
  blob: Bytes,
  emittedS: number,
  hops: number,
  nowMs: number,
): AddVerdict {
  if (path === undefined) return "add";
  const seen = hasBlob(path.randomBlobs, blob);
  if (hops <= path.hops) {
    const timebase = blobsTimebaseS(path.randomBlobs);
    if (!seen && emittedS > timebase) return "add";
    if (emittedS !== timebase) return "replay";
    // The same emission heard again: switch to this interface only if it has higher gravity.
    const current = core.interfaces.get(path.interfaceId)?.gravity;
    return current !== undefined && iface.gravity > current ? "add" : "replay";
  }
  let pathEmittedS = 0;
  for (const b of path.randomBlobs) {
    pathEmittedS = Math.max(pathEmittedS, blobTimestampS(b));
    if (pathEmittedS >= emittedS) break;
  }
  if (nowMs >= path.announceExpiresMs) return seen ? "replay" : "add";
  if (emittedS > pathEmittedS) return seen ? "replay" : "add";
  if (emittedS === pathEmittedS) return path.state === "unresponsive" ? "add" : "worse-path";
  return "replay";
}

/** Sends the announces whose retransmit time has come (rebroadcasts and path request answers). */
export function runAnnounceTable(core: TransportCore, nowMs: number): void {
  const outgoing: { entry: AnnounceEntry; packet: Packet }[] = [];
  for (const [key, e] of core.announces.entries()) {
    if (announceComplete(e)) {
      core.announces.delete(key);
      continue;
    }
    if (nowMs < e.retransmitAtMs) continue;
    e.retransmitAtMs = nowMs + PATHFINDER_GRACE_MS + PATHFINDER_RANDOM_WINDOW_MS;
    e.retries++;
    if (!core.known.has(key)) {
      core.announces.delete(key);
      continue;
    }
    outgoing.push({ entry: e, packet: transportAnnounce(core, e.destinationHash, e.data, e.contextFlag, e.hops, e.blockRebroadcasts) });
    core.announces.restoreHeld(key);
    // The reference's job loop drops a finished entry on its next pass; nothing can use it in between.
    if (announceComplete(e) && core.announces.get(key) === e) core.announces.delete(key);
  }
  outgoing.sort((a, b) => a.entry.hops - b.entry.hops);
  for (const { entry, packet } of outgoing) {
    const raw = encodePacket(packet);
    const attached = entry.attachedInterfaceId;
    const r = broadcast(core, raw, packet, attached, attached !== null, nowMs);
    if (!r.sent) continue;
    if (entry.blockRebroadcasts) core.totals.pathResponsesSent++;
    else core.totals.announcesRebroadcast++;
  }
}
