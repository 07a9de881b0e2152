// AutoInterface: the discovery facts against the reference's recorded answers (test/vectors/rns-1.4.2-auto.json),
// then real peering between network namespaces joined by veth pairs (skipped where namespaces cannot be made).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fromHex, toHex } from "../../runtime/core/bytes.js";
import { seededRandom } from "../../runtime/core/ports.js";
import { AUTO_DEFAULTS, canonicalLinkLocal, DedupRing, descope, discoveryToken, formatIpv6, multicastDiscoveryAddress, parseIpv6, selectNics, validDiscovery, type DiscoveryScope, type MulticastAddressType } from "../../drivers/net/auto-discovery.js";
import { AutoInterfaceDriver } from "../../drivers/net/auto.js";
import { vectorFile } from "../helpers.js";
import { NamespacePair, referenceAvailable, runReference, startPeer, waitFor, FAST_AUTO } from "./netns.js";
import { decodePacket, PacketType } from "../../runtime/wire/packet.js";

interface AutoVectors {
  constants: { auto: Record<string, unknown> };
  multicast_addresses: { group_id: string | null; discovery_scope: string | null; multicast_address_type: string | null; multicast_address: string; multicast_address_bytes: string; discovery_port: number; unicast_discovery_port: number; data_port: number }[];
  socket_setup: { ifindex: number; link_local: string; multicast_address: string; events: { op: string; option?: string; value?: unknown; address?: unknown[] }[] };
  discovery_packets: { group_id: string | null; link_local: string; multicast: { data: string; address: unknown[] }; reverse_peer: string; reverse: { data: string; address: unknown[] } }[];
  discovery_acceptance: { description: string; group_id: string; own_link_local: string; source: string; data: string; outcome: string }[];
  address_text: { packed: string; text: string }[];
}
const v = vectorFile<AutoVectors>("rns-1.4.2-auto.json");

test("the multicast discovery address is derived from the group id as the reference derives it", () => {
  assert.ok(v.multicast_addresses.length >= 20);
  for (const e of v.multicast_addresses) {
    const ours = multicastDiscoveryAddress(e.group_id ?? AUTO_DEFAULTS.groupId, (e.discovery_scope ?? "link") as DiscoveryScope, (e.multicast_address_type ?? "temporary") as MulticastAddressType);
    assert.equal(toHex(ours.bytes), e.multicast_address_bytes, e.multicast_address);
    assert.equal(ours.text, e.multicast_address);
    assert.equal(e.unicast_discovery_port, e.discovery_port + 1);
  }
  assert.equal(new AutoInterfaceDriver().multicastAddress, "ff12:0:d70b:fb1c:16e4:5e39:485e:31e1");
});

test("discovery packets are the reference's: the token to the group's discovery port and to a peer's port + 1", () => {
  for (const e of v.discovery_packets) {
    const token = toHex(discoveryToken(e.group_id ?? AUTO_DEFAULTS.groupId, e.link_local));
    assert.equal(e.multicast.data, token, e.link_local);
    assert.equal(e.reverse.data, token);
    const group = multicastDiscoveryAddress(e.group_id ?? AUTO_DEFAULTS.groupId).text;
    assert.deepEqual(e.multicast.address.slice(0, 2), [group, AUTO_DEFAULTS.discoveryPort]);
    assert.deepEqual(e.reverse.address.slice(0, 2), [e.reverse_peer, AUTO_DEFAULTS.discoveryPort + 1]);
  }
});

test("the reference's sockets per NIC: unicast discovery on link-local:port+1, the group joined on the NIC", () => {
  const s = v.socket_setup;
  const binds = s.events.filter((e) => e.op === "bind").map((e) => e.address!.slice(0, 2));
  assert.deepEqual(binds, [[s.link_local, AUTO_DEFAULTS.discoveryPort + 1], [s.multicast_address, AUTO_DEFAULTS.discoveryPort]]);
  const join = s.events.find((e) => e.option === "IPV6_JOIN_GROUP")!;
  const ifindexLE = toHex(Uint8Array.of(s.ifindex, 0, 0, 0));
  assert.equal(join.value, toHex(multicastDiscoveryAddress("reticulum").bytes) + ifindexLE);
  const reuse = s.events.filter((e) => e.option === "SO_REUSEADDR").length;
  assert.equal(reuse, 2, "both discovery sockets share their port");
});

test("discovery datagrams are taken as peer, echo or rejected exactly as the reference takes them", () => {
  assert.ok(v.discovery_acceptance.length >= 10);
  for (const e of v.discovery_acceptance) {
    const data = fromHex(e.data);
    const ours = !validDiscovery(e.group_id, e.source, data) ? "rejected" : e.source === e.own_link_local ? "echo" : "peer";
    assert.equal(ours, e.outcome, e.description);
  }
});

test("link-local text is what the reference's netinfo writes, so tokens hash the same text", () => {
  for (const e of v.address_text) {
    assert.equal(formatIpv6(fromHex(e.packed)), e.text);
    const groups = e.packed.match(/.{4}/g)!.join(":");
    assert.equal(canonicalLinkLocal(groups), e.text, groups);
    assert.equal(canonicalLinkLocal(`${e.text}%eth0`), e.text);
    assert.equal(canonicalLinkLocal(e.text.toUpperCase()), e.text);
  }
  assert.equal(descope("fe80:4::1%em0"), "fe80::1");
  assert.equal(toHex(parseIpv6("::ffff:10.0.0.1")!), "00000000000000000000ffff0a000001");
  for (const bad of ["", ":::", "fe80::1::2", "1:2:3:4:5:6:7:8:9", "fe80::g", "12345::", "1.2.3.4", "::1.2.3.256"]) assert.equal(parseIpv6(bad), null, bad);
});

test("AutoInterface constants are the reference's", () => {
  const c = v.constants.auto;
  assert.equal(AUTO_DEFAULTS.hwMtu, c["HW_MTU"]);
  assert.equal(AUTO_DEFAULTS.discoveryPort, c["DEFAULT_DISCOVERY_PORT"]);
  assert.equal(AUTO_DEFAULTS.dataPort, c["DEFAULT_DATA_PORT"]);
  assert.equal(AUTO_DEFAULTS.groupId, c["DEFAULT_GROUP_ID"]);
  assert.equal(AUTO_DEFAULTS.ifacSize, c["DEFAULT_IFAC_SIZE"]);
  assert.equal(AUTO_DEFAULTS.bitrateBps, c["BITRATE_GUESS"]);
  assert.equal(AUTO_DEFAULTS.peeringTimeoutMs, (c["PEERING_TIMEOUT"] as number) * 1000);
  assert.equal(AUTO_DEFAULTS.announceIntervalMs, (c["ANNOUNCE_INTERVAL"] as number) * 1000);
  assert.equal(AUTO_DEFAULTS.peerJobIntervalMs, (c["PEER_JOB_INTERVAL"] as number) * 1000);
  assert.equal(AUTO_DEFAULTS.multicastEchoTimeoutMs, (c["MCAST_ECHO_TIMEOUT"] as number) * 1000);
  assert.equal(AUTO_DEFAULTS.reversePeeringIntervalMs, Math.round((c["reverse_peering_interval"] as number) * 1000));
  assert.equal(AUTO_DEFAULTS.peeringWaitMs, Math.round((c["peering_wait"] as number) * 1000));
  assert.equal(AUTO_DEFAULTS.dedupEntries, c["MULTI_IF_DEQUE_LEN"]);
  assert.equal(AUTO_DEFAULTS.dedupTtlMs, (c["MULTI_IF_DEQUE_TTL"] as number) * 1000);
  assert.deepEqual(AUTO_DEFAULTS.ignoredDevices, c["ALL_IGNORE_IFS"]);
  const d = new AutoInterfaceDriver({ name: "lan" });
  assert.equal(d.info.name, "AutoInterface[lan]");
  assert.equal(d.info.hwMtu, 1196);
});

test("NIC selection: allowed and ignored devices, lo0 never, only NICs with a link-local address, the last one", () => {
  const v6 = (address: string) => ({ address, netmask: "ffff:ffff:ffff:ffff::", family: "IPv6", mac: "", internal: false, cidr: null, scopeid: 3 });
  const v4 = (address: string) => ({ address, netmask: "255.255.255.0", family: "IPv4", mac: "", internal: false, cidr: null });
  const nics = {
    lo: [v4("127.0.0.1"), v6("::1")],
    lo0: [v6("fe80::1")],
    eth0: [v4("192.168.1.2"), v6("fd00::2"), v6("fe80::0a00:27FF:fe4e:66a1")],
    wlan0: [v6("fe80::1"), v6("fe80::2%wlan0")],
    tun0: [v4("10.8.0.1")],
  } as unknown as Parameters<typeof selectNics>[0];
  assert.deepEqual(selectNics(nics), [{ ifname: "eth0", linkLocal: "fe80::a00:27ff:fe4e:66a1" }, { ifname: "wlan0", linkLocal: "fe80::2" }]);
  assert.deepEqual(selectNics(nics, { devices: ["wlan0", "tun0"] }).map((n) => n.ifname), ["wlan0"]);
  assert.deepEqual(selectNics(nics, { ignoredDevices: ["eth0"] }).map((n) => n.ifname), ["wlan0"]);
  assert.deepEqual(selectNics(nics, { devices: ["lo0"] }), []);
});

test("dedup: the same frame within 750 ms is a duplicate, later or after 48 other frames it is not", () => {
  const ring = new DedupRing();
  const rng = seededRandom(5);
  const f = rng.bytes(40);
  assert.equal(ring.seen(f, 1000), false);
  assert.equal(ring.seen(f, 1749), true);
  assert.equal(ring.seen(f, 1750), false); // the TTL passed: recorded again at 1750
  assert.equal(ring.seen(f, 2000), true);
  for (let i = 0; i < 48; i++) ring.seen(rng.bytes(40), 2001);
  assert.equal(ring.seen(f, 2002), false, "pushed out of the 48 entries");
});

// ---- Real peering between network namespaces -------------------------------------------------------------------

test("AutoInterface between two network namespaces", async (t) => {
  const net = NamespacePair.create(t, 1);
  if (net === null) return;
  const a = startPeer(t, net.nsA, { ...FAST_AUTO, devices: [net.devA[0]!] });
  const b = startPeer(t, net.nsB, { ...FAST_AUTO, devices: [net.devB[0]!] });

  await t.test("each discovers the other by its link-local address, and not itself", async () => {
    const childA = await a.next((e) => e.ev === "child", "A finds B");
    const childB = await b.next((e) => e.ev === "child", "B finds A");
    assert.equal(childA.address, net.addrB[0]);
    assert.equal(childA.ifname, net.devA[0]);
    assert.equal(childB.address, net.addrA[0]);
    await waitFor(() => a.status().then((s) => s.nics[0]?.echoSeen === true), "A hears its own multicast echo");
    const s = await a.status();
    assert.equal(s.peers.length, 1);
    assert.equal(s.state, "up");
    assert.ok(s.discovery.echoes >= 1);
    assert.equal(s.nics[0].linkLocal, net.addrA[0]);
  });

  await t.test("frames flow both ways intact, up to the MTU plus IFAC; larger ones are refused", async () => {
    const every = toHex(Uint8Array.from({ length: 256 }, (_, i) => i));
    const largest = toHex(seededRandom(3).bytes(1196 + 16));
    const burst = Array.from({ length: 40 }, (_, i) => toHex(seededRandom(100 + i).bytes(20 + i * 7)));
    const toB = [every, largest, ...burst];
    for (const hex of toB) assert.deepEqual((await a.command({ cmd: "send", hex })).results, [true]);
    assert.deepEqual((await a.command({ cmd: "send", hex: toHex(new Uint8Array(1213)) })).results, [false]);
    await b.command({ cmd: "send", hex: every });
    const atB = await b.collect((e) => e.ev === "frame", toB.length, "frames at B");
    assert.deepEqual(atB.map((e) => e.hex).sort(), [...toB].sort());
    assert.equal((await a.collect((e) => e.ev === "frame", 1, "frame at A"))[0].hex, every);
    const s = await a.status();
    assert.equal(s.peers[0].drops["tx-oversize"], 1);
  });

  await t.test("the same frame twice within the dedup TTL passes once; after the TTL it passes again", async () => {
    const hex = toHex(seededRandom(77).bytes(64));
    b.clear();
    await a.command({ cmd: "send", hex });
    await a.command({ cmd: "send", hex });
    await waitFor(() => b.status().then((s) => s.peers[0]?.drops["duplicate"] === 1), "duplicate counted at B");
    await new Promise((r) => setTimeout(r, AUTO_DEFAULTS.dedupTtlMs + 50));
    await a.command({ cmd: "send", hex });
    const got = await b.collect((e) => e.ev === "frame" && e.hex === hex, 2, "frame again after the TTL");
    assert.equal(got.length, 2);
  });

  await t.test("data from an address that is not a peer is dropped", async () => {
    const before = (await a.status()).drops["unknown-peer"] ?? 0;
    net.rawSend(net.nsB, "fe80::c", net.devB[0]!, net.addrA[0]!, AUTO_DEFAULTS.dataPort, new Uint8Array(40).fill(1));
    await waitFor(() => a.status().then((s) => (s.drops["unknown-peer"] ?? 0) === before + 1), "unknown-peer drop at A");
  });

  await t.test("a peer that falls silent is removed after the peering timeout", async () => {
    b.kill();
    const closed = await a.next((e) => e.ev === "child-state" && e.state === "closed", "B removed", FAST_AUTO.peeringTimeoutMs + 3000);
    assert.equal(closed.address, net.addrB[0]);
    assert.equal((await a.status()).discovery.peersTimedOut, 1);
  });
});

test("reverse peering: a node that missed the multicast is told of its peer by unicast", async (t) => {
  const net = NamespacePair.create(t, 1);
  if (net === null) return;
  // B multicasts once, before A exists, then not again for a minute; A hears of B only by B's reverse packets.
  const b = startPeer(t, net.nsB, { ...FAST_AUTO, announceIntervalMs: 60_000, reversePeeringIntervalMs: 800, devices: [net.devB[0]!] });
  await b.next((e) => e.ev === "state" && e.state === "up", "B up");
  const a = startPeer(t, net.nsA, { ...FAST_AUTO, devices: [net.devA[0]!] });
  const child = await a.next((e) => e.ev === "child", "A learns of B", 5000);
  assert.equal(child.address, net.addrB[0]);
  const s = await a.status();
  assert.ok(s.discovery.reverse >= 1, JSON.stringify(s.discovery));
});

test("a frame heard on two NICs from the same node is passed up once", async (t) => {
  const net = NamespacePair.create(t, 2);
  if (net === null) return;
  const a = startPeer(t, net.nsA, { ...FAST_AUTO, devices: net.devA });
  const b = startPeer(t, net.nsB, { ...FAST_AUTO, devices: net.devB });
  await a.collect((e) => e.ev === "child", 2, "A finds B on both links");
  await b.collect((e) => e.ev === "child", 2, "B finds A on both links");
  const hex = toHex(seededRandom(9).bytes(100));
  assert.deepEqual((await b.command({ cmd: "send", hex })).results, [true, true]);
  await waitFor(() => a.status().then((s) => s.peers.some((p: { drops: Record<string, number> }) => p.drops["duplicate"] === 1)), "duplicate dropped at A");
  const s = await a.status();
  assert.equal(s.counters.rxFrames, 1);
  assert.equal(a.events.filter((e) => e.ev === "frame").length, 1);
});

test("interop: the reference's AutoInterface and ours peer and carry each other's announces", async (t) => {
  const why = referenceAvailable();
  if (why !== null) return void t.skip(why);
  const net = NamespacePair.create(t, 1);
  if (net === null) return;
  const ref = runReference(t, net.nsB, net.devB[0]!);
  const a = startPeer(t, net.nsA, { ...FAST_AUTO, peeringTimeoutMs: 22_000, devices: [net.devA[0]!] });
  const child = await a.next((e) => e.ev === "child", "we find the reference", 10_000);
  assert.equal(child.address, net.addrB[0]);
  await ref.waitLine((l) => l.includes(`added peer ${net.addrA[0]}`), "the reference adds us as a peer", 10_000);
  const dest = (await ref.waitLine((l) => l.startsWith("KOS-DEST "), "reference destination")).slice(9).trim();
  const frame = await a.next((e) => e.ev === "frame" && e.hex.slice(4, 36) === dest, "the reference's announce reaches us", 10_000);
  const decoded = decodePacket(fromHex(frame.hex));
  assert.ok(decoded.ok);
  assert.equal(decoded.value.packetType, PacketType.ANNOUNCE);
  const announce = vectorFile<{ announces: { raw: string; destination_hash: string; valid: boolean }[] }>("rns-1.4.2-announces.json").announces.find((x) => x.valid)!;
  await a.command({ cmd: "send", hex: announce.raw });
  await ref.waitLine((l) => l.includes(`KOS-ANNOUNCE ${announce.destination_hash}`), "the reference accepts our frame", 10_000);
});
