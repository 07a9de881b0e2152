// The MQTT bridge's state as text, for `kosctl status` and `kosctl log status` (the fields of
// MqttBridge.status() in ./mqtt-bridge.ts). Kept apart from the bridge so kosctl never bundles MQTT.js.

type Row = Record<string, any>;

const AUTHORS_SHOWN = 8;

function ago(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
}

/** Several lines, each indented like the interface blocks of `kosctl status`. */
export function mqttStatusText(m: Row | null | undefined, nowMs: number = Date.now()): string {
  if (m === null || m === undefined || m["enabled"] !== true) return " mqtt bridge off ([mqtt] enabled = no)\n";
  let t = ` MQTT bridge to ${m["url"]}  topics ${m["topicPrefix"]}/<kind>/<author>  (${m["payload"]}, MQTT ${m["protocol"]}, client ${m["clientId"]})\n`;
  const state = String(m["state"]);
  let status: string;
  if (state === "connected") status = `connected for ${ago(nowMs - Number(m["connectedSinceMs"]))}`;
  else if (m["nextAttemptInMs"] !== null && m["nextAttemptInMs"] !== undefined) status = `${state}, next attempt in ${ago(Number(m["nextAttemptInMs"]))}`;
  else status = state;
  t += `    Status  : ${status}\n`;
  const err = m["lastError"] as Row | null;
  if (err !== null && err !== undefined) t += `    Error   : ${err["message"]} (${ago(nowMs - Number(err["atMs"]))} ago)\n`;
  t += `    Queue   : ${m["queued"]} entr${m["queued"] === 1 ? "y" : "ies"} not yet acknowledged by the broker, ${m["inFlight"]} in flight (window ${m["window"]})\n`;
  t += `    Sent    : ${m["published"]} published, ${m["acknowledged"]} acknowledged since kosd started\n`;
  const authors = (m["authors"] as Row[] | undefined) ?? [];
  for (const a of authors.slice(0, AUTHORS_SHOWN)) {
    t += `    Acked   : ${a["author"]} up to seq ${a["acked"]} of ${a["head"]}${a["queued"] > 0 ? `  (${a["queued"]} queued)` : ""}\n`;
  }
  const more = Number(m["authorCount"] ?? authors.length) - Math.min(authors.length, AUTHORS_SHOWN);
  if (more > 0) t += `    Acked   : ... and ${more} more author(s) (--json lists them)\n`;
  return t;
}
