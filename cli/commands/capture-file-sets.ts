import type { CommandRun } from '../command-spec.js';
import type { CaptureFileSetsOptions } from '../command-table.js';
import { mib } from '../format.js';
import { progressTo, sshSettings } from '../host-options.js';
import { createProgressView } from '../progress.js';
import { withInterrupt } from '../interrupt.js';
import { printJson, withApplication } from '../session.js';

export const run: CommandRun<CaptureFileSetsOptions> = async (opts, globals) =>
  withApplication(globals, { activate: true }, async (app) => {
    const { CaptureJob } = await import('../../services/jobs/capture-job.js');
    const view = createProgressView();
    try {
      const { captured, disabledExtensions } = await withInterrupt((signal) =>
        app.get(CaptureJob).capture(opts.appliance, {
          ...(opts.host !== undefined ? { host: opts.host } : {}),
          hostOptions: sshSettings(opts),
          codec: opts.codec,
          progress: progressTo(view),
          signal,
        }),
      );
      view.done();
      if (opts.json) printJson({ captured, disabledExtensions });
      else if (captured.length === 0) process.stdout.write(`${opts.appliance} has no file sets to capture\n`);
      else {
        for (const c of captured) {
          process.stdout.write(`captured ${c.appliance}/${c.fileSet}: ${c.files} files, ${mib(c.bytes)} -> ${mib(c.archiveBytes)}, sha256 ${c.sha256}\n`);
          for (const s of c.skipped) process.stdout.write(`  skipped ${s.path} (${s.reason})\n`);
        }
      }
      return 0;
    } finally {
      view.done();
    }
  });
