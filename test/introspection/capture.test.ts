/**
 * File set capture through introspection, on this machine: each exclude form, modes,
 * symlinks and empty directories checked by extracting the catalog's archive with the real
 * tar; deferred capture and recapture; interrupted captures leave the catalog as it was.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AbError } from '../../core/errors.js';
import { Catalog } from '../../catalog/catalog.js';
import type { Application } from '../../services/app.js';
import { CaptureJob } from '../../services/jobs/capture-job.js';
import { IntrospectJob } from '../../services/jobs/introspect-job.js';
import { silentProgress } from '../../services/jobs/job.js';
import {
  EXPECTED_TREE_ENTRIES,
  abctl,
  buildProductTree,
  catalogFingerprint,
  cliEnv,
  extractTo,
  openApp,
  tarListing,
  treeOf,
  writeTreePlugin,
} from './helpers.js';
import { instanceEach } from '../support/each-test.js';
import { writePlugin } from '../helpers/plugins.js';

const t = instanceEach('abctl-introspect-capture-', async (w) => {
  await buildProductTree(w.product);
  await writeTreePlugin(w.bundled);
});

function start(): Promise<Application> {
  return t.open();
}

async function archivePath(): Promise<string> {
  return t.app!.get(Catalog).fileSetArchivePath('product', 'home');
}

describe('capture through introspection', () => {
  it('applies each exclude form and keeps modes, symlinks and empty directories', async () => {
    await start();
    const service = t.app!.get(IntrospectJob);
    const summary = await service.introspect(await service.prepare('tree'), { root: t.product });
    expect(summary.captured).toHaveLength(1);
    // The FIFO is skipped and said so.
    expect(summary.warnings).toEqual(['product/home: skipped data/pipe (fifo)']);

    const archive = await archivePath();
    expect(await t.app!.get(Catalog).verifyFileSet('product', 'home')).toBe(true);
    const listing = tarListing(archive);
    expect(listing.map((e) => e.name).filter((n) => n !== '.')).toEqual(EXPECTED_TREE_ENTRIES.map((n) => `./${n}`));

    const out = join(t.path, 'extracted');
    await mkdir(out);
    extractTo(archive, out);
    const got = treeOf(out);
    const source = treeOf(t.product);
    expect([...got.keys()]).toEqual([...EXPECTED_TREE_ENTRIES]);
    // Same type, mode, content or link target as the source, entry by entry.
    for (const [name, value] of got) expect(value, name).toBe(source.get(name));
    expect(got.get('bin')).toBe('dir 750');
    expect(got.get('conf/app.conf')).toMatch(/^file 640 /);
    expect(got.get('bin/run.sh')).toMatch(/^file 755 /);
    expect(got.get('rel-link')).toBe('link conf/app.conf');
    expect(got.get('abs-link')).toBe('link /etc/hostname');
    expect(got.get('dangling')).toBe('link does/not/exist');
    // `foo` is absent; `bar/*` and `data/tmp/*` leave empty directories; `logs/*.log` only drops the top .log.
    expect(readdirSync(join(out, 'bar'))).toEqual([]);
    expect(readdirSync(join(out, 'data', 'tmp'))).toEqual([]);
    expect(readdirSync(join(out, 'empty'))).toEqual(['deeper']);
    expect(existsSync(join(out, 'foo'))).toBe(false);
  });
});

describe('deferred capture and recapture', () => {
  it('stores metadata only with --defer-capture; captureFileSets captures later and again, replacing the archive', async () => {
    const env = cliEnv(t.instance, t.bundled);
    const r = abctl(['introspecttree', '--root', t.product, '--defer-capture'], env);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('file sets not captured yet');
    expect(readdirSync(join(t.instance, 'catalog', 'appliances', 'product'))).not.toContain('filesets');

    const first = abctl(['captureFileSets', '--appliance', 'product', '--json'], env);
    expect(first.code).toBe(0);
    const [c1] = (JSON.parse(first.out) as { captured: { fileSet: string; sha256: string }[] }).captured;
    expect(c1?.fileSet).toBe('home');

    await writeFile(join(t.product, 'conf', 'added.conf'), 'new\n');
    const second = abctl(['captureFileSets', '--appliance', 'product', '--json'], env);
    expect(second.code).toBe(0);
    const [c2] = (JSON.parse(second.out) as { captured: { sha256: string }[] }).captured;
    expect(c2?.sha256).not.toBe(c1?.sha256);

    await start();
    const archive = await archivePath();
    expect(tarListing(archive).map((e) => e.name)).toContain('./conf/added.conf');
    expect(await t.app!.get(Catalog).verifyFileSet('product', 'home')).toBe(true);
    // One archive and its record; no partial files next to them, nothing left in tmp.
    expect(readdirSync(join(archive, '..')).sort()).toEqual(['archives.xml', 'home.tar.gz']);
    expect(existsSync(join(t.instance, 'tmp')) ? readdirSync(join(t.instance, 'tmp')) : []).toEqual([]);

    const unknown = abctl(['captureFileSets', '--appliance', 'nope'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('no appliance or atomic assembly named "nope"');
  });

  async function capturedOnce(): Promise<{ fingerprint: Map<string, string>; archive: string; bytes: Buffer }> {
    await start();
    const service = t.app!.get(IntrospectJob);
    await service.introspect(await service.prepare('tree'), { root: t.product });
    const archive = await archivePath();
    return { fingerprint: catalogFingerprint(t.instance), archive, bytes: await readFile(archive) };
  }

  async function expectUntouched(before: { fingerprint: Map<string, string>; archive: string; bytes: Buffer }): Promise<void> {
    expect(catalogFingerprint(t.instance)).toEqual(before.fingerprint);
    expect((await readFile(before.archive)).equals(before.bytes)).toBe(true);
    expect(await t.app!.get(Catalog).verifyFileSet('product', 'home')).toBe(true);
    expect(existsSync(join(t.instance, 'tmp')) ? readdirSync(join(t.instance, 'tmp')) : []).toEqual([]);
  }

  it('a broken extension refuses the recapture and leaves the catalog as it was; once disabled, it is named and left out', async () => {
    const before = await capturedOnce();
    await writePlugin(t.bundled, { name: 'treebad', parentName: 'tree', index: 'export const a = { start() { throw new Error("checker binary missing"); } };\n' });
    const env = cliEnv(t.instance, t.bundled);
    const r = abctl(['captureFileSets', '--appliance', 'product'], env);
    expect(r.code).toBe(1);
    expect(r.err).toContain('error in plugin treebad:');
    expect(r.err).toContain('captureFileSets of product cannot run: extension treebad of tree is broken (PLUGIN_START_FAILED:');
    expect(r.err).toContain('abctl disablePlugin --name treebad');
    await expectUntouched(before);

    expect(abctl(['disablePlugin', '--name', 'treebad'], env).code).toBe(0);
    const again = abctl(['captureFileSets', '--appliance', 'product'], env);
    expect(again.code, again.err).toBe(0);
    expect(again.err).toContain('disabled extensions of tree do not check this capture: treebad');
    // --json carries them too, in introspection's shape.
    const json = abctl(['captureFileSets', '--appliance', 'product', '--json'], env);
    expect(json.code, json.err).toBe(0);
    const out = JSON.parse(json.out) as { captured: unknown[]; disabledExtensions: unknown };
    expect(out.captured).toHaveLength(1);
    expect(out.disabledExtensions).toEqual([{ name: 'treebad', disabledBy: 'user' }]);
  });

  it('a broken root plugin refuses the recapture, catalog unchanged; disabled by the user, it captures with a warning', async () => {
    const before = await capturedOnce();
    const index = join(t.bundled, 'tree', 'index.js');
    const working = await readFile(index, 'utf8');
    await writeFile(index, 'export const a = { start() { throw new Error("checker binary missing"); } };\n');
    const env = cliEnv(t.instance, t.bundled);
    const r = abctl(['captureFileSets', '--appliance', 'product', '--json'], env);
    expect(r.code).toBe(1);
    const { error } = JSON.parse(r.out) as { error: { code: string; message: string; hint: string; plugin: string } };
    expect(error.code).toBe('PLUGIN_NOT_ENABLED');
    expect(error.plugin).toBe('tree');
    expect(error.message).toContain('captureFileSets of product cannot run: plugin tree is broken (PLUGIN_START_FAILED:');
    expect(error.message).toContain('checker binary missing');
    expect(error.hint).toContain('or capture without its checks: abctl disablePlugin --name tree');
    await expectUntouched(before);

    expect(abctl(['disablePlugin', '--name', 'tree'], env).code).toBe(0);
    const again = abctl(['captureFileSets', '--appliance', 'product', '--json'], env);
    expect(again.code, again.err).toBe(0);
    expect(again.err).toContain('plugin tree is not enabled: its capture checks do not run');
    expect((JSON.parse(again.out) as { captured: unknown[] }).captured).toHaveLength(1);
    await writeFile(index, working);
  });

  it('an aborted recapture leaves no partial archive and the previous one intact', async () => {
    const before = await capturedOnce();
    await writeFile(join(t.product, 'conf', 'added.conf'), 'new\n');
    const controller = new AbortController();
    const err = await t.app!
      .get(CaptureJob)
      .capture('product', {
        signal: controller.signal,
        // Abort once the first 1 MiB block is out: the capture is then midway.
        progress: { ...silentProgress, capture: () => controller.abort(new Error('interrupted by the test')) },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(AbError);
    expect(err).toMatchObject({ code: 'JOB_INTERRUPTED', message: 'capture interrupted; the catalog was not changed' });
    await expectUntouched(before);
  });

  it('a source file vanishing midway fails the recapture and leaves the previous archive', async () => {
    const before = await capturedOnce();
    // Sorted walk: name with spaces.txt comes after data/keep.dat (several blocks, so progress fires first).
    const late = join(t.product, 'name with spaces.txt');
    const err = await t.app!
      .get(CaptureJob)
      .capture('product', { progress: { ...silentProgress, capture: () => rmSync(late, { force: true }) } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(AbError);
    expect((err as AbError).code).toBe('CAPTURE_SOURCE_CHANGED');
    expect((err as AbError).message).toContain('name with spaces.txt disappeared during the capture');
    await expectUntouched(before);
  });

  it('an aborted introspection writes nothing at all', async () => {
    await start();
    const service = t.app!.get(IntrospectJob);
    const controller = new AbortController();
    const err = await service
      .introspect(await service.prepare('tree'), { root: t.product }, { signal: controller.signal, progress: { ...silentProgress, capture: () => controller.abort() } })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toMatchObject({ code: 'JOB_INTERRUPTED', message: 'introspection interrupted; nothing was stored' });
    expect(catalogFingerprint(t.instance)).toEqual(new Map());
  });
});
