// kosctl ports: lists serial ports through serialport's native binding, so operators can find their radios.
// Where udev is missing (minimal images, containers) it falls back to the usual device nodes.
import * as fs from "node:fs";
import { CliError, parseArgs } from "./cli.js";

interface PortInfo {
  path: string;
  manufacturer?: string;
  serialNumber?: string;
  vendorId?: string;
  productId?: string;
}

export async function portsCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, ["json", "help", "h"], ["json", "help", "h"]);
  if (args.flags.has("help") || args.flags.has("h")) {
    process.stdout.write("usage: kosctl ports [--json]\n\nLists serial ports with their USB vendor/product ids.\n");
    return 0;
  }
  if (args.positionals.length > 0) throw new CliError(`unexpected argument "${args.positionals[0]}"`, 2);
  const list = await listPorts();
  if (args.flags.has("json")) {
    process.stdout.write(JSON.stringify(list, null, 2) + "\n");
    return 0;
  }
  if (list.length === 0) process.stdout.write("no serial ports found\n");
  for (const p of list) {
    const usb = p.vendorId ? ` usb ${p.vendorId}:${p.productId ?? "?"}` : "";
    process.stdout.write(`${p.path}${usb}${p.manufacturer ? ` ${p.manufacturer}` : ""}\n`);
  }
  return 0;
}

export async function listPorts(): Promise<PortInfo[]> {
  let SerialPort: typeof import("serialport").SerialPort;
  try {
    ({ SerialPort } = await import("serialport"));
  } catch (e) {
    throw new CliError(`serialport is not available: ${firstLine((e as Error).message)}`);
  }
  try {
    return (await SerialPort.list()) as PortInfo[];
  } catch {
    return scanDeviceNodes();
  }
}

function scanDeviceNodes(): PortInfo[] {
  let names: string[];
  try {
    names = fs.readdirSync("/dev");
  } catch {
    return [];
  }
  return names
    .filter((n) => /^tty(USB|ACM|AMA|S)\d+$/.test(n))
    .filter((n) => !/^ttyS\d+$/.test(n) || hasDriver(n))
    .sort()
    .map((n) => ({ path: `/dev/${n}` }));
}

function hasDriver(name: string): boolean {
  try {
    return fs.existsSync(`/sys/class/tty/${name}/device/driver`);
  } catch {
    return false;
  }
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}
