import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import type { ProgressEvent } from '../../services/deploy/module.js';
import { freePort } from '../support/sshd.mjs';
import { tempDir } from '../helpers/plugins.js';
import { withPlanValues } from '../rehydration/bundle-fixture.js';
import { httpJson, makeFixture, planWithTargets, siteAssembly, type Fixture } from './helpers.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let fx: Fixture;
let appPort: number;
let proxyPort: number;
let targetRoot: string;

beforeEach(async () => {
  tmp = await tempDir('abctl-deploy-');
  appPort = await freePort();
  proxyPort = await freePort();
  const site = siteAssembly(appPort, proxyPort);
  fx = await makeFixture(tmp.path, site, planWithTargets(site, { app: ['local', 'local', 'local'], proxy: ['local'] }));
  // Instances of one appliance share this machine: the test agent adds index - 1 to the port.
  fx.bundles.portPerIndex = true;
  targetRoot = join(tmp.path, 'hosts');
});

afterEach(async () => {
  // Whatever a test left running is stopped by undeploy; ignore a deployment already gone.
  await fx.service.undeploy('site').catch(() => {});
  await tmp.cleanup();
});

const deploy = (events?: ProgressEvent[]) =>
  fx.service.deploy({ assembly: 'site', planFile: fx.planFile, targetRoot, onProgress: (e) => events?.push(e) });

describe('deploy to local', () => {
  it('deploys in connection order, records each instance, and every instance answers with its name', async () => {
    const events: ProgressEvent[] = [];
    const r = await deploy(events);
    expect(r.failures).toEqual([]);
    expect(r.record.order).toEqual(['app', 'proxy']);
    expect(r.record.instances.map((i) => [i.id, i.status, i.target])).toEqual([
      ['app-1', 'running', 'local'],
      ['app-2', 'running', 'local'],
      ['proxy-1', 'running', 'local'],
    ]);
    // The proxy started after both backends were running.
    const at = (id: string, status: string) => events.findIndex((e) => e.id === id && e.status === status);
    expect(at('proxy-1', 'shipping')).toBeGreaterThan(Math.max(at('app-1', 'running'), at('app-2', 'running')));

    expect((await httpJson('127.0.0.1', appPort)).server).toBe(`app-1@${hostname()}`);
    expect((await httpJson('127.0.0.1', appPort + 1)).server).toBe(`app-2@${hostname()}`);
    const proxy = await httpJson('127.0.0.1', proxyPort);
    expect(proxy.peers).toEqual([`app@${hostname()}/127.0.0.1:${appPort}`, `app@${hostname()}/127.0.0.1:${appPort}`]);

    // The record is plain JSON another process can read; the plan is kept beside it.
    const onDisk = JSON.parse(await readFile(join(fx.instance, 'deployments', 'site', 'deployment.json'), 'utf8'));
    expect(onDisk.instances).toHaveLength(3);
    expect(await readFile(join(fx.instance, 'deployments', 'site', 'plan.xml'), 'utf8')).toContain('target="local"');
    expect(await readFile(join(fx.instance, 'deployments', 'site', 'logs', 'app-1.log'), 'utf8')).toMatch(/rehydrated app-1[\s\S]*started on port/);
    expect((await fx.service.list()).map((d) => [d.record.name, d.statuses])).toEqual([['site', { running: 3 }]]);
  });

  it('pings, stops in reverse order, starts again, and undeploy removes what deploy wrote', async () => {
    await deploy();
    let rows = await fx.service.ping('site');
    expect(rows.map((r) => [r.id, r.healthy, r.message])).toEqual([
      ['app-1', true, `healthy: app-1@${hostname()}`],
      ['app-2', true, `healthy: app-2@${hostname()}`],
      ['proxy-1', true, `healthy: proxy-1@${hostname()}`],
    ]);
    const events: ProgressEvent[] = [];
    const stopped = await fx.service.stop('site', { onProgress: (e) => events.push(e) });
    expect(stopped.failures).toEqual([]);
    expect(stopped.record.instances.every((i) => i.status === 'stopped')).toBe(true);
    const order = events.filter((e) => e.status === 'stopped').map((e) => e.id);
    expect(order.indexOf('proxy-1')).toBe(0);
    rows = await fx.service.ping('site');
    expect(rows.every((r) => !r.healthy)).toBe(true);
    await expect(httpJson('127.0.0.1', appPort)).rejects.toThrow();

    const started = await fx.service.start('site');
    expect(started.record.instances.every((i) => i.status === 'running')).toBe(true);
    expect((await httpJson('127.0.0.1', proxyPort)).server).toBe(`proxy-1@${hostname()}`);

    const dirs = started.record.instances.map((i) => i.dir);
    const r = await fx.service.undeploy('site');
    expect(r.failures).toEqual([]);
    for (const d of dirs) await expect(readFile(join(d, 'agent.mjs'))).rejects.toThrow();
    await expect(httpJson('127.0.0.1', appPort)).rejects.toThrow();
    expect(await fx.service.list()).toEqual([]);
  });

  it('scales up and down within bounds, rehydrating the proxy with the new backend list', async () => {
    await deploy();
    let r = await fx.service.scale('site', 'app', 3);
    expect(r.failures).toEqual([]);
    expect(r.record.instances.filter((i) => i.appliance === 'app').map((i) => [i.id, i.status])).toEqual([
      ['app-1', 'running'],
      ['app-2', 'running'],
      ['app-3', 'running'],
    ]);
    expect((await httpJson('127.0.0.1', appPort + 2)).server).toBe(`app-3@${hostname()}`);
    expect((await httpJson('127.0.0.1', proxyPort)).peers).toHaveLength(3);

    r = await fx.service.scale('site', 'app', 1);
    expect(r.record.instances.map((i) => i.id)).toEqual(['app-1', 'proxy-1']);
    expect((await httpJson('127.0.0.1', proxyPort)).peers).toHaveLength(1);
    await expect(httpJson('127.0.0.1', appPort + 1)).rejects.toThrow();

    const err = await fx.service.scale('site', 'app', 4).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('DEPLOY_COUNT_OUT_OF_BOUNDS');
    expect((err as UserError).message).toContain('outside its scalability bounds 1..3');
  });

  it('reports a failed instance with its log tail, skips what depends on it, and deploy again resumes', async () => {
    fx.bundles.behaviour.set('app-2', { fail: ['start'] });
    const r = await deploy();
    expect(r.failures.map((f) => [f.id, f.step])).toEqual([['app-2', 'start']]);
    expect(r.failures[0]?.logTail).toContain('simulated failure for app-2');
    expect(r.failures[0]?.message).toContain('start failed on local (exit 3)');
    expect(r.record.instances.map((i) => [i.id, i.status, i.failedStep])).toEqual([
      ['app-1', 'running', undefined],
      ['app-2', 'failed', 'start'],
      ['proxy-1', 'pending', undefined],
    ]);

    fx.bundles.behaviour.clear();
    fx.bundles.written.length = 0;
    const again = await deploy();
    expect(again.failures).toEqual([]);
    // app-1 was already running: resume does not touch it.
    expect(fx.bundles.written.map((b) => b.id)).toEqual(['app-2', 'proxy-1']);
    expect(again.record.instances.every((i) => i.status === 'running')).toBe(true);
  });

  it('refuses a second command on a deployment that one is changing', async () => {
    fx.bundles.behaviour.set('app', { sleepMs: { start: 1500 } });
    const first = deploy();
    await new Promise((r) => setTimeout(r, 300));
    const err = await fx.service.stop('site').catch((e: unknown) => e);
    expect((err as UserError).code).toBe('DEPLOYMENT_BUSY');
    expect((err as UserError).message).toMatch(/another abctl command \(deploy, pid \d+, since .*\) is changing deployment "site"/);
    expect((await first).failures).toEqual([]);
  });

  it('says which instance has no target and how to give one', async () => {
    const site = siteAssembly(appPort, proxyPort);
    const other = await makeFixture(join(tmp.path, 'b'), site, planWithTargets(site, { app: ['local'] }));
    const err = await other.service.deploy({ assembly: 'site', planFile: other.planFile, targetRoot }).catch((e: unknown) => e);
    expect((err as UserError).code).toBe('DEPLOY_NO_TARGET');
    expect((err as UserError).describe()).toContain('add target="local" or target="ssh://user@host:22" to its <host instance="1"> line');
  });
});

describe('ports from the plan', () => {
  it('an input tied to a property listens, is recorded and is bound to peers on the plan\'s value', async () => {
    const planned = await freePort();
    // Introspected on appPort + 7 (nothing listens there); the plan moves "port" to `planned`.
    const site = siteAssembly(appPort + 7, proxyPort, { portProperty: true });
    const plan = withPlanValues(planWithTargets(site, { app: ['local'], proxy: ['local'] }, { app: 1 }), { app: { port: String(planned) } });
    const other = await makeFixture(join(tmp.path, 'ports'), site, plan);
    try {
      const r = await other.service.deploy({ assembly: 'site', planFile: other.planFile, targetRoot });
      expect(r.failures).toEqual([]);
      expect(r.record.instances.map((i) => [i.id, i.ports])).toEqual([
        ['app-1', [{ input: 'http', port: planned }]],
        ['proxy-1', [{ input: 'http', port: proxyPort }]],
      ]);
      // Another process reads the same from the record.
      const [summary] = await other.service.list();
      expect(summary?.record.instances[0]?.ports).toEqual([{ input: 'http', port: planned }]);
      expect(other.bundles.written.find((b) => b.id === 'proxy-1')?.outputs['backend']?.[0]?.port).toBe(planned);
      expect((await httpJson('127.0.0.1', planned)).server).toBe(`app-1@${hostname()}`);
      expect((await httpJson('127.0.0.1', proxyPort)).peers).toEqual([`app@${hostname()}/127.0.0.1:${planned}`]);
    } finally {
      await other.service.undeploy('site').catch(() => {});
    }
  });

  it('refuses a tied property whose value is not a port, before anything is deployed', async () => {
    const site = siteAssembly(appPort, proxyPort, { portProperty: true });
    const plan = withPlanValues(planWithTargets(site, { app: ['local'], proxy: ['local'] }, { app: 1 }), { app: { port: '70000' } });
    const other = await makeFixture(join(tmp.path, 'badport'), site, plan);
    const err = await other.service.deploy({ assembly: 'site', planFile: other.planFile, targetRoot }).catch((e: unknown) => e);
    expect((err as UserError).code).toBe('ENDPOINT_PORT_INVALID');
    expect((err as UserError).message).toContain('property "port" gives input "http" the port "70000"');
    expect(await other.service.list()).toEqual([]);
  });
});

describe('a killed deploy', () => {
  it('leaves a record that describeDeployments reads, and deploy resumes it', async () => {
    const { spawn } = await import('node:child_process');
    const { readRecordFile } = { readRecordFile: async () => JSON.parse(await readFile(join(fx.instance, 'deployments', 'site', 'deployment.json'), 'utf8')) as { instances: { id: string; status: string }[] } };
    const child = spawn(process.execPath, [join(import.meta.dirname, 'fixtures', 'deploy-child.mjs'), fx.instance, fx.planFile, targetRoot, JSON.stringify({ 'app-2': { sleepMs: { rehydrate: 8000 } } })], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await readRecordFile().catch(() => undefined);
      const st = new Map(r?.instances.map((i) => [i.id, i.status]));
      if (st.get('app-1') === 'running' && st.get('app-2') === 'rehydrating') break;
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the deploy child did not reach app-2 rehydrating: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const agentOf2 = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`${join(targetRoot, 'deployments', 'site', 'app-2', 'bundle')}`));
    expect(agentOf2()).toHaveLength(1);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // The agent child (sleeping 8 s in rehydrate) ends with its parent: its stdin pipe closed.
    const killedAt = Date.now();
    while (agentOf2().length > 0) {
      if (Date.now() - killedAt > 3000) throw new Error(`the local agent outlived the killed deploy: ${agentOf2().join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    const [summary] = await fx.service.list();
    expect(summary?.record.instances.map((i) => [i.id, i.status])).toEqual([
      ['app-1', 'running'],
      ['app-2', 'rehydrating'],
      ['proxy-1', 'pending'],
    ]);
    // The lock of the killed process does not block: its owner is gone.
    fx.bundles.written.length = 0;
    const again = await deploy();
    expect(again.failures).toEqual([]);
    expect(fx.bundles.written.map((b) => b.id)).toEqual(['app-2', 'proxy-1']);
    expect((await httpJson('127.0.0.1', proxyPort)).peers).toHaveLength(2);
  });
});
