/**
 * The evidence for authors: `abctl createPlugin` writes a plugin and an extension into a
 * temp dir, nothing is edited, and they validate, install, introspect a sample directory, and
 * rehydrate with the test kit, both from this test and from the scaffold's own test (run with
 * `node --test`, resolving `abctl/testkit` through node_modules as an author's project would).
 * Uses the built CLI: `npm run build` first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import { projectRoot } from '../../services/instance.js';
import { scaffoldPlugin } from '../../services/authoring/scaffold.js';
import { dehydrate, rehydrate } from '../../services/authoring/testkit.js';
import { tempDir } from '../helpers/plugins.js';
import { abctl, cliEnv } from '../introspection/helpers.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;
let src: string;
let sample: string;

const run = (args: readonly string[], cwd?: string) => {
  const r = spawnSync(process.execPath, [join(projectRoot(), 'bin', 'abctl'), ...args], { env, cwd: cwd ?? tmp.path, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

beforeAll(async () => {
  if (!existsSync(join(projectRoot(), 'dist', 'services', 'authoring', 'testkit.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  tmp = await tempDir('abctl-scaffold-');
  // No other plugin is in sight: the instance sees only what this test installs.
  env = cliEnv(join(tmp.path, 'instance'), join(tmp.path, 'no-bundled-plugins'));
  src = join(tmp.path, 'src');
  await mkdir(src);
  // As `npm link abctl` would: the scaffold's test imports abctl/testkit by package name.
  await mkdir(join(tmp.path, 'node_modules'));
  await symlink(projectRoot(), join(tmp.path, 'node_modules', 'abctl'));
  sample = join(tmp.path, 'sample');
  await mkdir(join(sample, 'logs'), { recursive: true });
  await writeFile(join(sample, 'VERSION'), '3.1\n');
  await writeFile(join(sample, 'logs', 'x.log'), 'not captured\n');
}, 60_000);
afterAll(async () => tmp?.cleanup());

describe('createPlugin, unedited, through the whole loop', () => {
  it('scaffolds a plugin and an alias extension that validate, install, introspect and rehydrate', async () => {
    const made = run(['createPlugin', '--name', 'shop', '--product', 'Web shop', '--dir', src, '--json']);
    expect(made.code, made.err).toBe(0);
    expect(JSON.parse(made.out)).toMatchObject({ kind: 'plugin', files: ['README.md', 'index.js', 'messages/en.properties', 'package.json', 'plugin.config', 'test/plugin.test.mjs'] });
    const ext = run(['createPlugin', '--name', 'shoplogs', '--parent', 'shop', '--alias', '--dir', src]);
    expect(ext.code, ext.err).toBe(0);
    expect(ext.out).toContain('created extension shoplogs');

    for (const name of ['shop', 'shoplogs']) {
      const v = run(['validatePlugin', join(src, name), '--sample', sample, '--json']);
      expect(v.code, v.out + v.err).toBe(0);
      const report = JSON.parse(v.out) as { ok: boolean; checks: { check: string; status: string }[] };
      expect(report.ok).toBe(true);
      expect(report.checks.map((c) => `${c.check}:${c.status}`)).toEqual(['manifest', 'module', 'messages', 'activation', 'services', 'parameters', 'templates', 'sample'].map((c) => `${c}:passed`));
    }

    expect(run(['installPlugins', '--from', join(src, 'shop')]).out).toMatch(/^installed +shop 1\.0$/m);
    expect(run(['installPlugins', '--from', join(src, 'shoplogs')]).out).toMatch(/^installed +shoplogs 1\.0$/m);
    const listed = JSON.parse(run(['describePlugins', '--json']).out) as { plugins: { name: string; state: string; commands: string[] }[] };
    expect(listed.plugins.map((p) => [p.name, p.state, p.commands])).toEqual([
      ['shop', 'enabled', ['introspectshop']],
      ['shoplogs', 'enabled', ['introspectshoplogs']],
    ]);
    // The scaffold targets this abctl's SDK, and its errors come from its message file.
    expect(await readFile(join(src, 'shop', 'plugin.config'), 'utf8')).toContain(`minSdkVersion=${SDK_VERSION}\n`);
    const missing = run(['introspectshop', '--home', join(tmp.path, 'nowhere')]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(`error in plugin shop: ${join(tmp.path, 'nowhere')} does not exist: --home must name the directory Web shop is installed in`);
    expect(missing.err).toContain("hint: give --home the directory that holds Web shop's VERSION file");
    const intro = run(['introspectshoplogs', '--home', sample, '--json']);
    expect(intro.code, intro.err).toBe(0);
    expect(JSON.parse(intro.out)).toMatchObject({ plugin: 'shop', participants: ['shop', 'shoplogs'], name: 'shop', captured: [expect.objectContaining({ fileSet: 'home' })] });

    // The test kit, from this runner: the same two directories, no instance, no catalog.
    const result = await dehydrate({ plugin: join(src, 'shop'), with: [join(src, 'shoplogs')], parameters: { home: sample } });
    try {
      expect(result.chain).toEqual(['shop', 'shoplogs']);
      expect(result.appliance.properties.get('shoplogs.note')?.value).toBe('added by shoplogs');
      expect(result.archives.map((a) => a.fileSet)).toEqual(['home']);
      const root = join(tmp.path, 'instance-root');
      const done = await rehydrate(result, { root, properties: { 'instance.label': 'blue' } });
      expect(done.ran).toEqual(['shop', 'shoplogs']);
      const home = join(root, sample);
      expect(await readFile(join(home, 'VERSION'), 'utf8')).toBe('3.1\n');
      // The file set's excludes held: logs/ came along, its *.log did not.
      expect(await readdir(join(home, 'logs'))).toEqual([]);
      expect(await readFile(join(home, 'settings.properties'), 'utf8')).toBe('# written by shop for each deployment\nlabel=blue\nversion=3.1\n');
      expect(await readFile(join(home, 'shoplogs.properties'), 'utf8')).toBe('note=added by shoplogs\n');
    } finally {
      await result.dispose();
    }

    // And the scaffold's own tests, as their author runs them.
    for (const name of ['shop', 'shoplogs']) {
      const t = spawnSync(process.execPath, ['--test', 'test/'], { cwd: join(src, name), encoding: 'utf8', timeout: 120_000 });
      expect(t.status, t.stdout + t.stderr).toBe(0);
      expect(t.stdout).toContain('# pass 1');
    }
  }, 180_000);

  it('refuses to overwrite, and leaves the existing directory alone', async () => {
    const target = join(tmp.path, 'taken');
    await mkdir(join(target, 'mine'), { recursive: true });
    const r = run(['createPlugin', '--name', 'mine', '--dir', target, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ error: { code: 'SCAFFOLD_TARGET_EXISTS' } });
    expect(r.err).toContain('createPlugin never overwrites');
    expect(await readdir(join(target, 'mine'))).toEqual([]);
  });

  it('removes what it wrote when a template fails', async () => {
    const templates = join(tmp.path, 'broken-templates');
    await cp(join(projectRoot(), 'templates', 'plugin'), templates, { recursive: true });
    await writeFile(join(templates, 'zz-broken.txt.hbs'), 'uses {{undefinedVariable}}\n');
    const dir = join(tmp.path, 'fails');
    await expect(scaffoldPlugin({ name: 'half', dir, templateDir: templates })).rejects.toMatchObject({ code: 'SCAFFOLD_FAILED', message: expect.stringContaining('zz-broken.txt.hbs') });
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses bad names and --alias without --parent, before writing anything', async () => {
    await expect(scaffoldPlugin({ name: '9lives', dir: tmp.path })).rejects.toMatchObject({ code: 'SCAFFOLD_NAME_INVALID' });
    await expect(scaffoldPlugin({ name: 'ok', alias: true, dir: tmp.path })).rejects.toMatchObject({ code: 'OPTION_CONFLICT' });
    expect(existsSync(join(tmp.path, 'ok'))).toBe(false);
  });

  it('writes a TypeScript plugin that is compiled at once, type-checks against abctl/contract, and validates', async () => {
    const r = run(['createPlugin', '--name', 'tsshop', '--typescript', '--dir', src, '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ compiled: true, files: ['README.md', 'index.ts', 'messages/en.properties', 'package.json', 'plugin.config', 'test/plugin.test.mjs', 'tsconfig.json'] });
    expect(await readFile(join(src, 'tsshop', 'plugin.config'), 'utf8')).toContain('main=build/index.js');
    const v = run(['validatePlugin', join(src, 'tsshop'), '--sample', sample]);
    expect(v.code, v.out).toBe(0);
    // The author's type check: the types come from the package's `abctl/contract` export.
    await symlink(join(projectRoot(), 'node_modules', '@types'), join(tmp.path, 'node_modules', '@types'));
    const tsc = spawnSync(process.execPath, [join(projectRoot(), 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--noEmit'], { cwd: join(src, 'tsshop'), encoding: 'utf8', timeout: 120_000 });
    expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
  }, 120_000);
});
