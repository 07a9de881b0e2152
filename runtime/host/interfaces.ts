// The host's interfaces: builds a driver for each configured interface, gives each link (and each peer of a
// server or AutoInterface) an interface id, applies and strips interface access codes, and moves frames
// between drivers and the engine. Frames that fail the access code are dropped and counted, never passed on.
import type { Bytes } from "../core/bytes.js";
import { systemClock, type Clock, type Logger, type RandomSource } from "../core/ports.js";
import { InterfaceAccessCode } from "../wire/ifac.js";
import type { InterfaceDescriptor, InterfaceMode } from "../mesh/types.js";
import type { TransportInterface } from "../mesh/transport/interfaces.js";
import type { FrameMeta, LinkDriver } from "../../drivers/port.js";
import { TcpClientDriver } from "../../drivers/net/tcp-client.js";
import { TcpServerDriver } from "../../drivers/net/tcp-server.js";
import { UdpDriver } from "../../drivers/net/udp.js";
import { AutoInterfaceDriver } from "../../drivers/net/auto.js";
import type { InterfaceConfig } from "./config/schema.js";
import { AirtimeBudgets, buildRadio, type RadioGate, type RadioRow } from "./radio.js";

/** Long enough for a reference AutoInterface to finish its peering wait (1.92 s) and hear our next discovery (1.6 s). */
const AUTO_PEER_REANNOUNCE_MS = 4_000;

export interface InterfaceSink {
  /** A new interface to register with the engine (clients at start, server/auto peers when they come). */
  added(desc: TransportInterface): void;
  removed(id: number): void;
  /** `meta`: what the link knows of how the frame arrived (a radio's RSSI and SNR). */
  frame(id: number, raw: Bytes, meta?: FrameMeta): void;
  /** An interface (re)connected: a good moment to announce local destinations on it. */
  up(id: number): void;
}

export interface InterfaceRow {
  id: number | null;
  name: string;
  type: string;
  state: string;
  mode: InterfaceMode;
  bitrateBps: number;
  hwMtu: number;
  ifac: boolean;
  parent: string | null;
  rxFrames: number;
  rxBytes: number;
  txFrames: number;
  txBytes: number;
  drops: Record<string, number>;
  /** RNodeInterface only: settings, signal, channel, airtime budget, battery (./radio.ts). */
  radio?: RadioRow;
}

interface Attached {
  id: number | null;
  driver: LinkDriver;
  config: InterfaceConfig;
  ifac: InterfaceAccessCode | null;
  parent: Attached | null;
  ifacDrops: number;
  /** A frame has come in on this interface. */
  heard: boolean;
  /** RNodeInterface: the airtime budget every send goes through (./radio.ts). */
  radio?: RadioGate;
}

export class InterfaceManager {
  readonly #attached: Attached[] = [];
  readonly #byId = new Map<number, Attached>();
  #nextId = 1;
  #stopping = false;

  constructor(
    private readonly sink: InterfaceSink,
    private readonly random: RandomSource,
    private readonly log: Logger,
    /** Makes the driver of a configured interface (tests substitute their own). */
    private readonly makeDriver?: (config: InterfaceConfig) => LinkDriver,
    /** Radios: the clock of the airtime budgets and the budgets (kept in memory when not given). */
    private readonly radios: { clock?: Clock; airtime?: AirtimeBudgets } = {},
  ) {}

  /** Builds and starts the drivers; an interface that cannot start is logged and skipped, never fatal. */
  start(configs: readonly InterfaceConfig[]): void {
    for (const config of configs) {
      if (!config.enabled) continue;
      let driver: LinkDriver;
      let radio: RadioGate | undefined;
      try {
        if (this.makeDriver === undefined && config.type === "RNodeInterface") driver = (radio = this.#radio(config)).driver;
        else driver = this.makeDriver !== undefined ? this.makeDriver(config) : this.#build(config);
      } catch (e) {
        this.log.log("error", "interface not started", { interface: config.name, error: (e as Error).message });
        continue;
      }
      const ifac = config.ifac ? InterfaceAccessCode.derive(config.ifac.networkName, config.ifac.passphrase, config.ifac.sizeBytes) : null;
      this.#attach({ id: null, driver, config, ifac, parent: null, ifacDrops: 0, heard: false, ...(radio !== undefined ? { radio } : {}) });
    }
  }

  /** Sends a raw packet on an interface, with its access code when it has one. */
  send(id: number, raw: Bytes): boolean {
    const a = this.#byId.get(id);
    if (a === undefined) return false;
    return (a.radio ?? a.driver).send(a.ifac !== null ? a.ifac.apply(raw) : raw);
  }

  rows(): InterfaceRow[] {
    return this.#attached.map((a) => ({
      id: a.id,
      name: a.driver.info.name,
      type: a.config.type,
      state: a.driver.state,
      mode: a.config.mode,
      bitrateBps: a.config.bitrateBps ?? a.driver.info.bitrateBps,
      hwMtu: a.driver.info.hwMtu,
      ifac: a.ifac !== null,
      parent: a.parent?.driver.info.name ?? null,
      rxFrames: a.driver.counters.rxFrames,
      rxBytes: a.driver.counters.rxBytes,
      txFrames: a.driver.counters.txFrames,
      txBytes: a.driver.counters.txBytes,
      drops: { ...a.driver.counters.drops, ...a.radio?.drops, ...(a.ifacDrops > 0 ? { "ifac-mismatch": a.ifacDrops } : {}) },
      ...(a.radio !== undefined ? { radio: a.radio.status() } : {}),
    }));
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await Promise.all(this.#attached.filter((a) => a.parent === null).map((a) => (a.radio ?? a.driver).stop().catch(() => undefined)));
  }

  #attach(a: Attached): void {
    this.#attached.push(a);
    const carriesFrames = a.driver.info.kind !== "tcp-server" && a.driver.info.kind !== "auto";
    if (carriesFrames) {
      a.id = this.#nextId++;
      this.#byId.set(a.id, a);
      a.driver.on("frame", (frame, meta) => this.#frame(a, frame, meta));
      this.sink.added(this.#descriptor(a));
      // Children are born connected: they never report a transition to "up".
      if (a.driver.state === "up") this.sink.up(a.id);
      // A reference AutoInterface drops data from peers it has not discovered yet and everything during its
      // own start-up peering wait (1.2 discovery intervals). A peer that stays silent (a node with no
      // destinations of its own) would never trigger the re-announce on first frame below, so announce once
      // more after it must have discovered us.
      if (a.driver.info.kind === "auto-peer") {
        const t = setTimeout(() => {
          if (!a.heard && a.id !== null && !this.#stopping) this.sink.up(a.id);
        }, AUTO_PEER_REANNOUNCE_MS);
        t.unref();
      }
    }
    a.driver.on("child", (child) => {
      if (this.#stopping) return;
      this.#attach({ id: null, driver: child, config: a.config, ifac: a.ifac, parent: a, ifacDrops: 0, heard: false });
    });
    a.driver.on("state", (state) => {
      this.log.log(state === "up" ? "info" : "debug", "interface state", { interface: a.driver.info.name, state });
      if (state === "closed" && a.id !== null && a.parent !== null) this.#detach(a);
      if (state === "up" && a.id !== null && !this.#stopping) this.sink.up(a.id);
    });
    try {
      a.driver.start();
    } catch (e) {
      this.log.log("error", "interface failed to start", { interface: a.driver.info.name, error: (e as Error).message });
    }
  }

  #detach(a: Attached): void {
    if (a.id === null) return;
    this.#byId.delete(a.id);
    const i = this.#attached.indexOf(a);
    if (i >= 0) this.#attached.splice(i, 1);
    if (!this.#stopping) this.sink.removed(a.id);
    a.id = null;
  }

  #frame(a: Attached, frame: Uint8Array, meta?: FrameMeta): void {
    if (a.id === null) return;
    let raw = frame;
    if (a.ifac !== null) {
      const r = a.ifac.strip(frame);
      if (!r.ok) {
        a.ifacDrops++;
        return;
      }
      raw = r.value;
    }
    this.sink.frame(a.id, raw, meta);
    if (a.heard) return;
    a.heard = true;
    // An AutoInterface peer sends only to nodes it has discovered, so its first frame shows it knows us now.
    // What we sent when we discovered it may have come before that and been dropped as from an unknown peer
    // (the reference drops such data too; peers rarely discover each other in the same instant): announce
    // on it once more.
    if (a.driver.info.kind === "auto-peer" && a.id !== null && !this.#stopping) this.sink.up(a.id);
  }

  #descriptor(a: Attached): TransportInterface {
    const c = a.config;
    const desc: InterfaceDescriptor = {
      id: a.id!,
      name: a.driver.info.name,
      mode: c.mode,
      bitrateBps: c.bitrateBps ?? a.driver.info.bitrateBps,
      hwMtu: a.driver.info.hwMtu,
      out: c.outgoing,
      announceCap: c.announceCap,
      ...(a.parent?.id != null ? { parentId: a.parent.id } : {}),
    };
    return {
      ...desc,
      ingressControl: c.ingress.enabled,
      mtuSignalling: c.type !== "RNodeInterface",
      ...(c.announceRate !== null
        ? { announceRateTargetMs: c.announceRate.targetMs, announceRateGrace: c.announceRate.grace, announceRatePenaltyMs: c.announceRate.penaltyMs }
        : {}),
    };
  }

  #build(c: InterfaceConfig): LinkDriver {
    const ifacSize = c.ifac?.sizeBytes;
    const common = { name: c.name, ...(c.bitrateBps !== null ? { bitrateBps: c.bitrateBps } : {}), ...(ifacSize !== undefined ? { ifacSize } : {}) };
    switch (c.type) {
      case "TCPClientInterface":
        return new TcpClientDriver({
          ...common,
          host: c.targetHost,
          port: c.targetPort,
          framing: c.kissFraming ? "kiss" : "hdlc",
          connectTimeoutMs: c.connectTimeoutMs,
          ...(c.maxReconnectTries !== null ? { maxReconnectTries: c.maxReconnectTries } : {}),
          ...(c.fixedMtu !== null ? { hwMtu: c.fixedMtu } : {}),
          random: this.random,
        });
      case "TCPServerInterface":
        return new TcpServerDriver({ ...common, host: c.listenIp ?? (c.preferIpv6 ? "::" : "0.0.0.0"), port: c.listenPort, random: this.random });
      case "UDPInterface":
        return new UdpDriver({
          ...common,
          ...(c.listenIp !== null ? { listenIp: c.listenIp } : {}),
          ...(c.listenPort !== null ? { listenPort: c.listenPort } : {}),
          ...(c.forwardIp !== null ? { forwardIp: c.forwardIp } : {}),
          ...(c.forwardPort !== null ? { forwardPort: c.forwardPort } : {}),
          ...(c.device !== null ? { device: c.device } : {}),
          random: this.random,
        });
      case "AutoInterface":
        return new AutoInterfaceDriver({
          ...common,
          groupId: c.groupId,
          discoveryScope: c.discoveryScope,
          multicastAddressType: c.multicastAddressType,
          discoveryPort: c.discoveryPort,
          dataPort: c.dataPort,
          devices: c.devices,
          ignoredDevices: c.ignoredDevices,
        });
      case "RNodeInterface":
        // Never a bare driver: a radio's sends must pass its airtime budget (start() builds it with #radio).
        throw new Error("an RNodeInterface is built with its airtime budget");
    }
  }

  /** An RNode radio: its driver behind the airtime budget of its region sub-band (./radio.ts). */
  #radio(c: InterfaceConfig & { type: "RNodeInterface" }): RadioGate {
    this.radios.airtime ??= new AirtimeBudgets(null, this.log, this.radios.clock ?? systemClock);
    const ifacSize = c.ifac?.sizeBytes;
    return buildRadio(c, { random: this.random, clock: this.radios.clock ?? systemClock, budgets: this.radios.airtime }, {
      ...(c.bitrateBps !== null ? { bitrateBps: c.bitrateBps } : {}),
      ...(ifacSize !== undefined ? { ifacSize } : {}),
    });
  }
}
