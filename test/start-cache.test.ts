import { spawnSync } from 'node:child_process';
import { appendFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESCRIBE_CACHE_FILE } from '../cli/describe-cache.js';
import { HELP_TEXT_FILE } from '../cli/help-cache.js';
import { projectRoot } from '../services/instance.js';
import { tempDir, writePlugin } from './helpers/plugins.js';

// bin/abctl as a user runs it (the built bundle, with its fast path), on an instance of our own.
describe('start-up caches of bin/abctl (--help, describePlugins)', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let instance: string;
  let bundled: string;
  let linkedSource: string;
  let activations: string;

  const abctl = (args: string[], extraEnv: Record<string, string> = {}): string => {
    const env = { ...process.env, AB_INSTANCE: instance, AB_BUNDLED_PLUGINS: bundled, AB_DEBUG: '', ...extraEnv };
    const r = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'abctl'), ...args], { env, encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return r.stdout;
  };
  const cache = (name: string): string => join(instance, 'cache', name);
  const activationCount = async (): Promise<number> => (await readFile(activations, 'utf8').catch(() => '')).length;
  // A record whose key matches is printed as it is: swapping its text proves which path answered.
  const tamper = async (name: string, field: string, value: string): Promise<void> => {
    const record = JSON.parse(await readFile(cache(name), 'utf8')) as Record<string, string>;
    await writeFile(cache(name), JSON.stringify({ ...record, [field]: value }));
  };

  beforeAll(async () => {
    dir = await tempDir('abctl-start-cache-');
    instance = join(dir.path, 'instance');
    bundled = join(dir.path, 'bundled');
    activations = join(dir.path, 'activations');
    await mkdir(join(instance, 'plugins'), { recursive: true });
    // Each activation of alpha leaves a mark: a warm describePlugins must leave none.
    const mark = `import { appendFileSync } from 'node:fs'; appendFileSync(${JSON.stringify(activations)}, 'x');\n`;
    await writePlugin(bundled, { name: 'alpha', index: `${mark}export const activator = { start(ctx) { ctx.registerService(ctx.ids.IntrospectorPlugin, { name: 'alpha' }); } };\n` });
    await writePlugin(bundled, {
      name: 'alphalogs',
      parentName: 'alpha',
      index: "export const activator = { start(ctx) { ctx.registerService(ctx.ids.IntrospectorPluginExtension, { name: 'alphalogs', parentName: 'alpha', alias: true }); } };\n",
    });
    // Installed by link: its sources live outside the instance.
    linkedSource = await writePlugin(join(dir.path, 'sources'), { name: 'gamma' });
    await symlink(linkedSource, join(instance, 'plugins', 'gamma'), 'dir');
  });
  afterAll(async () => {
    await dir.cleanup();
  });

  it('--help from the cache is byte for byte what commander printed, and the cache is what answers', async () => {
    const fromCommander = abctl(['--help']);
    expect(fromCommander).toContain('introspectalpha');
    expect(await readFile(cache(HELP_TEXT_FILE), 'utf8')).toContain('"text"');
    for (const form of [['--help'], ['-h'], ['help']]) expect(abctl(form)).toBe(fromCommander);
    await tamper(HELP_TEXT_FILE, 'text', 'from the cache\n');
    expect(abctl(['-h'])).toBe('from the cache\n');
    // A plugin.config edited: commander answers again.
    await writeFile(join(bundled, 'alpha', 'plugin.config'), 'name=alpha\nversion=1.0\ndescription=edited\n');
    expect(abctl(['help'])).toContain('introspectalpha  edited');
    // Other arguments always go through commander.
    expect(abctl(['--instance', instance, '--help'])).toContain('introspectalpha  edited');
  });

  it('describePlugins warm prints what it printed cold, in both forms, without loading plugin code', async () => {
    await rm(join(instance, 'cache'), { recursive: true, force: true });
    const before = await activationCount();
    const coldJson = abctl(['describePlugins', '--json']);
    expect(JSON.parse(coldJson).plugins.find((p: { name: string }) => p.name === 'alphalogs')).toMatchObject({ alias: true, commands: ['introspectalphalogs'] });
    // One cold run keeps both forms; each is compared with its own cold run.
    await rm(join(instance, 'cache'), { recursive: true, force: true });
    const coldText = abctl(['describePlugins']);
    expect(await activationCount()).toBe(before + 2);
    expect(abctl(['describePlugins', '--json'])).toBe(coldJson);
    expect(abctl(['describePlugins'])).toBe(coldText);
    expect(await activationCount()).toBe(before + 2);
    // --debug (AB_DEBUG) activates for real: the plugins' debug lines come from activation.
    expect(JSON.parse(abctl(['describePlugins', '--json'], { AB_DEBUG: '1' }))).toEqual(JSON.parse(coldJson));
    expect(await activationCount()).toBe(before + 3);
  });

  it('describePlugins activates again after any file of a plugin changed, a linked one too', async () => {
    abctl(['describePlugins', '--json']);
    const runs = await activationCount();
    const changes: [string, () => Promise<void>][] = [
      ['an index.js edited', () => appendFile(join(bundled, 'alpha', 'index.js'), '// edited\n')],
      ['a file added in a plugin sub-directory', async () => {
        await mkdir(join(bundled, 'alphalogs', 'lib'), { recursive: true });
        await writeFile(join(bundled, 'alphalogs', 'lib', 'util.js'), 'export {};\n');
      }],
      ['a linked plugin edited at its source', () => writeFile(join(linkedSource, 'index.js'), "export const activator = { start(ctx) { ctx.registerService(ctx.ids.IntrospectorPlugin, { name: 'gamma' }); } }; // edited\n")],
      ['a plugin disabled', async () => void abctl(['disablePlugin', '--name', 'gamma'])],
    ];
    let expected = runs;
    for (const [what, change] of changes) {
      await tamper(DESCRIBE_CACHE_FILE, 'json', '"stale"\n');
      await change();
      const out = abctl(['describePlugins', '--json']);
      expect(out, what).not.toBe('"stale"\n');
      expected += 1;
      expect(await activationCount(), what).toBe(expected);
    }
    expect(JSON.parse(abctl(['describePlugins', '--json'])).plugins.find((p: { name: string }) => p.name === 'gamma').state).toBe('disabled');
    expect(await activationCount()).toBe(expected);
  });

  it('--version is answered before the CLI loads, and is the package version', async () => {
    const { version } = JSON.parse(await readFile(join(projectRoot(), 'package.json'), 'utf8')) as { version: string };
    expect(abctl(['--version'])).toBe(`${version}\n`);
    // Through commander (an argument the quick answer does not take), the same.
    expect(abctl(['--version', 'x'])).toBe(`${version}\n`);
  });

  it("the bundle's V8 code cache made by the build is the one this Node takes", () => {
    // A plain node, as bin/abctl runs: V8 refuses a cache made under other flags (vitest's workers may have some).
    const code = "process.stdout.write(String(require('./bin/load-bundle.cjs').compileBundle(require('node:path').resolve('dist/cli-bundle/main.cjs')).cacheUsed))";
    const r = spawnSync(process.execPath, ['-e', code], { cwd: projectRoot(), encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('true');
  });

  it('a plugin broken at activation is not kept: every run activates and shows it', async () => {
    await writePlugin(bundled, { name: 'delta', index: "export const activator = { start() { throw new Error('no database here'); } };\n" });
    const first = abctl(['describePlugins']);
    expect(first).toMatch(/delta 1\.0 {2}\[broken\][\s\S]*no database here/);
    const runs = await activationCount();
    expect(abctl(['describePlugins'])).toBe(first);
    expect(await activationCount()).toBe(runs + 1);
    await rm(join(bundled, 'delta'), { recursive: true });
  });
});
