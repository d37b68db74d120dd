import type { CommandRun, JsonOption } from '../../command-spec.js';
import { printJson } from '../../session.js';
import { withCatalog } from './context.js';

/** Every document read and built, every archive hashed; exit 1 when anything is wrong. */
export const verifyCatalog: CommandRun<JsonOption> = (opts, globals) =>
  withCatalog(globals, async ({ catalog }) => {
    const v = await catalog.verify();
    const ok = v.problems.length === 0;
    if (opts.json) {
      printJson({ catalog: catalog.dir, ok, objects: v.objects, archives: v.archives, problems: v.problems });
      return ok ? 0 : 1;
    }
    const out = [`catalog ${catalog.dir}: checked ${v.objects} object${v.objects === 1 ? '' : 's'} and ${v.archives} archive${v.archives === 1 ? '' : 's'}`];
    for (const p of v.problems) out.push(`! ${p.file}: ${p.message}${p.hint ? `\n    hint: ${p.hint}` : ''}`);
    out.push(ok ? 'no problems' : `${v.problems.length} problem${v.problems.length === 1 ? '' : 's'}`);
    process.stdout.write(`${out.join('\n')}\n`);
    return ok ? 0 : 1;
  });
