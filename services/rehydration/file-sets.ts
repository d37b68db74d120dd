/**
 * The framework's part of rehydrate, before any plugin runs: check each archive against the
 * checksum recorded when the bundle was written, then extract each captured file set at its
 * root (the same path as on the reference host) with its modes, owned by the definition's
 * owner and group (services/archive/extract.ts refuses every entry that would land outside). Both accounts are looked up before anything is written, so a missing user
 * fails cleanly. A shared NFS file set is first mounted at its root from the plan's mount
 * target (host-ops.ts mountVolume); a not-captured one is then just that volume.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { BundleFileSet } from './bundle-format.js';
import { sha256File } from './checksum.js';
import { extractArchive } from '../archive/extract.js';
import { lookupAccount, mountVolume } from './host-ops.js';

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

export async function extractFileSets(bundleDir: string, fileSets: readonly BundleFileSet[], opts: { signal?: AbortSignal; log?: (line: string) => void } = {}): Promise<ExtractedFileSet[]> {
  // Accounts first: a typo in an owner must not leave half the file sets extracted.
  const ids = new Map<string, { uid: number; gid: number }>();
  for (const fs of fileSets) {
    const where = `file set "${fs.name}" (root ${fs.root})`;
    const user = await lookupAccount('user', fs.owner, where);
    const group = await lookupAccount('group', fs.group, where);
    ids.set(fs.name, { uid: user.id, gid: group.id });
  }
  const out: ExtractedFileSet[] = [];
  for (const fs of fileSets) {
    if (fs.mountTarget !== undefined) {
      const where = `file set "${fs.name}" (root ${fs.root})`;
      if (await mountVolume(fs.mountTarget, fs.root, where)) opts.log?.(`file set ${fs.name}: mounted ${fs.mountTarget} at ${fs.root}`);
      // A captured shared volume is filled once, by the first instance that finds it empty.
      if (fs.archive && (await readdir(fs.root)).length > 0) {
        out.push({ name: fs.name, root: fs.root, extracted: false });
        continue;
      }
    }
    if (!fs.archive) {
      out.push({ name: fs.name, root: fs.root, extracted: false });
      continue;
    }
    const owner = ids.get(fs.name) as { uid: number; gid: number };
    const result = await extractArchive({ archive: join(bundleDir, fs.archive), root: fs.root, owner, ...(opts.signal ? { signal: opts.signal } : {}) });
    if (!result.ownerApplied && process.getuid?.() !== owner.uid) {
      opts.log?.(`warning: not running as root, so the files of ${fs.root} belong to this user, not ${fs.owner}:${fs.group}`);
    }
    out.push({ name: fs.name, root: fs.root, extracted: true });
  }
  return out;
}
