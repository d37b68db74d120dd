/**
 * A real catalog for the bundle, agent and chain tests: examples/minihttpd copied to a temp
 * reference host, introspected by the shipped example plugin through the built CLI, its file
 * set root moved to a temp target (so rehydration never touches /), put into an assembly
 * `site` as `web`, and a deployment plan with a changed port and server name.
 */
import { join } from 'node:path';
import { expect } from 'vitest';
import { Catalog } from '../../catalog/index.js';
import { createDeploymentPlan, type DeploymentPlan, type PlanNode } from '../../core/deployment-plan/index.js';
import type { Assembly } from '../../core/metadata/index.js';
import type { LateBindings } from '../../core/lifecycle-contract.js';
import type { PluginInventory } from '../../core/plugin-model.js';
import { EditingService } from '../../services/editing/editing-service.js';
import { instanceLayout } from '../../services/instance.js';
import { PluginInventoryService } from '../../services/plugins/plugin-inventory-service.js';
import { abctl, cliEnv, copyMinihttpd, examplePlugins } from '../introspection/helpers.js';

export interface ExampleDeployment {
  readonly instance: string;
  readonly catalog: Catalog;
  readonly assembly: Assembly;
  readonly plan: DeploymentPlan;
  readonly inventory: PluginInventory;
  /** Where the file set lands on the "instance" (the reference home in the metadata is moved here). */
  readonly targetHome: string;
  readonly bindings: LateBindings;
}

/** `overrides`: member path -> property -> value, laid into the plan as a user would edit it. */
export function withPlanValues(plan: DeploymentPlan, overrides: Readonly<Record<string, Readonly<Record<string, string>>>>): DeploymentPlan {
  const walk = (node: PlanNode, path: string): PlanNode => {
    const values = overrides[path] ?? {};
    return {
      ...node,
      properties: node.properties.map((p) => (p.name in values ? { ...p, value: values[p.name] } : p)),
      children: node.children.map((c) => walk(c, path === '' ? c.name : `${path}/${c.name}`)),
    };
  };
  return { ...plan, root: { ...walk(plan.root, ''), name: plan.root.name } };
}

export async function exampleDeployment(tmp: string, opts: { port: number; serverName: string; bundledPlugins?: string }): Promise<ExampleDeployment> {
  const instance = join(tmp, 'instance');
  const plugins = opts.bundledPlugins ?? examplePlugins;
  const ref = await copyMinihttpd(join(tmp, 'reference', 'minihttpd'));
  const r = abctl(['introspectexample', '--home', ref], cliEnv(instance, plugins));
  expect(r.err).toBe('');
  expect(r.code).toBe(0);

  const layout = instanceLayout(instance, plugins);
  const catalog = new Catalog(layout);
  const targetHome = join(tmp, 'target', 'opt', 'minihttpd');
  const appliance = await catalog.getAppliance('minihttpd-reference');
  appliance.updateFileSet('home', { root: targetHome }, 'framework');
  appliance.properties.set('product.home', targetHome, 'framework');
  await catalog.putAppliance(appliance);

  const editing = new EditingService(catalog, layout);
  await editing.createAssembly('site');
  await editing.addToAssembly('site', 'minihttpd-reference', { as: 'web' });
  const assembly = (await catalog.getAssembly('site')) as Assembly;
  const plan = withPlanValues(createDeploymentPlan(assembly), { web: { port: String(opts.port), 'server.name': opts.serverName, 'admin.password': 's3cret-from-plan' } });
  const inventory = await new PluginInventoryService(layout).get();
  const bindings: LateBindings = { instance: { hostName: 'web-1.test', addresses: ['127.0.0.1'], index: 1 }, outputs: {} };
  return { instance, catalog, assembly, plan, inventory, targetHome, bindings };
}
