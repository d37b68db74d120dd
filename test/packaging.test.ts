import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { cp, lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../services/instance.js';
import { tempDir } from './helpers/plugins.js';

// abctl as an operator installs it: `npm pack` of the built tree (the build is `npm test`'s first
// step; prepare is skipped here so that it is not made twice), then `npm install -g` of the
// tarball into a prefix of our own. --prefer-offline takes the dependencies from npm's cache,
// which `npm ci` filled; what is missing there (package metadata) comes from the registry.
describe('abctl packed and installed with npm (npm pack, npm install -g)', () => {
  let dir: { path: string; cleanup: () => Promise<void> };
  let packed: string[];
  let prefix: string;
  let pkg: string;
  let loadedLog: string;
  let before: Map<string, string>;
  let n = 0;

  /** npm without the npm_* variables `npm test` passes down (its prefix, its config). */
  const npm = (args: string[], cwd: string): SpawnSyncReturns<string> => {
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
    return spawnSync('npm', args, { cwd, env, encoding: 'utf8', timeout: 150_000 });
  };
  const newInstance = (): string => join(dir.path, `instance-${++n}`);
  /**
   * The installed abctl, with a HOME of its own; `loaded`: the CommonJS modules Node loaded from
   * the package (a preload lists them at exit), which tells which path answered.
   */
  const run = (instance: string, args: string[], env: Record<string, string> = {}): { stdout: string; loaded: string[] } => {
    const r = spawnSync(process.execPath, ['-r', join(dir.path, 'loaded.cjs'), join(prefix, 'bin', 'abctl'), ...args], {
      env: { ...process.env, HOME: join(dir.path, 'home'), AB_INSTANCE: instance, AB_BUNDLED_PLUGINS: '', AB_DEBUG: '', LC_ALL: '', LC_MESSAGES: '', LANG: '', ...env, LOADED_LOG: loadedLog },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr, args.join(' ')).toBe('');
    expect(r.status, args.join(' ')).toBe(0);
    const loaded = readFileSync(loadedLog, 'utf8').split('\n');
    rmSync(loadedLog);
    return { stdout: r.stdout, loaded: loaded.filter((f) => f.startsWith(`${pkg}/`)).map((f) => f.slice(pkg.length + 1)) };
  };
  /** Every entry under the installed package with its size and mtime: what a run must leave as it is. */
  const snapshot = async (): Promise<Map<string, string>> => {
    const entries = await readdir(pkg, { recursive: true });
    const out = new Map<string, string>();
    for (const e of entries.sort()) {
      const s = await lstat(join(pkg, e));
      out.set(e, `${s.size} ${s.mtimeMs}`);
    }
    return out;
  };

  beforeAll(async () => {
    dir = await tempDir('abctl-packaging-');
    loadedLog = join(dir.path, 'loaded.log');
    await writeFile(join(dir.path, 'loaded.cjs'), "process.on('exit', () => require('node:fs').writeFileSync(process.env.LOADED_LOG, Object.keys(require.cache).join('\\n')));\n");
    const root = projectRoot();
    const p = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir.path], root);
    expect(p.status, p.stderr).toBe(0);
    const [info] = JSON.parse(p.stdout) as [{ filename: string; files: { path: string }[] }];
    packed = info.files.map((f) => f.path);
    prefix = join(dir.path, 'prefix');
    const i = npm(['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', join(dir.path, info.filename)], dir.path);
    expect(i.status, i.stderr).toBe(0);
    pkg = join(prefix, 'lib', 'node_modules', 'abctl');
    before = await snapshot();
  }, 180_000);
  afterAll(async () => {
    await dir?.cleanup();
  });

  it('the tarball holds what runs (the build with its records, plugins, messages, templates) and no sources, tests or benchmarks', () => {
    for (const f of [
      'bin/abctl',
      'bin/load-bundle.cjs',
      'dist/cli-bundle/main.cjs',
      'dist/cli-bundle/main.cjs.cache',
      'dist/cli-bundle/fast.cjs',
      'dist/cli-bundle/shipped/help.json',
      'dist/cli-bundle/shipped/describe-en.json',
      'dist/cli-bundle/shipped/content.bin',
      'dist/abctl-agent.mjs',
      'dist/services/authoring/testkit.js',
      'dist/core/plugin-contract.d.ts',
      'plugins/example/plugin.config',
      'messages/en.properties',
      'templates/plugin/plugin.config.hbs',
      'services/engine/containers.conf',
      'examples/minihttpd/conf/server.properties',
    ]) {
      expect(packed, f).toContain(f);
    }
    const unwanted = packed.filter((f) => /^(test|bench|scripts|cli|core|catalog|node_modules|\.ci|dist\/cli)\//.test(f) || f.endsWith('.map') || (f.startsWith('services/') && !f.endsWith('.conf')));
    expect(unwanted).toEqual([]);
  });

  it("a new instance's first --help and describePlugins are the build's records, byte for byte what the CLI prints, with the installed paths", async () => {
    const instance = newInstance();
    const help = run(instance, ['--help']);
    // Only bin/abctl and the quick bundle ran: no help.cjs (discovery), no main.cjs (commander).
    expect(help.loaded).toEqual(['bin/abctl', 'dist/cli-bundle/fast.cjs']);
    expect(help.stdout).toMatch(/introspectexample .*introspectnginx/s);
    // commander's answer (the quick paths take `--help` alone) on another new instance.
    expect(help.stdout).toBe(run(newInstance(), ['--instance', newInstance(), '--help']).stdout);

    const described = run(instance, ['describePlugins', '--json']);
    expect(described.loaded).toEqual(['bin/abctl', 'dist/cli-bundle/fast.cjs']);
    const json = JSON.parse(described.stdout) as { instance: string; plugins: { name: string; directory: string; state: string }[] };
    expect(json.instance).toBe(instance);
    expect(json.plugins.map((p) => p.name).sort()).toEqual(['example', 'examplelogs', 'nginx', 'postgresql', 'tomcat', 'tomcatwebapps']);
    for (const p of json.plugins) expect(p.directory).toBe(join(pkg, 'plugins', p.name));
    // AB_DEBUG makes describePlugins activate the plugins: the same text, made now.
    const activated = run(instance, ['describePlugins', '--json'], { AB_DEBUG: '1' });
    expect(activated.loaded).toContain('bin/load-bundle.cjs');
    expect(described.stdout).toBe(activated.stdout);
    // Reading commands leave no instance behind.
    await expect(readdir(instance)).rejects.toThrow(/ENOENT/);
  });

  it('a job on the built-in example writes under the instance and HOME only, never in the installed package', async () => {
    const instance = newInstance();
    const home = join(dir.path, 'minihttpd');
    await cp(join(projectRoot(), 'examples', 'minihttpd'), home, { recursive: true });
    expect((run(instance, ['introspectexample', '--home', home, '--name', 'web', '--defer-capture'])).stdout).toContain('file sets not captured yet');
    expect((run(instance, ['captureFileSets', '--appliance', 'web'])).stdout).toMatch(/captured web\/home: 5 files/);
    expect((await readdir(instance)).sort()).toEqual(expect.arrayContaining(['catalog', 'config']));
    // The same names, sizes and times as right after the installation: nothing written, nothing cached.
    expect(await snapshot()).toEqual(before);
    // And the bin link npm made works from PATH.
    const v = spawnSync('abctl', ['--version'], { env: { ...process.env, PATH: `${join(prefix, 'bin')}:${process.env.PATH}` }, encoding: 'utf8' });
    expect(v.stdout).toBe('0.1.0\n');
  });

  it('an edit of an installed bundled plugin that keeps its size is noticed: both commands give the new answer', async () => {
    const config = join(pkg, 'plugins', 'example', 'plugin.config');
    const text = await readFile(config, 'utf8');
    const edited = text.replace('description=Example product', 'description=Exemple product');
    expect(edited.length).toBe(text.length);
    await writeFile(config, edited);
    const help = run(newInstance(), ['--help']);
    expect(help.loaded).toContain('dist/cli-bundle/help.cjs');
    expect(help.stdout).toMatch(/introspectexample +Exemple product/);
    const described = run(newInstance(), ['describePlugins', '--json']);
    expect(described.loaded).toContain('bin/load-bundle.cjs');
    expect(described.stdout).toContain('"description": "Exemple product');
  });
});
