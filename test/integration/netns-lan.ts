// One Ethernet segment made of network namespaces, for integration tests that run kosd processes on it: a
// bridge namespace holds a bridge device (multicast snooping off, so IPv6 multicast reaches every port as on a
// plain switch) and each node namespace has an `eth0` whose veth peer is a port of that bridge. eth0 keeps
// the kernel's own IPv6 link-local address (EUI-64 of a fixed MAC address, so it is known in advance, and
// with duplicate address detection as on a real LAN) and optionally an IPv4 address in 10.N.0.0/24 with a
// default route out of eth0 (so 255.255.255.255 can be sent to, as on a LAN with a router).
//
// Everything is removed by `destroy()` (registered with t.after, and again at process exit should the test
// process be torn down). Where namespaces cannot be made (not Linux, no iproute2, not root) `create` skips
// the test with the reason printed and returns null: the test must never fail for that.
import { spawnSync } from "node:child_process";
import type { TestContext } from "node:test";

export interface LanNode {
  /** The node's network namespace. */
  ns: string;
  /** Its only network card. */
  dev: "eth0";
  mac: string;
  /** The kernel's IPv6 link-local address of eth0 (canonical text, no zone). */
  linkLocal: string;
  /** IPv4 address of eth0 (without prefix length), when asked for. */
  ipv4: string | null;
}

export interface LanOptions {
  /** Also give every node an IPv4 address in one /24 and a default route out of eth0 (for UDP broadcast). */
  ipv4?: boolean;
}

/** Runs `ip ARGS`; null on success, otherwise what went wrong. */
export function ip(args: string[]): string | null {
  const r = spawnSync("ip", args, { encoding: "utf8", timeout: 10_000 });
  if (r.error) return `ip ${args.join(" ")}: ${r.error.message}`;
  return r.status === 0 ? null : `ip ${args.join(" ")}: ${(r.stderr || r.stdout).trim()}`;
}

function ipOut(args: string[]): string {
  const r = spawnSync("ip", args, { encoding: "utf8", timeout: 10_000 });
  return r.status === 0 ? r.stdout : "";
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let made = 0;
const live = new Set<Lan>();
process.on("exit", () => {
  for (const lan of live) lan.destroy();
});

export class Lan {
  readonly bridgeNs: string;
  readonly nodes: LanNode[] = [];
  readonly subnet: number;

  private constructor(count: number, ipv4: boolean) {
    const id = `${process.pid % 100_000}-${made++}`;
    this.bridgeNs = `kos-lan-${id}-br`;
    // A /24 per Lan: tests in other processes use other namespaces, so the numbers may repeat safely.
    this.subnet = 10 + ((process.pid + made) % 200);
    for (let i = 0; i < count; i++) {
      const mac = `02:6b:6f:${(made & 0xff).toString(16).padStart(2, "0")}:00:${(i + 1).toString(16).padStart(2, "0")}`;
      this.nodes.push({ ns: `kos-lan-${id}-n${i}`, dev: "eth0", mac, linkLocal: eui64LinkLocal(mac), ipv4: ipv4 ? `10.${this.subnet}.0.${i + 1}` : null });
    }
  }

  /** The IPv4 broadcast address of the segment (with `ipv4`). */
  get broadcast(): string {
    return `10.${this.subnet}.0.255`;
  }

  /**
   * `count` node namespaces on one bridge, every eth0 up with its link-local address usable (no longer
   * tentative); null when the test was skipped because namespaces cannot be made here.
   */
  static async create(t: TestContext, count: number, options: LanOptions = {}): Promise<Lan | null> {
    if (process.platform !== "linux") return skip(t, "network namespaces need Linux");
    const probe = spawnSync("ip", ["-V"], { encoding: "utf8" });
    if (probe.error || probe.status !== 0) return skip(t, "iproute2 is not installed (apt-get install -y iproute2)");
    if (typeof process.getuid === "function" && process.getuid() !== 0) return skip(t, "creating network namespaces needs root");
    const lan = new Lan(count, options.ipv4 === true);
    live.add(lan);
    t.after(() => lan.destroy());
    const failure = lan.build();
    if (failure !== null) {
      lan.destroy();
      return skip(t, `cannot create network namespaces: ${failure}`);
    }
    const tentative = await lan.settle(15_000);
    if (tentative !== null) throw new Error(`link-local addresses never became usable: ${tentative}`);
    return lan;
  }

  /** Takes a node's eth0 down (as `ip link set eth0 down`: the kernel drops its addresses). */
  linkDown(i: number): void {
    const e = ip(["-n", this.nodes[i]!.ns, "link", "set", "eth0", "down"]);
    if (e !== null) throw new Error(e);
  }

  /** Brings a node's eth0 back up: the kernel makes its link-local address again (tentative at first). */
  linkUp(i: number): void {
    const n = this.nodes[i]!;
    const e = ip(["-n", n.ns, "link", "set", "eth0", "up"]) ?? (n.ipv4 !== null ? this.addIpv4(n) : null);
    if (e !== null) throw new Error(e);
  }

  /** Removes every namespace (their devices go with them); safe to call more than once. */
  destroy(): void {
    if (!live.delete(this)) return;
    for (const n of this.nodes) ip(["netns", "del", n.ns]);
    ip(["netns", "del", this.bridgeNs]);
  }

  private build(): string | null {
    const steps: string[][] = [
      ["netns", "add", this.bridgeNs],
      ["-n", this.bridgeNs, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"],
      ["-n", this.bridgeNs, "link", "set", "br0", "up"],
    ];
    this.nodes.forEach((n, i) => {
      steps.push(
        ["netns", "add", n.ns],
        ["-n", n.ns, "link", "set", "lo", "up"],
        ["link", "add", "eth0", "netns", n.ns, "address", n.mac, "type", "veth", "peer", "name", `p${i}`, "netns", this.bridgeNs],
        ["-n", this.bridgeNs, "link", "set", `p${i}`, "master", "br0"],
        ["-n", this.bridgeNs, "link", "set", `p${i}`, "up"],
        ["-n", n.ns, "link", "set", "eth0", "up"],
      );
    });
    for (const step of steps) {
      const e = ip(step);
      if (e !== null) return e;
    }
    for (const n of this.nodes) {
      const e = n.ipv4 !== null ? this.addIpv4(n) : null;
      if (e !== null) return e;
    }
    return null;
  }

  private addIpv4(n: LanNode): string | null {
    return ip(["-n", n.ns, "addr", "replace", `${n.ipv4}/24`, "broadcast", this.broadcast, "dev", "eth0"]) ?? ip(["-n", n.ns, "route", "replace", "default", "dev", "eth0"]);
  }

  /** Waits until every eth0 has its link-local address and none is tentative; null, or what is missing. */
  async settle(timeoutMs: number): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pending = this.nodes.filter((n) => !usable(ipOut(["-n", n.ns, "-6", "addr", "show", "dev", "eth0"]), n.linkLocal));
      if (pending.length === 0) return null;
      if (Date.now() > deadline) return pending.map((n) => `${n.ns}: ${ipOut(["-n", n.ns, "-6", "addr", "show", "dev", "eth0"]).trim() || "no address"}`).join("; ");
      await sleep(100);
    }
  }
}

function usable(addrShow: string, linkLocal: string): boolean {
  const line = addrShow.split("\n").find((l) => l.includes(`inet6 ${linkLocal}/64`));
  return line !== undefined && !/tentative|dadfailed/.test(line);
}

/** fe80::/64 with the modified EUI-64 interface id of a MAC address, as the kernel forms it. */
export function eui64LinkLocal(mac: string): string {
  const b = mac.split(":").map((x) => parseInt(x, 16));
  const id = [b[0]! ^ 0x02, b[1]!, b[2]!, 0xff, 0xfe, b[3]!, b[4]!, b[5]!];
  const groups = [0, 2, 4, 6].map((k) => ((id[k]! << 8) | id[k + 1]!).toString(16));
  // Canonical text: drop leading zero groups of the interface id (fe80:: already compresses the rest).
  while (groups.length > 1 && groups[0] === "0") groups.shift();
  return `fe80::${groups.join(":")}`;
}

function skip(t: TestContext, reason: string): null {
  process.stderr.write(`# skipped: ${reason}\n`);
  t.skip(reason);
  return null;
}
