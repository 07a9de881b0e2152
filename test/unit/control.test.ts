// The control socket: requests, progress, errors, malformed input, and a stale socket file.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { ControlError, ControlServer, controlRequest } from "../../runtime/host/control.js";

function tmp(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kos-ctl-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, "control.sock");
}

test("a request gets its result, with progress lines before it", async (t) => {
  const sock = tmp(t);
  const server = new ControlServer(sock);
  server.handle("echo", async (args, progress) => {
    progress({ step: 1 });
    progress({ step: 2 });
    return { got: args["x"] };
  });
  await server.listen();
  t.after(() => server.close());
  const seen: unknown[] = [];
  const result = await controlRequest(sock, "echo", { x: 42 }, { timeoutMs: 5000, onProgress: (p) => seen.push(p) });
  assert.deepEqual(result, { got: 42 });
  assert.deepEqual(seen, [{ step: 1 }, { step: 2 }]);
  assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
});

test("unknown commands and handler errors come back as ControlError messages", async (t) => {
  const sock = tmp(t);
  const server = new ControlServer(sock);
  server.handle("fail", async () => {
    throw new ControlError("no path to that destination");
  });
  await server.listen();
  t.after(() => server.close());
  await assert.rejects(controlRequest(sock, "nope", {}, { timeoutMs: 5000 }), /unknown command "nope"/);
  await assert.rejects(controlRequest(sock, "fail", {}, { timeoutMs: 5000 }), /no path to that destination/);
});

test("a malformed line gets an error reply and the server keeps serving", async (t) => {
  const sock = tmp(t);
  const server = new ControlServer(sock);
  server.handle("ping", async () => "pong");
  await server.listen();
  t.after(() => server.close());
  const reply = await new Promise<string>((resolve) => {
    const s = net.connect(sock, () => s.write("{not json\n"));
    s.setEncoding("utf8");
    s.once("data", (d: string) => {
      s.destroy();
      resolve(d);
    });
  });
  assert.match(reply, /malformed request/);
  assert.equal(await controlRequest(sock, "ping", {}, { timeoutMs: 5000 }), "pong");
});

test("no daemon: a clear error; a stale socket file is replaced; a live one is not stolen", async (t) => {
  const sock = tmp(t);
  await assert.rejects(controlRequest(sock, "status", {}, { timeoutMs: 2000 }), /kosd is not running/);
  fs.writeFileSync(sock, "");
  const a = new ControlServer(sock);
  await a.listen();
  t.after(() => a.close());
  const b = new ControlServer(sock);
  await assert.rejects(b.listen(), /another kosd is running/);
});
