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
 * Modules kosd loads only when a feature needs them, each bundled with its dependencies into one file of its
 * own beside the bundle (dist/node_modules/NAME/index.js, or dist/node_modules/NAME/SUBPATH.js for a module
 * imported by subpath), so that a daemon without that feature does not carry their code in memory: a bundled
 * module costs its source text on the V8 heap and its parse whether it ever runs or not. node-ble with
 * dbus-next and xml2js, for Bluetooth radios (about 460 KiB of code); MQTT.js's client with mqtt-packet and
 * readable-stream, for the [mqtt] bridge (about 500 KiB). Each is written here as the code imports it.
 */
const LAZY = ["node-ble", "mqtt/lib/client"];
/**
 * Optional modules of bundled packages that are never reached and are not installed: left as plain
 * requires. dbus-next (node-ble's D-Bus client) needs x11 only to find a session bus through an X display;
 * kosd talks to the system bus.
 */
const NEVER_LOADED = ["x11"];
/** Dependencies used only to compile an addon: never needed beside the bundle. */
const BUILD_ONLY = new Set(["node-gyp", "nan", "node-addon-api"]);
const PREBUILD_PLATFORMS = ["linux-arm", "linux-arm64", "linux-x64"];

/**
 * JSON files (the boards/ catalog) inlined as JSON.parse of one string rather than as object literals. V8
 * compiles a script's top level in one go, and a bundle's top level is every module's: 100 KiB of literals
 * there cost about 0.6 MiB of parser memory at start, which the process keeps; one string literal costs
 * nothing to parse (and JSON.parse is faster than the literal it replaces).
 */
const jsonAsText = {
  name: "json-as-text",
  setup(b) {
    b.onLoad({ filter: /\.json$/ }, async (args) => {
      const text = JSON.stringify(JSON.parse(await fs.promises.readFile(args.path, "utf8")));
      return { contents: `export default JSON.parse(${JSON.stringify(text)});\n`, loader: "js" };
    });
  },
};

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
    external: [...NATIVE, ...LAZY.map(packageOf)],
    // import() of a module beside the bundle becomes require(): through import(), Node would start its ESM
    // loader (about 3 MiB resident) to load a CommonJS file.
    supported: { "dynamic-import": false },
    define: { __KOS_VERSION__: JSON.stringify(pkg.version) },
    banner: { js: "#!/usr/bin/env node" },
    legalComments: "none",
    minify: false,
    sourcemap: false,
    metafile: true,
    plugins: [jsonAsText],
    logLevel: quiet ? "silent" : "warning",
  });
  for (const name of ["kosd.cjs", "kosctl.cjs"]) fs.chmodSync(path.join(dist, name), 0o755);
  for (const spec of LAZY) await bundleLazy(spec, quiet);
  asciiOnly(dist);
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

/** "mqtt/lib/client" -> "mqtt"; "@scope/name/x" -> "@scope/name". */
function packageOf(spec) {
  const parts = spec.split("/");
  return parts.slice(0, spec.startsWith("@") ? 2 : 1).join("/");
}

/**
 * One module and its dependencies as a single file that require(spec) finds beside the bundle:
 * dist/node_modules/NAME/index.js for a package, dist/node_modules/NAME/SUBPATH.js for a subpath.
 */
async function bundleLazy(spec, quiet) {
  const name = packageOf(spec);
  const subpath = spec.slice(name.length + 1);
  const manifest = findPackageDir(name, root);
  if (manifest === null) throw new Error(`bundle: ${name} is not installed (npm ci)`);
  const meta = JSON.parse(fs.readFileSync(manifest, "utf8"));
  const outDir = path.join(dist, "node_modules", name);
  await build({
    absWorkingDir: root,
    // Resolved the way the code's import resolves it (package exports included).
    stdin: { contents: `module.exports = require(${JSON.stringify(spec)});\n`, resolveDir: root, loader: "js" },
    outfile: path.join(outDir, subpath === "" ? "index.js" : `${subpath}.js`),
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: [...NATIVE, ...NEVER_LOADED],
    legalComments: "none",
    logLevel: quiet ? "silent" : "warning",
  });
  // kosd reaches these through import(), which resolves a subpath only through "exports" (no extension guessing).
  const manifestOut =
    subpath === ""
      ? { name, version: meta.version, license: meta.license, main: "index.js", exports: { ".": "./index.js" } }
      : { name, version: meta.version, license: meta.license, exports: { [`./${subpath}`]: `./${subpath}.js` } };
  fs.writeFileSync(path.join(outDir, "package.json"), JSON.stringify(manifestOut, null, 2) + "\n");
}

/**
 * Escapes the non-ASCII characters esbuild leaves in the comments it keeps (it escapes them everywhere else).
 * Node holds a script's source on the V8 heap for as long as it runs, one byte a character when the text is
 * Latin-1 and two otherwise: one arrow in one comment doubled kosd.cjs's 1.4 MiB of source in memory. A
 * \uXXXX escape reads the same in a comment, a string or a regular expression.
 */
function asciiOnly(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.c?js$/.test(entry.name)) continue;
    const file = path.join(entry.parentPath ?? entry.path, entry.name);
    const text = fs.readFileSync(file, "utf8");
    if (!/[^\x00-\x7f]/.test(text)) continue;
    fs.writeFileSync(file, text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
  }
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
