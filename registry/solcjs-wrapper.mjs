#!/usr/bin/env node
// A `solc`-compatible command line over the npm `solc` package (the official compiler built to
// JavaScript), for py-solc-x and Slither on machines where no native solc can be installed.
//
// Understands `--version` and `--standard-json` (input on stdin, output on stdout); every other
// flag is accepted and ignored (solcjs itself rejects `--allow-paths`, which callers pass).
// Unlike the `solcjs` command it never prints `>>>` lines, retries reads of a non-blocking stdin
// pipe that answer EAGAIN, and lets Node flush stdout before exiting, so a large output is never
// cut at 64 KiB.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

// The compiler is looked up in PATENTPOOL_NODE_MODULES, then in node_modules beside the current
// directory and its parents.
function findNodeModules() {
  const candidates = [];
  if (process.env.PATENTPOOL_NODE_MODULES) candidates.push(process.env.PATENTPOOL_NODE_MODULES);
  let dir = process.cwd();
  for (;;) {
    candidates.push(path.join(dir, "node_modules"));
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  const scriptDir = path.dirname(new URL(import.meta.url).pathname);
  candidates.push(path.join(scriptDir, "..", "node_modules"));
  for (const c of candidates) {
    if (fs.existsSync(path.join(c, "solc", "package.json"))) return c;
  }
  process.stderr.write("solcjs-wrapper: the npm package `solc` is not installed (run `npm ci`)\n");
  process.exit(2);
}

// Reads all of stdin; a non-blocking pipe answers EAGAIN while empty, so wait and retry.
function readStdin() {
  const chunks = [];
  const buf = Buffer.alloc(1 << 16);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    let n;
    try {
      n = fs.readSync(0, buf, 0, buf.length, null);
    } catch (err) {
      if (err.code === "EAGAIN") {
        Atomics.wait(pause, 0, 0, 5);
        continue;
      }
      if (err.code === "EOF") break;
      throw err;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString("utf8");
}

const args = process.argv.slice(2);
const nodeModules = findNodeModules();
const solc = createRequire(path.join(nodeModules, "noop.js"))("solc");

if (args.includes("--version")) {
  process.stdout.write(`solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
} else if (args.includes("--standard-json")) {
  const roots = [process.cwd(), path.dirname(nodeModules), nodeModules];
  const findImport = (importPath) => {
    const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.join(r, importPath));
    for (const c of candidates) {
      if (fs.existsSync(c) && fs.statSync(c).isFile()) return { contents: fs.readFileSync(c, "utf8") };
    }
    return { error: `File not found: ${importPath}` };
  };
  const output = solc.compile(readStdin(), { import: findImport });
  process.stdout.write(output);
} else {
  process.stderr.write("solcjs-wrapper: only --version and --standard-json are supported\n");
  process.exitCode = 2;
}
