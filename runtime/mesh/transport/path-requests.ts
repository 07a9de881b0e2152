// Path requests (RNS 1.4.2 Transport.request_path, path_request_handler, path_request): a DATA packet to
// the PLAIN destination "rnstransport.path.request" carrying the wanted destination hash, the asking
// transport node's id (when it is one) and a tag (16 bytes). Requests are only heard from neighbours and
// deduplicated by destination + tag. A destination registered here gets a `path-request` event (the engine
// answers with a path response announce); a transport node that knows the path answers from its table
// after PATH_REQUEST_GRACE (the destination itself, if near, answers first); one that does not may ask its
// other interfaces on the requester's behalf (access point, gateway, roaming and boundary interfaces, or
// any with recursivePathRequests) and relays the answer when it comes.
import { concat, equal, type Bytes } from "../../core/bytes.js";
import { TRUNCATED_HASH_LENGTH } from "../../core/limits.js";
import { destinationHashOf } from "../../wire/destination.js";
import { decodePacket, DestinationType, HeaderType, PacketType, TransportType, encodePacket, type ReceivedPacket } from "../../wire/packet.js";
import type { InterfaceMode } from "../types.js";
import type { InterfaceState } from "./interfaces.js";
import {
  DISCOVERY_PR_THROTTLE_MS,
  HEADER_MINSIZE,
  PATHFINDER_RETRIES,
  PATH_REQUEST_GATE_TIMEOUT_MS,
  PATH_REQUEST_GRACE_MS,
  PATH_REQUEST_ROAMING_GRACE_MS,
  PATH_REQUEST_TIMEOUT_MS,
} from "./limits.js";
import { broadcast } from "./outbound.js";
import type { TransportCore } from "./state.js";
import { keyOf } from "./table.js";

export const PATH_REQUEST_NAME = "rnstransport.path.request";
export const PATH_REQUEST_DESTINATION: Bytes = destinationHashOf(PATH_REQUEST_NAME, null);
export const PATH_REQUEST_TAG_LENGTH = TRUNCATED_HASH_LENGTH;

const DISCOVER_PATHS_FOR: readonly InterfaceMode[] = ["access_point", "gateway", "roaming"];
const BOUNDARY_SEARCH_MODES: readonly InterfaceMode[] = ["boundary", "gateway"];

/** Sends a path request on every OUT interface, or on one. False when a recursive request was held back by the cap. */
export function sendPathRequest(
  core: TransportCore,
  destinationHash: Bytes,
  nowMs: number,
  interfaceId: number | null,
  tag: Bytes | null,
  recursive: boolean,
): boolean {
  const requestTag = tag ?? core.random.bytes(PATH_REQUEST_TAG_LENGTH);
  const data = core.transportEnabled ? concat(destinationHash, core.transportId, requestTag) : concat(destinationHash, requestTag);
  if (interfaceId !== null && recursive) {
    const iface = core.interfaces.get(interfaceId);
    if (iface === undefined || iface.queue.entries.length > 0 || nowMs < iface.queue.allowedAtMs) return false;
    iface.queue.book(nowMs, data.length + HEADER_MINSIZE);
  }
  const raw = encodePacket({
    headerType: HeaderType.HEADER_1,
    contextFlag: false,
    transportType: TransportType.BROADCAST,
    destinationType: DestinationType.PLAIN,
    packetType: PacketType.DATA,
    hops: 0,
    transportId: null,
    destinationHash: PATH_REQUEST_DESTINATION,
    context: 0,
    data,
  });
  const sent = broadcast(core, raw, null, interfaceId, interfaceId !== null, nowMs).sent;
  if (sent) core.totals.pathRequestsSent++;
  core.pathRequestTimes.set(keyOf(destinationHash), nowMs);
  core.noteExpiry(nowMs + PATH_REQUEST_GATE_TIMEOUT_MS);
  return sent;
}

export function isPathRequest(p: ReceivedPacket): boolean {
  return p.packetType === PacketType.DATA && p.destinationType === DestinationType.PLAIN && equal(p.destinationHash, PATH_REQUEST_DESTINATION);
}

/** Handles a received path request. */
export function handlePathRequest(core: TransportCore, iface: InterfaceState, p: ReceivedPacket, nowMs: number): void {
  const d = p.data;
  if (d.length < TRUNCATED_HASH_LENGTH) return core.drop(iface, "bad-path-request");
  const destinationHash = d.subarray(0, TRUNCATED_HASH_LENGTH);
  let requestor: Bytes | null = null;
  let tag: Bytes | null = null;
  if (d.length > 2 * TRUNCATED_HASH_LENGTH) {
    requestor = d.subarray(TRUNCATED_HASH_LENGTH, 2 * TRUNCATED_HASH_LENGTH);
    tag = d.subarray(2 * TRUNCATED_HASH_LENGTH);
  } else if (d.length > TRUNCATED_HASH_LENGTH) {
    tag = d.subarray(TRUNCATED_HASH_LENGTH);
  }
  // Tagless requests are ignored, as the reference does.
  if (tag === null) return core.drop(iface, "bad-path-request");
  if (tag.length > PATH_REQUEST_TAG_LENGTH) tag = tag.subarray(0, PATH_REQUEST_TAG_LENGTH);
  iface.ingress.pathRequests.record(nowMs);
  if (iface.parentId !== null) core.interfaces.get(iface.parentId)?.ingress.pathRequests.record(nowMs);
  const unique = keyOf(destinationHash) + keyOf(tag);
  if (core.pathRequestTags.has(unique)) return core.drop(iface, "duplicate");
  core.pathRequestTags.add(unique);
  answerPathRequest(core, iface, destinationHash.slice(), requestor, tag.slice(), nowMs);
}

function answerPathRequest(core: TransportCore, iface: InterfaceState, dest: Bytes, requestor: Bytes | null, tag: Bytes, nowMs: number): void {
  const limitIngress = iface.ingress.shouldLimitPathRequests(nowMs, iface.ageMs(nowMs));
  let search = false;
  let searchModes: readonly InterfaceMode[] | null = null;
  if (core.transportEnabled) {
    if (iface.recursivePathRequests || DISCOVER_PATHS_FOR.includes(iface.mode)) search = true;
    else if (iface.mode === "boundary") {
      search = true;
      searchModes = BOUNDARY_SEARCH_MODES;
    }
  }
  const destKey = keyOf(dest);
  if (core.localDestinations.has(destKey)) {
    core.emit({ kind: "path-request", destinationHash: dest, tag, interfaceId: iface.id });
    return;
  }
  const path = core.transportEnabled ? core.paths.getByKey(destKey) : undefined;
  if (path !== undefined) {
    // Not on the roaming interface the path itself uses, and not back to the node our path goes through.
    if (iface.mode === "roaming" && iface.id === path.interfaceId) return;
    if (requestor !== null && equal(requestor, path.nextHop)) return;
    const cached = decodePacket(path.announceRaw);
    if (!cached.ok) return;
    let retransmitAtMs = nowMs + PATH_REQUEST_GRACE_MS;
    if (iface.mode === "roaming") retransmitAtMs += PATH_REQUEST_ROAMING_GRACE_MS;
    core.announces.holdCurrent(destKey);
    const accepted = core.announces.set(destKey, {
      destinationHash: dest,
      createdMs: nowMs,
      retransmitAtMs,
      retries: PATHFINDER_RETRIES,
      receivedFrom: path.nextHop,
      hops: path.hops,
      contextFlag: cached.value.contextFlag,
      data: cached.value.data,
      localRebroadcasts: 0,
      blockRebroadcasts: true,
      attachedInterfaceId: iface.id,
    });
    if (!accepted) core.totals.rebroadcastsBlocked++;
    return;
  }
  if (!search || core.discoveryRequests.has(destKey) || limitIngress) return;
  core.discoveryRequests.set(destKey, { timeoutMs: nowMs + PATH_REQUEST_TIMEOUT_MS, interfaceId: iface.id });
  core.noteExpiry(nowMs + PATH_REQUEST_TIMEOUT_MS);
  for (const other of core.outOrder) {
    if (other.id === iface.id) continue;
    if (searchModes !== null && !searchModes.includes(other.mode)) continue;
    sendPathRequest(core, dest, nowMs, other.id, tag, true);
  }
}

/** Queues a path request to rediscover a destination (bounded; sent DISCOVERY_PR_THROTTLE_MS apart). */
export function queueRediscovery(core: TransportCore, destinationHash: Bytes, blockedInterfaceId: number | null, nowMs: number): void {
  if (core.rediscovery.some((r) => equal(r.destinationHash, destinationHash))) return;
  if (core.rediscovery.length >= core.limits.maxQueuedPathRequests) return;
  // The reference's sender sleeps DISCOVERY_PR_THROTTLE before each request, the first included.
  if (core.rediscovery.length === 0) core.rediscoveryNextMs = Math.max(core.rediscoveryNextMs, nowMs + DISCOVERY_PR_THROTTLE_MS);
  core.rediscovery.push({ destinationHash: destinationHash.slice(), blockedInterfaceId });
}

/** Sends the next queued rediscovery path request, if its time has come. */
export function runRediscovery(core: TransportCore, nowMs: number): void {
  if (core.rediscovery.length === 0 || nowMs < core.rediscoveryNextMs) return;
  const next = core.rediscovery.shift()!;
  core.rediscoveryNextMs = nowMs + DISCOVERY_PR_THROTTLE_MS;
  if (next.blockedInterfaceId === null) {
    sendPathRequest(core, next.destinationHash, nowMs, null, null, false);
    return;
  }
  for (const iface of core.outOrder) {
    if (iface.id !== next.blockedInterfaceId) sendPathRequest(core, next.destinationHash, nowMs, iface.id, null, false);
  }
}
