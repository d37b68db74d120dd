import type { CommandRun } from '../command-spec.js';
import type { DiscoverOptions } from '../command-table.js';
import { progressTo, sshSettings } from '../host-options.js';
import { createProgressView } from '../progress.js';
import { withInterrupt } from '../interrupt.js';
import { printJson, withApplication } from '../session.js';

/** `--name value` options that would introspect an installation, as a user would type them. */
function asOptions(parameters: Readonly<Record<string, unknown>>): string {
  return Object.entries(parameters)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `--${k} ${/^[\w@%+=:,./-]+$/.test(String(v)) ? String(v) : `'${String(v).replace(/'/g, "'\\''")}'`}`)
    .join(' ');
}

export const run: CommandRun<DiscoverOptions> = async (opts, globals) =>
  withApplication(globals, { activate: true }, async (app) => {
    const { DiscoverJob } = await import('../../services/jobs/discover-job.js');
    const view = createProgressView();
    const report = await withInterrupt((signal) =>
      app.get(DiscoverJob).discover({
        ...(opts.host !== undefined ? { host: opts.host } : {}),
        hostOptions: sshSettings(opts),
        progress: progressTo(view),
        signal,
      }),
    );
    view.done();
    if (opts.json) {
      printJson(report);
      return 0;
    }
    process.stdout.write(`on ${report.host}:\n`);
    if (report.plugins.length === 0) process.stdout.write('  no enabled plugin offers discovery\n');
    for (const p of report.plugins) {
      if (p.error) process.stdout.write(`  ${p.plugin}: discovery failed: ${p.error}\n`);
      else if (p.installations.length === 0) process.stdout.write(`  ${p.plugin}: nothing found\n`);
      for (const i of p.installations) {
        process.stdout.write(`  ${p.plugin}: ${i.description}\n    abctl introspect${p.plugin} ${asOptions(i.parameters)}${report.host === 'local' ? '' : ` --host ${report.host}`}\n`);
      }
    }
    return 0;
  });
