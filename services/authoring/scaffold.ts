/**
 * `abctl createPlugin`: renders templates/plugin/ into a new plugin (or extension) directory.
 * Handlebars in strict mode (a variable the scaffold does not give is an error, not an empty
 * string) and without HTML escaping. Writes into a staging directory beside the target and
 * renames it in at the end, so a failure leaves nothing behind and an existing directory is
 * never touched.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import Handlebars from 'handlebars';
import { UserError, errorText } from '../../core/errors.js';
import { explainPluginName, PLUGIN_NAME_RULE } from '../../core/plugin-manifest.js';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import { projectRoot } from '../instance.js';
import { importModule } from '../module-import.js';

export interface ScaffoldRequest {
  readonly name: string;
  /** Makes an extension of this plugin. */
  readonly parent?: string;
  /** Extensions: also offer introspect<name>. */
  readonly alias?: boolean;
  /** The plugin is created as `<dir>/<name>`; default the current directory. */
  readonly dir?: string;
  readonly typescript?: boolean;
  /** What the plugin introspects, for texts; default the name. */
  readonly product?: string;
  readonly version?: string;
  /** Default templates/plugin of this abctl. */
  readonly templateDir?: string;
}

export interface ScaffoldResult {
  readonly directory: string;
  readonly kind: 'plugin' | 'extension';
  /** Relative to `directory`, sorted. */
  readonly files: readonly string[];
  /** TypeScript only: whether build/index.js was written (needs the typescript package). */
  readonly compiled?: boolean;
  /** What to do next, one line each. */
  readonly next: readonly string[];
}

export function defaultTemplateDir(): string {
  return join(projectRoot(), 'templates', 'plugin');
}

/** Template file -> output file, or undefined when the variant does not have it. */
function outputName(template: string, typescript: boolean): string | undefined {
  const out = template.slice(0, -'.hbs'.length);
  if (out === 'index') return typescript ? 'index.ts' : 'index.js';
  if (out === 'tsconfig.json') return typescript ? out : undefined;
  return out;
}

async function listTemplates(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listTemplates(dir, rel)));
    else if (e.name.endsWith('.hbs')) out.push(rel);
  }
  return out.sort();
}

export async function scaffoldPlugin(req: ScaffoldRequest): Promise<ScaffoldResult> {
  for (const [option, value] of [['--name', req.name], ['--parent', req.parent]] as const) {
    const why = value === undefined ? undefined : explainPluginName(value);
    if (why !== undefined) throw new UserError('SCAFFOLD_NAME_INVALID', `${option} "${value}" is not a plugin name: ${why}`, { hint: PLUGIN_NAME_RULE });
  }
  if (req.alias && req.parent === undefined) {
    throw new UserError('OPTION_CONFLICT', '--alias is for extensions', { hint: 'add --parent <plugin>, or leave --alias out' });
  }
  const typescript = req.typescript === true;
  const target = resolve(req.dir ?? '.', req.name);
  if (existsSync(target)) {
    throw new UserError('SCAFFOLD_TARGET_EXISTS', `${target} already exists; createPlugin never overwrites`, { hint: 'choose another --name or --dir, or move the directory away' });
  }
  const templateDir = req.templateDir ?? defaultTemplateDir();
  const values = {
    name: req.name,
    version: req.version ?? '1.0',
    product: req.product ?? req.name,
    description: req.parent ? `${req.name}: extension of ${req.parent}` : `${req.name}: introspects ${req.product ?? req.name}`,
    parent: req.parent ?? '',
    alias: req.alias === true,
    sdkVersion: SDK_VERSION,
    typescript,
    main: typescript ? 'build/index.js' : 'index.js',
  };
  await mkdir(dirname(target), { recursive: true });
  const staging = `${target}.creating-${process.pid}`;
  const files: string[] = [];
  let compiled: boolean | undefined;
  try {
    const engine = Handlebars.create();
    for (const template of await listTemplates(templateDir)) {
      const out = outputName(template, typescript);
      if (out === undefined) continue;
      const text = await readFile(join(templateDir, template), 'utf8');
      let rendered: string;
      try {
        rendered = engine.compile(text, { strict: true, noEscape: true })(values);
      } catch (err) {
        throw new UserError('SCAFFOLD_FAILED', `template ${template} does not render: ${errorText(err)}`, { where: join(templateDir, template), hint: 'the templates of this abctl are damaged: reinstall abctl' });
      }
      await mkdir(dirname(join(staging, out)), { recursive: true });
      await writeFile(join(staging, out), rendered);
      files.push(out);
    }
    if (typescript) compiled = await compileEntry(staging);
    if (existsSync(target)) throw new UserError('SCAFFOLD_TARGET_EXISTS', `${target} appeared while the plugin was being written`, { hint: 'run createPlugin again with another --name or --dir' });
    await rename(staging, target);
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    if (err instanceof UserError) throw err;
    throw new UserError('SCAFFOLD_FAILED', `cannot create ${target}: ${errorText(err)}`, { where: target, cause: err, hint: 'check that the directory is writable and has space' });
  }
  const shown = relative(process.cwd(), target) || '.';
  const next = [
    ...(typescript && !compiled ? [`cd ${shown} && npx tsc   (compiles index.ts to build/index.js)`] : []),
    `abctl validatePlugin ${shown}${req.parent ? '' : ' --sample <a product installation>'}`,
    `abctl installPlugins --from ${shown} --link`,
  ];
  return { directory: target, kind: req.parent ? 'extension' : 'plugin', files: files.sort(), ...(compiled !== undefined ? { compiled } : {}), next };
}

/**
 * Transpiles index.ts to build/index.js with the TypeScript compiler when it can be loaded
 * (a development install of abctl has it), so the new plugin runs at once. Type checking is
 * the author's `npx tsc`; this only strips the types.
 */
async function compileEntry(dir: string): Promise<boolean> {
  let ts: typeof import('typescript') | undefined;
  try {
    ts = (await importModule<{ default: typeof import('typescript') }>('typescript')).default;
  } catch {
    return false;
  }
  const source = await readFile(join(dir, 'index.ts'), 'utf8');
  const out = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }, fileName: 'index.ts' });
  await mkdir(join(dir, 'build'), { recursive: true });
  await writeFile(join(dir, 'build', 'index.js'), out.outputText);
  return true;
}
