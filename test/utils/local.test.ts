/**
 * The plugin utilities that need no remote host: the content builder (file -> template, checked
 * by rendering it back with abctl's strict renderer), the per-host cache (real files under a
 * temp state dir; the clock is injected only to expire entries without sleeping), the
 * implementation provider (real modules imported from a plugin directory), and an operation's
 * runner and temporary files on this machine.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbError, PluginError } from '../../core/errors.js';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import { renderTemplate } from '../../core/templates/index.js';
import { LocalHost } from '../../services/host/local-host.js';
import { FileHostCache } from '../../services/utils/host-cache.js';
import { OperationUtils } from '../../services/utils/operation-utils.js';
import { Application } from '../../services/app.js';
import { ServiceIds } from '../../core/service-ids.js';
import { withUtils } from '../../services/utils/module.js';
import { tempDir } from '../helpers/plugins.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let ops: OperationUtils;
const plugin = () => ({ name: 'probe', directory: join(tmp.path, 'plugin') });

beforeAll(async () => {
  tmp = await tempDir('abctl-utils-');
  await mkdir(join(tmp.path, 'plugin', 'impl'), { recursive: true });
  ops = new OperationUtils({ where: 'reference', host: new LocalHost(), hostName: 'local', tempParent: join(tmp.path, 'scratch'), cacheDir: join(tmp.path, 'state', 'cache') });
});
afterAll(async () => {
  await ops?.close();
  await tmp?.cleanup();
});

async function failure(p: Promise<unknown> | (() => unknown)): Promise<AbError> {
  const err = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AbError);
  return err as AbError;
}

describe('contentBuilder', () => {
  const POSTGRES = "# PostgreSQL\nlisten_addresses = 'localhost'\nport = 5432\n#port = 1\nmax_connections = 100\n# a {{literal}} and \\{{ too\n";

  it('turns chosen values of a file into variables and keeps the rest literal', async () => {
    const file = join(tmp.path, 'postgresql.conf');
    await writeFile(file, POSTGRES);
    const utils = ops.forPlugin(plugin());
    const built = (await utils.contentBuilder({ path: file }))
      .variable('pg.port', /^port = (\d+)/m)
      .variable('pg.listen', /^listen_addresses = '([^']*)'/m)
      .variable('max_connections', '100')
      .build('postgresql.conf', { description: 'main config' });
    expect(built).toMatchObject({ name: 'postgresql.conf', template: true, description: 'main config' });
    expect(built.variables).toEqual([
      { name: 'pg.listen', value: 'localhost', count: 1 },
      { name: 'pg.port', value: '5432', count: 1 },
      { name: 'max_connections', value: '100', count: 1 },
    ]);
    expect(built.content).toContain('port = {{[pg.port]}}\n#port = 1\n');
    expect(built.content).toContain('max_connections = {{max_connections}}');
    // Rendered by the strict renderer: the original values give the file back, new ones a new file.
    const values = { 'pg.port': 5432, 'pg.listen': 'localhost', max_connections: 100 };
    expect(renderTemplate({ name: 't', text: built.content }, values)).toBe(POSTGRES);
    const changed = renderTemplate({ name: 't', text: built.content }, { ...values, 'pg.port': 6543 });
    expect(changed).toContain('port = 6543\n#port = 1\n');
    expect(changed).toContain('a {{literal}} and \\{{ too');
  });

  it('handles braces and backslashes next to values, helper names and a server.xml with the xml helper', async () => {
    const utils = ops.forPlugin(plugin());
    const json = (await utils.contentBuilder({ text: '{"port":8080}\npath\\8080\n' })).variable('port', '8080').build('app.json');
    expect(renderTemplate({ name: 'j', text: json.content }, { port: 9090 })).toBe('{"port":9090}\npath\\9090\n');
    const odd = (await utils.contentBuilder({ bytes: new TextEncoder().encode('mode xml; key a]b') })).variable('xml', 'xml').variable('a]b', 'a]b').build('odd');
    expect(renderTemplate({ name: 'o', text: odd.content }, { xml: 'X', 'a]b': 'Y' })).toBe('mode X; key Y');
    const xml = (await utils.contentBuilder({ text: '<Connector port="8080" protocol="HTTP/1.1" secret="a&amp;b"/>' }))
      .variable('http.port', /<Connector port="(\d+)"/)
      .variable('ajp.secret', /secret="([^"]*)"/, { helper: 'xml' })
      .build('server.xml');
    expect(xml.content).toBe('<Connector port="{{[http.port]}}" protocol="HTTP/1.1" secret="{{xml [ajp.secret]}}"/>');
    expect(renderTemplate({ name: 'x', text: xml.content }, { 'http.port': 8081, 'ajp.secret': 'c<d' })).toBe('<Connector port="8081" protocol="HTTP/1.1" secret="c&lt;d"/>');
  });

  it('says which variable is wrong: no match, overlap, two texts, a brace before it, a bad name', async () => {
    const b = () => ops.forPlugin(plugin()).contentBuilder({ text: 'port=1 port=2 {5}' });
    expect((await failure(async () => (await b()).variable('p', '9').build('x'))).code).toBe('UTIL_CONTENT_NO_MATCH');
    expect((await b()).variable('p', '9', { optional: true }).build('x').variables).toEqual([]);
    expect((await failure(async () => (await b()).variable('a', 'port=1').variable('b', /=(1)/).build('x'))).message).toContain('"a" and "b" both match');
    expect((await failure(async () => (await b()).variable('p', /port=(\d)/).build('x'))).message).toContain('matches different texts');
    expect((await failure(async () => (await b()).variable('p', '5').build('x'))).message).toContain('follow a "{"');
    expect((await failure(async () => (await b()).variable('has space', '5'))).code).toBeDefined();
    const bin = await failure(ops.forPlugin(plugin()).contentBuilder({ bytes: new Uint8Array([0xff, 0xfe]) }));
    expect(bin.message).toContain('not UTF-8');
  });
});

describe('cache', () => {
  it('sets, gets, extends and clears per plugin and host, in a private JSON file written atomically', async () => {
    let now = 1_000_000;
    const dir = join(tmp.path, 'state', 'cache-a');
    const a = new FileHostCache(dir, 'probe', 'admin@db1:22', () => now);
    const other = new FileHostCache(dir, 'other', 'admin@db1:22', () => now);
    const elsewhere = new FileHostCache(dir, 'probe', 'admin@db2:22', () => now);
    await a.set('info', { version: '16.4', dbs: ['a', 'b'] }, 1000);
    await other.set('info', 'not mine');
    expect(await a.get('info')).toEqual({ version: '16.4', dbs: ['a', 'b'] });
    expect(await other.get('info')).toBe('not mine');
    expect(await elsewhere.get('info')).toBeUndefined();
    expect((await stat(a.file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'probe'))).mode & 0o777).toBe(0o700);
    expect(JSON.parse(await readFile(a.file, 'utf8'))).toMatchObject({ host: 'admin@db1:22' });
    // Nothing but the store itself: write-file-atomic left no temporary file.
    expect(await readdir(join(dir, 'probe'))).toEqual([a.file.slice(a.file.lastIndexOf('/') + 1)]);

    now += 999;
    expect(await a.extend('info', 5000)).toBe(true);
    now += 4000;
    expect(await a.get('info')).toBeDefined();
    now += 2000;
    expect(await a.get('info')).toBeUndefined();
    expect(await a.extend('info', 5000)).toBe(false);
    // The expired entry was purged from the file, not only hidden.
    expect(JSON.parse(await readFile(a.file, 'utf8')).entries).toEqual({});

    await a.set('x', 1);
    await a.set('y', 2);
    await a.clear('x');
    expect([await a.get('x'), await a.get('y')]).toEqual([undefined, 2]);
    await a.clear();
    expect(await a.get('y')).toBeUndefined();
    expect(await other.get('info')).toBe('not mine');
  });

  it('keeps entries between processes (a new object reads the file) and refuses what JSON cannot hold', async () => {
    const dir = join(tmp.path, 'state', 'cache-b');
    await new FileHostCache(dir, 'probe', 'h').set('k', [1, 'two', null], 60_000);
    expect(await new FileHostCache(dir, 'probe', 'h').get('k')).toEqual([1, 'two', null]);
    const c = new FileHostCache(dir, 'probe', 'h');
    for (const bad of [undefined, { f: () => 1 }, Number.NaN]) {
      const err = await failure(c.set('bad', bad as never));
      expect(err).toBeInstanceOf(PluginError);
      expect(err.code).toBe('UTIL_CACHE_INVALID');
    }
    expect((await failure(c.set('k', 1, -5))).message).toContain('positive number');
    expect((await failure(c.get(''))).message).toContain('non-empty');
    // A damaged file is a cache miss, then rewritten whole.
    await writeFile(c.file, '{not json');
    expect(await c.get('k')).toBeUndefined();
    await c.set('k', 'again');
    expect(await c.get('k')).toBe('again');
  });

  it('ctx.utils.cache() defaults to the operation host and lives under the state dir', async () => {
    const cache = ops.forPlugin(plugin()).cache();
    expect(cache.host).toBe('local');
    await cache.set('n', 1);
    expect(existsSync(join(tmp.path, 'state', 'cache', 'probe'))).toBe(true);
  });
});

describe('loadImplementation', () => {
  it('imports the module whose range holds the product version, in the order written', async () => {
    const dir = plugin().directory;
    await writeFile(join(dir, 'impl', 'v9.js'), "export const api = 'v9';\n");
    await writeFile(join(dir, 'impl', 'v10.js'), "export const api = 'v10';\nexport function describe(v) { return `wrapper 10 for ${v}`; }\n");
    await writeFile(join(dir, 'impl', 'broken.js'), 'export const = ;\n');
    const utils = ops.forPlugin(plugin());
    const table = { '9.x': './impl/v9.js', '>=10 <17': './impl/v10.js', '>=17': './impl/broken.js' };
    expect((await utils.loadImplementation<{ api: string }>('9.6.24', table)).api).toBe('v9');
    const m = await utils.loadImplementation<{ api: string; describe(v: string): string }>('16.4 (Debian 16.4-1.pgdg)', table);
    expect(m.describe('16.4')).toBe('wrapper 10 for 16.4');

    const none = await failure(utils.loadImplementation('8.4', table));
    expect(none).toBeInstanceOf(PluginError);
    expect(none.code).toBe('UTIL_IMPLEMENTATION_NONE');
    expect(none.message).toBe('plugin probe has no implementation for product version 8.4 (read as 8.4.0); it has "9.x", ">=10 <17", ">=17"');
    const broken = await failure(utils.loadImplementation('17', table));
    expect([broken.code, broken.where]).toEqual(['UTIL_IMPLEMENTATION_FAILED', join(dir, 'impl', 'broken.js')]);
    expect((await failure(utils.loadImplementation('no version', table))).message).toContain('cannot read a version number');
    expect((await failure(utils.loadImplementation('1', { 'not a range!': './x.js' }))).message).toContain('is not a version range');
  });
});

describe('run and temporary files on this machine', () => {
  it('runs argv with env (not on the command line), input, cwd and a time limit', async () => {
    const utils = ops.forPlugin(plugin());
    const r = await utils.run({ argv: ['sh', '-c', 'printf "%s|%s|" "$SECRET" "$PWD"; cat'], env: { SECRET: 's3cr3t' }, input: 'from stdin', cwd: tmp.path });
    expect(r).toEqual({ exitCode: 0, signal: null, stdout: `s3cr3t|${tmp.path}|from stdin`, stderr: '' });
    const cmdline = await utils.run({ argv: ['sh', '-c', 'tr "\\0" " " < /proc/$$/cmdline'], env: { SECRET: 's3cr3t' } });
    expect(cmdline.stdout).toContain('sh -c');
    expect(cmdline.stdout).not.toContain('s3cr3t');
    expect((await utils.run({ argv: ['no-such-program-here'] })).exitCode).toBe(127);
    const t0 = Date.now();
    expect((await failure(utils.run({ argv: ['sleep', '30'], timeoutMs: 300 }))).code).toBe('RUN_TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('makes private temp files and dirs under the scratch dir and removes them when the operation ends', async () => {
    const own = new OperationUtils({ where: 'reference', host: new LocalHost(), hostName: 'local', tempParent: join(tmp.path, 'scratch2'), cacheDir: join(tmp.path, 'state', 'c') });
    const utils = own.forPlugin(plugin());
    const f = await utils.tempFile({ prefix: 'dump-', suffix: '.sql', content: 'select 1;' });
    const d = await utils.tempDir({ prefix: 'work-' });
    expect(f.startsWith(join(tmp.path, 'scratch2'))).toBe(true);
    expect(f).toMatch(/\/dump-[0-9a-f]{12}\.sql$/);
    expect(await readFile(f, 'utf8')).toBe('select 1;');
    expect((await stat(f)).mode & 0o777).toBe(0o600);
    expect((await stat(d)).mode & 0o777).toBe(0o700);
    expect((await failure(utils.tempFile({ prefix: '../escape' }))).code).toBe('UTIL_TEMP_INVALID');
    await own.close();
    expect([existsSync(f), existsSync(d)]).toEqual([false, false]);
    expect(await readdir(join(tmp.path, 'scratch2'))).toEqual([]);
    expect((await failure(utils.tempFile())).code).toBe('UTIL_NOT_IN_OPERATION');
  });
});

describe('stopProcess and waitForExit on an instance', () => {
  // Real processes of this machine, as an instance's would be; the lifecycle scope is the agent's.
  const onInstance = (signal?: AbortSignal) =>
    new OperationUtils({ where: 'instance', hostName: 'here', tempParent: join(tmp.path, 'scratch-instance'), cacheDir: join(tmp.path, 'state', 'cache'), signal }).forPlugin(plugin());
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  /** A process that ignores SIGTERM, the way a hung server would; resolves once its trap is set. */
  const hung = async () => {
    const child = spawn('sh', ['-c', "trap '' TERM; echo ready; while :; do sleep 0.05; done"], { stdio: ['ignore', 'pipe', 'ignore'] });
    await new Promise((r) => child.stdout.once('data', r));
    return child;
  };

  it('sends SIGTERM and resolves once the process is gone; false when it was not running', async () => {
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    const gone = new Promise((r) => child.once('exit', r));
    expect(await onInstance().stopProcess(child.pid!, { name: 'sleep' })).toBe(true);
    await gone;
    expect(child.signalCode).toBe('SIGTERM');
    expect(await onInstance().stopProcess(child.pid!)).toBe(false);
  });

  it('is the plugin\'s error naming the process when it outlives the limit, and waitForExit says false', async () => {
    const child = await hung();
    try {
      const err = await failure(onInstance().stopProcess(child.pid!, { name: 'hungd', timeoutMs: 300 }));
      expect(err).toBeInstanceOf(PluginError);
      expect([err.code, (err as PluginError).plugin, err.message, err.hint]).toEqual(['UTIL_STOP_TIMEOUT', 'probe', `hungd (pid ${child.pid}) did not stop within 0.3 s of SIGTERM`, `kill -KILL ${child.pid} ends it`]);
      expect(alive(child.pid!)).toBe(true);
      expect(await onInstance().waitForExit(child.pid!, 200)).toBe(false);
      const waiting = onInstance().waitForExit(child.pid!, 10_000);
      child.kill('SIGKILL');
      expect(await waiting).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('stops waiting when the operation is cancelled', async () => {
    const child = await hung();
    try {
      const abort = new AbortController();
      const t0 = Date.now();
      const stopping = onInstance(abort.signal).stopProcess(child.pid!, { timeoutMs: 20_000 });
      setTimeout(() => abort.abort(), 200);
      await expect(stopping).rejects.toMatchObject({ name: 'AbortError' });
      expect(Date.now() - t0).toBeLessThan(5_000);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses dehydrate (the reference host must not change), a bad pid, signal or limit', async () => {
    const reference = ops.forPlugin(plugin());
    expect((await failure(reference.stopProcess(process.pid))).code).toBe('UTIL_PROCESS_NOT_HERE');
    expect((await failure(reference.waitForExit(process.pid))).code).toBe('UTIL_PROCESS_NOT_HERE');
    const u = onInstance();
    for (const bad of [0, 1, -5, 1.5, Number.NaN]) expect((await failure(u.stopProcess(bad))).code).toBe('UTIL_PROCESS_INVALID');
    expect((await failure(u.stopProcess(process.pid, { signal: 'SIGKILL' as never }))).code).toBe('UTIL_PROCESS_INVALID');
    expect((await failure(u.waitForExit(process.pid, -1))).code).toBe('UTIL_PROCESS_INVALID');
  });
});

describe('the registry\'s UtilFactory', () => {
  it('is registered by abctl and acts for the hook that runs; outside one it says so', async () => {
    const app = Application.create({ instanceRoot: join(tmp.path, 'instance'), bundledPluginsDir: join(tmp.path, 'no-plugins') });
    const owned = app.collector().getServicesWithOwner(ServiceIds.UtilFactory);
    expect(owned.map((o) => o.owner)).toEqual(['abctl']);
    const factory = owned[0]!.service;
    expect(factory.sdkVersion).toBe(SDK_VERSION);
    const err = await failure(factory.run({ argv: ['true'] }));
    expect([err.code, err.hint]).toEqual(['UTIL_NOT_IN_OPERATION', expect.stringContaining('ctx.utils is the same object')]);
    const mine = ops.forPlugin(plugin());
    const inside = await withUtils(mine, async () => {
      await new Promise((r) => setTimeout(r, 5));
      return [factory.cache().host, (await factory.run({ argv: ['echo', 'in a hook'] })).stdout];
    });
    expect(inside).toEqual(['local', 'in a hook\n']);
  });
});
