// How one action-log entry becomes one MQTT message (./mqtt-bridge.ts): its topic and its payload.
//
// Topic: <prefix>/<kind>/<author hex>. A kind is free text up to 64 bytes; the characters MQTT gives a meaning
// in a topic name (+ and # are wildcards, / separates levels) and those it forbids or discourages (NUL and the
// other control characters) become "_", so one kind is always exactly one topic level. Two kinds that differ
// only there share a topic; the payload always carries the real kind.
//
// Payload "binary": the entry's canonical MessagePack bytes, as stored and signed; SHA-256 of the payload is
// the entry hash, so a subscriber deduplicates and verifies without trusting anything else. Payload "json":
// the entry's fields (body decoded from MessagePack where possible), its hash and signature in hex, and the
// canonical bytes in base64 (`encoded`) for offline verification. With MQTT 5 the hash, author and seq also
// travel as user properties.
import { toHex, type Bytes } from "../core/bytes.js";
import type { LogEntry } from "../log/entry.js";
import { entryJson } from "./log-ops.js";

export type PayloadFormat = "binary" | "json";

/** MIME types of the two payloads (MQTT 5 content type). */
export const CONTENT_TYPES: Readonly<Record<PayloadFormat, string>> = {
  binary: "application/vnd.kos-edge.log-entry+msgpack",
  json: "application/json",
};

/**
 * One topic level from an entry kind: "+", "#", "/", NUL and the characters MQTT says a topic should not hold
 * (control characters, lone surrogates, Unicode non-characters) become "_"; never empty.
 */
export function topicLevel(kind: string): string {
  let level = "";
  for (const ch of kind) {
    const c = ch.codePointAt(0)!;
    const bad =
      ch === "+" || ch === "#" || ch === "/" || c <= 0x1f || (c >= 0x7f && c <= 0x9f) || (c >= 0xd800 && c <= 0xdfff) || (c >= 0xfdd0 && c <= 0xfdef) || (c & 0xfffe) === 0xfffe;
    level += bad ? "_" : ch;
  }
  return level.length === 0 ? "_" : level;
}

/** `<prefix>/<kind>/<author hex>`. */
export function entryTopic(prefix: string, kind: string, author: Bytes): string {
  return `${prefix}/${topicLevel(kind)}/${toHex(author)}`;
}

/** The JSON payload of an entry: every field, body decoded where it is MessagePack, bytes in hex. */
export function entryJsonPayload(e: LogEntry): Record<string, unknown> {
  return { version: e.version, ...entryJson(e, true), encoded: Buffer.from(e.encoded.buffer, e.encoded.byteOffset, e.encoded.byteLength).toString("base64") };
}

export interface EntryMessage {
  topic: string;
  payload: Buffer;
  /** MQTT 5 publish properties (ignored by MQTT 3.1.1). */
  properties: {
    contentType: string;
    payloadFormatIndicator: boolean;
    userProperties: Record<string, string>;
  };
}

export function entryMessage(e: LogEntry, prefix: string, format: PayloadFormat): EntryMessage {
  const payload =
    format === "json" ? Buffer.from(JSON.stringify(entryJsonPayload(e))) : Buffer.from(e.encoded.buffer, e.encoded.byteOffset, e.encoded.byteLength);
  return {
    topic: entryTopic(prefix, e.kind, e.author),
    payload,
    properties: {
      contentType: CONTENT_TYPES[format],
      payloadFormatIndicator: format === "json",
      userProperties: { hash: toHex(e.hash), author: toHex(e.author), seq: String(e.seq) },
    },
  };
}
