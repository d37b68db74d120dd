/**
 * The real state of captured file sets: is the recorded archive there, and is it still the
 * file that was captured (size and SHA-256 against the record)?
 */
import { stat } from 'node:fs/promises';
import { hashFile, type FileSetArchive } from './archives.js';

export type ArchiveState =
  | { readonly state: 'notCaptured' }
  | { readonly state: 'captured'; readonly archive: FileSetArchive }
  | { readonly state: 'missing'; readonly archive: FileSetArchive }
  | { readonly state: 'damaged'; readonly archive: FileSetArchive; readonly reason: string };

/** The state of one file set from its record (undefined: never captured); the checksum is always recomputed. */
export async function checkArchive(record: FileSetArchive | undefined): Promise<ArchiveState> {
  if (!record) return { state: 'notCaptured' };
  let size: number;
  try {
    const info = await stat(record.path);
    if (!info.isFile()) return { state: 'damaged', archive: record, reason: 'the archive path is not a regular file' };
    size = info.size;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: 'missing', archive: record };
    return { state: 'damaged', archive: record, reason: `the archive cannot be read (${code ?? String(err)})` };
  }
  // A size change needs no hashing to be told.
  if (size !== record.size) return { state: 'damaged', archive: record, reason: `the archive is ${size} bytes, ${record.size} were captured` };
  let actual: string;
  try {
    actual = (await hashFile(record.path)).sha256;
  } catch (err) {
    return { state: 'damaged', archive: record, reason: `the archive cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  if (actual !== record.sha256) return { state: 'damaged', archive: record, reason: `its SHA-256 is ${actual}, ${record.sha256} was captured` };
  return { state: 'captured', archive: record };
}
