import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CaptureCodec } from '../../services/archive/encoders.js';

export async function tempDir(prefix = 'abctl-capture-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Extracts with the real tar binary (-p keeps modes whoever runs the test). */
export function extract(archive: string, codec: CaptureCodec, into: string): void {
  const flags = codec === 'gzip' ? ['-xzpf'] : codec === 'zstd' ? ['--zstd', '-xpf'] : ['-xpf'];
  execFileSync('tar', [...flags, archive, '-C', into], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Entry names as the real tar lists them. */
export function tarList(archive: string, codec: CaptureCodec): string[] {
  const flags = codec === 'gzip' ? ['-tzf'] : codec === 'zstd' ? ['--zstd', '-tf'] : ['-tf'];
  return execFileSync('tar', [...flags, archive], { encoding: 'utf8', maxBuffer: 64 << 20 })
    .split('\n')
    .filter(Boolean);
}

export interface TreeEntry {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  mtime: number;
  /** sha256 of the content (files) or the link target (symlinks). */
  content: string;
}

/** Every entry under `root` (not following symlinks), keyed by relative path. */
export function snapshot(root: string): Map<string, TreeEntry> {
  const out = new Map<string, TreeEntry>();
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(abs);
      const mtime = Math.floor(st.mtimeMs / 1000);
      if (st.isDirectory()) {
        out.set(r, { type: 'dir', mode: st.mode & 0o7777, mtime, content: '' });
        walk(abs, r);
      } else if (st.isFile()) {
        out.set(r, { type: 'file', mode: st.mode & 0o7777, mtime, content: sha256(readFileSync(abs)) });
      } else if (st.isSymbolicLink()) {
        // A symlink's own mode and mtime are not portable (tar restores neither everywhere).
        out.set(r, { type: 'symlink', mode: 0, mtime: 0, content: readlinkSync(abs) });
      } else out.set(r, { type: 'other', mode: 0, mtime: 0, content: '' });
    }
  };
  walk(root, '');
  return out;
}

export function sha256(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256sum(file: string): string {
  return execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0] ?? '';
}
