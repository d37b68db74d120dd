/** The deployment commands of the built CLI on the real example, deployed to this machine. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abctl } from '../introspection/helpers.js';
import { freePort } from '../support/sshd.mjs';
import { tempDir } from '../helpers/plugins.js';
import { exampleSite, health, type ExampleSite } from './example-fixture.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let site: ExampleSite;
let port: number;
let root: string;

beforeAll(async () => {
  tmp = await tempDir('abctl-deploy-cli-');
  port = await freePort();
  site = await exampleSite(tmp.path, join(tmp.path, 'target', 'opt', 'minihttpd'), { web: { port, serverName: 'web-cli', target: 'local' } });
  root = join(tmp.path, 'target', 'var', 'lib', 'abctl');
}, 120_000);
afterAll(async () => {
  abctl(['undeploy', '--deployment', 'shop'], site.env);
  await tmp.cleanup();
});

describe('abctl deploy and the deployment commands', () => {
  it('deploys, describes, pings, stops, starts and undeploys, with --json for scripts', async () => {
    let r = abctl(['deploy', '--assembly', 'site', '--plan', site.planFile, '--name', 'shop', '--target-root', root], site.env);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/INSTANCE\s+HOST\s+TARGET\s+PORTS\s+STATUS\nweb-1\s+\S+\s+local\s+http:\d+\s+running\ndeployed deployment shop\n/);
    expect(await health('127.0.0.1', port)).toBe('ok web-cli');

    r = abctl(['describeDeployments', '--json'], site.env);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.out) as { deployments: { name: string; assembly: string; statuses: Record<string, number>; instances: { id: string; target: string }[] }[] };
    expect(d.deployments.map((x) => [x.name, x.assembly, x.statuses])).toEqual([['shop', 'site', { running: 1 }]]);

    r = abctl(['pingDeployment', '--deployment', 'shop', '--json'], site.env);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ deployment: 'shop', healthy: true, instances: [{ id: 'web-1', healthy: true }] });

    r = abctl(['stopDeployment', '--deployment', 'shop'], site.env);
    expect([r.code, r.err]).toEqual([0, '']);
    r = abctl(['pingDeployment', '--deployment', 'shop'], site.env);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/web-1\s+\S+\s+stopped\s+UNHEALTHY/);

    r = abctl(['startDeployment', '--deployment', 'shop'], site.env);
    expect(r.code).toBe(0);
    expect(await health('127.0.0.1', port)).toBe('ok web-cli');

    r = abctl(['scaleAppliance', '--deployment', 'shop', '--appliance', 'web', '--count', '2'], site.env);
    expect(r.code).toBe(1);
    expect(r.err).toContain('2 instances of appliance "web" is outside its scalability bounds 1..1');

    r = abctl(['undeploy', '--deployment', 'shop'], site.env);
    expect([r.code, r.out]).toEqual([0, 'undeployed shop: 1 instance(s) stopped and removed\n']);
    await expect(health('127.0.0.1', port)).rejects.toThrow();
    expect(abctl(['describeDeployments'], site.env).out).toBe('no deployments (abctl deploy --assembly A --plan P makes one)\n');
  }, 120_000);

  it('refuses a second deployment that would write the first one\'s files on the same host, and leaves the first alone', async () => {
    let r = abctl(['deploy', '--assembly', 'site', '--plan', site.planFile, '--name', 'shop', '--target-root', root], site.env);
    expect(r.code).toBe(0);
    try {
      // Before the check, shop2 overwrote shop's product in place, reported "running" (the
      // plugin found shop's server) and its undeploy stopped shop's server.
      r = abctl(['deploy', '--assembly', 'site', '--plan', site.planFile, '--name', 'shop2', '--target-root', root, '--json'], site.env);
      expect(r.code).toBe(1);
      const e = (JSON.parse(r.out) as { error: { code: string; message: string; hint: string } }).error;
      expect(e.code).toBe('DEPLOY_ROOT_CONFLICT');
      expect(e.message).toContain(`instance web-1 on local writes ${join(tmp.path, 'target', 'opt', 'minihttpd')}, as instance web-1 of deployment "shop" does`);
      expect(e.hint).toContain('undeploy the other deployment first');
      // Nothing of shop2 was written, not even an empty directory; shop still serves and a
      // resumed deploy of shop is not refused by itself.
      expect(abctl(['describeDeployments', '--deployment', 'shop2'], site.env).code).toBe(1);
      expect(existsSync(join(site.instance, 'deployments', 'shop2'))).toBe(false);
      expect(await health('127.0.0.1', port)).toBe('ok web-cli');
      expect(abctl(['deploy', '--assembly', 'site', '--plan', site.planFile, '--name', 'shop'], site.env).code).toBe(0);
    } finally {
      r = abctl(['undeploy', '--deployment', 'shop'], site.env);
    }
    expect(r.code).toBe(0);
  }, 120_000);

  it('help of the deployment-half commands wraps whole paragraphs (no line broken mid-sentence at 120 columns and again at 80)', () => {
    for (const command of ['deploy', 'createTemplate', 'createBase', 'exportAssembly', 'importAssembly', 'exportKubernetes', 'rehydrate', 'validateBase', 'validateHost']) {
      const r = abctl([command, '--help'], site.env);
      expect(r.code).toBe(0);
      const text = r.out.split(/\n(?:Options|Arguments):/)[0] ?? '';
      // Wrapped greedily at 80 columns: the next line's first word would not have fitted on a line.
      for (const para of text.split('\n\n').slice(1)) {
        const lines = para.trim().split('\n');
        lines.slice(1).forEach((next, k) => {
          const line = lines[k] as string;
          expect(line.length + 1 + (next.split(' ')[0] ?? '').length, `${command} --help: "${line}" / "${next}"`).toBeGreaterThan(80);
        });
      }
    }
  });

  it('says clearly when a deployment does not exist, in text and in JSON', () => {
    let r = abctl(['stopDeployment', '--deployment', 'nope'], site.env);
    expect(r.code).toBe(1);
    expect(r.err).toContain('there is no deployment "nope"');
    expect(r.err).toContain('hint: see the deployments with abctl describeDeployments');
    r = abctl(['pingDeployment', '--deployment', 'nope', '--json'], site.env);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ error: { code: 'DEPLOYMENT_UNKNOWN' } });
  });
});
