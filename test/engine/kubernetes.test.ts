/**
 * The kubernetes:CONTEXT target as the commands it runs. No cluster is reachable from this
 * machine and kubectl is not installed, so `kubectl` and `skopeo` are stand-ins on PATH that
 * record their arguments (and, for `kubectl apply -k`, the files of the directory as they are
 * at that moment) and answer like the real tools. Everything before them is real: the image is
 * written by createTemplate's code, the manifests by exportKubernetes's.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeploymentService } from '../../services/deploy/module.js';
import { tempDir } from '../helpers/plugins.js';
import type { ExampleSite } from '../deploy/example-fixture.js';
import { testRootfs } from '../support/podman.mjs';
import { scalableSite } from './fixture.js';
import { makeRootFs } from '../validation/fixture.js';

const FAKE = `#!/usr/bin/env node
// A stand-in that records its argv: no cluster or registry is reachable here.
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
const entry = { tool: path.basename(process.argv[1]), args };
const k = args.indexOf('-k');
if (args.includes('apply') && k >= 0) {
  entry.files = fs.readdirSync(args[k + 1]).sort().map((f) => [f, (fs.statSync(path.join(args[k + 1], f)).mode & 0o777).toString(8)]);
}
const oci = args.find((a) => a.startsWith('oci:'));
if (oci) entry.layout = fs.existsSync(path.join(oci.slice(4, oci.lastIndexOf(':')), 'index.json'));
fs.appendFileSync(process.env.ABCTL_FAKE_LOG, JSON.stringify(entry) + '\\n');
if (args.includes('version')) process.stdout.write('{"clientVersion":{"gitVersion":"v1.30.0-stand-in"}}\\n');
if (args.includes('exec')) process.stdout.write('healthy: stand-in\\n');
`;

interface Call {
  readonly tool: string;
  readonly args: string[];
  readonly files?: [string, string][];
  readonly layout?: boolean;
}

describe('the kubernetes target, as the commands it runs (no cluster reachable: kubectl and skopeo are recording stand-ins)', () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  let site: ExampleSite;
  let log: string;
  const path = process.env['PATH'];

  beforeAll(async () => {
    tmp = await tempDir('abctl-kube-');
    const bin = join(tmp.path, 'bin');
    mkdirSync(bin);
    for (const tool of ['kubectl', 'skopeo']) {
      // CommonJS, whatever the package.json above the temp dir says.
      writeFileSync(join(bin, tool), FAKE.replace('#!/usr/bin/env node', `#!${process.execPath}`));
      chmodSync(join(bin, tool), 0o755);
    }
    log = join(tmp.path, 'calls.jsonl');
    process.env['PATH'] = `${bin}:${path ?? ''}`;
    process.env['ABCTL_FAKE_LOG'] = log;
    site = await scalableSite(tmp.path, 'kubernetes:kind-abctl', 18080, 'web-k8s');
  }, 120_000);

  afterAll(async () => {
    process.env['PATH'] = path;
    delete process.env['ABCTL_FAKE_LOG'];
    await tmp?.cleanup();
  });

  const calls = (): Call[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Call) : []);
  // Each command first checks kubectl (\`version --client\`); the rest is what it did.
  const since = (n: number) => calls().slice(n).map((c) => [c.tool, ...c.args].join(' ')).filter((c) => !c.endsWith('version --client -o json'));

  it('pushes the image, applies the exported manifests, scales, stops, starts, pings and deletes with kubectl --context', async () => {
    const service = site.app.get(DeploymentService);
    const registry = 'registry.example.com:5000/team';
    const r = await service.deploy({ assembly: 'site', planFile: site.planFile, name: 'k', targetOptions: { engine: { base: testRootfs(), registry } } });
    expect(r.failures).toEqual([]);
    const manifests = join(site.instance, 'deployments', 'k', 'kubernetes', 'manifests');
    const workloadFile = readdirSync(manifests).find((f) => f.startsWith('deployment-')) as string;
    const workload = `deployment/${workloadFile.slice('deployment-'.length, -'.yaml'.length)}`;
    const all = calls();
    const push = all.find((c) => c.tool === 'skopeo') as Call;
    const tag = /:([0-9a-f]{12})$/.exec(push.args[3] as string)?.[1] as string;
    expect(push.args).toEqual(['copy', '--quiet', expect.stringMatching(new RegExp(`^oci:/.+/web:${tag}$`)), `docker://${registry}/web:${tag}`]);
    expect(push.layout).toBe(true);
    const apply = all.find((c) => c.args.includes('apply')) as Call;
    expect(all[0]?.args).toEqual(['--context', 'kind-abctl', 'version', '--client', '-o', 'json']);
    expect(since(0).filter((c) => c.startsWith('kubectl'))).toEqual([
      `kubectl --context kind-abctl apply -k ${manifests}`,
      `kubectl --context kind-abctl rollout status ${workload} --timeout=300s`,
    ]);
    // At apply time the Secret was there, 0600; right after, it is gone from disk and from the kustomization.
    const secretFiles = (apply.files ?? []).filter(([f]) => f.startsWith('secret-'));
    expect(secretFiles.length).toBe(1);
    expect(secretFiles[0]?.[1]).toBe('600');
    expect(readdirSync(manifests).filter((f) => f.startsWith('secret-'))).toEqual([]);
    expect(readFileSync(join(manifests, 'kustomization.yaml'), 'utf8')).not.toContain('secret-');
    const deployment = readFileSync(join(manifests, workloadFile), 'utf8');
    expect(deployment).toContain(`image: ${registry}/web:${tag}`);
    expect(deployment).toMatch(/replicas: 2/);
    expect(r.record.instances.map((i) => [i.id, i.status, i.hostname])).toEqual([
      ['web-1', 'running', workload.split('/')[1]],
      ['web-2', 'running', workload.split('/')[1]],
    ]);

    let n = calls().length;
    expect((await service.ping('k')).map((x) => x.healthy)).toEqual([true, true]);
    expect(new Set(since(n))).toEqual(new Set([`kubectl --context kind-abctl exec ${workload} -- /opt/abctl/node /opt/abctl/abctl-agent.mjs ping --bundle /opt/abctl/bundle`]));

    n = calls().length;
    expect((await service.scale('k', 'web', 3)).failures).toEqual([]);
    expect(since(n)).toEqual([`kubectl --context kind-abctl scale ${workload} --replicas=3`, `kubectl --context kind-abctl rollout status ${workload} --timeout=300s`]);
    n = calls().length;
    expect((await service.scale('k', 'web', 1)).failures).toEqual([]);
    // web-3 and web-2 are removed in parallel: whichever comes first, the count only goes down and ends at 1.
    const down = since(n);
    expect(down.at(-1)).toBe(`kubectl --context kind-abctl scale ${workload} --replicas=1`);
    expect(down.every((c) => c === `kubectl --context kind-abctl scale ${workload} --replicas=2` || c === `kubectl --context kind-abctl scale ${workload} --replicas=1`)).toBe(true);

    n = calls().length;
    expect((await service.stop('k')).failures).toEqual([]);
    expect(since(n)).toEqual([`kubectl --context kind-abctl scale ${workload} --replicas=0`]);
    n = calls().length;
    expect((await service.start('k')).failures).toEqual([]);
    expect(since(n)).toEqual([`kubectl --context kind-abctl scale ${workload} --replicas=1`, `kubectl --context kind-abctl rollout status ${workload} --timeout=300s`]);

    n = calls().length;
    expect((await service.undeploy('k')).failures).toEqual([]);
    const secretName = (secretFiles[0]?.[0] as string).slice('secret-'.length, -'.yaml'.length);
    expect(since(n)).toEqual([
      `kubectl --context kind-abctl delete ${workload} --ignore-not-found --timeout=300s`,
      `kubectl --context kind-abctl delete -k ${manifests} --ignore-not-found`,
      `kubectl --context kind-abctl delete secret ${secretName} --ignore-not-found`,
    ]);
    // No password on any command line.
    expect(readFileSync(log, 'utf8')).not.toContain('s3cret-from-plan');
  }, 300_000);

  it('undeploys two instances with one delete of their workload and one kubectl delete -k, and reports each instance removed', async () => {
    const service = site.app.get(DeploymentService);
    const r = await service.deploy({ assembly: 'site', planFile: site.planFile, name: 'k2', targetOptions: { engine: { base: testRootfs(), registry: 'registry.example.com:5000/team' } } });
    expect(r.failures).toEqual([]);
    expect(r.record.instances.map((i) => i.id)).toEqual(['web-1', 'web-2']);
    const manifests = join(site.instance, 'deployments', 'k2', 'kubernetes', 'manifests');
    const workloadFile = readdirSync(manifests).find((f) => f.startsWith('deployment-')) as string;
    const workload = `deployment/${workloadFile.slice('deployment-'.length, -'.yaml'.length)}`;
    const events: [string, string][] = [];
    const n = calls().length;
    const u = await service.undeploy('k2', { onProgress: (e) => events.push([e.id, e.status]) });
    expect(u.failures).toEqual([]);
    // No scaling of a workload that is being deleted (a real cluster refuses to scale it once it is gone).
    expect(since(n).filter((c) => c.startsWith('kubectl'))).toEqual([
      `kubectl --context kind-abctl delete ${workload} --ignore-not-found --timeout=300s`,
      `kubectl --context kind-abctl delete -k ${manifests} --ignore-not-found`,
      expect.stringMatching(/^kubectl --context kind-abctl delete secret \S+ --ignore-not-found$/),
    ]);
    for (const id of ['web-1', 'web-2']) expect(events).toContainEqual([id, 'removed']);
    expect(await service.list()).not.toContainEqual(expect.objectContaining({ record: expect.objectContaining({ name: 'k2' }) }));
  }, 300_000);

  it('refuses a base that misses what the plugins require before any image is written or pushed', async () => {
    const service = site.app.get(DeploymentService);
    const before = calls().length;
    // libc6 but no libstdc++6, which the example's Node.js needs (its baseImageRequirements).
    const base = await makeRootFs(join(tmp.path, 'poor-base'), { users: ['root'], groups: ['root'], packages: { libc6: '2.36-9+deb12u14' } });
    const r = await service.deploy({ assembly: 'site', planFile: site.planFile, name: 'kpoor', targetOptions: { engine: { base, registry: 'registry.example.com:5000/team' } } });
    expect(r.failures.map((f) => f.id)).toEqual(['web-1', 'web-2']);
    for (const f of r.failures) expect(f.message).toContain('package libstdc++6: not installed');
    // Nothing pushed, nothing applied.
    expect(since(before).filter((c) => c.startsWith('skopeo') || c.includes(' apply '))).toEqual([]);
    expect((await service.undeploy('kpoor')).failures).toEqual([]);
  }, 120_000);
});
