// Framing benchmarks: HDLC and KISS encode/decode throughput for 500-byte (MTU) packets, about 1 s each.
// Rates are packets per second; mbPerSec counts payload bytes (10^6 bytes per MB).
import { seededRandom } from "../../runtime/core/ports.js";
import { HdlcDecoder, hdlcEncode } from "../../runtime/wire/hdlc.js";
import { KissDecoder, kissEncode } from "../../runtime/wire/kiss.js";
import { measureOps } from "./measure.js";

const PACKET_BYTES = 500;
const STREAM_PACKETS = 64;
const TIMING = { rounds: 3, roundMs: 333, batch: 64 };

export interface FramingFigure {
  name: string;
  opsPerSec: number;
  mbPerSec?: number;
}

function figure(name: string, fn: (i: number) => void, packetsPerOp = 1): FramingFigure {
  const opsPerSec = measureOps(fn, TIMING) * packetsPerOp;
  return { name, opsPerSec, mbPerSec: (opsPerSec * PACKET_BYTES) / 1e6 };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export async function benchFraming(): Promise<FramingFigure[]> {
  const rng = seededRandom(500);
  const packets = Array.from({ length: 16 }, () => rng.bytes(PACKET_BYTES));
  const hdlcFrames = packets.map(hdlcEncode);
  const kissFrames = packets.map((p) => kissEncode(0, p));
  const hdlcStream = concat(Array.from({ length: STREAM_PACKETS }, (_, i) => hdlcFrames[i % 16]!));
  const kissStream = concat(Array.from({ length: STREAM_PACKETS }, (_, i) => kissFrames[i % 16]!));
  const hdlc = new HdlcDecoder();
  const kiss = new KissDecoder();
  let sink = 0;
  const figures = [
    figure("hdlc encode 500 B", (i) => (sink += hdlcEncode(packets[i & 15]!).length)),
    figure("hdlc decode 500 B", (i) => (sink += hdlc.push(hdlcFrames[i & 15]!).length)),
    figure("hdlc decode 500 B, 64 per chunk", () => (sink += hdlc.push(hdlcStream).length), STREAM_PACKETS),
    figure("kiss encode 500 B", (i) => (sink += kissEncode(0, packets[i & 15]!).length)),
    figure("kiss decode 500 B", (i) => (sink += kiss.push(kissFrames[i & 15]!).length)),
    figure("kiss decode 500 B, 64 per chunk", () => (sink += kiss.push(kissStream).length), STREAM_PACKETS),
  ];
  if (sink < 0) throw new Error("unreachable");
  return figures;
}
