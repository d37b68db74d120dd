/**
 * The assembly archive's round trip between two instance directories, through the built CLI:
 * the example site exported from one (images over the offline test root file system), imported
 * into the other, read back with describeAssemblies and verifyCatalog, deployed there on `local`
 * and answering HTTP. Then what import must refuse, each time leaving the catalog as it was.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../../catalog/index.js';
import { EditingService } from '../../services/editing/editing-service.js';
import { instanceLayout } from '../../services/instance.js';
import { Application } from '../../services/app.js';
import { DeploymentService } from '../../services/deploy/module.js';
import { tempDir } from '../helpers/plugins.js';
import { abctl, cliEnv, examplePlugins } from '../introspection/helpers.js';
import { testRootfs } from '../support/podman.mjs';
import { freePort } from '../support/sshd.mjs';
import { exampleSite, health, writeSitePlan, type ExampleSite } from '../deploy/example-fixture.js';

describe('exportAssembly / importAssembly', () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  let site: ExampleSite;
  let port: number;
  let apiPort: number;
  let archive: string;
  let home: string;
  const second = () => join(tmp.path, 'second');
  const env2 = () => cliEnv(second(), examplePlugins);
  const listing = () => readdirSync(join(second(), 'catalog', 'assemblies')).sort();

  beforeAll(async () => {
    tmp = await tempDir('abctl-assembly-archive-');
    port = await freePort();
    apiPort = await freePort();
    home = join(tmp.path, 'target', 'opt', 'minihttpd');
    site = await exampleSite(tmp.path, home, { web: { port, serverName: 'web-imported', target: 'local' }, api: { port: apiPort, serverName: 'api-imported', target: 'local' } });
    archive = join(tmp.path, 'site.tar');
    const r = abctl(['exportAssembly', '--assembly', 'site', '--base', testRootfs(), '--plan', site.planFile, '--out', archive, '--json'], site.env);
    expect(r.err).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as { images: { appliance: string; tag: string }[]; passwords: number; kubernetes: string[]; blobs: number; blobReferences: number };
    expect(result.images.map((i) => i.appliance).sort()).toEqual(['api', 'web']);
    // The base layers (and the Node.js binary's layer) of the two images are stored once.
    expect(result.blobs).toBeLessThan(result.blobReferences);
    expect(result.passwords).toBeGreaterThan(0);
    expect(result.kubernetes.length).toBeGreaterThan(0);
  }, 180_000);
  afterAll(() => tmp?.cleanup());

  it('writes one OCI index, the catalog entries (passwords encrypted) and manifests without Secrets', () => {
    const names = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' }).split('\n').filter(Boolean);
    expect(names[0]).toBe('abctl-assembly.json');
    expect(names).toContain('oci-layout');
    expect(names).toContain('index.json');
    expect(names).toContain('catalog/assemblies/site/assembly.xml');
    expect(names.some((n) => n.startsWith('kubernetes/') && /secret/i.test(n))).toBe(false);
    const index = JSON.parse(execFileSync('tar', ['-xOf', archive, 'index.json'], { encoding: 'utf8' })) as { manifests: { annotations: Record<string, string> }[] };
    expect(index.manifests.map((m) => m.annotations['io.abctl.appliance']).sort()).toEqual(['api', 'web']);
    expect(new Set(names.filter((n) => n.startsWith('blobs/sha256/') && n.length > 20)).size).toBe(names.filter((n) => n.startsWith('blobs/sha256/') && n.length > 20).length);
    const web = execFileSync('tar', ['-xOf', archive, 'catalog/assemblies/site/members/web/appliance.xml'], { encoding: 'utf8' });
    expect(web).toMatch(/enc:v1:/);
    expect(execFileSync('tar', ['-xOf', archive], { encoding: 'latin1', maxBuffer: 1 << 30 })).not.toContain('s3cret');
  });

  it('refuses an archive with passwords without the exporting key, changing nothing', () => {
    const r = abctl(['importAssembly', archive], env2());
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('password value(s), encrypted with the exporting instance');
    expect(r.err).toContain('--key');
    expect(existsSync(join(second(), 'catalog', 'assemblies', 'site'))).toBe(false);
  });

  it('imports into another instance; describeAssemblies and verifyCatalog read it; a plain deploy answers HTTP', async () => {
    const key = join(site.instance, 'config', 'catalog.key');
    const r = abctl(['importAssembly', archive, '--key', key, '--json'], env2());
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const result = JSON.parse(r.out) as { assembly: string; images: { dir: string; tag: string; manifestDigest: string }[]; kubernetesDir: string };
    expect(result.assembly).toBe('site');
    // Each image is a layout of its own again, read by skopeo (a real OCI tool) under the tag createTemplate gave it.
    for (const img of result.images) {
      const info = JSON.parse(execFileSync('skopeo', ['inspect', `oci:${img.dir}:${img.tag}`], { encoding: 'utf8', timeout: 60_000 })) as { Digest: string };
      expect(info.Digest).toBe(img.manifestDigest);
    }
    // The kustomization names only files that were shipped (the Secrets were left out).
    const resources = readFileSync(join(result.kubernetesDir, 'kustomization.yaml'), 'utf8').split('\n').filter((l) => /^\s*- /.test(l)).map((l) => l.replace(/^\s*- /, '').trim());
    expect(resources.length).toBeGreaterThan(0);
    for (const f of resources) expect(existsSync(join(result.kubernetesDir, f)), f).toBe(true);

    const described = abctl(['describeAssemblies', '--json'], env2());
    expect(described.code).toBe(0);
    expect(described.out).toContain('"site"');
    const verified = abctl(['verifyCatalog', '--json'], env2());
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.out)).toMatchObject({ problems: [] });

    // One member runs here (both would share the fixture's product home on this machine): the imported assembly is edited like any other.
    const layout = instanceLayout(second(), examplePlugins);
    const catalog = new Catalog(layout);
    await new EditingService(catalog, layout).removeFromAssembly('site', 'api');
    const plan = join(tmp.path, 'plan2.xml');
    await writeSitePlan(catalog, { web: { port, serverName: 'web-imported', target: 'local' } }, plan);
    const app = Application.create({ instanceRoot: second(), bundledPluginsDir: examplePlugins });
    const service = app.get(DeploymentService);
    try {
      const d = await service.deploy({ assembly: 'site', planFile: plan, targetRoot: join(tmp.path, 'target', 'var', 'lib', 'abctl') });
      expect(d.failures).toEqual([]);
      expect(await health('127.0.0.1', port)).toBe('ok web-imported');
    } finally {
      await service.undeploy('site').catch(() => {});
    }
  }, 120_000);

  it('refuses a name clash with a clear message, and imports under --as', () => {
    const key = join(site.instance, 'config', 'catalog.key');
    const clash = abctl(['importAssembly', archive, '--key', key], env2());
    expect(clash.code).not.toBe(0);
    expect(clash.err).toContain('already has an assembly named "site"');
    expect(clash.err).toContain('--as');
    const renamed = abctl(['importAssembly', archive, '--key', key, '--as', 'site2'], env2());
    expect(renamed.err).toBe('');
    expect(listing()).toEqual(['site', 'site2']);
    expect(abctl(['verifyCatalog', '--json'], env2()).code).toBe(0);
  });

  it('refuses a damaged blob and an entry outside its root, leaving the catalog as it was', () => {
    const key = join(site.instance, 'config', 'catalog.key');
    const before = listing();
    // Flip one byte in the largest blob of a copy of the archive.
    const work = join(tmp.path, 'damaged');
    execFileSync('mkdir', ['-p', work]);
    execFileSync('tar', ['-xf', archive, '-C', work]);
    const blobs = join(work, 'blobs', 'sha256');
    const biggest = readdirSync(blobs).sort((a, b) => readFileSync(join(blobs, b)).length - readFileSync(join(blobs, a)).length)[0] as string;
    const bytes = readFileSync(join(blobs, biggest));
    bytes[100] = (bytes[100] as number) ^ 0xff;
    writeFileSync(join(blobs, biggest), bytes);
    const damaged = join(tmp.path, 'damaged.tar');
    execFileSync('tar', ['-cf', damaged, '-C', work, '.']);
    const r = abctl(['importAssembly', damaged, '--key', key, '--as', 'site3'], env2());
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('has the digest sha256:');
    expect(r.err).toContain(biggest);

    // An entry that climbs out (GNU tar keeps "../" names with -P).
    const sub = join(tmp.path, 'evil', 'sub');
    execFileSync('mkdir', ['-p', sub]);
    writeFileSync(join(tmp.path, 'evil', 'x.txt'), 'x');
    const evil = join(tmp.path, 'evil.tar');
    execFileSync('tar', ['-cPf', evil, '../x.txt'], { cwd: sub });
    const e = abctl(['importAssembly', evil, '--as', 'site4'], env2());
    expect(e.code).not.toBe(0);
    expect(e.err).toContain('entry outside its root');
    expect(e.err).toContain('../x.txt');
    expect(listing()).toEqual(before);
    expect(readdirSync(join(second(), 'tmp'))).toEqual([]);
  });
});
