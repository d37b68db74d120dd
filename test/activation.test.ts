import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PluginInventory, PluginManifest, PluginRecord } from '../core/plugin-model.js';
import { ServiceIds } from '../core/service-ids.js';
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

/** Writes `<root>/<unique>/<name>/<main>` so a module URL is never reused from the import cache. */
async function pluginDir(name: string, source: string | undefined, main = 'index.js'): Promise<string> {
  const dir = path.join(root, `t${counter++}`, name);
  await mkdir(dir, { recursive: true });
  if (source !== undefined) {
    await mkdir(path.dirname(path.join(dir, main)), { recursive: true });
    await writeFile(path.join(dir, main), source);
  }
  return dir;
}

function record(
  name: string,
  directory: string,
  opts: { parentName?: string; children?: string[]; rootName?: string; state?: PluginRecord['state']; main?: string } = {},
): PluginRecord {
  const manifest: PluginManifest = {
    name,
    version: '1.2',
    description: '',
    minProductVersion: undefined,
    maxProductVersion: undefined,
    minSdkVersion: '1.0',
    parentName: opts.parentName,
    minParentVersion: undefined,
    main: opts.main ?? 'index.js',
  };
  return {
    name,
    directory,
    source: 'installed',
    manifest,
    problems: [],
    parentName: opts.parentName,
    children: opts.children ?? [],
    rootName: opts.rootName ?? opts.parentName ?? name,
    state: opts.state ?? 'enabled',
    disabledBy: opts.state === 'disabled' ? 'user' : undefined,
  };
}

function inventory(...records: PluginRecord[]): PluginInventory {
  return { records: new Map(records.map((r) => [r.name, r])), problems: [] };
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
    const dir = await pluginDir(
      'alpha',
      `
export const activator = {
  start(context) {
    context.log.info('starting ' + context.plugin.version + ' parent=' + context.plugin.parentName);
    context.log.debug('hidden unless debug');
    const { registerService } = context; // destructured: must still work
    registerService('IntrospectorPlugin', { name: 'alpha', dir: context.plugin.directory }, { ranking: 3 });
    globalThis.__activationEvents.push(typeof context.createCollector().getServices);
    globalThis.__activationEvents.push(Object.keys(context.ids).join(','));
  },
};
export const NOT_AN_ACTIVATOR = 42;
export function helper() {}
`,
    );
    const inv = inventory(record('alpha', dir));
    const result = await activation.activate(inv, { logSink: (l) => logs.push(l) });
    expect(result.active).toEqual(['alpha']);
    expect(result.broken).toEqual([]);
    expect(inv.records.get('alpha')?.state).toBe('enabled');
    expect(inv.records.get('alpha')?.problems).toEqual([]);
    const plugin = registry.createCollector().getSingletonService(ServiceIds.IntrospectorPlugin) as unknown as { name: string; dir: string };
    expect(plugin).toEqual({ name: 'alpha', dir });
    expect(registry.getRegistrations(ServiceIds.IntrospectorPlugin)[0]?.ranking).toBe(3);
    expect(logs).toEqual(['alpha: starting 1.2 parent=undefined']);
    expect(events()[0]).toBe('function');
    expect(events()[1]).toContain('IntrospectorPlugin');
    expect(activation.isActive('alpha')).toBe(true);
  });

  it('constructs an activator class with new and no arguments', async () => {
    const { registry, activation } = setup();
    const dir = await pluginDir(
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
    await activation.activate(inventory(record('beta', dir)));
    expect(registry.getSingletonService<unknown>('IntrospectorPlugin')).toEqual({ name: 'beta', argCount: 0, isInstance: true });
  });

  it('starts every activator of a module, each once', async () => {
    const { registry, activation } = setup();
    const dir = await pluginDir(
      'gamma',
      `
const shared = { start(c) { c.registerService('test.Thing', 'shared'); } };
export default shared;
export { shared as alsoShared };
export class Second { start(c) { c.registerService('test.Thing', 'class'); } }
export const third = { async start(c) { await new Promise((r) => setTimeout(r, 5)); c.registerService('test.Thing', 'async'); } };
`,
    );
    const result = await activation.activate(inventory(record('gamma', dir)));
    expect(result.active).toEqual(['gamma']);
    expect(registry.getServices<string>('test.Thing').sort()).toEqual(['async', 'class', 'shared']);
  });

  it('loads the module that plugin.config names as main', async () => {
    const { registry, activation } = setup();
    const dir = await pluginDir('delta', simplePlugin, 'lib/entry.js');
    await activation.activate(inventory(record('delta', dir, { main: 'lib/entry.js' })));
    expect(names(registry)).toEqual(['delta']);
  });

  it('marks a module with a syntax error broken, with file and line, and goes on', async () => {
    const { registry, activation } = setup();
    const bad = await pluginDir('bad', `export default {\n  start() {\n    return 1 +;\n  },\n};\n`);
    const good = await pluginDir('good', simplePlugin);
    const inv = inventory(record('bad', bad), record('good', good));
    const result = await activation.activate(inv);
    expect(result.active).toEqual(['good']);
    expect(result.broken).toEqual(['bad']);
    const rec = inv.records.get('bad');
    expect(rec?.state).toBe('broken');
    expect(rec?.problems).toHaveLength(1);
    const problem = rec?.problems[0];
    expect(problem?.code).toBe('PLUGIN_LOAD_FAILED');
    expect(problem?.where).toBe(path.join(bad, 'index.js'));
    expect(problem?.message).toContain('"bad"');
    expect(problem?.message).toContain(path.join(bad, 'index.js'));
    expect(problem?.message).toMatch(/SyntaxError at line 3: Unexpected token/);
    expect(names(registry)).toEqual(['good']);
  });

  it('marks a module that throws at import broken with the cause', async () => {
    const { registry, activation } = setup();
    const dir = await pluginDir('thrower', `export default { start() {} };\nthrow new Error('cannot read product home');\n`);
    const inv = inventory(record('thrower', dir));
    const result = await activation.activate(inv);
    expect(result.broken).toEqual(['thrower']);
    const problem = inv.records.get('thrower')?.problems[0];
    expect(problem?.code).toBe('PLUGIN_LOAD_FAILED');
    expect(problem?.message).toContain('cannot read product home');
    expect(problem?.message).toContain(path.join(dir, 'index.js'));
    expect(names(registry)).toEqual([]);
  });

  it('reports a missing entry module', async () => {
    const { activation } = setup();
    const dir = await pluginDir('empty', undefined);
    const inv = inventory(record('empty', dir));
    await activation.activate(inv);
    const problem = inv.records.get('empty')?.problems[0];
    expect(problem?.code).toBe('PLUGIN_LOAD_FAILED');
    expect(problem?.message).toContain(`${path.join(dir, 'index.js')} does not exist`);
    expect(problem?.hint).toContain('main');
  });

  it('reports a module that exports no activator', async () => {
    const { activation } = setup();
    const nothing = await pluginDir('nothing', `// forgot everything\n`);
    const noStart = await pluginDir('nostart', `export default { begin() {} };\nexport const x = 1;\n`);
    const inv = inventory(record('nothing', nothing), record('nostart', noStart));
    const result = await activation.activate(inv);
    expect(result.broken).toEqual(['nostart', 'nothing']);
    for (const [name, dir] of [
      ['nothing', nothing],
      ['nostart', noStart],
    ] as const) {
      const problem = inv.records.get(name)?.problems[0];
      expect(problem?.code).toBe('PLUGIN_NO_ACTIVATOR');
      expect(problem?.where).toBe(path.join(dir, 'index.js'));
      expect(problem?.message).toContain(`"${name}"`);
    }
  });

  it('undoes a plugin whose start throws: stops its started activators and drops its registrations', async () => {
    const { registry, activation } = setup();
    const dir = await pluginDir(
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
    const other = await pluginDir('other', simplePlugin);
    const inv = inventory(record('failing', dir), record('other', other));
    const result = await activation.activate(inv);
    expect(result.broken).toEqual(['failing']);
    const problem = inv.records.get('failing')?.problems[0];
    expect(problem?.code).toBe('PLUGIN_START_FAILED');
    expect(problem?.where).toBe(path.join(dir, 'index.js'));
    expect(problem?.message).toContain('"failing"');
    expect(problem?.message).toContain('"second"');
    expect(problem?.message).toContain(path.join(dir, 'index.js'));
    expect(problem?.message).toContain('port 8080 already configured');
    // The one that started is stopped; the one that threw is not.
    expect(events()).toContain('first:stop');
    expect(events()).not.toContain('second:stop');
    expect(registry.getServices('test.Leftover')).toEqual([]);
    expect(names(registry)).toEqual(['other']);
    expect(activation.activePlugins()).toEqual(['other']);
  });

  it('marks a plugin whose start rejects asynchronously broken', async () => {
    const { registry, activation } = setup();
    const dir = await pluginDir(
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
    const inv = inventory(record('rejecting', dir));
    await activation.activate(inv);
    const problem = inv.records.get('rejecting')?.problems[0];
    expect(problem?.code).toBe('PLUGIN_START_FAILED');
    expect(problem?.message).toContain('license file unreadable');
    expect(problem?.message).toContain('class Rejecting');
    expect(names(registry)).toEqual([]);
  });

  it('fails a start that never settles after the timeout', async () => {
    const { activation } = setup();
    const dir = await pluginDir('hang', `export default { start() { return new Promise(() => {}); } };\n`);
    const inv = inventory(record('hang', dir));
    await activation.activate(inv, { timeoutMs: 50 });
    expect(inv.records.get('hang')?.problems[0]?.message).toMatch(/did not finish within 50 ms/);
  });

  it('breaks every extension below a failing plugin and registers nothing of them', async () => {
    const { registry, activation } = setup();
    const parent = await pluginDir(
      'parent',
      `
export default {
  start(c) { c.registerService('IntrospectorPlugin', { name: 'parent' }); throw new Error('parent exploded'); },
};
`,
    );
    const ext = await pluginDir(
      'ext',
      `
export default {
  start(c) { globalThis.__activationEvents.push('ext:start'); c.registerService('IntrospectorPluginExtension', { name: 'ext' }); },
};
`,
    );
    // Its own import fails as well: both problems are reported.
    const grand = await pluginDir('grand', `export default { start( };\n`);
    const bystander = await pluginDir('bystander', simplePlugin);
    const inv = inventory(
      record('parent', parent, { children: ['ext'] }),
      record('ext', ext, { parentName: 'parent', rootName: 'parent', children: ['grand'] }),
      record('grand', grand, { parentName: 'ext', rootName: 'parent' }),
      record('bystander', bystander),
    );
    const result = await activation.activate(inv);
    expect(result.active).toEqual(['bystander']);
    expect(result.broken).toEqual(['ext', 'grand', 'parent']);

    expect(inv.records.get('parent')?.problems.map((p) => p.code)).toEqual(['PLUGIN_START_FAILED']);
    const ext1 = inv.records.get('ext');
    expect(ext1?.state).toBe('broken');
    expect(ext1?.disabledBy).toBe('parent');
    expect(ext1?.problems).toEqual([
      expect.objectContaining({ code: 'PARENT_BROKEN', where: path.join(parent, 'index.js'), message: expect.stringContaining('its parent "parent"') }),
    ]);
    const grand1 = inv.records.get('grand');
    expect(grand1?.state).toBe('broken');
    expect(grand1?.problems.map((p) => p.code)).toEqual(['PLUGIN_LOAD_FAILED', 'PARENT_BROKEN']);
    expect(grand1?.problems[1]?.message).toContain('its ancestor "parent"');

    expect(events()).not.toContain('ext:start');
    expect(registry.getServices(ServiceIds.IntrospectorPluginExtension)).toEqual([]);
    expect(names(registry)).toEqual(['bystander']);
  });

  it('breaks the extensions of a plugin whose module fails to load', async () => {
    const { activation } = setup();
    const parent = await pluginDir('p2', `throw new Error('top-level failure');\n`);
    const ext = await pluginDir('e2', simplePlugin);
    const inv = inventory(record('p2', parent, { children: ['e2'] }), record('e2', ext, { parentName: 'p2' }));
    const result = await activation.activate(inv);
    expect(result.broken).toEqual(['e2', 'p2']);
    expect(inv.records.get('e2')?.problems.map((p) => p.code)).toEqual(['PARENT_BROKEN']);
    expect(events()).toEqual([]);
  });

  it('starts an extension after its parent and stops it before its parent', async () => {
    const { registry, activation } = setup();
    const parent = await pluginDir('root', simplePlugin);
    const ext = await pluginDir('child', simplePlugin);
    const inv = inventory(record('root', parent, { children: ['child'] }), record('child', ext, { parentName: 'root' }));
    const result = await activation.activate(inv);
    expect(result.active).toEqual(['root', 'child']);
    expect(names(registry)).toEqual(['child', 'root']);
    const failures = await activation.stopAll();
    expect(failures).toEqual([]);
    expect(events()).toEqual(['root:start', 'child:start', 'child:stop', 'root:stop']);
    expect(names(registry)).toEqual([]);
    expect(activation.activePlugins()).toEqual([]);
  });

  it('does not import disabled or already broken plugins', async () => {
    const { activation } = setup();
    const off = await pluginDir('off', `this is not javascript`);
    const inv = inventory(record('off', off, { state: 'disabled' }), record('gone', off, { state: 'broken' }));
    const result = await activation.activate(inv);
    expect(result).toMatchObject({ active: [], broken: [] });
    expect(inv.records.get('off')?.problems).toEqual([]);
    expect(inv.records.get('off')?.state).toBe('disabled');
  });

  it('stops every plugin even when some stops throw, and reports those', async () => {
    const { registry, activation } = setup();
    const a = await pluginDir('a', simplePlugin);
    const throwsSync = await pluginDir(
      'sync',
      `export default { start(c) { c.registerService('IntrospectorPlugin', { name: 'sync' }); }, stop() { throw new Error('sync stop broke'); } };\n`,
    );
    const throwsAsync = await pluginDir(
      'async',
      `export default { start(c) { c.registerService('IntrospectorPlugin', { name: 'async' }); }, async stop() { throw new Error('async stop broke'); } };\n`,
    );
    const z = await pluginDir('z', simplePlugin);
    const noStop = await pluginDir('nostop', `export default { start(c) { c.registerService('IntrospectorPlugin', { name: 'nostop' }); } };\n`);
    await activation.activate(
      inventory(record('a', a), record('sync', throwsSync), record('async', throwsAsync), record('z', z), record('nostop', noStop)),
    );
    expect(names(registry)).toEqual(['a', 'async', 'nostop', 'sync', 'z']);
    const failures = await activation.stopAll();
    expect(failures.map((f) => f.plugin).sort()).toEqual(['async', 'sync']);
    expect(failures.find((f) => f.plugin === 'sync')?.message).toContain('sync stop broke');
    expect(failures.find((f) => f.plugin === 'async')?.message).toContain('async stop broke');
    expect(events().filter((e) => e.endsWith(':stop')).sort()).toEqual(['a:stop', 'z:stop']);
    // Registrations of plugins whose stop failed are swept as well.
    expect(names(registry)).toEqual([]);
  });

  it('refuses registrations from a plugin after it stopped', async () => {
    const { activation } = setup();
    const dir = await pluginDir('late', `export default { start(c) { globalThis.__lateContext = c; } };\n`);
    await activation.activate(inventory(record('late', dir)));
    await activation.stopAll();
    const context = (globalThis as { __lateContext?: { registerService(id: string, s: unknown): unknown } }).__lateContext;
    expect(() => context?.registerService('IntrospectorPlugin', {})).toThrow(/after it failed or stopped/);
  });

  it('reports per-plugin timings', async () => {
    const { activation } = setup();
    const dir = await pluginDir('timed', simplePlugin);
    const seen: string[] = [];
    const result = await activation.activate(inventory(record('timed', dir)), { onTiming: (t) => seen.push(t.plugin) });
    expect(seen).toEqual(['timed']);
    expect(result.timings[0]).toMatchObject({ plugin: 'timed', outcome: 'active' });
    expect(result.timings[0]?.importMs).toBeGreaterThanOrEqual(0);
  });

  it('activates many plugins concurrently', async () => {
    const { registry, activation } = setup();
    const base = path.join(root, `many${counter++}`);
    const records: PluginRecord[] = [];
    await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const dir = path.join(base, `m${i}`);
        await mkdir(dir, { recursive: true });
        await writeFile(path.join(dir, 'index.js'), `export default { start(c) { c.registerService('IntrospectorPlugin', { name: 'm${i}' }); } };\n`);
        records.push(record(`m${i}`, dir));
      }),
    );
    const result = await activation.activate(inventory(...records));
    expect(result.active).toHaveLength(200);
    expect(names(registry)).toHaveLength(200);
  });
});
