/**
 * Shared pieces of the introspection tests: an application over a real temp instance,
 * small plugins written as real plugin directories, a catalog fingerprint (to prove that a
 * failed introspection wrote nothing), the built CLI, and archive listings from real tar.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { AbError } from '../../core/errors.js';
import { Application } from '../../services/app.js';
export { freePort } from '../support/sshd.mjs';
import { projectRoot } from '../../services/instance.js';
import { writePlugin } from '../helpers/plugins.js';

export const bin = join(projectRoot(), 'bin', 'abctl');
export const examplePlugins = join(projectRoot(), 'plugins');

export async function openApp(instanceRoot: string, bundledPluginsDir: string): Promise<Application> {
  const app = Application.create({ instanceRoot, bundledPluginsDir });
  await app.start();
  return app;
}

/** The AbError `p` rejects with (failing the test when it resolves or throws something else). */
export async function rejection(p: Promise<unknown>): Promise<AbError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AbError);
  return err as AbError;
}

export interface TestPluginSpec {
  readonly name: string;
  /** plugin.config version; default 1.0. */
  readonly version?: string;
  readonly parentName?: string;
  /** Job parameter definitions, as the plugin would return them. */
  readonly params?: readonly Record<string, unknown>[];
  /** Extra fields of the registered service (alias, allowExtensionsToCreateAppliances...). */
  readonly fields?: Readonly<Record<string, unknown>>;
  /** Body of `async dehydrate(ctx)`; `fs` (node:fs/promises) and `NAME` are in scope. */
  readonly dehydrate?: string;
  /** Extra activator code run in start(context) after the main registration. */
  readonly start?: string;
}

/**
 * Writes a plugin or extension whose dehydrate is the given code. Default root body: one
 * appliance named by `--app` (or "app") with a `trace` property; default extension body:
 * append its name to that property, so the order and what each saw end up in the catalog.
 */
export async function writeTestPlugin(dir: string, spec: TestPluginSpec): Promise<string> {
  const isExt = spec.parentName !== undefined;
  const body =
    spec.dehydrate ??
    (isExt
      ? `const a = ctx.appliances[0]; a.properties.set('trace', a.properties.getValue('trace') + '>' + NAME, 'plugin');`
      : `ctx.createAppliance({ name: String(ctx.parameters.app ?? 'app'), properties: [{ name: 'trace', type: 'string', category: 'user', value: NAME }] });`);
  const service = {
    name: spec.name,
    ...(isExt ? { parentName: spec.parentName } : {}),
    ...(spec.fields ?? {}),
  };
  const index = [
    `import * as fs from 'node:fs/promises';`,
    `const NAME = ${JSON.stringify(spec.name)};`,
    `const service = { ...${JSON.stringify(service)},`,
    `  jobParameters() { return ${JSON.stringify(spec.params ?? [])}; },`,
    `  async dehydrate(ctx) { ${body} },`,
    `};`,
    `export const activator = { start(context) {`,
    `  context.registerService(context.ids.${isExt ? 'IntrospectorPluginExtension' : 'IntrospectorPlugin'}, service);`,
    `  ${spec.start ?? ''}`,
    `} };`,
    '',
  ].join('\n');
  return writePlugin(dir, { name: spec.name, ...(spec.version !== undefined ? { version: spec.version } : {}), ...(isExt ? { parentName: spec.parentName! } : {}), index });
}

/** Every file and directory under the instance's catalog with a hash of each file: equal means untouched. */
export function catalogFingerprint(instanceRoot: string): Map<string, string> {
  const out = new Map<string, string>();
  const root = join(instanceRoot, 'catalog');
  if (!existsSync(root)) return out;
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(abs);
      if (st.isDirectory()) {
        out.set(`${r}/`, 'dir');
        walk(abs, r);
      } else out.set(r, createHash('sha256').update(readFileSync(abs)).digest('hex'));
    }
  };
  walk(root, '');
  return out;
}

/** All text of the catalog's files, for "never in clear" checks. */
export function catalogText(instanceRoot: string): string {
  const root = join(instanceRoot, 'catalog');
  let text = '';
  const walk = (dir: string): void => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      const st = lstatSync(abs);
      if (st.isDirectory()) walk(abs);
      else if (abs.endsWith('.tar.gz')) text += execFileSync('tar', ['-xzOf', abs], { maxBuffer: 64 << 20 }).toString('latin1');
      else text += readFileSync(abs).toString('latin1');
    }
  };
  walk(root);
  return text;
}

export interface CliResult {
  readonly code: number | null;
  readonly out: string;
  readonly err: string;
}

/** Runs the built CLI synchronously with stdin closed (no TTY, as in CI). */
export function abctl(args: readonly string[], env: NodeJS.ProcessEnv): CliResult {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The CLI as a child process, for tests that look at it while it runs. */
export function abctlAsync(args: readonly string[], env: NodeJS.ProcessEnv): { pid: number; done: Promise<CliResult> } {
  const p = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<CliResult>((resolve) => p.on('close', (code) => resolve({ code, out, err })));
  return { pid: p.pid!, done };
}

/** A clean environment for the CLI: one instance, given bundled plugins, no inherited AB_* settings. */
export function cliEnv(instance: string, bundled: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AB_')) env[k] = v;
  return { ...env, AB_INSTANCE: instance, AB_BUNDLED_PLUGINS: bundled, ...extra };
}

export interface ListedEntry {
  readonly name: string;
  /** `-rw-r-----`-style mode string as tar prints it. */
  readonly mode: string;
  readonly size: number;
  /** Symlink target, '' otherwise. */
  readonly link: string;
}

/** `tar -tvzf` parsed to names, modes, sizes and link targets (owners left out: see the callers). */
export function tarListing(archive: string): ListedEntry[] {
  const text = execFileSync('tar', ['--numeric-owner', '-tvzf', archive], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const out: ListedEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    // mode owner/group size date time name[ -> target]
    const m = /^(\S+)\s+\S+\s+(\d+)\s+\S+\s+\S+\s+(.*)$/.exec(line);
    if (!m) throw new Error(`unexpected tar listing line: ${line}`);
    const [name, link = ''] = m[3]!.split(' -> ');
    out.push({ mode: m[1]!, size: Number(m[2]), name: name!.replace(/\/$/, ''), link });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Relative path -> type, mode, and content hash or link target, of an extracted tree. */
export function treeOf(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(abs);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out.set(r, `link ${readlinkSync(abs)}`);
      else if (st.isDirectory()) {
        out.set(r, `dir ${mode}`);
        walk(abs, r);
      } else if (st.isFile()) out.set(r, `file ${mode} ${createHash('sha256').update(readFileSync(abs)).digest('hex')}`);
      else out.set(r, 'other');
    }
  };
  walk(root, '');
  return out;
}

export function extractTo(archive: string, into: string): void {
  execFileSync('tar', ['-xzpf', archive, '-C', into], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A copy of examples/minihttpd at `dest`, listening on `port` when started. */
export async function copyMinihttpd(dest: string, port?: number): Promise<string> {
  await cp(join(projectRoot(), 'examples', 'minihttpd'), dest, { recursive: true });
  if (port !== undefined) {
    const conf = join(dest, 'conf', 'server.properties');
    await writeFile(conf, (await readFile(conf, 'utf8')).replace(/^port=.*$/m, `port=${port}`));
  }
  return dest;
}

/** The excludes of the product tree below: the three forms, nested ones, and one for a symlink. */
export const TREE_EXCLUDES = ['foo', 'bar/*', 'logs/*.log', 'conf/cache', 'data/tmp/*', '**/*.swp'] as const;

/**
 * A small product installation with every case a capture must get right: the exclude forms,
 * modes 0750/0640/0755, relative/absolute/dangling symlinks, empty directories, a FIFO
 * (skipped), a dot file, a name with spaces, and a file big enough for several 1 MiB blocks.
 */
export async function buildProductTree(root: string): Promise<void> {
  const { chmod, mkdir: mk, symlink } = await import('node:fs/promises');
  const file = async (rel: string, data: string | Buffer, mode = 0o644): Promise<void> => {
    await mk(join(root, rel, '..'), { recursive: true });
    await writeFile(join(root, rel), data);
    await chmod(join(root, rel), mode);
  };
  await file('foo/a.txt', 'foo a');
  await file('foo/sub/b.txt', 'foo b');
  await file('bar/x.txt', 'bar x');
  await file('bar/sub/y.txt', 'bar y');
  await file('bar/.hidden', 'bar hidden');
  await file('logs/server.log', 'log line\n');
  await file('logs/README', 'logs are not captured\n');
  await file('logs/archive/old.log', 'kept: *.log does not cross /\n');
  await file('conf/app.conf', 'port=8080\n', 0o640);
  await file('conf/cache/c1', 'cache');
  await file('conf/.app.conf.swp', 'editor swap');
  await file('data/tmp/t1', 'tmp');
  await file('data/tmp/deeper/t2', 'tmp');
  await file('data/keep.dat', Buffer.alloc(3 * 1024 * 1024 + 123, 7));
  await file('bin/run.sh', '#!/bin/sh\necho run\n', 0o755);
  await file('name with spaces.txt', 'spaces\n');
  await chmod(join(root, 'bin'), 0o750);
  await mk(join(root, 'empty/deeper'), { recursive: true });
  await symlink('conf/app.conf', join(root, 'rel-link'));
  await symlink('/etc/hostname', join(root, 'abs-link'));
  await symlink('does/not/exist', join(root, 'dangling'));
  await symlink('../conf', join(root, 'bin/conf-dir-link'));
  execFileSync('mkfifo', [join(root, 'data', 'pipe')]);
}

/** What an archive of buildProductTree with TREE_EXCLUDES must hold (paths without ./). */
export const EXPECTED_TREE_ENTRIES: readonly string[] = [
  'abs-link', 'bar', 'bin', 'bin/conf-dir-link', 'bin/run.sh', 'conf', 'conf/app.conf', 'dangling', 'data', 'data/keep.dat', 'data/tmp',
  'empty', 'empty/deeper', 'logs', 'logs/README', 'logs/archive', 'logs/archive/old.log', 'name with spaces.txt', 'rel-link',
];

/** A root plugin that describes the tree at --root with TREE_EXCLUDES (and nothing else). */
export async function writeTreePlugin(dir: string, name = 'tree'): Promise<void> {
  await writeTestPlugin(dir, {
    name,
    params: [{ name: 'root', type: 'path', description: 'product tree', required: true }],
    dehydrate: `ctx.createAppliance({ name: 'product', fileSets: [{ name: 'home', root: String(ctx.parameters.root), excludes: ${JSON.stringify(TREE_EXCLUDES)} }] });`,
  });
}
