/**
 * The built-in example, really deployed: examples/minihttpd introspected by the shipped example
 * plugin through the built CLI, its file set root moved to `targetHome` (a directory each
 * test host has privately, or a temp dir for `local`), added to assembly `site` once per
 * member name, and a plan giving each member its port, server name and target.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { Catalog } from '../../catalog/index.js';
import { createDeploymentPlan, formatPlan } from '../../core/deployment-plan/index.js';
import type { Appliance, Assembly } from '../../core/metadata/index.js';
import { Application } from '../../services/app.js';
import { EditingService } from '../../services/editing/editing-service.js';
import { instanceLayout } from '../../services/instance.js';
import { withPlanValues } from '../rehydration/bundle-fixture.js';
import { abctl, cliEnv, copyMinihttpd, examplePlugins, freePort } from '../introspection/helpers.js';

export interface MemberSpec {
  readonly port: number;
  readonly serverName: string;
  readonly target: string;
  /** Targets of host lines 2, 3, ... beyond the planned count: where scaling up puts new instances. */
  readonly spares?: readonly string[];
}

export interface ExampleSite {
  readonly instance: string;
  readonly planFile: string;
  readonly app: Application;
  readonly env: NodeJS.ProcessEnv;
}

export interface SiteOptions {
  /** The bundled plugins directory (default: the shipped plugins). */
  readonly plugins?: string;
  /** Changes to the introspected appliance before it is added to the assembly. */
  readonly edit?: (appliance: Appliance) => void;
  /** Plan mount targets of every member: file set -> target. */
  readonly mountTargets?: Readonly<Record<string, string>>;
}

export async function exampleSite(tmp: string, targetHome: string, members: Readonly<Record<string, MemberSpec>>, opts: SiteOptions = {}): Promise<ExampleSite> {
  const plugins = opts.plugins ?? examplePlugins;
  const instance = join(tmp, 'instance');
  const env = cliEnv(instance, plugins);
  const ref = await copyMinihttpd(join(tmp, 'reference', 'minihttpd'));
  const r = abctl(['introspectexample', '--home', ref], env);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);

  const layout = instanceLayout(instance, plugins);
  const catalog = new Catalog(layout);
  const appliance = await catalog.getAppliance('minihttpd-reference');
  appliance.updateFileSet('home', { root: targetHome }, 'framework');
  appliance.properties.set('product.home', targetHome, 'framework');
  opts.edit?.(appliance);
  await catalog.putAppliance(appliance);
  const editing = new EditingService(catalog, layout);
  await editing.createAssembly('site');
  for (const name of Object.keys(members)) await editing.addToAssembly('site', 'minihttpd-reference', { as: name });

  const planFile = join(tmp, 'plan.xml');
  await writeSitePlan(catalog, members, planFile, opts);
  const app = Application.create({ instanceRoot: instance, bundledPluginsDir: plugins });
  return { instance, planFile, app, env };
}

/** One member `web` on this machine (files under `<tmp>/target`), introspected with a private copy of the shipped plugins to break or change. */
export interface LocalSite {
  readonly site: ExampleSite;
  readonly port: number;
  /** The plugins copy (the instance's bundled plugins). */
  readonly plugins: string;
  /** The deploy's --target-root. */
  readonly root: string;
}

export async function localSiteWithPluginCopy(tmp: string, serverName: string): Promise<LocalSite> {
  const port = await freePort();
  const plugins = join(tmp, 'plugins');
  await cp(examplePlugins, plugins, { recursive: true });
  const site = await exampleSite(tmp, join(tmp, 'target', 'opt', 'minihttpd'), { web: { port, serverName, target: 'local' } }, { plugins });
  return { site, port, plugins, root: join(tmp, 'target', 'var', 'lib', 'abctl') };
}

/** A plan for assembly `site` of `catalog` giving each member its port, server name and target (the password encrypted with the instance key, as abctl writes it). */
export async function writeSitePlan(catalog: Catalog, members: Readonly<Record<string, MemberSpec>>, planFile: string, opts: Pick<SiteOptions, 'mountTargets'> = {}): Promise<void> {
  const assembly = (await catalog.getAssembly('site')) as Assembly;
  const values: Record<string, Record<string, string>> = {};
  for (const [name, m] of Object.entries(members)) values[name] = { port: String(m.port), 'server.name': m.serverName, 'bind.address': '0.0.0.0', 'admin.password': 's3cret-from-plan' };
  const planned = withPlanValues(createDeploymentPlan(assembly), values);
  const plan = {
    ...planned,
    root: {
      ...planned.root,
      children: planned.root.children.map((c) =>
        members[c.name]
          ? {
              ...c,
              hosts: [members[c.name]?.target as string, ...(members[c.name]?.spares ?? [])].map((target, k) => ({ instance: String(k + 1), hostname: '', address: '', target })),
              mountTargets: c.mountTargets.map((m) => ({ ...m, target: opts.mountTargets?.[m.fileSet] ?? m.target })),
            }
          : c,
      ),
    },
  };
  // The plan holds a password, so it is written encrypted with the instance key, as abctl does.
  const { SecretBox, isEncrypted } = await import('../../catalog/secrets.js');
  const box = await SecretBox.load(catalog.keyFile, true);
  if (!box) throw new Error('no catalog key');
  await writeFile(planFile, formatPlan(plan, { file: planFile, secrets: { encrypt: (c) => box.encrypt(c), decrypt: (s, w) => box.decrypt(s, w), isEncrypted } }), { mode: 0o600 });
}

/**
 * A copy of the shipped plugins whose example rehydrate first sleeps, ignoring every signal,
 * while the file `marker` exists on the machine it runs on (a slow plugin hook to interrupt).
 * It writes `${marker}.sleeping` when it starts to.
 */
export async function sleepyPlugins(dir: string, marker: string): Promise<string> {
  await cp(examplePlugins, dir, { recursive: true });
  const file = join(dir, 'example', 'index.js');
  const text = await readFile(file, 'utf8');
  const hook = '  async rehydrate(ctx) {\n';
  if (!text.includes(hook)) throw new Error(`the example plugin has no "${hook.trim()}" to patch`);
  const sleep = `    if ((await import('node:fs')).existsSync(${JSON.stringify(marker)})) { (await import('node:fs')).writeFileSync(${JSON.stringify(`${marker}.sleeping`)}, String(process.pid)); await new Promise((r) => setTimeout(r, 120_000)); }\n`;
  await writeFile(file, text.replace(hook, hook + sleep));
  return dir;
}

/**
 * Patches the examplelogs extension's entry module (`file`) so that its start, which runs after
 * the example's has started the server, writes `${hold}.waiting` and then waits while `hold`
 * exists: a start chain caught half way, with the product already answering. `hold` is a path on
 * the machine the extension runs on (inside a container: a path under a mounted directory).
 */
export async function holdingStart(file: string, hold: string): Promise<void> {
  const text = await readFile(file, 'utf8');
  const hook = '  async rehydrate(ctx) {\n';
  if (!text.includes(hook)) throw new Error(`the examplelogs extension has no "${hook.trim()}" to put a start before`);
  const start = `  async start() {\n    const fs = await import('node:fs');\n    fs.writeFileSync(${JSON.stringify(`${hold}.waiting`)}, '');\n    while (fs.existsSync(${JSON.stringify(hold)})) await new Promise((r) => setTimeout(r, 50));\n  },\n`;
  await writeFile(file, text.replace(hook, start + hook));
}

/** GET /health of a minihttpd. */
export async function health(host: string, port: number): Promise<string> {
  const res = await fetch(`http://${host}:${port}/health`, { signal: AbortSignal.timeout(5000) });
  return (await res.text()).trim();
}

/** Every file under `dir` that holds `text` (a password that must rest nowhere in clear). */
export function filesHolding(dir: string, text: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath, e.name);
    if (e.isFile() && readFileSync(p).includes(text)) out.push(p);
  }
  return out;
}
