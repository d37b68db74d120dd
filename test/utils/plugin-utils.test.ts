/**
 * The utilities as a plugin gets them, with real parts: a private OpenSSH sshd on loopback
 * (test/support/sshd.mjs) as the remote reference host and as the machine `utils.ssh` reaches,
 * and a plugin written into a temp dir that uses `ctx.utils` (and the registry's UtilFactory)
 * in dehydrate and rehydrate, run through the real introspection (IntrospectJob, locally and
 * over SSH, storing into a real instance) and through the test kit's dehydrate/rehydrate.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbError } from '../../core/errors.js';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import type { Application } from '../../services/app.js';
import { dehydrate, rehydrate } from '../../services/authoring/testkit.js';
import { Catalog } from '../../catalog/catalog.js';
import { SshHost } from '../../services/host/ssh-host.js';
import { IntrospectJob } from '../../services/jobs/introspect-job.js';
import { projectRoot } from '../../services/instance.js';
import { OperationUtils } from '../../services/utils/operation-utils.js';
import { tempDir, writePlugin } from '../helpers/plugins.js';
import { openApp } from '../introspection/helpers.js';
import { startSshd, type SshdHandle } from '../support/sshd.mjs';

let sshd: SshdHandle;
let tmp: { path: string; cleanup: () => Promise<void> };
let pluginsDir: string;
let product: string;
const apps: Application[] = [];

/** Uses every utility in dehydrate, and the lifecycle ones in rehydrate; reports what it saw in a property and the log. */
const PROBE = String.raw`
let collector;
const plugin = {
  name: 'utilprobe',
  jobParameters() { return [{ name: 'home', type: 'path', description: 'product home', required: true }]; },
  async dehydrate(ctx) {
    const u = ctx.utils;
    const home = String(ctx.parameters.home);
    const built = (await u.contentBuilder({ path: home + '/app.conf' }))
      .variable('app.port', /^port\s*=\s*(\d+)/m)
      .build('app.conf', { description: 'app.conf as a template' });
    const version = (await u.run({ argv: ['cat', home + '/VERSION'] })).stdout.trim();
    const impl = await u.loadImplementation(version, { '1.x': './impl/v1.js', '>=2': './impl/v2.js' });
    const echoed = await u.run({ argv: ['sh', '-c', 'printf "%s|" "$GREETING"; cat'], env: { GREETING: 'hi there' }, input: 'piped' });
    const scratch = await u.tempFile({ prefix: 'probe-', content: 'x' });
    const cache = u.cache();
    const runs = ((await cache.get('runs')) ?? 0) + 1;
    await cache.set('runs', runs, 600000);
    // The reference SDK's way: the registry's UtilFactory acts for the hook that is running.
    const registered = collector.getSingletonService('UtilFactory');
    const viaRegistry = (await registered.run({ argv: ['echo', 'registry'] })).stdout.trim();
    const a = ctx.createAppliance({
      name: String(ctx.parameters.app ?? 'probe'),
      properties: [
        { name: 'app.port', type: 'int', category: 'user', value: built.variables[0].value },
        { name: 'probe', type: 'string', category: 'system', value: JSON.stringify({
          impl: impl.describe(version), echoed: echoed.stdout, scratchInTmp: scratch.startsWith(ctx.tmpDir), scratchExists: true,
          scratch, runs, cacheHost: cache.host, viaRegistry, sdk: u.sdkVersion, sameSdk: registered.sdkVersion === u.sdkVersion,
        }) },
      ],
      fileSets: [{ name: 'home', root: home, excludes: ['impl-cache/*'] }],
    });
    ctx.addContentResource(a, built);
  },
  async rehydrate(ctx) {
    const home = ctx.appliance.fileSets.find((f) => f.name === 'home').root;
    await ctx.renderContentResource('app.conf', home + '/app.conf', { mode: 0o644 });
    const dir = await ctx.utils.tempDir({ prefix: 'rehydrate-' });
    const r = await ctx.utils.run({ argv: ['sh', '-c', 'pwd; printf "%s" "$X"; cat'], cwd: dir, env: { X: 'env-ok' }, input: '|input-ok' });
    const viaRegistry = await collector.getSingletonService('UtilFactory').tempFile({ prefix: 'reg-' });
    ctx.log.info('probe-rehydrate ' + JSON.stringify({ out: r.stdout, dir, viaRegistry, host: ctx.utils.cache().host }));
  },
};
export const activator = {
  start(context) {
    collector = context.createCollector();
    context.registerService(context.ids.IntrospectorPlugin, plugin);
  },
};
`;

/** rehydrate reaches another machine with utils.ssh and leaves a file there: what the bundled agent must manage too. */
const SSH_PROBE = String.raw`
const plugin = {
  name: 'sshprobe',
  async dehydrate(ctx) {
    const p = (name, value) => ({ name, type: 'string', category: 'user', value });
    ctx.createAppliance({ name: 'sshprobe', properties: [p('peer', ''), p('identity', ''), p('knownHosts', ''), p('out', '')] });
  },
  async rehydrate(ctx) {
    const v = (n) => ctx.appliance.property(n);
    const conn = await ctx.utils.ssh(v('peer'), { identity: v('identity'), knownHosts: v('knownHosts') });
    const r = await conn.exec(['sh', '-c', 'printf "%s from %s" "$WHO" "$(id -un)"'], { env: { WHO: 'agent ' + process.pid } });
    await conn.writeFile(v('out'), r.stdout, { mode: 0o600 });
    ctx.log.info('sshprobe wrote ' + v('out'));
  },
};
export const activator = { start(context) { context.registerService(context.ids.IntrospectorPlugin, plugin); } };
`;

beforeAll(async () => {
  sshd = await startSshd();
  tmp = await tempDir('abctl-plugin-utils-');
  pluginsDir = join(tmp.path, 'plugins');
  const dir = await writePlugin(pluginsDir, { name: 'utilprobe', minSdkVersion: '1.4', index: PROBE });
  await mkdir(join(dir, 'impl'));
  await writeFile(join(dir, 'impl', 'v1.js'), 'export function describe(v) { return `v1 wrapper for ${v}`; }\n');
  await writeFile(join(dir, 'impl', 'v2.js'), 'export function describe(v) { return `v2 wrapper for ${v}`; }\n');
  await writePlugin(pluginsDir, { name: 'sshprobe', minSdkVersion: '1.4', index: SSH_PROBE });
  product = join(tmp.path, 'product');
  await mkdir(product);
  await writeFile(join(product, 'app.conf'), '# {{not a variable}}\nport = 7001\nname = demo\n');
  await writeFile(join(product, 'VERSION'), '2.3.1\n');
});
afterAll(async () => {
  for (const a of apps) await a.stop();
  await sshd?.stop();
  await tmp?.cleanup();
});

const hostOptions = () => ({ identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, agentSocket: false as const });

interface Probe {
  impl: string;
  echoed: string;
  scratchInTmp: boolean;
  scratch: string;
  runs: number;
  cacheHost: string;
  viaRegistry: string;
  sdk: string;
  sameSdk: boolean;
}

describe('ctx.utils through the real introspection', () => {
  it('works on this machine and over SSH; the cache is kept per host in the instance between introspections', async () => {
    const instance = join(tmp.path, 'instance');
    const app = await openApp(instance, pluginsDir);
    apps.push(app);
    const job = app.get(IntrospectJob);
    const prepared = await job.prepare('utilprobe');
    const probes: Probe[] = [];
    for (const [name, remote] of [['local-1', false], ['remote-1', true], ['local-2', false]] as const) {
      await job.introspect(prepared, { home: product }, { name, ...(remote ? { host: sshd.target, hostOptions: hostOptions() } : {}) });
      const appliance = await app.get(Catalog).getAppliance(name);
      probes.push(JSON.parse(appliance.properties.get('probe')!.value!) as Probe);
      const template = new TextDecoder().decode(await app.get(Catalog).readContent(name, 'app.conf'));
      expect(template).toBe('# \\{{not a variable}}\nport = {{[app.port]}}\nname = demo\n');
      expect(appliance.properties.get('app.port')?.value).toBe('7001');
    }
    const [local1, remote, local2] = probes as [Probe, Probe, Probe];
    for (const p of probes) {
      expect(p).toMatchObject({ impl: 'v2 wrapper for 2.3.1', echoed: 'hi there|piped', scratchInTmp: true, viaRegistry: 'registry', sdk: SDK_VERSION, sameSdk: true });
      // The job's scratch dir (and so the temporary file) is gone once the introspection ended.
      expect(existsSync(p.scratch)).toBe(false);
    }
    expect([local1.cacheHost, local1.runs, local2.runs]).toEqual(['local', 1, 2]);
    expect([remote.cacheHost, remote.runs]).toEqual([sshd.target, 1]);
    const stores = await readdir(join(instance, 'cache', 'utilprobe'));
    expect(stores).toHaveLength(2);
    for (const s of stores) expect((await stat(join(instance, 'cache', 'utilprobe', s))).mode & 0o777).toBe(0o600);
    expect(await readdir(join(instance, 'tmp'))).toEqual([]);
  });

  it('runs as another user over SSH are refused as the plugin\'s error, saying how to do it', async () => {
    const host = await SshHost.connect(sshd.target, hostOptions());
    const ops = new OperationUtils({ where: 'reference', host, hostName: host.describe(), tempParent: join(tmp.path, 's'), cacheDir: join(tmp.path, 'c') });
    try {
      const utils = ops.forPlugin({ name: 'utilprobe', directory: pluginsDir });
      const err = await utils.run({ argv: ['id'], user: 'postgres' }).catch((e: unknown) => e as AbError);
      expect(err).toMatchObject({ code: 'UTIL_RUN_USER_REMOTE', plugin: 'utilprobe' });
      expect((err as AbError).hint).toContain('--host postgres@');
      expect((await utils.run({ argv: ['id', '-un'], user: sshd.user })).stdout.trim()).toBe(sshd.user);
    } finally {
      await ops.close();
      await host.close();
    }
  });
});

describe('ctx.utils through the test kit', () => {
  it('dehydrates and rehydrates with the utilities; lifecycle temp files go to the tmp dir and are removed after', async () => {
    const result = await dehydrate({ plugin: join(pluginsDir, 'utilprobe'), parameters: { home: product } });
    try {
      const probe = JSON.parse(result.appliance.properties.get('probe')!.value!) as Probe;
      expect(probe).toMatchObject({ impl: 'v2 wrapper for 2.3.1', echoed: 'hi there|piped', runs: 1, cacheHost: 'local' });
      const root = join(tmp.path, 'root');
      const done = await rehydrate(result, { root, properties: { 'app.port': '7100' } });
      expect(done.ran).toEqual(['utilprobe']);
      expect(await readFile(join(root, product, 'app.conf'), 'utf8')).toBe('# {{not a variable}}\nport = 7100\nname = demo\n');
      const line = done.log.find((l) => l.includes('probe-rehydrate '))!;
      const seen = JSON.parse(line.slice(line.indexOf('probe-rehydrate ') + 16)) as { out: string; dir: string; viaRegistry: string; host: string };
      expect(seen.out).toBe(`${seen.dir}\nenv-ok|input-ok`);
      expect(seen.host).toBe(hostname());
      expect([existsSync(seen.dir), existsSync(seen.viaRegistry)]).toEqual([false, false]);
    } finally {
      await result.dispose();
    }
  });
});

describe('utils.ssh', () => {
  it('reaches another machine from rehydrate, in process and from the bundled agent (dist/abctl-agent.mjs)', async () => {
    const result = await dehydrate({ plugin: join(pluginsDir, 'sshprobe'), capture: false });
    try {
      const out = (n: string) => join(tmp.path, `agent-out-${n}.txt`);
      const properties = { peer: sshd.target, identity: sshd.identityFile, knownHosts: sshd.knownHostsFile };
      const done = await rehydrate(result, { root: join(tmp.path, 'ssh-root'), properties: { ...properties, out: out('in-process') } });
      expect(await readFile(out('in-process'), 'utf8')).toBe(`agent ${process.pid} from ${sshd.user}`);
      // The same bundle, run by the agent as an instance runs it: one file, ssh2 bundled without its native add-ons.
      const bundle = done.bundleDir;
      const agent = join(projectRoot(), 'dist', 'abctl-agent.mjs');
      const appliance = await readFile(join(bundle, 'appliance.xml'), 'utf8');
      await writeFile(join(bundle, 'appliance.xml'), appliance.replace(out('in-process'), out('agent')));
      const r = spawnSync(process.execPath, [agent, 'rehydrate', '--bundle', bundle], { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' } });
      expect(r.status, r.stderr).toBe(0);
      expect(await readFile(out('agent'), 'utf8')).toMatch(new RegExp(`^agent \\d+ from ${sshd.user}$`));
      expect((await stat(out('agent'))).mode & 0o777).toBe(0o600);
    } finally {
      await result.dispose();
    }
  });

  it('execs with env and input, reads and writes files atomically, and is closed with the operation', async () => {
    const ops = new OperationUtils({ where: 'instance', hostName: 'here', tempParent: join(tmp.path, 's2'), cacheDir: join(tmp.path, 'c2') });
    const utils = ops.forPlugin({ name: 'utilprobe', directory: pluginsDir });
    const conn = await utils.ssh(`127.0.0.1:${sshd.port}`, { user: sshd.user, identity: sshd.identityFile, knownHosts: sshd.knownHostsFile });
    expect(conn.target).toBe(sshd.target);
    const r = await conn.exec(['sh', '-c', 'printf "%s|" "$TOKEN"; cat; tr "\\0" " " < /proc/$$/cmdline'], { env: { TOKEN: 'tok-123' }, input: 'in' });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.startsWith('tok-123|in')).toBe(true);
    // The value reached the command through its environment, never its command line.
    expect(r.stdout.slice('tok-123|in'.length)).not.toContain('tok-123');
    const file = join(tmp.path, 'remote', 'written.conf');
    await mkdir(join(tmp.path, 'remote'));
    await conn.writeFile(file, 'first\n', { mode: 0o640 });
    await conn.writeFile(file, 'second\n', { mode: 0o640 });
    expect(new TextDecoder().decode(await conn.readFile(file))).toBe('second\n');
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    expect(await readdir(join(tmp.path, 'remote'))).toEqual(['written.conf']);
    const missingDir = await conn.writeFile(join(tmp.path, 'nowhere', 'x'), 'x').catch((e: unknown) => e as AbError);
    expect(missingDir).toMatchObject({ code: 'HOST_IO_FAILED' });
    const slow = await conn.exec(['sleep', '30'], { timeoutMs: 500 }).catch((e: unknown) => e as AbError);
    expect(slow).toMatchObject({ code: 'HOST_COMMAND_TIMEOUT' });
    // Left open by the plugin: the operation's end closes it.
    await ops.close();
    expect(await conn.exec(['true']).catch((e: unknown) => (e as AbError).code)).toBe('SSH_CONNECTION_CLOSED');
  });

  it('checks the host key and takes a password only from a file, the environment or a value', async () => {
    const utils = new OperationUtils({ where: 'instance', hostName: 'here', tempParent: join(tmp.path, 's3'), cacheDir: join(tmp.path, 'c3') }).forPlugin({ name: 'utilprobe', directory: pluginsDir });
    const empty = join(tmp.path, 'empty_known_hosts');
    await writeFile(empty, '');
    const unknown = await utils.ssh(sshd.target, { identity: sshd.identityFile, knownHosts: empty }).catch((e: unknown) => e as AbError);
    expect(unknown).toMatchObject({ code: 'SSH_HOST_KEY_UNKNOWN' });
    const noEnv = await utils.ssh(sshd.target, { knownHosts: sshd.knownHostsFile, passwordFrom: { env: 'ABCTL_TEST_NO_SUCH_VAR' } }).catch((e: unknown) => e as AbError);
    expect(noEnv).toMatchObject({ code: 'SSH_PASSWORD_MISSING' });
    // This sshd takes keys only: the password is offered (and refused), which the message lists.
    const refused = (await utils.ssh(sshd.target, { identity: [], knownHosts: sshd.knownHostsFile, passwordFrom: { value: 'pw-not-logged' } }).catch((e: unknown) => e)) as AbError;
    expect(refused).toMatchObject({ code: 'SSH_AUTH_FAILED' });
    expect(refused.message).toContain('tried password');
    expect(refused.message).not.toContain('pw-not-logged');
  });
});
