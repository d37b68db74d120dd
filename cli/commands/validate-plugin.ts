import type { ValidatePluginOptions } from '../authoring-commands.js';
import type { CommandRun } from '../command-spec.js';
import { printJson, withApplication } from '../session.js';

export const run: CommandRun<ValidatePluginOptions> = async (opts, globals) =>
  withApplication(globals, { activate: false }, async (app) => {
    const { UserError } = await import('../../core/errors.js');
    const { validatePluginDirectory } = await import('../../services/authoring/validation.js');
    const parameters: Record<string, string> = {};
    for (const p of opts.param ?? []) {
      const eq = p.indexOf('=');
      if (eq <= 0) throw new UserError('OPTION_INVALID', `--param ${p}: expected name=value`, { hint: 'e.g. --param home=/opt/product' });
      parameters[p.slice(0, eq)] = p.slice(eq + 1);
    }
    const inventory = await app.inventory();
    const report = await validatePluginDirectory(opts.dir, {
      ...(opts.with ? { with: opts.with } : {}),
      ...(opts.sample !== undefined ? { sample: opts.sample } : {}),
      parameters,
      // An extension's parent may already be installed (or ship with abctl).
      findPlugin: async (name) => inventory.records.get(name)?.directory,
      // Plugin log lines would mix with the JSON on stdout; they go to stderr either way.
      sink: (line) => process.stderr.write(`${line}\n`),
    });
    if (opts.json) printJson(report);
    else {
      const what = report.plugin ? `${report.kind} ${report.plugin}` : report.directory;
      process.stdout.write(`${report.ok ? 'valid' : 'invalid'}: ${what} (${report.directory})\n`);
      for (const c of report.checks) process.stdout.write(`  ${c.status.padEnd(7)} ${c.check}${c.note ? `: ${c.note}` : ''}\n`);
      if (report.sample) {
        process.stdout.write(`  sample ${report.sample.directory}: appliance ${report.sample.appliances.join(', ')}; file sets ${report.sample.fileSets.join(', ') || 'none'}; content ${report.sample.contentResources.join(', ') || 'none'}\n`);
      }
      for (const p of report.problems) {
        process.stdout.write(`! [${p.check}] ${p.where}: ${p.message} (${p.code})${p.hint ? `\n    hint: ${p.hint}` : ''}\n`);
      }
    }
    return report.ok ? 0 : 1;
  });
