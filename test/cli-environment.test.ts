/**
 * Ordinary environment faults (issue 9.7) are user errors naming the path, with exit 1 and a
 * hint; exit 2 ("a bug in abctl") stays for real bugs. The built CLI, as a user runs it.
 * Read-only and full file systems are real mounts: chmod does not stop root, a mount does.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { appendFile, cp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../services/instance.js';
import { tempDir } from './helpers/plugins.js';

const bin = join(projectRoot(), 'bin', 'abctl');
let tmp: { path: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;
const mounted: string[] = [];

function abctl(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function mount(args: string[]): void {
  const r = spawnSync('mount', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`mount ${args.join(' ')}: ${r.stderr}`);
  mounted.push(args[args.length - 1]!);
}

/** Whether this process may mount file systems (root in a container that allows it). */
function mountProblem(): string | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'abctl-mount-probe-'));
  try {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
    if (r.error || r.status !== 0) return `cannot mount here (${r.error?.message ?? r.stderr.trim()}); the read-only and full file system cases need mount`;
    spawnSync('umount', [dir]);
    return undefined;
  } finally {
    rmdirSync(dir);
  }
}
const cannotMount = mountProblem();

/** The user-error shape every case must have: exit 1, the path, a hint, no "bug in abctl". */
function expectUserError(r: { code: number | null; err: string }, path: string, what: RegExp): void {
  expect(r.code, r.err).toBe(1);
  expect(r.err).toMatch(what);
  expect(r.err).toContain(path);
  expect(r.err).toContain('hint:');
  expect(r.err).not.toContain('internal error');
  expect(r.err).not.toContain('bug in abctl');
}

beforeEach(async () => {
  tmp = await tempDir('abctl-env-');
  env = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('AB_')) delete env[k];
});
afterEach(async () => {
  for (const dir of mounted.splice(0).reverse()) spawnSync('umount', [dir]);
  await tmp.cleanup();
});

describe('environment errors are user errors', () => {
  it('AB_INSTANCE naming a regular file (ENOTDIR): exit 1 with the path and a hint', async () => {
    const file = join(tmp.path, 'instance-file');
    await writeFile(file, 'not a directory\n');
    for (const command of [['describeCatalog'], ['describePlugins'], ['createAssembly', '--name', 'a']]) {
      expectUserError(abctl(command, { AB_INSTANCE: file }), file, /a part of the path is a file, not a directory/);
    }
    const r = abctl(['describeCatalog', '--json'], { AB_INSTANCE: file });
    const { error } = JSON.parse(r.out) as { error: { code: string; where: string; hint: string } };
    expect(error.code).toBe('ENV_ENOTDIR');
    expect(error.where.startsWith(file)).toBe(true);
    expect(error.hint).toContain('--instance');
  });

  it.skipIf(cannotMount)(`a read-only catalog (EROFS) names the catalog path${cannotMount ? ` [skipped: ${cannotMount}]` : ''}`, () => {
    const instance = join(tmp.path, 'instance');
    env.AB_INSTANCE = instance;
    expect(abctl(['createAssembly', '--name', 'first']).code).toBe(0);
    const catalog = join(instance, 'catalog');
    mount(['--bind', catalog, catalog]);
    const remount = spawnSync('mount', ['-o', 'remount,bind,ro', catalog], { encoding: 'utf8' });
    expect(remount.status, remount.stderr).toBe(0);
    // Node's recursive mkdir says ENOENT here; the user must read "read-only", not "missing".
    const r = abctl(['createAssembly', '--name', 'second']);
    expectUserError(r, catalog, /read-only file system/);
    const j = abctl(['createAssembly', '--name', 'second', '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.out)).toMatchObject({ error: { code: 'ENV_EROFS', where: expect.stringContaining(catalog) } });
    // Reading still works.
    expect(abctl(['describeCatalog']).out).toContain('first');
  });

  it.skipIf(cannotMount)(`a full disk (ENOSPC) during an introspection names the instance${cannotMount ? ` [skipped: ${cannotMount}]` : ''}`, async () => {
    const instance = join(tmp.path, 'small');
    await mkdir(instance);
    mount(['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', instance]);
    const home = join(tmp.path, 'minihttpd');
    await cp(join(projectRoot(), 'examples', 'minihttpd'), home, { recursive: true });
    // Random bytes do not compress: the capture cannot fit in 64 KiB.
    await appendFile(join(home, 'htdocs', 'big.bin'), randomBytes(600_000));
    env.AB_INSTANCE = instance;
    const r = abctl(['introspectexample', '--home', home]);
    expectUserError(r, instance, /no space left on the device/);
    const j = abctl(['introspectexample', '--home', home, '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.out)).toMatchObject({ error: { code: 'ENV_ENOSPC', where: expect.stringContaining(instance) } });
  });
});
