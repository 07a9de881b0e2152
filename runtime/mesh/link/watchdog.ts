// A link's timers (RNS 1.4.2, Link.__watchdog_job, RequestReceipt and PacketReceipt timeouts), driven by tick.
// Pending and handshake links close ("timeout", no packet) when establishment takes too long; active links
// keep alive or go stale (liveness.ts); stale links send LINKCLOSE and close. Requests and receipts that
// outlive their timeouts are reported. The reference polls every few seconds; here every deadline is exact.
import { Context, PacketType } from "../../wire/packet.js";
import { closeLink, emit, sendOwn, type LinkState } from "./state.js";
import { staleCloseDelayMs } from "./timing.js";

function staleCloseAtMs(s: LinkState): number {
  return (s.staleSinceMs ?? s.nowMs) + staleCloseDelayMs(s.link.rttMs);
}

export function tickLink(s: LinkState, nowMs: number): void {
  const link = s.link;
  if (link.status === "pending" || link.status === "handshake") {
    if (nowMs >= s.requestedAtMs + s.establishmentTimeoutMs) closeLink(s, "timeout");
  } else if (link.status === "active") {
    if (nowMs >= s.live.keepaliveDueMs()) sendOwn(s, PacketType.DATA, Context.KEEPALIVE, Uint8Array.of(0xff), nowMs);
    if (nowMs >= s.live.staleDueMs()) {
      link.status = "stale";
      s.staleSinceMs = nowMs;
    }
  } else if (link.status === "stale" && nowMs >= staleCloseAtMs(s)) {
    sendOwn(s, PacketType.DATA, Context.LINKCLOSE, link.linkId, nowMs);
    closeLink(s, "timeout");
  }
  if (link.status === "closed") return;
  for (const e of s.requests.expire(nowMs)) emit(s, { kind: "request-failed", requestId: e.key, reason: "timeout" });
  for (const e of s.receipts.expire(nowMs)) emit(s, { kind: "receipt-timeout", packetHash: e.key });
}

export function linkDeadlineMs(s: LinkState): number {
  let next: number;
  switch (s.link.status) {
    case "closed":
      return Infinity;
    case "pending":
    case "handshake":
      next = s.requestedAtMs + s.establishmentTimeoutMs;
      break;
    case "active":
      next = s.live.nextDeadlineMs();
      break;
    case "stale":
      next = staleCloseAtMs(s);
      break;
  }
  return Math.min(next, s.requests.nextDeadlineMs(), s.receipts.nextDeadlineMs());
}
