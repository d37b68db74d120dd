import { spawn, spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { COMMANDS } from '../cli/command-table.js';
import { withInstanceLock } from '../services/instance-lock.js';
import { projectRoot } from '../services/instance.js';
import { tempDir, writePlugin } from './helpers/plugins.js';

// These run the built CLI (`npm test` builds first), as a user would.
const bin = join(projectRoot(), 'bin', 'abctl');
let tmp: { path: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;

function abctl(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  // In the temp dir: a command given a relative path (createPlugin --name x) must not write into the repository.
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8', cwd: tmp.path });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function abctlAsync(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { env });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

beforeEach(async () => {
  tmp = await tempDir();
  env = { ...process.env, AB_INSTANCE: join(tmp.path, 'instance') };
  delete env.AB_BUNDLED_PLUGINS;
});
afterEach(() => tmp.cleanup());

describe('abctl', () => {
  it('lists every command in --help, and every command has its own --help', () => {
    const top = abctl(['--help']);
    expect(top.code).toBe(0);
    for (const c of COMMANDS) {
      expect(top.out).toContain(c.name);
      const one = abctl([c.name, '--help']);
      expect(one.code, c.name).toBe(0);
      expect(one.out).toContain(`Usage: abctl ${c.name}`);
      for (const o of c.options) expect(one.out).toContain(o.flags.split(' ')[0]);
    }
    expect(abctl(['help', 'installPlugins']).out).toContain('--from <dir>');
    // One process per command: ~40 of them take more than the default 30 s on a loaded CI machine.
  }, 180_000);

  it('lists the introspect commands of the enabled plugins in the top-level help', () => {
    expect(abctl(['--help']).out).toMatch(/^ {2}introspectexample +Example product/m);
    // Every bundled root plugin (the products' too): disabling one disables its extensions.
    const roots = (JSON.parse(abctl(['describePlugins', '--json']).out) as { plugins: { name: string; parent: string | null }[] }).plugins.filter((p) => p.parent === null);
    for (const p of roots) expect(abctl(['disablePlugin', '--name', p.name]).code).toBe(0);
    const after = abctl(['--help']).out;
    expect(after).not.toMatch(/^ {2}introspectexample/m);
    expect(after).toContain('No enabled plugin on this instance');
  });

  it('describes the bundled example plugin and its alias extension as JSON', () => {
    const r = abctl(['describePlugins', '--json']);
    expect(r.code).toBe(0);
    const data = JSON.parse(r.out) as { plugins: { name: string; state: string; parent: string | null; alias: boolean; commands: string[] }[] };
    const byName = new Map(data.plugins.map((p) => [p.name, p]));
    expect(byName.get('example')).toMatchObject({ state: 'enabled', parent: null, commands: ['introspectexample'] });
    expect(byName.get('examplelogs')).toMatchObject({ state: 'enabled', parent: 'example', alias: true, commands: ['introspectexamplelogs'] });
    expect(byName.get('example')).toMatchObject({ alias: false });
  });

  it('accepts the reference single-dash long options', () => {
    expect(abctl(['disablePlugin', '-name', 'examplelogs']).code).toBe(0);
    const text = abctl(['-instance', env.AB_INSTANCE!, 'describePlugins']).out;
    expect(text).toMatch(/examplelogs 1\.0 {2}\[disabled\]/);
  });

  it('shows a broken plugin with file and cause while the others load, and exits 0', async () => {
    const bundled = join(tmp.path, 'bundled');
    await writePlugin(bundled, { name: 'good' });
    await writePlugin(bundled, { name: 'bad', index: 'export const a = { start() { throw new Error("cannot reach the license server"); } };\n' });
    await writePlugin(bundled, { name: 'badchild', parentName: 'bad' });
    const r = abctl(['describePlugins'], { AB_BUNDLED_PLUGINS: bundled });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/good 1\.0 {2}\[enabled\]/);
    expect(r.out).toMatch(/bad 1\.0 {2}\[broken\]/);
    expect(r.out).toContain(join(bundled, 'bad', 'index.js'));
    expect(r.out).toContain('cannot reach the license server');
    expect(r.out).toMatch(/badchild 1\.0 {2}\[broken\]/);
  });

  it('reports user errors with a hint and exit 1, usage errors with non-zero exit', () => {
    const r = abctl(['enablePlugin', '--name', 'nope']);
    expect(r.code).toBe(1);
    expect(r.err).toContain('no plugin named nope');
    expect(r.err).toContain('hint: abctl describePlugins');
    const u = abctl(['installPlugins']);
    expect(u.code).not.toBe(0);
    expect(u.err).toMatch(/--from <dir>/);
  });

  it('installs from a product home and refuses an orphan extension, with exit 1', async () => {
    const home = join(tmp.path, 'product');
    await writePlugin(join(home, 'plugins', 'introspector'), { name: 'prod', version: '2.1' });
    await writePlugin(join(home, 'plugins', 'introspector'), { name: 'orphan', parentName: 'missing' });
    const r = abctl(['installPlugins', '--from', home, '--json']);
    expect(r.code).toBe(1);
    const { outcomes } = JSON.parse(r.out) as { outcomes: { name: string; action: string }[] };
    expect(outcomes.map((o) => [o.name, o.action]).sort()).toEqual([
      ['orphan', 'refused'],
      ['prod', 'installed'],
    ]);
  });

  it('serialises concurrent changes to one instance and reports a busy instance', async () => {
    const homes = await Promise.all(
      ['a', 'b', 'c', 'd'].map(async (n) => {
        const home = join(tmp.path, `home-${n}`);
        await writePlugin(home, { name: `plug${n}` });
        return home;
      }),
    );
    const results = await Promise.all(homes.map((h) => abctlAsync(['installPlugins', '--from', h])));
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    const names = (JSON.parse(abctl(['describePlugins', '--json']).out) as { plugins: { name: string }[] }).plugins.map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['pluga', 'plugb', 'plugc', 'plugd']));

    await withInstanceLock(env.AB_INSTANCE!, 'hold the lock', async () => {
      const busy = abctl(['disablePlugin', '--name', 'pluga'], { AB_LOCK_WAIT_MS: '300' });
      expect(busy.code).toBe(1);
      expect(busy.err).toMatch(/another abctl command is changing this instance/);
    });
  });
});

describe('one command pipeline', () => {
  /** A value for every required option, so each command gets past its own checks. */
  const requiredArgs = (c: (typeof COMMANDS)[number]): string[] =>
    c.options.filter((o) => o.required).flatMap((o) => [o.flags.split(' ')[0]!, 'x']);

  it('takes --instance and --debug after the command name on every command', async () => {
    // AB_INSTANCE names a file: a command that used it instead of --instance would fail naming it.
    const file = join(tmp.path, 'not-an-instance');
    await writeFile(file, '');
    const other = join(tmp.path, 'other');
    for (const c of COMMANDS) {
      const r = abctl([c.name, ...requiredArgs(c), '--instance', other, '--debug'], { AB_INSTANCE: file });
      expect(r.err, c.name).not.toMatch(/unknown option/);
      expect(r.err + r.out, c.name).not.toContain(file);
    }
    expect(JSON.parse(abctl(['describePlugins', '--json', '-instance', other, '-debug'], { AB_INSTANCE: file }).out)).toMatchObject({ instance: other });
    expect(JSON.parse(abctl(['describeCatalog', '--json', '--instance', other]).out)).toMatchObject({ catalog: join(other, 'catalog') });
  }, 240_000);

  it('prints a JSON error object on stdout for --json commands, with exit 1', () => {
    const user = abctl(['enablePlugin', '--name', 'nope', '--json']);
    expect(user.code).toBe(1);
    expect(user.err).toContain('no plugin named nope');
    const { error } = JSON.parse(user.out) as { error: { code: string; message: string; hint?: string } };
    expect(error.code).toMatch(/^[A-Z_]+$/);
    expect(error.message).toContain('no plugin named nope');
    expect(error.hint).toContain('abctl describePlugins');

    // Usage errors too, with commander's suggestion as the hint.
    const usage = abctl(['installPlugins', '--json', '--from', 'x', '--alow-downgrade']);
    expect(usage.code).toBe(1);
    expect(JSON.parse(usage.out)).toEqual({
      error: { code: 'USAGE_UNKNOWN_OPTION', message: "unknown option '--alow-downgrade'", hint: 'Did you mean --allow-downgrade?' },
    });
    const missing = abctl(['installPlugins', '--json']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.out)).toMatchObject({ error: { code: 'USAGE_MISSING_MANDATORY_OPTION_VALUE', message: "required option '--from <dir>' not specified" } });

    // Without --json stdout stays empty.
    expect(abctl(['enablePlugin', '--name', 'nope']).out).toBe('');
  });

  it('says a command is unknown, with close names, even with --help', () => {
    for (const args of [['nosuchcommand', '--help'], ['help', 'nosuchcommand'], ['nosuchcommand']]) {
      const r = abctl(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.out).toBe('');
      expect(r.err).toContain('error: unknown command nosuchcommand');
      expect(r.err).toContain('hint: abctl --help lists every command');
    }
    expect(abctl(['describePlugin']).err).toContain('did you mean describePlugins?');
    expect(abctl(['introspectexampel']).err).toContain('no plugin named exampel');
    const bad = abctl(['--bogus', 'describePlugins']);
    expect([bad.code, bad.err]).toEqual([1, expect.stringContaining('unknown option --bogus')]);
    // Help, help for one command, the version, and no command at all (help on stderr, exit 1).
    expect(abctl(['help']).out).toContain('Usage: abctl [options] [command]');
    expect(abctl(['-help']).out).toContain('Usage: abctl [options] [command]');
    expect(abctl(['help', 'installPlugins']).out).toContain('Usage: abctl installPlugins');
    expect(abctl(['--version']).out).toBe('0.1.0\n');
    const none = abctl([]);
    expect([none.code, none.out]).toEqual([1, '']);
    expect(none.err).toContain('Usage: abctl [options] [command]');
  });

  it('reads one-dash long options only where they are options, not as values', () => {
    const r = abctl(['createAssembly', '-name', 'shop', '-description', '-json', '-json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ created: { name: 'shop', description: '-json' } });
  });
});
