// Known-answer tests: interface access codes recorded from RNS 1.4.2 (test/vectors/rns-1.4.2-ifac.json).
import { test } from "node:test";
import assert from "node:assert/strict";
import { toHex } from "../../runtime/core/bytes.js";
import { IFAC_SALT, InterfaceAccessCode } from "../../runtime/wire/ifac.js";
import { hex, vectorFile } from "../helpers.js";

interface IfacVector {
  description: string;
  network_name: string | null;
  passphrase: string | null;
  ifac_size: number;
  ifac_key: string;
  ifac: string;
  raw: string;
  masked: string;
}
interface InvalidIfacVector {
  description: string;
  network_name: string | null;
  passphrase: string | null;
  ifac_size: number;
  masked: string;
}
interface IfacVectors {
  ifac_salt: string;
  ifac: IfacVector[];
  invalid: InvalidIfacVector[];
}

const load = (): IfacVectors => vectorFile<IfacVectors>("rns-1.4.2-ifac.json");
const label = (section: string, v: { description: string; network_name: string | null; passphrase: string | null }, i: number): string =>
  `${section} ${i} (${v.description}; network ${JSON.stringify(v.network_name)}, passphrase ${JSON.stringify(v.passphrase)})`;

test("the IFAC vector file has entries and our IFAC salt equals the reference's", () => {
  const v = load();
  assert.ok(v.ifac.length > 0 && v.invalid.length > 0);
  assert.equal(toHex(IFAC_SALT), v.ifac_salt, "IFAC salt");
});

test("InterfaceAccessCode.derive reproduces every reference IFAC key", async (t) => {
  for (const [i, v] of load().ifac.entries()) {
    const l = label("ifac", v, i);
    await t.test(l, () => {
      const code = InterfaceAccessCode.derive(v.network_name, v.passphrase, v.ifac_size);
      assert.equal(toHex(code.key), v.ifac_key, `${l}: key`);
      assert.equal(code.size, v.ifac_size, `${l}: size`);
    });
  }
});

test("InterfaceAccessCode.apply reproduces every reference masked frame", async (t) => {
  for (const [i, v] of load().ifac.entries()) {
    const l = label("ifac", v, i);
    await t.test(l, () => {
      const code = InterfaceAccessCode.derive(v.network_name, v.passphrase, v.ifac_size);
      const masked = code.apply(hex(v.raw));
      assert.equal(toHex(masked.subarray(2, 2 + v.ifac_size)), v.ifac, `${l}: access code`);
      assert.equal(toHex(masked), v.masked, `${l}: masked frame`);
    });
  }
});

test("InterfaceAccessCode.strip recovers every reference raw packet", async (t) => {
  for (const [i, v] of load().ifac.entries()) {
    const l = label("ifac", v, i);
    await t.test(l, () => {
      const code = InterfaceAccessCode.derive(v.network_name, v.passphrase, v.ifac_size);
      const res = code.strip(hex(v.masked));
      assert.ok(res.ok, `${l}: strip: ${res.ok ? "" : res.reason}`);
      assert.equal(toHex(res.value), v.raw, `${l}: raw`);
    });
  }
});

test("InterfaceAccessCode.strip refuses every frame the reference drops", async (t) => {
  for (const [i, v] of load().invalid.entries()) {
    const l = label("invalid", v, i);
    await t.test(l, () => {
      const code = InterfaceAccessCode.derive(v.network_name, v.passphrase, v.ifac_size);
      assert.equal(code.strip(hex(v.masked)).ok, false, l);
    });
  }
});
