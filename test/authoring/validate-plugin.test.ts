/**
 * validatePlugin on real plugin directories with one kind of mistake each: every problem is
 * listed at once with its file (or hook), the checks that cannot mean anything are skipped, and
 * malformed hook results found on a sample are reported as the plugin's, with the shape expected.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validatePluginDirectory, type ValidationReport } from '../../services/authoring/validation.js';
import { tempDir } from '../helpers/plugins.js';
import { abctl, cliEnv } from '../introspection/helpers.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let sample: string;
const quiet = { sink: () => undefined };

beforeAll(async () => {
  tmp = await tempDir('abctl-validate-');
  sample = join(tmp.path, 'sample');
  await mkdir(sample);
});
afterAll(async () => tmp?.cleanup());

/** A plugin directory with a valid config (unless given) and package.json, and this index.js. */
async function plugin(name: string, index: string, opts: { config?: string; packageJson?: boolean; files?: Record<string, string> } = {}): Promise<string> {
  const dir = join(tmp.path, 'plugins', name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'plugin.config'), opts.config ?? `name=${name}\nversion=1.0\n`);
  if (opts.packageJson !== false) await writeFile(join(dir, 'package.json'), '{"type":"module"}\n');
  await writeFile(join(dir, 'index.js'), index);
  for (const [file, text] of Object.entries(opts.files ?? {})) await writeFile(join(dir, file), text);
  return dir;
}

/** An entry module registering `service` (plus `extra` registrations) from a named activator. */
const registering = (service: string, extra = ''): string =>
  `const service = ${service};\nexport const activator = { start(ctx) { ctx.registerService(ctx.ids.IntrospectorPlugin, service); ${extra} } };\n`;

const GOOD = `{ name: NAME, jobParameters() { return [{ name: 'home', type: 'path', description: 'home', required: true }]; },
  async dehydrate(ctx) { ctx.createAppliance({ name: NAME, fileSets: [{ name: 'home', root: String(ctx.parameters.home) }] }); } }`;

const statuses = (r: ValidationReport): string[] => r.checks.map((c) => `${c.check}:${c.status}`);

describe('validatePlugin', () => {
  it('lists every manifest problem at once, with file and key, and skips what depends on it', async () => {
    const dir = await plugin('badconf', registering(GOOD.replaceAll('NAME', "'badconf'")), { config: 'Version=1.0\nminSdkVersion=one\nmain=../escape.js\n' });
    const r = await validatePluginDirectory(dir, quiet);
    expect(r.ok).toBe(false);
    expect(r.problems.map((p) => [p.check, p.code, p.where])).toEqual([
      ['manifest', 'PLUGIN_CONFIG_KEY_CASE', `${dir}/plugin.config: Version`],
      ['manifest', 'PLUGIN_CONFIG_KEY_MISSING', `${dir}/plugin.config: name`],
      ['manifest', 'PLUGIN_CONFIG_KEY_MISSING', `${dir}/plugin.config: version`],
      ['manifest', 'PLUGIN_CONFIG_INVALID_VALUE', `${dir}/plugin.config: minSdkVersion`],
      ['manifest', 'PLUGIN_CONFIG_INVALID_VALUE', `${dir}/plugin.config: main`],
    ]);
    expect(r.problems.every((p) => p.hint)).toBe(true);
    expect(statuses(r)).toEqual(['manifest:failed', ...['module', 'messages', 'activation', 'services', 'parameters', 'templates', 'sample'].map((c) => `${c}:skipped`)]);
  });

  it('says when index.js would load as CommonJS once installed', async () => {
    const dir = await plugin('nopkg', registering(GOOD.replaceAll('NAME', "'nopkg'")), { packageJson: false });
    const r = await validatePluginDirectory(dir, quiet);
    expect(r.problems[0]).toMatchObject({ check: 'module', where: join(dir, 'package.json'), message: expect.stringContaining('"type": "module"') });
  });

  it('reports an activator that throws as an activation problem of the plugin', async () => {
    const dir = await plugin('throws', `export const activator = { start() { throw new Error('no licence file'); } };\n`);
    const r = await validatePluginDirectory(dir, quiet);
    expect(r.problems).toEqual([expect.objectContaining({ check: 'activation', code: 'PLUGIN_START_FAILED', message: expect.stringContaining('no licence file') })]);
    expect(statuses(r).slice(4)).toEqual(['services:skipped', 'parameters:skipped', 'templates:skipped', 'sample:skipped']);
  });

  it('names a missing service and a contract service without its method', async () => {
    const dir = await plugin('noservice', `export const activator = { start(ctx) { ctx.registerService(ctx.ids.IntrospectorPluginLocator, { pluginOrExtensionName: 'noservice' }); } };\n`);
    const r = await validatePluginDirectory(dir, quiet);
    expect(r.problems.map((p) => [p.check, p.code, p.message])).toEqual([
      ['services', 'PLUGIN_SERVICE_MISSING', 'noservice registered no IntrospectorPlugin service'],
      ['services', 'PLUGIN_CONTRACT', 'the IntrospectorPluginLocator service of noservice has no productInstallHomes method'],
    ]);
  });

  it('lists every bad job parameter definition, and a list of the wrong shape as such', async () => {
    const bad = await plugin(
      'badparams',
      registering(`{ name: 'badparams', jobParameters() { return [
        { name: 'Oracle_Home', type: 'path', description: 'x' },
        { name: 'threads', type: 'float', description: 'x' },
        { name: 'secret', type: 'password', description: 'x', defaultValue: 'no' }]; }, dehydrate() {} }`),
    );
    const r = await validatePluginDirectory(bad, quiet);
    expect(r.problems.map((p) => [p.check, p.where, p.message])).toEqual([
      ['parameters', 'badparams: jobParameters()', expect.stringContaining('item 1 ({"name":"threads","type":"float","description":"x"}): type must be one of string, integer, boolean, path, password')],
    ]);
    const notList = await plugin('paramobject', registering(`{ name: 'paramobject', jobParameters() { return { home: 'path' }; }, dehydrate() {} }`));
    expect((await validatePluginDirectory(notList, quiet)).problems).toEqual([
      expect.objectContaining({ check: 'parameters', code: 'HOOK_RESULT_INVALID', where: 'paramobject: jobParameters()', message: 'jobParameters() of paramobject must return a list of { name, type, description, required?, defaultValue? }: expected a list of job parameter definitions, got {"home":"path"}' }),
    ]);
    const each = await plugin(
      'eachparam',
      registering(`{ name: 'eachparam', jobParameters() { return [
        { name: 'Oracle_Home', type: 'path', description: 'x' },
        { name: 'json', type: 'string', description: 'x' },
        { name: 'secret', type: 'password', description: 'x', defaultValue: 'no' }]; }, dehydrate() {} }`),
    );
    expect((await validatePluginDirectory(each, quiet)).problems.map((p) => [p.code, p.where])).toEqual([
      ['JOB_PARAMETER_INVALID', 'plugin eachparam: job parameter "Oracle_Home"'],
      ['JOB_PARAMETER_INVALID', 'plugin eachparam: job parameter "json"'],
      ['JOB_PARAMETER_INVALID', 'plugin eachparam: job parameter "secret"'],
    ]);
  });

  it('parses every .hbs file of the plugin and says where one breaks', async () => {
    const dir = await plugin('badtemplate', registering(GOOD.replaceAll('NAME', "'badtemplate'")), { files: { 'ok.conf.hbs': 'port={{port}}\n', 'broken.conf.hbs': 'a\nport={{#if port}}\n' } });
    const r = await validatePluginDirectory(dir, quiet);
    expect(r.problems).toEqual([expect.objectContaining({ check: 'templates', where: join(dir, 'broken.conf.hbs') })]);
  });

  it('runs a sample and reports each malformed hook result as the plugin\'s, with the shape expected', async () => {
    const hooks = (name: string, platform: string): Promise<string> =>
      plugin(
        name,
        registering(
          GOOD.replaceAll('NAME', `'${name}'`),
          `ctx.registerService(ctx.ids.PlatformOsValidationPlugin, { pluginName: '${name}', validatePlatform() { return ${platform}; } });
           ctx.registerService(ctx.ids.PackagerValidationPlugin, { pluginName: '${name}', validateCapture() { return 42; } });
           ctx.registerService(ctx.ids.IntrospectorPluginLocator, { pluginOrExtensionName: '${name}', productInstallHomes() { return ['']; } });`,
        ),
      );
    // The platform answer is checked first: with it malformed, nothing else of the sample runs.
    const first = await validatePluginDirectory(await hooks('badplatform', "'fine'"), { ...quiet, sample });
    expect(first.problems).toEqual([
      { check: 'sample', code: 'HOOK_RESULT_INVALID', where: 'badplatform: validatePlatform()', hint: expect.stringContaining('fix validatePlatform() in plugin badplatform'), message: `validatePlatform() of badplatform must return a list of { severity: 'warning' | 'rejection', message }: expected a list of validation messages, got "fine"` },
    ]);
    const second = await validatePluginDirectory(await hooks('badhooks', "[{ severity: 'warning', message: 'untested here' }]"), { ...quiet, sample });
    expect(second.problems.map((p) => [p.where, p.message])).toEqual([
      ['badhooks: productInstallHomes()', 'productInstallHomes() of badhooks must return a list of directory paths: item 0 (""): expected a directory path'],
      ['badhooks: validateCapture()', 'validateCapture() of badhooks must return undefined (go on) or a string (the refusal): expected undefined or a string, got 42'],
    ]);
    expect(second.sample).toMatchObject({ directory: sample, appliances: ['badhooks'] });
  });

  it('reports a broken extension in the chain (given with --with) as the jobs would refuse it, with the way to leave it out', async () => {
    const root = await plugin('chainroot', registering(GOOD.replaceAll('NAME', "'chainroot'")));
    const ext = await plugin('chainbroken', `export const activator = { start() { throw new Error('no licence file'); } };\n`, { config: 'name=chainbroken\nversion=1.0\nparentName=chainroot\n' });
    const r = await validatePluginDirectory(root, { ...quiet, with: [ext], sample });
    expect(r.ok).toBe(false);
    expect(r.problems[0]).toEqual({
      check: 'parameters',
      code: 'EXTENSION_BROKEN',
      where: expect.stringContaining(ext),
      message: expect.stringMatching(/^the chain of chainroot cannot run: extension chainbroken of chainroot is broken \(PLUGIN_START_FAILED: .*no licence file/),
      hint: expect.stringContaining('or leave its directory out of --with'),
    });
    // The sample run resolves the chain the same way, and refuses as well.
    expect(r.problems.slice(1).map((p) => [p.check, p.code])).toEqual([['sample', 'EXTENSION_BROKEN']]);
    expect(statuses(r)).toContain('activation:passed');
  });

  it('finds an extension\'s parent beside it; the CLI exits 0 for a valid plugin and 1 otherwise', async () => {
    await plugin('parent', registering(GOOD.replaceAll('NAME', "'parent'")));
    const ext = await plugin('child', `export default class { start(ctx) { ctx.registerService(ctx.ids.IntrospectorPluginExtension, { name: 'child', parentName: 'parent', async dehydrate() {} }); } }\n`, {
      config: 'name=child\nversion=1.0\nparentName=parent\n',
    });
    const r = await validatePluginDirectory(ext, { ...quiet, sample });
    expect(r.problems).toEqual([]);
    expect(r).toMatchObject({ ok: true, kind: 'extension', plugin: 'child' });

    const env = cliEnv(join(tmp.path, 'instance'), join(tmp.path, 'none'));
    const ok = abctl(['validatePlugin', ext, '--sample', sample], env);
    expect(ok.code, ok.out + ok.err).toBe(0);
    expect(ok.out).toMatch(/^valid: extension child/);
    const bad = abctl(['validatePlugin', join(tmp.path, 'plugins', 'noservice'), '--json'], env);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.out)).toMatchObject({ ok: false, plugin: 'noservice', problems: [expect.objectContaining({ code: 'PLUGIN_SERVICE_MISSING' }), expect.anything()] });
    const missing = abctl(['validatePlugin', join(tmp.path, 'nothing-here')], env);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('is not a directory');
  }, 60_000);
});
