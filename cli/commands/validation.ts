/** validateBase and validateHost: thin wrappers over services/validation. */
import type { RequirementsReport } from '../../services/validation/module.js';
import { formatProblems } from '../../core/requirements/index.js';
import type { CommandRun } from '../command-spec.js';
import { withInterrupt } from '../interrupt.js';
import { targetOptions } from './deploy.js';
import { printJson, withApplication } from '../session.js';
import type { ValidateBaseOptions, ValidateHostOptions } from '../validation-commands.js';

/** Prints the reports; exit 1 when one has an error (the refusal names the plugins and how to fix). */
function report(json: boolean | undefined, reports: readonly RequirementsReport[], skipped: readonly { target: string; why: string }[], retry: string): Promise<number> {
  return import('../../services/validation/module.js').then(({ refusal }) => {
    const err = refusal(reports, retry);
    if (json) {
      printJson({ ok: err === undefined, reports, skipped });
      return err ? 1 : 0;
    }
    for (const r of reports) {
      const warnings = r.problems.filter((p) => p.severity === 'warning').length;
      const errors = r.problems.length - warnings;
      const verdict = errors > 0 ? `${errors} error(s), ${warnings} warning(s)` : warnings > 0 ? `ok, ${warnings} warning(s)` : 'ok';
      process.stdout.write(`${r.subject} (${r.appliances.join(', ')}): ${verdict}; ${r.checked} requirement(s) of ${r.plugins.join(', ') || 'no plugin'} checked\n`);
      for (const line of formatProblems(r.problems)) process.stdout.write(`  ${line}\n`);
    }
    for (const s of skipped) process.stdout.write(`${s.target}: skipped (${s.why})\n`);
    if (err) {
      process.stderr.write(`error: ${err.message.split('\n')[0]}\n  hint: ${err.hint ?? ''}\n`);
      return 1;
    }
    return 0;
  });
}

export const validateBase: CommandRun<ValidateBaseOptions> = (opts, globals) =>
  withApplication(globals, { activate: true }, async (app) => {
    const [{ ValidationService, baseFilesOf }, { openBase }] = await Promise.all([import('../../services/validation/module.js'), import('../../services/image/base.js')]);
    const service = app.get(ValidationService);
    const participants = await service.participantsOf(opts.appliance, opts.assembly);
    const base = await openBase(opts.base);
    let r;
    try {
      r = await withInterrupt((signal) => service.checkBase(participants, baseFilesOf(base), { signal }));
    } finally {
      await base.close();
    }
    return report(opts.json, [r], [], `run abctl validateBase --appliance ${opts.appliance} --base ${opts.base} again`);
  });

export const validateHost: CommandRun<ValidateHostOptions> = (opts, globals) =>
  withApplication(globals, { activate: true }, async (app) => {
    const { ValidationService } = await import('../../services/validation/module.js');
    const r = await withInterrupt((signal) =>
      app.get(ValidationService).validateHosts(opts.assembly, opts.plan, {
        signal,
        targetOptions: targetOptions(opts),
      }),
    );
    return report(opts.json, r.reports, r.skipped, `run abctl validateHost --assembly ${opts.assembly} --plan ${opts.plan} again`);
  });
