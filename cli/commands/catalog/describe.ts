import type { Appliance, Assembly, AtomicAssembly } from '../../../core/metadata/index.js';
import type { Catalog, CatalogProblem, FileSetStatus } from '../../../catalog/index.js';
import type { NameFilterOptions } from '../../catalog-commands.js';
import type { CommandRun, JsonOption } from '../../command-spec.js';
import { printJson } from '../../session.js';
import { withCatalog } from './context.js';
import { fileSetStates, renderAppliance, renderAssembly } from './render.js';

/** A file set's archive state for --json: the state, and the record when there is one. */
function stateJson(s: FileSetStatus): Record<string, unknown> {
  const a = s.archive;
  return {
    appliance: s.appliance,
    fileSet: s.fileSet,
    capturedByDefinition: s.capturedByDefinition,
    state: a.state,
    ...(a.state === 'notCaptured' ? {} : { archive: a.archive }),
    ...(a.state === 'damaged' ? { reason: a.reason } : {}),
  };
}

/** File set states of each named top-level object, in order (archives hashed a few at a time per object). */
async function statesOf(catalog: Catalog, names: readonly string[]): Promise<FileSetStatus[][]> {
  const out: FileSetStatus[][] = [];
  for (const n of names) out.push(await catalog.fileSetStates(n));
  return out;
}

function printProblems(problems: readonly CatalogProblem[]): void {
  for (const p of problems) process.stdout.write(`! ${p.file}: ${p.message}${p.hint ? ` (hint: ${p.hint})` : ''}\n`);
}

export const describeCatalog: CommandRun<JsonOption> = (opts, globals) =>
  withCatalog(globals, async ({ catalog }) => {
    const summary = await catalog.describe();
    if (opts.json) {
      printJson({ catalog: catalog.dir, ...summary });
      return 0;
    }
    const out: string[] = [`catalog ${catalog.dir}`];
    out.push(summary.appliances.length ? 'appliances:' : 'appliances: none');
    for (const a of summary.appliances) {
      out.push(`  ${a.name}  (type ${a.type}, created by ${a.creator}; ${a.properties} properties, ${a.fileSets} file sets, ${a.contentResources} content resources)`);
    }
    out.push(summary.assemblies.length ? 'assemblies:' : 'assemblies: none');
    for (const a of summary.assemblies) {
      out.push(`  ${a.name}  (${a.kind === 'atomicAssembly' ? `atomic, created by ${a.creator}` : 'assembly'}; ${a.members} members)`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
    printProblems(summary.problems);
    return 0;
  });

export const describeAppliances: CommandRun<NameFilterOptions> = (opts, globals) =>
  withCatalog(globals, async ({ catalog }) => {
    const { name } = opts;
    let items: Appliance[];
    let problems: CatalogProblem[] = [];
    if (name !== undefined) items = [await catalog.getAppliance(name)];
    else ({ items, problems } = await catalog.listAppliances());
    const states = await statesOf(catalog, items.map((a) => a.name));
    if (opts.json) {
      // toJSON masks password values.
      printJson({ appliances: items.map((a, i) => ({ ...a.toJSON(), fileSetStates: (states[i] ?? []).map(stateJson) })), problems });
      return 0;
    }
    if (items.length === 0 && problems.length === 0) process.stdout.write('no appliances in the catalog\n');
    for (const [i, a] of items.entries()) process.stdout.write(`${renderAppliance(a, '', fileSetStates(states[i] ?? [])).join('\n')}\n`);
    printProblems(problems);
    return 0;
  });

export const describeAssemblies: CommandRun<NameFilterOptions> = (opts, globals) =>
  withCatalog(globals, async ({ catalog }) => {
    const { name } = opts;
    let items: (Assembly | AtomicAssembly)[];
    let problems: CatalogProblem[] = [];
    if (name !== undefined) items = [await catalog.getAssembly(name)];
    else ({ items, problems } = await catalog.listAssemblies());
    const states = await statesOf(catalog, items.map((a) => a.name));
    if (opts.json) {
      printJson({ assemblies: items.map((a, i) => ({ ...a.toJSON(), fileSetStates: (states[i] ?? []).map(stateJson) })), problems });
      return 0;
    }
    if (items.length === 0 && problems.length === 0) process.stdout.write('no assemblies in the catalog\n');
    for (const [i, a] of items.entries()) process.stdout.write(`${renderAssembly(a, fileSetStates(states[i] ?? [])).join('\n')}\n`);
    printProblems(problems);
    return 0;
  });
