'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire } = require('node:module');

/**
 * The bundle compiled with the code cache V8 made of it before (`<file>.cache`): Node 20's own
 * CommonJS loader cannot take one. A cache V8 rejects (another Node version, other V8 flags) only
 * costs the compilation it would have saved; a missing one is written once, best effort, from
 * what compiling produced (nothing has run yet). Written by hand: the package that does this for
 * every module (v8-compile-cache) cannot run import() from cached code either.
 */
function compileBundle(file) {
  const cacheFile = `${file}.cache`;
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {
    // none yet
  }
  const source = `(function (exports, require, module, __filename, __dirname) {${fs.readFileSync(file, 'utf8')}\n})`;
  // import() inside the bundle fails once the script comes from the cache (Node 20): the bundle
  // imports plugins through the function bin/abctl lends it instead (services/module-import.ts).
  const script = new vm.Script(source, { filename: file, cachedData });
  if (cachedData === undefined) {
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, cacheFile);
    } catch {
      fs.rmSync(tmp, { force: true });
    }
  }
  return { script, cacheUsed: cachedData !== undefined && !script.cachedDataRejected };
}

/** require() of the bundle, through compileBundle. */
function loadBundle(file) {
  const mod = { exports: {} };
  compileBundle(file).script.runInThisContext()(mod.exports, createRequire(file), mod, file, path.dirname(file));
  return mod.exports;
}

module.exports = { compileBundle, loadBundle };
