/** createBase: a thin wrapper over services/image/base-builder.ts and the requirement checks of services/validation. */
import { UserError } from '../../core/errors.js';
import type { CommandRun } from '../command-spec.js';
import type { CreateBaseOptions } from '../image-commands.js';
import { createProgressView } from '../progress.js';
import { withInterrupt } from '../interrupt.js';
import { printJson, withApplication } from '../session.js';

export const run: CommandRun<CreateBaseOptions> = async (opts, globals) =>
  withApplication(globals, { activate: true }, async (app) => {
    const [{ buildBase, contentsOf, DEFAULT_BASE_TIMEOUT_MS }, { ValidationService }] = await Promise.all([import('../../services/image/base-builder.js'), import('../../services/validation/module.js')]);
    if (opts.assembly !== undefined && opts.plugin !== undefined) {
      throw new UserError('BASE_BUILD_INVALID', '--assembly and --plugin both say whose requirements the base must meet', { hint: 'give one of them' });
    }
    const timeoutMs = process.env['AB_BASE_TIMEOUT_MS'] ? Number(process.env['AB_BASE_TIMEOUT_MS']) : DEFAULT_BASE_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UserError('BASE_BUILD_INVALID', `AB_BASE_TIMEOUT_MS="${process.env['AB_BASE_TIMEOUT_MS']}" is not a positive number of milliseconds`, { where: 'AB_BASE_TIMEOUT_MS', hint: 'unset it or give e.g. 1800000' });
    const service = app.get(ValidationService);
    const participants = opts.assembly !== undefined ? await service.participantsOfAssembly(opts.assembly) : await service.participantsOfPlugins(opts.plugin ?? []);
    const warn = (line: string): void => void process.stderr.write(`${line}\n`);
    const view = createProgressView();
    try {
      const built = await withInterrupt(async (signal) => {
        const contents = contentsOf(await service.declaredRequirements(participants, { signal, warn }), (opts.include ?? '').split(',').map((p) => p.trim()).filter(Boolean));
        return buildBase({
          out: opts.out,
          suite: opts.suite,
          ...(opts.mirror !== undefined ? { mirror: opts.mirror } : {}),
          contents,
          ...(opts.updates === false ? { updates: [] } : {}),
          signal,
          timeoutMs,
          onProgress: (line, kind) => {
            if (kind === 'step' && !opts.json) {
              view.done();
              process.stderr.write(`${line}\n`);
            } else view.plugin('createBase', -1, line);
          },
          check: async (dir, out) => {
            await service.checkNewBase(participants, dir, out, { signal, warn });
          },
        });
      });
      view.done();
      if (opts.json) printJson(built);
      else {
        process.stdout.write(`${built.dir}: Debian ${built.suite}${built.updates.length ? ` (with ${built.updates.join(', ')})` : ''} from ${built.mirror}, made in ${built.seconds.toFixed(0)} s\n`);
        process.stdout.write(`  packages: ${built.packages.join(', ') || '(minbase only)'}\n  groups: ${built.groups.join(', ') || '-'}\n  users: ${built.users.join(', ') || '-'}\n`);
        process.stdout.write(`  use it: abctl createTemplate --base ${built.dir} ... or abctl deploy --base ${built.dir} ...\n`);
      }
      return 0;
    } finally {
      view.done();
    }
  });
