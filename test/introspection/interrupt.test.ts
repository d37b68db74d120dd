/**
 * Issues 9.1 and 9.3 through real `node bin/abctl` processes: an introspection is one catalog
 * commit, so a SIGINT or a SIGKILL at any point leaves either no appliance or a complete one
 * (archive present and matching its record), and running it again works; a hook that never
 * settles is cut at AB_HOOK_TIMEOUT_MS and named; Ctrl-C stops a hook that keeps Node busy at
 * once, with a message and exit code 130.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../catalog/catalog.js';
import { tempDir } from '../helpers/plugins.js';
import { abctl, abctlAsync, catalogFingerprint, cliEnv, copyMinihttpd, examplePlugins, openApp, writeTestPlugin, type CliResult } from './helpers.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let product: string;
let runs = 0;

beforeAll(async () => {
  // A killed process leaves the instance lock behind until it goes stale (10 s): wait longer than that.
  process.env.AB_LOCK_WAIT_MS = '30000';
  tmp = await tempDir('abctl-interrupt-');
  // The example product with forty 5 MB random files: a capture that takes long enough to be hit midway.
  product = await copyMinihttpd(join(tmp.path, 'big'));
  await mkdir(join(product, 'data'), { recursive: true });
  for (let i = 0; i < 40; i++) await writeFile(join(product, 'data', `blob-${i}.bin`), randomBytes(5 * 1024 * 1024));
});
afterAll(async () => {
  await tmp.cleanup();
});

function freshInstance(): string {
  runs += 1;
  return join(tmp.path, `instance-${runs}`);
}

/** Resolves once `check` is true (polled every 20 ms), or fails after `ms`. */
async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function scratchFiles(instance: string): string[] {
  const dir = join(instance, 'tmp');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((d) => readdirSync(join(dir, d)).map((f) => `${d}/${f}`));
}

function stagingDirs(instance: string): string[] {
  const dir = join(instance, 'catalog');
  return existsSync(dir) ? readdirSync(dir).filter((e) => e.startsWith('.staging-')) : [];
}

/** 'absent' or 'complete' (appliance, its archive record, and an archive that matches it); anything else fails. */
async function stateOfR1(instance: string): Promise<'absent' | 'complete'> {
  const app = await openApp(instance, examplePlugins);
  try {
    const catalog = app.get(Catalog);
    if (!(await catalog.hasAppliance('r1'))) {
      // Nothing of r1 may be left either, not even a directory.
      expect(existsSync(join(instance, 'catalog', 'appliances', 'r1'))).toBe(false);
      return 'absent';
    }
    expect(await catalog.verifyFileSet('r1', 'home')).toBe(true);
    expect((await catalog.getAppliance('r1')).getFileSet('home')).toBeDefined();
    return 'complete';
  } finally {
    await app.stop();
  }
}

function env(instance: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return cliEnv(instance, examplePlugins, { AB_LOCK_WAIT_MS: '30000', ...extra });
}

function introspectR1(instance: string, extra: NodeJS.ProcessEnv = {}): { pid: number; done: Promise<CliResult> } {
  return abctlAsync(['introspectexample', '--home', product, '--name', 'r1'], env(instance, extra));
}

/** Runs it again to the end: it must work, and leave no scratch files of the killed run. */
async function rerunSucceeds(instance: string): Promise<void> {
  const again = abctl(['introspectexample', '--home', product, '--name', 'r1'], env(instance));
  expect(again.code, again.err).toBe(0);
  expect(await stateOfR1(instance)).toBe('complete');
  expect(scratchFiles(instance)).toEqual([]);
}

// Each case captures 200 MB, some wait for a killed process's lock to go stale (10 s).
describe('an introspection is one commit: killed or interrupted, it stores all or nothing', { timeout: 180_000 }, () => {
  it('SIGINT during the capture: a message, exit 130, nothing stored, no scratch left; running it again works', async () => {
    const instance = freshInstance();
    const run = introspectR1(instance);
    await until('the capture to start', () => scratchFiles(instance).some((f) => f.includes('.partial-')));
    process.kill(run.pid, 'SIGINT');
    const r = await run.done;
    expect(r.code, r.err).toBe(130);
    expect(r.err).toContain('introspection interrupted; nothing was stored');
    expect(await stateOfR1(instance)).toBe('absent');
    expect(catalogFingerprint(instance).has('appliances/')).toBe(false);
    expect(scratchFiles(instance)).toEqual([]);
    await rerunSucceeds(instance);
  });

  it('SIGKILL during the capture: nothing stored; the next run sweeps the partial archive and works', async () => {
    const instance = freshInstance();
    const run = introspectR1(instance);
    await until('the capture to start', () => scratchFiles(instance).some((f) => f.includes('.partial-')));
    process.kill(run.pid, 'SIGKILL');
    await run.done;
    expect(await stateOfR1(instance)).toBe('absent');
    await rerunSucceeds(instance);
  });

  it('SIGKILL once the commit has staged the appliance and its archive (before the commit point): nothing stored', async () => {
    const instance = freshInstance();
    // Hold the commit at its staged point, so the kill lands there and not a moment later.
    const run = introspectR1(instance, { AB_CATALOG_PAUSE: 'staged:20000' });
    await until('the staged commit', () => stagingDirs(instance).length > 0 && existsSync(join(instance, 'catalog', stagingDirs(instance)[0]!, 'appliances', 'r1', 'appliance.xml')));
    process.kill(run.pid, 'SIGKILL');
    await run.done;
    expect(await stateOfR1(instance)).toBe('absent');
    await rerunSucceeds(instance);
    // The next commit dropped the staging the killed one left.
    expect(stagingDirs(instance)).toEqual([]);
  });

  it('SIGINT once the appliance is staged: the commit is not cut in half (all stored, or nothing)', async () => {
    const instance = freshInstance();
    // Held at the staged point for a moment, so the SIGINT surely lands inside the commit.
    const run = introspectR1(instance, { AB_CATALOG_PAUSE: 'staged:1500' });
    await until('the staged commit', () => stagingDirs(instance).length > 0, 120_000);
    process.kill(run.pid, 'SIGINT');
    const r = await run.done;
    const state = await stateOfR1(instance);
    // The commit runs to its end once begun: the appliance is stored whole and the command says so.
    expect([r.code, state], r.err).toEqual([0, 'complete']);
  });

  it('SIGKILL after the commit point (while applying): the next command finishes the commit, whole', async () => {
    const instance = freshInstance();
    const run = introspectR1(instance, { AB_CATALOG_PAUSE: 'applying:20000' });
    // The journal's final name (not write-file-atomic's temporary one) is the commit point.
    await until('the commit point', () => existsSync(join(instance, 'catalog')) && readdirSync(join(instance, 'catalog')).some((e) => /^\.txn-.*\.json$/.test(e)), 120_000);
    process.kill(run.pid, 'SIGKILL');
    await run.done;
    expect(await stateOfR1(instance)).toBe('complete');
    const again = abctl(['introspectexample', '--home', product, '--name', 'r1'], env(instance));
    expect(again.code).toBe(1);
    expect(again.err).toContain('the catalog already has an appliance or assembly named "r1"');
  });
});

describe('plugin hooks are bounded and interruptible', { timeout: 60_000 }, () => {
  let bundled: string;
  beforeAll(async () => {
    bundled = join(tmp.path, 'hook-plugins');
    await writeTestPlugin(bundled, { name: 'hang', dehydrate: 'await new Promise(() => {});' });
    // A live interval keeps Node's event loop busy: waiting for the loop to drain would never end.
    await writeTestPlugin(bundled, { name: 'busy', dehydrate: `setInterval(() => {}, 1000); await new Promise(() => {});` });
    // A discovery hook as busy as that dehydrate.
    await writeTestPlugin(bundled, { name: 'seeker', start: `service.discover = async () => { setInterval(() => {}, 1000); await new Promise(() => {}); };` });
  });

  it('a dehydrate that never settles fails at AB_HOOK_TIMEOUT_MS, naming plugin and hook; nothing stored', async () => {
    const instance = freshInstance();
    const started = Date.now();
    const r = abctl(['introspecthang'], cliEnv(instance, bundled, { AB_HOOK_TIMEOUT_MS: '500' }));
    expect(r.code, r.err).toBe(1);
    expect(r.err).toContain('error in plugin hang: dehydrate() of hang did not finish within 500 ms');
    expect(r.err).toContain('AB_HOOK_TIMEOUT_MS');
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(catalogFingerprint(instance).has('appliances/')).toBe(false);
    expect(scratchFiles(instance)).toEqual([]);
  });

  /** Starts `args`, sends one SIGINT once the job is inside the plugin's hook, and expects exit 130 within 5 s. */
  async function interruptInHook(instance: string, args: string[]): Promise<CliResult> {
    const run = abctlAsync(args, cliEnv(instance, bundled));
    await until('the job to start', () => existsSync(join(instance, 'tmp')) && readdirSync(join(instance, 'tmp')).length > 0);
    // Past activation and into the hook: the scratch dir exists only while the job runs.
    await new Promise((r) => setTimeout(r, 300));
    const sent = Date.now();
    process.kill(run.pid, 'SIGINT');
    const r = await run.done;
    expect(Date.now() - sent).toBeLessThan(5_000);
    expect(r.code, r.err).toBe(130);
    return r;
  }

  it('one Ctrl-C stops a hook that keeps Node busy at once: a message, exit 130, scratch dir removed', async () => {
    const instance = freshInstance();
    const r = await interruptInHook(instance, ['introspectbusy']);
    expect(r.err).toContain('introspection interrupted; nothing was stored');
    expect(catalogFingerprint(instance).has('appliances/')).toBe(false);
    expect(readdirSync(join(instance, 'tmp'))).toEqual([]);
  });

  it('one Ctrl-C stops a busy discovery hook too: a message and exit 130', async () => {
    const r = await interruptInHook(freshInstance(), ['discover']);
    expect(r.err).toMatch(/interrupted/);
  });
});
