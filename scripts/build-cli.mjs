// Bundles the CLI (dist/cli/main.js and everything it imports, dependencies included) into
// dist/cli-bundle/: Node then reads two files at start-up instead of ~330 modules (inversify
// alone ships ~240). The input is tsc's output, so inversify's decorator metadata is already
// plain JavaScript.
//
// The bundle is one CommonJS file, main.cjs, so that bin/abctl can compile it through vm.Script
// with V8's code cache (main.cjs.cache, written below): Node 20 keeps no compiled code between
// runs for modules it loads itself. Measured on a cold `describePlugins --json` at load ~8:
// 330 ms as ES module chunks, 338 ms as one CommonJS file without the cache, 253 ms with it
// (`node -e 0`: 145 ms). Modules stay lazy inside the file: esbuild runs each one's top level
// only when its import() is reached, and V8 compiles a function only when it first runs.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli-bundle');
await rm(outdir, { recursive: true, force: true });
// ssh2 requires its optional native add-ons in try/catch and runs without them: cpu-features by
// name (left external, found in node_modules as before) and its own sshcrypto.node by a relative
// path, which from the bundle's directory would never resolve. That one is rewritten to a path
// through the package (ssh2 has no "exports" map), which Node resolves from dist/cli-bundle/ like
// any dependency: used when it was built, skipped as before when it was not.
const nativeAddons = {
  name: 'native-addons',
  setup(b) {
    b.onResolve({ filter: /\.node$/ }, (args) => {
      const m = /node_modules\/(ssh2\/.*)$/.exec(join(args.resolveDir, args.path));
      if (!m) throw new Error(`${args.importer} requires a native add-on (${args.path}) that build-cli.mjs does not know`);
      return { path: m[1], external: true };
    });
  },
};
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // typescript finds its lib/*.d.ts next to its own file: it stays in node_modules, loaded as before.
  // ssh2 is bundled: its ~25 files (with asn1, bcrypt-pbkdf, tweetnacl) come with the one read of
  // main.cjs instead of being resolved and compiled one by one by Node's loader, and its code runs
  // only when a command opens an SSH host. Its optional native add-ons stay outside (nativeAddons).
  external: ['cpu-features', 'typescript'],
  plugins: [nativeAddons],
  // import.meta.url (services/instance.ts finds the package root from it) is the bundle's own URL;
  // a new build id per build keys the start-up caches (cli/start-cache.ts).
  define: { 'import.meta.url': '__abctlModuleUrl', __ABCTL_BUILD__: JSON.stringify(randomUUID()) },
  // Strict mode first: the sources are ES modules, strict by nature (the chunks before were too).
  banner: { js: "'use strict'; const __abctlModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
};
await Promise.all([
  build({ ...common, entryPoints: [join(root, 'dist', 'cli', 'main.js')], outfile: join(outdir, 'main.cjs') }),
  // What bin/abctl answers from the instance's cache (cli/fast-path.ts), before main.cjs is read.
  build({ ...common, entryPoints: [join(root, 'dist', 'cli', 'fast-path.js')], outfile: join(outdir, 'fast.cjs') }),
  // --help when no record holds the whole text (cli/help-quick.ts): discovery without commander.
  build({ ...common, entryPoints: [join(root, 'dist', 'cli', 'help-quick.js')], outfile: join(outdir, 'help.cjs') }),
]);
// bin/abctl writes main.cjs.cache when there is none; compiling once makes it, here rather than on
// a user's first run (an installed copy may not be writable).
createRequire(import.meta.url)('../bin/load-bundle.cjs').compileBundle(join(outdir, 'main.cjs'));
// What a new instance with the bundled plugins prints for --help and describePlugins, recorded once
// here so that a user's first command is answered as quickly as the later ones (cli/shipped-records.ts).
execFileSync(process.execPath, [join(root, 'scripts', 'shipped-records.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
