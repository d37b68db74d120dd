/**
 * createTemplate on the real example (introspected and captured from examples/minihttpd) over a
 * real root file system: the layout is checked blob by blob against the OCI image spec, read by
 * skopeo and unpacked by umoci (Debian packages, real tools); the same inputs give the same
 * digest; bases of every kind are read, whiteouts included; layers never leave the root; the
 * container's run-time configuration is checked like a plan.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Appliance } from '../../core/metadata/index.js';
import { parseDocument } from '../../catalog/xml-codec.js';
import { captureFileSet } from '../../services/archive/capture.js';
import { encodeHeader, endOfArchive, padded } from '../../services/archive/tar-header.js';
import { openBase } from '../../services/image/base.js';
import { fileSetLayer } from '../../services/image/fileset-layer.js';
import { ENTRYPOINT, FIXED_CREATED, createTemplates } from '../../services/image/image-writer.js';
import { LayerWriter, dirHeader } from '../../services/image/layer-writer.js';
import { BlobStore, MEDIA_TYPES, type ImageConfig, type ImageManifest, type LayerDescriptor } from '../../services/image/oci.js';
import { applyRuntimeProperties, containerInstance, pingBundle } from '../../services/rehydration/foreground.js';
import { tempDir } from '../helpers/plugins.js';
import { abctl } from '../introspection/helpers.js';
import { IMAGE_HOME, exampleImage, type ExampleImage } from './fixture.js';

let tmp: { path: string; cleanup: () => Promise<void> };
let ex: ExampleImage;

beforeAll(async () => {
  tmp = await tempDir('abctl-image-');
  ex = await exampleImage(tmp.path);
}, 180_000);
afterAll(async () => {
  await ex?.site.app.stop();
  await tmp.cleanup();
});

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const blob = (dir: string, digest: string): Buffer => readFileSync(join(dir, 'blobs', 'sha256', digest.replace('sha256:', '')));
const json = <T>(b: Buffer): T => JSON.parse(b.toString('utf8')) as T;

describe('the image layout', () => {
  it('is spec-conformant: oci-layout, index.json, content-addressed blobs, diff_ids of the uncompressed layers', () => {
    const dir = ex.image.dir;
    expect(json(readFileSync(join(dir, 'oci-layout')))).toEqual({ imageLayoutVersion: '1.0.0' });
    const index = json<{ schemaVersion: number; mediaType: string; manifests: { mediaType: string; digest: string; size: number; annotations: Record<string, string> }[] }>(readFileSync(join(dir, 'index.json')));
    expect(index.schemaVersion).toBe(2);
    expect(index.mediaType).toBe(MEDIA_TYPES.index);
    expect(index.manifests).toHaveLength(1);
    const entry = index.manifests[0]!;
    expect(entry.mediaType).toBe(MEDIA_TYPES.manifest);
    expect(entry.annotations['org.opencontainers.image.ref.name']).toBe(ex.image.tag);
    expect(ex.image.tag).toBe(entry.digest.slice(7, 19));
    expect(ex.image.repository).toBe('abctl/web');
    const manifestBytes = blob(dir, entry.digest);
    expect(sha(manifestBytes)).toBe(entry.digest.slice(7));
    expect(manifestBytes.length).toBe(entry.size);
    const manifest = json<ImageManifest>(manifestBytes);
    expect(manifest.config.mediaType).toBe(MEDIA_TYPES.config);
    const config = json<ImageConfig>(blob(dir, manifest.config.digest));
    // base (one layer from the root file system), file set home, agent
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([MEDIA_TYPES.layerGzip, MEDIA_TYPES.layerGzip, MEDIA_TYPES.layerGzip]);
    expect(config.rootfs.diff_ids).toHaveLength(3);
    manifest.layers.forEach((l, i) => {
      const bytes = blob(dir, l.digest);
      expect(sha(bytes)).toBe(l.digest.slice(7));
      expect(bytes.length).toBe(l.size);
      expect(`sha256:${sha(gunzipSync(bytes))}`).toBe(config.rootfs.diff_ids[i]);
    });
    expect(config.created).toBe(FIXED_CREATED);
    expect(config.os).toBe('linux');
    expect(config.config?.Entrypoint).toEqual(ENTRYPOINT);
    expect(config.config?.Env).toContain('ABCTL_CONFIG_DIR=/etc/abctl/config');
    expect(config.config?.Labels?.['org.abctl.appliance']).toBe('web');
    expect(config.config?.ExposedPorts).toEqual({ '18080/tcp': {} });
    expect(config.history).toHaveLength(3);
  });

  it('is read by skopeo with its entrypoint, labels and layers', () => {
    const ref = `oci:${ex.image.dir}:${ex.image.tag}`;
    const info = JSON.parse(execFileSync('skopeo', ['inspect', ref], { encoding: 'utf8', timeout: 60_000 })) as { Digest: string; Layers: string[]; Labels: Record<string, string>; Architecture: string };
    expect(info.Digest).toBe(ex.image.manifestDigest);
    expect(info.Layers).toHaveLength(3);
    expect(info.Labels['org.abctl.chain']).toBe('example,examplelogs');
    const config = JSON.parse(execFileSync('skopeo', ['inspect', '--config', ref], { encoding: 'utf8', timeout: 60_000 })) as ImageConfig;
    expect(config.config?.Entrypoint).toEqual(ENTRYPOINT);
  });

  it('unpacks with umoci to the captured files at their root with modes and owners, the agent, node and an image bundle without passwords', () => {
    const out = join(tmp.path, 'unpacked');
    execFileSync('umoci', ['unpack', '--image', `${ex.image.dir}:${ex.image.tag}`, out], { timeout: 120_000 });
    const root = join(out, 'rootfs');
    const ref = join(tmp.path, 'reference', 'minihttpd');
    for (const rel of ['bin/minihttpd.mjs', 'conf/logging.properties', 'htdocs/index.html', 'VERSION']) {
      const got = statSync(join(root, IMAGE_HOME, rel));
      expect(got.mode & 0o7777, rel).toBe(statSync(join(ref, rel)).mode & 0o7777);
      expect([got.uid, got.gid], rel).toEqual([0, 0]);
      expect(readFileSync(join(root, IMAGE_HOME, rel))).toEqual(readFileSync(join(ref, rel)));
    }
    // The file set's excludes hold in the image too; the reference's config, which holds its
    // password, is not in the image: the container renders it at rehydrate.
    expect(existsSync(join(root, IMAGE_HOME, 'logs/server.log'))).toBe(false);
    expect(existsSync(join(root, IMAGE_HOME, 'conf/server.properties'))).toBe(false);
    // Parents that the base has keep the base's modes (no entry replaced /tmp's sticky bit).
    expect(lstatSync(join(root, 'tmp')).mode & 0o7777).toBe(0o1777);
    expect(statSync(join(root, 'opt/abctl/node')).mode & 0o777).toBe(0o755);
    expect(readFileSync(join(root, 'opt/abctl/node')).equals(readFileSync(process.execPath))).toBe(true);
    expect(statSync(join(root, 'opt/abctl/bundle')).mode & 0o777).toBe(0o700);
    const manifest = JSON.parse(readFileSync(join(root, 'opt/abctl/bundle/bundle.json'), 'utf8')) as { fileSets: { name: string; inImage: boolean; ownerInLayer: boolean; archive?: string }[]; createdAt: string };
    expect(manifest.fileSets).toEqual([expect.objectContaining({ name: 'home', inImage: true, ownerInLayer: true })]);
    expect(manifest.fileSets[0]!.archive).toBeUndefined();
    expect(manifest.createdAt).toBe(FIXED_CREATED);
    expect(existsSync(join(root, 'opt/abctl/bundle/filesets'))).toBe(false);
    // No password value in the bundle: it arrives from the Secret at run time.
    const xml = readFileSync(join(root, 'opt/abctl/bundle/appliance.xml'), 'utf8');
    const appliance = Appliance.fromPlain(parseDocument(xml, { where: 'appliance.xml' }).plain);
    expect(appliance.properties.get('admin.password')?.hasValue).toBe(false);
    expect(xml).not.toContain('change-me');
  });
});

describe('reproducibility', () => {
  // Without the 99 MB node binary (--node none) to keep the test fast; the fixture's image has it.
  it('gives the same digest for the same inputs, and the same oci-archive', async () => {
    const one = await ex.write(join(tmp.path, 'one'), { archive: join(tmp.path, 'one.tar'), node: 'none' });
    const two = await ex.write(join(tmp.path, 'two'), { archive: join(tmp.path, 'two.tar'), node: 'none' });
    expect(two.manifestDigest).toBe(one.manifestDigest);
    expect(two.layers.map((l) => l.digest)).toEqual(one.layers.map((l) => l.digest));
    // Base and file set layers do not depend on the node binary: they are the fixture's.
    expect(one.layers.slice(0, 2).map((l) => l.digest)).toEqual(ex.image.layers.slice(0, 2).map((l) => l.digest));
    expect(sha(readFileSync(join(tmp.path, 'two.tar')))).toBe(sha(readFileSync(join(tmp.path, 'one.tar'))));
  }, 120_000);
});

describe('interrupting', () => {
  it('stops at the next block and leaves no layout, not even a partial one', async () => {
    const out = join(tmp.path, 'interrupted');
    const controller = new AbortController();
    const run = createTemplates({
      catalog: ex.catalog,
      inventory: ex.inventory,
      appliance: 'web',
      assembly: 'site',
      base: ex.base,
      outDir: out,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.layer === 'agent' && p.bytes > 8 << 20) controller.abort(new Error('interrupted by the test'));
      },
    });
    await expect(run).rejects.toThrow('interrupted by the test');
    expect(readdirSync(out)).toEqual([]);
  }, 60_000);
});

describe('base images', () => {
  it('reads a root file system directory, an image layout and an oci-archive, following layers', async () => {
    // An image without the node binary: reading a layout scans its layers from the top.
    const small = await ex.write(join(tmp.path, 'small'), { archive: join(tmp.path, 'small.tar'), node: 'none' });
    for (const spec of [ex.base, small.dir, `${small.dir}:${small.tag}`, join(tmp.path, 'small.tar')]) {
      const base = await openBase(spec);
      try {
        expect((await base.readFile('/etc/passwd'))?.toString(), spec).toContain('root:x:0:0');
        expect(await base.readFile('/etc/no-such-file'), spec).toBeUndefined();
        // Through the merged-/usr symlink /bin -> usr/bin.
        expect((await base.readFile('/bin/getent'))?.length, spec).toBeGreaterThan(0);
        if (spec !== ex.base) {
          expect((await base.readFile('/opt/abctl/bundle/bundle.json'))?.toString(), spec).toContain('"inImage": true');
          expect((await base.readFile('/opt/abctl/node'))?.toString(), spec).toContain('exec node');
        }
      } finally {
        await base.close();
      }
    }
  }, 60_000);

  it('takes an image layout as the base: its layers first, unchanged', async () => {
    const img = await ex.write(join(tmp.path, 'layered'), { base: ex.image.dir, node: 'none' });
    expect(img.layers.map((l) => l.digest).slice(0, 3)).toEqual(ex.image.layers.map((l) => l.digest));
    expect(img.layers).toHaveLength(5);
  }, 120_000);

  it('says what is wrong with a base', async () => {
    await expect(openBase(join(tmp.path, 'nothing-here'))).rejects.toMatchObject({ code: 'IMAGE_BASE_INVALID' });
    const notTar = join(tmp.path, 'not-a-tar');
    writeFileSync(notTar, 'hello');
    await expect(openBase(notTar)).rejects.toMatchObject({ code: 'IMAGE_BASE_INVALID' });
    await expect(openBase(`${ex.image.dir}:no-such-tag`)).rejects.toThrow(/no image named "no-such-tag"/);
  });

  it('hides what whiteouts and opaque directories remove in higher layers', async () => {
    const dir = join(tmp.path, 'whiteouts');
    const store = new BlobStore(dir);
    await store.init();
    const layer = async (entries: [string, string | null][]): Promise<LayerDescriptor> => {
      const w = LayerWriter.create(store);
      for (const [path, text] of entries) {
        if (text === null) w.header(dirHeader(path, 0o755));
        else if (text.startsWith('->')) w.header({ path, type: 'symlink', mode: 0o777, uid: 0, gid: 0, size: 0, mtime: 0, linkname: text.slice(2) });
        else {
          const b = Buffer.from(text);
          w.header({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: b.length, mtime: 0 });
          w.push(b);
          w.pad(b.length);
        }
      }
      return w.finish();
    };
    const layers = [
      await layer([['etc/', null], ['etc/passwd', 'one'], ['etc/x/', null], ['etc/x/y', 'y'], ['etc/link', '->passwd'], ['etc/gone/', null], ['etc/gone/z', 'z']]),
      await layer([['etc/.wh.passwd', ''], ['etc/x/', null], ['etc/x/.wh..wh..opq', ''], ['etc/.wh.gone', '']]),
    ];
    const writeLayout = async (ls: LayerDescriptor[]): Promise<void> => {
      const config = await store.putJson({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: ls.map((l) => l.diffId) } }, MEDIA_TYPES.config);
      const manifest = await store.putJson({ schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config, layers: ls.map(({ mediaType, digest, size }) => ({ mediaType, digest, size })) }, MEDIA_TYPES.manifest);
      writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [manifest] }));
      writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    };
    await writeLayout(layers);
    let base = await openBase(dir);
    expect(await base.readFile('/etc/passwd')).toBeUndefined();
    expect(await base.readFile('/etc/x/y')).toBeUndefined();
    expect(await base.readFile('/etc/gone/z')).toBeUndefined();
    expect(await base.readFile('/etc/link')).toBeUndefined();
    layers.push(await layer([['etc/passwd', 'three']]));
    await writeLayout(layers);
    base = await openBase(dir);
    expect((await base.readFile('/etc/passwd'))?.toString()).toBe('three');
    expect((await base.readFile('etc/link'))?.toString()).toBe('three');
  });
});

describe('file set layers', () => {
  const tarGz = (entries: { name: string; data?: string }[]): Buffer => {
    const parts: Buffer[] = [];
    for (const e of entries) {
      const data = Buffer.from(e.data ?? '');
      parts.push(encodeHeader({ path: e.name, type: e.data === undefined ? 'directory' : 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0 }));
      if (data.length) parts.push(data, Buffer.alloc(padded(data.length) - data.length));
    }
    parts.push(endOfArchive());
    return gzipSync(Buffer.concat(parts));
  };
  const store = async (name: string): Promise<BlobStore> => {
    const s = new BlobStore(join(tmp.path, name));
    await s.init();
    return s;
  };
  const request = (archive: string, root: string, uid = 0) => ({ name: 'fs', root, archive, codec: 'gzip' as const, sha256: sha(readFileSync(archive)), uid, gid: uid, owner: 'u', group: 'g' });

  it('can never place a file outside the root file system', async () => {
    for (const name of ['./../evil', '/etc/evil', './a/../../evil']) {
      const archive = join(tmp.path, `unsafe-${sha(Buffer.from(name)).slice(0, 8)}.tar.gz`);
      writeFileSync(archive, tarGz([{ name: './' }, { name, data: 'x' }]));
      for (const root of ['/', '/opt/app']) {
        await expect(fileSetLayer(await store('unsafe'), request(archive, root)), `${name} at ${root}`).rejects.toMatchObject({ code: 'IMAGE_LAYER_UNSAFE' });
      }
    }
  });

  it('reuses a captured archive as the layer, without recompressing, when its names and owners already fit', async () => {
    const src = join(tmp.path, 'fs-src');
    mkdirSync(join(src, 'sub'), { recursive: true });
    writeFileSync(join(src, 'sub', 'f'), 'content');
    const archive = join(tmp.path, 'fs.tar.gz');
    await captureFileSet({ root: src, out: archive, codec: 'gzip' });
    const s = await store('reuse');
    const reused = await fileSetLayer(s, request(archive, '/'));
    expect(reused.reused).toBe(true);
    expect(reused.digest).toBe(`sha256:${sha(readFileSync(archive))}`);
    expect(readFileSync(s.path(reused.digest))).toEqual(readFileSync(archive));
    expect(reused.diffId).toBe(`sha256:${sha(gunzipSync(readFileSync(archive)))}`);

    // Another owner, or another root: written again, under the root, with the definition's ids.
    const moved = await fileSetLayer(s, request(archive, '/opt/app', 4242));
    expect(moved.reused).toBe(false);
    const listing = execFileSync('tar', ['--numeric-owner', '-tvzf', s.path(moved.digest)], { encoding: 'utf8' });
    expect(listing).toMatch(/4242\/4242 .* opt\/app\/sub\/f\n/);
    expect(listing).not.toMatch(/ opt\/\n/);
    expect(moved.diffId).toBe(`sha256:${sha(gunzipSync(readFileSync(s.path(moved.digest))))}`);
  });
});

describe('run-time configuration of a container', () => {
  const files = { config: '/etc/abctl/config/properties.json', secret: '/etc/abctl/secret/properties.json' };
  const appliance = async (): Promise<Appliance> => (await ex.catalog.getAppliance('minihttpd-reference'));

  it('lays the mounted values over the image, passwords only from the Secret', async () => {
    const a = applyRuntimeProperties(await appliance(), { port: '19999', 'server.name': 'pod' }, { 'admin.password': 'pw' }, files);
    expect(a.properties.get('port')?.value).toBe('19999');
    expect(a.properties.get('server.name')?.value).toBe('pod');
    expect(a.properties.get('admin.password')?.value).toBe('pw');
  });

  it('refuses a password in the ConfigMap, a non-password in the Secret, unknown and system properties', async () => {
    const a = await appliance();
    expect(() => applyRuntimeProperties(a, { 'admin.password': 'x' }, {}, files)).toThrow(/belongs in the Secret/);
    expect(() => applyRuntimeProperties(a, {}, { port: '1' }, files)).toThrow(/not a password/);
    expect(() => applyRuntimeProperties(a, { nope: '1' }, {}, files)).toThrow(expect.objectContaining({ code: 'IMAGE_CONFIG_INVALID' }));
    expect(() => applyRuntimeProperties(a, { 'product.home': '/x' }, {}, files)).toThrow(expect.objectContaining({ code: 'IMAGE_CONFIG_INVALID' }));
    expect(() => applyRuntimeProperties(a, { port: 'eighty' }, {}, files)).toThrow(expect.objectContaining({ code: 'IMAGE_CONFIG_INVALID' }));
  });

  it('takes the instance index from ABCTL_INSTANCE_INDEX, else a StatefulSet ordinal, else 1', () => {
    const env = { configDir: '', secretDir: '', stateDir: '', runDir: '' };
    expect(containerInstance(env, 'web-3').index).toBe(4);
    expect(containerInstance(env, 'a1b2c3d4e5f6').index).toBe(1);
    expect(containerInstance({ ...env, instanceIndex: '7' }, 'web-3').index).toBe(7);
    expect(() => containerInstance({ ...env, instanceIndex: '0' }, 'x')).toThrow(/ABCTL_INSTANCE_INDEX/);
  });
});

describe('the command', () => {
  it('has --help and names a bad base in its --json error', () => {
    const help = abctl(['createTemplate', '--help'], ex.site.env);
    expect(help.code).toBe(0);
    expect(help.out).toContain('--base <base>');
    const r = abctl(['createTemplate', '--assembly', 'site', '--appliance', 'web', '--base', join(tmp.path, 'missing'), '--out', join(tmp.path, 'cli'), '--json'], ex.site.env);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ error: { code: 'IMAGE_BASE_INVALID' } });
    const unknown = abctl(['createTemplate', '--appliance', 'nope', '--base', ex.base, '--out', join(tmp.path, 'cli'), '--json'], ex.site.env);
    expect(JSON.parse(unknown.out)).toMatchObject({ error: { code: 'IMAGE_APPLIANCE_INVALID' } });
  });

  it('checks the plugins\' requirements against the base first: a base without libstdc++6 is refused by name, nothing written', () => {
    const bare = join(tmp.path, 'bare-rootfs');
    execFileSync('cp', ['-a', ex.base, bare]);
    writeFileSync(join(bare, 'var/lib/dpkg/status'), readFileSync(join(ex.base, 'var/lib/dpkg/status'), 'utf8').split('\n\n').filter((s) => !s.includes('Package: libstdc++6')).join('\n\n'));
    const out = join(tmp.path, 'refused');
    const r = abctl(['createTemplate', '--assembly', 'site', '--appliance', 'web', '--base', bare, '--out', out], ex.site.env);
    expect(r.code).toBe(1);
    expect(r.err).toContain('libstdc++6');
    expect(existsSync(join(out, 'web'))).toBe(false);
    const ok = abctl(['createTemplate', '--assembly', 'site', '--appliance', 'web', '--base', ex.base, '--out', out, '--node', 'none', '--json'], ex.site.env);
    expect(ok.err).toContain('net.core.somaxconn'); // a warning, shown, not refused
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.out) as { images: { dir: string }[] }).images[0]!.dir).toBe(join(out, 'web'));
  }, 60_000);
});

describe('a base shared by several images (deploy and exportAssembly open it once)', () => {
  it('is packed into its layer once, and stays open for the caller until it closes it', async () => {
    const work = join(tmp.path, 'shared-base-work');
    mkdirSync(work);
    const opened = await openBase(ex.base, { workDir: work });
    const write = (out: string) => createTemplates({ catalog: ex.catalog, inventory: ex.inventory, appliance: 'web', assembly: 'site', base: ex.base, openedBase: opened, outDir: join(tmp.path, out) });
    const [a] = await write('shared-a');
    const [b] = await write('shared-b');
    // One packing of the root file system (each packing makes its own abctl-rootfs-* directory).
    expect(readdirSync(work).filter((f) => f.startsWith('abctl-rootfs-'))).toHaveLength(1);
    expect(a?.layers[0]?.digest).toBe(ex.image.layers[0]?.digest);
    expect(b?.layers[0]?.digest).toBe(a?.layers[0]?.digest);
    expect(b?.manifestDigest).toBe(a?.manifestDigest);
    const [layer] = await opened.layers();
    expect(existsSync(layer!.file)).toBe(true);
    await opened.close();
    expect(existsSync(layer!.file)).toBe(false);
  }, 120_000);
});

describe('the health check\'s bundle in a container', () => {
  it('is the private copy run keeps (passwords included) when it was made from the image bundle named, else the one named', () => {
    const root = join(tmp.path, 'ping-bundle');
    const image = join(root, 'opt-bundle');
    const runDir = join(root, 'run');
    const env = { configDir: join(root, 'c'), secretDir: join(root, 's'), stateDir: join(root, 'state'), runDir };
    mkdirSync(image, { recursive: true });
    writeFileSync(join(image, 'bundle.json'), JSON.stringify({ appliance: 'db' }));
    // No copy yet (run has not prepared one, or it ended): the image's bundle.
    expect(pingBundle(image, env)).toBe(image);
    mkdirSync(join(runDir, 'bundle'), { recursive: true });
    writeFileSync(join(runDir, 'bundle', 'bundle.json'), JSON.stringify({ appliance: 'db' }));
    expect(pingBundle(image, env)).toBe(join(runDir, 'bundle'));
    // A copy of another appliance's bundle is not this one's.
    writeFileSync(join(runDir, 'bundle', 'bundle.json'), JSON.stringify({ appliance: 'web' }));
    expect(pingBundle(image, env)).toBe(image);
  });
});
