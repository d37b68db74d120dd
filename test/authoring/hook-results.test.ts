/**
 * Error tiers at run time, through the built CLI on real plugins: a hook that returns the wrong
 * shape is that plugin's error (`error in plugin N: ...`, exit 1, with the shape expected), never
 * abctl's internal error; a plugin may raise a coded user error with an id, arguments and a hint.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, writePlugin } from '../helpers/plugins.js';
import { abctl, cliEnv } from '../introspection/helpers.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;
let home: string;

/** A plugin whose introspector service has `members` (source text) and whose activator also runs `extra`. */
const plugin = (name: string, members: string, extra = ''): Promise<string> =>
  writePlugin(join(tmp.path, 'plugins'), {
    name,
    index: `const service = { name: '${name}',
      jobParameters() { return [{ name: 'home', type: 'path', description: 'home', required: true }]; },
      async dehydrate(ctx) { ctx.createAppliance({ name: '${name}', fileSets: [{ name: 'home', root: String(ctx.parameters.home) }] }); },
      ${members} };
    export const activator = { start(ctx) { ctx.registerService(ctx.ids.IntrospectorPlugin, service); ${extra} } };\n`,
  });

beforeAll(async () => {
  tmp = await tempDir('abctl-hook-results-');
  env = cliEnv(join(tmp.path, 'instance'), join(tmp.path, 'plugins'));
  home = (await tempDir('abctl-hook-results-home-')).path;
  await plugin('pparams', `jobParameters() { return { home: 'path' }; },`);
  await plugin('pplatform', '', `ctx.registerService(ctx.ids.PlatformOsValidationPlugin, { pluginName: 'pplatform', validatePlatform() { return 'looks fine'; } });`);
  await plugin('pcapture', '', `ctx.registerService(ctx.ids.PackagerValidationPlugin, { pluginName: 'pcapture', validateCapture() { return { refuse: true }; } });`);
  await plugin('plocator', '', `ctx.registerService(ctx.ids.IntrospectorPluginLocator, { pluginOrExtensionName: 'plocator', productInstallHomes(p) { return p.home; } });`);
  await plugin('pdiscover', `discover() { return { found: 'somewhere' }; },`);
  await plugin('pcoded', `async dehydrate(ctx) { throw Object.assign(new Error('licence {0} expired on {1}'), { id: 'LICENCE_EXPIRED', args: ['A-17', '2026-01-01'], hint: 'renew it with the vendor' }); },`);
});
afterAll(async () => tmp?.cleanup());

/** Runs the command and returns its plugin error line, checking the tier (exit 1, not an internal error). */
function pluginError(args: string[]): { err: string; json: { code: string; message: string; hint?: string; plugin?: string } } {
  const r = abctl([...args, '--json'], env);
  expect(r.code, r.out + r.err).toBe(1);
  expect(r.err).not.toContain('internal error');
  return { err: r.err, json: (JSON.parse(r.out) as { error: { code: string; message: string; hint?: string; plugin?: string } }).error };
}

describe('a hook returning the wrong shape is the plugin\'s error, with the shape expected', () => {
  it('jobParameters', () => {
    // Declarations build the command line, before --json is known: the error is printed as text.
    const r = abctl(['introspectpparams', '--home', home], env);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      'error in plugin pparams: jobParameters() of pparams must return a list of { name, type, description, required?, defaultValue? }: expected a list of job parameter definitions, got {"home":"path"}',
    );
  });

  it('validatePlatform', () => {
    const { json } = pluginError(['introspectpplatform', '--home', home]);
    expect(json).toMatchObject({ code: 'HOOK_RESULT_INVALID', plugin: 'pplatform', message: expect.stringContaining(`validatePlatform() of pplatform must return a list of { severity: 'warning' | 'rejection', message }: expected a list of validation messages, got "looks fine"`) });
  });

  it('validateCapture', () => {
    const { json } = pluginError(['introspectpcapture', '--home', home]);
    expect(json).toMatchObject({ code: 'HOOK_RESULT_INVALID', plugin: 'pcapture', message: 'validateCapture() of pcapture must return undefined (go on) or a string (the refusal): expected undefined or a string, got {"refuse":true}' });
  });

  it('productInstallHomes', () => {
    const { json } = pluginError(['introspectplocator', '--home', home]);
    expect(json).toMatchObject({ code: 'HOOK_RESULT_INVALID', plugin: 'plocator', message: expect.stringContaining('productInstallHomes() of plocator must return a list of directory paths: expected a list of paths, got "') });
  });

  it('discover', () => {
    // One plugin's failing discovery is reported beside what the others found.
    const r = abctl(['discover', '--json'], env);
    expect(r.code, r.err).toBe(0);
    const found = (JSON.parse(r.out) as { plugins: { plugin: string; error?: string }[] }).plugins.find((p) => p.plugin === 'pdiscover');
    expect(found?.error).toContain('discover() of pdiscover must return a list of { description, parameters }: expected a list of installations, got {"found":"somewhere"}');
  });
});

describe('a coded user error raised by a plugin', () => {
  it('keeps its id as the code, fills the arguments into the message, and shows the hint', () => {
    const { err, json } = pluginError(['introspectpcoded', '--home', home]);
    expect(json).toEqual({ code: 'LICENCE_EXPIRED', plugin: 'pcoded', message: 'licence A-17 expired on 2026-01-01', hint: 'renew it with the vendor' });
    expect(err).toContain('error in plugin pcoded: licence A-17 expired on 2026-01-01\n  hint: renew it with the vendor');
  });
});
