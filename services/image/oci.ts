/**
 * The pieces of the OCI image format abctl writes and reads (opencontainers/image-spec:
 * image-layout.md, manifest.md, config.md, media-types.md): media types, descriptors, and a
 * blob store over one image layout directory (`oci-layout`, `index.json`, `blobs/sha256/<hex>`).
 * Written here rather than taken from a library: no maintained npm package writes layouts, and
 * the format is a handful of JSON documents addressed by their sha256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const MEDIA_TYPES = Object.freeze({
  layoutHeader: 'application/vnd.oci.layout.header.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layerTar: 'application/vnd.oci.image.layer.v1.tar',
  layerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  layerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  /** Docker's names for the same things, found in layouts that skopeo copied from Docker images. */
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
});

/** The annotation that names an image inside a layout (`oci:DIR:<ref>`). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
export const OCI_LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';

export interface Descriptor {
  readonly mediaType: string;
  /** `sha256:<64 hex>`. */
  readonly digest: string;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: { readonly architecture: string; readonly os: string; readonly variant?: string };
}

/** A layer as a manifest lists it, with its diff_id (sha256 of the uncompressed tar) for the config. */
export interface LayerDescriptor extends Descriptor {
  readonly diffId: string;
}

export interface ImageConfig {
  readonly created?: string;
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly config?: {
    readonly User?: string;
    readonly Env?: readonly string[];
    readonly Entrypoint?: readonly string[];
    readonly Cmd?: readonly string[];
    readonly WorkingDir?: string;
    readonly Labels?: Readonly<Record<string, string>>;
    readonly ExposedPorts?: Readonly<Record<string, Record<string, never>>>;
    readonly StopSignal?: string;
  };
  readonly rootfs: { readonly type: 'layers'; readonly diff_ids: readonly string[] };
  readonly history?: readonly { readonly created?: string; readonly created_by?: string; readonly comment?: string; readonly empty_layer?: boolean }[];
}

export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageIndex {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly manifests: readonly Descriptor[];
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** `sha256:<hex>` -> `<hex>`, refusing anything else (a digest becomes a file name). */
export function digestHex(digest: string): string | undefined {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  return m ? m[1] : undefined;
}

/** Blobs of one layout directory, addressed by sha256. Every write lands under a temporary name first. */
export class BlobStore {
  readonly dir: string;
  constructor(readonly layoutDir: string) {
    this.dir = join(layoutDir, 'blobs', 'sha256');
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
  }

  path(digest: string): string {
    const hex = digestHex(digest);
    if (hex === undefined) throw new Error(`not a sha256 digest: ${digest}`);
    return join(this.dir, hex);
  }

  /** A temporary file name inside the store (same file system, so the final rename is atomic). */
  tempName(): string {
    return join(this.dir, `.partial-${randomBytes(6).toString('hex')}`);
  }

  /** Moves a finished temporary file to its digest's name. */
  async adopt(temp: string, hex: string): Promise<void> {
    await rename(temp, join(this.dir, hex));
  }

  /** JSON documents are written compact with keys in the order built: same object, same bytes, same digest. */
  async putJson(value: unknown, mediaType: string): Promise<Descriptor> {
    const bytes = Buffer.from(JSON.stringify(value));
    const hex = sha256Hex(bytes);
    const temp = this.tempName();
    await writeFile(temp, bytes, { mode: 0o644 });
    await this.adopt(temp, hex);
    return { mediaType, digest: `sha256:${hex}`, size: bytes.length };
  }

  /** Brings an existing blob file in: a hard link when it can, else a copy. */
  async putFile(file: string, hex: string): Promise<number> {
    const to = join(this.dir, hex);
    const { size } = await stat(file);
    await rm(to, { force: true });
    try {
      await link(file, to);
    } catch {
      await copyFile(file, to);
    }
    return size;
  }
}
