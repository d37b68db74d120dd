/**
 * One layer per captured file set. A captured archive holds names relative to the file set's
 * root (`./conf/x`, services/archive/capture.ts) with the reference host's numeric owners; a
 * layer needs names relative to `/` and the definition's owner. So:
 * - root `/` and every entry already owned by the definition's ids: the archive *is* a valid
 *   layer (gzip, zstd and plain tar are all OCI layer media types) and is filed as the blob
 *   unchanged, without recompressing; only its uncompressed sha256 (the diff_id) is computed;
 * - otherwise the entries are read back (the archive engine's parser) and written again under
 *   the root, owned by the definition's ids. Parent directories get no entries: an entry would
 *   replace the base's own (a 0755 /tmp over the base's 1777 one), and engines create missing
 *   parents themselves.
 * Either way every name is checked first: an absolute name or a `..` segment (which could place
 * a file outside the container's root file system) refuses the whole image.
 */
import { createHash } from 'node:crypto';
import { UserError } from '../../core/errors.js';
import { openArchiveSource } from '../archive/extract-source.js';
import type { CaptureCodec } from '../archive/encoders.js';
import { TarEntryParser, type TarEntry } from '../archive/tar-entries.js';
import type { TarHeaderInput } from '../archive/tar-header.js';
import { LayerWriter } from './layer-writer.js';
import { MEDIA_TYPES, type BlobStore, type LayerDescriptor } from './oci.js';

export interface FileSetLayerRequest {
  readonly name: string;
  /** Absolute root of the file set in the image. */
  readonly root: string;
  readonly archive: string;
  readonly codec: CaptureCodec;
  /** sha256 of the archive file (hex), as the catalog recorded it. */
  readonly sha256: string;
  /** The definition's owner and group as ids of the base image, and their names. */
  readonly uid: number;
  readonly gid: number;
  readonly owner: string;
  readonly group: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (bytes: number) => void;
}

export interface FileSetLayer extends LayerDescriptor {
  /** True when the captured archive became the layer as it is. */
  readonly reused: boolean;
}

const CODEC_MEDIA: Record<CaptureCodec, string> = { gzip: MEDIA_TYPES.layerGzip, zstd: MEDIA_TYPES.layerZstd, none: MEDIA_TYPES.layerTar };

/** `./a/b` -> `a/b` (`./` -> ``); refuses names that could leave the root. */
export function safeRelative(name: string, where: string): string {
  const rel = name.replace(/^(\.\/)+/, '').replace(/^\.$/, '');
  const parts = rel.split('/');
  if (name.startsWith('/') || parts.includes('..') || name.includes('\0')) {
    throw new UserError('IMAGE_LAYER_UNSAFE', `entry "${name}" of ${where} would be placed outside the file set's root`, {
      hint: 'the archive was not written by abctl captureFileSets or was changed since: capture the file set again',
    });
  }
  return rel;
}

export async function fileSetLayer(store: BlobStore, req: FileSetLayerRequest): Promise<FileSetLayer> {
  const where = `the archive of file set "${req.name}" (${req.archive})`;
  if (req.root === '/') {
    const scan = await scanArchive(req, where);
    if (scan.reusable) {
      const size = await store.putFile(req.archive, req.sha256);
      return { mediaType: CODEC_MEDIA[req.codec], digest: `sha256:${req.sha256}`, size, diffId: `sha256:${scan.diffId}`, reused: true };
    }
  }
  return { ...(await rewrite(store, req, where)), reused: false };
}

async function forEachEntry(req: FileSetLayerRequest, where: string, sink: { entry(e: TarEntry): void; data(c: Buffer): void; end(): void }, after: (chunk: Buffer) => Promise<void>): Promise<void> {
  const source = openArchiveSource(req.archive, req.codec);
  const parser = new TarEntryParser(sink, where);
  try {
    for await (const chunk of source) {
      if (req.signal?.aborted) throw req.signal.reason instanceof Error ? req.signal.reason : new Error('interrupted');
      parser.push(chunk);
      await after(chunk);
    }
    parser.end();
  } finally {
    source.close();
  }
}

/** Reads the archive once: are its names at `/` already and its owners the definition's? */
async function scanArchive(req: FileSetLayerRequest, where: string): Promise<{ reusable: boolean; diffId: string }> {
  const hash = createHash('sha256');
  let reusable = true;
  let read = 0;
  await forEachEntry(
    req,
    where,
    {
      entry(e) {
        safeRelative(e.name, where);
        if (e.uid !== req.uid || e.gid !== req.gid) reusable = false;
      },
      data() {},
      end() {},
    },
    async (chunk) => {
      hash.update(chunk);
      read += chunk.length;
      req.onProgress?.(read);
    },
  );
  return { reusable, diffId: hash.digest('hex') };
}

async function rewrite(store: BlobStore, req: FileSetLayerRequest, where: string): Promise<LayerDescriptor> {
  const prefix = req.root.replace(/^\/+/, '').replace(/\/+$/, '');
  const under = (rel: string): string => (prefix === '' ? rel : rel === '' ? prefix : `${prefix}/${rel}`);
  const writer = LayerWriter.create(store, req.signal);
  writer.onProgress = req.onProgress;
  try {
    let dataLeft = 0;
    await forEachEntry(
      req,
      where,
      {
        entry(e) {
          const rel = safeRelative(e.name, where);
          const common = { mode: e.mode & 0o7777, uid: req.uid, gid: req.gid, mtime: Math.floor(e.mtime), uname: req.owner, gname: req.group };
          switch (e.kind) {
            case 'directory':
              writer.header({ ...common, path: under(rel) === '' ? './' : `${under(rel)}/`.replace(/\/+$/, '/'), type: 'directory', size: 0 });
              dataLeft = 0;
              return;
            case 'symlink':
              writer.header({ ...common, path: under(rel), type: 'symlink', size: 0, linkname: e.linkname });
              dataLeft = 0;
              return;
            case 'hardlink':
              writer.header({ ...common, path: under(rel), type: 'hardlink', size: 0, linkname: under(safeRelative(e.linkname, where)) });
              dataLeft = 0;
              return;
            case 'file': {
              const h: TarHeaderInput = { ...common, path: under(rel), type: 'file', size: e.size };
              dataLeft = e.sparse ? writer.sparseHeader(h, e.sparse.segments, e.sparse.realSize) : (writer.header(h), e.size);
              return;
            }
            default:
              // Capture never stores devices or FIFOs; an archive that has them was not made by abctl.
              throw new UserError('IMAGE_LAYER_UNSAFE', `entry "${e.name}" of ${where} is a ${e.kind}, which a file set layer does not hold`, {
                hint: 'capture the file set again with abctl captureFileSets',
              });
          }
        },
        data(chunk) {
          writer.push(chunk);
        },
        end() {
          writer.pad(dataLeft);
        },
      },
      () => writer.drain(),
    );
    return await writer.finish();
  } catch (err) {
    writer.discard();
    throw err;
  }
}
