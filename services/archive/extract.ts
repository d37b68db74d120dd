/**
 * Safe extraction of a captured file set archive into its root directory (issue 10, 5.3.2:
 * file sets land at their original paths with their permissions).
 *
 * Safety: no entry may land outside the root. Refused, with the entry named: absolute names,
 * `..` components, any write through a symlink (one made by an earlier entry or one already
 * in the target), a directory entry where a symlink is, hard links whose target is outside or
 * was not extracted before them by this same archive, devices unless allowed, and tar types
 * other than files, directories, symlinks, hard links and FIFOs. Files are created with
 * O_EXCL | O_NOFOLLOW after removing whatever was at their path, so an existing file, symlink
 * or hard link is replaced, never written into. The checks assume nothing else changes the
 * target tree while extraction runs (the deployer owns it then).
 *
 * What is kept: entry paths relative to the root, file content (sparse files keep their
 * holes), modes with setuid/setgid/sticky, mtimes; owner/group become `owner` (the file set
 * definition's, resolved by the caller) when running as root, otherwise the files belong to
 * the user running abctl. Directory modes and mtimes are set at the end, deepest first, so a
 * read-only directory can still be filled and writing children does not move its mtime.
 *
 * Stopping: on an abort or an error, a root this call created is removed; a root that
 * existed keeps what was written and the marker file INCOMPLETE_MARKER, which is written at
 * the start and removed only on success (so even a killed process leaves it marked).
 *
 * Speed: the archive is inflated off the main thread (extract-source.ts) while the main
 * thread writes files with synchronous calls (no per-file promises), as tar does.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  constants as fsc,
  fchmodSync,
  fchownSync,
  ftruncateSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeSync,
  chmodSync,
  chownSync,
  utimesSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { AbError, UserError, environmentError } from '../../core/errors.js';
import { detectCodec, openArchiveSource } from './extract-source.js';
import type { CaptureCodec } from './encoders.js';
import { TarEntryParser, type TarEntry, type TarEntrySink } from './tar-entries.js';

/** Left in a pre-existing root while extraction runs, and after it fails or is aborted. */
export const INCOMPLETE_MARKER = '.abctl-extract-incomplete';

export interface ExtractProgress {
  /** Entries extracted so far (all kinds). */
  readonly entries: number;
  readonly files: number;
  /** File content bytes written. */
  readonly bytes: number;
  /** Compressed bytes read from the archive (gzip and none; 0 for zstd, which reads the file itself). */
  readonly archiveBytes: number;
}

export interface ExtractOptions {
  /** The archive (tar, gzip with one or many members, or zstd; found from its first bytes). */
  readonly archive: string;
  /** The file set's root directory; created when missing (with its parents). */
  readonly root: string;
  /** Owner and group for every entry, applied only when running as root. */
  readonly owner?: { readonly uid: number; readonly gid: number };
  /** Create character and block devices (root only). Default false: device entries are refused. */
  readonly allowDevices?: boolean;
  readonly signal?: AbortSignal;
  /** Called after each chunk of the tar stream (about 1 MiB). */
  readonly onProgress?: (progress: ExtractProgress) => void;
}

export interface ExtractResult extends ExtractProgress {
  readonly codec: CaptureCodec;
  readonly directories: number;
  readonly symlinks: number;
  readonly hardlinks: number;
  /** True when `owner` was given and applied (running as root). */
  readonly ownerApplied: boolean;
  /** Absolute path of the root, symlinks in it resolved. */
  readonly root: string;
}

export async function extractArchive(opts: ExtractOptions): Promise<ExtractResult> {
  const archive = resolve(opts.archive);
  try {
    if (!statSync(archive).isFile()) throw new UserError('EXTRACT_ARCHIVE_INVALID', 'the archive is not a regular file', { where: archive });
  } catch (err) {
    throw environmentError(err, archive) ?? err;
  }
  opts.signal?.throwIfAborted();
  const codec = await detectCodec(archive);
  const { root, created } = prepareRoot(resolve(opts.root));
  const writer = new SafeWriter(root, archive, {
    owner: opts.owner && process.getuid?.() === 0 ? opts.owner : undefined,
    allowDevices: opts.allowDevices ?? false,
  });
  const marker = join(root, INCOMPLETE_MARKER);
  const source = openArchiveSource(archive, codec);
  const onAbort = (): void => source.close();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    writeMarker(marker, archive);
    const parser = new TarEntryParser(writer, archive);
    for await (const chunk of source) {
      if (opts.signal?.aborted) break;
      parser.push(chunk);
      opts.onProgress?.(writer.progress(source.archiveBytesRead));
      if (parser.ended) break;
    }
    if (opts.signal?.aborted) {
      throw new UserError('EXTRACT_ABORTED', 'extraction was stopped before it finished', {
        where: root,
        hint: created ? 'the partial root was removed; run the extraction again' : `the root keeps what was written, marked by ${INCOMPLETE_MARKER}; run the extraction again`,
      });
    }
    parser.end();
    unlinkSync(marker);
    writer.finish();
    return { ...writer.progress(source.archiveBytesRead), ...writer.counts(), codec, ownerApplied: writer.ownerApplied, root };
  } catch (err) {
    source.close();
    writer.abandon();
    if (created) rmSync(root, { recursive: true, force: true });
    if (err instanceof AbError) throw err;
    throw environmentError(err) ?? err;
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** Creates the root when missing; follows a symlink at the root itself (only there, as capture does). */
function prepareRoot(root: string): { root: string; created: boolean } {
  let created = false;
  try {
    try {
      if (!statSync(root).isDirectory()) {
        throw new UserError('EXTRACT_ROOT_INVALID', 'the file set root exists and is not a directory', {
          where: root,
          hint: 'remove it or choose another root',
        });
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(root, { recursive: true, mode: 0o755 });
      created = true;
    }
    return { root: realpathSync(root), created };
  } catch (err) {
    throw environmentError(err, root) ?? err;
  }
}

function writeMarker(marker: string, archive: string): void {
  try {
    unlinkSync(marker);
  } catch {
    // not there
  }
  const fd = openSync(marker, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o644);
  try {
    writeSync(fd, `abctl is extracting ${archive} here, or was stopped before it finished; extract again.\n`);
  } finally {
    closeSync(fd);
  }
}

interface DeferredDir {
  readonly rel: string;
  readonly mode: number;
  readonly mtime: number;
}

/** Where each non-directory path made by this extraction came from (hard links may point only there). */
type Made = 'file' | 'symlink' | 'fifo' | 'device';

/**
 * The tar sink that writes into the root. All paths are checked as relative segment lists
 * before anything touches the disk.
 */
class SafeWriter implements TarEntrySink {
  readonly #root: string;
  readonly #archive: string;
  readonly #owner: { uid: number; gid: number } | undefined;
  readonly #allowDevices: boolean;
  /** Relative paths known to be real directories (made here or checked with lstat); '' is the root. */
  readonly #dirs = new Set<string>(['']);
  readonly #made = new Map<string, Made>();
  readonly #symlinks = new Set<string>();
  readonly #deferred = new Map<string, DeferredDir>();
  #fd = -1;
  /** The open file still needs its mode set (see #openFile). */
  #chmod = true;
  /** The process umask, read once (see #openFile). */
  readonly #umask = process.umask();
  #current: TarEntry | undefined;
  #currentPath = '';
  #sparseAt = 0;
  #segment = 0;
  #segLeft = 0;
  #entries = 0;
  #files = 0;
  #bytes = 0;
  #directories = 0;
  #symlinkCount = 0;
  #hardlinks = 0;

  constructor(root: string, archive: string, opts: { owner: { uid: number; gid: number } | undefined; allowDevices: boolean }) {
    this.#root = root;
    this.#archive = archive;
    this.#owner = opts.owner;
    this.#allowDevices = opts.allowDevices;
  }

  get ownerApplied(): boolean {
    return this.#owner !== undefined;
  }

  progress(archiveBytes: number): ExtractProgress {
    return { entries: this.#entries, files: this.#files, bytes: this.#bytes, archiveBytes };
  }

  counts(): { directories: number; symlinks: number; hardlinks: number } {
    return { directories: this.#directories, symlinks: this.#symlinkCount, hardlinks: this.#hardlinks };
  }

  entry(e: TarEntry): void {
    const rel = this.#relative(e.name, e);
    this.#current = e;
    this.#entries++;
    if (rel !== '') this.#checkParents(rel, e);
    const abs = rel === '' ? this.#root : `${this.#root}/${rel}`;
    this.#currentPath = abs;
    try {
      switch (e.kind) {
        case 'directory':
          this.#directory(rel, abs, e);
          return;
        case 'file':
          this.#openFile(rel, abs, e);
          return;
        case 'symlink':
          this.#symlink(rel, abs, e);
          return;
        case 'hardlink':
          this.#hardlink(rel, abs, e);
          return;
        case 'fifo':
        case 'char-device':
        case 'block-device':
          this.#special(rel, abs, e);
          return;
      }
    } catch (err) {
      throw this.#wrap(err, e);
    }
  }

  data(chunk: Buffer): void {
    if (this.#fd < 0) return;
    const e = this.#current!;
    try {
      if (!e.sparse) {
        writeAll(this.#fd, chunk, undefined);
      } else {
        // Stored data is the segments back to back; each goes to its offset in the file.
        let pos = 0;
        while (pos < chunk.length) {
          while (this.#segLeft === 0) {
            const seg = e.sparse.segments[this.#segment++]!;
            this.#sparseAt = seg.offset;
            this.#segLeft = seg.size;
          }
          const n = Math.min(this.#segLeft, chunk.length - pos);
          writeAll(this.#fd, chunk.subarray(pos, pos + n), this.#sparseAt);
          this.#sparseAt += n;
          this.#segLeft -= n;
          pos += n;
        }
      }
      this.#bytes += chunk.length;
    } catch (err) {
      throw this.#wrap(err, e);
    }
  }

  end(): void {
    const e = this.#current;
    if (this.#fd < 0 || !e) return;
    const fd = this.#fd;
    this.#fd = -1;
    try {
      if (e.sparse) ftruncateSync(fd, e.sparse.realSize);
      // chown before chmod: changing the owner clears setuid/setgid bits.
      if (this.#owner) fchownSync(fd, this.#owner.uid, this.#owner.gid);
      if (this.#chmod) fchmodSync(fd, e.mode);
      futimesSync(fd, e.mtime, e.mtime);
    } catch (err) {
      throw this.#wrap(err, e);
    } finally {
      closeSync(fd);
    }
  }

  /** Success: directory modes and times, deepest first (children first keeps parents' mtimes). */
  finish(): void {
    const dirs = [...this.#deferred.values()].sort((a, b) => b.rel.length - a.rel.length);
    for (const d of dirs) {
      const abs = d.rel === '' ? this.#root : `${this.#root}/${d.rel}`;
      try {
        if (this.#owner) chownSync(abs, this.#owner.uid, this.#owner.gid);
        chmodSync(abs, d.mode);
        utimesSync(abs, d.mtime, d.mtime);
      } catch (err) {
        throw environmentError(err, abs) ?? err;
      }
    }
  }

  /** Failure: closes the file being written. */
  abandon(): void {
    if (this.#fd >= 0) {
      closeSync(this.#fd);
      this.#fd = -1;
    }
  }

  // ---- checks ----

  /** The entry's path relative to the root, or a refusal. `''` is the root itself. */
  #relative(name: string, e: TarEntry, what = 'name'): string {
    // Fast path for names as capture writes them (`./a/b`, `./a/`): no empty, `.` or `..`
    // segment after the prefix, so the result is the name without `./` and trailing `/`.
    if (name.startsWith('./') && !name.includes('/.', 1) && !name.includes('//') && !name.includes('\0')) {
      return name.endsWith('/') ? name.slice(2, -1) : name.slice(2);
    }
    if (name.startsWith('/')) throw this.#refuse(e, `its ${what} "${name}" is absolute`);
    if (name.includes('\0')) throw this.#refuse(e, `its ${what} contains a NUL character`);
    const out: string[] = [];
    for (const seg of name.split('/')) {
      if (seg === '' || seg === '.') continue;
      if (seg === '..') throw this.#refuse(e, `its ${what} "${name}" has a ".." component`);
      out.push(seg);
    }
    return out.join('/');
  }

  /** Every parent of `rel` must be a real directory: made when missing, refused when a symlink. */
  #checkParents(rel: string, e: TarEntry): void {
    const slash = rel.lastIndexOf('/');
    if (slash < 0 || this.#dirs.has(rel.slice(0, slash))) return;
    let at = 0;
    while (true) {
      const next = rel.indexOf('/', at);
      if (next < 0) return;
      const dir = rel.slice(0, next);
      at = next + 1;
      if (this.#dirs.has(dir)) continue;
      const abs = `${this.#root}/${dir}`;
      let st;
      try {
        st = lstatSync(abs);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw this.#wrap(err, e);
        // A parent the archive did not list (capture lists every directory; other tars may not).
        try {
          mkdirSync(abs, 0o755);
        } catch (err2) {
          throw this.#wrap(err2, e);
        }
        if (this.#owner) lchownSync(abs, this.#owner.uid, this.#owner.gid);
        this.#dirs.add(dir);
        continue;
      }
      if (st.isSymbolicLink()) throw this.#throughSymlink(e, dir);
      if (!st.isDirectory()) throw this.#refuse(e, `"${dir}" on its path is not a directory`);
      this.#dirs.add(dir);
    }
  }

  #throughSymlink(e: TarEntry, dir: string): UserError {
    const origin = this.#symlinks.has(dir) ? 'made by an earlier entry of this archive' : 'already in the target';
    return this.#refuse(e, `it would be written through the symlink "${dir}" (${origin})`);
  }

  /**
   * Makes room for a non-directory at `rel`: whatever is there is removed (never written
   * into); a directory only when empty.
   */
  #clear(rel: string, abs: string, e: TarEntry): void {
    let st;
    try {
      st = lstatSync(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    if (st.isDirectory()) {
      if (readdirSync(abs).length > 0) throw this.#refuse(e, `a directory with content is already at "${rel}"`);
      rmdirSync(abs);
      this.#dirs.delete(rel);
      this.#deferred.delete(rel);
    } else {
      unlinkSync(abs);
    }
    this.#made.delete(rel);
    this.#symlinks.delete(rel);
  }

  // ---- entry kinds ----

  #directory(rel: string, abs: string, e: TarEntry): void {
    this.#directories++;
    if (!this.#dirs.has(rel)) {
      try {
        // Owner-writable until finish() sets the real mode, so the archive can fill it.
        mkdirSync(abs, 0o700);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const st = lstatSync(abs);
        if (st.isSymbolicLink()) {
          const origin = this.#symlinks.has(rel) ? 'made by an earlier entry of this archive' : 'already in the target';
          throw this.#refuse(e, `it is a directory, but "${rel}" is a symlink (${origin})`);
        }
        if (!st.isDirectory()) {
          unlinkSync(abs);
          this.#made.delete(rel);
          mkdirSync(abs, 0o700);
        }
      }
      this.#dirs.add(rel);
    }
    this.#deferred.set(rel, { rel, mode: e.mode, mtime: e.mtime });
  }

  #openFile(rel: string, abs: string, e: TarEntry): void {
    if (rel === '') throw this.#refuse(e, 'a file cannot replace the root');
    const flags = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;
    // Created with its final permission bits when the umask leaves them whole (no special
    // bits, which must wait for the owner): one fchmod less per file, as many as tar saves.
    const mode = e.mode & 0o777;
    this.#chmod = (e.mode & 0o7000) !== 0 || (mode & this.#umask) !== 0;
    const createMode = this.#chmod ? 0o600 : mode;
    try {
      this.#fd = openSync(abs, flags, createMode);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      this.#clear(rel, abs, e);
      this.#fd = openSync(abs, flags, createMode);
    }
    if (e.sparse) {
      this.#segment = 0;
      this.#segLeft = 0;
    }
    this.#made.set(rel, 'file');
    this.#files++;
  }

  #symlink(rel: string, abs: string, e: TarEntry): void {
    if (rel === '') throw this.#refuse(e, 'a symlink cannot replace the root');
    // The target is kept verbatim (absolute or dangling ones too): it is never followed here.
    try {
      symlinkSync(e.linkname, abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      this.#clear(rel, abs, e);
      symlinkSync(e.linkname, abs);
    }
    if (this.#owner) lchownSync(abs, this.#owner.uid, this.#owner.gid);
    lutimesSync(abs, e.mtime, e.mtime);
    this.#made.set(rel, 'symlink');
    this.#symlinks.add(rel);
    this.#symlinkCount++;
  }

  #hardlink(rel: string, abs: string, e: TarEntry): void {
    if (rel === '') throw this.#refuse(e, 'a hard link cannot replace the root');
    const target = this.#relative(e.linkname, e, 'link target');
    if (target === '' || !this.#made.has(target)) {
      throw this.#refuse(e, `it is a hard link to "${e.linkname}", which this archive did not extract before it`);
    }
    if (target === rel) return;
    try {
      linkSync(`${this.#root}/${target}`, abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      this.#clear(rel, abs, e);
      linkSync(`${this.#root}/${target}`, abs);
    }
    this.#made.set(rel, this.#made.get(target)!);
    this.#hardlinks++;
  }

  #special(rel: string, abs: string, e: TarEntry): void {
    if (rel === '') throw this.#refuse(e, 'a special file cannot replace the root');
    const device = e.kind !== 'fifo';
    if (device && !this.#allowDevices) {
      throw this.#refuse(e, `it is a ${e.kind === 'char-device' ? 'character' : 'block'} device, and devices are not allowed`, 'pass allowDevices when the file set really holds device nodes');
    }
    this.#clear(rel, abs, e);
    // Node has no mkfifo/mknod; the coreutils programs do it (these entries are rare).
    const mode = (e.mode & 0o7777).toString(8);
    const args = device
      ? ['-m', mode, '--', abs, e.kind === 'char-device' ? 'c' : 'b', String(e.devmajor), String(e.devminor)]
      : ['-m', mode, '--', abs];
    execFileSync(device ? 'mknod' : 'mkfifo', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    if (this.#owner) lchownSync(abs, this.#owner.uid, this.#owner.gid);
    chmodSync(abs, e.mode);
    utimesSync(abs, e.mtime, e.mtime);
    this.#made.set(rel, device ? 'device' : 'fifo');
  }

  // ---- errors ----

  #refuse(e: TarEntry, why: string, hint = 'the archive is not a file set capture of abctl, or it was tampered with; nothing outside the root was touched'): UserError {
    return new UserError('EXTRACT_ENTRY_REFUSED', `refused entry "${e.name}": ${why}`, { where: this.#archive, hint });
  }

  #wrap(err: unknown, e: TarEntry): unknown {
    if (err instanceof AbError) return err;
    const env = environmentError(err, this.#currentPath);
    if (env) return new UserError(env.code, `entry "${e.name}": ${env.message}`, { where: env.where ?? this.#currentPath, ...(env.hint ? { hint: env.hint } : {}), cause: err });
    return err;
  }
}

/** Writes all of `buf` (at `position` when given), looping over short writes. */
function writeAll(fd: number, buf: Buffer, position: number | undefined): void {
  let off = 0;
  while (off < buf.length) {
    const n = writeSync(fd, buf, off, buf.length - off, position === undefined ? null : position + off);
    off += n;
  }
}

// Re-exported for callers that need the codec without extracting (e.g. a bundle check).
export { detectCodec };
