// Bundles the CLI (dist/cli/main.js and everything it imports, dependencies included) into
// dist/cli-bundle/: Node then compiles and links a handful of files at start-up instead of
// ~330 (inversify alone ships ~240). Code splitting keeps every lazily imported command module
// lazy: each dynamic import() becomes its own chunk, shared code goes to shared chunks.
// The input is tsc's output, so inversify's decorator metadata is already plain JavaScript.
import { build } from 'esbuild';
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'cli-bundle');
await rm(outdir, { recursive: true, force: true });
// CommonJS dependencies use require() on Node built-ins and __filename (write-file-atomic hashes it
// into temporary names); ESM output has neither, so a chunk that uses them defines them under names
// of its own. Only those chunks get the prelude: createRequire in each of the ~30 chunks a command
// loads cost a few ms of start-up (measured on `abctl --help`, issue 14).
const prelude =
  "import { createRequire as __abctlRequire } from 'node:module'; import { fileURLToPath as __abctlPath } from 'node:url';\n" +
  'const require = __abctlRequire(import.meta.url); const __abctlFilename = __abctlPath(import.meta.url);\n';
// A false match (the word in a string) only adds the prelude where it is not needed.
const needsPrelude = (code, path) => !path.endsWith('.cjs') && /\brequire\b|__abctlFilename/.test(code);
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // ssh2 loads optional native add-ons (cpu-features, sshcrypto.node) with require in try/catch, and
  // typescript finds its lib/*.d.ts next to its own file: both stay in node_modules, loaded as before.
  external: ['ssh2', 'cpu-features', 'typescript'],
  // A new id per build keys the start-up caches (cli/start-cache.ts): no build prints what another cached.
  define: { __filename: '__abctlFilename', __ABCTL_BUILD__: JSON.stringify(randomUUID()) },
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  write: false,
};
// The plugin.config scan that `abctl --help` runs is a file of its own, with its own copies of
// discovery and errors: split, it spans ~10 shared chunks, and each ES module Node loads costs
// about 1.5 ms of start-up (measured: 15 ms of CPU for the scan as chunks, issue 14). Nothing
// crosses between the copies but plain name/description pairs (its errors are swallowed there).
const helpScan = join(root, 'dist', 'cli', 'help-plugins.js');
const keepHelpScanApart = {
  name: 'help-scan-apart',
  setup(b) {
    b.onResolve({ filter: /\/help-plugins\.js$/ }, (args) =>
      join(args.resolveDir, args.path) === helpScan ? { path: './help-plugins.js', external: true } : undefined,
    );
  },
};
const results = await Promise.all([
  build({
    ...common,
    entryPoints: { main: join(root, 'dist', 'cli', 'main.js') },
    splitting: true,
    outdir,
    chunkNames: 'chunk-[hash]',
    plugins: [keepHelpScanApart],
  }),
  build({ ...common, entryPoints: [helpScan], outfile: join(outdir, 'help-plugins.js') }),
  // What bin/abctl answers from the instance's cache (cli/fast-path.ts): CommonJS, so that Node
  // need not start its ES module loader for it (measured ~6 ms of `node` on an empty ES module).
  build({
    ...common,
    entryPoints: [join(root, 'dist', 'cli', 'fast-path.js')],
    outfile: join(outdir, 'fast.cjs'),
    format: 'cjs',
    define: { ...common.define, __filename: '__filename', 'import.meta.url': '__abctlModuleUrl' },
    banner: { js: "const __abctlModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  }),
]);
await mkdir(outdir, { recursive: true });
await Promise.all(
  results.flatMap((r) => r.outputFiles).map((f) => writeFile(f.path, needsPrelude(f.text, f.path) ? prelude + f.text : f.text)),
);
