// The host's interface manager (runtime/host/interfaces.ts) with stand-in drivers: when an interface counts as
// up and local destinations get announced on it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { silentLogger, seededRandom } from "../../runtime/core/ports.js";
import { loadConfigText, formatIssue } from "../../runtime/host/config/load.js";
import { InterfaceManager } from "../../runtime/host/interfaces.js";
import { DriverBase, type DriverKind, type LinkDriver } from "../../drivers/port.js";

class Fake extends DriverBase {
  sent: Uint8Array[] = [];
  constructor(kind: DriverKind, name: string) {
    super({ kind, name, hwMtu: 1196, bitrateBps: 10_000_000, ifacSize: 16 });
  }
  start(): void {
    this.setState("up");
  }
  send(frame: Uint8Array): boolean {
    if (!this.admit(frame)) return false;
    this.sent.push(frame);
    return true;
  }
  stop(): Promise<void> {
    this.setState("closed");
    return Promise.resolve();
  }
  spawn(child: LinkDriver): void {
    this.emitChild(child);
  }
  receive(frame: Uint8Array): void {
    this.deliver(frame);
  }
  up(): void {
    this.setState("up");
  }
}

function manager(type: string, driver: Fake): { events: string[]; m: InterfaceManager } {
  const r = loadConfigText(`[interfaces]\n  [[X]]\n    type = ${type}\n    enabled = yes\n${type === "UDPInterface" ? "    listen_ip = 127.0.0.1\n    port = 4242\n" : ""}`, "kosd.conf");
  if (!r.ok) assert.fail(r.errors.map(formatIssue).join("\n"));
  const events: string[] = [];
  const m = new InterfaceManager(
    { added: (d) => events.push(`added ${d.id}`), removed: (id) => events.push(`removed ${id}`), frame: (id) => events.push(`frame ${id}`), up: (id) => events.push(`up ${id}`) },
    seededRandom(1),
    silentLogger,
    () => driver,
  );
  m.start(r.config.interfaces);
  return { events, m };
}

const packet = seededRandom(2).bytes(60);

test("an AutoInterface peer is announced on when found and again at its first frame, which shows it knows us", async () => {
  const auto = new Fake("auto", "AutoInterface[X]");
  const { events, m } = manager("AutoInterface", auto);
  const peer = new Fake("auto-peer", "AutoInterfacePeer[eth0/fe80::1]");
  peer.up();
  auto.spawn(peer);
  assert.deepEqual(events, ["added 1", "up 1"]);
  // Our first announce went out before the peer had found us, so it may have been dropped there. Once the peer
  // sends us anything, it has found us: announce again, once.
  peer.receive(packet);
  peer.receive(packet);
  assert.deepEqual(events, ["added 1", "up 1", "frame 1", "up 1", "frame 1"]);
  await m.stop();
});

test("other interfaces are announced on when they come up, not again at their first frame", async () => {
  const udp = new Fake("udp", "UDPInterface[X]");
  const { events, m } = manager("UDPInterface", udp);
  udp.receive(packet);
  assert.deepEqual(events, ["added 1", "up 1", "frame 1"]);
  await m.stop();
});
