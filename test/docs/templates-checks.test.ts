/**
 * The "What is checked, and when" example of docs/templates.md, run for real: a catalog with
 * appliance `web` holding the page's template, assembly `shop`, the plan createDeploymentPlan
 * writes, and DeploymentPlanService.validate (what `abctl validateDeploymentPlan` prints, line
 * by line). The template is read from the page and the output compared with the page.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Container } from 'inversify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../catalog/index.js';
import { describePlanProblem } from '../../core/deployment-plan/index.js';
import { Appliance } from '../../core/metadata/index.js';
import { catalogModule } from '../../services/catalog/module.js';
import { DeploymentPlanService, EditingService, editingModule } from '../../services/editing/index.js';
import { InstanceLayout, instanceLayout } from '../../services/instance.js';
import { pluginsModule } from '../../services/plugins/module.js';
import { tempDir } from '../helpers/plugins.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const doc = readFileSync(join(root, 'docs', 'templates.md'), 'utf8');

/** The fenced block right after `<!-- checked-example: NAME -->`. */
function block(name: string): string {
  const m = new RegExp(`<!-- checked-example: ${name} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)^\`\`\`$`, 'm').exec(doc);
  if (!m) throw new Error(`docs/templates.md has no checked-example "${name}"`);
  return m[1]!;
}

let tmp: { path: string; cleanup: () => Promise<void> };
let plans: DeploymentPlanService;
let planFile: string;

beforeAll(async () => {
  tmp = await tempDir('abctl-templates-doc-');
  const container = new Container();
  container.bind<InstanceLayout>(InstanceLayout).toConstantValue(instanceLayout(join(tmp.path, 'instance')));
  container.load(pluginsModule, catalogModule, editingModule);
  const catalog = container.get(Catalog);
  const web = new Appliance({
    name: 'web',
    creator: 'example',
    properties: [
      { name: 'port', type: 'int', category: 'user', value: '8080' },
      { name: 'server.name', type: 'string', category: 'user' },
    ],
    outputs: [{ name: 'db', protocol: 'sql' }],
    contentResources: [{ name: 'site.conf', path: 'site.conf', template: true }],
  });
  await catalog.commit({ put: [web], content: [{ owner: 'web', resource: 'site.conf', data: block('template') }] });
  const editing = container.get(EditingService);
  await editing.createAssembly('shop');
  await editing.addToAssembly('shop', 'web');
  plans = container.get(DeploymentPlanService);
  planFile = join(tmp.path, 'plan.xml');
  await plans.create('shop', planFile);
});
afterAll(() => tmp.cleanup());

describe('docs/templates.md: what is checked, and when', () => {
  it('validateDeploymentPlan reports exactly what the page shows', async () => {
    const { problems } = await plans.validate('shop', planFile);
    expect(problems.every((p) => p.code === 'PLAN_TEMPLATE_UNRESOLVED')).toBe(true);
    const printed = `${problems.map((p) => describePlanProblem(p, 'plan.xml')).join('\n')}\n`;
    expect(printed).toBe(block('problems'));
  });
});
