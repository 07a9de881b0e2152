// SBC GPIO numbering (boards/gpio.ts): the sysfs number of a profile's line comes from the chip whose label
// matches, read from a sysfs tree at run time, never from a stored number.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readGpioChips, sysfsGpioNumber, type GpioChipInfo } from "../../boards/gpio.js";
import { builtinCatalog } from "../../boards/index.js";

const pi = (id: string) => builtinCatalog().find("sbc", id)!;

function fakeSysfs(chips: { name: string; base: string; label: string; ngpio: string }[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "kos-gpio-"));
  for (const c of chips) {
    fs.mkdirSync(path.join(root, c.name));
    fs.writeFileSync(path.join(root, c.name, "base"), c.base + "\n");
    fs.writeFileSync(path.join(root, c.name, "label"), c.label + "\n");
    fs.writeFileSync(path.join(root, c.name, "ngpio"), c.ngpio + "\n");
  }
  fs.writeFileSync(path.join(root, "export"), "");
  return root;
}

test("a Pi 4 line is the pinctrl-bcm2711 chip's base plus the offset", (t) => {
  const root = fakeSysfs([
    { name: "gpiochip512", base: "512", label: "pinctrl-bcm2711", ngpio: "58" },
    { name: "gpiochip570", base: "570", label: "raspberrypi-exp-gpio", ngpio: "8" },
  ]);
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const chips = readGpioChips(root);
  assert.deepEqual(chips.map((c) => c.name), ["gpiochip512", "gpiochip570"]);
  const reset = pi("raspberry-pi-4").radioReset!;
  assert.deepEqual(sysfsGpioNumber(chips, pi("raspberry-pi-4"), reset.line), { ok: true, number: 517, chip: chips[0] });
});

test("a Pi 5 finds the RP1 chip by label wherever it is numbered", () => {
  const chips: GpioChipInfo[] = [
    { name: "gpiochip512", base: 512, label: "gpio-brcmstb@107d508500", ngpio: 32 },
    { name: "gpiochip571", base: 571, label: "pinctrl-rp1", ngpio: 54 },
  ];
  const r = sysfsGpioNumber(chips, pi("raspberry-pi-5"), 26);
  assert.ok(r.ok);
  assert.equal(r.number, 597);
});

test("a missing, ambiguous or too small chip is a reason, not a guess", () => {
  const sbc = pi("raspberry-pi-4");
  const other: GpioChipInfo = { name: "gpiochip0", base: 0, label: "pinctrl-bcm2835", ngpio: 54 };
  const r1 = sysfsGpioNumber([other], sbc, 5);
  assert.ok(!r1.ok && /no GPIO chip labelled "pinctrl-bcm2711" \(is this a Raspberry Pi 4 Model B\?\); chips found: gpiochip0 "pinctrl-bcm2835"/.test(r1.reason));
  const twin = { ...other, label: "pinctrl-bcm2711" };
  const r2 = sysfsGpioNumber([twin, { ...twin, name: "gpiochip100", base: 100 }], sbc, 5);
  assert.ok(!r2.ok && /2 GPIO chips are labelled/.test(r2.reason));
  const r3 = sysfsGpioNumber([{ ...twin, ngpio: 4 }], sbc, 5);
  assert.ok(!r3.ok && /has 4 lines, not line 5/.test(r3.reason));
  const r4 = sysfsGpioNumber([twin], sbc, 58);
  assert.ok(!r4.ok && /line 58 is not one of the 58 lines/.test(r4.reason));
});

test("unreadable or odd chips are skipped and a missing sysfs folder gives no chips", (t) => {
  const root = fakeSysfs([
    { name: "gpiochip0", base: "zero", label: "x", ngpio: "8" },
    { name: "gpiochip8", base: "8", label: "y", ngpio: "8" },
  ]);
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  assert.deepEqual(readGpioChips(root).map((c) => c.name), ["gpiochip8"]);
  assert.deepEqual(readGpioChips(path.join(root, "nope")), []);
});

test("every SBC profile names its chip by label and wires only header lines", () => {
  for (const s of builtinCatalog().list("sbc")) {
    assert.match(s.gpio.chipLabel, /^pinctrl-/, s.id);
    assert.ok(s.radioReset !== null && s.relays.length > 0 && s.buttons.length > 0, s.id);
    assert.ok(s.header.every((h) => h.line < 28), s.id);
  }
});
