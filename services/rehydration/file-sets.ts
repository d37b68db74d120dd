/**
 * The framework's part of rehydrate, before any plugin runs: check each archive against the
 * checksum recorded when the bundle was written, then extract each captured file set at its
 * root (the same path as on the reference host) with its modes, owned by the definition's
 * owner and group (services/archive/extract.ts refuses every entry that would land outside). Both accounts are looked up before anything is written, so a missing user
 * fails cleanly. A shared NFS file set is first mounted at its root from the plan's mount
 * target (host-ops.ts mountVolume); a not-captured one is then just that volume. Removing an
 * instance unmounts it again (releaseVolumes).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../core/errors.js';
import { BUNDLE_MANIFEST, parseManifest, type BundleFileSet } from './bundle-format.js';
import { sha256File } from './checksum.js';
import { extractArchive } from '../archive/extract.js';
import { isMountPoint, lookupAccount, mountVolume, unmountVolume } from './host-ops.js';

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

/** The record that this deployment mounted the volume at `root` (one file per root under the mounts directory). */
function mountRecord(mountsDir: string, root: string): string {
  return join(mountsDir, `${createHash('sha256').update(root).digest('hex').slice(0, 16)}.json`);
}

export async function extractFileSets(bundleDir: string, fileSets: readonly BundleFileSet[], opts: { signal?: AbortSignal; log?: (line: string) => void; mountsDir?: string } = {}): Promise<ExtractedFileSet[]> {
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
      if (await mountVolume(fs.mountTarget, fs.root, where)) {
        opts.log?.(`file set ${fs.name}: mounted ${fs.mountTarget} at ${fs.root}`);
        // Remembered outside the bundle (a new bundle replaces it): release unmounts only what was mounted here.
        if (opts.mountsDir !== undefined) {
          await mkdir(opts.mountsDir, { recursive: true, mode: 0o700 });
          await writeFile(mountRecord(opts.mountsDir, fs.root), `${JSON.stringify({ root: fs.root, target: fs.mountTarget, fileSet: fs.name })}\n`, { mode: 0o600 });
        }
      }
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

/**
 * Undoes the mounts of rehydrate before an instance's directory is removed: each shared
 * volume of the bundle that was mounted for this deployment (its record in `mountsDir`) is
 * unmounted, unless a bundle in `keep` (an instance on this machine that stays) uses the same
 * root. A mount this deployment did not make (the root was a mount point already) is left.
 * Returns what it did, a line per volume. Throws FILESET_UNMOUNT_BUSY when one is in use.
 */
export async function releaseVolumes(bundleDir: string, opts: { mountsDir?: string; keep?: readonly string[]; log?: (line: string) => void }): Promise<string[]> {
  const file = join(bundleDir, BUNDLE_MANIFEST);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  // No bundle (it was never shipped, or is gone): nothing of it can be mounted.
  if (text === undefined) return [];
  const volumes = parseManifest(text, file).fileSets.filter((f) => f.mountTarget !== undefined);
  const kept = new Set<string>();
  for (const other of opts.keep ?? []) {
    const m = await readFile(join(other, BUNDLE_MANIFEST), 'utf8').catch(() => undefined);
    if (m !== undefined) for (const f of parseManifest(m, join(other, BUNDLE_MANIFEST)).fileSets) if (f.mountTarget !== undefined) kept.add(f.root);
  }
  const done: string[] = [];
  const say = (line: string): void => {
    done.push(line);
    opts.log?.(line);
  };
  for (const fs of volumes) {
    const where = `file set "${fs.name}" (root ${fs.root})`;
    if (kept.has(fs.root)) {
      say(`file set ${fs.name}: ${fs.root} stays mounted: another instance on this machine uses it`);
      continue;
    }
    const record = opts.mountsDir !== undefined ? mountRecord(opts.mountsDir, fs.root) : undefined;
    if (record === undefined || !existsSync(record)) {
      if (await isMountPoint(fs.root)) say(`file set ${fs.name}: ${fs.root} left mounted: this deployment did not mount it`);
      continue;
    }
    if (await isMountPoint(fs.root)) await unmountVolume(fs.root, where);
    await rm(record, { force: true });
    say(`file set ${fs.name}: unmounted ${fs.root}`);
  }
  // The records' directory goes with its last record.
  if (opts.mountsDir !== undefined) await rmdir(opts.mountsDir).catch(() => {});
  return done;
}
