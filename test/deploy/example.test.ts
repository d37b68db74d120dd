/**
 * The example product really deployed with the real bundle writer and agent: to this machine,
 * and to two SSH hosts with their own file systems, host names and addresses. Each instance
 * answers HTTP on its port with its server name. The plan's password is in the product's config
 * there, and in no file of the instance's directory: its bundle holds it encrypted, with a key
 * that stays in the deployment record (encrypted with the catalog key) and reaches the agent on stdin.
 */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../catalog/index.js';
import { SecretBox } from '../../catalog/secrets.js';
import { parseDocument, renderDocument, type Plain } from '../../catalog/xml-codec.js';
import { DeploymentService } from '../../services/deploy/module.js';
import { BundleKey } from '../../services/rehydration/bundle-key.js';
import { sshHostsForFile } from '../support/each-test.js';
import type { TestHosts } from '../support/hosts.mjs';
import { freePort } from '../support/sshd.mjs';
import { tempDir } from '../helpers/plugins.js';
import { exampleSite, health, filesHolding } from './example-fixture.js';

const PASSWORD = 's3cret-from-plan';

/** The record keeps each instance's bundle key encrypted; what commands return shows none. */
function expectKeysKept(instanceDir: string, shown: unknown): void {
  const record = JSON.parse(readFileSync(join(instanceDir, 'deployments', 'site', 'deployment.json'), 'utf8')) as { formatVersion: number; instances: { bundleKey?: string }[] };
  expect(record.formatVersion).toBe(2);
  for (const i of record.instances) expect(i.bundleKey).toMatch(/^enc:v1:/);
  expect(JSON.stringify(shown)).not.toContain('bundleKey');
  expect(statSync(join(instanceDir, 'deployments', 'site', 'deployment.json')).mode & 0o777).toBe(0o600);
}

describe('the example deployed to this machine', () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  afterAll(() => tmp?.cleanup());

  it('deploys with a changed port, pings, stops, starts and undeploys; an instance deployed before bundle keys keeps working until deployed again, also after its first ship with a key failed', async () => {
    tmp = await tempDir('abctl-deploy-example-');
    const port = await freePort();
    const home = join(tmp.path, 'target', 'opt', 'minihttpd');
    const site = await exampleSite(tmp.path, home, { web: { port, serverName: 'web-local', target: 'local' } });
    const service = site.app.get(DeploymentService);
    const targetRoot = join(tmp.path, 'target', 'var', 'lib', 'abctl');
    try {
      // Another server holds the port, and even answers /health: start fails and says the port
      // is taken (before: "started", on the other server's answer); once the port is free, the
      // same deploy resumes.
      const holder = createServer((_req, res) => res.end('ok another-server\n'));
      await new Promise<void>((ok) => holder.listen(port, '127.0.0.1', ok));
      let r = await service.deploy({ assembly: 'site', planFile: site.planFile, targetRoot });
      holder.closeAllConnections();
      await new Promise((ok) => holder.close(ok));
      expect(r.failures.map((f) => [f.id, f.step])).toEqual([['web-1', 'start']]);
      expect(r.failures[0]?.message).toMatch(new RegExp(`exited while starting: minihttpd: cannot listen on [\\d.]+:${port}: port ${port} is taken by another program`));
      r = await service.deploy({ assembly: 'site', planFile: site.planFile, targetRoot });
      expect(r.failures).toEqual([]);
      expect(await health('127.0.0.1', port)).toBe('ok web-local');
      // Introspected on 18080; the input follows the plan's "port" (the plugin ties it with portProperty).
      expect((await service.describe('site')).record.instances.map((i) => i.ports)).toEqual([[{ input: 'http', port }]]);
      // The password is in the product's own config (0600), nowhere in the deployment's logs,
      // nowhere under the instance's directory on the host (the bundle's copy is encrypted).
      expect(readFileSync(join(home, 'conf', 'server.properties'), 'utf8')).toContain(PASSWORD);
      expect(readFileSync(join(site.instance, 'deployments', 'site', 'logs', 'web-1.log'), 'utf8')).not.toContain(PASSWORD);
      expect(filesHolding(targetRoot, PASSWORD)).toEqual([]);
      expect(readFileSync(join(targetRoot, 'deployments', 'site', 'web-1', 'bundle', 'appliance.xml'), 'utf8')).toMatch(/enc:v1:/);
      expectKeysKept(site.instance, [r.record, await service.describe('site'), await service.list()]);
      const rows = await service.ping('site');
      expect(rows.map((x) => [x.id, x.healthy])).toEqual([['web-1', true]]);
      expect(rows[0]?.message).toContain('ok web-local');
      // The product goes away behind abctl's back: the record still says running, ping says
      // unhealthy, and startDeployment starts it again (before, it did nothing and said "started").
      const pid = Number(readFileSync(join(home, 'run', 'minihttpd.pid'), 'utf8'));
      process.kill(pid, 'SIGTERM');
      await expect.poll(() => health('127.0.0.1', port).then(() => 'up', () => 'down'), { timeout: 10_000 }).toBe('down');
      expect((await service.ping('site')).map((x) => [x.status, x.healthy])).toEqual([['running', false]]);
      expect((await service.start('site')).failures).toEqual([]);
      expect(await health('127.0.0.1', port)).toBe('ok web-local');
      // Healthy instances are only pinged: the log shows no second start.
      const starts = () => readFileSync(join(site.instance, 'deployments', 'site', 'logs', 'web-1.log'), 'utf8').split(' start on local').length;
      const before = starts();
      await service.start('site');
      expect(starts()).toBe(before);
      await service.stop('site');
      await expect(health('127.0.0.1', port)).rejects.toThrow();
      await service.start('site');
      expect(await health('127.0.0.1', port)).toBe('ok web-local');

      // As deployed before bundle keys: a format 1 record (no bundleKey), a format 1 bundle (values
      // in clear) and an agent that knows no --key-stdin. stop, start and ping still work; deploy
      // again gives the instance a key and a format 2 bundle.
      const recordFile = join(site.instance, 'deployments', 'site', 'deployment.json');
      const dir = join(targetRoot, 'deployments', 'site', 'web-1');
      const record = JSON.parse(readFileSync(recordFile, 'utf8')) as { formatVersion: number; instances: { bundleKey?: string }[] };
      const box = (await SecretBox.load(join(site.instance, 'config', 'catalog.key'), false))!;
      const key = BundleKey.parse(box.decrypt(record.instances[0]!.bundleKey!, recordFile), recordFile);
      const applianceFile = join(dir, 'bundle', 'appliance.xml');
      writeFileSync(applianceFile, renderDocument('appliance', parseDocument(readFileSync(applianceFile, 'utf8'), { where: applianceFile, secret: (v) => key.decrypt(v, applianceFile) }).plain as Plain, { where: applianceFile }));
      const { passwordKey: _k, ...manifest } = JSON.parse(readFileSync(join(dir, 'bundle', 'bundle.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(dir, 'bundle', 'bundle.json'), JSON.stringify({ ...manifest, formatVersion: 1 }));
      writeFileSync(recordFile, JSON.stringify({ ...record, formatVersion: 1, instances: record.instances.map(({ bundleKey: _b, ...i }) => i) }));
      rmSync(join(dir, 'agent.mjs'));
      writeFileSync(join(dir, 'agent.mjs'), "if (process.argv.includes('--key-stdin')) { console.error('unknown option --key-stdin'); process.exit(2); }\nawait import('./bundle/abctl-agent.mjs');\n");
      expect((await service.stop('site')).failures).toEqual([]);
      await expect(health('127.0.0.1', port)).rejects.toThrow();
      expect((await service.start('site')).failures).toEqual([]);
      expect((await service.ping('site')).map((x) => x.healthy)).toEqual([true]);
      expect((await service.stop('site')).failures).toEqual([]);
      // Its first ship with a key fails (the catalog's archive is away while the bundle is
      // written): the record has the key, but the host still has the old agent, so ping calls
      // it without --key-stdin.
      const catalog = site.app.get(Catalog);
      const archives = [...new Set((await Promise.all(['site/web', 'minihttpd-reference'].map((o) => catalog.fileSetArchives(o).catch(() => [])))).flat().map((a) => a.path))];
      for (const a of archives) renameSync(a, `${a}.away`);
      const failedShip = await service.deploy({ assembly: 'site', planFile: site.planFile, targetRoot });
      for (const a of archives) renameSync(`${a}.away`, a);
      expect(failedShip.failures.map((f) => [f.step, f.code])).toEqual([['ship', 'BUNDLE_FILESET_NOT_CAPTURED']]);
      const half = JSON.parse(readFileSync(recordFile, 'utf8')) as { instances: { bundleKey?: string; shippedFormat?: number }[] };
      expect(half.instances[0]).toMatchObject({ bundleKey: expect.stringMatching(/^enc:v1:/), shippedFormat: 1 });
      expect(JSON.parse(readFileSync(join(dir, 'bundle', 'bundle.json'), 'utf8'))).toMatchObject({ formatVersion: 1 });
      const [pinged] = await service.ping('site');
      expect(pinged?.message).not.toMatch(/key-stdin/);
      expect(pinged?.healthy).toBe(false);
      expect((await service.deploy({ assembly: 'site', planFile: site.planFile, targetRoot })).failures).toEqual([]);
      expect((JSON.parse(readFileSync(recordFile, 'utf8')) as { instances: { shippedFormat?: number }[] }).instances[0]?.shippedFormat).toBe(2);
      expect(await health('127.0.0.1', port)).toBe('ok web-local');
      expectKeysKept(site.instance, []);
      expect(filesHolding(targetRoot, PASSWORD)).toEqual([]);
      await service.undeploy('site');
      await expect(health('127.0.0.1', port)).rejects.toThrow();
      expect(existsSync(join(targetRoot, 'deployments', 'site', 'web-1'))).toBe(false);
    } finally {
      await service.undeploy('site').catch(() => {});
    }
  }, 120_000);
});

describe('the example deployed to two SSH hosts', () => {
  const ssh = sshHostsForFile(2, 'abctl-deploy-example-ssh-');

  it('each instance answers on its own host, port and server name', async () => {
    const [h1, h2] = ssh.hosts.hosts as [TestHosts['hosts'][number], TestHosts['hosts'][number]];
    // /opt is private on each test host: the file set lands at the same path on both.
    const site = await exampleSite(ssh.tmp.path, '/opt/minihttpd', {
      web: { port: 18280, serverName: 'web-one', target: h1.target },
      web2: { port: 18281, serverName: 'web-two', target: h2.target },
    });
    const service = site.app.get(DeploymentService);
    const targetOptions = { identityFile: ssh.hosts.identityFile, knownHostsFile: ssh.hosts.knownHostsFile };
    const r = await service.deploy({ assembly: 'site', planFile: site.planFile, targetOptions });
    expect(r.failures).toEqual([]);
    expect(r.record.instances.map((i) => [i.id, i.hostname, i.status])).toEqual([
      ['web-1', 'host1', 'running'],
      ['web2-1', 'host2', 'running'],
    ]);
    expect(await health(h1.address, 18280)).toBe('ok web-one');
    expect(await health(h2.address, 18281)).toBe('ok web-two');
    // Only the product's config holds the password on each host; the bundles hold it encrypted.
    for (const h of [h1, h2]) expect(await h.exec(['sh', '-c', `grep -rlF -- '${PASSWORD}' /opt /var/lib/abctl || true`])).toBe('/opt/minihttpd/conf/server.properties\n');
    expectKeysKept(site.instance, r.record);
    // The agent run by hand there, without the key abctl gives it: ping reads no password and answers.
    const agent = (op: string) => h1.exec(['sh', '-c', `node /var/lib/abctl/deployments/site/web-1/agent.mjs ${op} --bundle /var/lib/abctl/deployments/site/web-1/bundle 2>&1; echo "exit $?"`]);
    expect(await agent('ping')).toMatch(/^healthy: example: .* answered "ok web-one"\nexit 0\n$/);
    // Separate file systems: each host has its own configuration, this machine has none.
    expect(await h1.exec(['grep', '^port', '/opt/minihttpd/conf/server.properties'])).toBe('port=18280\n');
    expect(await h2.exec(['grep', '^port', '/opt/minihttpd/conf/server.properties'])).toBe('port=18281\n');
    expect(existsSync('/opt/minihttpd')).toBe(false);
    expect((await service.ping('site', { targetOptions })).map((x) => x.healthy)).toEqual([true, true]);
    // Stopped through abctl (the key on the agent's stdin), rehydrate by hand needs the password and says how to run it.
    expect((await service.stop('site', { targetOptions })).failures).toEqual([]);
    const refused = await agent('rehydrate');
    expect(refused).toContain('needs password "admin.password", which this bundle keeps encrypted, and the agent was given no key');
    expect(refused).toContain('run it through abctl (startDeployment, stopDeployment, pingDeployment)');
    expect(refused).toMatch(/exit 1\n$/);
    const u = await service.undeploy('site', { targetOptions });
    expect(u.failures).toEqual([]);
    await expect(health(h1.address, 18280)).rejects.toThrow();
  }, 180_000);
});
