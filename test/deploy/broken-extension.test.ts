/**
 * A broken extension on deploy and on the deployment's later operations, with the built CLI on
 * the real example deployed to this machine: deploy refuses before it writes anything; on the
 * host, start and ping refuse and stop stops what it can, each naming the extension and exiting 1;
 * deploying again ships a working copy, and undeploy does not wait for a repair.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abctl } from '../introspection/helpers.js';
import { tempDir } from '../helpers/plugins.js';
import { health, localSiteWithPluginCopy, type ExampleSite } from './example-fixture.js';

const THROWS = `export default { start() { throw new Error('no log directory'); } };\n`;

let tmp: { path: string; cleanup: () => Promise<void> };
let site: ExampleSite;
let port: number;
let root: string;
let plugins: string;
let logsIndex: string;
let working: string;

beforeAll(async () => {
  tmp = await tempDir('abctl-deploy-broken-');
  ({ site, port, plugins, root } = await localSiteWithPluginCopy(tmp.path, 'web-broken'));
  logsIndex = join(plugins, 'examplelogs', 'index.js');
  working = readFileSync(logsIndex, 'utf8');
}, 120_000);
afterAll(async () => {
  writeFileSync(logsIndex, working);
  abctl(['undeploy', '--deployment', 'shop'], site.env);
  await tmp.cleanup();
});

describe('a broken extension of the appliance\'s chain', () => {
  it('refuses deploy before anything is written, naming it, why, and how to go on', () => {
    writeFileSync(logsIndex, THROWS);
    try {
      const r = abctl(['deploy', '--assembly', 'site', '--plan', site.planFile, '--name', 'shop', '--target-root', root], site.env);
      expect(r.code).toBe(1);
      expect(r.err).toContain('error in plugin examplelogs:');
      expect(r.err).toContain('extension examplelogs of example is broken (PLUGIN_START_FAILED:');
      expect(r.err).toContain('no log directory');
      expect(r.err).toContain('abctl disablePlugin --name examplelogs');
      expect(existsSync(join(site.instance, 'deployments', 'shop'))).toBe(false);
      expect(existsSync(join(root, 'deployments', 'shop'))).toBe(false);
      expect(abctl(['describeDeployments'], site.env).out).toContain('no deployments');
    } finally {
      writeFileSync(logsIndex, working);
    }
  }, 60_000);

  it('broken on the host later: start and ping refuse, stop stops the product and still fails', async () => {
    let r = abctl(['deploy', '--assembly', 'site', '--plan', site.planFile, '--name', 'shop', '--target-root', root], site.env);
    expect([r.code, r.err]).toEqual([0, '']);
    expect(await health('127.0.0.1', port)).toBe('ok web-broken');
    // The extension's copy in the instance's bundle on the host breaks (the local plugin stays fine).
    const onHost = join(root, 'deployments', 'shop', 'web-1', 'bundle', 'plugins', 'examplelogs', 'index.js');
    expect(existsSync(onHost)).toBe(true);
    const kept = readFileSync(onHost, 'utf8');
    writeFileSync(onHost, THROWS);
    try {
      r = abctl(['stopDeployment', '--deployment', 'shop'], site.env);
      expect(r.code).toBe(1);
      expect(r.out + r.err).toContain('ran without extension examplelogs, so it is incomplete');
      await expect(health('127.0.0.1', port)).rejects.toThrow();

      r = abctl(['startDeployment', '--deployment', 'shop'], site.env);
      expect(r.code).toBe(1);
      expect(r.out + r.err).toContain('start of appliance "web" (instance 1) cannot run: extension examplelogs of example is broken');
      await expect(health('127.0.0.1', port)).rejects.toThrow();

      r = abctl(['pingDeployment', '--deployment', 'shop'], site.env);
      expect(r.code).toBe(1);
      expect(r.out + r.err).toContain('extension examplelogs of example is broken');
      expect(r.out + r.err).toContain('this is the copy deployed with the instance');

      // The way on the hint gives: deploy again ships a fresh copy from where abctl runs.
      r = abctl(['deploy', '--assembly', 'site', '--plan', site.planFile, '--name', 'shop', '--target-root', root], site.env);
      expect([r.code, r.err]).toEqual([0, '']);
      expect(await health('127.0.0.1', port)).toBe('ok web-broken');
      expect(readFileSync(onHost, 'utf8')).toBe(kept);

      // Undeploy does not wait for a repair: stop's error is logged, the product is down, the files go.
      writeFileSync(onHost, THROWS);
      r = abctl(['undeploy', '--deployment', 'shop'], site.env);
      expect([r.code, r.err]).toEqual([0, '']);
      await expect(health('127.0.0.1', port)).rejects.toThrow();
      expect(existsSync(join(root, 'deployments', 'shop', 'web-1'))).toBe(false);
    } finally {
      if (existsSync(onHost)) writeFileSync(onHost, kept);
    }
  }, 120_000);
});
