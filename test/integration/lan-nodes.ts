// kosd nodes on a LAN of network namespaces (netns-lan.ts), each with the config a test gives, and the checks
// the LAN tests share: status, path table, probes, cp. kosctl runs outside the namespaces (sockets are files).
import type { TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { toHex } from "../../runtime/core/bytes.js";
import { destinationHashOf } from "../../runtime/wire/destination.js";
import { eventually, kosctl, kosctlUntil, makeNode, startNode, stopNode, tempRoot, type NodeHandle } from "./mesh-harness.js";
import { Lan, type LanOptions } from "./netns-lan.js";

/** Should the test process end without its after hooks (killed by a timeout), no kosd outlives it. */
const running = new Set<NodeHandle>();
process.on("exit", () => {
  for (const n of running) n.child?.kill("SIGKILL");
});

export interface Row {
  name: string;
  type: string;
  state: string;
  parent: string | null;
  rxFrames: number;
  txFrames: number;
}

export async function status(n: NodeHandle): Promise<{ interfaces: Row[]; links: { status: string }[] } | null> {
  const s = await kosctl(n, ["status", "--json"], 15_000);
  return s.code === 0 ? JSON.parse(s.stdout) : null;
}

/** Link-local addresses of the AutoInterface peers a node has, up. */
export async function peers(n: NodeHandle): Promise<string[]> {
  const s = await status(n);
  return (s?.interfaces ?? []).filter((i) => i.parent !== null && i.state === "up").map((i) => /\/([0-9a-f:]+)\]$/.exec(i.name)?.[1] ?? i.name).sort();
}

export async function topState(n: NodeHandle): Promise<string | undefined> {
  return (await status(n))?.interfaces.find((i) => i.parent === null)?.state;
}

export async function pathTable(n: NodeHandle): Promise<{ destination: string; hops: number; interface: string }[]> {
  const r = await kosctl(n, ["path", "--table", "--json"], 15_000);
  return r.code === 0 ? JSON.parse(r.stdout).paths : [];
}

export const probeDest = (n: NodeHandle): string => toHex(destinationHashOf("rnstransport.probe", n.identity().hash));

export async function probeOnce(from: NodeHandle, to: NodeHandle, timeoutS = 10): Promise<{ ok: boolean; text: string }> {
  const r = await kosctl(from, ["probe", probeDest(to), "--timeout", String(timeoutS)], (timeoutS + 40) * 1000);
  return { ok: r.code === 0 && /Valid reply from/.test(r.stdout), text: r.stdout + r.stderr };
}

/**
 * A LAN of `count` namespaces with kosd started in each (node i gets `config(i, lan)`), or null when the test
 * was skipped. Everything is stopped and removed in t.after, also when the test fails.
 */
export async function startOnLan(t: TestContext, count: number, config: (i: number, lan: Lan) => string, options: LanOptions = {}): Promise<{ lan: Lan; nodes: NodeHandle[]; root: string } | null> {
  const nodes: NodeHandle[] = [];
  // After hooks run in the order they are registered: stop kosd first, then remove its files and the LAN.
  t.after(async () => {
    await Promise.all(nodes.map((n) => stopNode(n)));
    for (const n of nodes) running.delete(n);
  });
  const root = tempRoot(t);
  const lan = await Lan.create(t, count, options);
  if (lan === null) return null;
  lan.nodes.forEach((ln, i) => {
    const n = makeNode(root, String.fromCharCode(97 + i), config(i, lan));
    n.netns = ln.ns;
    nodes.push(n);
    running.add(n);
  });
  for (const n of nodes) await startNode(n);
  return { lan, nodes, root };
}

export function log(n: NodeHandle): string {
  return `\n--- ${n.name} ---\n${n.output.slice(-3000)}`;
}

export async function expectPeers(lan: Lan, nodes: NodeHandle[], timeoutMs: number): Promise<void> {
  for (const [i, n] of nodes.entries()) {
    const want = lan.nodes.filter((_, j) => j !== i).map((x) => x.linkLocal).sort();
    let got: string[] = [];
    const ok = await eventually(async () => JSON.stringify((got = await peers(n))) === JSON.stringify(want), timeoutMs, 500);
    assert.ok(ok, `${n.name} has peers ${JSON.stringify(got)}, wanted ${JSON.stringify(want)}${log(n)}`);
  }
}

/** Every node learns every other node's probe destination, one hop away, from announces alone. */
export async function expectAnnouncedPaths(nodes: NodeHandle[], timeoutMs: number): Promise<void> {
  for (const n of nodes) {
    const want = nodes.filter((o) => o !== n).map(probeDest).sort();
    let table: { destination: string; hops: number }[] = [];
    const ok = await eventually(async () => {
      table = await pathTable(n);
      return want.every((d) => table.some((p) => p.destination === d && p.hops === 1));
    }, timeoutMs, 500);
    assert.ok(ok, `${n.name}'s path table ${JSON.stringify(table)} lacks ${JSON.stringify(want)}${log(n)}`);
    assert.ok(!table.some((p) => p.destination === probeDest(n)), `${n.name} has a path to itself`);
  }
}

export async function expectProbe(from: NodeHandle, to: NodeHandle): Promise<void> {
  const r = await probeOnce(from, to);
  assert.ok(r.ok, `probe ${from.name} -> ${to.name}: ${r.text}${log(from)}${log(to)}`);
  assert.match(r.text, /over 1 hop\b/);
}

export async function copy(from: NodeHandle, dest: string, file: string, recv: string, timeoutS = 120): Promise<void> {
  const sent = await kosctl(from, ["cp", file, dest, "--json", "--timeout", "20"], timeoutS * 1000);
  assert.equal(sent.code, 0, `cp from ${from.name}: ${sent.stdout}${sent.stderr}${log(from)}`);
  const got = path.join(recv, path.basename(file));
  assert.ok(await eventually(async () => fs.existsSync(got) && fs.statSync(got).size === fs.statSync(file).size, 10_000), `${got} never arrived`);
  assert.ok(fs.readFileSync(got).equals(fs.readFileSync(file)), `${got} differs from what was sent`);
}

export async function listen(t: TestContext, n: NodeHandle, root: string): Promise<{ dest: string; recv: string; output: () => string }> {
  const recv = path.join(root, `recv-${n.name}`);
  fs.mkdirSync(recv);
  const listener = await kosctlUntil(n, ["cp", "--listen", "--no-auth", "--save", recv], /listening on <([0-9a-f]{32})>/);
  t.after(() => void listener.child.kill("SIGTERM"));
  return { dest: listener.line[1]!, recv, output: listener.output };
}
