// Bundles the agent (dist/services/rehydration/agent-main.js and everything it imports) into one
// file, dist/abctl-agent.mjs: what a bundle ships so that an instance needs only Node.js.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  stdin: {
    contents: "import { agentMain } from './services/rehydration/agent-main.js';\nprocess.exitCode = await agentMain(process.argv.slice(2));\n",
    resolveDir: join(root, 'dist'),
    loader: 'js',
  },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outfile: join(root, 'dist', 'abctl-agent.mjs'),
  // Some dependencies still call require() on Node built-ins; ESM output needs it defined.
  // ssh2 (bundled for plugins' utils.ssh) also reads __dirname, which ESM has not: defined here.
  banner: {
    js:
      "#!/usr/bin/env node\nimport { createRequire as __abctlRequire } from 'node:module'; const require = __abctlRequire(import.meta.url);" +
      " import { fileURLToPath as __abctlPath } from 'node:url'; const __filename = __abctlPath(import.meta.url); const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
  },
  // ssh2 (for plugins' utils.ssh on an instance) tries its native add-ons in try/catch and runs
  // without them; left out, the agent stays one file that needs nothing compiled on the instance.
  external: ['*.node'],
  legalComments: 'none',
  logLevel: 'warning',
});
