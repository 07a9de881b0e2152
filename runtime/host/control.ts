// kosd's local control socket: JSON lines over a Unix socket in the data directory. A request is
// {"id": n, "cmd": "status", "args": {...}}; the daemon answers {"id": n, "ok": true, "result": ...} or
// {"id": n, "ok": false, "error": "..."}, and long operations may send {"id": n, "progress": {...}} lines
// before their answer. Lines are capped, clients are capped, and a malformed line gets an error reply.
import * as fs from "node:fs";
import * as net from "node:net";

export const CONTROL_SOCKET_NAME = "control.sock";
const MAX_LINE_BYTES = 1 << 20;
const MAX_CLIENTS = 32;

export type Progress = (info: Record<string, unknown>) => void;
/** `signal` aborts when the client goes away, so long operations (cp --listen) can end with it. */
export type Handler = (args: Record<string, unknown>, progress: Progress, signal: AbortSignal) => Promise<unknown>;

/** An operator-facing failure of a control command: its message goes back to kosctl as is. */
export class ControlError extends Error {
  override name = "ControlError";
}

export class ControlServer {
  readonly #server: net.Server;
  readonly #handlers = new Map<string, Handler>();
  readonly #clients = new Set<net.Socket>();

  constructor(readonly path: string) {
    this.#server = net.createServer((s) => this.#accept(s));
    this.#server.maxConnections = MAX_CLIENTS;
  }

  handle(cmd: string, handler: Handler): void {
    this.#handlers.set(cmd, handler);
  }

  /** Listens, replacing a stale socket file left by a crash, but refusing to steal a live daemon's socket. */
  async listen(): Promise<void> {
    if (fs.existsSync(this.path)) {
      if (await isLive(this.path)) throw new ControlError(`another kosd is running (control socket ${this.path} answers)`);
      fs.unlinkSync(this.path);
    }
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.path, () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    fs.chmodSync(this.path, 0o600);
  }

  async close(): Promise<void> {
    for (const c of this.#clients) c.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    try {
      fs.unlinkSync(this.path);
    } catch {
      // already gone
    }
  }

  #accept(socket: net.Socket): void {
    this.#clients.add(socket);
    socket.on("close", () => this.#clients.delete(socket));
    socket.on("error", () => socket.destroy());
    let buffer = "";
    const gone = new AbortController();
    socket.on("close", () => gone.abort());
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      if (buffer.length > MAX_LINE_BYTES) {
        this.#send(socket, { id: null, ok: false, error: "request line too long" });
        socket.destroy();
        return;
      }
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim().length > 0) void this.#dispatch(socket, line, gone.signal);
      }
    });
  }

  async #dispatch(socket: net.Socket, line: string, signal: AbortSignal): Promise<void> {
    let req: { id?: unknown; cmd?: unknown; args?: unknown };
    try {
      req = JSON.parse(line) as typeof req;
    } catch {
      this.#send(socket, { id: null, ok: false, error: "malformed request (not JSON)" });
      return;
    }
    const id = typeof req.id === "number" || typeof req.id === "string" ? req.id : null;
    const handler = typeof req.cmd === "string" ? this.#handlers.get(req.cmd) : undefined;
    if (handler === undefined) {
      this.#send(socket, { id, ok: false, error: `unknown command ${JSON.stringify(req.cmd)}` });
      return;
    }
    const args = req.args !== null && typeof req.args === "object" ? (req.args as Record<string, unknown>) : {};
    try {
      const result = await handler(args, (info) => this.#send(socket, { id, progress: info }), signal);
      this.#send(socket, { id, ok: true, result });
    } catch (e) {
      const message = e instanceof ControlError ? e.message : `internal error: ${(e as Error).message ?? e}`;
      this.#send(socket, { id, ok: false, error: message });
    }
  }

  #send(socket: net.Socket, msg: unknown): void {
    if (!socket.destroyed) socket.write(JSON.stringify(msg) + "\n");
  }
}

function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    const done = (live: boolean): void => {
      s.destroy();
      resolve(live);
    };
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
    setTimeout(() => done(false), 1000).unref();
  });
}

/** kosctl's side: one request, optional progress callback, bounded by a timeout. */
export function controlRequest(
  path: string,
  cmd: string,
  args: Record<string, unknown>,
  opts: { timeoutMs: number; onProgress?: Progress },
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(path);
    let buffer = "";
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    const timer = setTimeout(() => finish(() => reject(new ControlError(`kosd did not answer "${cmd}" within ${opts.timeoutMs / 1000} s`))), opts.timeoutMs);
    socket.setEncoding("utf8");
    socket.once("connect", () => socket.write(JSON.stringify({ id: 1, cmd, args }) + "\n"));
    socket.once("error", (e: NodeJS.ErrnoException) =>
      finish(() =>
        reject(
          new ControlError(
            e.code === "ENOENT" || e.code === "ECONNREFUSED"
              ? `kosd is not running (no control socket at ${path})`
              : `cannot reach kosd at ${path}: ${e.code ?? e.message}`,
          ),
        ),
      ),
    );
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      let nl: number;
      while ((nl = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let msg: { ok?: boolean; result?: unknown; error?: string; progress?: Record<string, unknown> };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          finish(() => reject(new ControlError("kosd sent a malformed reply")));
          return;
        }
        if (msg.progress !== undefined) opts.onProgress?.(msg.progress);
        else if (msg.ok === true) finish(() => resolve(msg.result));
        else finish(() => reject(new ControlError(msg.error ?? "kosd refused the request")));
      }
    });
    socket.once("close", () => finish(() => reject(new ControlError("kosd closed the control connection"))));
  });
}
