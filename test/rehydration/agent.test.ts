/**
 * The one-file agent on a real bundle of the example: introspected from examples/minihttpd,
 * the file set root moved to a temp "instance" root, a plan with another port and server name.
 * The agent runs as its own process (node abctl-agent.mjs), as it would on a target machine,
 * given the bundle's key on stdin (--key-stdin) as abctl gives it, unless a case says otherwise.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument, renderDocument, type Plain } from '../../catalog/xml-codec.js';
import { writeBundle } from '../../services/rehydration/bundle.js';
import { BundleKey } from '../../services/rehydration/bundle-key.js';
import { tempDir, writePlugin } from '../helpers/plugins.js';
import { bin, examplePlugins, freePort } from '../introspection/helpers.js';
import { exampleDeployment, type ExampleDeployment } from './bundle-fixture.js';
import { holdingStart } from '../deploy/example-fixture.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let dep: ExampleDeployment;
let bundleDir: string;
let port: number;

/** The keys of the bundles written here: a bundle (or a copy of one) is run with the key its bundle.json names. */
const keys: BundleKey[] = [];

function keyOf(dir: string): BundleKey | undefined {
  const id = (JSON.parse(readFileSync(join(dir, 'bundle.json'), 'utf8')) as { passwordKey?: { keyId: string } }).passwordKey?.keyId;
  return keys.find((k) => k.id === id);
}

function agent(dir: string, ...args: string[]): { code: number | null; out: string; err: string } {
  const key = keyOf(dir);
  return agentWith(dir, key ? { stdin: `${key.text()}\n`, args: ['--key-stdin'] } : {}, ...args);
}

/** The agent as an operator would run it by hand: `stdin` and extra `args` as given, nothing else. */
function agentWith(dir: string, how: { stdin?: string; args?: string[] }, ...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(dir, 'abctl-agent.mjs'), ...args, '--bundle', dir, ...(how.args ?? [])], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
    ...(how.stdin !== undefined ? { input: how.stdin } : { stdio: ['ignore', 'pipe', 'pipe'] }),
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function bundleFor(d: ExampleDeployment, name: string): Promise<string> {
  const outDir = join(tmp.path, name);
  return writeBundle({
    catalog: d.catalog,
    assembly: d.assembly,
    plan: d.plan,
    appliance: 'web',
    source: 'minihttpd-reference',
    instanceIndex: 1,
    bindings: d.bindings,
    inventory: d.inventory,
    deployment: 'd1',
    outDir,
  }).then((b) => {
    if (b.passwordKey) keys.push(b.passwordKey);
    return b.dir;
  });
}

beforeAll(async () => {
  tmp = await tempDir('abctl-agent-');
  port = await freePort();
  dep = await exampleDeployment(tmp.path, { port, serverName: 'web-one' });
  bundleDir = await bundleFor(dep, 'bundle');
}, 120_000);
afterAll(async () => {
  // Never leave a server behind, whatever failed.
  const pidFile = join(dep?.targetHome ?? '/nonexistent', 'run', 'minihttpd.pid');
  if (existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await tmp.cleanup();
});

describe('the agent on the example bundle', () => {
  it('rehydrates, starts with the plan values, answers ping, stops', async () => {
    const re = agent(bundleDir, 'rehydrate');
    expect(re.err).toContain('file set home: extracted into');
    expect(re.out).toContain('rehydrate of appliance web: done (ran example, examplelogs)');
    expect(re.code).toBe(0);

    const home = dep.targetHome;
    expect(existsSync(join(home, 'bin', 'minihttpd.mjs'))).toBe(true);
    // Excludes held: logs/ is there, its *.log files are not; run/ is absent.
    expect(readdirSync(join(home, 'logs'))).toEqual([]);
    expect(existsSync(join(home, 'run'))).toBe(false);
    const conf = readFileSync(join(home, 'conf', 'server.properties'), 'utf8');
    expect(conf).toContain(`port=${port}\n`);
    expect(conf).toContain('server.name=web-one\n');
    expect(conf).toContain('admin.password=s3cret-from-plan\n');
    // The archive has no server.properties (its template names the password): rehydrate wrote it whole, as root, 0600.
    expect(statSync(join(home, 'conf', 'server.properties'))).toMatchObject({ uid: 0, gid: 0 });
    expect(statSync(join(home, 'conf', 'server.properties')).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, 'bin', 'minihttpd.mjs')).uid).toBe(0);
    expect(readFileSync(join(home, 'conf', 'logging.properties'), 'utf8')).toBe('log.level=info\nlog.rotate.days=7\n');
    expect(re.out + re.err).not.toContain('s3cret-from-plan');

    const start = agent(bundleDir, 'start');
    expect(start.err).toContain('[example] minihttpd started');
    expect(start.code).toBe(0);
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    expect(await res.text()).toBe('ok web-one\n');
    // The password reaches no command line of any process.
    const pid = Number(readFileSync(join(home, 'run', 'minihttpd.pid'), 'utf8'));
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain('s3cret');

    const ping = agent(bundleDir, 'ping');
    expect(ping.out).toBe(`healthy: example: http://127.0.0.1:${port}/health answered "ok web-one"\n`);
    expect(ping.code).toBe(0);

    // The full CLI runs the same operation from the same bundle.
    const cli = spawnSync(process.execPath, [bin, 'ping', '--bundle', bundleDir, '--json'], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    expect(cli.status).toBe(0);
    expect(JSON.parse(cli.stdout)).toMatchObject({ operation: 'ping', appliance: 'web', ran: ['example'], skipped: ['examplelogs'], health: { healthy: true } });

    const stop = agent(bundleDir, 'stop');
    expect(stop.code).toBe(0);
    expect(existsSync(join(home, 'run', 'minihttpd.pid'))).toBe(false);
    const down = agent(bundleDir, 'ping', '--json');
    expect(down.code).toBe(1);
    const result = JSON.parse(down.out) as { health: { healthy: boolean; message: string } };
    expect(result.health).toMatchObject({ healthy: false, message: `example: no answer from http://127.0.0.1:${port}/health` });
  });

  it('refuses a damaged archive and an owner this machine does not have, naming them', () => {
    const copy = join(tmp.path, 'damaged');
    cpSync(bundleDir, copy, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(copy, 'bundle.json'), 'utf8')) as { fileSets: { archive: string; owner: string }[] };
    const archive = join(copy, manifest.fileSets[0]!.archive);
    const bytes = readFileSync(archive);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    writeFileSync(archive, bytes);
    const bad = agent(copy, 'rehydrate');
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('the archive of file set "home" does not match its checksum');

    const copy2 = join(tmp.path, 'owner');
    cpSync(bundleDir, copy2, { recursive: true });
    manifest.fileSets[0]!.owner = 'abctl-no-such-user';
    writeFileSync(join(copy2, 'bundle.json'), JSON.stringify(manifest));
    const owner = agent(copy2, 'rehydrate');
    expect(owner.code).toBe(1);
    expect(owner.err).toContain('user "abctl-no-such-user" does not exist on this machine');
    expect(owner.err).toContain('useradd');
  });
});

describe('the agent run by hand, without the key abctl gives it', () => {
  it('refuses an operation that needs a password, saying how to get the key; runs those that need none; takes the key as the first line of stdin', () => {
    const re = agentWith(bundleDir, {}, 'rehydrate');
    expect(re.code).toBe(1);
    expect(re.err).toContain('rehydrate of appliance "web" (plugin example) needs password "admin.password", which this bundle keeps encrypted, and the agent was given no key');
    expect(re.err).toContain('run it through abctl (startDeployment, stopDeployment, pingDeployment)');
    expect(re.err).toContain('as the first line of stdin with --key-stdin');
    // The framework's error, not the plugin's.
    expect(re.err).not.toContain('error in plugin');

    const key = keyOf(bundleDir)!;
    const again = agentWith(bundleDir, { stdin: `${key.text()}\n`, args: ['--key-stdin'] }, 'rehydrate');
    expect([again.code, again.err]).toEqual([0, expect.stringContaining('file set home: extracted')]);
    expect(readFileSync(join(dep.targetHome, 'conf', 'server.properties'), 'utf8')).toContain('admin.password=s3cret-from-plan\n');
    // The example's start, ping and stop read no password.
    for (const op of ['start', 'ping', 'stop']) expect([op, agentWith(bundleDir, {}, op).code]).toEqual([op, 0]);

    const wrong = agentWith(bundleDir, { stdin: `${BundleKey.generate().text()}\n`, args: ['--key-stdin'] }, 'ping');
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain('the key given on stdin is not this bundle\'s');
    const junk = agentWith(bundleDir, { stdin: `${'x'.repeat(20)}\n`, args: ['--key-stdin'] }, 'ping');
    expect(junk.err).toContain('the bundle key is not 32 bytes in base64 on one line');
    const none = agentWith(bundleDir, { stdin: '', args: ['--key-stdin'] }, 'ping');
    expect([none.code, none.err]).toEqual([1, expect.stringContaining('--key-stdin: stdin ended before a whole first line (the key) came')]);
    expect(`${re.err}${wrong.err}${junk.err}`).not.toContain(key.text());

    // abctl's own rehydrate|start|stop|ping --bundle take the key the same way.
    const cli = (stdin: string, ...args: string[]) => spawnSync(process.execPath, [bin, 'rehydrate', '--bundle', bundleDir, ...args], { input: stdin, encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    const bare = cli('');
    expect([bare.status, bare.stderr]).toEqual([1, expect.stringContaining('needs password "admin.password", which this bundle keeps encrypted')]);
    const keyed = cli(`${key.text()}\n`, '--key-stdin');
    expect([keyed.status, keyed.stdout]).toEqual([0, 'rehydrate of appliance web: done (ran example, examplelogs)\n']);
  });
});

describe('a bundle written before bundle keys (format 1, password values in clear)', () => {
  it('still rehydrates, starts, pings and stops with no key', () => {
    const old = join(tmp.path, 'format1');
    cpSync(bundleDir, old, { recursive: true });
    const key = keyOf(old)!;
    const file = join(old, 'appliance.xml');
    const plain = parseDocument(readFileSync(file, 'utf8'), { where: file, secret: (v) => key.decrypt(v, file) }).plain;
    writeFileSync(file, renderDocument('appliance', plain as Plain, { where: file }));
    const { passwordKey: _key, ...manifest } = JSON.parse(readFileSync(join(old, 'bundle.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(old, 'bundle.json'), JSON.stringify({ ...manifest, formatVersion: 1 }));
    for (const op of ['rehydrate', 'start', 'ping', 'stop']) expect([op, agentWith(old, {}, op).code]).toEqual([op, 0]);
    expect(readFileSync(join(dep.targetHome, 'conf', 'server.properties'), 'utf8')).toContain('admin.password=s3cret-from-plan\n');
  });
});

/**
 * `run` (the container entrypoint) on its own bundle `name`, with the container contract's
 * directories under the temp dir (run keeps its private bundle and phase there), the extension's
 * start held (after the example's, which starts the server) while `hold` exists.
 */
async function heldRun(name: string) {
  const root = join(tmp.path, name);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ABCTL_RUN_DIR: join(root, 'run'), ABCTL_STATE_DIR: join(root, 'state'), ABCTL_CONFIG_DIR: join(root, 'config'), ABCTL_SECRET_DIR: join(root, 'secret') };
  const dir = await bundleFor(dep, `${name}-bundle`);
  const hold = join(root, 'hold');
  // A container is given no bundle key: its password comes from the Secret mounted there.
  mkdirSync(join(root, 'secret'), { recursive: true });
  writeFileSync(join(root, 'secret', 'properties.json'), JSON.stringify({ 'admin.password': 'from-the-secret' }), { mode: 0o600 });
  writeFileSync(hold, '');
  await holdingStart(join(dir, 'plugins', 'examplelogs', 'index.js'), hold);
  const child = spawn(process.execPath, [join(dir, 'abctl-agent.mjs'), 'run', '--bundle', dir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (c: Buffer) => (log += c.toString('utf8')));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { root, env, dir, hold, child, exited, log: () => log };
}

describe('the container mode (run) and its health check', () => {
  it('fails the health check until the whole start chain has finished, though the product already answers', async () => {
    const { root, env, dir, hold, child, exited, log } = await heldRun('container');
    const ping = () => spawnSync(process.execPath, [join(dir, 'abctl-agent.mjs'), 'ping', '--bundle', dir], { encoding: 'utf8', timeout: 60_000, env });
    try {
      await until(() => existsSync(`${hold}.waiting`), log);
      // The server is up (the example's start returned), but the chain is not done: unhealthy.
      expect(await (await fetch(`http://127.0.0.1:${port}/health`)).text()).toBe('ok web-one\n');
      const early = ping();
      expect(early.stdout).toBe('unhealthy: the container is starting: the health check passes once the start chain has finished\n');
      expect(early.status).toBe(1);
      rmSync(hold);
      await until(() => log().includes('abctl: started (example, examplelogs)'), log);
      const ready = ping();
      expect(ready.stdout).toBe(`healthy: example: http://127.0.0.1:${port}/health answered "ok web-one"\n`);
      expect(ready.status).toBe(0);
    } finally {
      rmSync(hold, { force: true });
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(log()).toContain('abctl: stopped (example)');
    // run is over: its private bundle and phase are gone, and the health check reads the bundle named again.
    expect(existsSync(join(root, 'run', 'bundle'))).toBe(false);
    expect(ping().status).toBe(1);
  }, 120_000);

  it('takes SIGTERM during the start chain as a stop: the stop chain runs, the product is down, exit 0', async () => {
    const { hold, child, exited, log } = await heldRun('container-stopped-early');
    try {
      await until(() => existsSync(`${hold}.waiting`), log);
      expect(await (await fetch(`http://127.0.0.1:${port}/health`)).text()).toBe('ok web-one\n');
      // The engine's stop arrives while the extension's start still runs (the hold stays).
      child.kill('SIGTERM');
      expect(await exited, log()).toBe(0);
    } finally {
      rmSync(hold, { force: true });
      child.kill('SIGKILL');
    }
    expect(log()).toContain('abctl: stop requested while starting');
    expect(log()).toContain('abctl: stopped (example)');
    expect(log()).not.toContain('abctl: started (');
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
    expect(existsSync(join(dep.targetHome, 'run', 'minihttpd.pid'))).toBe(false);
  }, 120_000);
});

/** Polls `done` every 50 ms for up to 60 s; the error shows `log()`. */
async function until(done: () => boolean, log: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out; the agent said:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('a plugin of the bundle that fails to start', () => {
  let copy: string;
  beforeAll(() => {
    copy = join(tmp.path, 'broken-start');
    cpSync(bundleDir, copy, { recursive: true });
    writeFileSync(join(copy, 'plugins', 'examplelogs', 'index.js'), `export default { start() { throw new Error('no log directory'); } };\n`);
  });
  const reason = /extension examplelogs of example is broken \(PLUGIN_START_FAILED: extension "examplelogs" \(.*index\.js\): activator "default": start failed: no log directory\)/;

  it('refuses ping and start as that plugin\'s error, before any step runs, with the ways on', () => {
    for (const op of ['ping', 'start']) {
      const r = agent(copy, op);
      expect(r.code, op).toBe(1);
      expect(r.err).toContain(`error in plugin examplelogs: ${join(copy, 'plugins', 'examplelogs', 'index.js')}: ${op} of appliance "web" (instance 1) cannot run: `);
      expect(r.err).toMatch(reason);
      expect(r.err).toContain('abctl disablePlugin --name examplelogs');
      expect(r.err).not.toContain('[example]');
    }
  });

  it('refuses rehydrate before the file sets are touched', () => {
    // Whatever earlier cases left there (or nothing): names and times stay as they are.
    const snapshot = (): string =>
      existsSync(dep.targetHome)
        ? JSON.stringify(readdirSync(dep.targetHome, { recursive: true }).map((f) => [f, statSync(join(dep.targetHome, String(f))).mtimeMs]))
        : 'absent';
    const before = snapshot();
    const r = agent(copy, 'rehydrate');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(reason);
    expect(r.err).not.toContain('file set home');
    expect(snapshot()).toBe(before);
  });

  it('stop stops what it can, then fails naming the broken extension', () => {
    const r = agent(copy, 'stop');
    expect(r.code).toBe(1);
    expect(r.err).toContain('stop of appliance "web" (instance 1) ran without extension examplelogs, so it is incomplete: ');
    expect(r.err).toMatch(reason);
    expect(r.err).toContain('; ran: example');
  });
});

describe('a failing extension', () => {
  it('aborts rehydrate with its name; the extensions after it do not run', async () => {
    const plugins = join(tmp.path, 'plugins-fail');
    cpSync(join(examplePlugins, 'example'), join(plugins, 'example'), { recursive: true });
    cpSync(join(examplePlugins, 'examplelogs'), join(plugins, 'examplelogs'), { recursive: true });
    // Sorted before examplelogs, so examplelogs comes after it in the chain.
    await writePlugin(plugins, {
      name: 'exampleaudit',
      parentName: 'example',
      index: `export const activator = { start(ctx) { ctx.registerService(ctx.ids.IntrospectorPluginExtension, {
        name: 'exampleaudit', parentName: 'example',
        async rehydrate() { throw new Error('audit log directory /var/log/audit is not writable'); },
      }); } };\n`,
    });
    const d = await exampleDeployment(join(tmp.path, 'fail'), { port: await freePort(), serverName: 'x', bundledPlugins: plugins });
    const dir = await bundleFor(d, 'bundle-fail');
    const r = agent(dir, 'rehydrate');
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      'error in plugin exampleaudit: rehydrate of appliance "web" (instance 1) failed in extension exampleaudit (step 2 of 3): rehydrate failed: audit log directory /var/log/audit is not writable',
    );
    expect(r.err).toContain('not run: examplelogs');
  }, 120_000);
});
