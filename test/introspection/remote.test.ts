/**
 * REMOTE == LOCAL: the same product tree introspected on this machine and through a real
 * sshd on loopback (test/support/sshd.mjs) must give the same metadata (apart from the
 * recorded reference host), the same archive listing and the same file contents, for the
 * exclude forms, symlinks, empty directories and modes. Also deferred capture from the
 * recorded SSH host, an aborted remote recapture, and discovery over SSH.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbError } from '../../core/errors.js';
import { Catalog } from '../../catalog/catalog.js';
import type { Application } from '../../services/app.js';
import { CaptureJob } from '../../services/jobs/capture-job.js';
import { IntrospectJob, REFERENCE_HOST_PROPERTY, type IntrospectionSummary } from '../../services/jobs/introspect-job.js';
import { silentProgress } from '../../services/jobs/job.js';
import { projectRoot } from '../../services/instance.js';
import { tempDir } from '../helpers/plugins.js';
import { startSshd, type SshdHandle } from '../support/sshd.mjs';
import {
  EXPECTED_TREE_ENTRIES,
  abctl,
  buildProductTree,
  cliEnv,
  copyMinihttpd,
  examplePlugins,
  extractTo,
  openApp,
  tarListing,
  treeOf,
  writeTestPlugin,
  writeTreePlugin,
} from './helpers.js';

let sshd: SshdHandle;
let tmp: { path: string; cleanup: () => Promise<void> };
let bundled: string;
let product: string;
const apps: Application[] = [];

/** Excludes that tar cannot say with its own wildcards: resolved through a listing of the host. */
const LISTED_EXCLUDES = ['**/archive/*.log', 'data/tm?', 'b[a-z]r', 'c{o,x}nf/cache', '(p)'];

beforeAll(async () => {
  // No skip: without sshd these tests fail with startSshd's explanation.
  sshd = await startSshd();
  tmp = await tempDir('abctl-remote-');
  bundled = join(tmp.path, 'plugins');
  product = join(tmp.path, 'product');
  await mkdir(bundled);
  await buildProductTree(product);
  await mkdir(join(product, 'p'));
  await mkdir(join(product, '(p)'));
  await writeFile(join(product, '(p)', 'f'), 'parentheses in a name');
  await writeTreePlugin(bundled);
  await writeTestPlugin(bundled, {
    name: 'listed',
    params: [{ name: 'root', type: 'path', description: 'product tree', required: true }],
    dehydrate: `ctx.createAppliance({ name: 'product', fileSets: [{ name: 'home', root: String(ctx.parameters.root), excludes: ${JSON.stringify(LISTED_EXCLUDES)} }] });`,
  });
});
afterAll(async () => {
  for (const a of apps) await a.stop();
  await sshd?.stop();
  await tmp?.cleanup();
});

async function instanceApp(name: string): Promise<{ app: Application; instance: string }> {
  const instance = join(tmp.path, name);
  const app = await openApp(instance, bundled);
  apps.push(app);
  return { app, instance };
}

const sshOptions = () => ({ identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, agentSocket: false as const });

interface Side {
  readonly summary: IntrospectionSummary;
  readonly plain: unknown;
  readonly recordedHost: string | undefined;
  readonly archive: string;
}

async function introspect(instanceName: string, plugin: string, remote: boolean, server: SshdHandle = sshd): Promise<Side> {
  const { app } = await instanceApp(instanceName);
  const service = app.get(IntrospectJob);
  const hostOptions = { identityFile: server.identityFile, knownHostsFile: server.knownHostsFile, agentSocket: false as const };
  const summary = await service.introspect(await service.prepare(plugin), { root: product }, remote ? { host: server.target, hostOptions } : {});
  const appliance = await app.get(Catalog).getAppliance('product');
  const plain = appliance.toPlain();
  return {
    summary,
    recordedHost: appliance.properties.getValue(REFERENCE_HOST_PROPERTY),
    plain: { ...plain, properties: plain.properties.filter((p) => p.name !== REFERENCE_HOST_PROPERTY) },
    archive: await app.get(Catalog).fileSetArchivePath('product', 'home'),
  };
}

async function expectSameArchives(local: Side, remote: Side): Promise<void> {
  // Names, modes, sizes and link targets as `tar -tvzf` shows them.
  expect(tarListing(remote.archive)).toEqual(tarListing(local.archive));
  const a = join(tmp.path, `x-${Math.random().toString(36).slice(2)}`);
  const b = `${a}-remote`;
  await mkdir(a);
  await mkdir(b);
  extractTo(local.archive, a);
  extractTo(remote.archive, b);
  expect(treeOf(b)).toEqual(treeOf(a));
}

describe('remote == local', () => {
  it('the three exclude forms, nested ones, symlinks, empty directories and modes', async () => {
    const local = await introspect('local-1', 'tree', false);
    const remote = await introspect('remote-1', 'tree', true);
    expect(local.recordedHost).toBe('local');
    expect(remote.recordedHost).toBe(sshd.target);
    expect(remote.summary.host).toBe(sshd.target);
    expect(remote.plain).toEqual(local.plain);
    // The tree's own entries are as capture.test.ts expects (p and (p) are extra here, for the listed excludes).
    const ours = tarListing(local.archive).map((e) => e.name).filter((n) => !['.', './p', './(p)', './(p)/f'].includes(n));
    expect(ours).toEqual(EXPECTED_TREE_ENTRIES.map((n) => `./${n}`));
    await expectSameArchives(local, remote);
    // Same counts, and the FIFO reported as skipped on both sides.
    const counts = (s: IntrospectionSummary) => s.captured.map(({ files, bytes }) => ({ files, bytes }));
    expect(counts(remote.summary)).toEqual(counts(local.summary));
    expect(remote.summary.warnings).toEqual(local.summary.warnings);
    expect(local.summary.warnings).toEqual(['product/home: skipped data/pipe (fifo)']);
  });

  it('through a server without the SFTP subsystem (issue 9.10): reads go through exec, same result', async () => {
    // A plugin that reads through the host (stat, readdir, readText) before it defines the file set.
    await writeTestPlugin(bundled, {
      name: 'reader',
      params: [{ name: 'root', type: 'path', description: 'product tree', required: true }],
      dehydrate: `const root = String(ctx.parameters.root);
        const seen = (await ctx.host.readdir(root)).map((e) => e.name + ':' + e.type).join(',');
        if (!seen || (await ctx.host.stat(root)).type !== 'directory') throw new Error('nothing read');
        ctx.createAppliance({ name: 'product', fileSets: [{ name: 'home', root, excludes: ${JSON.stringify(['data/pipe'])} }] });`,
    });
    const noSftp = await startSshd({ sftp: false });
    try {
      const local = await introspect('local-nosftp', 'reader', false);
      const remote = await introspect('remote-nosftp', 'reader', true, noSftp);
      expect(remote.plain).toEqual(local.plain);
      await expectSameArchives(local, remote);
      expect(noSftp.log()).toMatch(/subsystem request for sftp .*failed/i);
    } finally {
      await noSftp.stop();
    }
  });

  it('excludes tar cannot express itself (?, brackets, braces, parentheses, ** before a wildcard)', async () => {
    const local = await introspect('local-2', 'listed', false);
    const remote = await introspect('remote-2', 'listed', true);
    expect(remote.plain).toEqual(local.plain);
    await expectSameArchives(local, remote);
    const names = tarListing(local.archive).map((e) => e.name);
    expect(names).not.toContain('./logs/archive/old.log');
    expect(names).not.toContain('./data/tmp');
    expect(names).not.toContain('./bar');
    expect(names).not.toContain('./conf/cache');
    // Which of p and (p) goes is picomatch's business (core/metadata); remote only has to agree, as checked above.
  });
});

describe('deferred capture from the recorded SSH host', () => {
  it('introspects over SSH with --defer-capture, then captureFileSets reads the recorded host', async () => {
    const instance = join(tmp.path, 'cli-remote');
    const env = cliEnv(instance, bundled);
    const ssh = ['--identity-file', sshd.identityFile, '--known-hosts', sshd.knownHostsFile];
    const r = abctl(['introspecttree', '--root', product, '--host', sshd.target, ...ssh, '--defer-capture', '--json'], env);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.out) as IntrospectionSummary).host).toBe(sshd.target);

    // Without the key the recorded host cannot be reached: a clear SSH error, nothing captured.
    const noKey = abctl(['captureFileSets', '--appliance', 'product', '--known-hosts', sshd.knownHostsFile], { ...env, HOME: tmp.path, SSH_AUTH_SOCK: '' });
    expect(noKey.code).toBe(1);
    expect(noKey.err).toMatch(/could not log in|no key|identity/i);

    const c = abctl(['captureFileSets', '--appliance', 'product', ...ssh, '--json'], env);
    expect(c.err).toBe('');
    expect(c.code).toBe(0);
    const local = await introspect('cli-local', 'tree', false);
    const { app } = await instanceApp('cli-remote');
    const archive = await app.get(Catalog).fileSetArchivePath('product', 'home');
    expect(tarListing(archive)).toEqual(tarListing(local.archive));

    // An aborted remote recapture leaves the archive as it was.
    const before = await readFile(archive);
    const controller = new AbortController();
    const err = await app
      .get(CaptureJob)
      .capture('product', { hostOptions: sshOptions(), signal: controller.signal, progress: { ...silentProgress, capture: () => controller.abort() } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect((err as AbError).code).toBe('JOB_INTERRUPTED');
    expect((await readFile(archive)).equals(before)).toBe(true);
    expect(await app.get(Catalog).verifyFileSet('product', 'home')).toBe(true);
  });
});

describe('discover over SSH', () => {
  it('lists the example installation on the remote host with its parameters', async () => {
    const search = join(tmp.path, 'search');
    await mkdir(search);
    const home = await copyMinihttpd(join(search, 'mh'));
    const env = cliEnv(join(tmp.path, 'discover'), examplePlugins, { AB_EXAMPLE_SEARCH: search });
    const ssh = ['--host', sshd.target, '--identity-file', sshd.identityFile, '--known-hosts', sshd.knownHostsFile];
    const r = abctl(['discover', '--json', ...ssh], env);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { host: string; plugins: { plugin: string; installations: { parameters: Record<string, unknown> }[] }[] };
    expect(report.host).toBe(sshd.target);
    const example = report.plugins.find((p) => p.plugin === 'example');
    expect(example?.installations.map((i) => i.parameters)).toContainEqual({ home });
    const text = abctl(['discover', ...ssh], env);
    expect(text.out).toContain(`abctl introspectexample --home ${home} --host ${sshd.target}`);
  });

  it('lists each directory once for all the plugins that look there (the example and tomcat both look in /opt)', async () => {
    const trace = join(tmp.path, 'discover-trace.jsonl');
    const env = cliEnv(join(tmp.path, 'discover-once'), examplePlugins, { AB_SSH_TRACE: trace });
    const r = abctl(['discover', '--json', '--host', sshd.target, '--identity-file', sshd.identityFile, '--known-hosts', sshd.knownHostsFile], env);
    expect(r.code).toBe(0);
    const events = (await readFile(trace, 'utf8'))
      .trim()
      .split('\n')
      .flatMap((line) => (JSON.parse(line) as { events: { kind: string; what: string }[] }).events);
    const listings = events.filter((e) => e.kind === 'sftp' && e.what.startsWith('readdir ')).map((e) => e.what);
    expect(listings.filter((w) => w === 'readdir /opt')).toHaveLength(1);
    expect(listings.length).toBe(new Set(listings).size);
  });
});

describe('ssh2 inside the CLI bundle', () => {
  // Which native add-ons a run loaded: a preload prints require.cache's .node files at exit
  // (the bundle requires them through Node's own require, so they show there).
  const addonsOf = async (root: string, args: readonly string[], env: NodeJS.ProcessEnv) => {
    const preload = join(tmp.path, 'addons.cjs');
    await writeFile(preload, "process.on('exit', () => process.stderr.write('ADDONS ' + JSON.stringify(Object.keys(require.cache).filter((k) => k.endsWith('.node')).map((k) => k.replace(/.*\\//, ''))) + '\\n'));\n");
    const r = spawnSync(process.execPath, ['-r', preload, join(root, 'bin', 'abctl'), ...args], { env, encoding: 'utf8', timeout: 120_000 });
    const line = /^ADDONS (.*)$/m.exec(r.stderr);
    return { code: r.status, out: r.stdout, err: r.stderr.replace(/^ADDONS .*\n/m, ''), addons: JSON.parse(line?.[1] ?? 'null') as string[] | null };
  };
  const ssh = () => ['--host', sshd.target, '--identity-file', sshd.identityFile, '--known-hosts', sshd.knownHostsFile];

  it('uses the optional native add-ons that were built, and loads ssh2 only when a command goes to a host', async () => {
    const env = cliEnv(join(tmp.path, 'addons'), examplePlugins, { AB_EXAMPLE_SEARCH: join(tmp.path, 'no-search') });
    const plugins = await addonsOf(projectRoot(), ['describePlugins', '--json'], env);
    expect(plugins.code).toBe(0);
    expect(plugins.addons).toEqual([]);
    const built = [
      ['sshcrypto.node', 'node_modules/ssh2/lib/protocol/crypto/build/Release/sshcrypto.node'],
      ['cpufeatures.node', 'node_modules/cpu-features/build/Release/cpufeatures.node'],
    ].filter(([, path]) => existsSync(join(projectRoot(), path!))).map(([name]) => name);
    const remote = await addonsOf(projectRoot(), ['discover', ...ssh()], env);
    expect(remote.err).toBe('');
    expect(remote.code).toBe(0);
    expect([...remote.addons!].sort()).toEqual(built.sort());
  });

  it('runs without them: a copy of the CLI with no node_modules at all discovers over SSH', async () => {
    const copy = join(tmp.path, 'bare-cli');
    await mkdir(join(copy, 'dist'), { recursive: true });
    await cp(join(projectRoot(), 'bin'), join(copy, 'bin'), { recursive: true });
    await cp(join(projectRoot(), 'dist', 'cli-bundle'), join(copy, 'dist', 'cli-bundle'), { recursive: true });
    await cp(join(projectRoot(), 'package.json'), join(copy, 'package.json'));
    const search = join(tmp.path, 'bare-search');
    await mkdir(search);
    const home = await copyMinihttpd(join(search, 'mh'));
    const r = await addonsOf(copy, ['discover', ...ssh()], cliEnv(join(tmp.path, 'bare'), examplePlugins, { AB_EXAMPLE_SEARCH: search }));
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.addons).toEqual([]);
    expect(r.out).toContain(`abctl introspectexample --home ${home} --host ${sshd.target}`);
  });
});

describe('upgrade check over SSH', () => {
  it('reads the product home on the reference host and stops when it ships a newer plugin', async () => {
    const home = await copyMinihttpd(join(tmp.path, 'mh-upgrade'));
    await mkdir(join(home, 'plugins', 'introspector', 'example'), { recursive: true });
    await writeFile(join(home, 'plugins', 'introspector', 'example', 'plugin.config'), 'name=example\nversion=9.1\n');
    const instance = join(tmp.path, 'upgrade-remote');
    const env = cliEnv(instance, examplePlugins);
    const ssh = ['--host', sshd.target, '--identity-file', sshd.identityFile, '--known-hosts', sshd.knownHostsFile];
    const r = abctl(['introspectexample', '--home', home, ...ssh], env);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`example 1.0 -> 9.1 (in ${join(home, 'plugins', 'introspector', 'example')} on ${sshd.target})`);
    expect(r.err).toContain(`copy ${home} from ${sshd.target}`);
    expect(abctl(['describeCatalog', '--json'], env).out).not.toContain('minihttpd');
  });
});
