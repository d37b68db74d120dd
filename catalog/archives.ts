/**
 * The archive index of an appliance directory: `filesets/archives.xml` records, for each
 * captured file set, its archive file, codec, size, SHA-256 and capture time. An archive
 * is committed together with its record, so the record says what the file must be.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ARCHIVES_DOCUMENT, CURRENT_FORMAT_VERSION, dirName, FILESETS_DIR, upgradeDocument } from './format.js';
import { readDocumentText } from './documents.js';
import { parseDocument, renderDocument, type Plain } from './xml-codec.js';

/** How a file set archive is compressed; decides its file name (`.tar.gz`, `.tar.zst`, `.tar`). */
export type ArchiveCodec = 'gzip' | 'zstd' | 'none';

const ARCHIVE_SUFFIX: Readonly<Record<ArchiveCodec, string>> = { gzip: '.tar.gz', zstd: '.tar.zst', none: '.tar' };

/** A captured file set as recorded in `filesets/archives.xml`. */
export interface FileSetArchive {
  readonly name: string;
  /** Absolute path of the archive. */
  readonly path: string;
  readonly codec: ArchiveCodec;
  readonly size: number;
  readonly sha256: string;
  readonly capturedAt: string;
}

/** Size and SHA-256 of a finished archive, when its writer computed them as it wrote. */
export interface ArchiveDigest {
  readonly size: number;
  readonly sha256: string;
}

export function archiveFileName(fileSet: string, codec: ArchiveCodec): string {
  return `${dirName(fileSet)}${ARCHIVE_SUFFIX[codec]}`;
}

export function indexRel(dirRel: string): string {
  return `${dirRel}/${FILESETS_DIR}/${ARCHIVES_DOCUMENT}`;
}

/** The records of one appliance directory; none when it has no index. */
export function readArchiveIndex(catalogDir: string, dirRel: string): FileSetArchive[] {
  const file = join(catalogDir, indexRel(dirRel));
  let text: string;
  try {
    text = readDocumentText(file).text;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const doc = upgradeDocument(parseDocument(text, { where: file, rootOnly: ['formatVersion'] }), file);
  const list = Array.isArray(doc.plain['archives']) ? (doc.plain['archives'] as Plain[]) : [];
  return list.map((a) => ({
    name: String(a['name']),
    path: join(catalogDir, dirRel, FILESETS_DIR, String(a['file']).replace(/\//g, '')),
    // Records written before the codec was stored are gzip: that was the only archive name then.
    codec: a['codec'] === 'zstd' || a['codec'] === 'none' ? a['codec'] : 'gzip',
    size: Number(a['size']),
    sha256: String(a['sha256']),
    capturedAt: String(a['capturedAt']),
  }));
}

export function renderArchiveIndex(archives: readonly FileSetArchive[], where: string): string {
  const rows = [...archives].sort((a, b) => a.name.localeCompare(b.name));
  return renderDocument(
    'fileSetArchives',
    { archives: rows.map((a) => ({ name: a.name, file: basename(a.path), codec: a.codec, size: a.size, sha256: a.sha256, capturedAt: a.capturedAt })) },
    { where, rootAttributes: { formatVersion: CURRENT_FORMAT_VERSION } },
  );
}

/** Streams the file through SHA-256 (1 MiB reads: archives can be gigabytes). */
export async function hashFile(file: string): Promise<ArchiveDigest> {
  const h = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 2 ** 20 })) {
    h.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { size, sha256: h.digest('hex') };
}

/** The archive's size and SHA-256: as its writer computed them (size checked), else read again. */
export async function digestOf(file: string, given: ArchiveDigest | undefined): Promise<ArchiveDigest> {
  if (!given) return hashFile(file);
  const { size } = await stat(file);
  if (size !== given.size) throw new Error(`internal error: the archive ${file} is ${size} bytes, its writer reported ${given.size}`);
  return given;
}
