/**
 * validateDeploymentPlan's template check (pure: the templates' texts are handed in as the
 * service reads them from the catalog): every variable a plan leaves without a value, every
 * late binding of an output that is not connected, all at once, with the plan key to set.
 */
import { describe, expect, it } from 'vitest';
import { createDeploymentPlan, validateDeploymentPlan, type DeploymentPlan } from '../../core/deployment-plan/index.js';
import { Appliance, Assembly, AtomicAssembly, ExternalResource } from '../../core/metadata/index.js';
import type { TemplateSource } from '../../core/templates/index.js';
import { withPlanValues } from '../rehydration/bundle-fixture.js';

function web(name = 'web'): Appliance {
  return new Appliance({
    name,
    creator: 'example',
    properties: [
      { name: 'port', type: 'int', category: 'user', value: '8080' },
      { name: 'server.name', type: 'string', category: 'user' },
      { name: 'admin.password', type: 'password', category: 'user' },
      { name: 'build.id', type: 'string', category: 'system' },
    ],
    inputs: [{ name: 'http', port: 8080, protocols: ['http'] }],
    outputs: [{ name: 'db', protocol: 'sql' }],
    contentResources: [{ name: 'site.conf', path: 'site.conf', template: true }],
  });
}

function db(): Appliance {
  return new Appliance({ name: 'db', creator: 'example', inputs: [{ name: 'sql', port: 5432, protocols: ['sql'] }] });
}

const TEMPLATE = [
  'listen {{port}} {{[server.name]}}',
  'password={{[admin.password]}} build={{[build.id]}}',
  '# {{[ovab.instance.hostName]}} {{[ovab.instance.index]}}',
  'db={{[ovab.output.db.address]}}:{{[ovab.output.db.port]}} {{[server.name]}}',
].join('\n');

function problemsOf(assembly: Assembly, plan: DeploymentPlan, templates: Record<string, readonly TemplateSource[]>) {
  return validateDeploymentPlan(assembly, plan, { templates: new Map(Object.entries(templates)) }).map((p) => ({ code: p.code, where: p.where, message: p.message, hint: p.hint }));
}

describe('validateDeploymentPlan: templates', () => {
  it('lists every variable without a value and every unbound output at once, each with what to set', () => {
    const shop = new Assembly({ name: 'shop' });
    shop.addMember(web());
    const problems = problemsOf(shop, createDeploymentPlan(shop), { web: [{ name: 'site.conf', text: TEMPLATE }] });
    const w = 'assembly "shop" > appliance "web"';
    expect(problems).toEqual([
      {
        code: 'PLAN_TEMPLATE_UNRESOLVED',
        where: `${w} > property "server.name"`,
        message: 'template "site.conf" lines 1, 4 uses "server.name", which has no value',
        hint: 'give it a value on <property name="server.name" value="..."/> of appliance "web" in the plan (or abctl setProperty)',
      },
      {
        code: 'PLAN_TEMPLATE_UNRESOLVED',
        where: `${w} > property "admin.password"`,
        message: 'template "site.conf" line 2 uses "admin.password", which has no value',
        hint: 'set it with abctl setPlanPassword --path web --property admin.password',
      },
      {
        code: 'PLAN_TEMPLATE_UNRESOLVED',
        where: `${w} > property "build.id"`,
        message: 'template "site.conf" line 2 uses "build.id", which has no value',
        hint: 'it is a system property the plugin should have set: introspect again',
      },
      {
        code: 'PLAN_TEMPLATE_UNRESOLVED',
        where: `${w} > output "db"`,
        message: 'template "site.conf" uses "ovab.output.db.address" (line 4), "ovab.output.db.port" (line 4), but output "db" is not connected, so the deployment has nothing to bind them to',
        hint: 'connect it: abctl connectEndpoints --assembly shop --from web/db --to <member>/<input>',
      },
    ]);
  });

  it('values from the plan and a connected output resolve them; instance variables always do', () => {
    const shop = new Assembly({ name: 'shop' });
    shop.addMember(web());
    shop.addMember(db());
    shop.connect('web/db', 'db/sql', 'user');
    const plan = withPlanValues(createDeploymentPlan(shop), { web: { 'server.name': 'www', 'admin.password': 's3cret' } });
    const text = TEMPLATE.replace(' build={{[build.id]}}', '');
    expect(problemsOf(shop, plan, { web: [{ name: 'site.conf', text }] })).toEqual([]);
    // Without the templates (an old catalog: no content resource is marked) nothing is checked.
    expect(validateDeploymentPlan(shop, createDeploymentPlan(shop)).filter((p) => p.code === 'PLAN_TEMPLATE_UNRESOLVED')).toEqual([]);
  });

  it('a required property without a value is reported once, as required, naming the templates that use it', () => {
    const shop = new Assembly({ name: 'shop' });
    const a = web();
    a.properties.add({ name: 'license.key', category: 'user', required: true }, 'plugin');
    shop.addMember(a);
    const plan = withPlanValues(createDeploymentPlan(shop), { web: { 'server.name': 'www', 'admin.password': 'pw' } });
    const problems = problemsOf(shop, plan, { web: [{ name: 'site.conf', text: 'key={{[license.key]}}\n' }, { name: 'other.conf', text: '\n\nk={{[license.key]}}' }] });
    expect(problems).toEqual([
      {
        code: 'PLAN_REQUIRED_MISSING',
        where: 'assembly "shop" > appliance "web" > property "license.key"',
        message: 'required property "license.key" has no value (template "site.conf" line 1; template "other.conf" line 3 uses it)',
        hint: 'give it a value in the plan (or with abctl setProperty)',
      },
    ]);
  });

  it('an external resource has a host name but no deployed address', () => {
    const shop = new Assembly({ name: 'shop' });
    shop.addMember(web());
    shop.addMember(new ExternalResource({ name: 'pg', properties: [{ name: 'host', value: 'pg.example' }], inputs: [{ name: 'sql', port: 5432, protocols: ['sql'] }] }));
    shop.connect('web/db', 'pg/sql', 'user');
    const plan = withPlanValues(createDeploymentPlan(shop), { web: { 'server.name': 'www' } });
    const problems = problemsOf(shop, plan, { web: [{ name: 'site.conf', text: 'db={{[ovab.output.db.address]}} {{[ovab.output.db.hostName]}}' }] });
    expect(problems).toEqual([
      expect.objectContaining({
        where: 'assembly "shop" > appliance "web"',
        message: 'template "site.conf" line 1 uses "ovab.output.db.address", but output "db" leads to external resource "pg", which has no deployed address',
        hint: 'use ovab.output.db.hostName in the template',
      }),
    ]);
  });

  it('finds appliances inside sub-assemblies and atomic assemblies by their object path', () => {
    const tier = new Assembly({ name: 'tier' });
    tier.addMember(web('front'));
    const atomic = new AtomicAssembly({ name: 'pair', creator: 'example' });
    atomic.addAppliance({ name: 'one', creator: 'example', properties: [{ name: 'x', category: 'user' }], contentResources: [{ name: 'x.conf', path: 'x.conf', template: true }] }, 'plugin');
    const shop = new Assembly({ name: 'shop' });
    shop.addMember(tier);
    shop.addMember(atomic);
    const problems = problemsOf(shop, createDeploymentPlan(shop), {
      'tier/front': [{ name: 'site.conf', text: '{{port}} {{[server.name]}}' }],
      'pair/one': [{ name: 'x.conf', text: 'x={{x}}' }],
    });
    expect(problems.map((p) => [p.where, p.hint])).toEqual([
      ['assembly "shop" > assembly "tier" > appliance "front" > property "server.name"', 'give it a value on <property name="server.name" value="..."/> of appliance "tier/front" in the plan (or abctl setProperty)'],
      ['assembly "shop" > atomic assembly "pair" > appliance "one" > property "x"', 'give it a value on <property name="x" value="..."/> of appliance "pair/one" in the plan (or abctl setProperty)'],
    ]);
  });

  it('a template that does not parse, or names a property the appliance lost, is reported too', () => {
    const shop = new Assembly({ name: 'shop' });
    shop.addMember(web());
    const plan = withPlanValues(createDeploymentPlan(shop), { web: { 'server.name': 'www' } });
    const problems = problemsOf(shop, plan, {
      web: [
        { name: 'site.conf', text: 'listen {{port}\n' },
        { name: 'other.conf', text: 'gone={{gone}}' },
      ],
    });
    expect(problems.map((p) => p.code)).toEqual(['TEMPLATE_SYNTAX', 'PLAN_TEMPLATE_UNRESOLVED']);
    expect(problems[0]!.message).toMatch(/^template "site.conf": template syntax error: .*\(line 1\)$/s);
    expect(problems[1]!.hint).toBe('the appliance has no property "gone" (its template and metadata disagree): introspect it again');
  });
});
