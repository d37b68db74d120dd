/**
 * Host checks before a plain deploy, on real hosts: this machine (`local`) and an OpenSSH host
 * in its own namespaces (test/support/hosts.mjs), reached through the host layer as deploy
 * reaches it. The example plugin's own requirements are met on both; an extension installed
 * beside it declares what they lack, so both the refusal and the pass are seen.
 */
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../catalog/index.js';
import type { Assembly } from '../../core/metadata/index.js';
import { DeploymentService } from '../../services/deploy/module.js';
import { DeploymentPlanService } from '../../services/editing/deployment-plans.js';
import { ValidationService } from '../../services/validation/module.js';
import { exampleSite, type ExampleSite } from '../deploy/example-fixture.js';
import { tempDir } from '../helpers/plugins.js';
import { abctl } from '../introspection/helpers.js';
import { startHost, type TestHost } from '../support/hosts.mjs';
import { freePort } from '../support/sshd.mjs';
import { makeRootFs, setRequirements, statusFile, writeRequirementsPlugin } from './fixture.js';

let tmp: Awaited<ReturnType<typeof tempDir>>;
let host: TestHost;
let site: ExampleSite;
let needs: string;

const LACKING = [
  { kind: 'package', name: 'abctl-absent-package', message: 'the product loads its modules' },
  { kind: 'user', name: 'abctl-nouser' },
  { kind: 'swap', minimum: 64, severity: 'warning' },
];

beforeAll(async () => {
  tmp = await tempDir('abctl-hostval-');
  host = await startHost('valhost');
  site = await exampleSite(tmp.path, join(tmp.path, 'opt', 'minihttpd'), {
    web: { port: await freePort(), serverName: 'web-local', target: 'local' },
    api: { port: await freePort(), serverName: 'api-ssh', target: host.target },
  });
  // Installed into the instance, so it joins the example's chain for every command.
  needs = await writeRequirementsPlugin(join(site.instance, 'plugins'), 'exampleneeds', { parentName: 'example' });
}, 120_000);
afterAll(async () => {
  await host?.stop();
  await tmp?.cleanup();
});

const ssh = () => ({ identityFile: host.identityFile, knownHostsFile: host.knownHostsFile });

describe('the target hosts of a plan against the plugins of their appliances', () => {
  it('lists what each host lacks, with the fix for that host; the example\'s own requirements are met', async () => {
    await setRequirements(needs, LACKING);
    const { reports, skipped } = await site.app.get(ValidationService).validateHosts('site', site.planFile, { targetOptions: ssh() });
    expect(skipped).toEqual([]);
    expect(reports.map((r) => [r.subject, r.appliances])).toEqual([
      ['host local', ['web']],
      [`host ${host.target}`, ['api']],
    ]);
    for (const r of reports) {
      expect(r.plugins).toEqual(['example', 'examplelogs', 'exampleneeds']);
      expect(r.problems.filter((p) => p.plugin === 'example')).toEqual([]);
      expect(r.problems.map((p) => [p.severity, p.plugin, p.requirement, p.found])).toEqual([
        ['error', 'exampleneeds', 'package abctl-absent-package', 'not installed'],
        ['error', 'exampleneeds', 'user abctl-nouser', 'no such user'],
        // This machine (and so the test host) has no swap.
        ['warning', 'exampleneeds', 'swap >= 64 MiB', 'no swap'],
      ]);
    }
    expect(reports[0]?.problems[0]?.fix).toBe('apt-get install -y abctl-absent-package');
    expect(reports[1]?.problems[0]?.fix).toBe(`on ${host.user}@${host.address}:22: apt-get install -y abctl-absent-package`);
  }, 60_000);

  it('makes deploy refuse before it writes anything, listing every host\'s problems', async () => {
    await setRequirements(needs, LACKING);
    const targetRoot = join(tmp.path, 'target-root');
    const err = await site.app
      .get(DeploymentService)
      .deploy({ assembly: 'site', planFile: site.planFile, targetRoot, targetOptions: ssh() })
      .catch((e: unknown) => e as Error & { code?: string });
    expect(err).toMatchObject({ code: 'REQUIREMENTS_UNMET' });
    expect((err as Error).message).toMatch(/^host local and host ssh:\/\/\S+ do not meet the requirements of the plugins \(4 errors\):/);
    expect((err as Error).message).toContain('error: exampleneeds: package abctl-absent-package: not installed (needed for: the product loads its modules)');
    expect(existsSync(join(site.instance, 'deployments', 'site', 'record.json'))).toBe(false);
    expect(existsSync(targetRoot)).toBe(false);
  }, 60_000);

  it('passes once nothing is lacking; warnings are still shown', async () => {
    await setRequirements(needs, [{ kind: 'kernelParameter', name: 'net.core.somaxconn', minimum: 1 << 20, severity: 'warning' }]);
    const { reports } = await site.app.get(ValidationService).validateHosts('site', site.planFile, { targetOptions: ssh() });
    for (const r of reports) {
      expect(r.problems.map((p) => [p.severity, p.requirement])).toEqual([['warning', 'kernel parameter net.core.somaxconn >= 1048576']]);
      expect(r.problems[0]?.fix).toContain("sysctl -w net.core.somaxconn='1048576'");
      // The example's libc6/libstdc++6 and somaxconn, the extension's one, and the file set's owner and group.
      expect(r.checked).toBe(6);
    }
  }, 60_000);

  it('abctl validateHost prints the reports (--json too) and exits 1 when a requirement is not met', async () => {
    await setRequirements(needs, LACKING);
    const args = ['validateHost', '--assembly', 'site', '--plan', site.planFile, '--identity-file', host.identityFile, '--known-hosts', host.knownHostsFile];
    const bad = abctl([...args, '--json'], site.env);
    expect(bad.code, bad.err).toBe(1);
    const json = JSON.parse(bad.out) as { ok: boolean; reports: { subject: string; problems: { requirement: string }[] }[] };
    expect(json.ok).toBe(false);
    expect(json.reports.map((r) => r.problems.map((p) => p.requirement))).toEqual([
      ['package abctl-absent-package', 'user abctl-nouser', 'swap >= 64 MiB'],
      ['package abctl-absent-package', 'user abctl-nouser', 'swap >= 64 MiB'],
    ]);
    await setRequirements(needs, []);
    const good = abctl(args, site.env);
    expect(good.code, good.err).toBe(0);
    expect(good.out).toContain('host local (web): ok; 5 requirement(s) of example, examplelogs, exampleneeds checked');
    expect(abctl(['validateHost', '--help'], site.env).out).toContain('--insecure-skip-host-key-check');
  }, 60_000);

  it("createTemplate and validateBase refuse a base lacking the example's package, naming it; it passes once it is there", async () => {
    await setRequirements(needs, []);
    const dir = await makeRootFs(join(tmp.path, 'base'), { packages: { libc6: '2.36-9+deb12u14' } });
    // createTemplate runs the same check once the base is open, and writes no image.
    const out = join(tmp.path, 'images');
    const refused = abctl(['createTemplate', '--assembly', 'site', '--appliance', 'web', '--base', dir, '--out', out, '--node', 'none'], site.env);
    expect(refused.code, refused.out).toBe(1);
    expect(refused.err).toContain('does not meet the requirements of the plugins (1 error)');
    expect(refused.err).toContain(`error: example: package libstdc++6: not installed`);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);

    const args = ['validateBase', '--assembly', 'site', '--appliance', 'web', '--base', dir];
    const bad = abctl(args, site.env);
    expect(bad.code, bad.err).toBe(1);
    expect(bad.out).toContain(`base root file system ${dir} (site/web): 1 error(s), 1 warning(s)`);
    expect(bad.out).toContain('error: example: package libstdc++6: not installed');
    expect(bad.out).toContain(`fix: chroot ${dir} apt-get install -y libstdc++6`);
    expect(bad.err).toMatch(/^error: base root file system \S+ does not meet the requirements of the plugins \(1 error\):/);
    await writeFile(join(dir, 'var/lib/dpkg/status'), statusFile({ libc6: '2.36-9+deb12u14', 'libstdc++6': '12.2.0-14+deb12u1' }));
    const good = abctl([...args, '--json'], site.env);
    expect(good.code, good.err).toBe(0);
    const json = JSON.parse(good.out) as { ok: boolean; reports: { problems: { severity: string; requirement: string }[] }[] };
    expect(json.ok).toBe(true);
    // Only the kernel parameter, which an image cannot answer for.
    expect(json.reports[0]?.problems.map((p) => [p.severity, p.requirement])).toEqual([['warning', 'kernel parameter net.core.somaxconn >= 128']]);
  }, 60_000);

  it('reports a host it cannot reach as an error of its own', async () => {
    const { reports } = await site.app.get(ValidationService).checkPlanHosts(
      await loadSite(),
      await planWithTarget(`ssh://root@127.0.0.1:${await freePort()}`),
      { targetOptions: { ...ssh(), connectTimeoutMs: 5000 }, unreachable: 'report' },
    );
    expect(reports.every((r) => r.problems.length === 1 && r.problems[0]?.requirement === 'a connection' && r.problems[0].severity === 'error')).toBe(true);
    expect(reports[0]?.problems[0]?.found).toMatch(/^cannot reach it, so nothing was checked: /);
  }, 60_000);
});

describe('scaling up onto a host', () => {
  it('checks the hosts of the new instances first: a host that lacks a requirement refuses the scale, nothing is placed there', async () => {
    // A site of its own: `web` runs here (local), its spare host line is the SSH host.
    const dir = join(tmp.path, 'scale');
    const scaled = await exampleSite(dir, join(dir, 'opt', 'minihttpd'), { web: { port: await freePort(), serverName: 'web-scale', target: 'local', spares: [host.target] } }, {
      edit: (a) => a.setScalability({ min: 1, target: 1, max: 2, absoluteMax: 2 }),
    });
    const scaleNeeds = await writeRequirementsPlugin(join(scaled.instance, 'plugins'), 'exampleneeds', { parentName: 'example' });
    await setRequirements(scaleNeeds, []);
    const service = scaled.app.get(DeploymentService);
    const targetRoot = join(dir, 'target-root');
    try {
      const r = await service.deploy({ assembly: 'site', planFile: scaled.planFile, targetRoot, targetOptions: ssh() });
      expect(r.failures).toEqual([]);
      await setRequirements(scaleNeeds, LACKING);
      const err = await service.scale('site', 'web', 2, { targetOptions: ssh() }).catch((e: unknown) => e as Error & { code?: string });
      expect(err).toMatchObject({ code: 'REQUIREMENTS_UNMET' });
      // Only the new instance's host is checked; web-1's (local) is not touched by this scale.
      expect((err as Error).message).toMatch(/^host ssh:\/\/\S+ does not meet the requirements of the plugins \(2 errors\):/);
      expect((err as Error).message).toContain('error: exampleneeds: user abctl-nouser: no such user');
      expect((await service.describe('site')).record.instances.map((i) => [i.id, i.status])).toEqual([['web-1', 'running']]);
      expect(existsSync(join(targetRoot, 'deployments', 'site', 'web-2'))).toBe(false);
    } finally {
      await setRequirements(scaleNeeds, []);
      await service.undeploy('site', { targetOptions: ssh() }).catch(() => {});
    }
  }, 120_000);
});

async function loadSite(): Promise<Assembly> {
  return (await site.app.get(Catalog).getAssembly('site')) as Assembly;
}

/** The site's plan with every instance placed on `target`. */
async function planWithTarget(target: string) {
  const { plan } = await site.app.get(DeploymentPlanService).load('site', site.planFile);
  return { ...plan, root: { ...plan.root, children: plan.root.children.map((c) => ({ ...c, hosts: (c.hosts ?? []).map((h) => ({ ...h, target })) })) } };
}
