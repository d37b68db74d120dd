import { spawnSync } from 'node:child_process';
import { appendFile, cp, mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
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

  it('a leading --instance DIR is answered from that instance\'s records, whatever AB_INSTANCE says', async () => {
    await rm(join(instance, 'cache'), { recursive: true, force: true });
    const elsewhere = { AB_INSTANCE: join(dir.path, 'other-instance') };
    const help = abctl(['--help']);
    const described = abctl(['describePlugins', '--json']);
    expect(abctl(['--instance', instance, '--help'], elsewhere)).toBe(help);
    expect(abctl([`--instance=${instance}`, 'describePlugins', '--json'], elsewhere)).toBe(described);
    await tamper(HELP_TEXT_FILE, 'text', 'help of the named instance\n');
    await tamper(DESCRIBE_CACHE_FILE, 'json', 'plugins of the named instance\n');
    expect(abctl(['--instance', instance, '-h'], elsewhere)).toBe('help of the named instance\n');
    expect(abctl(['--instance', instance, 'describePlugins', '--json'], elsewhere)).toBe('plugins of the named instance\n');
    // Not a value: commander reports the missing argument as before.
    const r = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'abctl'), '--instance', '--help'], { env: { ...process.env, ...elsewhere }, encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout).not.toBe('help of the named instance\n');
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

// The records scripts/shipped-records.mjs makes at build time, on a copy of the built abctl (its
// bundled plugins can then be edited): what a new instance prints first must be what the CLI
// prints without them, and anything that changes the answer must keep them out.
describe('records made at build time for a new instance with the bundled plugins', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let install: string;
  let shipped: string;
  let tty: string;
  let n = 0;
  const newInstance = (): string => join(dir.path, `instance-${++n}`);

  const run = (instance: string, args: string[], env: Record<string, string> = {}, width?: number): string => {
    const base: Record<string, string | undefined> = { ...process.env, AB_INSTANCE: instance, AB_BUNDLED_PLUGINS: '', AB_DEBUG: '', LC_ALL: '', LC_MESSAGES: '', LANG: '' };
    const pre = width === undefined ? [] : ['-r', tty];
    const r = spawnSync(process.execPath, [...pre, join(install, 'bin', 'abctl'), ...args], { env: { ...base, ...env, TTY_COLUMNS: String(width) }, encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return r.stdout;
  };
  /** The same command with the build's records out of the way: commander, discovery, activation. */
  const cold = async (instance: string, args: string[], env: Record<string, string> = {}, width?: number): Promise<string> => {
    await rename(shipped, `${shipped}.off`);
    try {
      return run(instance, args, env, width);
    } finally {
      await rename(`${shipped}.off`, shipped);
    }
  };
  /** Replaces every recorded text with `marker` (keys kept), the shipped commands list with nothing, and returns how to put them back. */
  const tamperAll = async (marker: string): Promise<() => Promise<void>> => {
    const saved = new Map<string, string>();
    for (const name of await readdir(shipped)) {
      if (!name.endsWith('.txt') && !name.endsWith('.json')) continue;
      const file = join(shipped, name);
      const content = await readFile(file, 'utf8');
      saved.set(file, content);
      if (name.startsWith('help-')) await writeFile(file, marker);
      // The bundled plugins' commands, added to the built-in part on a new instance: none.
      if (name === 'help.json') await writeFile(file, JSON.stringify({ ...JSON.parse(content), list: { ...JSON.parse(content).list, text: '' } }));
      const whole = { pieces: [marker], holes: [] };
      if (name.startsWith('describe-')) await writeFile(file, JSON.stringify({ ...JSON.parse(content), json: whole, text: whole }));
    }
    return async () => {
      for (const [file, content] of saved) await writeFile(file, content);
    };
  };

  beforeAll(async () => {
    dir = await tempDir('abctl-shipped-');
    install = join(dir.path, 'install');
    const root = projectRoot();
    for (const part of ['bin', 'package.json', 'messages', 'plugins']) await cp(join(root, part), join(install, part), { recursive: true });
    await cp(join(root, 'dist', 'cli-bundle'), join(install, 'dist', 'cli-bundle'), { recursive: true, filter: (src) => !src.includes('shipped') });
    await symlink(join(root, 'node_modules'), join(install, 'node_modules'), 'dir');
    shipped = join(install, 'dist', 'cli-bundle', 'shipped');
    const made = spawnSync(process.execPath, [join(root, 'scripts', 'shipped-records.mjs'), install, 'en', 'fr_FR'], { encoding: 'utf8', timeout: 120_000 });
    expect(made.stderr).toBe('');
    expect(made.status).toBe(0);
    // A terminal of TTY_COLUMNS columns, as commander and the quick path see one.
    tty = join(dir.path, 'tty.cjs');
    await writeFile(tty, "Object.defineProperty(process.stdout, 'isTTY', { value: true }); Object.defineProperty(process.stdout, 'columns', { value: Number(process.env.TTY_COLUMNS) });\n");
  }, 180_000);
  afterAll(async () => {
    await dir.cleanup();
  });

  it("answers a new instance's first --help and describePlugins byte for byte as the CLI does, and writes nothing", async () => {
    const instance = newInstance();
    const cases: [string[], Record<string, string>, number | undefined][] = [
      [['--help'], {}, undefined],
      [['-h'], {}, 72],
      [['help'], {}, 100],
      [['--help'], {}, 400],
      [['describePlugins', '--json'], {}, undefined],
      [['describePlugins'], {}, undefined],
      [['describePlugins'], { LC_ALL: 'fr_FR.UTF-8' }, undefined],
      [['describePlugins', '--json'], { LANG: 'C.UTF-8' }, undefined],
    ];
    for (const [args, env, width] of cases) expect(run(instance, args, env, width), `${args.join(' ')} ${JSON.stringify(env)} ${width}`).toBe(await cold(instance, args, env, width));
    expect(run(newInstance(), ['describePlugins'])).toContain(`instance ${join(dir.path, `instance-${n}`)} (plugin SDK`);
    // An instance path that JSON escapes: the records keep the text around it.
    const quoted = join(dir.path, 'a "quoted" \\ instance');
    expect(run(quoted, ['describePlugins', '--json'])).toBe(await cold(quoted, ['describePlugins', '--json']));
    // The records answered: with their texts swapped, the swapped text is printed.
    const restore = await tamperAll('from the build\n');
    try {
      expect(run(instance, ['--help'])).toBe('from the build\n');
      expect(run(instance, ['--help'], {}, 90)).toBe('from the build\n');
      expect(run(instance, ['describePlugins', '--json'])).toBe('from the build\n');
    } finally {
      await restore();
    }
    // A read-only instance (empty, mode 0555) is answered the same, and nothing was written anywhere.
    const readOnly = newInstance();
    await mkdir(readOnly, { mode: 0o555 });
    expect(run(readOnly, ['describePlugins'])).toBe((await cold(newInstance(), ['describePlugins'])).replace(join(dir.path, `instance-${n}`), readOnly));
    expect(await readdir(readOnly)).toEqual([]);
    await expect(readdir(instance)).rejects.toThrow(/ENOENT/);
  });

  it('another locale, a disabled or installed plugin, an edited bundled plugin: the build records are not used', async () => {
    const restore = await tamperAll('from the build\n');
    try {
      // No record for this locale: it activates, in German as far as it can.
      expect(run(newInstance(), ['describePlugins'], { LANG: 'de_DE.UTF-8' })).toContain('[enabled]');
      const disabled = newInstance();
      run(disabled, ['disablePlugin', '--name', 'examplelogs']);
      expect(run(disabled, ['describePlugins'])).toMatch(/examplelogs 1\.0 {2}\[disabled\]/);
      // --help takes only commander's part from the build (cli/help-quick.ts); the commands are the instance's.
      expect(run(disabled, ['--help'])).toMatch(/^from the build\n\nIntrospection commands of this instance[^]*introspectexample /);
      expect(run(disabled, ['--help'])).not.toContain('introspectexamplelogs');
      const installed = newInstance();
      await writePlugin(join(installed, 'plugins'), { name: 'omega' });
      expect(run(installed, ['--help'], {}, 100)).toMatch(/^from the build\n[^]*introspectomega/);
      expect(JSON.parse(run(installed, ['describePlugins', '--json'])).plugins.map((p: { name: string }) => p.name)).toContain('omega');
      // The bundled plugins edited after the build: a code file, then a plugin.config.
      await appendFile(join(install, 'plugins', 'example', 'index.js'), '// edited\n');
      expect(JSON.parse(run(newInstance(), ['describePlugins', '--json'])).plugins.length).toBeGreaterThan(0);
      expect(run(newInstance(), ['--help'])).toBe('from the build\n'); // --help reads plugin.config files only
      const config = join(install, 'plugins', 'example', 'plugin.config');
      await writeFile(config, (await readFile(config, 'utf8')).replace(/^description=.*$/m, 'description=edited after the build'));
      expect(run(newInstance(), ['--help'])).toMatch(/^from the build\n[^]*introspectexample     edited after the build/);
    } finally {
      await restore();
    }
  });

  it("--help that no record holds whole is commander's built-in part recorded by the build and the instance's commands, byte for byte", async () => {
    const instance = newInstance();
    await writePlugin(join(instance, 'plugins'), { name: 'sigma' });
    // With more than one word, commander answers (the quick paths take `--help` alone).
    const viaCommander = (width?: number): string => run(instance, ['--instance', instance, '--help'], {}, width);
    for (const width of [undefined, 64, 80, 133, 500]) {
      await rm(join(instance, 'cache'), { recursive: true, force: true });
      const quick = run(instance, ['--help'], {}, width);
      expect(quick).toContain('introspectsigma');
      await rm(join(instance, 'cache'), { recursive: true, force: true });
      expect(quick, `width ${width}`).toBe(viaCommander(width));
    }
  });
});
