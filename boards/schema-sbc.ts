// Validator for single-board computer entries of the board schema (./schema.ts). GPIO lines are offsets on
// the chip named by its label; the wiring (LEDs, buttons, radio reset, relays) must use header pins whose
// line the header table gives, and never a reserved line or one line twice.
import { Fields, arrayOf, bool, idText, int, nullable, text, type Reader } from "./check.js";
import { childPath } from "./json.js";
import type { EntryBase, GpioPin, SbcBoard, SbcLed } from "./schema.js";

type Body<T> = Omit<T, keyof EntryBase | "kind">;

const pinFields = (f: Fields): GpioPin | undefined => {
  const line = f.req("line", int(0, 1023));
  const headerPin = f.req("headerPin", int(1, 40));
  const activeLow = f.req("activeLow", bool());
  return f.clean() ? { line: line!, headerPin: headerPin!, activeLow: activeLow! } : undefined;
};
const pin: Reader<GpioPin> = (v, path, out) => pinFields(new Fields(v, path, out, ["line", "headerPin", "activeLow"]));
const namedPin: Reader<{ id: string } & GpioPin> = (v, path, out) => {
  const f = new Fields(v, path, out, ["id", "line", "headerPin", "activeLow"]);
  const id = f.req("id", idText());
  const p = pinFields(f);
  return f.clean() && p ? { id: id!, ...p } : undefined;
};
const led: Reader<SbcLed> = (v, path, out) => {
  const isKernel = typeof v === "object" && v !== null && Object.hasOwn(v, "sysfsNames");
  if (!isKernel) {
    const p = namedPin(v, path, out);
    return p ? { source: "gpio", ...p } : undefined;
  }
  const f = new Fields(v, path, out, ["id", "sysfsNames"]);
  const id = f.req("id", idText());
  const sysfsNames = f.req("sysfsNames", arrayOf(text({ maxChars: 64, pattern: /^[A-Za-z0-9_:.-]+$/, what: "an LED name under /sys/class/leds" }), { min: 1, max: 4 }));
  return f.clean() ? { id: id!, source: "sysfs-led", sysfsNames: sysfsNames! } : undefined;
};

export function sbc(f: Fields): Body<SbcBoard> | undefined {
  const soc = f.req("soc", text({ maxChars: 40 }));
  const gpio = f.req("gpio", (v, path, out) => {
    const g = new Fields(v, path, out, ["chipLabel", "lineCount"]);
    const chipLabel = g.req("chipLabel", text({ maxChars: 64, pattern: /^\S+$/, what: "a gpiochip label without spaces" }));
    const lineCount = g.req("lineCount", int(1, 1024));
    return g.clean() ? { chipLabel: chipLabel!, lineCount: lineCount! } : undefined;
  });
  const header = f.req("header", arrayOf((v, path, out) => {
    const g = new Fields(v, path, out, ["pin", "line"]);
    const p = g.req("pin", int(1, 40));
    const line = g.req("line", int(0, 1023));
    return g.clean() ? { pin: p!, line: line! } : undefined;
  }, { min: 1, max: 40 }));
  const reservedLines = f.opt("reservedLines", arrayOf((v, path, out) => {
    const g = new Fields(v, path, out, ["line", "use"]);
    const line = g.req("line", int(0, 1023));
    const use = g.req("use", text({ maxChars: 80 }));
    return g.clean() ? { line: line!, use: use! } : undefined;
  }, { max: 64 }), []);
  const leds = f.opt("leds", arrayOf(led, { max: 16 }), []);
  const buttons = f.opt("buttons", arrayOf(namedPin, { max: 16 }), []);
  const radioReset = f.opt("radioReset", nullable(pin), null);
  const relays = f.opt("relays", arrayOf(namedPin, { max: 16 }), []);
  if (!f.clean()) return undefined;
  const body: Body<SbcBoard> = { soc: soc!, gpio: gpio!, header: header!, reservedLines: reservedLines!, leds: leds!, buttons: buttons!, radioReset: radioReset!, relays: relays! };
  checkWiring(body, f);
  return f.clean() ? body : undefined;
}

function checkWiring(b: Body<SbcBoard>, f: Fields): void {
  const at = (...keys: (string | number)[]): string => keys.reduce<string>((p, k) => childPath(p, k), f.path);
  const lineOfPin = new Map<number, number>();
  const pinOfLine = new Map<number, number>();
  b.header.forEach((h, i) => {
    if (lineOfPin.has(h.pin)) f.out.add(at("header", i, "pin"), `header pin ${h.pin} is listed twice`);
    if (pinOfLine.has(h.line)) f.out.add(at("header", i, "line"), `line ${h.line} is already on header pin ${pinOfLine.get(h.line)}`);
    if (h.line >= b.gpio.lineCount) f.out.add(at("header", i, "line"), `line ${h.line} is beyond the chip's ${b.gpio.lineCount} lines`);
    lineOfPin.set(h.pin, h.line);
    pinOfLine.set(h.line, h.pin);
  });
  const reserved = new Map(b.reservedLines.map((r) => [r.line, r.use]));
  const used = new Map<number, string>();
  const wire = (p: GpioPin, path: string): void => {
    const expected = lineOfPin.get(p.headerPin);
    if (expected === undefined) f.out.add(childPath(path, "headerPin"), `header pin ${p.headerPin} carries no GPIO line in the header table`);
    else if (expected !== p.line) f.out.add(childPath(path, "line"), `header pin ${p.headerPin} is line ${expected}, not ${p.line}`);
    if (reserved.has(p.line)) f.out.add(childPath(path, "line"), `line ${p.line} is reserved (${reserved.get(p.line)})`);
    if (used.has(p.line)) f.out.add(childPath(path, "line"), `line ${p.line} is already used by ${used.get(p.line)}`);
    used.set(p.line, path);
  };
  b.leds.forEach((l, i) => {
    if (l.source === "gpio") wire(l, at("leds", i));
  });
  b.buttons.forEach((x, i) => wire(x, at("buttons", i)));
  if (b.radioReset) wire(b.radioReset, at("radioReset"));
  b.relays.forEach((x, i) => wire(x, at("relays", i)));
  const ids = new Set<string>();
  for (const [list, name] of [[b.leds, "leds"], [b.buttons, "buttons"], [b.relays, "relays"]] as const) {
    list.forEach((x, i) => {
      if (ids.has(x.id)) f.out.add(at(name, i, "id"), `id "${x.id}" is used twice`);
      ids.add(x.id);
    });
  }
}
