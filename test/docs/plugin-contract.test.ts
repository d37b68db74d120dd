/**
 * Keeps docs/plugin-contract.md honest:
 *  (a) every code block tagged `<!-- excerpt: FILE#NAME -->` is byte-identical to the region
 *      between `docs:begin NAME` and `docs:end NAME` in FILE, every JS/config block is such an
 *      excerpt, and every marked region of the example plugins is quoted;
 *  (b) the example plugin and its extension, installed and run with the real CLI the way the
 *      page describes, store the appliance the page says they store.
 * The TypeScript excerpts come from test/docs/fixtures/ts-plugin (compiled by plugin-contract-ts.test.ts).
 * The CLI runs from dist/, so build first: `npm run build && npx vitest run test/docs`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SDK_VERSION } from '../../core/plugin-contract.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DOC = 'docs/plugin-contract.md';
/** Files whose marked regions must all appear in the doc. */
const MARKED_FILES = [
  'plugins/example/index.js',
  'plugins/example/plugin.config',
  'plugins/examplelogs/index.js',
  'plugins/examplelogs/plugin.config',
  'test/docs/fixtures/ts-plugin/index.ts',
  'test/docs/fixtures/ts-plugin/plugin.config',
];
/** Fence languages that hold code or configuration, which must be quoted, never written by hand. */
const CODE_LANGUAGES = new Set(['js', 'javascript', 'mjs', 'cjs', 'ts', 'typescript', 'properties', 'ini', 'json']);

const EXCERPT_TAG = /^<!-- excerpt: ([^#\s]+)#([\w.-]+) -->$/;
const MARKER = /^\s*(?:\/\/|#) docs:(begin|end) ([\w.-]+)\s*$/;

interface Block {
  readonly line: number;
  readonly lang: string;
  readonly text: string;
  readonly excerpt: { file: string; name: string } | undefined;
}

function read(rel: string): string {
  return readFileSync(join(root, rel), 'utf8');
}

/** Fenced blocks of a Markdown text, each with the excerpt tag on the line right above it, if any. */
function fencedBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && lines[end] !== '```') end++;
    if (end >= lines.length) throw new Error(`${DOC}:${start + 1}: code block is never closed`);
    const tag = start > 0 ? EXCERPT_TAG.exec(lines[start - 1]!) : null;
    blocks.push({
      line: start + 1,
      lang: open[1]!,
      text: lines.slice(start + 1, end).join('\n'),
      excerpt: tag ? { file: tag[1]!, name: tag[2]! } : undefined,
    });
    i = end;
  }
  return blocks;
}

/** Marked regions of a file by name: the lines strictly between the begin and end markers. */
function markedRegions(rel: string): Map<string, string> {
  const lines = read(rel).split('\n');
  const regions = new Map<string, string>();
  const open = new Map<string, number>();
  lines.forEach((line, i) => {
    const m = MARKER.exec(line);
    if (!m) return;
    const [, kind, name] = m as unknown as [string, 'begin' | 'end', string];
    if (kind === 'begin') {
      if (open.has(name) || regions.has(name)) throw new Error(`${rel}:${i + 1}: region "${name}" is marked twice`);
      open.set(name, i);
    } else {
      const begin = open.get(name);
      if (begin === undefined) throw new Error(`${rel}:${i + 1}: "docs:end ${name}" without a begin`);
      open.delete(name);
      regions.set(name, lines.slice(begin + 1, i).join('\n'));
    }
  });
  for (const [name, at] of open) throw new Error(`${rel}:${at + 1}: "docs:begin ${name}" is never ended`);
  return regions;
}

describe('docs/plugin-contract.md excerpts', () => {
  const doc = read(DOC);
  const blocks = fencedBlocks(doc);
  const excerpts = blocks.filter((b) => b.excerpt !== undefined);

  it('quotes the example plugins', () => {
    expect(excerpts.length).toBeGreaterThanOrEqual(10);
    // Every tag must sit right above a code block (a stray tag would check nothing).
    const tags = doc.split('\n').filter((l) => EXCERPT_TAG.test(l)).length;
    expect(tags).toBe(excerpts.length);
  });

  it('has every excerpt byte-identical to its marked region', () => {
    for (const b of excerpts) {
      const { file, name } = b.excerpt!;
      expect(existsSync(join(root, file)), `${DOC}:${b.line}: ${file} does not exist`).toBe(true);
      const region = markedRegions(file).get(name);
      expect(region, `${DOC}:${b.line}: ${file} has no region "${name}" (add // docs:begin ${name} / // docs:end ${name})`).toBeDefined();
      expect(b.text, `${DOC}:${b.line} differs from ${file}#${name}; copy the region again`).toBe(region);
    }
  });

  it('writes no code by hand: every code or configuration block is an excerpt', () => {
    const handWritten = blocks.filter((b) => CODE_LANGUAGES.has(b.lang.toLowerCase()) && b.excerpt === undefined);
    expect(handWritten.map((b) => `${DOC}:${b.line} (${b.lang})`)).toEqual([]);
  });

  it('quotes every marked region of the example plugins, so markers cannot go stale', () => {
    const quoted = new Set(excerpts.map((b) => `${b.excerpt!.file}#${b.excerpt!.name}`));
    const unquoted = MARKED_FILES.flatMap((f) => [...markedRegions(f).keys()].map((n) => `${f}#${n}`)).filter((k) => !quoted.has(k));
    expect(unquoted).toEqual([]);
  });

  it('links only to files that exist', () => {
    const links = [...doc.matchAll(/\]\(([^)#\s]+\.md)(?:#[^)]*)?\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(0);
    for (const link of links) expect(existsSync(join(root, 'docs', link)), link).toBe(true);
  });
});

// ---------------------------------------------------------------- running the example as described

const bin = join(root, 'bin', 'abctl');
let tmp: string;
let home: string;
let instance: string;
let env: NodeJS.ProcessEnv;

function abctl(args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [bin, '--instance', instance, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function json<T>(args: readonly string[]): T {
  const r = abctl([...args, '--json']);
  expect(r.code, `abctl ${args.join(' ')}: ${r.err}`).toBe(0);
  return JSON.parse(r.out) as T;
}

interface PropertyJson {
  name: string;
  type: string;
  category: string;
  required: boolean;
  value?: string;
  secret?: boolean;
}
interface ApplianceJson {
  name: string;
  creator: string;
  type: string;
  properties: PropertyJson[];
  inputs: { name: string; port: number; protocols: string[]; interfaceName: string }[];
  outputs: unknown[];
  interfaces: { name: string }[];
  fileSets: { name: string; root: string; excludes: string[]; captured: boolean; scope: string; owner: string; group: string }[];
  contentResources: { name: string }[];
}

function appliance(name: string): ApplianceJson {
  const all = json<{ appliances: ApplianceJson[] }>(['describeAppliances', '--name', name]).appliances;
  expect(all.map((a) => a.name)).toEqual([name]);
  return all[0]!;
}

function tarList(archive: string): string[] {
  const r = spawnSync('tar', ['-tzf', archive], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean).map((p) => p.replace(/^\.\//, ''));
}

function archiveOf(applianceName: string): string {
  return join(instance, 'catalog', 'appliances', applianceName, 'filesets', 'home.tar.gz');
}

describe('the example plugin, run as docs/plugin-contract.md describes', () => {
  beforeAll(async () => {
    if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    tmp = await mkdtemp(join(tmpdir(), 'abctl-docs-'));
    // A product home shipping its plugins, as "Installing and running a plugin" describes.
    home = join(tmp, 'products', 'minihttpd');
    await cp(join(root, 'examples', 'minihttpd'), home, { recursive: true });
    for (const name of ['example', 'examplelogs']) {
      await cp(join(root, 'plugins', name), join(home, 'plugins', 'introspector', name), { recursive: true });
    }
    instance = join(tmp, 'instance');
    // No bundled plugins: what runs is what installPlugins put into the instance.
    const noBundled = join(tmp, 'no-bundled-plugins');
    await mkdir(noBundled);
    env = { ...process.env, AB_BUNDLED_PLUGINS: noBundled };
    delete env.AB_INSTANCE;
    delete env.AB_EXAMPLE_SEARCH;
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('installs the plugin and its extension from the product home', () => {
    const before = json<{ plugins: unknown[] }>(['describePlugins']);
    expect(before.plugins).toEqual([]);

    const r = abctl(['installPlugins', '--from', home]);
    expect(r.code, r.err).toBe(0);

    const after = json<{ sdkVersion: string; plugins: { name: string; state: string; source: string; parent: string | null; directory: string; commands: string[] }[] }>([
      'describePlugins',
    ]);
    expect(after.sdkVersion).toBe(SDK_VERSION);
    const byName = new Map(after.plugins.map((p) => [p.name, p]));
    expect([...byName.keys()].sort()).toEqual(['example', 'examplelogs']);
    for (const p of after.plugins) {
      expect(p.state).toBe('enabled');
      expect(p.source).not.toBe('bundled');
      expect(p.directory.startsWith(instance)).toBe(true);
    }
    expect(byName.get('examplelogs')!.parent).toBe('example');
    expect(byName.get('example')!.commands).toEqual(['introspectexample']);
    // alias: true gives the extension a command of its own.
    expect(byName.get('examplelogs')!.commands).toEqual(['introspectexamplelogs']);
  });

  it('offers the job parameters of the whole chain as options', () => {
    const r = abctl(['introspectexample', '--help']);
    expect(r.code, r.err).toBe(0);
    const help = r.out.replace(/\s+/g, ' '); // commander wraps long lines
    expect(help).toContain('--home <path> directory minihttpd is installed in (from example) [required]');
    expect(help).toContain('--keep-logs [true|false] capture the log files too (from examplelogs)');
  });

  it('introspectexample stores the appliance the page describes', () => {
    const summary = json<{ plugin: string; participants: string[]; kind: string; name: string; captured: { fileSet: string }[]; captureDeferred: boolean }>([
      'introspectexample',
      '--home',
      home,
    ]);
    expect(summary).toMatchObject({ plugin: 'example', participants: ['example', 'examplelogs'], kind: 'appliance', name: 'minihttpd-reference', captureDeferred: false });
    expect(summary.captured.map((c) => c.fileSet)).toEqual(['home']);

    const a = appliance('minihttpd-reference');
    expect(a).toMatchObject({ creator: 'example', type: 'example' });
    const props = new Map(a.properties.map((p) => [p.name, p]));
    expect(props.get('server.name')).toMatchObject({ type: 'string', category: 'user', required: true, value: 'minihttpd-reference' });
    expect(props.get('bind.address')).toMatchObject({ type: 'string', category: 'user', required: true, value: '127.0.0.1' });
    expect(props.get('port')).toMatchObject({ type: 'int', category: 'user', required: true, value: '18080' });
    // A password property: stored encrypted, never printed.
    expect(props.get('admin.password')).toMatchObject({ type: 'password', category: 'user', required: true, secret: true, value: '********' });
    expect(props.get('product.home')).toMatchObject({ type: 'string', category: 'system', value: home });
    expect(props.get('product.version')).toMatchObject({ type: 'string', category: 'system', value: '0.3' });
    // Added by the extension, which ran after its parent on the same appliance.
    expect(props.get('log.level')).toMatchObject({ type: 'string', category: 'user', value: 'info' });
    expect(props.get('log.rotate.days')).toMatchObject({ type: 'int', category: 'user', value: '7' });
    // Added by abctl, not the plugin.
    expect(props.get('ovab.referenceHost')).toMatchObject({ category: 'system', value: 'local' });
    expect([...props.keys()].sort()).toEqual(
      ['admin.password', 'bind.address', 'log.level', 'log.rotate.days', 'ovab.referenceHost', 'port', 'product.home', 'product.version', 'server.name'],
    );

    expect(a.inputs).toEqual([expect.objectContaining({ name: 'http', port: 18080, protocols: ['http'], interfaceName: 'eth0' })]);
    expect(a.outputs).toEqual([]);
    // No interfaces given: abctl added eth0.
    expect(a.interfaces.map((i) => i.name)).toEqual(['eth0']);
    expect(a.fileSets).toEqual([
      expect.objectContaining({ name: 'home', root: home, excludes: ['logs/*.log', 'run', 'tmp'], captured: true, scope: 'local', owner: 'root', group: 'root' }),
    ]);
    expect(a.contentResources.map((c) => c.name)).toEqual(['server.properties']);
  });

  it('stored the configuration as a template and captured the files minus the excludes', async () => {
    const content = join(instance, 'catalog', 'appliances', 'minihttpd-reference', 'content', 'server.properties');
    const template = readFileSync(content, 'utf8');
    expect(template).toContain('port={{[port]}}');
    expect(template).toContain('server.name={{[server.name]}}');
    expect(template).toContain('admin.password={{[admin.password]}}');
    expect(template).not.toContain('change-me');

    const listing = tarList(archiveOf('minihttpd-reference'));
    // The config holding the password is not captured: rehydrate renders it from the template.
    expect(listing).not.toContain('conf/server.properties');
    expect(listing).toContain('conf/logging.properties');
    expect(listing).toContain('plugins/introspector/example/index.js');
    // `logs/*.log`: the files go, the directory stays.
    expect(listing).toContain('logs/');
    expect(listing.filter((p) => p.startsWith('logs/') && p !== 'logs/')).toEqual([]);
    expect((await readdir(join(home, 'logs'))).length).toBeGreaterThan(0);
  });

  it('the first error aborts the chain and stores nothing', async () => {
    const catalogBefore = json<unknown>(['describeCatalog']);
    const notAProduct = join(tmp, 'not-a-product');
    await mkdir(notAProduct);
    const r = abctl(['introspectexample', '--home', notAProduct, '--name', 'broken']);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`error in plugin example: dehydrate failed: ${notAProduct}/conf/server.properties not found`);
    expect(json<unknown>(['describeCatalog'])).toEqual(catalogBefore);
  });

  it('the alias runs the whole chain; --defer-capture, then captureFileSets', () => {
    const summary = json<{ participants: string[]; captured: unknown[]; captureDeferred: boolean }>([
      'introspectexamplelogs',
      '--home',
      home,
      '--keep-logs',
      '--defer-capture',
      '--name',
      'web2',
    ]);
    expect(summary).toMatchObject({ participants: ['example', 'examplelogs'], captured: [], captureDeferred: true });
    // --keep-logs: the extension dropped the parent's logs/*.log exclude.
    expect(appliance('web2').fileSets[0]!.excludes).toEqual(['run', 'tmp']);
    expect(existsSync(archiveOf('web2'))).toBe(false);

    const r = abctl(['captureFileSets', '--appliance', 'web2']);
    expect(r.code, r.err).toBe(0);
    expect(tarList(archiveOf('web2'))).toEqual(expect.arrayContaining(['logs/access.log', 'logs/server.log']));
  });

  it('a disabled extension does not run', () => {
    expect(abctl(['disablePlugin', '--name', 'examplelogs']).code).toBe(0);
    const summary = json<{ participants: string[] }>(['introspectexample', '--home', home, '--defer-capture', '--name', 'web3']);
    expect(summary.participants).toEqual(['example']);
    expect(appliance('web3').properties.map((p) => p.name)).not.toContain('log.level');
    expect(abctl(['enablePlugin', '--name', 'examplelogs']).code).toBe(0);
  });

  it('discover finds the installation and the parameters that introspect it', () => {
    const r = abctl(['discover', '--json'], { AB_EXAMPLE_SEARCH: join(tmp, 'products') });
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(r.out) as { plugins: { plugin: string; installations: { description: string; parameters: Record<string, unknown> }[] }[] };
    const example = report.plugins.find((p) => p.plugin === 'example');
    expect(example?.installations).toContainEqual({ description: `minihttpd 0.3 in ${home}`, parameters: { home } });
  });
});
