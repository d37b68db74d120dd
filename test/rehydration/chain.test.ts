/**
 * The lifecycle chain over real plugin directories (written to disk, discovered, activated):
 * for rehydrate, start, stop and ping, the creator runs first, then its enabled extensions
 * in dehydration order; the first failure aborts and names plugin, step and cause; an
 * extension without the method does nothing; a chain with no start/stop/ping says so; a broken
 * extension (throws or hangs when started, or installed against a parent too old) refuses the
 * chain as its own error or the user's, unless the chain is asked to run without it (stop).
 */
import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Container } from 'inversify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PluginError, UserError } from '../../core/errors.js';
import { LIFECYCLE_OPERATIONS, type LifecycleOperation } from '../../core/lifecycle-contract.js';
import { Appliance, Assembly } from '../../core/metadata/index.js';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import { buildPluginInventory, resolveChain, withActivationOutcome } from '../../core/plugin-tree.js';
import { brokenChainError } from '../../services/jobs/plugin-chain.js';
import { discoverPlugins } from '../../services/plugins/discovery.js';
import { PluginActivationService, ServiceRegistry, registryModule } from '../../services/registry/module.js';
import { chainMembers, runChain, type ChainOutcome } from '../../services/rehydration/chain.js';
import { LifecycleContexts } from '../../services/rehydration/context.js';
import { tempDir, writePlugin } from '../helpers/plugins.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let trace: string;
const FAIL = 'ABCTL_TEST_CHAIN_FAIL';

/** A plugin whose lifecycle methods append `name.op` to the trace file; `${FAIL}=name.op` makes one throw, `name.ping` answers unhealthy. */
function lifecycleIndex(name: string, parentName: string | undefined, ops: readonly LifecycleOperation[]): string {
  const methods = ops
    .map(
      (op) => `async ${op}(ctx) {
        if (ctx.pluginName !== NAME || ctx.operation !== '${op}') throw new Error('wrong context');
        appendFileSync(TRACE, NAME + '.${op}\\n');
        if (process.env.${FAIL} === NAME + '.${op}') throw new Error(NAME + ' cannot ${op}: disk full');
        ${op === 'ping' ? `return process.env.${FAIL} === NAME + '.unhealthy' ? { healthy: false, message: 'port closed' } : { healthy: true, message: NAME + ' ok' };` : ''}
      },`,
    )
    .join('\n');
  const id = parentName ? 'IntrospectorPluginExtension' : 'IntrospectorPlugin';
  return [
    `import { appendFileSync } from 'node:fs';`,
    `const NAME = ${JSON.stringify(name)};`,
    `const TRACE = ${JSON.stringify(trace)};`,
    `const service = { name: NAME, ${parentName ? `parentName: ${JSON.stringify(parentName)},` : ''} ${methods} };`,
    `export const activator = { start(ctx) { ctx.registerService(ctx.ids.${id}, service); } };`,
    '',
  ].join('\n');
}

async function run(pluginsDir: string, creator: string, operation: LifecycleOperation, disabled: readonly string[] = [], withoutBroken = false): Promise<ChainOutcome> {
  const container = new Container();
  container.load(registryModule);
  const activation = container.get(PluginActivationService);
  try {
    const discovered = await discoverPlugins([{ path: pluginsDir, source: 'installed' }], { disabled: new Set(disabled), sdkVersion: SDK_VERSION });
    const inventory = withActivationOutcome(discovered, await activation.activate(discovered, { logSink: () => {} }));
    const appliance = new Appliance({ name: 'app', creator });
    const state = {
      bundleDir: tmp.path,
      manifest: { formatVersion: 1, deployment: 'd', assembly: 'A', appliance: 'app', instanceIndex: 1, chain: [creator], plugins: [], fileSets: [], contentResources: {}, createdAt: '', sdkVersion: SDK_VERSION },
      appliance,
      assembly: new Assembly({ name: 'A', members: [appliance] }),
      bindings: { instance: { hostName: 'h', addresses: [], index: 1 }, outputs: {} },
    };
    const contexts = new LifecycleContexts(state, { operation, signal: new AbortController().signal, sink: () => {} });
    const members = chainMembers(inventory, container.get(ServiceRegistry).createCollector(), creator, withoutBroken);
    return await runChain({ operation, members, context: (n) => contexts.for(n), subject: 'appliance "app"' });
  } finally {
    await activation.stopAll();
  }
}

const traced = (): string[] => readFileSync(trace, 'utf8').split('\n').filter(Boolean);

let plugins: string;
beforeAll(async () => {
  tmp = await tempDir('abctl-chain-');
  trace = join(tmp.path, 'trace');
  plugins = join(tmp.path, 'plugins');
  const all = LIFECYCLE_OPERATIONS;
  await writePlugin(plugins, { name: 'prod', index: lifecycleIndex('prod', undefined, all) });
  await writePlugin(plugins, { name: 'ext-a', parentName: 'prod', index: lifecycleIndex('ext-a', 'prod', all) });
  await writePlugin(plugins, { name: 'ext-deep', parentName: 'ext-a', index: lifecycleIndex('ext-deep', 'ext-a', all) });
  await writePlugin(plugins, { name: 'ext-b', parentName: 'prod', index: lifecycleIndex('ext-b', 'prod', all) });
  // An extension with nothing to do: it implements none of the four.
  await writePlugin(plugins, { name: 'ext-c', parentName: 'prod', index: lifecycleIndex('ext-c', 'prod', []) });
  // A chain with an extension whose code throws when it is started (and one below it).
  await writePlugin(plugins, { name: 'shop', index: lifecycleIndex('shop', undefined, all) });
  await writePlugin(plugins, { name: 'shop-bad', parentName: 'shop', index: 'export const a = { start() { throw new Error("license file missing"); } };\n' });
  await writePlugin(plugins, { name: 'shop-bad-kid', parentName: 'shop-bad', index: lifecycleIndex('shop-bad-kid', 'shop-bad', all) });
  await writePlugin(plugins, { name: 'shop-ok', parentName: 'shop', index: lifecycleIndex('shop-ok', 'shop', all) });
  // Broken by how it is installed, not by its code: it needs a newer parent.
  await writePlugin(plugins, { name: 'mall', index: lifecycleIndex('mall', undefined, all) });
  await writePlugin(plugins, { name: 'mall-new', parentName: 'mall', minParentVersion: '2.0', index: lifecycleIndex('mall-new', 'mall', all) });
  // A plugin written for SDK 1.0: no lifecycle methods at all.
  await writePlugin(plugins, { name: 'old', index: lifecycleIndex('old', undefined, []) });
});
afterEach(() => {
  delete process.env[FAIL];
  writeFileSync(trace, '');
});
afterAll(() => tmp.cleanup());

describe.each(LIFECYCLE_OPERATIONS)('%s', (op) => {
  it('runs the creator, then its enabled extensions depth first; one without the method does nothing', async () => {
    writeFileSync(trace, '');
    const outcome = await run(plugins, 'prod', op);
    expect(traced()).toEqual([`prod.${op}`, `ext-a.${op}`, `ext-deep.${op}`, `ext-b.${op}`]);
    expect(outcome).toMatchObject({ operation: op, ran: ['prod', 'ext-a', 'ext-deep', 'ext-b'], skipped: ['ext-c'], supported: true });
  });

  it('stops at the first failure, naming the plugin, the step and the cause', async () => {
    process.env[FAIL] = `ext-a.${op}`;
    const err = (await run(plugins, 'prod', op).catch((e: unknown) => e)) as PluginError;
    expect(err).toBeInstanceOf(PluginError);
    expect(err.plugin).toBe('ext-a');
    expect(err.code).toBe('LIFECYCLE_STEP_FAILED');
    expect(err.message).toBe(`${op} of appliance "app" failed in extension ext-a (step 2 of 5): ${op} failed: ext-a cannot ${op}: disk full`);
    expect(err.hint).toBe('not run: ext-deep, ext-b, ext-c');
    expect(traced()).toEqual([`prod.${op}`, `ext-a.${op}`]);
  });

  it('leaves out a disabled extension and everything below it', async () => {
    writeFileSync(trace, '');
    await run(plugins, 'prod', op, ['ext-a']);
    expect(traced()).toEqual([`prod.${op}`, `ext-b.${op}`]);
  });
});

describe('a broken extension', () => {
  it.each(LIFECYCLE_OPERATIONS)('refuses %s before any step runs, as the plugin\'s error naming it, why, and how to go on', async (op) => {
    writeFileSync(trace, '');
    const err = (await run(plugins, 'shop', op).catch((e: unknown) => e)) as PluginError;
    expect(err).toBeInstanceOf(PluginError);
    expect(err.plugin).toBe('shop-bad');
    expect(err.code).toBe('EXTENSION_BROKEN');
    expect(err.message).toMatch(/^the chain of shop cannot run: extension shop-bad of shop is broken \(PLUGIN_START_FAILED: .*license file missing\); also not run: shop-bad-kid$/);
    expect(err.hint).toContain('abctl disablePlugin --name shop-bad');
    expect(traced()).toEqual([]);
  });

  it('is a user error when the cause is the installation (a parent too old), not the plugin\'s code', async () => {
    const err = (await run(plugins, 'mall', 'start').catch((e: unknown) => e)) as UserError;
    expect(err).toBeInstanceOf(UserError);
    expect(err.code).toBe('EXTENSION_BROKEN');
    expect(err.message).toContain('extension mall-new of mall is broken (PARENT_TOO_OLD: needs "mall" version 2.0 or later, but version 1.0 is installed)');
    expect(err.where).toBe(`${join(plugins, 'mall-new', 'plugin.config')}: minParentVersion`);
    expect(err.hint).toContain('upgrade "mall" to 2.0 or later');
  });

  it('an extension that hangs while starting is the same: cut at the limit, then the chain is refused naming it', async () => {
    const dir = join(tmp.path, 'hang-plugins');
    await writePlugin(dir, { name: 'cafe', index: lifecycleIndex('cafe', undefined, LIFECYCLE_OPERATIONS) });
    await writePlugin(dir, { name: 'cafe-hang', parentName: 'cafe', index: 'export const a = { start() { return new Promise(() => {}); } };\n' });
    const container = new Container();
    container.load(registryModule);
    const activation = container.get(PluginActivationService);
    try {
      const discovered = await discoverPlugins([{ path: dir, source: 'installed' }], { disabled: new Set(), sdkVersion: SDK_VERSION });
      const inventory = withActivationOutcome(discovered, await activation.activate(discovered, { logSink: () => {}, timeoutMs: 300 }));
      const err = (() => {
        try {
          chainMembers(inventory, container.get(ServiceRegistry).createCollector(), 'cafe');
        } catch (e) {
          return e;
        }
      })() as PluginError;
      expect(err).toBeInstanceOf(PluginError);
      expect([err.plugin, err.code]).toEqual(['cafe-hang', 'EXTENSION_BROKEN']);
      expect(err.message).toContain('extension cafe-hang of cafe is broken (PLUGIN_START_FAILED:');
      expect(err.message).toContain('did not finish within 300 ms');
    } finally {
      await activation.stopAll();
    }
  });

  it('a load failure the machine caused (EACCES) is a user error naming the file, not the plugin\'s', () => {
    // Tests run as root, which reads any file, so the activation outcome of an unreadable entry
    // module is written here as activation reports it; the tree and the error are the real ones.
    const readings = [
      { dirName: 'inn', directory: '/p/inn', source: 'installed' as const, manifest: { name: 'inn', version: '1.0', description: '', minProductVersion: undefined, maxProductVersion: undefined, minSdkVersion: '1.0', parentName: undefined, minParentVersion: undefined, main: 'index.js' }, problems: [] },
      { dirName: 'inn-ext', directory: '/p/inn-ext', source: 'installed' as const, manifest: { name: 'inn-ext', version: '1.0', description: '', minProductVersion: undefined, maxProductVersion: undefined, minSdkVersion: '1.0', parentName: 'inn', minParentVersion: undefined, main: 'index.js' }, problems: [] },
    ];
    const problem = { code: 'PLUGIN_LOAD_FAILED' as const, message: 'extension "inn-ext" could not load /p/inn-ext/index.js: EACCES: permission denied, open \'/p/inn-ext/index.js\'', where: '/p/inn-ext/index.js', hint: 'fix the module' };
    const inventory = withActivationOutcome(buildPluginInventory(readings, { disabled: new Set(), sdkVersion: SDK_VERSION }), {
      plugins: new Map([['inn', { status: 'active' as const }], ['inn-ext', { status: 'broken' as const, problems: [problem] }]]),
    });
    const err = brokenChainError(resolveChain(inventory, 'inn'), 'start of appliance "app"');
    expect(err).toBeInstanceOf(UserError);
    expect(err).not.toBeInstanceOf(PluginError);
    expect([err.code, err.where]).toEqual(['EXTENSION_BROKEN', '/p/inn-ext/index.js']);
    expect(err.message).toContain('start of appliance "app" cannot run: extension inn-ext of inn is broken (PLUGIN_LOAD_FAILED: ');
  });

  it('runs without it when asked (stop does), and is left out without error once the user disables it', async () => {
    writeFileSync(trace, '');
    expect((await run(plugins, 'shop', 'stop', [], true)).ran).toEqual(['shop', 'shop-ok']);
    writeFileSync(trace, '');
    expect((await run(plugins, 'shop', 'start', ['shop-bad'])).ran).toEqual(['shop', 'shop-ok']);
    expect(traced()).toEqual(['shop.start', 'shop-ok.start']);
  });
});

describe('ping and plugins without lifecycle methods', () => {
  it('is healthy only when every answer is; the first unhealthy answer ends the chain', async () => {
    writeFileSync(trace, '');
    const ok = await run(plugins, 'prod', 'ping');
    expect(ok.health).toMatchObject({ healthy: true, message: 'prod: prod ok; ext-a: ext-a ok; ext-deep: ext-deep ok; ext-b: ext-b ok' });
    writeFileSync(trace, '');
    process.env[FAIL] = 'ext-a.unhealthy';
    const bad = await run(plugins, 'prod', 'ping');
    expect(bad.health).toMatchObject({ healthy: false, message: 'ext-a: port closed' });
    expect(traced()).toEqual(['prod.ping', 'ext-a.ping']);
  });

  it('an SDK 1.0 plugin: rehydrate is the framework part only; start, stop and ping are "not supported"', async () => {
    expect(await run(plugins, 'old', 'rehydrate')).toMatchObject({ ran: [], skipped: ['old'], supported: true });
    expect(await run(plugins, 'old', 'start')).toMatchObject({ ran: [], supported: false });
    const ping = await run(plugins, 'old', 'ping');
    expect(ping.health).toMatchObject({ healthy: false, message: 'ping is not supported: no plugin of the chain (old) implements ping() (plugins written for SDK 1.0 have none)' });
  });
});
