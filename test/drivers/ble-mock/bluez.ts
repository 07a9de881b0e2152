// A private D-Bus bus with a mocked bluetoothd on it, for the BLE tests: dbus-daemon with a minimal
// session-type config (listening on a socket in a temp dir, everything allowed), python3-dbusmock (Debian's,
// run by /usr/bin/python3) with our template bluez_rnode.py (bluez5 plus RNode GATT objects and a bridge to
// an emulated radio), and dbus-send to drive the mock. Point node-ble at it with DBUS_SYSTEM_BUS_ADDRESS.
//
// availability() says why the mock cannot run here (a missing package), or null; start() may still fail
// (no permission to start a daemon...), and the tests skip with its message then.
import { spawn, spawnSync, execFile, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../../helpers.js";

const PYTHON = "/usr/bin/python3";
const TEMPLATE = path.join(REPO_ROOT, "test", "drivers", "ble-mock", "bluez_rnode.py");
const START_TIMEOUT_MS = 10_000;

/** Why the mocked BlueZ cannot run on this machine, or null when it can. */
export function availability(): string | null {
  const has = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: "ignore", timeout: 10_000 }).status === 0;
  const missing: string[] = [];
  if (!has("dbus-daemon", ["--version"])) missing.push("dbus-daemon (Debian package dbus)");
  if (spawnSync("dbus-send", ["--help"], { stdio: "ignore", timeout: 10_000 }).error !== undefined) missing.push("dbus-send (Debian package dbus)"); // exits 1 even for --help
  if (!fs.existsSync(PYTHON) || !has(PYTHON, ["-c", "import dbusmock, dbus, gi"])) missing.push(`python3-dbusmock for ${PYTHON} (Debian package python3-dbusmock)`);
  return missing.length === 0 ? null : `the BlueZ mock needs ${missing.join(", ")}: apt-get install -y dbus python3-dbusmock`;
}

export type DbusArg = `${"string" | "int32" | "uint16" | "uint32" | "boolean" | "objpath"}:${string}`;

export class MockBluez {
  readonly busAddress: string;
  readonly logFile: string;
  private daemon: ChildProcess | null = null;
  private mock: ChildProcess | null = null;

  private constructor(readonly dir: string) {
    this.busAddress = `unix:path=${path.join(dir, "bus")}`;
    this.logFile = path.join(dir, "mock.log");
  }

  /** Starts the bus and the mock; rejects with a reason when either does not come up. */
  static async start(): Promise<MockBluez> {
    const m = new MockBluez(fs.mkdtempSync(path.join(os.tmpdir(), "kos-bluez-")));
    try {
      await m.boot();
    } catch (e) {
      await m.stop();
      throw e;
    }
    return m;
  }

  private async boot(): Promise<void> {
    const config = path.join(this.dir, "bus.conf");
    fs.writeFileSync(config, [
      `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">`,
      "<busconfig>",
      "  <type>session</type>",
      `  <listen>${this.busAddress}</listen>`,
      "  <auth>EXTERNAL</auth>",
      `  <policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>`,
      "</busconfig>",
      "",
    ].join("\n"));
    const daemon = spawn("dbus-daemon", [`--config-file=${config}`, "--nofork", "--nopidfile"], { stdio: ["ignore", "ignore", "pipe"] });
    this.daemon = daemon;
    const daemonErr = collect(daemon);
    await until(() => fs.existsSync(path.join(this.dir, "bus")), daemon, () => `dbus-daemon did not start: ${daemonErr()}`);
    const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: this.busAddress, DBUS_SESSION_BUS_ADDRESS: this.busAddress };
    const mock = spawn(PYTHON, ["-m", "dbusmock", "--system", "-t", TEMPLATE, "-l", this.logFile], { env, stdio: ["ignore", "ignore", "pipe"] });
    this.mock = mock;
    const mockErr = collect(mock);
    let up = false;
    await until(() => up, mock, () => `python3-dbusmock did not come up: ${mockErr()}`, async () => {
      up = await this.send("/org/freedesktop/DBus", "org.freedesktop.DBus.NameHasOwner", "string:org.bluez").then((out) => /boolean true/.test(out), () => false);
    });
  }

  /** Calls a method with dbus-send; resolves with its printed reply. */
  send(objectPath: string, method: string, ...args: DbusArg[]): Promise<string> {
    const dest = objectPath === "/org/freedesktop/DBus" ? "org.freedesktop.DBus" : "org.bluez";
    return new Promise((resolve, reject) => {
      execFile("dbus-send", [`--bus=${this.busAddress}`, "--print-reply", `--dest=${dest}`, objectPath, method, ...args], { timeout: 10_000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`dbus-send ${method}: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      });
    });
  }

  addAdapter(name = "hci0"): Promise<string> {
    return this.send("/", "org.bluez.Mock.AddAdapter", `string:${name}`, "string:kos-test");
  }

  /** A paired (or not) RNode whose GATT service is bridged to the radio listening at `bridge`. */
  addRNode(o: { address: string; name: string; bridge: string; mtu?: number; paired?: boolean; adapter?: string }): Promise<string> {
    return this.send("/", "org.bluez.Mock.AddRNode", `string:${o.adapter ?? "hci0"}`, `string:${o.address}`, `string:${o.name}`, `string:${o.bridge}`, `uint16:${o.mtu ?? 185}`, `boolean:${o.paired ?? true}`);
  }

  /** A plain bluez5 device (no RNode service). */
  addDevice(address: string, name: string, adapter = "hci0"): Promise<string> {
    return this.send("/", "org.bluez.Mock.AddDevice", `string:${adapter}`, `string:${address}`, `string:${name}`);
  }

  /** The link drops as the radio side sees it. */
  disconnect(address: string, adapter = "hci0"): Promise<string> {
    return this.send("/", "org.bluez.Mock.DisconnectDevice", `string:${adapter}`, `string:${address}`);
  }

  /** The mock's counters for an RNode (writes, maxWrite, notifications, maxNotify, connections, notifying, connected...). */
  async stats(address: string, adapter = "hci0"): Promise<Record<string, number | boolean>> {
    const out = await this.send("/", "org.bluez.Mock.GetRNodeStats", `string:${adapter}`, `string:${address}`);
    const stats: Record<string, number | boolean> = {};
    for (const m of out.matchAll(/string "(\w+)"\s+variant\s+(uint32|boolean) (\w+)/g)) {
      stats[m[1]!] = m[2] === "boolean" ? m[3] === "true" : Number(m[3]);
    }
    return stats;
  }

  async stop(): Promise<void> {
    for (const p of [this.mock, this.daemon]) {
      if (p === null || p.exitCode !== null || p.signalCode !== null) continue;
      const exited = new Promise<void>((resolve) => p.once("exit", () => resolve()));
      p.kill("SIGTERM");
      const timer = setTimeout(() => p.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    }
    this.mock = this.daemon = null;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function collect(p: ChildProcess): () => string {
  let text = "";
  p.stderr?.on("data", (d: Buffer) => (text = (text + d.toString()).slice(-2000)));
  p.on("error", (e) => (text += ` (${e.message})`));
  // The last line says most (a Python traceback ends with the exception).
  return () => text.trim().split("\n").at(-1)?.trim() || `exit ${p.exitCode ?? p.signalCode ?? "?"}`;
}

async function until(cond: () => boolean, proc: ChildProcess, why: () => string, poll?: () => Promise<void>): Promise<void> {
  const deadline = performance.now() + START_TIMEOUT_MS;
  for (;;) {
    if (poll !== undefined) await poll();
    if (cond()) return;
    if (proc.exitCode !== null || proc.signalCode !== null || performance.now() > deadline) throw new Error(why());
    await new Promise((r) => setTimeout(r, 50));
  }
}
