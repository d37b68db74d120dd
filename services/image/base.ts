/**
 * Base images: what `createTemplate --base BASE` stands on. BASE is one of
 * - an OCI image layout directory (`oci-layout` + `index.json`; `DIR:REF` picks one image of
 *   several by its ref name),
 * - an `oci-archive` tar of such a directory (`FILE` or `FILE:REF`),
 * - a root file system directory (debootstrap's output, for one): it becomes one layer.
 *
 * `openBase` gives the base's layers and config, and `readFile(path)`, which reads one file of
 * the base's root file system as the container would see it: the highest layer that has the
 * path wins, whiteouts (`.wh.<name>`) and opaque directories (`.wh..wh..opq`) of higher layers
 * hide lower ones, symlinks are followed inside the image. Base image validation reads
 * /etc/passwd, /etc/group and dpkg's status this way.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { UserError } from '../../core/errors.js';
import { captureFileSet } from '../archive/capture.js';
import { openArchiveSource } from '../archive/extract-source.js';
import { extractArchive } from '../archive/extract.js';
import type { CaptureCodec } from '../archive/encoders.js';
import { TarEntryParser, type TarEntry } from '../archive/tar-entries.js';
import { RootFsDir } from '../validation/base-files.js';
import { INDEX_FILE, MEDIA_TYPES, OCI_LAYOUT_FILE, REF_NAME_ANNOTATION, digestHex, type BlobStore, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest, type LayerDescriptor } from './oci.js';

export type BaseKind = 'layout' | 'archive' | 'rootfs';

export interface BaseLayer extends LayerDescriptor {
  /** The blob file. */
  readonly file: string;
  readonly codec: CaptureCodec;
}

export interface BaseImage {
  readonly kind: BaseKind;
  /** What the user gave, for messages. */
  readonly source: string;
  /** The base's config (a root file system gets a minimal one for this machine's architecture). */
  readonly config: ImageConfig;
  /** The base's layers, lowest first (a root file system: the one layer, written on first call). */
  layers(progress?: (bytes: number) => void): Promise<readonly BaseLayer[]>;
  /** One file of the base's root file system as a container sees it; undefined when absent. */
  readFile(path: string): Promise<Buffer | undefined>;
  /** Removes what opening it unpacked (an oci-archive) or wrote (a root file system's layer). */
  close(): Promise<void>;
}

/** Node's `process.arch` in OCI's (Go's) words. */
export function ociArchitecture(arch: string = process.arch): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[arch] ?? arch;
}

const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function baseError(message: string, where: string, hint: string): UserError {
  return new UserError('IMAGE_BASE_INVALID', message, { where, hint });
}

/** Splits `PATH:REF` when PATH exists and PATH:REF does not. */
function splitRef(spec: string): { path: string; ref?: string } {
  const abs = resolve(spec);
  if (existsSync(abs)) return { path: abs };
  const colon = spec.lastIndexOf(':');
  if (colon > 0 && existsSync(resolve(spec.slice(0, colon)))) return { path: resolve(spec.slice(0, colon)), ref: spec.slice(colon + 1) };
  throw baseError(`the base image ${spec} does not exist`, abs, 'give an OCI image layout directory, an oci-archive file or a root file system directory (docs/images.md says how to make one)');
}

export async function openBase(spec: string, opts: { workDir?: string } = {}): Promise<BaseImage> {
  const { path, ref } = splitRef(spec);
  const st = statSync(path);
  if (st.isDirectory()) {
    if (existsSync(join(path, OCI_LAYOUT_FILE))) return openLayout(path, ref, spec, 'layout', async () => {});
    if (ref !== undefined) throw baseError(`${path} is a root file system directory, which has no images to pick "${ref}" from`, path, 'leave out the :REF part');
    return openRootfs(path, spec, opts.workDir);
  }
  if (!st.isFile()) throw baseError(`the base image ${path} is neither a directory nor a file`, path, 'give an OCI image layout directory, an oci-archive file or a root file system directory');
  // An oci-archive: unpacked with the archive engine, which refuses entries outside the directory.
  const dir = await mkdtemp(join(opts.workDir ?? tmpdir(), 'abctl-base-'));
  try {
    await extractArchive({ archive: path, root: dir });
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw baseError(`the base image ${path} is not a tar archive that can be unpacked: ${(err as Error).message}`, path, 'give an oci-archive (skopeo copy ... oci-archive:FILE) or an image layout directory');
  }
  if (!existsSync(join(dir, OCI_LAYOUT_FILE))) {
    await rm(dir, { recursive: true, force: true });
    throw baseError(`${path} is a tar archive without an oci-layout file, so not an oci-archive`, path, 'a root file system packed as a tar: unpack it into a directory and give that directory');
  }
  return openLayout(dir, ref, spec, 'archive', () => rm(dir, { recursive: true, force: true }));
}

function readJson<T>(file: string, where: string): T {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw baseError(`${file} cannot be read as JSON: ${(err as Error).message}`, where, 'the image layout is damaged: copy it again (skopeo copy ... oci:DIR:TAG)');
  }
}

function blobFile(dir: string, d: Descriptor, where: string): string {
  const hex = digestHex(d.digest);
  if (hex === undefined) throw baseError(`the digest ${d.digest} is not a sha256 digest abctl can read`, where, 'copy the image again with skopeo (it writes sha256 digests)');
  const file = join(dir, 'blobs', 'sha256', hex);
  if (!existsSync(file)) throw baseError(`the blob ${d.digest} is missing from the layout`, where, 'the image layout is incomplete: copy it again');
  return file;
}

/** The one image manifest the layout (or ref) names; an index of platforms gives this machine's. */
function pickManifest(dir: string, ref: string | undefined, where: string): Descriptor {
  let index = readJson<ImageIndex>(join(dir, INDEX_FILE), where);
  const isIndex = (d: Descriptor): boolean => d.mediaType === MEDIA_TYPES.index || d.mediaType === MEDIA_TYPES.dockerManifestList;
  let candidates = [...(index.manifests ?? [])];
  if (ref !== undefined) candidates = candidates.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === ref);
  const refs = (index.manifests ?? []).map((d) => d.annotations?.[REF_NAME_ANNOTATION]).filter((r): r is string => r !== undefined);
  if (candidates.length !== 1) {
    throw baseError(
      ref === undefined ? `the layout holds ${candidates.length} images; say which one` : `the layout has no image named "${ref}"`,
      where,
      refs.length ? `give ${where.replace(/:[^:/]*$/, '')}:REF with REF one of: ${refs.join(', ')}` : 'the layout names no images (index.json has no ref.name annotations)',
    );
  }
  let chosen = candidates[0] as Descriptor;
  for (let depth = 0; isIndex(chosen) && depth < 4; depth++) {
    index = readJson<ImageIndex>(blobFile(dir, chosen, where), where);
    const arch = ociArchitecture();
    const match = (index.manifests ?? []).find((d) => d.platform?.os === 'linux' && d.platform.architecture === arch);
    if (!match) throw baseError(`the image index has no image for linux/${arch}`, where, 'copy the image for this machine (skopeo copy --override-arch)');
    chosen = match;
  }
  return chosen;
}

function codecOf(mediaType: string, where: string): CaptureCodec {
  if (mediaType.endsWith('+gzip') || mediaType.endsWith('.tar.gzip') || mediaType === MEDIA_TYPES.dockerLayerGzip) return 'gzip';
  if (mediaType.endsWith('+zstd')) return 'zstd';
  if (mediaType.endsWith('.tar') || mediaType.endsWith('.tar.v1')) return 'none';
  throw baseError(`the layer media type ${mediaType} is not one abctl reads`, where, 'use an image with tar, tar+gzip or tar+zstd layers');
}

async function openLayout(dir: string, ref: string | undefined, source: string, kind: BaseKind, cleanup: () => Promise<void>): Promise<BaseImage> {
  try {
    const where = source;
    const manifestDesc = pickManifest(dir, ref, where);
    const manifest = readJson<ImageManifest>(blobFile(dir, manifestDesc, where), where);
    const config = readJson<ImageConfig>(blobFile(dir, manifest.config, where), where);
    const diffIds = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== manifest.layers.length) throw baseError(`the image config lists ${diffIds.length} diff_ids for ${manifest.layers.length} layers`, where, 'the image is damaged: copy it again');
    const layers: BaseLayer[] = manifest.layers.map((l, i) => ({
      mediaType: l.mediaType === MEDIA_TYPES.dockerLayerGzip ? MEDIA_TYPES.layerGzip : l.mediaType,
      digest: l.digest,
      size: l.size,
      diffId: diffIds[i] as string,
      file: blobFile(dir, l, where),
      codec: codecOf(l.mediaType, where),
    }));
    const reader = new LayeredReader(layers);
    return {
      kind,
      source,
      config,
      layers: async () => layers,
      readFile: (p) => reader.readFile(p),
      close: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

async function openRootfs(dir: string, source: string, workDir: string | undefined): Promise<BaseImage> {
  // The layer's first entry is the directory itself, which becomes the container's `/`.
  const mode = statSync(dir).mode & 0o7777;
  if ((mode & 0o005) !== 0o005) {
    throw baseError(`the root file system directory has mode ${mode.toString(8)}, so its users could not enter / in the container`, dir, `chmod 755 ${dir}`);
  }
  if (!existsSync(join(dir, 'etc'))) throw baseError(`${dir} has no etc/ directory, so it is no root file system`, dir, 'give the directory debootstrap (or a similar tool) wrote');
  let layer: Promise<BaseLayer> | undefined;
  let rootfs: Promise<RootFsDir> | undefined;
  let work: string | undefined;
  const make = async (progress?: (bytes: number) => void): Promise<BaseLayer> => {
    work = await mkdtemp(join(workDir ?? tmpdir(), 'abctl-rootfs-'));
    const out = join(work, 'rootfs.tar.gz');
    // Everything of a base counts, so no secret rules (a base's /etc/shadow belongs in its image).
    const r = await captureFileSet({ root: dir, out, codec: 'gzip', secretPaths: [], ...(progress ? { onProgress: (p) => progress(p.bytes) } : {}) });
    const diff = createHash('sha256');
    for await (const chunk of openArchiveSource(out, 'gzip')) diff.update(chunk);
    return { mediaType: MEDIA_TYPES.layerGzip, digest: `sha256:${r.sha256}`, size: r.archiveBytes, diffId: `sha256:${diff.digest('hex')}`, file: out, codec: 'gzip' };
  };
  return {
    kind: 'rootfs',
    source,
    config: {
      architecture: ociArchitecture(),
      os: 'linux',
      config: { Env: [DEFAULT_PATH] },
      rootfs: { type: 'layers', diff_ids: [] },
    },
    layers: async (progress) => [await (layer ??= make(progress))],
    // The validation's reader of root file systems: links followed inside the directory only.
    readFile: async (p) => {
      const data = await (rootfs ??= RootFsDir.open(dir)).then((r) => r.readFile(p));
      return data === undefined ? undefined : Buffer.from(data);
    },
    close: async () => {
      if (work) await rm(work, { recursive: true, force: true });
    },
  };
}

const MAX_LINKS = 40;

/** Clean, relative, no leading `./` or trailing `/`: how names are compared across layers. */
function clean(name: string): string {
  return posix.normalize(`/${name}`).replace(/^\/+/, '').replace(/\/+$/, '');
}

interface IndexEntry {
  readonly kind: TarEntry['kind'];
  readonly linkname: string;
}

/** What one layer holds, without the data: its entries, the paths it whites out, its opaque directories. */
interface LayerIndex {
  readonly entries: Map<string, IndexEntry>;
  readonly whiteouts: Set<string>;
  readonly opaques: Set<string>;
}

async function scanLayer(layer: BaseLayer, onEntry: (name: string, e: TarEntry) => void, onData?: (chunk: Buffer) => void, onEnd?: () => void): Promise<void> {
  const source = openArchiveSource(layer.file, layer.codec);
  const parser = new TarEntryParser({ entry: (e) => onEntry(clean(e.name), e), data: (c) => onData?.(c), end: () => onEnd?.() }, layer.file);
  try {
    for await (const chunk of source) parser.push(chunk);
    parser.end();
  } finally {
    source.close();
  }
}

async function indexLayer(layer: BaseLayer): Promise<LayerIndex> {
  const index: LayerIndex = { entries: new Map(), whiteouts: new Set(), opaques: new Set() };
  await scanLayer(layer, (name, e) => {
    const dir = posix.dirname(name) === '.' ? '' : posix.dirname(name);
    const base = posix.basename(name);
    if (base === '.wh..wh..opq') index.opaques.add(dir);
    else if (base.startsWith('.wh.')) index.whiteouts.add(dir === '' ? base.slice(4) : `${dir}/${base.slice(4)}`);
    else index.entries.set(name, { kind: e.kind, linkname: e.linkname });
  });
  return index;
}

function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  for (let p = posix.dirname(path); p !== '.' && p !== '/' && p !== ''; p = posix.dirname(p)) out.push(p);
  return out;
}

/**
 * The layers as one file system: an entry of a higher layer wins; a whiteout of the path or of
 * an ancestor, or an opaque ancestor, in a higher layer hides everything below. Each layer is
 * indexed once (names only); file data is read from the one layer that has it.
 */
class LayeredReader {
  readonly #indexes: Promise<LayerIndex>[];
  constructor(readonly layers: readonly BaseLayer[]) {
    this.#indexes = layers.map(() => undefined as unknown as Promise<LayerIndex>);
  }

  #index(i: number): Promise<LayerIndex> {
    return (this.#indexes[i] ??= indexLayer(this.layers[i] as BaseLayer));
  }

  async lookup(path: string): Promise<{ layer: number; entry: IndexEntry } | undefined> {
    const ancestors = ancestorsOf(path);
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const idx = await this.#index(i);
      const entry = idx.entries.get(path);
      if (entry) return { layer: i, entry };
      if (idx.whiteouts.has(path) || ancestors.some((a) => idx.whiteouts.has(a) || idx.opaques.has(a)) || idx.opaques.has('')) return undefined;
    }
    return undefined;
  }

  /** Resolves symlinks in every component (absolute targets start again at the image's root). */
  async resolve(path: string, hops = { n: 0 }): Promise<{ path: string; found: { layer: number; entry: IndexEntry } | undefined } | undefined> {
    const todo = clean(path).split('/').filter(Boolean);
    const done: string[] = [];
    while (todo.length > 0) {
      const name = todo.shift() as string;
      if (name === '..') {
        done.pop();
        continue;
      }
      const candidate = [...done, name].join('/');
      const found = await this.lookup(candidate);
      if (found?.entry.kind === 'symlink') {
        if (++hops.n > MAX_LINKS) return undefined;
        const target = found.entry.linkname;
        if (target.startsWith('/')) done.length = 0;
        todo.unshift(...target.split('/').filter((p) => p && p !== '.'));
        continue;
      }
      if (found?.entry.kind === 'hardlink' && todo.length === 0) {
        if (++hops.n > MAX_LINKS) return undefined;
        return this.resolve(found.entry.linkname, hops);
      }
      done.push(name);
    }
    const full = done.join('/');
    return { path: full, found: await this.lookup(full) };
  }

  async readFile(path: string): Promise<Buffer | undefined> {
    const r = await this.resolve(path);
    if (r?.found?.entry.kind !== 'file') return undefined;
    const parts: Buffer[] = [];
    let on = false;
    let data: Buffer | undefined;
    await scanLayer(
      this.layers[r.found.layer] as BaseLayer,
      (name) => {
        on = name === r.path;
        if (on) parts.length = 0;
      },
      (chunk) => {
        if (on) parts.push(Buffer.from(chunk));
      },
      () => {
        if (on) data = Buffer.concat(parts);
        on = false;
      },
    );
    return data;
  }
}
