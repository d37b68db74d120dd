'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire } = require('node:module');

/** The names CommonJS gives a module's code; the bundle is compiled as a function of them. */
const PARAMS = ['exports', 'require', 'module', '__filename', '__dirname'];

/**
 * The bytes of `file` in memory V8 maps itself (a WebAssembly memory) rather than a Buffer's.
 * glibc serves a large request with a mapping of its own, and freeing one raises its threshold to
 * that size: after readFileSync freed its 4 MiB buffer for main.cjs, the 1 MiB blocks a capture
 * moves came from malloc's heaps, which keep what is freed, instead of mappings given back at
 * once (captureFileSets peak RSS 3-5 MB higher on many small files; bench/README). Without
 * WebAssembly (node --jitless) it is a plain read.
 */
function readMapped(file) {
  if (typeof WebAssembly !== 'object') return fs.readFileSync(file);
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const bytes = Buffer.from(new WebAssembly.Memory({ initial: Math.ceil(size / 65536) || 1 }).buffer, 0, size);
    let read = 0;
    while (read < size) {
      const n = fs.readSync(fd, bytes, read, size - read, null);
      if (n === 0) break;
      read += n;
    }
    return bytes.subarray(0, read);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The bundle compiled with the code cache V8 made of it before (`<file>.cache`): Node 20's own
 * CommonJS loader cannot take one. A cache V8 rejects (another Node version, other V8 flags) only
 * costs the compilation it would have saved; a missing one is written once, best effort, from
 * what compiling produced (nothing has run yet). Written by hand: the package that does this for
 * every module (v8-compile-cache) cannot run import() from cached code either.
 *
 * compileFunction rather than a Script of `(function (exports, ...) {` + text + `})`: V8 keeps the
 * text it compiled for as long as the process runs (it compiles functions lazily from it), and
 * the wrapped copy was a second string as large as the bundle, dead but held until a full
 * garbage collection, which a capture reaches only well into its run (peak RSS, bench/README).
 * The build keeps main.cjs ASCII (test/cli-bundle.test.ts) so that string takes one byte a character.
 */
function compileBundle(file) {
  const cacheFile = `${file}.cache`;
  let cachedData;
  try {
    cachedData = readMapped(cacheFile);
  } catch {
    // none yet
  }
  // import() inside the bundle fails once the code comes from the cache (Node 20): the bundle
  // imports plugins through the function bin/abctl lends it instead (services/module-import.ts).
  const fn = vm.compileFunction(readMapped(file).toString('utf8'), PARAMS, { filename: file, cachedData, produceCachedData: cachedData === undefined });
  if (cachedData === undefined && fn.cachedData !== undefined) {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, fn.cachedData);
      fs.renameSync(tmp, cacheFile);
    } catch {
      fs.rmSync(tmp, { force: true });
    }
  }
  return { fn, cacheUsed: cachedData !== undefined && !fn.cachedDataRejected };
}

/** require() of the bundle, through compileBundle. */
function loadBundle(file) {
  const mod = { exports: {} };
  compileBundle(file).fn(mod.exports, createRequire(file), mod, file, path.dirname(file));
  return mod.exports;
}

module.exports = { compileBundle, loadBundle };
