// kosd's control commands: status, paths, probes and announces, answered from the running node.
import { equal, parseHex, toHex, type Bytes } from "../core/bytes.js";
import { nameHashOf } from "../wire/destination.js";
import type { EngineEvent } from "../engine/events.js";
import { ControlError, type ControlServer } from "./control.js";
import type { KosNode } from "./node.js";
import { VERSION } from "./version.js";
import { loadedPackages, memoryView } from "./packages.js";

export const PATH_TIMEOUT_MS = 15_000;

export function hashArg(args: Record<string, unknown>, name: string): Bytes {
  const v = args[name];
  const b = typeof v === "string" ? parseHex(v.replace(/[<>:\s]/g, "")) : null;
  if (b === null || b.length !== 16) throw new ControlError(`${name} must be a 16-byte destination hash in hex (32 digits)`);
  return b;
}

export function numberArg(args: Record<string, unknown>, name: string, dflt: number, min: number, max: number): number {
  const v = args[name];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) throw new ControlError(`${name} must be a number from ${min} to ${max}`);
  return v;
}

/** Resolves with the first event `pick` maps to a value, or rejects after `timeoutMs` / on abort. */
export function waitForEvent<T>(node: KosNode, pick: (ev: EngineEvent) => T | undefined, timeoutMs: number, what: string, signal?: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    const done = (fn: () => void): void => {
      clearTimeout(timer);
      off();
      signal?.removeEventListener("abort", onAbort);
      fn();
    };
    const off = node.onEvent((ev) => {
      const v = pick(ev);
      if (v !== undefined) done(() => resolve(v));
    });
    const timer = setTimeout(() => done(() => reject(new ControlError(`${what} timed out after ${Math.round(timeoutMs / 1000)} s`))), timeoutMs);
    const onAbort = (): void => done(() => reject(new ControlError(`${what} cancelled`)));
    signal?.addEventListener("abort", onAbort);
  });
}

/** Makes sure a path to `dest` is known (asking the network if needed) and an identity was announced for it. */
export async function ensurePath(node: KosNode, dest: Bytes, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const ready = (): boolean => node.engine.transport.hasPath(dest) && node.engine.known.recall(dest) !== null;
  if (ready()) return;
  const waiting = waitForEvent(
    node,
    (ev) => ((ev.kind === "path" || ev.kind === "announce") && equal(ev.destinationHash, dest) && ready() ? true : undefined),
    timeoutMs,
    `path request for <${toHex(dest)}>`,
    signal,
  );
  node.run((now) => node.engine.requestPath(dest, now));
  await waiting;
}

export function registerOps(server: ControlServer, node: KosNode): void {
  server.handle("status", async () => status(node));

  server.handle("path", async (args, _progress, signal) => {
    if (args["table"] === true) return { paths: pathRows(node) };
    const dest = hashArg(args, "destination");
    if (args["drop"] === true) return { dropped: node.engine.transport.dropPath(dest) };
    await ensurePath(node, dest, numberArg(args, "timeoutMs", PATH_TIMEOUT_MS, 100, 600_000), signal);
    return pathRows(node).find((p) => p.destination === toHex(dest));
  });

  server.handle("probe", async (args, progress, signal) => {
    const dest = hashArg(args, "destination");
    const fullName = typeof args["fullName"] === "string" ? args["fullName"] : "rnstransport.probe";
    const size = numberArg(args, "size", 16, 1, 383);
    const count = numberArg(args, "count", 1, 1, 1000);
    const timeoutMs = numberArg(args, "timeoutMs", 12_000, 100, 600_000);
    const waitMs = numberArg(args, "waitMs", 0, 0, 60_000);
    await ensurePath(node, dest, timeoutMs, signal);
    const known = node.engine.known.recall(dest)!;
    let expected: Bytes;
    try {
      expected = nameHashOf(fullName);
    } catch (e) {
      throw new ControlError(`bad destination name "${fullName}": ${(e as Error).message}`);
    }
    if (!equal(known.nameHash, expected)) throw new ControlError(`<${toHex(dest)}> is not a ${fullName} destination`);
    const results: Array<{ seq: number; status: string; rttMs: number | null; hops: number | null }> = [];
    for (let seq = 1; seq <= count; seq++) {
      if (seq > 1 && waitMs > 0) await new Promise((r) => setTimeout(r, waitMs));
      const sent = node.run((now) => node.engine.sendPacket(dest, node.random.bytes(size), now, { wantProof: true }));
      if (!sent.ok) throw new ControlError(sent.detail ?? "probe could not be sent");
      const id = sent.value.receiptId!;
      // As rnprobe: a timeout given bounds the wait for each reply; without one the engine's receipt deadline does.
      const replyWaitMs = args["timeoutMs"] !== undefined ? timeoutMs : timeoutMs + 30_000;
      const r = await waitForEvent(node, (ev) => (ev.kind === "receipt" && ev.receiptId === id ? ev : undefined), replyWaitMs, "probe", signal).catch((e: unknown) => {
        if (signal?.aborted === true || args["timeoutMs"] === undefined) throw e;
        return { status: "timeout" as const, rttMs: 0 };
      });
      const row = { seq, status: r.status, rttMs: r.status === "delivered" ? r.rttMs : null, hops: node.engine.transport.hopsTo(dest) };
      results.push(row);
      progress(row);
    }
    return { destination: toHex(dest), size, sent: count, replies: results.filter((r) => r.status === "delivered").length, results };
  });

  server.handle("announce", async () => {
    const announced: string[] = [];
    node.run((now) => {
      for (const d of node.engine.destinations()) {
        if (d.spec.identity !== null && node.engine.announce(d, now)) announced.push(toHex(d.hash));
      }
    });
    return { announced };
  });
}

function pathRows(node: KosNode): Array<Record<string, unknown> & { destination: string }> {
  const names = new Map(node.interfaces.rows().map((r) => [r.id, r.name]));
  const now = node.clock.nowMs();
  return node.engine.transport.paths().map((p) => ({
    destination: toHex(p.destinationHash),
    hops: p.hops,
    nextHop: toHex(p.nextHop),
    interface: names.get(p.interfaceId) ?? String(p.interfaceId),
    expiresInS: Math.max(0, Math.round((p.expiresMs - now) / 1000)),
  }));
}

function status(node: KosNode): Record<string, unknown> {
  const stats = node.engine.transport.stats;
  const now = node.clock.nowMs();
  return {
    version: VERSION,
    identity: toHex(node.identity.hash),
    transportEnabled: node.config.enableTransport,
    uptimeS: Math.round((now - node.startedAtMs) / 1000),
    interfaces: node.interfaces.rows().map((r) => {
      const t = r.id !== null ? stats.interfaces[r.id] : undefined;
      return {
        ...r,
        rxPackets: t?.rxPackets ?? 0,
        txPackets: t?.txPackets ?? 0,
        drops: { ...r.drops, ...(t?.drops ?? {}) },
      };
    }),
    destinations: node.engine.destinations().map((d) => ({ hash: toHex(d.hash) })),
    links: node.engine.links().map((l) => ({
      id: toHex(l.link.linkId),
      status: l.link.status,
      initiator: l.link.initiator,
      mtu: l.link.mtu,
      rttMs: Math.round(l.link.rttMs),
    })),
    totals: stats.totals,
    tables: stats.tables,
    knownDestinations: node.engine.known.size,
    memory: memoryView(),
    packages: loadedPackages(),
  };
}
