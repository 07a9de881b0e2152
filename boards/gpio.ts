// Turns an SBC profile's GPIO line (an offset on the chip named by its label) into the sysfs GPIO number of
// this machine: base of /sys/class/gpio/gpiochipN whose `label` matches, plus the offset. Recent Raspberry
// Pi OS kernels put that base at 512 (Pi 4) or 571 (Pi 5), so numbers are never stored, only computed here.
import * as fs from "node:fs";
import * as path from "node:path";
import type { SbcBoard } from "./schema.js";

export interface GpioChipInfo {
  /** `gpiochip512` */
  name: string;
  base: number;
  label: string;
  ngpio: number;
}

export type GpioNumber = { ok: true; number: number; chip: GpioChipInfo } | { ok: false; reason: string };

/** The sysfs number of `line` on the SBC's GPIO chip, from the chips this machine reports. Pure. */
export function sysfsGpioNumber(chips: readonly GpioChipInfo[], sbc: Pick<SbcBoard, "gpio" | "name">, line: number): GpioNumber {
  if (!Number.isInteger(line) || line < 0 || line >= sbc.gpio.lineCount) return { ok: false, reason: `line ${line} is not one of the ${sbc.gpio.lineCount} lines of ${sbc.gpio.chipLabel}` };
  const matching = chips.filter((c) => c.label === sbc.gpio.chipLabel);
  if (matching.length === 0) {
    const seen = chips.map((c) => `${c.name} "${c.label}"`).join(", ") || "none";
    return { ok: false, reason: `no GPIO chip labelled "${sbc.gpio.chipLabel}" (is this a ${sbc.name}?); chips found: ${seen}` };
  }
  if (matching.length > 1) return { ok: false, reason: `${matching.length} GPIO chips are labelled "${sbc.gpio.chipLabel}" (${matching.map((c) => c.name).join(", ")}); cannot tell which` };
  const chip = matching[0]!;
  if (line >= chip.ngpio) return { ok: false, reason: `${chip.name} has ${chip.ngpio} lines, not line ${line}` };
  return { ok: true, number: chip.base + line, chip };
}

/** Reads every gpiochip under the sysfs GPIO class folder; chips whose files are unreadable or odd are skipped. */
export function readGpioChips(root = "/sys/class/gpio"): GpioChipInfo[] {
  let names: string[];
  try {
    names = fs.readdirSync(root).filter((n) => /^gpiochip\d+$/.test(n)).sort();
  } catch {
    return [];
  }
  const out: GpioChipInfo[] = [];
  for (const name of names.slice(0, 64)) {
    try {
      const read = (f: string): string => fs.readFileSync(path.join(root, name, f), "utf8").trim();
      const base = Number(read("base"));
      const ngpio = Number(read("ngpio"));
      const label = read("label");
      if (Number.isSafeInteger(base) && base >= 0 && Number.isSafeInteger(ngpio) && ngpio > 0) out.push({ name, base, label, ngpio });
    } catch {
      // A chip that disappeared or cannot be read is not one we can use.
    }
  }
  return out;
}
