import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiscoveryProblemCode, discoverPlugins, readPluginDirectories } from '../services/plugins/discovery.js';
import { participantsOf, TreeProblemCode } from '../core/plugin-tree.js';
import { ManifestProblemCode } from '../core/plugin-manifest.js';

let tmp: string;
let installed: string;
let bundled: string;

beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'abctl-discovery-'));
  installed = join(tmp, 'instance', 'plugins');
  bundled = join(tmp, 'app', 'plugins');
  await mkdir(installed, { recursive: true });
  await mkdir(bundled, { recursive: true });
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function plugin(root: string, dir: string, config: string | undefined): Promise<string> {
  const d = join(root, dir);
  await mkdir(d, { recursive: true });
  if (config !== undefined) await writeFile(join(d, 'plugin.config'), config);
  return d;
}

const dirs = () => [
  { path: installed, source: 'installed' as const },
  { path: bundled, source: 'bundled' as const },
];

describe('readPluginDirectories', () => {
  it('reads each plugin directory, sorted by name within each source, sources in the given order', async () => {
    await plugin(bundled, 'zeta', 'name=zeta\nversion=1\n');
    await plugin(bundled, 'alpha', 'name=alpha\nversion=1\n');
    await plugin(installed, 'mid', 'name=mid\nversion=2\n');
    const { readings, problems } = await readPluginDirectories(dirs());
    expect(problems).toEqual([]);
    expect(readings.map((r) => [r.source, r.dirName])).toEqual([
      ['installed', 'mid'],
      ['bundled', 'alpha'],
      ['bundled', 'zeta'],
    ]);
    expect(readings[1]?.directory).toBe(join(bundled, 'alpha'));
    expect(readings[1]?.manifest?.version).toBe('1');
    expect(readings[0]?.manifest?.version).toBe('2');
  });

  it('treats a missing plugins directory as empty', async () => {
    const { readings, problems } = await readPluginDirectories([{ path: join(tmp, 'nope'), source: 'installed' }]);
    expect(readings).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('reports a plugins "directory" that is a file', async () => {
    const f = join(tmp, 'file');
    await writeFile(f, 'x');
    const { readings, problems } = await readPluginDirectories([{ path: f, source: 'bundled' }]);
    expect(readings).toEqual([]);
    expect(problems.map((p) => [p.code, p.where])).toEqual([[DiscoveryProblemCode.DIR_UNREADABLE, f]]);
  });

  it('ignores dot-directories and plain files', async () => {
    await plugin(bundled, '.git', undefined);
    await plugin(bundled, '.hidden', 'name=hidden\nversion=1\n');
    await writeFile(join(bundled, 'README.md'), '# not a plugin');
    await writeFile(join(bundled, 'plugin.config'), 'name=x\n');
    await plugin(bundled, 'real', 'name=real\nversion=1\n');
    const { readings } = await readPluginDirectories(dirs());
    expect(readings.map((r) => r.dirName)).toEqual(['real']);
  });

  it('follows symbolic links to plugin directories and skips dangling ones', async () => {
    const dev = await plugin(join(tmp, 'dev'), 'linked', 'name=linked\nversion=1\n');
    await symlink(dev, join(installed, 'linked'));
    await symlink(join(tmp, 'gone'), join(installed, 'dangling'));
    const { readings } = await readPluginDirectories(dirs());
    expect(readings.map((r) => [r.dirName, r.manifest?.name])).toEqual([['linked', 'linked']]);
  });

  it('reports a plugin directory without plugin.config, naming the expected file', async () => {
    await plugin(bundled, 'empty', undefined);
    const { readings } = await readPluginDirectories(dirs());
    expect(readings).toHaveLength(1);
    const r = readings[0];
    expect(r?.manifest).toBeUndefined();
    expect(r?.problems.map((p) => p.code)).toEqual([DiscoveryProblemCode.CONFIG_MISSING]);
    const expected = join(bundled, 'empty', 'plugin.config');
    expect(r?.problems[0]?.where).toBe(expected);
    expect(r?.problems[0]?.hint).toContain(expected);
  });

  it('reports a plugin.config that cannot be read', async () => {
    const d = await plugin(bundled, 'weird', undefined);
    await mkdir(join(d, 'plugin.config'));
    const { readings } = await readPluginDirectories(dirs());
    expect(readings[0]?.problems.map((p) => p.code)).toEqual([DiscoveryProblemCode.CONFIG_UNREADABLE]);
  });

  it('reports an unreadable plugin.config when permissions forbid it', async () => {
    if (process.getuid?.() === 0) return; // root reads everything
    const d = await plugin(bundled, 'secret', 'name=secret\nversion=1\n');
    await chmod(join(d, 'plugin.config'), 0o000);
    const { readings } = await readPluginDirectories(dirs());
    expect(readings[0]?.problems.map((p) => p.code)).toEqual([DiscoveryProblemCode.CONFIG_UNREADABLE]);
  });

  it('passes manifest problems through with the file path', async () => {
    await plugin(bundled, 'foo', 'name=bar\nversion=1..2\n');
    const { readings } = await readPluginDirectories(dirs());
    const file = join(bundled, 'foo', 'plugin.config');
    expect(readings[0]?.problems.map((p) => [p.code, p.where])).toEqual([
      [ManifestProblemCode.NAME_MISMATCH, `${file}: name`],
      [ManifestProblemCode.INVALID_VALUE, `${file}: version`],
    ]);
  });
});

describe('discoverPlugins', () => {
  it('builds the inventory: installed shadows bundled, extensions attach, broken ones stay isolated', async () => {
    await plugin(installed, 'tomcat', 'name=tomcat\nversion=2.0\n');
    await plugin(bundled, 'tomcat', 'name=tomcat\nversion=1.0\n');
    await plugin(bundled, 'tomcat-ssl', 'name=tomcat-ssl\nversion=1\nparentName=tomcat\nminParentVersion=2\n');
    await plugin(bundled, 'tomcat-jmx', 'name=tomcat-jmx\nversion=1\nparentName=tomcat\n');
    await plugin(bundled, 'nginx', 'name=nginx\nversion=1\nminSdkVersion=2.0\n');
    await plugin(bundled, 'noconfig', undefined);
    await mkdir(join(tmp, 'unlistable'));
    const inv = await discoverPlugins(
      [...dirs(), { path: join(tmp, 'missing'), source: 'bundled' }],
      { disabled: new Set(['tomcat-jmx']), sdkVersion: '1.0' },
    );
    expect([...inv.records.keys()].sort()).toEqual(['nginx', 'noconfig', 'tomcat', 'tomcat-jmx', 'tomcat-ssl']);
    expect(inv.records.get('tomcat')).toMatchObject({ source: 'installed', state: 'enabled', children: ['tomcat-jmx', 'tomcat-ssl'] });
    expect(inv.records.get('tomcat-ssl')?.state).toBe('enabled');
    expect(inv.records.get('tomcat-jmx')).toMatchObject({ state: 'disabled', disabledBy: 'user' });
    expect(inv.records.get('nginx')?.problems.map((p) => p.code)).toEqual([TreeProblemCode.SDK_UNSUPPORTED]);
    expect(inv.records.get('noconfig')?.problems.map((p) => p.code)).toEqual([DiscoveryProblemCode.CONFIG_MISSING]);
    expect(inv.duplicates?.map((d) => d.directory)).toEqual([join(bundled, 'tomcat')]);
    expect(inv.problems.map((p) => p.code)).toEqual([TreeProblemCode.DUPLICATE_NAME]);
    expect(participantsOf(inv, 'tomcat')).toEqual(['tomcat', 'tomcat-ssl']);
  });

  it('includes directory-level problems in the inventory', async () => {
    const f = join(tmp, 'afile');
    await writeFile(f, '');
    const inv = await discoverPlugins([{ path: f, source: 'installed' }], { disabled: new Set(), sdkVersion: '1.0' });
    expect(inv.records.size).toBe(0);
    expect(inv.problems.map((p) => p.code)).toEqual([DiscoveryProblemCode.DIR_UNREADABLE]);
  });

  it('reads 1,000 plugin directories in chains across both sources', async () => {
    const writes: Promise<string>[] = [];
    for (let i = 0; i < 1000; i++) {
      const name = `p${String(i).padStart(4, '0')}`;
      const parent = i % 50 === 0 ? '' : `parentName=p${String(i - 1).padStart(4, '0')}\n`;
      writes.push(plugin(i < 500 ? installed : bundled, name, `name=${name}\nversion=1.${i}\n${parent}`));
    }
    await Promise.all(writes);
    // Timing lives in bench/discovery.mjs; this pins the result at that scale.
    const inv = await discoverPlugins(dirs(), { disabled: new Set(), sdkVersion: '1.0' });
    expect(inv.records.size).toBe(1000);
    expect([...inv.records.values()].every((r) => r.state === 'enabled')).toBe(true);
    expect(inv.records.get('p0049')?.rootName).toBe('p0000');
    expect(participantsOf(inv, 'p0950')).toHaveLength(50);
  });
});
