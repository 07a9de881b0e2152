// kosctl status, path, probe, announce and cp: the operator's view of a running kosd, over its control socket.
import * as path from "node:path";
import { CliError, flagString, parseArgs } from "./cli.js";
import { COMMON, COMMON_BOOL, call, print as out } from "./kosctl-common.js";
import { proposalLine } from "./kosctl-vote.js";
import { mqttStatusText } from "./kosctl-mqtt.js";




function seconds(args: ReturnType<typeof parseArgs>, name: string, dflt: number): number {
  const v = flagString(args, name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw new CliError(`--${name} must be a number of seconds from 0 to 3600`, 2);
  return n;
}

function destinationArg(text: string | undefined, what = "destination hash"): string {
  const clean = (text ?? "").replace(/[<>]/g, "");
  if (!/^[0-9a-fA-F]{32}$/.test(clean)) throw new CliError(`${what} must be 32 hex digits, got "${text ?? ""}"`, 2);
  return clean.toLowerCase();
}


export async function statusCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, COMMON, COMMON_BOOL);
  if (args.flags.has("help") || args.flags.has("h")) {
    process.stdout.write("usage: kosctl status [--json] [--socket PATH | --data-dir DIR]\n\nInterfaces, traffic, drops, paths and links of the running kosd, and its MQTT bridge.\n");
    return 0;
  }
  const s = (await call(args, "status", {}, 10_000)) as Record<string, any>;
  // The MQTT bridge answers separately (a kosd without the command just has no bridge to show).
  s["mqtt"] = await call(args, "mqtt-status", {}, 10_000).catch(() => ({ enabled: false }));
  s["quorum"] = await call(args, "quorum-status", {}, 10_000).catch(() => ({ enabled: false }));
  return out(args, s, () => {
    let t = `kosd ${s["version"]}  node <${s["identity"]}>  transport ${s["transportEnabled"] ? "on" : "off"}  up ${s["uptimeS"]} s\n`;
    for (const i of s["interfaces"] as Array<Record<string, any>>) {
      t += `\n ${i["name"]}\n`;
      t += `    Status  : ${i["state"] === "up" ? "Up" : i["state"]}\n`;
      t += `    Mode    : ${i["mode"]}\n`;
      t += `    Rate    : ${rate(i["bitrateBps"])}\n`;
      if (i["ifac"]) t += `    Access  : interface access code on\n`;
      t += `    Traffic : ↑${size(i["txBytes"])} ${i["txFrames"]} pkts  ↓${size(i["rxBytes"])} ${i["rxFrames"]} pkts\n`;
      const drops = Object.entries(i["drops"] as Record<string, number>).filter(([, n]) => n > 0);
      if (drops.length > 0) t += `    Drops   : ${drops.map(([k, n]) => `${k} ${n}`).join(", ")}\n`;
      if (i["radio"] !== undefined) t += radioText(i["radio"] as RadioView, i["state"] === "up");
    }
    if ((s["interfaces"] as unknown[]).length === 0) t += "\n no interfaces\n";
    const tables = s["tables"] as Record<string, number>;
    t += `\n paths ${tables["paths"] ?? 0}, links ${(s["links"] as unknown[]).length}, known destinations ${s["knownDestinations"]}\n`;
    if (s["memory"] !== undefined) {
      const pkgs = (s["packages"] as string[] | undefined) ?? [];
      t += ` memory ${s["memory"]["rssMiB"]} MiB resident, heap ${s["memory"]["heapUsedMiB"]} MiB; packages loaded: ${pkgs.length > 0 ? pkgs.join(", ") : "none"}\n`;
    }
    if (s["mqtt"]?.["enabled"] === true) t += "\n" + mqttStatusText(s["mqtt"]);
    if (s["quorum"]?.["enabled"] === true) t += "\n" + quorumStatusText(s["quorum"]);
    return t;
  });
}

/** The quorum lines of `kosctl status`: membership, open proposals with their tally, recent decisions, drops. */
export function quorumStatusText(q: Record<string, any>): string {
  if (q["running"] !== true) return ` quorum: not running${q["error"] ? `: ${q["error"]}` : " (starting)"}\n`;
  const m = q["membership"];
  let t = m === null ? " quorum: no membership lists this node yet\n" : ` quorum: membership ${m["id"]} v${m["version"]}, member ${m["index"]} of ${m["members"].length}, threshold ${m["threshold"]}\n`;
  const open = q["open"] as Array<Record<string, any>>;
  t += `    Open    : ${open.length === 0 ? "none" : ""}\n`;
  for (const p of open) t += `      ${proposalLine(p)}`;
  const recent = q["recent"] as Array<Record<string, any>>;
  if (recent.length > 0) t += "    Decided :\n";
  for (const p of recent) t += `      ${proposalLine(p)}`;
  const drops = Object.entries(q["drops"] as Record<string, number>).filter(([, n]) => n > 0);
  t += `    Traffic : ${q["stats"]["messagesIn"]} in, ${q["stats"]["messagesOut"]} out; ${q["stats"]["certificates"]} certificate(s), ${q["stats"]["equivocations"]} equivocation(s)\n`;
  if (drops.length > 0) t += `    Drops   : ${drops.map(([k, n]) => `${k} ${n}`).join(", ")}\n`;
  const l = q["links"] as Record<string, any> | undefined;
  if (l !== undefined && (l["open"].length > 0 || l["opened"] > 0 || l["accepted"] > 0 || l["refusedNotMember"] > 0 || l["refusedUnidentified"] > 0 || l["pathRequests"] > 0)) {
    t += `    Links   : ${l["open"].filter((x: Record<string, any>) => x["up"]).length} up to far members; ${l["opened"]} opened, ${l["accepted"]} accepted, ${l["failed"]} failed, ` +
      `${l["refusedNotMember"] + l["refusedUnidentified"]} refused (${l["refusedNotMember"]} not a member, ${l["refusedUnidentified"]} unidentified)` +
      `${(l["pathRequests"] ?? 0) > 0 ? `, ${l["pathRequests"]} path request(s)` : ""}\n`;
  }
  t += `    Journal : ${q["journal"]["votes"]} own vote(s) in ${q["journal"]["file"]}\n`;
  return t;
}

export async function pathCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, [...COMMON, "table", "drop", "timeout"], [...COMMON_BOOL, "table", "drop"]);
  if (args.flags.has("help") || args.flags.has("h") || (args.positionals.length === 0 && !args.flags.has("table"))) {
    process.stdout.write("usage: kosctl path DESTINATION [--timeout S] | --table | --drop DESTINATION  [--json]\n\nResolves a path (asking the network), lists the path table, or drops a path.\n");
    return args.flags.has("help") || args.flags.has("h") ? 0 : 2;
  }
  if (args.flags.has("table")) {
    const r = (await call(args, "path", { table: true }, 10_000)) as { paths: Array<Record<string, any>> };
    return out(args, r, () =>
      r.paths.length === 0
        ? "no paths\n"
        : r.paths.map((p) => `<${p["destination"]}> is ${p["hops"]} hop${p["hops"] === 1 ? "" : "s"} away via <${p["nextHop"]}> on ${p["interface"]}, expires in ${p["expiresInS"]} s\n`).join(""),
    );
  }
  const destination = destinationArg(args.positionals[0]);
  if (args.flags.has("drop")) {
    const r = (await call(args, "path", { destination, drop: true }, 10_000)) as { dropped: boolean };
    return out(args, r, () => (r.dropped ? `dropped the path to <${destination}>\n` : `no path to <${destination}>\n`));
  }
  const timeoutS = seconds(args, "timeout", 15);
  const p = (await call(args, "path", { destination, timeoutMs: timeoutS * 1000 }, timeoutS * 1000 + 5000)) as Record<string, any>;
  return out(args, p, () => `Path found, destination <${destination}> is ${p["hops"]} hop${p["hops"] === 1 ? "" : "s"} away via <${p["nextHop"]}> on ${p["interface"]}\n`);
}

export async function probeCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, [...COMMON, "full-name", "size", "count", "timeout", "wait"], COMMON_BOOL);
  if (args.flags.has("help") || args.flags.has("h") || args.positionals.length === 0) {
    process.stdout.write("usage: kosctl probe DESTINATION [--full-name rnstransport.probe] [--size 16] [--count 1] [--timeout S] [--wait S] [--json]\n\nSends probes and waits for their proofs, like rnprobe.\n");
    return args.flags.has("help") || args.flags.has("h") ? 0 : 2;
  }
  const destination = destinationArg(args.positionals[0]);
  const size = Number(flagString(args, "size") ?? 16);
  const count = Number(flagString(args, "count") ?? 1);
  if (!Number.isInteger(size) || size < 1 || size > 383) throw new CliError("--size must be 1 to 383 bytes", 2);
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new CliError("--count must be 1 to 1000", 2);
  const timeoutS = seconds(args, "timeout", 12);
  const waitS = flagString(args, "wait") !== undefined ? seconds(args, "wait", 1) : 0;
  // Sent only when given: it then also bounds the wait for each reply, as in rnprobe.
  const body = { destination, size, count, ...(flagString(args, "timeout") !== undefined ? { timeoutMs: timeoutS * 1000 } : {}), waitMs: waitS * 1000, ...(flagString(args, "full-name") ? { fullName: flagString(args, "full-name") } : {}) };
  const json = args.flags.has("json");
  const r = (await call(args, "probe", body, count * (timeoutS * 1000 + waitS * 1000 + 35_000) + timeoutS * 1000, (p) => {
    if (json) return;
    process.stdout.write(
      p["status"] === "delivered"
        ? `Valid reply from <${destination}>\nRound-trip time is ${Number(p["rttMs"]).toFixed(3)} milliseconds over ${p["hops"]} hop${p["hops"] === 1 ? "" : "s"}\n`
        : `Probe ${p["seq"]} timed out\n`,
    );
  })) as Record<string, any>;
  if (json) process.stdout.write(JSON.stringify(r, null, 2) + "\n");
  else process.stdout.write(`Sent ${r["sent"]}, received ${r["replies"]}, packet loss ${(100 * (1 - r["replies"] / r["sent"])).toFixed(2)}%\n`);
  return r["replies"] === r["sent"] ? 0 : 2;
}

export async function announceCommand(argv: string[]): Promise<number> {
  const args = parseArgs(argv, COMMON, COMMON_BOOL);
  if (args.flags.has("help") || args.flags.has("h")) {
    process.stdout.write("usage: kosctl announce [--json]\n\nAnnounces every destination of the running kosd now.\n");
    return 0;
  }
  const r = (await call(args, "announce", {}, 10_000)) as { announced: string[] };
  return out(args, r, () => r.announced.map((h) => `announced <${h}>\n`).join("") || "nothing to announce\n");
}

export async function cpCommand(argv: string[]): Promise<number> {
  const args = parseArgs(
    argv,
    [...COMMON, "listen", "fetch", "save", "allow", "no-auth", "allow-fetch", "jail", "overwrite", "timeout", "silent"],
    [...COMMON_BOOL, "listen", "fetch", "no-auth", "allow-fetch", "overwrite", "silent"],
  );
  if (args.flags.has("help") || args.flags.has("h")) {
    process.stdout.write(`usage:
  kosctl cp FILE DESTINATION                 send a file to an rncp/kosctl listener
  kosctl cp --fetch REMOTE_FILE DESTINATION  fetch a file from a listener that allows it [--save DIR]
  kosctl cp --listen [--save DIR] [--allow IDENTITY_HASH[,..]] [--no-auth] [--allow-fetch] [--jail DIR]
options: --timeout S, --overwrite, --silent, --json, --socket PATH | --data-dir DIR
`);
    return 0;
  }
  const silent = args.flags.has("silent") || args.flags.has("json");
  const bar = process.stderr.isTTY && !silent ? progressBar() : null;
  const onProgress = (p: Record<string, unknown>): void => {
    if (p["event"] === "progress" && bar) bar(Number(p["progress"]), Number(p["bytes"]));
    else if (p["event"] === "listening" && !silent) process.stdout.write(`kosctl cp listening on <${p["destination"]}> (identity <${p["identity"]}>), saving to ${p["saveDir"]}\n`);
    else if (p["event"] === "received") {
      bar?.(1, Number(p["bytes"]), true);
      if (!args.flags.has("json")) process.stdout.write(`received ${p["file"]} (${p["bytes"]} bytes) from <${p["from"]}>\n`);
      else process.stdout.write(JSON.stringify(p) + "\n");
    } else if ((p["event"] === "failed" || p["event"] === "error") && !silent) process.stderr.write(`kosctl: ${p["reason"] ?? p["message"]}\n`);
  };
  const timeoutS = seconds(args, "timeout", 15);
  if (args.flags.has("listen")) {
    const allowed = (flagString(args, "allow") ?? "").split(",").filter((s) => s.length > 0).map((h) => destinationArg(h, "--allow identity hash"));
    const body = {
      saveDir: path.resolve(flagString(args, "save") ?? "."),
      allowed,
      noAuth: args.flags.has("no-auth"),
      allowFetch: args.flags.has("allow-fetch"),
      overwrite: args.flags.has("overwrite"),
      ...(flagString(args, "jail") ? { fetchJail: path.resolve(flagString(args, "jail")!) } : {}),
    };
    await call(args, "cp-listen", body, 2 ** 31 - 1, onProgress);
    return 0;
  }
  if (args.flags.has("fetch")) {
    if (args.positionals.length !== 2) throw new CliError("usage: kosctl cp --fetch REMOTE_FILE DESTINATION", 2);
    const r = (await call(args, "cp-fetch", {
      file: args.positionals[0],
      destination: destinationArg(args.positionals[1]),
      saveDir: path.resolve(flagString(args, "save") ?? "."),
      overwrite: args.flags.has("overwrite"),
      timeoutMs: timeoutS * 1000,
    }, 3_600_000, onProgress)) as Record<string, unknown>;
    bar?.(1, Number(r["bytes"]), true);
    return out(args, r, () => `fetched ${r["file"]} (${r["bytes"]} bytes)\n`);
  }
  if (args.positionals.length !== 2) throw new CliError("usage: kosctl cp FILE DESTINATION (see --help)", 2);
  const r = (await call(args, "cp-send", { file: path.resolve(args.positionals[0]!), destination: destinationArg(args.positionals[1]), timeoutMs: timeoutS * 1000 }, 3_600_000, onProgress)) as Record<string, unknown>;
  bar?.(1, Number(r["bytes"]), true);
  return out(args, r, () => `sent ${r["file"]} (${r["bytes"]} bytes) in ${Number(r["seconds"]).toFixed(2)} s\n`);
}

function progressBar(): (fraction: number, bytes: number, done?: boolean) => void {
  return (fraction, bytes, done = false) => {
    const width = 30;
    const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
    process.stderr.write(`\r[${"#".repeat(filled)}${" ".repeat(width - filled)}] ${(fraction * 100).toFixed(1).padStart(5)}% of ${size(bytes)}${done ? "\n" : ""}`);
  };
}

function size(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(2)} KB`;
  return `${bytes} B`;
}

function rate(bps: number): string {
  if (bps >= 1e9) return `${(bps / 1e9).toFixed(2)} Gbps`;
  if (bps >= 1e6) return `${(bps / 1e6).toFixed(2)} Mbps`;
  if (bps >= 1e3) return `${(bps / 1e3).toFixed(2)} kbps`;
  return `${bps} bps`;
}

/** The `radio` field of an RNodeInterface row (runtime/host/radio.ts RadioRow), as kosctl reads it. */
interface RadioView {
  port: string;
  lastError: { code: string; message: string } | null;
  frequencyHz: number;
  bandwidthHz: number;
  spreadingFactor: number;
  codingRate: number;
  txPowerDbm: number;
  board: string | null;
  region: string | null;
  subBand: string | null;
  device: { firmware: string | null; board: number | null };
  lastPacket: { rssiDbm: number; snrDb: number } | null;
  channel: { airtimeShortPct: number; airtimeLongPct: number; channelLoadShortPct: number; channelLoadLongPct: number; noiseFloorDbm: number } | null;
  battery: { state: string; percent: number } | null;
  temperatureC: number | null;
  radioErrors: Record<string, number>;
  airtime: { budget: string; dutyCyclePct: number; windowMs: number; usedMs: number; allowedMs: number; heldPackets: number } | null;
}

function radioText(r: RadioView, up: boolean): string {
  const secs = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const where = [r.region !== null ? `${r.region}${r.subBand !== null ? ` ${r.subBand}` : ""}` : null, r.board].filter((x) => x !== null).join(", ");
  let t = `    Radio   : ${(r.frequencyHz / 1e6).toFixed(3)} MHz  ${r.bandwidthHz / 1000} kHz  SF${r.spreadingFactor}  CR4/${r.codingRate}  ${r.txPowerDbm} dBm${where !== "" ? `  (${where})` : ""}\n`;
  const fw = r.device.firmware !== null ? `, firmware ${r.device.firmware}${r.device.board !== null ? `, board 0x${r.device.board.toString(16).padStart(2, "0")}` : ""}` : "";
  t += `    Port    : ${r.port}${fw}\n`;
  // The driver keeps its last error after it recovers (when and why it went down); on a radio that is up
  // again it is history, not the current state.
  if (r.lastError !== null) t += `    ${up ? "Last err" : "Error   "}: ${r.lastError.message} (${r.lastError.code})\n`;
  const noise = r.channel !== null ? `, noise floor ${r.channel.noiseFloorDbm} dBm` : "";
  t += `    Signal  : ${r.lastPacket !== null ? `last packet ${r.lastPacket.rssiDbm} dBm, SNR ${r.lastPacket.snrDb} dB` : "no packet yet"}${noise}\n`;
  if (r.channel !== null) {
    const c = r.channel;
    t += `    Channel : load ${c.channelLoadShortPct.toFixed(2)} % (1 h ${c.channelLoadLongPct.toFixed(2)} %), own airtime ${c.airtimeShortPct.toFixed(2)} % (1 h ${c.airtimeLongPct.toFixed(2)} %)\n`;
  }
  if (r.airtime !== null) {
    const a = r.airtime;
    t += `    Airtime : ${secs(a.usedMs)} of ${secs(a.allowedMs)} per ${Math.round(a.windowMs / 60_000)} min (${a.dutyCyclePct} % duty cycle, ${a.budget})${a.heldPackets > 0 ? `, ${a.heldPackets} packets held` : ""}\n`;
  } else t += `    Airtime : no duty-cycle budget (no region configured)\n`;
  if (r.battery !== null) t += `    Battery : ${r.battery.percent} % ${r.battery.state}\n`;
  if (r.temperatureC !== null) t += `    Temp    : ${r.temperatureC} °C\n`;
  const errors = Object.entries(r.radioErrors);
  if (errors.length > 0) t += `    Errors  : ${errors.map(([k, n]) => `${k} ${n}`).join(", ")}\n`;
  return t;
}
