// The pure parts of AutoInterface peering (RNS 1.4.2 RNS/Interfaces/AutoInterface.py): the multicast discovery
// address derived from the group id, the discovery token, IPv6 address text, NIC selection and frame dedup.
import { createHash } from "node:crypto";
import type { NetworkInterfaceInfo } from "node:os";
import { equal, toHex, utf8 } from "../../runtime/core/bytes.js";

/** RNS 1.4.2 AutoInterface constants (times in the reference are seconds). */
export const AUTO_DEFAULTS = {
  groupId: "reticulum",
  discoveryPort: 29716,
  dataPort: 42671,
  /** HW_MTU, fixed (FIXED_MTU): no autoconfiguration from the bitrate. */
  hwMtu: 1196,
  bitrateBps: 10_000_000,
  ifacSize: 16,
  /** PEERING_TIMEOUT: a peer not heard from (discovery or data) for this long is removed. */
  peeringTimeoutMs: 22_000,
  /** ANNOUNCE_INTERVAL: multicast discovery packet on every NIC. */
  announceIntervalMs: 1_600,
  /** PEER_JOB_INTERVAL: timeouts, reverse peering, carrier and address checks. */
  peerJobIntervalMs: 4_000,
  /** MCAST_ECHO_TIMEOUT: no echo of our own discovery packet for this long means the carrier is lost. */
  multicastEchoTimeoutMs: 6_500,
  /** announce interval x 3.25: unicast "reverse" discovery packet to each peer. */
  reversePeeringIntervalMs: 5_200,
  /** announce interval x 1.2 (final_init): discovery packets are ignored for this long after start. */
  peeringWaitMs: 1_920,
  /** MULTI_IF_DEQUE_LEN and MULTI_IF_DEQUE_TTL: a frame seen again within the TTL (on any NIC) is dropped. */
  dedupEntries: 48,
  dedupTtlMs: 750,
  /** ALL_IGNORE_IFS. */
  ignoredDevices: ["lo0"] as readonly string[],
} as const;

/** The token is a full SHA-256 (Identity.HASHLENGTH // 8 bytes); receivers compare the first 32 bytes only. */
export const DISCOVERY_TOKEN_LENGTH = 32;

export type DiscoveryScope = "link" | "admin" | "site" | "organisation" | "global";
export type MulticastAddressType = "temporary" | "permanent";

const SCOPE_NIBBLE: Record<DiscoveryScope, string> = { link: "2", admin: "4", site: "5", organisation: "8", global: "e" };
const TYPE_NIBBLE: Record<MulticastAddressType, string> = { permanent: "0", temporary: "1" };

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

export function groupIdBytes(groupId: string | Uint8Array): Uint8Array {
  return typeof groupId === "string" ? utf8(groupId) : groupId;
}

/**
 * ff<type><scope>:0:g: ... : the group hash's bytes 2..13 as six 16-bit groups; the first group after the
 * prefix is always 0. The text keeps the reference's spelling (each group in hex without leading zeros,
 * at least two digits); the bytes are what the group means on the wire.
 */
export function multicastDiscoveryAddress(
  groupId: string | Uint8Array,
  scope: DiscoveryScope = "link",
  type: MulticastAddressType = "temporary",
): { text: string; bytes: Uint8Array } {
  if (!(scope in SCOPE_NIBBLE)) throw new RangeError(`discovery scope: ${Object.keys(SCOPE_NIBBLE).join(", ")}`);
  if (!(type in TYPE_NIBBLE)) throw new RangeError("multicast address type: temporary or permanent");
  const g = sha256(groupIdBytes(groupId));
  const groups = ["0"];
  for (let i = 2; i <= 12; i += 2) groups.push(((g[i]! << 8) | g[i + 1]!).toString(16).padStart(2, "0"));
  const text = `ff${TYPE_NIBBLE[type]}${SCOPE_NIBBLE[scope]}:${groups.join(":")}`;
  return { text, bytes: parseIpv6(text)! };
}

/** SHA-256 of the group id followed by the sender's link-local address as canonical text. */
export function discoveryToken(groupId: string | Uint8Array, linkLocal: string): Uint8Array {
  const g = groupIdBytes(groupId);
  const a = utf8(linkLocal);
  const input = new Uint8Array(g.length + a.length);
  input.set(g);
  input.set(a, g.length);
  return sha256(input);
}

/** Does a discovery datagram from `source` (canonical text) carry the right token? Extra bytes are ignored. */
export function validDiscovery(groupId: string | Uint8Array, source: string, datagram: Uint8Array): boolean {
  if (datagram.length < DISCOVERY_TOKEN_LENGTH) return false;
  return equal(datagram.subarray(0, DISCOVERY_TOKEN_LENGTH), discoveryToken(groupId, source));
}

/** Drops a "%zone" suffix and a zone index embedded in the second group (fe80:4::1 on the BSDs). */
export function descope(address: string): string {
  const bare = address.split("%")[0]!;
  return bare.replace(/^fe80:[0-9a-f]*::/i, "fe80::");
}

/** 16 bytes from IPv6 text (with "::" and an optional dotted IPv4 tail); null when it is not IPv6. */
export function parseIpv6(text: string): Uint8Array | null {
  let s = text.split("%")[0]!.toLowerCase();
  const tail: number[] = [];
  const dotted = /^(.*:)(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (dotted !== null) {
    const octets = dotted.slice(2).map(Number);
    if (octets.some((o) => o > 255)) return null;
    tail.push((octets[0]! << 8) | octets[1]!, (octets[2]! << 8) | octets[3]!);
    s = dotted[1]!.endsWith("::") ? dotted[1]! : dotted[1]!.slice(0, -1);
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parse = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    for (const h of part.split(":")) {
      if (!/^[0-9a-f]{1,4}$/.test(h)) return null;
      out.push(parseInt(h, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (head === null || rest === null) return null;
  const given = head.length + rest.length + tail.length;
  if (halves.length === 2 ? given > 7 : given !== 8) return null;
  const groups = [...head, ...new Array<number>(8 - given).fill(0), ...rest, ...tail];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/**
 * RFC 5952 text, as the reference's netinfo (Python's ipaddress) and the kernel's inet_ntop write it: lower
 * case, no leading zeros, the first longest run of two or more zero groups as "::".
 */
export function formatIpv6(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError("an IPv6 address is 16 bytes");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** The text a peer's token is computed over: descoped and canonical; null for text that is not IPv6. */
export function canonicalLinkLocal(address: string): string | null {
  const bytes = parseIpv6(descope(address));
  return bytes === null ? null : formatIpv6(bytes);
}

export interface NicSelection {
  /** The reference's `devices`: when not empty, only these NICs. */
  devices?: readonly string[];
  /** The reference's `ignored_devices`. */
  ignoredDevices?: readonly string[];
}

export interface AdoptableNic {
  ifname: string;
  /** Canonical link-local address text (no zone). */
  linkLocal: string;
}

/**
 * NICs AutoInterface uses: allowed and not ignored, with an IPv6 link-local (fe80:) address; like the
 * reference, the last such address of a NIC is the one it adopts.
 */
export function selectNics(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>, selection: NicSelection = {}): AdoptableNic[] {
  const allowed = selection.devices ?? [];
  const ignored = new Set([...(selection.ignoredDevices ?? []), ...AUTO_DEFAULTS.ignoredDevices]);
  const out: AdoptableNic[] = [];
  for (const [ifname, addresses] of Object.entries(interfaces)) {
    if (ignored.has(ifname) || (allowed.length > 0 && !allowed.includes(ifname))) continue;
    let linkLocal: string | null = null;
    for (const a of addresses ?? []) {
      if (a.family !== "IPv6" || !a.address.toLowerCase().startsWith("fe80:")) continue;
      linkLocal = canonicalLinkLocal(a.address) ?? linkLocal;
    }
    if (linkLocal !== null) out.push({ ifname, linkLocal });
  }
  return out;
}

/**
 * The reference's multi-interface deque: hashes of the last `entries` frames with the time each was seen. A
 * frame whose hash is present and younger than `ttlMs` is a duplicate (the same packet heard on another NIC).
 */
export class DedupRing {
  private readonly hashes: string[];
  private readonly times: number[];
  private next = 0;

  constructor(
    readonly entries: number = AUTO_DEFAULTS.dedupEntries,
    readonly ttlMs: number = AUTO_DEFAULTS.dedupTtlMs,
  ) {
    if (!Number.isInteger(entries) || entries < 1) throw new RangeError("entries must be a positive integer");
    this.hashes = new Array<string>(entries).fill("");
    this.times = new Array<number>(entries).fill(-Infinity);
  }

  /** True when the frame was seen within the TTL; otherwise records it and returns false. */
  seen(frame: Uint8Array, nowMs: number): boolean {
    const h = toHex(sha256(frame));
    for (let i = 0; i < this.entries; i++) {
      if (this.hashes[i] === h && nowMs < this.times[i]! + this.ttlMs) return true;
    }
    this.hashes[this.next] = h;
    this.times[this.next] = nowMs;
    this.next = (this.next + 1) % this.entries;
    return false;
  }
}
