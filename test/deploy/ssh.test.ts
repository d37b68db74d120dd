/**
 * Deploys over real SSH to hosts with their own network, file system and host name (sshd in
 * namespaces, test/support/hosts.mjs): app-1 on host1, app-2 on host2, host3 a spare for
 * scaling up, the proxy on host3.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import type { TargetOptions } from '../../services/deploy/module.js';
import { startHosts, type TestHosts } from '../support/hosts.mjs';
import { tempDir } from '../helpers/plugins.js';
import { httpJson, makeFixture, planWithTargets, siteAssembly, type Fixture } from './helpers.js';

const APP_PORT = 18180;
const PROXY_PORT = 18190;
let hosts: TestHosts;
let tmp: { path: string; cleanup: () => Promise<void> };
let fx: Fixture;
let targetOptions: TargetOptions;
const name = 'site-ssh';

beforeAll(async () => {
  hosts = await startHosts(3);
  tmp = await tempDir('abctl-deploy-ssh-');
  const [h1, h2, h3] = hosts.hosts.map((h) => h.target) as [string, string, string];
  const site = siteAssembly(APP_PORT, PROXY_PORT);
  fx = await makeFixture(tmp.path, site, planWithTargets(site, { app: [h1, h2, h3], proxy: [h3] }));
  targetOptions = { identityFile: hosts.identityFile, knownHostsFile: hosts.knownHostsFile };
}, 60_000);

afterAll(async () => {
  await hosts?.stop();
  await tmp?.cleanup();
});

const host = (k: number) => hosts.hosts[k] as (typeof hosts.hosts)[number];

describe('deploy over SSH to hosts with their own file systems and names', () => {
  it('deploys, and each instance answers on its host with its name and its peers', async () => {
    const r = await fx.service.deploy({ assembly: 'site', planFile: fx.planFile, name, targetOptions });
    expect(r.failures).toEqual([]);
    expect(r.record.instances.map((i) => [i.id, i.status, i.hostname, i.address])).toEqual([
      ['app-1', 'running', 'host1', host(0).address],
      ['app-2', 'running', 'host2', host(1).address],
      ['proxy-1', 'running', 'host3', host(2).address],
    ]);
    expect((await httpJson(host(0).address, APP_PORT)).server).toBe('app-1@host1');
    expect((await httpJson(host(1).address, APP_PORT)).server).toBe('app-2@host2');
    const proxy = await httpJson(host(2).address, PROXY_PORT);
    expect(proxy.peers).toEqual([`app@host1/${host(0).address}:${APP_PORT}`, `app@host2/${host(1).address}:${APP_PORT}`]);
    // Each host has only its own instance's files; this machine has none of them.
    expect(await host(0).exec(['ls', `/var/lib/abctl/deployments/${name}`])).toBe('app-1\n');
    expect(await host(1).exec(['ls', `/var/lib/abctl/deployments/${name}`])).toBe('app-2\n');
    expect(existsSync(`/var/lib/abctl/deployments/${name}`)).toBe(false);
  });

  it('pings, stops and starts over SSH', async () => {
    expect((await fx.service.ping(name, { targetOptions })).map((r) => [r.id, r.healthy, r.message])).toEqual([
      ['app-1', true, 'healthy: app-1@host1'],
      ['app-2', true, 'healthy: app-2@host2'],
      ['proxy-1', true, 'healthy: proxy-1@host3'],
    ]);
    const stopped = await fx.service.stop(name, { targetOptions });
    expect(stopped.record.instances.map((i) => i.status)).toEqual(['stopped', 'stopped', 'stopped']);
    await expect(httpJson(host(0).address, APP_PORT)).rejects.toThrow();
    const started = await fx.service.start(name, { targetOptions });
    expect(started.record.instances.map((i) => i.status)).toEqual(['running', 'running', 'running']);
    expect((await httpJson(host(1).address, APP_PORT)).server).toBe('app-2@host2');
  });

  it('scales up onto the spare host and down again, rehydrating the proxy', async () => {
    let r = await fx.service.scale(name, 'app', 3, { targetOptions });
    expect(r.failures).toEqual([]);
    expect(r.record.instances.find((i) => i.id === 'app-3')?.hostname).toBe('host3');
    expect((await httpJson(host(2).address, APP_PORT)).server).toBe('app-3@host3');
    expect((await httpJson(host(2).address, PROXY_PORT)).peers).toHaveLength(3);
    r = await fx.service.scale(name, 'app', 1, { targetOptions });
    expect(r.failures).toEqual([]);
    expect(r.record.instances.map((i) => i.id)).toEqual(['app-1', 'proxy-1']);
    // Down: app-2 and app-3 are stopped and their directories removed; the proxy, rehydrated again, lists app-1 only.
    await expect(httpJson(host(1).address, APP_PORT)).rejects.toThrow();
    await expect(httpJson(host(2).address, APP_PORT)).rejects.toThrow();
    expect(await host(1).exec(['ls', `/var/lib/abctl/deployments/${name}`])).toBe('');
    expect(await host(2).exec(['ls', `/var/lib/abctl/deployments/${name}`])).toBe('proxy-1\n');
    expect((await httpJson(host(2).address, PROXY_PORT)).peers).toEqual([`app@host1/${host(0).address}:${APP_PORT}`]);
  });

  it('refuses hosts whose key is not known, in one error saying how to add each, before anything is recorded', async () => {
    const site = siteAssembly(APP_PORT, PROXY_PORT);
    const other = await makeFixture(`${tmp.path}/b`, site, planWithTargets(site, { app: [host(0).target, host(1).target], proxy: [host(0).target] }));
    const err = await other.service
      .deploy({ assembly: 'site', planFile: other.planFile, name: 'unknown-key', targetOptions: { identityFile: hosts.identityFile, knownHostsFile: `${tmp.path}/empty_known_hosts` } })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    const e = err as UserError;
    expect(e.code).toBe('DEPLOY_HOSTS_UNUSABLE');
    const lines = e.message.split('\n');
    expect(lines[0]).toBe('2 hosts cannot be used:');
    expect(lines[1]).toMatch(new RegExp(`^  ${host(0).target}: app-1, proxy-1 cannot be deployed there: host key of .* is not in`));
    expect(lines[2]).toMatch(new RegExp(`^  ${host(1).target}: app-2 cannot be deployed there: host key of .* is not in`));
    // The host layer's own advice for each host reaches the error, not only a generic "fix the cause".
    expect(e.hint).toContain(`ssh-keyscan ${host(0).address}`);
    expect(e.hint).toContain(`ssh-keyscan ${host(1).address}`);
    // Nothing was recorded, so there is nothing to undeploy.
    await expect(other.service.describe('unknown-key')).rejects.toThrow('there is no deployment "unknown-key"');
  });

  it('undeploys: stops every instance and removes what deploy wrote on each host', async () => {
    const r = await fx.service.undeploy(name, { targetOptions });
    expect(r.failures).toEqual([]);
    for (const k of [0, 1, 2]) expect(await host(k).exec(['ls', `/var/lib/abctl/deployments/${name}`])).toBe('');
    await expect(httpJson(host(2).address, PROXY_PORT)).rejects.toThrow();
    expect(await fx.service.list()).toEqual([]);
  });

  it('reports an instance that fails on its host, and deploy again resumes from there', async () => {
    fx.bundles.behaviour.set('app-2', { fail: ['start'] });
    fx.bundles.written.length = 0;
    const r = await fx.service.deploy({ assembly: 'site', planFile: fx.planFile, name: 'site-resume', targetOptions });
    expect(r.failures.map((f) => [f.id, f.step, f.target])).toEqual([['app-2', 'start', host(1).target]]);
    expect(r.failures[0]?.logTail).toContain('simulated failure for app-2');
    expect(r.record.instances.map((i) => [i.id, i.status])).toEqual([
      ['app-1', 'running'],
      ['app-2', 'failed'],
      ['proxy-1', 'pending'],
    ]);
    fx.bundles.behaviour.clear();
    fx.bundles.written.length = 0;
    try {
      const again = await fx.service.deploy({ assembly: 'site', planFile: fx.planFile, name: 'site-resume', targetOptions });
      expect(again.failures).toEqual([]);
      expect(fx.bundles.written.map((b) => b.id)).toEqual(['app-2', 'proxy-1']);
      expect((await httpJson(host(1).address, APP_PORT)).server).toBe('app-2@host2');
      expect((await httpJson(host(2).address, PROXY_PORT)).peers).toHaveLength(2);
    } finally {
      await fx.service.undeploy('site-resume', { targetOptions });
    }
  });
});
