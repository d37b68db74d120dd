import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SDK_VERSION } from '../core/plugin-contract.js';
import type { ActivationOutcome, PluginActivation, PluginInventory, PluginProblem } from '../core/plugin-model.js';
import { withActivationOutcome } from '../core/plugin-tree.js';
import { ServiceIds } from '../core/service-ids.js';
import { discoverPlugins } from '../services/plugins/discovery.js';
import { PluginActivationService } from '../services/registry/activation.js';
import { ServiceRegistry } from '../services/registry/service-registry.js';

// Plugin modules report what they did here; they are plain JS and cannot import test code.
declare global {
  var __activationEvents: string[] | undefined;
}
const events = (): string[] => globalThis.__activationEvents ?? [];

let tmpRoot: string;
let root: string;
let counter = 0;

beforeAll(async () => {
  tmpRoot = await mkdtemp(path.join(tmpdir(), 'abctl-activation-'));
  // Vitest runs files outside node_modules through its own transformer; under node_modules it
  // leaves them to Node's loader, which is what loads plugins in production.
  root = path.join(tmpRoot, 'node_modules', 'plugins');
  await mkdir(root, { recursive: true });
  // Plain `.js` plugin files are ES modules because of this, as in a real plugins/ directory.
  await writeFile(path.join(root, 'package.json'), '{ "type": "module" }\n');
});
afterAll(async () => {
  await rm(tmpRoot, { recursive: true, force: true });
});
beforeEach(() => {
  globalThis.__activationEvents = [];
});

/** A fresh directory of plugins; each test gets its own, so a module URL is never reused from the import cache. */
async function pluginsDir(): Promise<string> {
  const dir = path.join(root, `t${counter++}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** Writes a real plugin directory: `plugin.config` and (unless `source` is undefined) its entry module. */
async function plugin(
  base: string,
  name: string,
  source: string | undefined,
  opts: { parentName?: string; main?: string } = {},
): Promise<string> {
  const dir = path.join(base, name);
  const main = opts.main ?? 'index.js';
  await mkdir(dir, { recursive: true });
  const config = [`name=${name}`, 'version=1.2', `main=${main}`, ...(opts.parentName ? [`parentName=${opts.parentName}`] : [])];
  await writeFile(path.join(dir, 'plugin.config'), `${config.join('\n')}\n`);
  if (source !== undefined) {
    await mkdir(path.dirname(path.join(dir, main)), { recursive: true });
    await writeFile(path.join(dir, main), source);
  }
  return dir;
}

/** The inventory discovery builds from `base`: the tree activation relies on. */
function discover(base: string, disabled: string[] = []): Promise<PluginInventory> {
  return discoverPlugins([{ path: base, source: 'installed' }], { disabled: new Set(disabled), sdkVersion: SDK_VERSION });
}

/** Names by activation status, in the order they settled. */
function withStatus(outcome: ActivationOutcome, status: PluginActivation['status']): string[] {
  return [...outcome.plugins].filter(([, a]) => a.status === status).map(([name]) => name);
}

function problemsOf(outcome: ActivationOutcome, name: string): readonly PluginProblem[] {
  const a = outcome.plugins.get(name);
  return a === undefined || a.status === 'active' ? [] : a.problems;
}

/** An activator object that registers an IntrospectorPlugin named after its plugin. */
const simplePlugin = `
export default {
  start(context) {
    globalThis.__activationEvents.push(context.plugin.name + ':start');
    this.reg = context.registerService(context.ids.IntrospectorPlugin, { name: context.plugin.name });
  },
  stop(context) {
    globalThis.__activationEvents.push(context.plugin.name + ':stop');
    this.reg.unregister();
  },
};
`;

function setup(): { registry: ServiceRegistry; activation: PluginActivationService; logs: string[] } {
  const registry = new ServiceRegistry();
  return { registry, activation: new PluginActivationService(registry), logs: [] };
}

const names = (registry: ServiceRegistry): string[] =>
  registry
    .createCollector()
    .getServices(ServiceIds.IntrospectorPlugin)
    .map((p) => p.name)
    .sort();

describe('PluginActivationService', () => {
  it('starts an activator object with a context describing its plugin', async () => {
    const { registry, activation, logs } = setup();
    const base = await pluginsDir();
    const dir = await plugin(
      base,
      'alpha',
      `
export const activator = {
  start(context) {
    context.log.info('starting ' + context.plugin.version + ' parent=' + context.plugin.parentName);
    context.log.debug('hidden unless debug');
    const { registerService } = context; // destructured: must still work
    registerService('IntrospectorPlugin', { name: 'alpha', dir: context.plugin.directory }, { ranking: 3 });
    globalThis.__activationEvents.push(typeof context.createCollector().getServicesWithOwner);
    globalThis.__activationEvents.push(Object.keys(context.ids).join(','));
  },
};
export const NOT_AN_ACTIVATOR = 42;
export function helper() {}
`,
    );
    const inv = await discover(base);
    const outcome = await activation.activate(inv, { logSink: (l) => logs.push(l) });
    expect([...outcome.plugins]).toEqual([['alpha', { status: 'active' }]]);
    const service = registry.createCollector().getSingletonService(ServiceIds.IntrospectorPlugin) as unknown as { name: string; dir: string };
    expect(service).toEqual({ name: 'alpha', dir });
    expect(registry.getServicesWithOwner(ServiceIds.IntrospectorPlugin).map((s) => s.owner)).toEqual(['alpha']);
    expect(logs).toEqual(['alpha: starting 1.2 parent=undefined']);
    expect(events()[0]).toBe('function');
    expect(events()[1]).toContain('IntrospectorPlugin');
    expect(activation.isActive('alpha')).toBe(true);
  });

  it('leaves the inventory it was given untouched; withActivationOutcome applies the outcome', async () => {
    const { activation } = setup();
    const base = await pluginsDir();
    await plugin(base, 'fine', simplePlugin);
    await plugin(base, 'fails', `export default { start() { throw new Error('no licence'); } };\n`);
    await plugin(base, 'below', simplePlugin, { parentName: 'fails' });
    const inv = await discover(base);
    const before = structuredClone([...inv.records.values()]);
    const outcome = await activation.activate(inv);
    expect([...inv.records.values()]).toEqual(before);

    const after = withActivationOutcome(inv, outcome);
    expect(after.records.get('fine')).toBe(inv.records.get('fine'));
    expect(after.records.get('fails')).toMatchObject({ state: 'broken', disabledBy: undefined, problems: [expect.objectContaining({ code: 'PLUGIN_START_FAILED' })] });
    expect(after.records.get('below')).toMatchObject({ state: 'broken', disabledBy: 'fails', problems: [expect.objectContaining({ code: 'PARENT_BROKEN' })] });
    expect(after.records.get('fails')?.children).toEqual(['below']);
  });

  it('constructs an activator class with new and no arguments', async () => {
    const { registry, activation } = setup();
    const base = await pluginsDir();
    await plugin(
      base,
      'beta',
      `
export default class BetaActivator {
  constructor(...args) { this.argCount = args.length; }
  start(context) {
    context.registerService('IntrospectorPlugin', { name: 'beta', argCount: this.argCount, isInstance: this instanceof BetaActivator });
  }
}
`,
    );
    await activation.activate(await discover(base));
    expect(registry.getSingletonService<unknown>('IntrospectorPlugin')).toEqual({ name: 'beta', argCount: 0, isInstance: true });
  });

  it('reports a throwing activator constructor as that plugin failing to start', async () => {
    const { activation } = setup();
    const base = await pluginsDir();
    await plugin(base, 'ctor', `export default class Boom { constructor() { throw new Error('no config'); } start() {} }\n`);
    const outcome = await activation.activate(await discover(base));
    expect(problemsOf(outcome, 'ctor')[0]?.message).toMatch(/activator "default" \(class Boom\): constructor failed: no config/);
  });

  it('starts every activator of a module, each once', async () => {
    const { registry, activation } = setup();
    const base = await pluginsDir();
    await plugin(
      base,
      'gamma',
      `
const shared = { start(c) { c.registerService('test.Thing', 'shared'); } };
export default shared;
export { shared as alsoShared };
export class Second { start(c) { c.registerService('test.Thing', 'class'); } }
export const third = { async start(c) { await new Promise((r) => setTimeout(r, 5)); c.registerService('test.Thing', 'async'); } };
`,
    );
    const outcome = await activation.activate(await discover(base));
    expect(withStatus(outcome, 'active')).toEqual(['gamma']);
    expect(registry.getServices<string>('test.Thing').sort()).toEqual(['async', 'class', 'shared']);
  });

  it('loads the module that plugin.config names as main', async () => {
    const { registry, activation } = setup();
    const base = await pluginsDir();
    await plugin(base, 'delta', simplePlugin, { main: 'lib/entry.js' });
    await activation.activate(await discover(base));
    expect(names(registry)).toEqual(['delta']);
  });

  it('marks a module with a syntax error broken, with file and line, and goes on', async () => {
    const { registry, activation } = setup();
    const base = await pluginsDir();
    const bad = await plugin(base, 'bad', `export default {\n  start() {\n    return 1 +;\n  },\n};\n`);
    await plugin(base, 'good', simplePlugin);
    const outcome = await activation.activate(await discover(base));
    expect(withStatus(outcome, 'active')).toEqual(['good']);
    expect(withStatus(outcome, 'broken')).toEqual(['bad']);
    const problems = problemsOf(outcome, 'bad');
    expect(problems).toHaveLength(1);
    const problem = problems[0];
    expect(problem?.code).toBe('PLUGIN_LOAD_FAILED');
    expect(problem?.where).toBe(path.join(bad, 'index.js'));
    expect(problem?.message).toContain('"bad"');
    expect(problem?.message).toContain(path.join(bad, 'index.js'));
    expect(problem?.message).toMatch(/SyntaxError at line 3: Unexpected token/);
    expect(names(registry)).toEqual(['good']);
  });

  it('marks a module that throws at import broken with the cause', async () => {
    const { registry, activation } = setup();
    const base = await pluginsDir();
    const dir = await plugin(base, 'thrower', `export default { start() {} };\nthrow new Error('cannot read product home');\n`);
    const outcome = await activation.activate(await discover(base));
    expect(withStatus(outcome, 'broken')).toEqual(['thrower']);
    const problem = problemsOf(outcome, 'thrower')[0];
    expect(problem?.code).toBe('PLUGIN_LOAD_FAILED');
    expect(problem?.message).toContain('cannot read product home');
    expect(problem?.message).toContain(path.join(dir, 'index.js'));
    expect(names(registry)).toEqual([]);
  });

  it('cuts an import that never settles (top-level await) at the time limit', async () => {
    const { activation } = setup();
    const base = await pluginsDir();
    await plugin(base, 'tla', `await new Promise(() => {});\nexport default { start() {} };\n`);
    const outcome = await activation.activate(await discover(base), { timeoutMs: 50 });
    expect(problemsOf(outcome, 'tla')[0]).toMatchObject({ code: 'PLUGIN_LOAD_FAILED', message: expect.stringMatching(/import\(\) of tla did not finish within 50 ms/) });
  });

  it('reports a missing entry module', async () => {
    const { activation } = setup();
    const base = await pluginsDir();
    const dir = await plugin(base, 'empty', undefined);
    const outcome = await activation.activate(await discover(base));
    const problem = problemsOf(outcome, 'empty')[0];
    expect(problem?.code).toBe('PLUGIN_LOAD_FAILED');
    expect(problem?.message).toContain(`${path.join(dir, 'index.js')} does not exist`);
    expect(problem?.hint).toContain('main');
  });

  it('reports a module that exports no activator', async () => {
    const { activation } = setup();
    const base = await pluginsDir();
    const nothing = await plugin(base, 'nothing', `// forgot everything\n`);
    const noStart = await plugin(base, 'nostart', `export default { begin() {} };\nexport const x = 1;\n`);
    const outcome = await activation.activate(await discover(base));
    expect(withStatus(outcome, 'broken').sort()).toEqual(['nostart', 'nothing']);
    for (const [name, dir] of [
      ['nothing', nothing],
      ['nostart', noStart],
    ] as const) {
      const problem = problemsOf(outcome, name)[0];
      expect(problem?.code).toBe('PLUGIN_NO_ACTIVATOR');
      expect(problem?.where).toBe(path.join(dir, 'index.js'));
      expect(problem?.message).toContain(`"${name}"`);
    }
  });

  it('undoes a plugin whose start throws: stops its started activators and drops its registrations', async () => {
    const { registry, activation } = setup();
    const base = await pluginsDir();
    const dir = await plugin(
      base,
      'failing',
      `
export default {
  start(c) { this.reg = c.registerService('IntrospectorPlugin', { name: 'failing' }); globalThis.__activationEvents.push('first:start'); },
  stop() { globalThis.__activationEvents.push('first:stop'); this.reg.unregister(); },
};
export const second = {
  start(c) { c.registerService('test.Leftover', 'x'); throw new Error('port 8080 already configured'); },
  stop() { globalThis.__activationEvents.push('second:stop'); },
};
`,
    );
    await plugin(base, 'other', simplePlugin);
    const outcome = await activation.activate(await discover(base));
    expect(withStatus(outcome, 'broken')).toEqual(['failing']);
    const problem = problemsOf(outcome, 'failing')[0];
    expect(problem?.code).toBe('PLUGIN_START_FAILED');
    expect(problem?.where).toBe(path.join(dir, 'index.js'));
    expect(problem?.message).toBe(`plugin "failing" (${path.join(dir, 'index.js')}): activator "second": start failed: port 8080 already configured`);
    // The one that started is stopped; the one that threw is not.
    expect(events()).toContain('first:stop');
    expect(events()).not.toContain('second:stop');
    expect(registry.getServices('test.Leftover')).toEqual([]);
    expect(names(registry)).toEqual(['other']);
    expect(activation.activePlugins()).toEqual(['other']);
  });

  it('marks a plugin whose start rejects asynchronously broken', async () => {
    const { registry, activation } = setup();
    const base = await pluginsDir();
    await plugin(
      base,
      'rejecting',
      `
export default class Rejecting {
  async start(c) {
    c.registerService('IntrospectorPlugin', { name: 'rejecting' });
    await new Promise((r) => setTimeout(r, 10));
    throw new Error('license file unreadable');
  }
}
`,
    );
    const outcome = await activation.activate(await discover(base));
    const problem = problemsOf(outcome, 'rejecting')[0];
    expect(problem?.code).toBe('PLUGIN_START_FAILED');
    expect(problem?.message).toContain('license file unreadable');
    expect(problem?.message).toContain('class Rejecting');
    expect(names(registry)).toEqual([]);
  });

  it('fails a start that never settles after the timeout, and refuses its late registrations', async () => {
    const { registry, activation } = setup();
    const base = await pluginsDir();
    await plugin(
      base,
      'hang',
      `export default { start(c) { return new Promise((resolve) => setTimeout(() => { try { c.registerService('test.Late', 1); } catch (e) { globalThis.__activationEvents.push(e.code); } resolve(); }, 150)); } };\n`,
    );
    const outcome = await activation.activate(await discover(base), { timeoutMs: 50 });
    expect(problemsOf(outcome, 'hang')[0]?.message).toMatch(/activator "default": start\(\) of hang did not finish within 50 ms/);
    await new Promise((r) => setTimeout(r, 250));
    expect(events()).toEqual(['PLUGIN_NOT_ACTIVE']);
    expect(registry.getServices('test.Late')).toEqual([]);
  });

  it('skips every extension below a failing plugin and registers nothing of them', async () => {
    const { registry, activation } = setup();
    const base = await pluginsDir();
    const parent = await plugin(
      base,
      'parent',
      `
export default {
  start(c) { c.registerService('IntrospectorPlugin', { name: 'parent' }); throw new Error('parent exploded'); },
};
`,
    );
    await plugin(
      base,
      'ext',
      `
export default {
  start(c) { globalThis.__activationEvents.push('ext:start'); c.registerService('IntrospectorPluginExtension', { name: 'ext' }); },
};
`,
      { parentName: 'parent' },
    );
    // Its own import fails as well: both problems are reported.
    await plugin(base, 'grand', `export default { start( };\n`, { parentName: 'ext' });
    await plugin(base, 'bystander', simplePlugin);
    const outcome = await activation.activate(await discover(base));
    expect(withStatus(outcome, 'active')).toEqual(['bystander']);
    expect(withStatus(outcome, 'broken')).toEqual(['parent']);
    expect(withStatus(outcome, 'skipped').sort()).toEqual(['ext', 'grand']);

    expect(problemsOf(outcome, 'parent').map((p) => p.code)).toEqual(['PLUGIN_START_FAILED']);
    expect(outcome.plugins.get('ext')).toEqual({
      status: 'skipped',
      brokenAncestor: 'parent',
      problems: [expect.objectContaining({ code: 'PARENT_BROKEN', where: path.join(parent, 'index.js'), message: expect.stringContaining('its parent "parent"') })],
    });
    const grand = problemsOf(outcome, 'grand');
    expect(grand.map((p) => p.code)).toEqual(['PLUGIN_LOAD_FAILED', 'PARENT_BROKEN']);
    expect(grand[1]?.message).toContain('its ancestor "parent"');

    expect(events()).not.toContain('ext:start');
    expect(registry.getServices(ServiceIds.IntrospectorPluginExtension)).toEqual([]);
    expect(names(registry)).toEqual(['bystander']);
  });

  it('skips the extensions of a plugin whose module fails to load', async () => {
    const { activation } = setup();
    const base = await pluginsDir();
    await plugin(base, 'p2', `throw new Error('top-level failure');\n`);
    await plugin(base, 'e2', simplePlugin, { parentName: 'p2' });
    const outcome = await activation.activate(await discover(base));
    expect(withStatus(outcome, 'broken')).toEqual(['p2']);
    expect(withStatus(outcome, 'skipped')).toEqual(['e2']);
    expect(problemsOf(outcome, 'e2').map((p) => p.code)).toEqual(['PARENT_BROKEN']);
    expect(events()).toEqual([]);
  });

  it('starts an extension after its parent and stops it before its parent', async () => {
    const { registry, activation } = setup();
    const base = await pluginsDir();
    await plugin(base, 'root', simplePlugin);
    await plugin(base, 'child', simplePlugin, { parentName: 'root' });
    const outcome = await activation.activate(await discover(base));
    expect(withStatus(outcome, 'active')).toEqual(['root', 'child']);
    expect(names(registry)).toEqual(['child', 'root']);
    const failures = await activation.stopAll();
    expect(failures).toEqual([]);
    expect(events()).toEqual(['root:start', 'child:start', 'child:stop', 'root:stop']);
    expect(names(registry)).toEqual([]);
    expect(activation.activePlugins()).toEqual([]);
  });

  it('starts an extension of an already active plugin on a later run', async () => {
    const { registry, activation } = setup();
    const base = await pluginsDir();
    await plugin(base, 'first', simplePlugin);
    await activation.activate(await discover(base));
    await plugin(base, 'later', simplePlugin, { parentName: 'first' });
    const outcome = await activation.activate(await discover(base));
    expect([...outcome.plugins.keys()]).toEqual(['later']);
    expect(names(registry)).toEqual(['first', 'later']);
    await activation.stopAll();
    expect(events()).toEqual(['first:start', 'later:start', 'later:stop', 'first:stop']);
  });

  it('does not import disabled or broken plugins', async () => {
    const { activation } = setup();
    const base = await pluginsDir();
    await plugin(base, 'off', `globalThis.__activationEvents.push('off imported');\nexport default { start() {} };\n`);
    await plugin(base, 'orphan', `globalThis.__activationEvents.push('orphan imported');\nexport default { start() {} };\n`, { parentName: 'missing' });
    const inv = await discover(base, ['off']);
    expect(inv.records.get('orphan')?.state).toBe('broken');
    const outcome = await activation.activate(inv);
    expect(outcome.plugins.size).toBe(0);
    expect(events()).toEqual([]);
  });

  it('stops every plugin even when some stops throw, and reports those', async () => {
    const { registry, activation } = setup();
    const base = await pluginsDir();
    await plugin(base, 'a', simplePlugin);
    await plugin(base, 'sync', `export default { start(c) { c.registerService('IntrospectorPlugin', { name: 'sync' }); }, stop() { throw new Error('sync stop broke'); } };\n`);
    await plugin(base, 'async', `export default { start(c) { c.registerService('IntrospectorPlugin', { name: 'async' }); }, async stop() { throw new Error('async stop broke'); } };\n`);
    await plugin(base, 'z', simplePlugin);
    await plugin(base, 'nostop', `export default { start(c) { c.registerService('IntrospectorPlugin', { name: 'nostop' }); } };\n`);
    await activation.activate(await discover(base));
    expect(names(registry)).toEqual(['a', 'async', 'nostop', 'sync', 'z']);
    const failures = await activation.stopAll();
    expect(failures.map((f) => f.plugin).sort()).toEqual(['async', 'sync']);
    expect(failures.find((f) => f.plugin === 'sync')?.message).toBe('plugin "sync": stop failed: sync stop broke');
    expect(failures.find((f) => f.plugin === 'async')?.message).toBe('plugin "async": stop failed: async stop broke');
    expect(events().filter((e) => e.endsWith(':stop')).sort()).toEqual(['a:stop', 'z:stop']);
    // Registrations of plugins whose stop failed are swept as well.
    expect(names(registry)).toEqual([]);
  });

  it('refuses registrations from a plugin after it stopped', async () => {
    const { activation } = setup();
    const base = await pluginsDir();
    await plugin(base, 'late', `export default { start(c) { globalThis.__lateContext = c; } };\n`);
    await activation.activate(await discover(base));
    await activation.stopAll();
    const context = (globalThis as { __lateContext?: { registerService(id: string, s: unknown): unknown } }).__lateContext;
    expect(() => context?.registerService('IntrospectorPlugin', {})).toThrow(/after it failed or stopped/);
  });

  it('registers several services in one call, in order, and withdraws them when the plugin stops (no stop needed)', async () => {
    const { registry, activation } = setup();
    const base = await pluginsDir();
    await plugin(
      base,
      'multi',
      `export default { start(c) { globalThis.__activationEvents.push(...c.registerServices({ IntrospectorPlugin: { name: 'multi' }, IntrospectorPluginLocator: { pluginOrExtensionName: 'multi', productInstallHomes: () => [] }, PackagerValidationPlugin: undefined }, { ranking: 2 }).map((r) => typeof r.unregister)); } };\n`,
    );
    await plugin(base, 'wrong', `export default { start(c) { c.registerServices([{ name: 'wrong' }]); } };\n`);
    const outcome = await activation.activate(await discover(base));
    expect(withStatus(outcome, 'active')).toEqual(['multi']);
    // Two registrations (the undefined entry is skipped), each one a registration to unregister.
    expect(events()).toEqual(['function', 'function']);
    expect(registry.getServicesWithOwner(ServiceIds.IntrospectorPlugin).map((s) => s.owner)).toEqual(['multi']);
    expect(registry.createCollector().getServices(ServiceIds.IntrospectorPluginLocator).map((l) => l.pluginOrExtensionName)).toEqual(['multi']);
    expect(problemsOf(outcome, 'wrong')[0]?.message).toContain('plugin "wrong" passed registerServices an array, not an object of services by id name');
    await activation.stopAll();
    expect(names(registry)).toEqual([]);
    expect(registry.createCollector().getServices(ServiceIds.IntrospectorPluginLocator)).toEqual([]);
  });

  it('breaks a plugin that registers a service naming another plugin as its owner', async () => {
    const { registry, activation } = setup();
    const base = await pluginsDir();
    await plugin(base, 'honest', `export default { start(c) { c.registerService(c.ids.PackagerValidationPlugin, { validateCapture() {} }); } };\n`);
    await plugin(base, 'impostor', `export default { start(c) { c.registerService(c.ids.IntrospectorPluginLocator, { pluginOrExtensionName: 'honest', productInstallHomes: () => [] }); } };\n`);
    await plugin(base, 'stray', `export default { start(c) { c.registerService(c.ids.IntrospectorPluginExtension, { name: 'stray', parentName: 'honest' }); } };\n`, { parentName: 'impostor' });
    const outcome = await activation.activate(await discover(base));
    expect(withStatus(outcome, 'active')).toEqual(['honest']);
    expect(problemsOf(outcome, 'impostor')[0]?.message).toContain(
      'activator "default": plugin "impostor" registered a "IntrospectorPluginLocator" service that names another owner: its pluginOrExtensionName is "honest", but the service is registered by "impostor"',
    );
    expect(withStatus(outcome, 'skipped')).toEqual(['stray']);
    // A service that leaves its name field out is still owned, by whoever registered it.
    expect(registry.getServicesWithOwner(ServiceIds.PackagerValidationPlugin).map((s) => s.owner)).toEqual(['honest']);
    expect(registry.getServices(ServiceIds.IntrospectorPluginLocator)).toEqual([]);
  });

  it('breaks an extension whose service names another parent', async () => {
    const { activation } = setup();
    const base = await pluginsDir();
    await plugin(base, 'top', simplePlugin);
    await plugin(base, 'ext', `export default { start(c) { c.registerService(c.ids.IntrospectorPluginExtension, { name: 'ext', parentName: 'other' }); } };\n`, { parentName: 'top' });
    const outcome = await activation.activate(await discover(base));
    expect(problemsOf(outcome, 'ext')[0]?.message).toContain('its parentName is "other", but the plugin.config of "ext" has parentName "top"');
  });

  it('activates many plugins concurrently', async () => {
    const { registry, activation } = setup();
    const base = await pluginsDir();
    await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        plugin(base, `m${i}`, `export default { start(c) { c.registerService('IntrospectorPlugin', { name: 'm${i}' }); } };\n`),
      ),
    );
    const outcome = await activation.activate(await discover(base));
    expect(withStatus(outcome, 'active')).toHaveLength(200);
    expect(names(registry)).toHaveLength(200);
  });
});
