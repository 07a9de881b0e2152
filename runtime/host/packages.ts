// What this process carries in memory, for `kosctl status`: its resident size and heap, and the npm packages
// it has loaded. kosd loads a feature's heavy dependency only when the feature is configured (MQTT.js for
// [mqtt], node-ble for ble:// radios, serialport's native binding for serial radios; see flash/bundle.mjs),
// and the package list shows whether that held on a running daemon. A test holds kosd to it
// (test/integration/bundle.test.ts).
import Module from "node:module";

/**
 * Names of the packages loaded from a node_modules folder through require (every package beside the bundle;
 * in the compiled tree, CommonJS packages only), sorted.
 */
export function loadedPackages(): string[] {
  // require.cache, which an ES module has no name for; the same object in both.
  const cache = (Module as unknown as { _cache?: Record<string, unknown> })._cache ?? {};
  const names = new Set<string>();
  for (const key of Object.keys(cache)) {
    const file = key.split("\\").join("/");
    const at = file.lastIndexOf("/node_modules/");
    if (at < 0) continue;
    const parts = file.slice(at + "/node_modules/".length).split("/");
    const name = parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1] ?? ""}` : parts[0]!;
    if (name !== "") names.add(name);
  }
  return [...names].sort();
}

export interface MemoryView {
  rssMiB: number;
  heapUsedMiB: number;
  externalMiB: number;
}

export function memoryView(): MemoryView {
  const m = process.memoryUsage();
  const mib = (n: number): number => Math.round((n / 1048576) * 10) / 10;
  return { rssMiB: mib(m.rss), heapUsedMiB: mib(m.heapUsed), externalMiB: mib(m.external) };
}
