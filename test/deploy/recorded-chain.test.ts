/**
 * Deploy compares the chain each appliance records (the plugins that made it, with versions)
 * with the plugins its bundle would get, on the real example introspected with its examplelogs
 * extension and deployed to this machine with the built CLI: a recorded extension that is gone
 * (or moved under another root) refuses before anything is written; one the user disabled, or
 * one installed older than recorded, is a warning (text and --json); an extension installed
 * after the introspection runs, and nothing is said about it. createTemplate and exportAssembly
 * say the same warnings (real image and archive over a small root file system) and refuse the
 * same missing extension.
 */
import { existsSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abctl } from '../introspection/helpers.js';
import { tempDir, writePlugin } from '../helpers/plugins.js';
import { testRootfs } from '../support/podman.mjs';
import { health, localSiteWithPluginCopy, type ExampleSite } from './example-fixture.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let site: ExampleSite;
let port: number;
let root: string;
let plugins: string;
let logsConfig: string;
let config: string;

const deploy = (...extra: string[]) => abctl(['deploy', '--assembly', 'site', '--plan', site.planFile, '--name', 'shop', '--target-root', root, ...extra], site.env);
const flat = (t: string): string => t.replace(/\s+/g, ' ');

beforeAll(async () => {
  tmp = await tempDir('abctl-deploy-recorded-');
  ({ site, port, plugins, root } = await localSiteWithPluginCopy(tmp.path, 'web-recorded'));
  logsConfig = join(plugins, 'examplelogs', 'plugin.config');
  config = readFileSync(logsConfig, 'utf8');
}, 120_000);
afterAll(async () => {
  abctl(['undeploy', '--deployment', 'shop'], site.env);
  await tmp.cleanup();
});

describe('deploy checks the chain an appliance was made with', () => {
  it('refuses before anything is written when a recorded extension is not installed, or sits under another plugin', () => {
    const away = join(tmp.path, 'examplelogs-away');
    renameSync(join(plugins, 'examplelogs'), away);
    try {
      const r = deploy('--json');
      expect(r.code).toBe(1);
      const { error } = JSON.parse(r.out) as { error: { code: string; message: string; hint: string } };
      expect(error.code).toBe('BUNDLE_EXTENSION_MISSING');
      expect(error.message).toContain('the appliances of assembly "site" cannot be rehydrated as they were made: appliance "web" was made with extension examplelogs 1.0, which is not installed here');
      expect(error.hint).toContain('install it again, at the recorded version or newer');
      expect(error.hint).toContain('abctl installPlugins --from DIR');
    } finally {
      renameSync(away, join(plugins, 'examplelogs'));
    }
    writeFileSync(logsConfig, config.replace('parentName=example', 'parentName=nginx'));
    try {
      const r = deploy();
      expect(r.code).toBe(1);
      expect(flat(r.err)).toContain('extension examplelogs 1.0, which is installed here under nginx, not in the chain of example');
    } finally {
      writeFileSync(logsConfig, config);
    }
    expect(existsSync(join(site.instance, 'deployments', 'shop'))).toBe(false);
    expect(existsSync(join(root, 'deployments', 'shop'))).toBe(false);
  }, 60_000);

  it('deploys without a disabled one and says so; an extension installed later runs, unmentioned', async () => {
    const marker = join(tmp.path, 'examplelater-ran');
    await writePlugin(plugins, {
      name: 'examplelater',
      parentName: 'example',
      index:
        `import { writeFileSync } from 'node:fs';\n` +
        `export const activator = { start(ctx) { ctx.registerService(ctx.ids.IntrospectorPluginExtension, { name: 'examplelater', parentName: 'example', async rehydrate() { writeFileSync(${JSON.stringify(marker)}, 'ran'); } }); } };\n`,
    });
    expect(abctl(['disablePlugin', '--name', 'examplelogs'], site.env).code).toBe(0);
    const r = deploy('--json');
    expect(r.code, r.err).toBe(0);
    const { warnings } = JSON.parse(r.out) as { warnings: string[] };
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('extension examplelogs is disabled: appliance "web" of assembly "site" will be rehydrated without it');
    expect(warnings[0]).toContain('abctl enablePlugin --name examplelogs');
    expect(await health('127.0.0.1', port)).toBe('ok web-recorded');
    expect(readFileSync(marker, 'utf8')).toBe('ran');
    expect(readdirSync(join(root, 'deployments', 'shop', 'web-1', 'bundle', 'plugins')).sort()).toEqual(['example', 'examplelater']);

    // Text: the same warning on stderr (deploying again resumes: nothing left to do).
    const text = deploy();
    expect(text.code, text.err).toBe(0);
    expect(flat(text.err)).toContain('warning: extension examplelogs is disabled: appliance "web" of assembly "site" will be rehydrated without it');
    expect(text.out).toContain('deployed deployment shop');
  }, 120_000);

  it('warns when a recorded extension is installed older than recorded, not when newer', () => {
    expect(abctl(['enablePlugin', '--name', 'examplelogs'], site.env).code).toBe(0);
    writeFileSync(logsConfig, config.replace('version=1.0', 'version=0.9'));
    try {
      const r = deploy();
      expect(r.code, r.err).toBe(0);
      expect(flat(r.err)).toContain('warning: examplelogs is installed at version 0.9, older than the 1.0 that made appliance "web" of assembly "site"');
      expect(flat(r.err)).toContain('install 1.0 or newer (abctl installPlugins --from DIR)');
      const json = deploy('--json');
      expect((JSON.parse(json.out) as { warnings: string[] }).warnings).toEqual([expect.stringContaining('examplelogs is installed at version 0.9')]);

      writeFileSync(logsConfig, config.replace('version=1.0', 'version=1.1'));
      const newer = deploy('--json');
      expect([newer.code, newer.err]).toEqual([0, '']);
      expect((JSON.parse(newer.out) as { warnings: string[] }).warnings).toEqual([]);
    } finally {
      writeFileSync(logsConfig, config);
    }
  }, 60_000);
});

describe('images and the assembly archive say the same about the recorded chain', () => {
  const disabledWeb = 'extension examplelogs is disabled: appliance "web" of assembly "site" will be rehydrated without it';

  it('createTemplate warns (stderr in text, warnings in --json) and refuses a missing extension before writing', () => {
    const images = join(tmp.path, 'images');
    expect(abctl(['disablePlugin', '--name', 'examplelogs'], site.env).code).toBe(0);
    try {
      // Text: said before the base is read (this base does not exist, so no image is written after it).
      const text = abctl(['createTemplate', '--assembly', 'site', '--appliance', 'web', '--base', join(tmp.path, 'no-base'), '--out', images], site.env);
      expect(text.code).toBe(1);
      expect(flat(text.err)).toContain(`warning: ${disabledWeb}`);
      expect(existsSync(join(images, 'web'))).toBe(false);

      const json = abctl(['createTemplate', '--assembly', 'site', '--appliance', 'web', '--base', testRootfs(), '--out', images, '--json'], site.env);
      expect(json.code, json.err).toBe(0);
      const r = JSON.parse(json.out) as { images: { appliance: string }[]; warnings: string[] };
      expect(r.images.map((i) => i.appliance)).toEqual(['web']);
      expect(r.warnings).toEqual([expect.stringContaining(disabledWeb)]);
      expect(json.err).not.toContain('examplelogs is disabled');
    } finally {
      expect(abctl(['enablePlugin', '--name', 'examplelogs'], site.env).code).toBe(0);
    }
    const away = join(tmp.path, 'examplelogs-away');
    renameSync(join(plugins, 'examplelogs'), away);
    try {
      const missing = abctl(['createTemplate', '--assembly', 'site', '--appliance', 'web', '--base', testRootfs(), '--out', join(tmp.path, 'images-missing')], site.env);
      expect(missing.code).toBe(1);
      expect(flat(missing.err)).toContain('the appliances of assembly "site" cannot be rehydrated as they were made: appliance "web" was made with extension examplelogs 1.0, which is not installed here');
      expect(flat(missing.err)).toContain('then write the image again');
      expect(existsSync(join(tmp.path, 'images-missing'))).toBe(false);
    } finally {
      renameSync(away, join(plugins, 'examplelogs'));
    }
  }, 120_000);

  it('exportAssembly warns once for the assembly (text and --json)', () => {
    writeFileSync(logsConfig, config.replace('version=1.0', 'version=0.9'));
    try {
      const older = 'examplelogs is installed at version 0.9, older than the 1.0 that made appliance "web" of assembly "site"';
      const text = abctl(['exportAssembly', '--assembly', 'site', '--base', join(tmp.path, 'no-base'), '--out', join(tmp.path, 'site.tar')], site.env);
      expect(text.code).toBe(1);
      expect(flat(text.err)).toContain(`warning: ${older}`);
      expect(existsSync(join(tmp.path, 'site.tar'))).toBe(false);

      const json = abctl(['exportAssembly', '--assembly', 'site', '--base', testRootfs(), '--out', join(tmp.path, 'site.tar'), '--json'], site.env);
      expect(json.code, json.err).toBe(0);
      const r = JSON.parse(json.out) as { file: string; warnings: string[] };
      expect(r.warnings).toEqual([expect.stringContaining(older)]);
      expect(existsSync(r.file)).toBe(true);
    } finally {
      writeFileSync(logsConfig, config);
    }
  }, 120_000);
});
