import type { CreatePluginOptions } from '../authoring-commands.js';
import type { CommandRun } from '../command-spec.js';
import { printJson } from '../session.js';

// No instance and no plugins are involved: files are written and nothing else.
export const run: CommandRun<CreatePluginOptions> = async (opts) => {
  const { scaffoldPlugin } = await import('../../services/authoring/scaffold.js');
  const result = await scaffoldPlugin({
    name: opts.name,
    ...(opts.parent !== undefined ? { parent: opts.parent } : {}),
    ...(opts.alias ? { alias: true } : {}),
    ...(opts.dir !== undefined ? { dir: opts.dir } : {}),
    ...(opts.typescript ? { typescript: true } : {}),
    ...(opts.product !== undefined ? { product: opts.product } : {}),
  });
  if (opts.json) printJson(result);
  else {
    process.stdout.write(`created ${result.kind} ${opts.name} in ${result.directory}: ${result.files.join(', ')}\n`);
    process.stdout.write(`next:\n${result.next.map((l) => `  ${l}\n`).join('')}`);
  }
  return 0;
};
