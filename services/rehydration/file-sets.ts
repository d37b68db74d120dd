/**
 * The framework's part of rehydrate, before any plugin runs: check each archive against the
 * checksum recorded when the bundle was written, then extract each captured file set at its
 * root (the same path as on the reference host) with its modes, owned by the definition's
 * owner and group. Both accounts are looked up before anything is written, so a missing user
 * fails cleanly.
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../../core/errors.js';
import type { BundleFileSet } from './bundle-format.js';
import { sha256File } from './checksum.js';
import { lookupAccount, setOwnership } from './host-ops.js';

const execFileP = promisify(execFile);

export interface ExtractedFileSet {
  readonly name: string;
  readonly root: string;
  /** False for a file set that is not captured (nothing to extract). */
  readonly extracted: boolean;
}

export async function verifyArchives(bundleDir: string, fileSets: readonly BundleFileSet[]): Promise<void> {
  for (const fs of fileSets) {
    if (!fs.archive) continue;
    const file = join(bundleDir, fs.archive);
    const actual = await sha256File(file).catch((err: NodeJS.ErrnoException) => {
      throw new UserError('BUNDLE_ARCHIVE_MISSING', `the archive of file set "${fs.name}" cannot be read (${err.code ?? err.message})`, { where: file, hint: 'copy the whole bundle again' });
    });
    if (actual !== fs.sha256) {
      throw new UserError('BUNDLE_ARCHIVE_CORRUPT', `the archive of file set "${fs.name}" does not match its checksum (sha256 ${actual}, bundle.json says ${fs.sha256})`, {
        where: file,
        hint: 'the copy was damaged or changed: copy the bundle again, or write it again with abctl',
      });
    }
  }
}

export async function extractFileSets(bundleDir: string, fileSets: readonly BundleFileSet[]): Promise<ExtractedFileSet[]> {
  // Accounts first: a typo in an owner must not leave half the file sets extracted.
  for (const fs of fileSets) {
    const where = `file set "${fs.name}" (root ${fs.root})`;
    await lookupAccount('user', fs.owner, where);
    await lookupAccount('group', fs.group, where);
  }
  const out: ExtractedFileSet[] = [];
  for (const fs of fileSets) {
    if (!fs.archive) {
      out.push({ name: fs.name, root: fs.root, extracted: false });
      continue;
    }
    await mkdir(fs.root, { recursive: true, mode: 0o755 });
    await extractArchive(join(bundleDir, fs.archive), fs.root, fs.codec ?? 'gzip');
    await setOwnership(fs.root, { owner: fs.owner, group: fs.group, recursive: true }, `file set "${fs.name}"`);
    out.push({ name: fs.name, root: fs.root, extracted: true });
  }
  return out;
}

/**
 * Interim until services/archive/extract.ts (safe extraction with owner and mode) is on main:
 * GNU tar, which refuses member names with `..`, strips leading `/` and keeps modes with -p.
 */
async function extractArchive(archive: string, root: string, codec: 'gzip' | 'zstd' | 'none'): Promise<void> {
  const decompress = codec === 'gzip' ? ['-z'] : codec === 'zstd' ? ['--zstd'] : [];
  try {
    await execFileP('tar', ['-x', ...decompress, '-p', '--no-same-owner', '-f', archive, '-C', root], { maxBuffer: 16 << 20 });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new UserError('FILESET_EXTRACT_FAILED', `extracting ${archive} into ${root} failed: ${stderr || (err as Error).message}`, {
      where: root,
      hint: codec === 'zstd' ? 'the instance needs GNU tar and zstd (apt-get install tar zstd)' : 'the instance needs GNU tar; check free space and permissions of the root',
    });
  }
}
