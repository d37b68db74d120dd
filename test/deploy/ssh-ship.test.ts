/**
 * Shipping bundles and running their agents over SSH in one session per host (the host
 * launcher; each session costs the host a login shell), on a real host (sshd in namespaces, test/support/hosts.mjs).
 */
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProgressEvent, TargetOptions } from '../../services/deploy/module.js';
import { tarDirectory, tarDirectorySize } from '../../services/deploy/tar-dir.js';
import { startHosts, type TestHosts } from '../support/hosts.mjs';
import { tempDir } from '../helpers/plugins.js';
import { httpJson, makeFixture, planWithTargets, siteAssembly, type Fixture } from './helpers.js';

const APP_PORT = 18280;
const PROXY_PORT = 18290;
let hosts: TestHosts;
let tmp: { path: string; cleanup: () => Promise<void> };
let fx: Fixture;
let targetOptions: TargetOptions;

beforeAll(async () => {
  hosts = await startHosts(1, { prefix: 'ship' });
  tmp = await tempDir('abctl-deploy-ship-');
  const h = hosts.hosts[0]!.target;
  const site = siteAssembly(APP_PORT, PROXY_PORT);
  fx = await makeFixture(tmp.path, site, planWithTargets(site, { app: [h, h], proxy: [h] }));
  // Both app instances on the one host: each listens on its own port.
  fx.bundles.portPerIndex = true;
  targetOptions = { identityFile: hosts.identityFile, knownHostsFile: hosts.knownHostsFile };
}, 60_000);

afterAll(async () => {
  await hosts?.stop();
  await tmp?.cleanup();
});

/** Runs `fn` with AB_SSH_TRACE set; returns each connection's trace line. */
async function traced(fn: () => Promise<void>): Promise<{ target: string; sessions: number; sftpCalls: number; events: { kind: string; what: string }[] }[]> {
  const file = join(tmp.path, `trace-${Date.now()}.jsonl`);
  const before = process.env.AB_SSH_TRACE;
  process.env.AB_SSH_TRACE = file;
  try {
    await fn();
  } finally {
    if (before === undefined) delete process.env.AB_SSH_TRACE;
    else process.env.AB_SSH_TRACE = before;
  }
  return (await readFile(file, 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
}

describe('tarDirectorySize', () => {
  it('is the length of the stream tarDirectory makes, with long names, links, empty and odd-sized files', async () => {
    const dir = join(tmp.path, 'tree');
    const deep = join(dir, 'd'.repeat(60), 'e'.repeat(60));
    await mkdir(deep, { recursive: true });
    await writeFile(join(deep, 'f'.repeat(40)), Buffer.alloc(513, 1));
    await writeFile(join(dir, 'empty'), '');
    await writeFile(join(dir, 'block'), Buffer.alloc(1024, 2));
    await symlink('l'.repeat(120), join(dir, 'link'));
    const as = 'var/lib/abctl/deployments/some-deployment/app-1';
    expect(await tarDirectorySize(dir, as)).toBe((await buffer(tarDirectory(dir, as))).length);
  });
});

describe('deploy over SSH', () => {
  it('ships and runs every instance of a host in one session (the host launcher), beside the command runner, and no SFTP', async () => {
    const events: ProgressEvent[] = [];
    const [conn] = await traced(async () => {
      const r = await fx.service.deploy({ assembly: 'site', planFile: fx.planFile, name: 'one-session', targetOptions, onProgress: (e) => events.push(e) });
      expect(r.failures).toEqual([]);
    });
    expect(conn?.sftpCalls).toBe(0);
    const sessions = conn?.events.filter((e) => e.kind === 'session').map((e) => (e.what === 'command runner' ? e.what : e.what.startsWith('node -e ') ? 'host launcher' : e.what));
    expect(sessions).toEqual(['command runner', 'host launcher']);
    // Every instance still goes through each step, in order.
    for (const id of ['app-1', 'app-2', 'proxy-1']) {
      expect(events.filter((e) => e.id === id).map((e) => e.status)).toEqual(['shipping', 'rehydrating', 'starting', 'running']);
    }
    const address = hosts.hosts[0]!.address;
    expect((await httpJson(address, APP_PORT)).server).toBe('app-1@ship1');
    expect((await httpJson(address, APP_PORT + 1)).server).toBe('app-2@ship1');
    expect((await httpJson(address, PROXY_PORT)).peers).toHaveLength(2);
    expect((await fx.service.undeploy('one-session', { targetOptions })).failures).toEqual([]);
  });

  it('reports a bundle the host cannot unpack as a failed ship with tar\'s words, and never starts the agent', async () => {
    // A file where the deployment's directory goes: tar cannot make the instance directories.
    await hosts.hosts[0]!.exec(['sh', '-c', 'mkdir -p /var/lib/abctl/deployments && echo x > /var/lib/abctl/deployments/blocked']);
    const events: ProgressEvent[] = [];
    try {
      const r = await fx.service.deploy({ assembly: 'site', planFile: fx.planFile, name: 'blocked', targetOptions, onProgress: (e) => events.push(e) });
      expect(r.failures.map((f) => [f.id, f.step, f.code])).toEqual([
        ['app-1', 'ship', 'DEPLOY_SHIP_FAILED'],
        ['app-2', 'ship', 'DEPLOY_SHIP_FAILED'],
      ]);
      expect(r.failures[0]?.message).toMatch(/^unpacking the bundle into \/var\/lib\/abctl\/deployments\/blocked\/app-1 failed \(exit 2\): tar: .*Not a directory/);
      expect(events.filter((e) => e.status === 'rehydrating')).toEqual([]);
      expect(r.record.instances.map((i) => [i.id, i.status, i.failedStep])).toEqual([
        ['app-1', 'failed', 'ship'],
        ['app-2', 'failed', 'ship'],
        ['proxy-1', 'pending', undefined],
      ]);
    } finally {
      await hosts.hosts[0]!.exec(['rm', '-f', '/var/lib/abctl/deployments/blocked']);
      await fx.service.undeploy('blocked', { targetOptions });
    }
  });
});
