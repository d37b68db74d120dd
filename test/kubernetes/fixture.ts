/**
 * A real catalog for the Kubernetes tests, made once: the shipped example plugin introspects
 * examples/minihttpd through the built CLI (`web`, with its password property); beside it a
 * `proxy` that connects to web, to `db` and to two external resources (an LDAP server by host
 * name, a metrics sink by address), and a `db` that keeps state in a file set marked
 * `stateful` and mounts an NFS volume. Assembly `shop` has a second vnet `front` (with a
 * CIDR) that proxy's second interface attaches to. The plan sets web's port and password
 * (encrypted with the instance key, as abctl writes it), 3 proxies with anti-affinity, and
 * db's NFS mount target.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { Catalog } from '../../catalog/index.js';
import { SecretBox, isEncrypted } from '../../catalog/secrets.js';
import { createDeploymentPlan, formatPlan, type DeploymentPlan, type PlanNode } from '../../core/deployment-plan/index.js';
import { Appliance, type Assembly } from '../../core/metadata/index.js';
import { EditingService } from '../../services/editing/editing-service.js';
import { instanceLayout } from '../../services/instance.js';
import { abctl, cliEnv, copyMinihttpd, examplePlugins } from '../introspection/helpers.js';
import { withPlanValues } from '../rehydration/bundle-fixture.js';

export const WEB_PASSWORD = 'k8s-Secret-from-plan-7Qz';

export interface ShopFixture {
  readonly instance: string;
  readonly env: NodeJS.ProcessEnv;
  readonly planFile: string;
  readonly catalog: Catalog;
}

function editNode(plan: DeploymentPlan, name: string, change: (n: PlanNode) => PlanNode): DeploymentPlan {
  return { ...plan, root: { ...plan.root, children: plan.root.children.map((c) => (c.name === name ? change(c) : c)) } };
}

export async function shopFixture(tmp: string, opts: { webPort?: number } = {}): Promise<ShopFixture> {
  const instance = join(tmp, 'instance');
  const env = cliEnv(instance, examplePlugins);
  const ref = await copyMinihttpd(join(tmp, 'reference', 'minihttpd'));
  const r = abctl(['introspectexample', '--home', ref], env);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);

  const layout = instanceLayout(instance, examplePlugins);
  const catalog = new Catalog(layout);
  await catalog.putAppliance(
    new Appliance({
      name: 'proxy',
      creator: 'example',
      // Own types: the bundle writer finds web's content by the one catalog appliance of its creator and type.
      type: 'proxy',
      resources: { cpus: 1, memoryMiB: 128 },
      scalability: { min: 1, target: 2, max: 5, absoluteMax: 10 },
      interfaces: [{ name: 'eth0' }, { name: 'eth1', properties: [{ name: 'vnet', value: 'front' }] }],
      inputs: [{ name: 'http', port: 8080, protocols: ['http'] }],
      outputs: [
        { name: 'backend', protocol: 'http' },
        { name: 'cache', protocol: 'redis' },
        { name: 'ldap', protocol: 'ldap', connectionProperties: [{ name: 'host' }] },
        { name: 'metrics', protocol: 'statsd', connectionProperties: [{ name: 'host' }, { name: 'port', type: 'int' }] },
      ],
    }),
  );
  await catalog.putAppliance(
    new Appliance({
      name: 'db',
      creator: 'example',
      type: 'db',
      inputs: [{ name: 'redis', port: 6379, protocols: ['redis'] }],
      properties: [{ name: 'maxmemory', value: '64mb' }],
      fileSets: [
        { name: 'data', root: '/var/lib/db', stateful: true },
        { name: 'uploads', root: '/srv/uploads', scope: 'shared', sharedType: 'NFS', captured: false },
      ],
    }),
  );
  const editing = new EditingService(catalog, layout);
  await editing.createAssembly('shop');
  await editing.addToAssembly('shop', 'minihttpd-reference', { as: 'web' });
  await editing.addToAssembly('shop', 'proxy');
  await editing.addToAssembly('shop', 'db');
  await editing.connectEndpoints('shop', 'proxy/backend', 'web/http');
  await editing.connectEndpoints('shop', 'proxy/cache', 'db/redis');
  await editing.createExternalResource('shop', 'proxy/ldap', 'corp-ldap', { type: 'ExternalLDAP' });
  await editing.setProperty({ assembly: 'shop', path: 'corp-ldap/input/ldap' }, 'host', 'ldap.corp.example');
  await editing.createExternalResource('shop', 'proxy/metrics', 'metrics-sink');
  await editing.setProperty({ assembly: 'shop', path: 'metrics-sink/input/metrics' }, 'host', '10.20.30.40');
  await editing.setProperty({ assembly: 'shop', path: 'metrics-sink/input/metrics' }, 'port', '8125');
  await editing.addVnet('shop', 'front', '10.1.0.0/24');

  const assembly = (await catalog.getAssembly('shop')) as Assembly;
  let plan = withPlanValues(createDeploymentPlan(assembly), { web: { port: String(opts.webPort ?? 18081), 'server.name': 'web-k8s', 'admin.password': WEB_PASSWORD } });
  plan = editNode(plan, 'proxy', (n) => ({ ...n, instances: { ...(n.instances as NonNullable<PlanNode['instances']>), count: '3' }, synthetic: [{ name: 'antiAffinity', value: 'true' }] }));
  plan = editNode(plan, 'db', (n) => ({ ...n, mountTargets: [{ fileSet: 'uploads', target: 'nfs.corp.example:/exports/shop', captured: false }] }));
  const planFile = join(tmp, 'plan.xml');
  const box = await SecretBox.load(catalog.keyFile, true);
  if (!box) throw new Error('no catalog key');
  await writeFile(planFile, formatPlan(plan, { file: planFile, secrets: { encrypt: (c) => box.encrypt(c), decrypt: (s, w) => box.decrypt(s, w), isEncrypted } }), { mode: 0o600 });
  return { instance, env, planFile, catalog };
}
