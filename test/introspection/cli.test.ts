/**
 * `abctl introspect<name>` as a user runs it (the built CLI, stdin not a terminal): alias
 * commands, refusals, help, job parameter types and password handling. Passwords must not
 * show up in argv, the process list, the output or the catalog in clear.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../catalog/catalog.js';
import { tempDir, writePlugin } from '../helpers/plugins.js';
import { abctl, abctlAsync, catalogFingerprint, catalogText, cliEnv, copyMinihttpd, examplePlugins, openApp, writeTestPlugin } from './helpers.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let instance: string;
let bundled: string;
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  tmp = await tempDir('abctl-introspect-cli-');
  instance = join(tmp.path, 'instance');
  bundled = join(tmp.path, 'plugins');
  await mkdir(bundled);
  env = cliEnv(instance, bundled);
});
afterEach(() => tmp.cleanup());

/** The shipped example plugin and its alias extension, as bundled plugins of this test's instance. */
async function bundleExample(): Promise<string> {
  await cp(join(examplePlugins, 'example'), join(bundled, 'example'), { recursive: true });
  await cp(join(examplePlugins, 'examplelogs'), join(bundled, 'examplelogs'), { recursive: true });
  return copyMinihttpd(join(tmp.path, 'minihttpd'));
}

describe('introspect commands', () => {
  it('runs an alias as its root plugin and the whole chain', async () => {
    const home = await bundleExample();
    const r = abctl(['introspectexamplelogs', '--home', home, '--json'], env);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out) as { plugin: string; participants: string[]; name: string; captured: { fileSet: string }[] };
    expect(summary.plugin).toBe('example');
    expect(summary.participants).toEqual(['example', 'examplelogs']);
    expect(summary.captured.map((c) => c.fileSet)).toEqual(['home']);
    // The extension's work is in the catalog: the logging properties it adds.
    const text = readFileSync(join(instance, 'catalog', 'appliances', summary.name, 'appliance.xml'), 'utf8');
    expect(text).toContain('log.rotate.days');
    // Plain output names the chain.
    const again = abctl(['introspectexample', '--home', home, '--name', 'second'], env);
    expect(again.code).toBe(0);
    expect(again.out).toContain('with example -> examplelogs on local');
  });

  it('refuses the command of a non-alias extension with the hint to run its root', async () => {
    await bundleExample();
    await writeTestPlugin(bundled, { name: 'plainext', parentName: 'example' });
    const r = abctl(['introspectplainext', '--help'], env);
    expect(r.code).toBe(1);
    expect(r.err).toContain('plainext is an extension of example and not an alias');
    expect(r.err).toContain('hint: run abctl introspectexample');
  });

  it('refuses disabled and broken plugins clearly', async () => {
    const home = await bundleExample();
    await writePlugin(bundled, { name: 'bad', index: 'export const a = { start() { throw new Error("license server unreachable"); } };\n' });
    expect(abctl(['disablePlugin', '--name', 'example'], env).code).toBe(0);
    for (const command of ['introspectexample', 'introspectexamplelogs']) {
      const r = abctl([command, '--home', home], env);
      expect(r.code, command).toBe(1);
      expect(r.err).toMatch(/is disabled/);
      expect(r.err).toContain('hint: abctl enablePlugin --name example');
    }
    const broken = abctl(['introspectbad'], env);
    expect(broken.code).toBe(1);
    expect(broken.err).toContain('plugin bad is broken');
    expect(broken.err).toContain('license server unreachable');
    const unknown = abctl(['introspectnope'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('no plugin named nope');
    expect(catalogFingerprint(instance).size).toBe(0);
  });

  it('refuses a chain with a broken extension and stores nothing; once it is disabled, runs without it and says so', async () => {
    const home = await bundleExample();
    // An extension of example whose code throws when started, with one of its own below it.
    await writePlugin(bundled, { name: 'examplebad', parentName: 'example', index: 'export const a = { start() { throw new Error("license server unreachable"); } };\n' });
    await writeTestPlugin(bundled, { name: 'examplebadkid', parentName: 'examplebad' });
    for (const command of ['introspectexample', 'introspectexamplelogs']) {
      const r = abctl([command, '--home', home], env);
      expect(r.code, command).toBe(1);
      expect(r.err).toContain(`error in plugin examplebad: ${join(bundled, 'examplebad', 'index.js')}: ${command} cannot run: extension examplebad of example is broken (PLUGIN_START_FAILED:`);
      expect(r.err).toContain('license server unreachable');
      expect(r.err).toContain('also not run: examplebadkid');
      expect(r.err).toContain('or run example without it: abctl disablePlugin --name examplebad');
    }
    expect(catalogFingerprint(instance).size).toBe(0);

    expect(abctl(['disablePlugin', '--name', 'examplebad'], env).code).toBe(0);
    // Broken by its installation (needs a newer example): the user's error, not the plugin's.
    await writePlugin(bundled, { name: 'examplenew', parentName: 'example', minParentVersion: '9.0' });
    const old = abctl(['introspectexample', '--home', home], env);
    expect(old.code).toBe(1);
    expect(old.err).toMatch(/^error: .*plugin\.config: minParentVersion: introspectexample cannot run: extension examplenew of example is broken \(PARENT_TOO_OLD: needs "example" version 9\.0 or later/);
    expect(catalogFingerprint(instance).size).toBe(0);
    // Disabled, it stays broken in describePlugins (with its problem) and no chain waits for it.
    expect(abctl(['disablePlugin', '--name', 'examplenew'], env).code).toBe(0);
    expect(abctl(['describePlugins'], env).out).toMatch(/examplenew 1\.0 {2}\[broken, disabled\]/);

    const r = abctl(['introspectexample', '--home', home, '--json'], env);
    expect(r.code, r.err).toBe(0);
    const summary = JSON.parse(r.out) as { participants: string[]; disabledExtensions: unknown };
    expect(summary.participants).toEqual(['example', 'examplelogs']);
    expect(summary.disabledExtensions).toEqual([
      { name: 'examplebad', disabledBy: 'user' },
      { name: 'examplebadkid', disabledBy: 'examplebad' },
      { name: 'examplenew', disabledBy: 'user' },
    ]);
    const text = abctl(['introspectexample', '--home', home, '--name', 'second'], env);
    expect(text.code, text.err).toBe(0);
    expect(text.out).toContain('not run, disabled: examplebad, examplebadkid (with examplebad), examplenew');
    const help = abctl(['introspectexample', '--help'], env);
    expect(help.out.replace(/\s+/g, ' ')).toContain('(left out, disabled: examplebad, examplebadkid (with examplebad), examplenew)');
  });

  it('--help answers for a chain that cannot run, exit 0, with the reason the run gives', async () => {
    await bundleExample();
    const flat = (t: string): string => t.replace(/\s+/g, ' ');
    // A broken extension: the options of the members that load are still listed.
    await writePlugin(bundled, { name: 'examplebad', parentName: 'example', index: 'export const a = { start() { throw new Error("license server unreachable"); } };\n' });
    for (const args of [['introspectexample', '--help'], ['help', 'introspectexample'], ['introspectexamplelogs', '-h']]) {
      const r = abctl(args, env);
      expect([r.code, r.err], args.join(' ')).toEqual([0, '']);
      expect(flat(r.out)).toContain(`This command cannot run now (error in plugin examplebad): ${args.includes('introspectexamplelogs') ? 'introspectexamplelogs' : 'introspectexample'} cannot run: extension examplebad of example is broken (PLUGIN_START_FAILED:`);
      expect(flat(r.out)).toContain('license server unreachable');
      expect(flat(r.out)).toContain('abctl disablePlugin --name examplebad');
      expect(r.out).toContain('--home <path>');
    }
    // The run itself still refuses.
    expect(abctl(['introspectexample', '--home', 'x'], env).code).toBe(1);

    // A broken root plugin and a disabled one: the help says so, and the way on.
    await writePlugin(bundled, { name: 'bad', index: 'export const a = { start() { throw new Error("license server unreachable"); } };\n' });
    const broken = abctl(['introspectbad', '--help'], env);
    expect([broken.code, broken.err]).toEqual([0, '']);
    expect(flat(broken.out)).toContain('This command cannot run now: plugin bad is broken:');
    expect(flat(broken.out)).toContain('license server unreachable');
    expect(broken.out).toContain('--defer-capture');
    expect(abctl(['disablePlugin', '--name', 'example'], env).code).toBe(0);
    const disabled = abctl(['introspectexample', '--help'], env);
    expect([disabled.code, disabled.err]).toEqual([0, '']);
    expect(flat(disabled.out)).toContain('This command cannot run now: plugin example is disabled Hint: abctl enablePlugin --name example');
    // A command that does not exist has no help either.
    expect(abctl(['introspectnope', '--help'], env).code).toBe(1);
  });

  it("lists the plugin's and the extensions' parameters in --help", async () => {
    await bundleExample();
    await writeTestPlugin(bundled, {
      name: 'moreext',
      parentName: 'examplelogs',
      params: [{ name: 'db-password', type: 'password', description: 'database password' }],
    });
    const r = abctl(['introspectexamplelogs', '--help'], env);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: abctl introspectexamplelogs');
    expect(r.out).toMatch(/--home <path>\s+directory minihttpd is installed in \(from\s+example\) \[required\]/);
    expect(r.out).toMatch(/--keep-logs \[true\|false\]\s+capture the log files too \(from\s+examplelogs\)/);
    // A password is offered only as a file (or env / prompt), never as a value option.
    expect(r.out).toContain('--db-password-file <file>');
    expect(r.out).toContain('AB_PARAM_DB_PASSWORD');
    expect(r.out).not.toMatch(/--db-password </);
  });
});

describe('job parameters', () => {
  const SECRET = 'pw-Zq7!x9#never-shown';

  /** A plugin with one parameter of each type; it stores the password as a password property. */
  async function typedPlugin(dehydrateExtra = ''): Promise<void> {
    await writeTestPlugin(bundled, {
      name: 'typed',
      params: [
        { name: 'label', type: 'string', description: 'a label', required: true },
        { name: 'count', type: 'integer', description: 'a count', defaultValue: 2 },
        { name: 'verbose', type: 'boolean', description: 'more output' },
        { name: 'dir', type: 'path', description: 'a directory', required: true },
        { name: 'secret', type: 'password', description: 'admin password', required: true },
      ],
      dehydrate: `${dehydrateExtra}
        ctx.createAppliance({ name: 'typed', properties: [
          { name: 'admin.password', type: 'password', category: 'user', value: ctx.parameters.secret },
          { name: 'seen', type: 'string', category: 'system', value: JSON.stringify({ label: ctx.parameters.label, count: ctx.parameters.count, verbose: ctx.parameters.verbose, dir: ctx.parameters.dir }) },
        ] });`,
    });
  }

  async function storedAppliance(): Promise<{ password: string | undefined; seen: Record<string, unknown> }> {
    const app = await openApp(instance, bundled);
    try {
      const a = await app.get(Catalog).getAppliance('typed');
      return { password: a.properties.getValue('admin.password'), seen: JSON.parse(a.properties.getValue('seen')!) as Record<string, unknown> };
    } finally {
      await app.stop();
    }
  }

  it('converts integer, boolean and path values and reports bad ones', async () => {
    await typedPlugin();
    const env1 = { ...env, AB_PARAM_SECRET: SECRET };
    const bad = (args: string[]): string => {
      const r = abctl(['introspecttyped', '--label', 'x', '--dir', '/tmp', ...args], env1);
      expect(r.code, args.join(' ')).toBe(1);
      return r.err;
    };
    expect(bad(['--count', '3x'])).toContain('"3x" is not an integer');
    expect(bad(['--count', '1.5'])).toContain('is not an integer');
    expect(bad(['--verbose', 'maybe'])).toContain('"maybe" is not a boolean');
    expect(bad(['--dir', ' '])).toContain('the path is empty');
    expect(catalogFingerprint(instance).size).toBe(0);

    // Relative paths mean this machine's working directory.
    const r = abctl(['introspecttyped', '--label', 'x', '--dir', 'rel/dir', '--count', '-4', '--verbose'], env1);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const { seen, password } = await storedAppliance();
    expect(seen).toEqual({ label: 'x', count: -4, verbose: true, dir: join(process.cwd(), 'rel/dir') });
    expect(password).toBe(SECRET);
  });

  it('lists every missing required parameter at once, with the reason for the password', async () => {
    await typedPlugin();
    const r = abctl(['introspecttyped'], env);
    expect(r.code).toBe(1);
    expect(r.err).toContain('missing required parameters: --label, --dir, --secret-file (or AB_PARAM_SECRET)');
    expect(r.err).toContain('no terminal to ask for the password');
    // Only the password missing: the no-terminal error itself.
    const p = abctl(['introspecttyped', '--label', 'x', '--dir', '/tmp'], env);
    expect(p.code).toBe(1);
    expect(p.err).toContain('--secret is required and there is no terminal to ask for it');
    expect(p.err).toContain('hint: use --secret-file FILE or set AB_PARAM_SECRET');
  });

  it('refuses a password on the command line without echoing it', async () => {
    await typedPlugin();
    for (const args of [
      ['--secret', SECRET],
      [`--secret=${SECRET}`],
    ]) {
      const r = abctl(['introspecttyped', '--label', 'x', '--dir', '/tmp', ...args], env);
      expect(r.code).toBe(1);
      expect(r.err).toContain('--secret is a password and is never taken from the command line');
      expect(r.err + r.out).not.toContain(SECRET);
    }
    expect(catalogFingerprint(instance).size).toBe(0);
  });

  it('takes the password from --secret-file and from AB_PARAM_SECRET; it is stored only encrypted', async () => {
    await typedPlugin();
    const file = join(tmp.path, 'secret.txt');
    await writeFile(file, `${SECRET}\n`, { mode: 0o600 });
    const r = abctl(['introspecttyped', '--label', 'x', '--dir', '/tmp', '--secret-file', file], env);
    expect(r.code).toBe(0);
    expect(r.out + r.err).not.toContain(SECRET);
    expect((await storedAppliance()).password).toBe(SECRET);
    const xml = catalogText(instance);
    expect(xml).toContain('enc:v1:');
    expect(xml).not.toContain(SECRET);

    await tmp.cleanup().then(() => mkdir(bundled, { recursive: true }));
    await typedPlugin();
    const e = abctl(['introspecttyped', '--label', 'x', '--dir', '/tmp', '--json'], { ...env, AB_PARAM_SECRET: SECRET });
    expect(e.code).toBe(0);
    expect(e.out + e.err).not.toContain(SECRET);
    expect((await storedAppliance()).password).toBe(SECRET);
    expect(catalogText(instance)).not.toContain(SECRET);

    const missing = abctl(['introspecttyped', '--label', 'x', '--dir', '/tmp', '--secret-file', join(tmp.path, 'nope')], env);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('cannot read the password file for --secret');
  });

  it('keeps the password out of the process list and every file of the instance while it runs', async () => {
    const gate = join(tmp.path, 'gate');
    await mkdir(gate);
    // The plugin signals that it runs, then waits, so the test can look at the live process.
    await typedPlugin(`await fs.writeFile(${JSON.stringify(join(gate, 'running'))}, '');
      for (let i = 0; i < 600 && !(await fs.stat(${JSON.stringify(join(gate, 'go'))}).catch(() => false)); i++) await new Promise((r) => setTimeout(r, 50));`);
    const file = join(tmp.path, 'secret.txt');
    await writeFile(file, SECRET, { mode: 0o600 });
    // --debug and AB_DEBUG: the most talkative mode must not print it either.
    const run = abctlAsync(['--debug', 'introspecttyped', '--label', 'x', '--dir', '/tmp', '--secret-file', file], { ...env, AB_DEBUG: '1' });
    let exited: string | undefined;
    void run.done.then((r) => (exited = r.err));
    for (let i = 0; i < 400 && exited === undefined && !existsSync(join(gate, 'running')); i++) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(join(gate, 'running')), exited).toBe(true);

    const cmdline = readFileSync(`/proc/${run.pid}/cmdline`, 'utf8');
    expect(cmdline).toContain('--secret-file');
    expect(cmdline).not.toContain(SECRET);
    // Every process's arguments, as `ps` would show them.
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      let args = '';
      try {
        args = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        continue; // gone meanwhile
      }
      expect(args, `process ${pid}`).not.toContain(SECRET);
    }
    // Nothing in the instance holds it in clear while the job runs (tmp dir included).
    const instanceFiles = (dir: string): string[] =>
      readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? instanceFiles(join(dir, n)) : [join(dir, n)]));
    for (const f of instanceFiles(instance)) expect(readFileSync(f).toString('latin1'), f).not.toContain(SECRET);

    await writeFile(join(gate, 'go'), '');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.out + r.err).not.toContain(SECRET);
    for (const f of instanceFiles(instance)) expect(readFileSync(f).toString('latin1'), f).not.toContain(SECRET);
    expect((await storedAppliance()).password).toBe(SECRET);
  });
});

describe('introspect commands in the one pipeline', () => {
  it('takes --debug and --instance after the command name', async () => {
    await writeTestPlugin(bundled, { name: 'talky', dehydrate: `ctx.log.debug('debug-line-7'); ctx.createAppliance({ name: 'talky' });` });
    const other = join(tmp.path, 'other');
    const quiet = abctl(['introspecttalky', '--instance', other], env);
    expect(quiet.code, quiet.err).toBe(0);
    expect(quiet.err).not.toContain('debug-line-7');
    const r = abctl(['introspecttalky', '--name', 'loud', '--debug', '-instance', other], env);
    expect(r.code, r.err).toBe(0);
    // One plugin logger for activators and jobs: the plugin's name, then the line.
    expect(r.err).toContain('talky: debug: debug-line-7');
    expect(existsSync(join(other, 'catalog', 'appliances', 'loud', 'appliance.xml'))).toBe(true);
    expect(catalogFingerprint(instance).size).toBe(0);
  });

  it('prints a plugin failure as a JSON error object naming the plugin', async () => {
    await writeTestPlugin(bundled, { name: 'thrower', dehydrate: `throw new Error('the product is half installed');` });
    const r = abctl(['introspectthrower', '--json'], env);
    expect(r.code).toBe(1);
    expect(r.err).toContain('error in plugin thrower');
    const { error } = JSON.parse(r.out) as { error: { code: string; message: string; plugin?: string } };
    expect(error.plugin).toBe('thrower');
    expect(error.message).toContain('the product is half installed');
    // A usage error of an introspect command is JSON too.
    const u = abctl(['introspectthrower', '--json', '--codec', 'lzma'], env);
    expect(u.code).toBe(1);
    expect(JSON.parse(u.out)).toMatchObject({ error: { code: 'USAGE_INVALID_ARGUMENT', message: expect.stringContaining("'lzma' is invalid") } });
  });

  it('names the appliance in the --defer-capture hint, and that command works', async () => {
    const home = await bundleExample();
    const r = abctl(['introspectexample', '--home', home, '--name', 'later', '--defer-capture'], env);
    expect(r.code, r.err).toBe(0);
    const hint = /run abctl (captureFileSets --appliance \S+)/.exec(r.out);
    expect(hint?.[1]).toBe('captureFileSets --appliance later');
    const c = abctl(hint![1]!.split(' '), env);
    expect(c.code, c.err).toBe(0);
    expect(c.out).toContain('captured later/home');
  });
});
