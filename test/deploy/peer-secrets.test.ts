/**
 * A peer's password, really deployed: the example (a copy of the shipped plugins whose
 * rehydrate and start log the peer's password value and whose ping fails quoting it, as a
 * careless plugin might) gets an
 * output `db` connected to an external PostgreSQL with a password-type property, and is
 * deployed to this machine and to a real sshd host. The plugin reads the value (the line shows
 * it was given one), the instance's log has it redacted, and no file under the deploy
 * directories or the record holds it in clear.
 */
import { readFileSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../catalog/index.js';
import { REDACTED, type Assembly, type ExternalResource } from '../../core/metadata/index.js';
import { DeploymentService } from '../../services/deploy/module.js';
import { EditingService } from '../../services/editing/editing-service.js';
import { instanceLayout } from '../../services/instance.js';
import { sshHostsForFile } from '../support/each-test.js';
import type { TestHosts } from '../support/hosts.mjs';
import { freePort } from '../support/sshd.mjs';
import { examplePlugins } from '../introspection/helpers.js';
import { exampleSite, health, writeSitePlan, type MemberSpec, filesHolding } from './example-fixture.js';

const PG_PASSWORD = 'pg-Peer-s3cret';

const ssh = sshHostsForFile(1, 'abctl-deploy-peer-secrets-');

/** The shipped plugins, the example's rehydrate and start logging the peer's password. */
async function loggingPlugins(dir: string): Promise<string> {
  await cp(examplePlugins, dir, { recursive: true });
  const file = join(dir, 'example', 'index.js');
  let text = await readFile(file, 'utf8');
  for (const hook of ['  async rehydrate(ctx) {\n', '  async start(ctx) {\n']) {
    if (!text.includes(hook)) throw new Error(`the example plugin has no "${hook.trim()}" to patch`);
    text = text.replace(hook, `${hook}    { const p = ctx.appliance.outputs.find((o) => o.name === 'db')?.peers[0]; ctx.log.info('peer ' + p?.appliance + ' password=' + p?.properties.password + ' secret=' + (p?.secretProperties ?? []).join(',')); }\n`);
  }
  // ping fails quoting the password, as a careless plugin's error might.
  const ping = '  async ping(ctx) {\n';
  if (!text.includes(ping)) throw new Error('the example plugin has no "async ping(ctx) {" to patch');
  text = text.replace(ping, `${ping}    throw new Error('cannot reach the database with ' + ctx.appliance.outputs.find((o) => o.name === 'db')?.peers[0]?.properties.password);\n`);
  await writeFile(file, text);
  return dir;
}

/** The example site with output `db` connected to external resource `pg`, whose input has a password. */
async function siteWithPeer(dir: string, home: string, members: Record<string, MemberSpec>, plugins: string) {
  const site = await exampleSite(dir, home, members, { plugins, edit: (a) => a.addOutput({ name: 'db', protocol: 'postgresql' }, 'plugin') });
  const layout = instanceLayout(site.instance, plugins);
  const catalog = new Catalog(layout);
  const editing = new EditingService(catalog, layout);
  await editing.createExternalResource('site', 'web/db', 'pg', { type: 'ExternalPostgreSQL' });
  // No editing command declares properties on an external resource yet: added in the catalog.
  const assembly = (await catalog.getAssembly('site')) as Assembly;
  const pg = assembly.members.find((m) => m.name === 'pg') as ExternalResource;
  pg.properties.add({ name: 'host', category: 'user', value: 'db.corp.example' }, 'user');
  pg.properties.add({ name: 'password', type: 'password', category: 'user', value: PG_PASSWORD }, 'user');
  await catalog.putAssembly(assembly);
  await writeSitePlan(catalog, members, site.planFile);
  return site;
}

function expectRedactedLog(instanceDir: string, id: string): void {
  const log = readFileSync(join(instanceDir, 'deployments', 'site', 'logs', `${id}.log`), 'utf8');
  expect(log).toContain(`peer pg password=${REDACTED} secret=password`);
  expect(log).not.toContain(PG_PASSWORD);
}

describe('a peer\'s password deployed', () => {
  it('reaches the plugin on this machine, redacted in the log, sealed in the bundle, in clear nowhere else', async () => {
    const dir = join(ssh.tmp.path, 'local');
    const port = await freePort();
    const home = join(dir, 'target', 'opt', 'minihttpd');
    const plugins = await loggingPlugins(join(dir, 'plugins'));
    const site = await siteWithPeer(dir, home, { web: { port, serverName: 'web-local', target: 'local' } }, plugins);
    const service = site.app.get(DeploymentService);
    const targetRoot = join(dir, 'target', 'var', 'lib', 'abctl');
    try {
      const r = await service.deploy({ assembly: 'site', planFile: site.planFile, targetRoot });
      expect(r.failures).toEqual([]);
      expect(await health('127.0.0.1', port)).toBe('ok web-local');
      expectRedactedLog(site.instance, 'web-1');
      const bindings = readFileSync(join(targetRoot, 'deployments', 'site', 'web-1', 'bundle', 'bindings.json'), 'utf8');
      expect(bindings).toMatch(/"password": "enc:v1:/);
      expect(filesHolding(targetRoot, PG_PASSWORD)).toEqual([]);
      expect(filesHolding(join(site.instance, 'deployments'), PG_PASSWORD)).toEqual([]);
      expect(JSON.stringify(await service.describe('site'))).not.toContain(PG_PASSWORD);
      // The plugin's error quoting the password: masked in what ping says and in the log.
      const [pinged] = await service.ping('site');
      expect(pinged?.healthy).toBe(false);
      expect(`${pinged?.message}`).toContain(`cannot reach the database with ${REDACTED}`);
      expectRedactedLog(site.instance, 'web-1');
    } finally {
      await service.undeploy('site').catch(() => {});
    }
  });

  it('reaches the plugin on an SSH host, and no file there holds it in clear', async () => {
    const host = ssh.hosts.hosts[0] as TestHosts['hosts'][number];
    const dir = join(ssh.tmp.path, 'ssh');
    const port = await freePort();
    const plugins = await loggingPlugins(join(dir, 'plugins'));
    const site = await siteWithPeer(dir, '/opt/minihttpd', { web: { port, serverName: 'web-ssh', target: host.target } }, plugins);
    const service = site.app.get(DeploymentService);
    const targetOptions = { identityFile: ssh.hosts.identityFile, knownHostsFile: ssh.hosts.knownHostsFile };
    try {
      const r = await service.deploy({ assembly: 'site', planFile: site.planFile, targetOptions });
      expect(r.failures).toEqual([]);
      expect(await health(host.address, port)).toBe('ok web-ssh');
      expectRedactedLog(site.instance, 'web-1');
      expect(await host.exec(['sh', '-c', `grep -rlF -D skip -e '${PG_PASSWORD}' /var/lib/abctl /opt/minihttpd || true`])).toBe('');
      expect(await host.exec(['sh', '-c', "grep -c 'enc:v1:' /var/lib/abctl/deployments/site/web-1/bundle/bindings.json"])).toBe('1\n');
      expect(filesHolding(join(site.instance, 'deployments'), PG_PASSWORD)).toEqual([]);
    } finally {
      await service.undeploy('site', { targetOptions }).catch(() => {});
    }
  }, 90_000);
});
