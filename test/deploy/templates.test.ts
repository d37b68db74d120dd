/**
 * deploy validates the plan first: a template variable the plan leaves without a value stops
 * it before any host is touched (no bundle written, nothing under the target root, no record).
 * Real catalog, real deployment service and local target; the test bundle writer records any write.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Catalog } from '../../catalog/index.js';
import { formatPlan } from '../../core/deployment-plan/index.js';
import { UserError } from '../../core/errors.js';
import { Appliance, type Assembly } from '../../core/metadata/index.js';
import { DeploymentPlanService } from '../../services/editing/index.js';
import { instanceLayout } from '../../services/instance.js';
import { tempDir } from '../helpers/plugins.js';
import { withPlanValues } from '../rehydration/bundle-fixture.js';
import { makeFixture, planWithTargets, siteAssembly, type Fixture } from './helpers.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let fx: Fixture;

beforeEach(async () => {
  tmp = await tempDir('abctl-deploy-templates-');
  const site = siteAssembly(18001, 18002);
  const app = site.getMember('app') as Appliance;
  app.properties.add({ name: 'server.name', category: 'user' }, 'plugin');
  app.addContentResource({ name: 'app.conf', path: 'app.conf', template: true }, 'plugin');
  const proxy = site.getMember('proxy') as Appliance;
  proxy.addContentResource({ name: 'proxy.conf', path: 'proxy.conf', template: true }, 'plugin');
  fx = await makeFixture(tmp.path, site, planWithTargets(site, { app: ['local', 'local'], proxy: ['local'] }));
  const catalog = new Catalog(instanceLayout(fx.instance));
  await catalog.writeContent('app', 'app.conf', 'name={{[server.name]}}\nindex={{[ovab.instance.index]}}\n');
  // The proxy's output is connected to app/http: its late bindings resolve.
  await catalog.writeContent('proxy', 'proxy.conf', 'backend={{[ovab.output.backend.addresses]}}:{{[ovab.output.backend.port]}}\n');
});
afterEach(() => tmp.cleanup());

describe('deploy and templates', () => {
  it('refuses a plan that leaves a template variable without a value, before touching any host', async () => {
    const targetRoot = join(tmp.path, 'hosts');
    const err = await fx.service.deploy({ assembly: 'site', planFile: fx.planFile, targetRoot }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('DEPLOY_PLAN_INVALID');
    const text = (err as UserError).describe();
    expect(text).toContain('assembly "site" > appliance "app" > property "server.name": template "app.conf" line 1 uses "server.name", which has no value');
    expect(text).toContain('<property name="server.name" value="..."/> of appliance "app"');
    expect(text).not.toContain('proxy.conf');
    expect(fx.bundles.written).toEqual([]);
    expect(existsSync(targetRoot)).toBe(false);
    expect(existsSync(join(fx.instance, 'deployments', 'site', 'deployment.json'))).toBe(false);
  });

  it('the same plan with the value given passes validation', async () => {
    const site = (await new Catalog(instanceLayout(fx.instance)).getAssembly('site')) as Assembly;
    const plan = withPlanValues(planWithTargets(site, { app: ['local', 'local'], proxy: ['local'] }), { app: { 'server.name': 'www' } });
    await writeFile(fx.planFile, formatPlan(plan, { file: fx.planFile }));
    const v = await fx.container.get(DeploymentPlanService).validate('site', fx.planFile);
    expect(v.problems).toEqual([]);
  });
});
