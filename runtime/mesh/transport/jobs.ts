// Timed work (RNS 1.4.2 Transport.jobs and the interface jobs of Interface.py), run by Transport.tick:
// announce rebroadcasts and path request answers, announce cap queues, ingress control releasing held
// announces, queued rediscovery path requests, and culling of expired table entries. The reference polls
// every 250 ms to 5 s; we run each part exactly when its next deadline falls (culling at most every 5 s),
// so an entry whose lifetime ends at t is gone at t (the reference's "after t", seen by its next poll).
import type { Bytes } from "../../core/bytes.js";
import { runAnnounceTable } from "./announces.js";
import type { InterfaceState } from "./interfaces.js";
import type { LinkEntry } from "./link-table.js";
import { INTERFACE_JOBS_INTERVAL_MS, PATH_REQUEST_GATE_TIMEOUT_MS, PATH_REQUEST_MIN_INTERVAL_MS, TABLES_CULL_INTERVAL_MS } from "./limits.js";
import { runAnnounceQueues } from "./outbound.js";
import { queueRediscovery, runRediscovery } from "./path-requests.js";
import type { TransportCore } from "./state.js";
import { keyOf } from "./table.js";

export function runJobs(core: TransportCore, nowMs: number, receiveHeld: (iface: InterfaceState, raw: Bytes) => void): void {
  if (nowMs >= core.announces.nextMs()) runAnnounceTable(core, nowMs);
  runAnnounceQueues(core, nowMs);
  if (nowMs >= core.nextInterfaceJobsMs) runInterfaceJobs(core, nowMs, receiveHeld);
  runRediscovery(core, nowMs);
  if (nowMs >= core.nextCullMs) cull(core, nowMs);
}

export function nextDeadline(core: TransportCore): number {
  let next = Math.min(core.announces.nextMs(), core.nextInterfaceJobsMs, core.nextCullMs);
  for (const iface of core.interfaces.values()) next = Math.min(next, iface.queue.nextMs);
  if (core.rediscovery.length > 0) next = Math.min(next, core.rediscoveryNextMs);
  return next;
}

/** Ingress control: update burst state, let one held announce in per interface when it has calmed down. */
function runInterfaceJobs(core: TransportCore, nowMs: number, receiveHeld: (iface: InterfaceState, raw: Bytes) => void): void {
  let busy = false;
  for (const iface of [...core.interfaces.values()]) {
    const ageMs = iface.ageMs(nowMs);
    iface.ingress.shouldLimitAnnounces(nowMs, ageMs);
    iface.ingress.shouldLimitPathRequests(nowMs, ageMs);
    const held = iface.ingress.release(nowMs, ageMs);
    if (held !== null) receiveHeld(iface, held.raw);
    if (iface.ingress.busy) busy = true;
  }
  core.nextInterfaceJobsMs = busy ? nowMs + INTERFACE_JOBS_INTERVAL_MS : Infinity;
}

function cull(core: TransportCore, nowMs: number): void {
  core.lastCullMs = nowMs;
  const exists = (id: number): boolean => core.interfaces.has(id);
  let next = core.paths.cull(nowMs, (id) => core.interfaces.get(id)?.mode);
  next = Math.min(next, core.relay.cullReverse(nowMs, exists));
  next = Math.min(next, core.relay.cullLinks(nowMs, exists, (e) => linkNeverProven(core, e, nowMs)));
  core.pathRequestTimes.deleteWhere((t) => {
    if (nowMs >= t + PATH_REQUEST_GATE_TIMEOUT_MS) return true;
    next = Math.min(next, t + PATH_REQUEST_GATE_TIMEOUT_MS);
    return false;
  });
  core.discoveryRequests.deleteWhere((d) => {
    if (nowMs >= d.timeoutMs) return true;
    next = Math.min(next, d.timeoutMs);
    return false;
  });
  core.receipts.deleteWhere((expiresMs) => {
    if (nowMs >= expiresMs) return true;
    next = Math.min(next, expiresMs);
    return false;
  });
  core.nextCullMs = next === Infinity ? Infinity : Math.max(next, nowMs + TABLES_CULL_INTERVAL_MS);
}

/**
 * A link request we relayed never got its proof: if the path is gone, or the destination or the initiator
 * was a neighbour (it may have moved), ask for the path again (not more often than PATH_REQUEST_MI).
 */
function linkNeverProven(core: TransportCore, e: LinkEntry, nowMs: number): void {
  const destKey = keyOf(e.destinationHash);
  const last = core.pathRequestTimes.get(destKey);
  const throttled = last !== undefined && nowMs - last < PATH_REQUEST_MIN_INTERVAL_MS;
  const path = core.paths.getByKey(destKey);
  if (path === undefined) return queueRediscovery(core, e.destinationHash, null, nowMs);
  if (throttled) return;
  if (path.hops === 1 || e.takenHops === 1) {
    const mode = core.interfaces.get(e.receivedInterfaceId)?.mode;
    if (mode !== undefined && mode !== "boundary") path.state = "unresponsive";
    queueRediscovery(core, e.destinationHash, e.receivedInterfaceId, nowMs);
  }
}
