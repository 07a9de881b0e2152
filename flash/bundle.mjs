// Builds dist/kosd.cjs and dist/kosctl.cjs: single-file esbuild bundles that run with plain `node`.
// Native addons are never bundled: their packages are copied beside the bundle into dist/node_modules,
// keeping only the Linux prebuilds a gateway can use (arm, arm64, x64).
import { build } from "esbuild";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const finalDist = path.join(root, "dist");
// Build beside dist/ and swap it in at the end, so a running kosd/kosctl never sees a half-built tree.
let dist = finalDist;
const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"));

/** Packages with native code: loaded at run time from dist/node_modules. */
const NATIVE = ["@serialport/bindings-cpp", "epoll", "usocket", "msgpackr-extract"];
/**
 * Packages kosd loads only when it needs them, each bundled into one file of its own at
 * dist/node_modules/NAME/index.js, so that a daemon without that need does not carry it in memory (node-ble
 * with dbus-next and xml2js, for Bluetooth radios: about 460 KiB of code, 1.6 MiB resident when bundled in).
 */
const LAZY = ["node-ble"];
/**
 * Optional modules of bundled packages that are never reached and are not installed: left as plain
 * requires. dbus-next (node-ble's D-Bus client) needs x11 only to find a session bus through an X display;
 * kosd talks to the system bus.
 */
const NEVER_LOADED = ["x11"];
/** Dependencies used only to compile an addon: never needed beside the bundle. */
const BUILD_ONLY = new Set(["node-gyp", "nan", "node-addon-api"]);
const PREBUILD_PLATFORMS = ["linux-arm", "linux-arm64", "linux-x64"];

export async function bundle({ quiet = false } = {}) {
  dist = fs.mkdtempSync(path.join(root, ".dist-build-"));
  const result = await build({
    absWorkingDir: root,
    entryPoints: { kosd: "runtime/host/kosd.ts", kosctl: "runtime/host/kosctl.ts" },
    outdir: dist,
    // CommonJS output: Node's ESM loader costs about 2 MiB of resident memory for nothing a daemon needs.
    outExtension: { ".js": ".cjs" },
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: [...NATIVE, ...LAZY],
    define: { __KOS_VERSION__: JSON.stringify(pkg.version) },
    banner: { js: "#!/usr/bin/env node" },
    legalComments: "none",
    minify: false,
    sourcemap: false,
    metafile: true,
    logLevel: quiet ? "silent" : "warning",
  });
  for (const name of ["kosd.cjs", "kosctl.cjs"]) fs.chmodSync(path.join(dist, name), 0o755);
  for (const name of LAZY) await bundleLazy(name, quiet);
  const copied = new Set();
  for (const name of NATIVE) copyPackage(name, copied);
  const old = `${finalDist}.old-${process.pid}`;
  if (fs.existsSync(finalDist)) fs.renameSync(finalDist, old);
  fs.renameSync(dist, finalDist);
  fs.rmSync(old, { recursive: true, force: true });
  dist = finalDist;
  if (!quiet) {
    for (const [file, info] of Object.entries(result.metafile.outputs)) {
      process.stdout.write(`dist/${path.basename(file)}  ${(info.bytes / 1024).toFixed(0)} KiB\n`);
    }
    process.stdout.write(`native packages beside the bundle: ${[...copied].join(", ") || "none"}\n`);
  }
  return result;
}

/** One package and its dependencies as a single file, dist/node_modules/NAME/index.js, that require(NAME) finds. */
async function bundleLazy(name, quiet) {
  const manifest = findPackageDir(name, root);
  if (manifest === null) throw new Error(`bundle: ${name} is not installed (npm ci)`);
  const meta = JSON.parse(fs.readFileSync(manifest, "utf8"));
  const outDir = path.join(dist, "node_modules", name);
  await build({
    absWorkingDir: root,
    entryPoints: [path.join(path.dirname(manifest), meta.main ?? "index.js")],
    outfile: path.join(outDir, "index.js"),
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: [...NATIVE, ...NEVER_LOADED],
    legalComments: "none",
    logLevel: quiet ? "silent" : "warning",
  });
  fs.writeFileSync(path.join(outDir, "package.json"), JSON.stringify({ name, version: meta.version, license: meta.license, main: "index.js" }, null, 2) + "\n");
}

/** Copies an installed package (and its runtime dependencies) into dist/node_modules. */
function copyPackage(name, copied) {
  if (copied.has(name)) return;
  const manifest = findPackageDir(name, root);
  if (manifest === null) return; // optional native package not installed on this machine
  copied.add(name);
  const from = path.dirname(manifest);
  const to = path.join(dist, "node_modules", name);
  fs.cpSync(from, to, {
    recursive: true,
    filter: (src) => {
      const rel = path.relative(from, src);
      if (rel.startsWith("prebuilds" + path.sep)) {
        const platform = rel.split(path.sep)[1];
        return PREBUILD_PLATFORMS.includes(platform);
      }
      return !/^(src|test|docs?|\.github|build\/Release\/obj\.target)(\/|$)/.test(rel);
    },
  });
  const deps = JSON.parse(fs.readFileSync(manifest, "utf8")).dependencies ?? {};
  for (const dep of Object.keys(deps)) {
    if (BUILD_ONLY.has(dep)) continue;
    copyPackageFrom(dep, from, copied);
  }
}

/** Finds an installed package the way Node does: node_modules folders from `fromDir` upwards. */
function findPackageDir(name, fromDir) {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, "node_modules", name, "package.json");
    if (fs.existsSync(candidate)) return candidate;
    if (path.dirname(dir) === dir) return null;
  }
}

function copyPackageFrom(name, fromDir, copied) {
  if (copied.has(name)) return;
  const manifest = findPackageDir(name, fromDir);
  if (manifest === null) throw new Error(`bundle: dependency ${name} of a native package is not installed`);
  copied.add(name);
  fs.cpSync(path.dirname(manifest), path.join(dist, "node_modules", name), { recursive: true });
  const deps = JSON.parse(fs.readFileSync(manifest, "utf8")).dependencies ?? {};
  for (const dep of Object.keys(deps)) if (!BUILD_ONLY.has(dep)) copyPackageFrom(dep, path.dirname(manifest), copied);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await bundle();
}
