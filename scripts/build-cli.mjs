// Bundles the CLI (dist/cli/main.js and everything it imports, dependencies included) into
// dist/cli-bundle/: Node then compiles and links a handful of files at start-up instead of
// ~330 (inversify alone ships ~240). Code splitting keeps every lazily imported command module
// lazy: each dynamic import() becomes its own chunk, shared code goes to shared chunks.
// The input is tsc's output, so inversify's decorator metadata is already plain JavaScript.
import { build } from 'esbuild';
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
const needsPrelude = (code) => /\brequire\b|__abctlFilename/.test(code);
const result = await build({
  entryPoints: { main: join(root, 'dist', 'cli', 'main.js') },
  bundle: true,
  splitting: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outdir,
  chunkNames: 'chunk-[hash]',
  // ssh2 loads optional native add-ons (cpu-features, sshcrypto.node) with require in try/catch, and
  // typescript finds its lib/*.d.ts next to its own file: both stay in node_modules, loaded as before.
  external: ['ssh2', 'cpu-features', 'typescript'],
  define: { __filename: '__abctlFilename' },
  legalComments: 'none',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  write: false,
});
await mkdir(outdir, { recursive: true });
await Promise.all(result.outputFiles.map((f) => writeFile(f.path, needsPrelude(f.text) ? prelude + f.text : f.text)));
