import type { CommandRun } from '../command-spec.js';
import type { InstallPluginsOptions } from '../command-table.js';
import { printJson, withApplication } from '../session.js';

export const run: CommandRun<InstallPluginsOptions> = async (opts, globals) =>
  withApplication(globals, { activate: false }, async (app) => {
    const { PluginInstaller } = await import('../../services/plugins/installation.js');
    const outcomes = await app.get(PluginInstaller).install(opts.from, { allowDowngrade: opts.allowDowngrade === true, force: opts.force === true, link: opts.link === true });
    if (opts.json) printJson({ outcomes });
    else {
      for (const o of outcomes) {
        const versions = o.previousVersion ? `${o.previousVersion} -> ${o.version}` : (o.version ?? '?');
        process.stdout.write(`${o.action.padEnd(10)} ${o.name} ${versions}${o.reason ? `: ${o.reason}` : ''}\n`);
      }
    }
    return outcomes.some((o) => o.action === 'refused') ? 1 : 0;
  });
