/**
 * A deployable instance directory for the deployment tests: appliances `app` (scalable 1..3,
 * two instances) and `proxy` (one), `proxy/backend` connected to `app/http`, in assembly
 * `site`; a plan whose hosts name targets; and a container with the real deployment service,
 * the real local and SSH targets, and the test bundle writer (test-agent.mjs as the agent).
 */
import 'reflect-metadata';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Container } from 'inversify';
import { Catalog } from '../../catalog/index.js';
import { catalogModule } from '../../services/catalog/module.js';
import { createDeploymentPlan, formatPlan, type DeploymentPlan, type PlanNode } from '../../core/deployment-plan/index.js';
import { Appliance, Assembly } from '../../core/metadata/index.js';
import { BundleWriter, DeploymentService, deployModule, localTargetModule, sshTargetModule } from '../../services/deploy/module.js';
import { editingModule } from '../../services/editing/module.js';
import { InstanceLayout, instanceLayout } from '../../services/instance.js';
import { TestBundleWriter } from './fixtures/test-bundles.mjs';

/** `portProperty`: app's port comes from its user property `port` (introspected as `appPort`). */
export function siteAssembly(appPort: number, proxyPort: number, opts: { appMax?: number; portProperty?: boolean } = {}): Assembly {
  const app = new Appliance({
    name: 'app',
    creator: 'example',
    scalability: { min: 1, target: 2, max: opts.appMax ?? 3, absoluteMax: 10 },
    ...(opts.portProperty ? { properties: [{ name: 'port', type: 'int', category: 'user', value: String(appPort) }] } : {}),
    inputs: [{ name: 'http', port: appPort, protocols: ['HTTP'], ...(opts.portProperty ? { portProperty: 'port' } : {}) }],
  });
  const proxy = new Appliance({
    name: 'proxy',
    creator: 'example',
    inputs: [{ name: 'http', port: proxyPort, protocols: ['HTTP'] }],
    outputs: [{ name: 'backend', protocol: 'HTTP' }],
  });
  const site = new Assembly({ name: 'site' });
  site.addMember(app);
  site.addMember(proxy);
  site.connect('proxy/backend', 'app/http', 'user');
  return site;
}

/** The plan with `targets[appliance]` written as host lines 1..n (spares beyond the count allowed). */
export function planWithTargets(assembly: Assembly, targets: Record<string, readonly string[]>, counts: Record<string, number> = {}): DeploymentPlan {
  const plan = createDeploymentPlan(assembly);
  const withHosts = (n: PlanNode): PlanNode => {
    const t = targets[n.name];
    const count = counts[n.name];
    return {
      ...n,
      ...(n.kind === 'appliance' && count !== undefined && n.instances ? { instances: { ...n.instances, count: String(count) } } : {}),
      ...(n.kind === 'appliance' && t ? { hosts: t.map((target, k) => ({ instance: String(k + 1), hostname: '', address: '', target })) } : {}),
      children: n.children.map(withHosts),
    };
  };
  return { ...plan, root: withHosts(plan.root) };
}

export interface Fixture {
  readonly instance: string;
  readonly planFile: string;
  readonly service: DeploymentService;
  readonly bundles: TestBundleWriter;
  readonly container: Container;
}

export async function makeFixture(dir: string, assembly: Assembly, plan: DeploymentPlan): Promise<Fixture> {
  const instance = join(dir, 'instance');
  const catalog = new Catalog(instanceLayout(instance));
  await catalog.commit({ put: [...assembly.members.map((m) => m as Appliance), assembly] });
  const planFile = join(dir, 'plan.xml');
  await writeFile(planFile, formatPlan(plan, { file: planFile }));
  const container = new Container();
  container.bind<InstanceLayout>(InstanceLayout).toConstantValue(instanceLayout(instance));
  container.load(catalogModule, editingModule, deployModule, localTargetModule, sshTargetModule);
  const bundles = new TestBundleWriter();
  container.rebind<BundleWriter>(BundleWriter).toConstantValue(bundles);
  return { instance, planFile, service: container.get(DeploymentService), bundles, container };
}

/** GET http://host:port/ as JSON (the test agent's server answers with its config). */
export async function httpJson(host: string, port: number): Promise<{ server: string; port: number; peers: string[] }> {
  const res = await fetch(`http://${host}:${port}/`, { signal: AbortSignal.timeout(5000) });
  return (await res.json()) as { server: string; port: number; peers: string[] };
}
