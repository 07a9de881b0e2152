// Every data file under boards/, built into the program (esbuild inlines JSON imports, so the bundle needs no
// data folder beside it). One line per file: a new file needs its line here, and test/boards/catalog.test.ts
// fails until it has one. The entries are checked by ./index.ts (builtinCatalog), never trusted as typed.
import type { DataFile } from "./index.js";
import chip_sx1262 from "./chip/sx1262.json" with { type: "json" };
import chip_sx1268 from "./chip/sx1268.json" with { type: "json" };
import chip_sx1276 from "./chip/sx1276.json" with { type: "json" };
import chip_sx1278 from "./chip/sx1278.json" with { type: "json" };
import chip_sx1280 from "./chip/sx1280.json" with { type: "json" };
import rnode_heltec_lora32_v2 from "./rnode/heltec-lora32-v2.json" with { type: "json" };
import rnode_heltec_lora32_v3 from "./rnode/heltec-lora32-v3.json" with { type: "json" };
import rnode_heltec_lora32_v4 from "./rnode/heltec-lora32-v4.json" with { type: "json" };
import rnode_heltec_t114 from "./rnode/heltec-t114.json" with { type: "json" };
import rnode_homebrew_esp32 from "./rnode/homebrew-esp32.json" with { type: "json" };
import rnode_lilygo_lora32_v1_0 from "./rnode/lilygo-lora32-v1.0.json" with { type: "json" };
import rnode_lilygo_lora32_v2_0 from "./rnode/lilygo-lora32-v2.0.json" with { type: "json" };
import rnode_lilygo_lora32_v2_1 from "./rnode/lilygo-lora32-v2.1.json" with { type: "json" };
import rnode_lilygo_t3s3_sx1262 from "./rnode/lilygo-t3s3-sx1262.json" with { type: "json" };
import rnode_lilygo_t3s3_sx127x from "./rnode/lilygo-t3s3-sx127x.json" with { type: "json" };
import rnode_lilygo_t3s3_sx1280 from "./rnode/lilygo-t3s3-sx1280.json" with { type: "json" };
import rnode_lilygo_tbeam_supreme from "./rnode/lilygo-tbeam-supreme.json" with { type: "json" };
import rnode_lilygo_tbeam_sx1262 from "./rnode/lilygo-tbeam-sx1262.json" with { type: "json" };
import rnode_lilygo_tbeam_sx127x from "./rnode/lilygo-tbeam-sx127x.json" with { type: "json" };
import rnode_lilygo_tdeck from "./rnode/lilygo-tdeck.json" with { type: "json" };
import rnode_lilygo_techo from "./rnode/lilygo-techo.json" with { type: "json" };
import rnode_rak4631 from "./rnode/rak4631.json" with { type: "json" };
import rnode_rnode_v1 from "./rnode/rnode-v1.json" with { type: "json" };
import rnode_rnode_v2_0 from "./rnode/rnode-v2.0.json" with { type: "json" };
import rnode_rnode_v2_1 from "./rnode/rnode-v2.1.json" with { type: "json" };
import rnode_seeed_xiao_esp32s3_wio_sx1262 from "./rnode/seeed-xiao-esp32s3-wio-sx1262.json" with { type: "json" };
import sbc_raspberry_pi_3b_plus from "./sbc/raspberry-pi-3b-plus.json" with { type: "json" };
import sbc_raspberry_pi_4 from "./sbc/raspberry-pi-4.json" with { type: "json" };
import sbc_raspberry_pi_5 from "./sbc/raspberry-pi-5.json" with { type: "json" };
import sbc_raspberry_pi_zero_2_w from "./sbc/raspberry-pi-zero-2-w.json" with { type: "json" };
import region_as923 from "./region/as923.json" with { type: "json" };
import region_au915 from "./region/au915.json" with { type: "json" };
import region_eu433 from "./region/eu433.json" with { type: "json" };
import region_eu868 from "./region/eu868.json" with { type: "json" };
import region_in865 from "./region/in865.json" with { type: "json" };
import region_jp920 from "./region/jp920.json" with { type: "json" };
import region_kr920 from "./region/kr920.json" with { type: "json" };
import region_us915 from "./region/us915.json" with { type: "json" };
import modem_long_fast from "./modem/long-fast.json" with { type: "json" };
import modem_long_moderate from "./modem/long-moderate.json" with { type: "json" };
import modem_long_slow from "./modem/long-slow.json" with { type: "json" };
import modem_long_turbo from "./modem/long-turbo.json" with { type: "json" };
import modem_medium_fast from "./modem/medium-fast.json" with { type: "json" };
import modem_medium_slow from "./modem/medium-slow.json" with { type: "json" };
import modem_sf12_bw125_cr48 from "./modem/sf12-bw125-cr48.json" with { type: "json" };
import modem_sf7_bw125_cr45 from "./modem/sf7-bw125-cr45.json" with { type: "json" };
import modem_sf8_bw125_cr45 from "./modem/sf8-bw125-cr45.json" with { type: "json" };
import modem_short_fast from "./modem/short-fast.json" with { type: "json" };
import modem_short_slow from "./modem/short-slow.json" with { type: "json" };
import modem_short_turbo from "./modem/short-turbo.json" with { type: "json" };

export const BUILTIN_FILES: readonly DataFile[] = [
  { file: "chip/sx1262.json", value: chip_sx1262 },
  { file: "chip/sx1268.json", value: chip_sx1268 },
  { file: "chip/sx1276.json", value: chip_sx1276 },
  { file: "chip/sx1278.json", value: chip_sx1278 },
  { file: "chip/sx1280.json", value: chip_sx1280 },
  { file: "rnode/heltec-lora32-v2.json", value: rnode_heltec_lora32_v2 },
  { file: "rnode/heltec-lora32-v3.json", value: rnode_heltec_lora32_v3 },
  { file: "rnode/heltec-lora32-v4.json", value: rnode_heltec_lora32_v4 },
  { file: "rnode/heltec-t114.json", value: rnode_heltec_t114 },
  { file: "rnode/homebrew-esp32.json", value: rnode_homebrew_esp32 },
  { file: "rnode/lilygo-lora32-v1.0.json", value: rnode_lilygo_lora32_v1_0 },
  { file: "rnode/lilygo-lora32-v2.0.json", value: rnode_lilygo_lora32_v2_0 },
  { file: "rnode/lilygo-lora32-v2.1.json", value: rnode_lilygo_lora32_v2_1 },
  { file: "rnode/lilygo-t3s3-sx1262.json", value: rnode_lilygo_t3s3_sx1262 },
  { file: "rnode/lilygo-t3s3-sx127x.json", value: rnode_lilygo_t3s3_sx127x },
  { file: "rnode/lilygo-t3s3-sx1280.json", value: rnode_lilygo_t3s3_sx1280 },
  { file: "rnode/lilygo-tbeam-supreme.json", value: rnode_lilygo_tbeam_supreme },
  { file: "rnode/lilygo-tbeam-sx1262.json", value: rnode_lilygo_tbeam_sx1262 },
  { file: "rnode/lilygo-tbeam-sx127x.json", value: rnode_lilygo_tbeam_sx127x },
  { file: "rnode/lilygo-tdeck.json", value: rnode_lilygo_tdeck },
  { file: "rnode/lilygo-techo.json", value: rnode_lilygo_techo },
  { file: "rnode/rak4631.json", value: rnode_rak4631 },
  { file: "rnode/rnode-v1.json", value: rnode_rnode_v1 },
  { file: "rnode/rnode-v2.0.json", value: rnode_rnode_v2_0 },
  { file: "rnode/rnode-v2.1.json", value: rnode_rnode_v2_1 },
  { file: "rnode/seeed-xiao-esp32s3-wio-sx1262.json", value: rnode_seeed_xiao_esp32s3_wio_sx1262 },
  { file: "sbc/raspberry-pi-3b-plus.json", value: sbc_raspberry_pi_3b_plus },
  { file: "sbc/raspberry-pi-4.json", value: sbc_raspberry_pi_4 },
  { file: "sbc/raspberry-pi-5.json", value: sbc_raspberry_pi_5 },
  { file: "sbc/raspberry-pi-zero-2-w.json", value: sbc_raspberry_pi_zero_2_w },
  { file: "region/as923.json", value: region_as923 },
  { file: "region/au915.json", value: region_au915 },
  { file: "region/eu433.json", value: region_eu433 },
  { file: "region/eu868.json", value: region_eu868 },
  { file: "region/in865.json", value: region_in865 },
  { file: "region/jp920.json", value: region_jp920 },
  { file: "region/kr920.json", value: region_kr920 },
  { file: "region/us915.json", value: region_us915 },
  { file: "modem/long-fast.json", value: modem_long_fast },
  { file: "modem/long-moderate.json", value: modem_long_moderate },
  { file: "modem/long-slow.json", value: modem_long_slow },
  { file: "modem/long-turbo.json", value: modem_long_turbo },
  { file: "modem/medium-fast.json", value: modem_medium_fast },
  { file: "modem/medium-slow.json", value: modem_medium_slow },
  { file: "modem/sf12-bw125-cr48.json", value: modem_sf12_bw125_cr48 },
  { file: "modem/sf7-bw125-cr45.json", value: modem_sf7_bw125_cr45 },
  { file: "modem/sf8-bw125-cr45.json", value: modem_sf8_bw125_cr45 },
  { file: "modem/short-fast.json", value: modem_short_fast },
  { file: "modem/short-slow.json", value: modem_short_slow },
  { file: "modem/short-turbo.json", value: modem_short_turbo },
];
