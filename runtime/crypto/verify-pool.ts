// Ed25519 verification on worker threads, batched. OpenSSL verifies at the same speed for us and for the
// reference, so the way to validate announce floods faster is to use every core: calls made in one turn of
// the event loop travel to a worker as one batch (one message each way, whatever the batch size), and
// results come back as one byte per signature. Pure cores never use this; the host's intake does.
import { Worker } from "node:worker_threads";
import * as os from "node:os";
import type { Bytes } from "../core/bytes.js";

// The worker is self-contained source, so the same code runs from compiled files and from the bundle.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const crypto = require("node:crypto");
const cache = new Map();
function keyOf(raw) {
  const k = Buffer.from(raw).toString("base64url");
  let key = cache.get(k);
  if (key === undefined) {
    try { key = crypto.createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: k }, format: "jwk" }); }
    catch { key = null; }
    if (cache.size >= 4096) cache.delete(cache.keys().next().value);
    cache.set(k, key);
  }
  return key;
}
parentPort.on("message", ({ id, buffer, count }) => {
  const view = new Uint8Array(buffer);
  const dv = new DataView(buffer);
  const out = new Uint8Array(count);
  let o = 0;
  for (let i = 0; i < count; i++) {
    const len = dv.getUint32(o); o += 4;
    const pub = view.subarray(o, o + 32); o += 32;
    const sig = view.subarray(o, o + 64); o += 64;
    const msg = view.subarray(o, o + len); o += len;
    const key = keyOf(pub);
    let ok = false;
    if (key !== null) { try { ok = crypto.verify(null, msg, key, sig); } catch { ok = false; } }
    out[i] = ok ? 1 : 0;
  }
  parentPort.postMessage({ id, out }, [out.buffer]);
});
`;

interface Pending {
  publicKey: Bytes;
  signature: Bytes;
  message: Bytes;
  resolve: (valid: boolean) => void;
}

export class VerifyPool {
  readonly size: number;
  readonly #workers: Worker[] = [];
  readonly #inFlight = new Map<number, Pending[]>();
  #queue: Pending[] = [];
  #flushScheduled = false;
  #nextId = 1;
  #nextWorker = 0;
  #closed = false;
  /** Largest batch sent to a worker at once. */
  static readonly MAX_BATCH = 256;

  constructor(size = Math.max(1, Math.min(4, os.availableParallelism?.() ?? os.cpus().length))) {
    this.size = size;
    for (let i = 0; i < size; i++) {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.unref();
      w.on("message", (m: { id: number; out: Uint8Array }) => this.#settle(m.id, m.out));
      w.on("error", () => this.#failAll());
      this.#workers.push(w);
    }
  }

  /** Resolves true when `signature` by the Ed25519 key `publicKey` (32 bytes) over `message` is valid. */
  verify(publicKey: Bytes, signature: Bytes, message: Bytes): Promise<boolean> {
    if (this.#closed) return Promise.reject(new Error("verify pool is closed"));
    if (publicKey.length !== 32 || signature.length !== 64) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.#queue.push({ publicKey, signature, message, resolve });
      if (this.#queue.length >= VerifyPool.MAX_BATCH * this.size) this.#flush();
      else if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#failAll();
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }

  #flush(): void {
    this.#flushScheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    // Spread the queue over the workers in batches of at most MAX_BATCH.
    const per = Math.min(VerifyPool.MAX_BATCH, Math.ceil(queue.length / this.size));
    for (let start = 0; start < queue.length; start += per) this.#send(queue.slice(start, start + per));
  }

  #send(batch: Pending[]): void {
    let bytes = 0;
    for (const p of batch) bytes += 4 + 32 + 64 + p.message.length;
    const buffer = new ArrayBuffer(bytes);
    const view = new Uint8Array(buffer);
    const dv = new DataView(buffer);
    let o = 0;
    for (const p of batch) {
      dv.setUint32(o, p.message.length);
      o += 4;
      view.set(p.publicKey, o);
      o += 32;
      view.set(p.signature, o);
      o += 64;
      view.set(p.message, o);
      o += p.message.length;
    }
    const id = this.#nextId++;
    this.#inFlight.set(id, batch);
    const worker = this.#workers[this.#nextWorker++ % this.#workers.length]!;
    worker.ref();
    worker.postMessage({ id, buffer, count: batch.length }, [buffer]);
  }

  #settle(id: number, out: Uint8Array): void {
    const batch = this.#inFlight.get(id);
    if (batch === undefined) return;
    this.#inFlight.delete(id);
    batch.forEach((p, i) => p.resolve(out[i] === 1));
    if (this.#inFlight.size === 0) for (const w of this.#workers) w.unref();
  }

  /** A worker crash must not leave callers waiting forever: everything in flight resolves as invalid. */
  #failAll(): void {
    for (const batch of this.#inFlight.values()) for (const p of batch) p.resolve(false);
    this.#inFlight.clear();
    for (const p of this.#queue) p.resolve(false);
    this.#queue = [];
  }
}
