/**
 * The nginx plugin against real nginx 1.22 (Debian's package): a private reference instance
 * (its own prefix in a temp dir, free loopback ports) proxying to a tiny Node backend; discovery
 * finds it from its running master; the introspection (test kit, real capture) gives inputs,
 * outputs, templates and file sets; rehydration into a temp root with two connected backends
 * puts both in the upstream and requests reach both, one backend changes the list (the running
 * nginx reloads), nothing connected keeps the reference servers; start/stop/ping; a
 * configuration nginx -t rejects is put back; the reference files are unchanged throughout.
 * Debian's own /etc/nginx layout is introspected too (without capture).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerBinding } from '../../core/lifecycle-contract.js';
import { dehydrate, lifecycle, rehydrate, type Dehydrated } from '../../services/authoring/testkit.js';
import { LocalHost } from '../../services/host/local-host.js';
import { projectRoot } from '../../services/instance.js';
import { bin, cliEnv } from '../introspection/helpers.js';
import { startSshd, type SshdHandle } from '../support/sshd.mjs';
import {
  checksumListing,
  freePort,
  httpGet,
  startBackend,
  startNginx,
  stopNginxByPidFile,
  tempPrefix,
  writeNginxPrefix,
  type Backend,
  type NginxHandle,
} from '../support/nginx.mjs';

const pluginDir = join(projectRoot(), 'plugins', 'nginx');
// What an nginx writes while it runs is not part of the reference's files.
const runtimeFiles = (rel: string): boolean => rel.startsWith('logs/') || rel.startsWith('temp/');

let ref: { dir: string; remove(): Promise<void> };
let work: { dir: string; remove(): Promise<void> };
let refNginx: NginxHandle;
let refBackend: Backend;
const backends: Backend[] = [];
let ports: { proxy: number; static: number };
let listingBefore: string;
let d: Dehydrated;
let sshd: SshdHandle;

beforeAll(async () => {
  ref = await tempPrefix('abctl-nginx-ref-');
  work = await tempPrefix('abctl-nginx-work-');
  // nginx's workers (www-data) serve the rehydrated html/ from below it.
  await chmod(work.dir, 0o755);
  refBackend = await startBackend({ name: 'reference' });
  ports = { proxy: await freePort(), static: await freePort() };
  await writeNginxPrefix(ref.dir, { ports: [ports.proxy, ports.static], upstreams: { app: [`127.0.0.1:${refBackend.port}`] } });
  refNginx = await startNginx({ dir: ref.dir, ports: [ports.proxy, ports.static] });
  sshd = await startSshd();
  listingBefore = await checksumListing(ref.dir, runtimeFiles);
  // Introspected while it runs: nginx's files are static, so the capture check lets it go on.
  d = await dehydrate({ plugin: pluginDir, parameters: { conf: join(ref.dir, 'nginx.conf'), prefix: ref.dir } });
}, 60_000);

afterAll(async () => {
  await stopNginxByPidFile(join(work.dir, 'root', ref.dir, 'logs', 'nginx.pid')).catch(() => undefined);
  await refNginx?.stop();
  await sshd?.stop();
  await Promise.all([refBackend?.close(), ...backends.map((b) => b.close())]);
  await d?.dispose();
  await work?.remove();
  await ref?.remove();
});

describe('nginx plugin: discovery and introspection', () => {
  it('discovery finds the running master with its -p and -c, and Debian\'s configuration', async () => {
    const { findInstallations } = (await import(join(pluginDir, 'index.js'))) as { findInstallations(h: LocalHost): Promise<{ conf: string; prefix: string; binary: string; version: string; pid?: number }[]> };
    const found = await findInstallations(new LocalHost());
    expect(found).toContainEqual({ conf: join(ref.dir, 'nginx.conf'), prefix: ref.dir, binary: '/usr/sbin/nginx', version: '1.22.1', pid: refNginx.pid });
    expect(found.find((i) => i.conf === '/etc/nginx/nginx.conf')).toMatchObject({ prefix: '/usr/share/nginx', binary: '/usr/sbin/nginx' });
  });

  it('makes inputs of the listen ports, an output of the upstream, properties and templates', () => {
    const a = d.appliance;
    expect(a.inputs.map((i) => ({ name: i.name, port: i.port, portProperty: i.portProperty, protocols: i.protocols }))).toEqual([
      { name: 'http', port: ports.proxy, portProperty: 'listen.http.port', protocols: ['http'] },
      { name: 'http-2', port: ports.static, portProperty: 'listen.http-2.port', protocols: ['http'] },
    ]);
    expect(a.outputs.map((o) => ({ name: o.name, protocol: o.protocol, servers: o.properties.getValue('servers'), port: o.properties.getValue('port') }))).toEqual([
      { name: 'app', protocol: 'http', servers: `127.0.0.1:${refBackend.port}`, port: String(refBackend.port) },
    ]);
    const value = (n: string) => a.properties.getValue(n);
    expect(value('listen.http.port')).toBe(String(ports.proxy));
    expect(value('listen.http.address')).toBe('127.0.0.1');
    expect(value('server.1.names')).toBe('app.example');
    expect(value('server.2.names')).toBe('static.example');
    expect(value('upstream.app.servers')).toBe(`127.0.0.1:${refBackend.port}`);
    expect(value('product.version')).toBe('1.22.1');
    expect(value('nginx.libraries')).toMatch(/libc6 .*libssl3 |libssl3 .*libc6 /);

    // Only the file holding listens and the upstream is a template; nginx.conf travels in the file set.
    expect(a.contentResources.map((c) => ({ name: c.name, template: c.template }))).toEqual([{ name: 'conf.d~site.conf', template: true }]);
    const text = Buffer.from(d.content.get(a.name)!.get('conf.d~site.conf')!).toString('utf8');
    expect(text).toContain('listen {{[listen.http.address]}}:{{[listen.http.port]}};');
    expect(text).toContain('listen {{[listen.http-2.address]}}:{{[listen.http-2.port]}};');
    expect(text).toContain('server_name {{[server.1.names]}};');
    expect(text).toMatch(/upstream app \{\n {4}\{\{\[upstream\.app\.servers\]\}\}\n\}/);
  });

  it('captures the binary alone, and the configuration tree without pid, logs and temp files', () => {
    const sets = Object.fromEntries(d.appliance.fileSets.map((f) => [f.name, { root: f.root, excludes: f.excludes }]));
    expect(sets).toEqual({
      binary: { root: '/usr/sbin', excludes: ['!(nginx)'] },
      conf: { root: ref.dir, excludes: ['logs/nginx.pid', 'logs/error.log', 'logs/access.log', 'temp/body/*', 'temp/proxy/*', 'temp/fastcgi/*', 'temp/uwsgi/*', 'temp/scgi/*'] },
    });
    const list = (set: string) =>
      execFileSync('tar', ['-tzf', d.archives.find((x) => x.fileSet === set)!.file], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l && !l.endsWith('/'));
    expect(list('binary')).toEqual(['./nginx']);
    expect(list('conf').sort()).toEqual(['./conf.d/site.conf', './html/index.html', './nginx.conf']);
  });

  it("introspects Debian's layout: absolute includes, the site's template behind the sites-enabled link, web root and prefix as file sets", async () => {
    // Debian's own /etc/nginx is shared with other tests (the stack's walk-through edits it): the same layout in a temp dir.
    const etc = join(work.dir, 'debian', 'etc', 'nginx');
    const www = join(work.dir, 'debian', 'var', 'www', 'html');
    await mkdir(join(etc, 'sites-available'), { recursive: true });
    await mkdir(join(etc, 'sites-enabled'));
    await mkdir(join(etc, 'modules-enabled'));
    await mkdir(www, { recursive: true });
    await writeFile(join(www, 'index.nginx-debian.html'), 'welcome\n');
    await writeFile(join(etc, 'mime.types'), 'types {\n    text/html html;\n}\n');
    // An included file outside every file set travels as a content resource, copied as it is.
    const outside = join(work.dir, 'debian', 'opt', 'snippets', 'gzip.conf');
    await mkdir(join(outside, '..'), { recursive: true });
    await writeFile(outside, 'gzip on;\n');
    await writeFile(
      join(etc, 'nginx.conf'),
      `user www-data;\npid /run/nginx.pid;\nerror_log /var/log/nginx/error.log;\ninclude ${etc}/modules-enabled/*.conf;\nevents {\n\tworker_connections 768;\n}\nhttp {\n\tinclude ${etc}/mime.types;\n\tinclude ${outside};\n\taccess_log /var/log/nginx/access.log;\n\tinclude ${etc}/conf.d/*.conf;\n\tinclude ${etc}/sites-enabled/*;\n}\n`,
    );
    await writeFile(
      join(etc, 'sites-available', 'default'),
      `server {\n\tlisten 80 default_server;\n\tlisten [::]:80 default_server;\n\t# a {{ in a comment stays as it is\n\troot ${www};\n\tindex index.html index.nginx-debian.html;\n\tserver_name _;\n\tlocation / {\n\t\ttry_files $uri $uri/ =404;\n\t}\n}\n`,
    );
    await symlink(join(etc, 'sites-available', 'default'), join(etc, 'sites-enabled', 'default'));
    const deb = await dehydrate({ plugin: pluginDir, parameters: { conf: join(etc, 'nginx.conf') }, capture: false });
    try {
      const a = deb.appliance;
      expect(a.inputs.map((i) => [i.name, i.port])).toEqual([['http', 80]]);
      expect(a.outputs).toEqual([]);
      expect(a.properties.getValue('nginx.prefix')).toBe('/usr/share/nginx');
      expect(a.fileSets.map((f) => [f.name, f.root, f.excludes])).toEqual([
        ['binary', '/usr/sbin', ['!(nginx)']],
        ['prefix', '/usr/share/nginx', []],
        ['conf', etc, []],
        ['webroot', www, []],
      ]);
      const files = JSON.parse(a.properties.getValue('nginx.files')!) as { templates: Record<string, string>; files: Record<string, string> };
      expect(files.templates).toEqual({ 'sites-available~default': 'sites-available/default' });
      const copied = outside.slice(1).replace(/\//g, '~');
      expect(files.files).toEqual({ [copied]: outside });
      expect(Buffer.from(deb.content.get(a.name)!.get(copied)!).toString('utf8')).toBe('gzip on;\n');
      const text = Buffer.from(deb.content.get(a.name)!.get('sites-available~default')!).toString('utf8');
      expect(a.properties.getValue('listen.http.address')).toBe('*');
      expect(text).toContain('listen {{[listen.http.address]}}:{{[listen.http.port]}} default_server;');
      expect(text).toContain('listen [::]:{{[listen.http.port]}} default_server;');
      expect(text).toContain('server_name {{[server.1.names]}};');
      expect(text).toContain('# a \\{{ in a comment stays as it is');
    } finally {
      await deb.dispose();
    }
  });
});

describe('nginx plugin over SSH', () => {
  const abctl = (args: string[]) => {
    const r = spawnSync(process.execPath, [bin, ...args, '--json'], { env: cliEnv(join(work.dir, 'instance'), join(projectRoot(), 'plugins')), encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  const overSsh = () => ['--host', sshd.target, '--identity-file', sshd.identityFile, '--known-hosts', sshd.knownHostsFile];

  it('discovers the running master and introspects it through the CLI, capture included', () => {
    const found = abctl(['discover', ...overSsh()]);
    expect(found.code, found.err).toBe(0);
    const nginx = (JSON.parse(found.out) as { plugins: { plugin: string; installations: { parameters: Record<string, string> }[] }[] }).plugins.find((p) => p.plugin === 'nginx');
    const params = nginx?.installations.find((i) => i.parameters.conf === join(ref.dir, 'nginx.conf'))?.parameters;
    expect(params).toEqual({ conf: join(ref.dir, 'nginx.conf'), prefix: ref.dir, binary: '/usr/sbin/nginx' });

    // What discover printed is what introspects it.
    const r = abctl(['introspectnginx', ...Object.entries(params!).flatMap(([k, v]) => [`--${k}`, v]), '--name', 'proxy-ssh', ...overSsh()]);
    expect(r.code, r.err).toBe(0);
    const described = abctl(['describeAppliances', '--name', 'proxy-ssh']);
    expect(described.code, described.err).toBe(0);
    const text = described.out;
    for (const s of ['"listen.http.port"', '"upstream.app.servers"', '"conf.d~site.conf"', `"${ref.dir}"`, '"!(nginx)"', '"sha256"']) expect(text).toContain(s);
  }, 120_000);
});

describe('nginx plugin: rehydrate, start, stop, ping', () => {
  const peers = (list: Backend[]): PeerBinding[] => [
    { appliance: 'web', input: 'http', external: false, hostNames: list.map((b) => `web-${b.name}`), addresses: list.map((b) => b.host), port: list[0]!.port, properties: {} },
  ];
  const root = () => join(work.dir, 'root');
  const site = () => readFile(join(root(), ref.dir, 'conf.d', 'site.conf'), 'utf8');
  let newPorts: { proxy: number; static: number };
  let bundle: string;

  /** Answers of `n` requests through the rehydrated proxy. */
  const answers = async (n: number): Promise<string[]> => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push((await httpGet(newPorts.proxy)).body.trim());
    return out;
  };

  it('writes every connected instance into the upstream, starts, and requests reach both backends', async () => {
    // Two instances of the backend: same port, two loopback addresses, as two hosts would be.
    const port = await freePort();
    backends.push(await startBackend({ name: '1', host: '127.0.0.2', port }), await startBackend({ name: '2', host: '127.0.0.3', port }));
    newPorts = { proxy: await freePort(), static: await freePort() };
    const r = await rehydrate(d, {
      root: root(),
      // The static server moves to another loopback address: start and ping probe where nginx listens.
      properties: { 'listen.http.port': String(newPorts.proxy), 'listen.http-2.port': String(newPorts.static), 'listen.http-2.address': '127.0.0.4', 'server.1.names': 'proxy.test' },
      bindings: { outputs: { app: peers(backends) } },
    });
    bundle = r.bundleDir;
    const text = await site();
    expect(text).toContain(`    server 127.0.0.2:${port};\n    server 127.0.0.3:${port};\n}`);
    expect(text).toContain(`listen 127.0.0.1:${newPorts.proxy};`);
    expect(text).toContain('server_name proxy.test;');

    await lifecycle(bundle, 'start');
    expect(new Set(await answers(4))).toEqual(new Set(['backend 1', 'backend 2']));
    expect(text).toContain(`listen 127.0.0.4:${newPorts.static};`);
    expect((await httpGet(newPorts.static, { host: '127.0.0.4' })).body).toBe('static page\n');
    const ping = await lifecycle(bundle, 'ping');
    expect(ping.health?.healthy).toBe(true);
    expect(ping.health?.message).toContain(`${newPorts.proxy}: HTTP 200`);
    // The reference is still serving on its own ports, untouched.
    expect((await httpGet(ports.proxy)).body).toBe('backend reference\n');
  });

  it('one connected instance: the list changes and the running nginx reloads it', async () => {
    await rehydrate(d, {
      root: root(),
      properties: { 'listen.http.port': String(newPorts.proxy), 'listen.http-2.port': String(newPorts.static) },
      bindings: { outputs: { app: peers([backends[0]!]) } },
    });
    expect(await site()).toMatch(new RegExp(`upstream app \\{\\n    server 127\\.0\\.0\\.2:${backends[0]!.port};\\n\\}`));
    // A reload lets old workers finish: wait (bounded) until only the remaining backend answers.
    const deadline = Date.now() + 10_000;
    let seen = await answers(4);
    while (seen.some((s) => s !== 'backend 1') && Date.now() < deadline) seen = await answers(4);
    expect(seen).toEqual(['backend 1', 'backend 1', 'backend 1', 'backend 1']);
  });

  it('rejects a configuration nginx -t refuses, puts back the files it found, and the running nginx keeps serving', async () => {
    // The agent extracts the file sets before the plugin runs: the files found are the reference's.
    const extracted = await readFile(join(ref.dir, 'conf.d', 'site.conf'), 'utf8');
    const err = await rehydrate(d, {
      root: root(),
      properties: { 'listen.http.port': String(newPorts.proxy), 'listen.http-2.port': String(newPorts.static), 'upstream.app.servers': '127.0.0.1:1 no-such-parameter' },
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain('nginx -t rejected the rehydrated configuration');
    expect(err?.message).toContain('no-such-parameter');
    expect(await site()).toBe(extracted);
    expect(await answers(2)).toEqual(['backend 1', 'backend 1']);
  });

  it('nothing connected: the reference servers stay in the upstream', async () => {
    await rehydrate(d, { root: root(), properties: { 'listen.http.port': String(newPorts.proxy), 'listen.http-2.port': String(newPorts.static) } });
    expect(await site()).toContain(`    server 127.0.0.1:${refBackend.port};\n}`);
    const deadline = Date.now() + 10_000;
    let seen = await answers(2);
    while (seen.some((s) => s !== 'backend reference') && Date.now() < deadline) seen = await answers(2);
    expect(seen).toEqual(['backend reference', 'backend reference']);
  });

  it('stops with nginx -s quit; ping then says it is down; a second stop has nothing to do', async () => {
    await lifecycle(bundle, 'stop');
    const ping = await lifecycle(bundle, 'ping');
    expect(ping.health).toMatchObject({ healthy: false });
    expect(ping.health?.message).toContain('not running');
    await expect(httpGet(newPorts.proxy)).rejects.toThrow();
    const again = await lifecycle(bundle, 'stop');
    expect(again.log.join('\n')).toContain('not running');
  });

  it('left the reference files as they were', async () => {
    expect(await checksumListing(ref.dir, runtimeFiles)).toBe(listingBefore);
    expect((await httpGet(ports.proxy)).body).toBe('backend reference\n');
  });
});
