import type { CommandRun } from '../command-spec.js';
import type { EnablePluginOptions, PluginNameOptions } from '../command-table.js';
import { printJson, withApplication } from '../session.js';

async function installer(app: import('../../services/app.js').Application) {
  const { PluginInstaller } = await import('../../services/plugins/installation.js');
  return app.get(PluginInstaller);
}

export const uninstall: CommandRun<PluginNameOptions> = async (opts, globals) =>
  withApplication(globals, { activate: false }, async (app) => {
    const result = await (await installer(app)).uninstall(opts.name);
    if (opts.json) printJson(result);
    else {
      process.stdout.write(`uninstalled ${result.removed.join(', ')}\n`);
      for (const n of result.leftBroken) process.stdout.write(`warning: ${n} ships with abctl and stays, now without its parent\n`);
    }
    return 0;
  });

export const disable: CommandRun<PluginNameOptions> = async (opts, globals) =>
  withApplication(globals, { activate: false }, async (app) => {
    const result = await (await installer(app)).disable(opts.name);
    if (opts.json) printJson(result);
    else {
      process.stdout.write(`disabled ${result.disabled.join(', ')}\n`);
      for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
    }
    return 0;
  });

export const enable: CommandRun<EnablePluginOptions> = async (opts, globals) =>
  withApplication(globals, { activate: false }, async (app) => {
    const result = await (await installer(app)).enable(opts.name, { recursive: opts.recursive === true });
    if (opts.json) printJson(result);
    else {
      process.stdout.write(`enabled ${result.enabled.join(', ')}\n`);
      for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
    }
    return 0;
  });
