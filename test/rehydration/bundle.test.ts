/**
 * writeBundle on a real catalog (the example introspected from examples/minihttpd): what the
 * bundle holds, its modes, the plan applied, passwords only where they belong: encrypted with the
 * bundle's key in appliance.xml, absent from an image's bundle.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from '../../catalog/xml-codec.js';
import { Appliance } from '../../core/metadata/index.js';
import { BUNDLE_FORMAT_VERSION, parseManifest } from '../../services/rehydration/bundle-format.js';
import { BundleKey } from '../../services/rehydration/bundle-key.js';
import { writeBundle, type WrittenBundle } from '../../services/rehydration/bundle.js';
import { tempDir } from '../helpers/plugins.js';
import { exampleDeployment, type ExampleDeployment } from './bundle-fixture.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let dep: ExampleDeployment;
let written: WrittenBundle;

beforeAll(async () => {
  tmp = await tempDir('abctl-bundle-');
  dep = await exampleDeployment(tmp.path, { port: 18555, serverName: 'web-one' });
  written = await writeBundle({
    catalog: dep.catalog,
    assembly: dep.assembly,
    plan: dep.plan,
    appliance: 'web',
    instanceIndex: 1,
    bindings: dep.bindings,
    inventory: dep.inventory,
    deployment: 'd1',
    outDir: join(tmp.path, 'bundle'),
    archive: join(tmp.path, 'bundle.tar'),
    includeAgent: false,
  });
}, 120_000);
afterAll(() => tmp.cleanup());

const base = () => ({ catalog: dep.catalog, assembly: dep.assembly, plan: dep.plan, instanceIndex: 1, bindings: dep.bindings, inventory: dep.inventory, deployment: 'd1', includeAgent: false });

function walk(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) walk(p, out);
  }
  return out;
}

describe('writeBundle', () => {
  it('records the instance, the chain and each file set with its archive and checksum', () => {
    const m = parseManifest(readFileSync(join(written.dir, 'bundle.json'), 'utf8'), 'bundle.json');
    expect(m).toMatchObject({ deployment: 'd1', assembly: 'site', appliance: 'web', instanceIndex: 1, chain: ['example', 'examplelogs'] });
    expect(m.plugins.map((p) => p.directory)).toEqual(['plugins/example', 'plugins/examplelogs']);
    expect(m.fileSets).toHaveLength(1);
    const fs = m.fileSets[0]!;
    expect(fs).toMatchObject({ name: 'home', root: dep.targetHome, owner: 'root', group: 'root', captured: true, codec: 'gzip' });
    const archive = readFileSync(join(written.dir, fs.archive!));
    expect(createHash('sha256').update(archive).digest('hex')).toBe(fs.sha256);
    expect(execFileSync('tar', ['-tzf', join(written.dir, fs.archive!)], { encoding: 'utf8' })).toContain('bin/minihttpd.mjs');
    expect(m.contentResources).toEqual({ 'server.properties': 'content/server.properties' });
    expect(readFileSync(join(written.dir, 'content', 'server.properties'), 'utf8')).toContain('port={{[port]}}');
    expect(readFileSync(join(written.dir, 'plugins', 'example', 'index.js'), 'utf8')).toContain("const NAME = 'example'");
    expect(JSON.parse(readFileSync(join(written.dir, 'bindings.json'), 'utf8'))).toEqual(dep.bindings);
  });

  it('writes the appliance with the plan applied; the password only there, encrypted with the bundle key, which bundle.json names by id only', () => {
    const file = join(written.dir, 'appliance.xml');
    const key = written.passwordKey!;
    const a = Appliance.fromPlain(parseDocument(readFileSync(file, 'utf8'), { where: file, secret: (stored) => key.decrypt(stored, file) }).plain);
    expect(a.properties.getValue('port')).toBe('18555');
    expect(a.properties.getValue('server.name')).toBe('web-one');
    expect(a.properties.getValue('admin.password')).toBe('s3cret-from-plan');
    expect(a.properties.getValue('log.level')).toBe('info');
    const sealed = Appliance.fromPlain(parseDocument(readFileSync(file, 'utf8'), { where: file }).plain).properties.getValue('admin.password');
    expect(sealed).toMatch(/^enc:v1:/);
    // Another key cannot open it.
    expect(() => BundleKey.generate().decrypt(sealed!, file)).toThrow(expect.objectContaining({ code: 'BUNDLE_SECRET_INVALID', where: file }));
    const m = parseManifest(readFileSync(join(written.dir, 'bundle.json'), 'utf8'), 'bundle.json');
    expect(m).toMatchObject({ formatVersion: BUNDLE_FORMAT_VERSION, passwordKey: { cipher: 'aes-256-gcm', keyId: key.id } });
    // No file of the bundle (or its tar) holds the password or the key.
    for (const f of [...walk(written.dir), written.archive!].filter((p) => statSync(p).isFile())) {
      const text = readFileSync(f).toString('latin1');
      expect([f, text.includes('s3cret-from-plan'), text.includes(key.text())]).toEqual([f, false, false]);
    }
    const navigator = readFileSync(join(written.dir, 'assembly.xml'), 'utf8');
    expect(navigator).toContain('web-one');
  });

  it('writes an image\'s bundle with no password value and no key (the container gets them from its Secret)', async () => {
    const image = await writeBundle({ ...base(), appliance: 'web', outDir: join(tmp.path, 'image'), image: { ownersInLayer: [] } });
    expect(image.passwordKey).toBeUndefined();
    expect(image.manifest.passwordKey).toBeUndefined();
    const file = join(image.dir, 'appliance.xml');
    const a = Appliance.fromPlain(parseDocument(readFileSync(file, 'utf8'), { where: file }).plain);
    expect(a.properties.get('admin.password')).toMatchObject({ secret: true, value: undefined });
    for (const f of walk(image.dir).filter((p) => statSync(p).isFile())) expect([f, readFileSync(f, 'latin1').includes('s3cret-from-plan')]).toEqual([f, false]);
  });

  it('makes every directory 0700 and every file without group or other access', () => {
    expect(statSync(written.dir).mode & 0o777).toBe(0o700);
    for (const p of walk(written.dir)) {
      const st = statSync(p);
      if (st.isDirectory()) expect([p, (st.mode & 0o777).toString(8)]).toEqual([p, '700']);
      else expect([p, st.mode & 0o077]).toEqual([p, 0]);
    }
    expect(statSync(written.archive!).mode & 0o777).toBe(0o600);
    const listed = execFileSync('tar', ['-tf', written.archive!], { encoding: 'utf8' }).split('\n');
    expect(listed).toContain('./bundle.json');
    expect(listed).toContain('./appliance.xml');
  });

  it('refuses a directory that already holds files, and names an appliance the assembly lacks', async () => {
    await expect(writeBundle({ ...base(), appliance: 'web', outDir: written.dir })).rejects.toMatchObject({ code: 'BUNDLE_DIR_NOT_EMPTY', where: written.dir });
    await expect(writeBundle({ ...base(), appliance: 'db', outDir: join(tmp.path, 'b2') })).rejects.toThrow(/has no member "db"/);
  });
});
