// kosctl cp: file transfer compatible with the reference's rncp. Receiving: the SINGLE destination
// "rncp.receive" of a dedicated cp identity (data dir, file "cp_identity"), links from senders that identify
// with an allowed identity (or anyone with noAuth), one resource per file with metadata {"name": bytes}.
// Sending: a link to a remote rncp.receive, identify, the file as such a resource. Fetching: request
// "fetch_file" with the remote path; the remote answers True and sends the file as a resource.
import * as fs from "node:fs";
import * as path from "node:path";
import { equal, fromUtf8, parseHex, toHex, utf8, type Bytes } from "../core/bytes.js";
import { Identity } from "../crypto/identity.js";
import type { EngineEvent, LocalDestination } from "../engine/events.js";
import { ControlError, type ControlServer } from "./control.js";
import { readIdentityFile, writeFileAtomic } from "./datadir.js";
import type { KosNode } from "./node.js";
import { PATH_TIMEOUT_MS, ensurePath, hashArg, numberArg, waitForEvent } from "./ops.js";

const CP_IDENTITY_FILE = "cp_identity";
/** Largest file accepted or sent (resources are held in memory whole). */
export const CP_MAX_FILE_BYTES = 256 * 1024 * 1024;
const REQ_FETCH_NOT_ALLOWED = 0xf0;
/**
 * How long a fetch request waits for its answer. The reference's Link.request sends the request packet and only
 * then registers it as pending; an answer that arrives in between is dropped, and rncp -f waits forever. kosd
 * answers within milliseconds, which lands in that window when rncp's host is busy (seen live: 3 fetches in 100
 * under CPU load, one answered 2.6 ms after the request and registered at 2.95 ms; registering took up to 19.5 ms).
 */
export const FETCH_ANSWER_DELAY_MS = 50;

export function cpIdentity(node: KosNode): Identity {
  const file = path.join(node.config.dataDir, CP_IDENTITY_FILE);
  if (fs.existsSync(file)) return readIdentityFile(file);
  const id = Identity.generate(node.random);
  writeFileAtomic(file, id.privateKey);
  return id;
}

/** Saves a received file under `dir` by its basename, never over an existing file (name.1, name.2...). */
export function saveReceived(dir: string, metadata: unknown, data: Bytes, overwrite: boolean): string {
  const raw = metadata instanceof Map ? metadata.get("name") : (metadata as Record<string, unknown> | null)?.["name"];
  const name = raw instanceof Uint8Array ? path.basename(fromUtf8(raw)) : typeof raw === "string" ? path.basename(raw) : "";
  if (name === "" || name === "." || name === ".." || name.includes("\0")) throw new ControlError("received a resource without a usable file name");
  const base = path.join(dir, name);
  let target = base;
  if (!overwrite) for (let n = 1; fs.existsSync(target) && n < 10_000; n++) target = `${base}.${n}`;
  writeFileAtomic(target, data, 0o644);
  return target;
}

export function registerCp(server: ControlServer, node: KosNode): void {
  server.handle("cp-listen", async (args, progress, signal) => listen(node, args, progress, signal));
  server.handle("cp-send", async (args, progress, signal) => send(node, args, progress, signal));
  server.handle("cp-fetch", async (args, progress, signal) => fetch(node, args, progress, signal));
}

let listening: LocalDestination | null = null;

async function listen(node: KosNode, args: Record<string, unknown>, progress: (i: Record<string, unknown>) => void, signal: AbortSignal): Promise<unknown> {
  if (listening !== null) throw new ControlError("kosd is already listening for files (another kosctl cp --listen is running)");
  const saveDir = typeof args["saveDir"] === "string" ? path.resolve(args["saveDir"]) : node.config.dataDir;
  if (!fs.existsSync(saveDir) || !fs.statSync(saveDir).isDirectory()) throw new ControlError(`save directory ${saveDir} does not exist`);
  const noAuth = args["noAuth"] === true;
  const allowFetch = args["allowFetch"] === true;
  const overwrite = args["overwrite"] === true;
  const allowed = (Array.isArray(args["allowed"]) ? args["allowed"] : []).map((h) => {
    const b = typeof h === "string" ? parseHex(h) : null;
    if (b === null || b.length !== 16) throw new ControlError(`allowed identity ${String(h)} is not a 16-byte hash in hex`);
    return b;
  });
  if (!noAuth && allowed.length === 0) throw new ControlError("no allowed identities: give --allow IDENTITY_HASH or --no-auth");
  const identity = cpIdentity(node);
  const limit = numberArg(args, "limitBytes", CP_MAX_FILE_BYTES, 1, CP_MAX_FILE_BYTES);
  const dest = node.run(() => {
    const existing = node.engine.destinations().find((d) => d.spec.appName === "rncp" && d.spec.identity !== null && equal(d.spec.identity.hash, identity.hash));
    return existing ?? node.engine.registerDestination({ identity, appName: "rncp", aspects: ["receive"], proof: "none", acceptLinks: true, acceptResourcesUpToBytes: noAuth ? limit : 0 });
  });
  listening = dest;
  const isAllowed = (h: Bytes): boolean => allowed.some((a) => equal(a, h));
  const remotes = new Map<string, Bytes>();
  const off = node.onEvent((ev: EngineEvent) => {
    if (ev.kind === "link" && ev.localDestination !== null && equal(ev.localDestination, dest.hash)) {
      const linkKey = toHex(ev.linkId);
      if (ev.event.kind === "identified") {
        remotes.set(linkKey, ev.event.identityHash);
        if (isAllowed(ev.event.identityHash)) node.run(() => node.engine.acceptResources(ev.linkId, limit));
        else if (!noAuth) node.run((now) => node.engine.closeLink(ev.linkId, now));
      } else if (ev.event.kind === "request" && allowFetch) {
        answerFetch(node, ev.linkId, ev.event.requestId, ev.event.data, noAuth || isAllowed(remotes.get(linkKey) ?? new Uint8Array(0)), args);
      } else if (ev.event.kind === "closed") {
        remotes.delete(linkKey);
      }
    }
    if (ev.kind === "resource" && ev.direction === "in" && node.engine.link(ev.linkId) !== undefined) {
      const l = node.engine.links().find((x) => equal(x.link.linkId, ev.linkId));
      if (l?.local === undefined || l.local === null || !equal(l.local.hash, dest.hash)) return;
      if (ev.status === "complete" && ev.data !== undefined) {
        try {
          const file = saveReceived(saveDir, ev.metadata, ev.data, overwrite);
          progress({ event: "received", file, bytes: ev.data.length, from: toHex(remotes.get(toHex(ev.linkId)) ?? new Uint8Array(0)) });
        } catch (e) {
          progress({ event: "error", message: (e as Error).message });
        }
      } else if (ev.status === "failed") {
        progress({ event: "failed", reason: ev.reason ?? "transfer failed" });
      } else {
        progress({ event: "progress", progress: ev.progress, bytes: ev.sizeBytes });
      }
    }
  });
  node.run((now) => node.engine.announce(dest, now));
  progress({ event: "listening", destination: toHex(dest.hash), identity: toHex(identity.hash), saveDir });
  try {
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener("abort", () => resolve());
    });
  } finally {
    off();
    listening = null;
  }
  return { stopped: true };
}

/** As rncp: a path asked of a fetch jail is relative to it ("/a.bin" is <jail>/a.bin); the caller refuses "..". */
function jailed(jail: string, wanted: string): string {
  return path.resolve(`${jail}/${wanted.startsWith(jail + "/") ? wanted.slice(jail.length + 1) : wanted}`);
}

function answerFetch(node: KosNode, linkId: Bytes, requestId: Bytes, data: unknown, allowed: boolean, args: Record<string, unknown>): void {
  const jail = typeof args["fetchJail"] === "string" ? path.resolve(args["fetchJail"]) : null;
  const wanted = data instanceof Uint8Array ? fromUtf8(data) : typeof data === "string" ? data : null;
  let answer: unknown = false;
  let file: string | null = null;
  if (!allowed) answer = REQ_FETCH_NOT_ALLOWED;
  else if (wanted !== null) {
    const p = jail !== null ? jailed(jail, wanted) : path.resolve(wanted);
    if (jail !== null && !p.startsWith(jail + "/")) answer = REQ_FETCH_NOT_ALLOWED;
    else if (fs.existsSync(p) && fs.statSync(p).isFile() && fs.statSync(p).size <= CP_MAX_FILE_BYTES) {
      answer = true;
      file = p;
    }
  }
  let content: Bytes | null = null;
  if (file !== null) {
    try {
      content = new Uint8Array(fs.readFileSync(file));
    } catch {
      answer = false;
    }
  }
  node.log.log("debug", "cp fetch request", { link: toHex(linkId), request: toHex(requestId), file: wanted ?? "?", answer: String(answer) });
  setTimeout(() => {
    node.run((now) => {
      node.engine.linkRespond(linkId, requestId, answer, now);
      if (content !== null && file !== null) node.engine.sendResource(linkId, content, { name: utf8(path.basename(file)) }, now);
    });
  }, FETCH_ANSWER_DELAY_MS);
}

/**
 * Opens a link and identifies on it. When the link cannot be established over the known path (a transport
 * node restarted and forgot it, say), the path is dropped and asked for again once, as the reference
 * rediscovers paths after a failed link.
 */
async function openIdentifiedLink(node: KosNode, dest: Bytes, timeoutMs: number, signal: AbortSignal, onEstablished?: () => void): Promise<Bytes> {
  try {
    return await tryOpenIdentifiedLink(node, dest, timeoutMs, signal, onEstablished);
  } catch (e) {
    if (signal.aborted) throw e;
    node.run(() => node.engine.transport.dropPath(dest));
    return await tryOpenIdentifiedLink(node, dest, timeoutMs, signal, onEstablished);
  }
}

async function tryOpenIdentifiedLink(node: KosNode, dest: Bytes, timeoutMs: number, signal: AbortSignal, onEstablished?: () => void): Promise<Bytes> {
  await ensurePath(node, dest, timeoutMs, signal);
  const opened = node.run((now) => node.engine.openLink(dest, now));
  if (!opened.ok) throw new ControlError(opened.detail ?? "could not open a link");
  const linkId = opened.value;
  const outcome = await waitForEvent(
    node,
    (ev) => {
      if (ev.kind !== "link" || !equal(ev.linkId, linkId)) return undefined;
      if (ev.event.kind === "established") return "up" as const;
      if (ev.event.kind === "closed") return "closed" as const;
      return undefined;
    },
    timeoutMs,
    "link establishment",
    signal,
  );
  if (outcome === "closed") throw new ControlError("the link could not be established");
  onEstablished?.();
  node.run((now) => node.engine.linkIdentify(linkId, cpIdentity(node), now));
  return linkId;
}

function transfer(node: KosNode, linkId: Bytes, direction: "in" | "out", progress: (i: Record<string, unknown>) => void, signal: AbortSignal, timeoutMs: number) {
  return waitForEvent(
    node,
    (ev) => {
      if (ev.kind === "link" && equal(ev.linkId, linkId) && ev.event.kind === "closed") return { status: "failed" as const, reason: "the link closed" };
      if (ev.kind !== "resource" || !equal(ev.linkId, linkId) || ev.direction !== direction) return undefined;
      if (ev.status === "transferring") {
        progress({ event: "progress", progress: ev.progress, bytes: ev.sizeBytes });
        return undefined;
      }
      return ev.status === "complete" ? { status: "complete" as const, ev } : { status: "failed" as const, reason: ev.reason ?? "transfer failed" };
    },
    timeoutMs,
    "transfer",
    signal,
  );
}

async function send(node: KosNode, args: Record<string, unknown>, progress: (i: Record<string, unknown>) => void, signal: AbortSignal): Promise<unknown> {
  const dest = hashArg(args, "destination");
  const file = typeof args["file"] === "string" ? path.resolve(args["file"]) : "";
  let data: Bytes;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new ControlError(`${file} is not a file`);
    if (st.size > CP_MAX_FILE_BYTES) throw new ControlError(`${file} is larger than ${CP_MAX_FILE_BYTES} bytes`);
    data = new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    if (e instanceof ControlError) throw e;
    throw new ControlError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const timeoutMs = numberArg(args, "timeoutMs", PATH_TIMEOUT_MS, 100, 600_000);
  // Link request to established (before identifying), for operators and the e2e benchmark.
  const linkStarted = performance.now();
  let linkMs = 0;
  const linkId = await openIdentifiedLink(node, dest, timeoutMs, signal, () => (linkMs = performance.now() - linkStarted));
  const linkMtu = node.engine.link(linkId)?.mtu ?? null;
  const started = performance.now();
  try {
    const r = node.run((now) => node.engine.sendResource(linkId, data, { name: utf8(path.basename(file)) }, now));
    if (!r.ok) throw new ControlError(r.detail ?? "could not start the transfer");
    progress({ event: "started", bytes: data.length });
    const done = await transfer(node, linkId, "out", progress, signal, Math.max(timeoutMs, 60_000 + data.length / 10));
    if (done.status !== "complete") throw new ControlError(`transfer failed: ${done.reason}`);
    return { file, bytes: data.length, seconds: (performance.now() - started) / 1000, linkMs, linkMtu };
  } finally {
    node.run((now) => node.engine.closeLink(linkId, now));
  }
}

async function fetch(node: KosNode, args: Record<string, unknown>, progress: (i: Record<string, unknown>) => void, signal: AbortSignal): Promise<unknown> {
  const dest = hashArg(args, "destination");
  const remote = typeof args["file"] === "string" ? args["file"] : "";
  if (remote === "") throw new ControlError("give the remote file to fetch");
  const saveDir = typeof args["saveDir"] === "string" ? path.resolve(args["saveDir"]) : process.cwd();
  const timeoutMs = numberArg(args, "timeoutMs", PATH_TIMEOUT_MS, 100, 600_000);
  const linkId = await openIdentifiedLink(node, dest, timeoutMs, signal);
  try {
    node.run(() => node.engine.acceptResources(linkId, CP_MAX_FILE_BYTES));
    const incoming = transfer(node, linkId, "in", progress, signal, 600_000);
    // The path goes as a MessagePack string, as rncp sends it: rncp's listener compares it with its jail as str.
    const req = node.run((now) => node.engine.linkRequest(linkId, "fetch_file", remote, now));
    if (!req.ok) throw new ControlError(req.detail ?? "could not send the request");
    const answer = await waitForEvent(
      node,
      (ev) => (ev.kind === "link" && equal(ev.linkId, linkId) && ev.event.kind === "response" && equal(ev.event.requestId, req.value) ? { data: ev.event.data } : undefined),
      timeoutMs,
      "fetch request",
      signal,
    );
    if (answer.data === false) throw new ControlError(`remote file ${remote} not found`);
    if (answer.data === REQ_FETCH_NOT_ALLOWED) throw new ControlError("the remote does not allow fetching (or not by this identity)");
    if (answer.data !== true) throw new ControlError("the remote could not send the file");
    const done = await incoming;
    if (done.status !== "complete" || done.ev.data === undefined) throw new ControlError(`transfer failed: ${done.status === "failed" ? done.reason : "no data"}`);
    const saved = saveReceived(saveDir, done.ev.metadata, done.ev.data, args["overwrite"] === true);
    return { file: saved, bytes: done.ev.data.length };
  } finally {
    node.run((now) => node.engine.closeLink(linkId, now));
  }
}
