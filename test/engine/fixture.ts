/**
 * The example appliance as member `web` of assembly `site` (test/deploy/example-fixture.ts),
 * allowed 1..3 instances, with a plan of 2 on one target: what the engine tests deploy.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { Catalog } from '../../catalog/index.js';
import { Appliance, Assembly } from '../../core/metadata/index.js';
import { exampleSite, type ExampleSite } from '../deploy/example-fixture.js';

export async function scalableSite(tmp: string, target: string, port: number, serverName: string): Promise<ExampleSite> {
  const site = await exampleSite(tmp, '/opt/minihttpd', { web: { port, serverName, target } });
  const catalog = site.app.get(Catalog);
  const assembly = (await catalog.getAssembly('site')) as Assembly;
  (assembly.getMember('web') as Appliance).setScalability({ min: 1, target: 2, max: 3, absoluteMax: 3 });
  await catalog.putAssembly(assembly);
  const plan = await readFile(site.planFile, 'utf8');
  expect(plan).toMatch(/<instances count="1"/);
  await writeFile(site.planFile, plan.replace(/<instances count="1"[^/]*\/>/, '<instances count="2" min="1" max="3"/>'));
  return site;
}
