/**
 * File set capture, local side: walk a definition's root, apply its excludes, write a tar
 * stream and compress it into one archive that standard tools open.
 *
 * Archive layout (documented for rehydration and for people):
 * - entry names are relative to the root with a `./` prefix, as `tar -C ROOT -cf - .` writes
 *   them; the root itself is the first entry, `./`; directories end with `/`;
 *   never absolute, never `..`;
 * - regular files, directories (also empty ones) and symlinks (stored as links, never
 *   followed; the target is kept verbatim, relative or absolute, dangling or not);
 * - mode (permission bits with setuid/setgid/sticky) and mtime (whole seconds) as on the
 *   source; owner and group as numeric ids of the source with no names (rehydration sets
 *   owner/group from the definition);
 * - hard links: the first name of a file (within the set) is stored as a file, later names
 *   as tar hard links (type '1') to it, as GNU tar does;
 * - sparse files (fewer blocks allocated than their size, over SECRET_SNIFF_BYTES) in GNU
 *   tar's PAX sparse format 1.0, holes found by reading (Node has no SEEK_HOLE), so GNU tar
 *   restores them sparse;
 * - sockets, FIFOs and devices are skipped and listed in `skipped`, as are secrets
 *   (secrets.ts: default paths, private keys and credential stores by name or content) and
 *   names that are not valid UTF-8 (or hold U+FFFD, which is how the SSH path sees them);
 * - POSIX ustar headers, with a PAX header for paths/link targets over 100 bytes, sizes of
 *   8 GiB and more, and large ids.
 *
 * Speed: the main thread walks (readdir, sorted names, excludes, secret paths) and writes the
 * tar stream into 1 MiB blocks, headers in place; the per-entry system calls (lstat or
 * open+fstat, reading small files whole, readlink) run ahead of it in batches on a reader
 * thread (capture-reader.ts) once the tree has more than a few hundred entries, and large
 * files are read straight into the blocks on the main thread. Every full block goes to the codec, which compresses off the main thread.
 * The loop yields between blocks, so an abort or a progress callback waits at most one block.
 * Reading ahead means a small file is read up to a few hundred entries before it is written:
 * a change made in between is not seen, as with any archiver that buffers.
 */
import { openSync, readSync, closeSync, readdirSync, realpathSync, statSync, constants as fsc } from 'node:fs';
import type { Dirent } from 'node:fs';
import { basename, dirname, resolve as resolvePath } from 'node:path';
import type { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { UserError } from '../../core/errors.js';
import { compileExcludes } from '../../core/metadata/index.js';
import { ArchiveFile } from './archive-file.js';
import { ReadAhead, type EntryStat, type ReadRequest, type ReadResult } from './capture-reader.js';
import { BLOCK_SIZE, CAPTURE_CODECS, checkLevel, createEncoder, requireZstd, type BlockEncoder, type CaptureCodec } from './encoders.js';
import { SECRET_SNIFF_BYTES, SecretRules } from './secrets.js';
import { BLOCK, encodeHeader, encodeSparseHeader, endOfArchive, writeHeader, type TarHeaderInput } from './tar-header.js';
import type { SparseSegment } from './tar-entries.js';
import { TarFilter } from './tar-filter.js';

/**
 * Decides which entries a capture leaves out. Gets the path relative to the root (`a/b`, no
 * `./`) of one entry; a dropped directory is not walked. `ExcludeMatcher` from
 * core/metadata (compileExcludes) is one.
 */
export interface ExcludeFilter {
  dropsEntry(relPath: string): boolean;
}

export type SkipReason = 'socket' | 'fifo' | 'block-device' | 'character-device' | 'unknown-type' | 'secret' | 'name-not-utf8' | 'archive-output';

export interface SkippedEntry {
  /** Relative to the root, without `./`. */
  readonly path: string;
  readonly reason: SkipReason;
}

export interface CaptureProgress {
  readonly files: number;
  readonly directories: number;
  readonly symlinks: number;
  /** Uncompressed file content bytes so far. */
  readonly bytes: number;
  /** Compressed bytes written to the archive so far. */
  readonly archiveBytes: number;
}

export interface CaptureResult {
  /** Absolute path of the archive. */
  readonly out: string;
  readonly codec: CaptureCodec;
  /** Regular files (hard links of a tar stream included). */
  readonly files: number;
  /** Directories, the root included. */
  readonly directories: number;
  readonly symlinks: number;
  /** Uncompressed content bytes of the regular files. */
  readonly bytes: number;
  /** Size of the archive file. */
  readonly archiveBytes: number;
  /** sha256 of the archive file, hex. */
  readonly sha256: string;
  readonly skipped: readonly SkippedEntry[];
}

export interface CaptureOutputOptions {
  /** Archive path; written atomically (a partial file next to it, renamed when complete). */
  readonly out: string;
  readonly codec: CaptureCodec;
  /** gzip 0-9 (default 6), zstd 1-19 (default 3); none takes none. */
  readonly level?: number;
  /** Aborting removes the partial file and rejects with CAPTURE_ABORTED. */
  readonly signal?: AbortSignal;
  /** Called after each block (~1 MiB of tar stream). */
  readonly onProgress?: (progress: CaptureProgress) => void;
  /** gzip blocks compressed at once (default: cores + 2, at most the thread pool size). */
  readonly concurrency?: number;
  /** Mode of the archive file (default 0600: config files often hold passwords). */
  readonly mode?: number;
}

export interface CaptureFileSetOptions extends CaptureOutputOptions {
  /** The definition's root directory (a symlink to a directory is followed, only here). */
  readonly root: string;
  /** The definition's excludes, relative to root, or a compiled filter. */
  readonly excludes?: readonly string[] | ExcludeFilter;
  /** Default secrets the definition names explicitly (absolute paths): captured after all. */
  readonly allowSecrets?: readonly string[];
  /** Paths relative to root that the secret rules would skip, captured on purpose (FileSetDefinition.includeSecrets). */
  readonly includeSecrets?: readonly string[];
  /** Replaces DEFAULT_SECRET_PATHS (absolute paths, `*` within one segment). */
  readonly secretPaths?: readonly string[];
  /**
   * Worker threads that fetch stats and small files ahead of the writer, on trees of more than
   * a few hundred entries (default 1; 0: everything on the calling thread). The archive is the same either way.
   */
  readonly readers?: number;
}

export type CaptureFromTarStreamOptions = CaptureOutputOptions & {
  /** Named in errors, e.g. `host:/opt/product`. */
  readonly where?: string;
  /** The directory the stream was made from (absolute), for the secret paths; default `/`. */
  readonly root?: string;
} & Pick<CaptureFileSetOptions, 'allowSecrets' | 'includeSecrets' | 'secretPaths'>;

function checkCodec(codec: CaptureCodec, level: number | undefined): void {
  if (!CAPTURE_CODECS.includes(codec)) {
    throw new UserError('CAPTURE_CODEC_INVALID', `unknown capture codec "${String(codec)}"`, { hint: `use one of ${CAPTURE_CODECS.join(', ')}` });
  }
  checkLevel(codec, level);
  // Fail before any file is created.
  if (codec === 'zstd') requireZstd();
}

function aborted(signal: AbortSignal | undefined, where: string | undefined): UserError {
  return new UserError('CAPTURE_ABORTED', 'capture aborted; no archive was written', { where, cause: signal?.reason });
}

/** Collects the tar stream into blocks and hands full blocks to the codec. */
class BlockWriter {
  #block: Buffer = Buffer.allocUnsafe(BLOCK_SIZE);
  #off = 0;
  /**
   * Blocks the codec has finished with, filled again instead of allocating: fresh 1 MiB
   * buffers per block stayed in memory until V8 collected them, tens of MB of peak RSS.
   */
  readonly #free: Buffer[] = [];
  #encoder!: BlockEncoder;
  readonly #file: ArchiveFile;
  readonly #signal: AbortSignal | undefined;
  readonly #where: string | undefined;
  readonly #progress: (() => void) | undefined;

  constructor(file: ArchiveFile, opts: { signal?: AbortSignal | undefined; where?: string | undefined; progress?: (() => void) | undefined }) {
    this.#file = file;
    this.#signal = opts.signal;
    this.#where = opts.where;
    this.#progress = opts.progress;
  }

  /** Connects the codec (made after the writer, since it hands blocks back through `release`). */
  use(encoder: BlockEncoder): void {
    this.#encoder = encoder;
  }

  /** A block the codec is done with: kept for reuse (full-size ones, a few). */
  release = (block: Buffer): void => {
    if (block.length === BLOCK_SIZE && this.#free.length < 8) this.#free.push(block);
  };

  get archiveBytes(): number {
    return this.#file.bytes;
  }

  /**
   * A block was handed to the codec since the last `settle`: call it before writing on (the
   * writes below hand full blocks over themselves, so an entry's bytes go in without awaiting).
   */
  get handed(): boolean {
    return this.#handed;
  }

  /** Copies as much of `data` (from `pos`) as fits in the block; returns the count. */
  appendPart(data: Buffer, pos: number): number {
    const n = Math.min(BLOCK_SIZE - this.#off, data.length - pos);
    data.copy(this.#block, this.#off, pos, pos + n);
    this.#off += n;
    if (this.#off === BLOCK_SIZE) this.#handOver();
    return n;
  }

  /** Copies all of `data` in. */
  append(data: Buffer): void {
    for (let pos = 0; pos < data.length; ) pos += this.appendPart(data, pos);
  }

  /** The header(s) of one entry: written in place when it needs no PAX header (most do). */
  header(st: EntryStat, path: string, type: TarHeaderInput['type'], linkname?: string): void {
    // The block is always filled in whole 512-byte steps here, so a header fits when there is room.
    const at = this.#off;
    const mtime = Math.floor(st.mtimeMs / 1000);
    if (at + BLOCK <= BLOCK_SIZE && writeHeader(this.#block, at, path, type, st.mode, st.uid, st.gid, st.size, mtime, linkname)) {
      this.#off += BLOCK;
      if (this.#off === BLOCK_SIZE) this.#handOver();
    } else {
      this.append(encodeHeader(headerFor(st, path, type, linkname)));
    }
  }

  /** Reads up to `max` bytes from `fd` (at `position`, or where the file is) into the block; returns the count (0 at end of file). */
  readFrom(fd: number, max: number, position: number | null = null): number {
    const n = readSync(fd, this.#block, this.#off, Math.min(max, BLOCK_SIZE - this.#off), position);
    this.#off += n;
    if (this.#off === BLOCK_SIZE) this.#handOver();
    return n;
  }

  /** Zero padding up to the next 512-byte boundary (never crosses a block: BLOCK_SIZE is a multiple of 512). */
  pad(): void {
    const rest = this.#off % BLOCK;
    if (rest === 0) return;
    this.#block.fill(0, this.#off, this.#off + BLOCK - rest);
    this.#off += BLOCK - rest;
    if (this.#off === BLOCK_SIZE) this.#handOver();
  }

  #pendingWait: Promise<void> | undefined;
  #handed = false;

  #handOver(): void {
    const block = this.#off === BLOCK_SIZE ? this.#block : this.#block.subarray(0, this.#off);
    this.#block = this.#free.pop() ?? Buffer.allocUnsafe(BLOCK_SIZE);
    this.#off = 0;
    this.#handed = true;
    const wait = this.#encoder.write(block);
    if (wait) this.#pendingWait = this.#pendingWait ? this.#pendingWait.then(() => wait) : wait;
  }

  /** After a hand-over: waits as the codec asks, yields to the event loop, checks abort, reports progress. */
  async settle(): Promise<void> {
    this.#handed = false;
    const wait = this.#pendingWait;
    this.#pendingWait = undefined;
    // Without a wait from the codec, still let timers and I/O run (abort, progress display).
    if (wait) await wait;
    else await nextTurn();
    if (this.#signal?.aborted) throw aborted(this.#signal, this.#where);
    this.#progress?.();
  }

  async finish(): Promise<void> {
    if (this.#off > 0) this.#handOver();
    if (this.#pendingWait) await this.#pendingWait;
    this.#pendingWait = undefined;
    await this.#encoder.end();
    if (this.#signal?.aborted) throw aborted(this.#signal, this.#where);
  }
}

/** Runs `body` against a fresh partial archive; commits it on success, removes it on any failure. */
async function withArchive(
  opts: CaptureOutputOptions,
  where: string | undefined,
  progress: (writer: BlockWriter) => void,
  body: (writer: BlockWriter) => Promise<void>,
): Promise<{ sha256: string; archiveBytes: number; out: string }> {
  const signal = opts.signal;
  if (signal?.aborted) throw aborted(signal, where);
  const file = ArchiveFile.create(opts.out, opts.mode);
  let encoder: BlockEncoder | undefined;
  try {
    const writer: BlockWriter = new BlockWriter(file, { signal, where, progress: () => progress(writer) });
    encoder = createEncoder(opts.codec, file, { level: opts.level, concurrency: opts.concurrency, release: writer.release });
    writer.use(encoder);
    await body(writer);
    await writer.finish();
    const sha256 = file.commit();
    return { sha256, archiveBytes: file.bytes, out: file.out };
  } catch (err) {
    encoder?.abort();
    file.discard();
    if (signal?.aborted && !(err instanceof UserError && err.code === 'CAPTURE_ABORTED')) throw aborted(signal, where);
    throw err;
  }
}

function sourceError(err: unknown, root: string, rel: string): UserError {
  const code = (err as NodeJS.ErrnoException).code;
  const where = rel === '' ? root : `${root}/${rel}`;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new UserError('CAPTURE_SOURCE_CHANGED', `${rel || '.'} disappeared during the capture`, {
      where,
      hint: 'stop the product (or exclude files it creates and removes) and capture again',
      cause: err,
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new UserError('CAPTURE_UNREADABLE', `cannot read ${rel || '.'}: permission denied`, {
      where,
      hint: 'capture as a user who can read the whole file set, or exclude this path',
      cause: err,
    });
  }
  return new UserError('CAPTURE_READ_FAILED', `cannot read ${rel || '.'}: ${(err as Error).message}`, { where, cause: err });
}

function otherType(st: EntryStat): SkipReason {
  switch (st.mode & fsc.S_IFMT) {
    case fsc.S_IFSOCK:
      return 'socket';
    case fsc.S_IFIFO:
      return 'fifo';
    case fsc.S_IFBLK:
      return 'block-device';
    case fsc.S_IFCHR:
      return 'character-device';
    default:
      return 'unknown-type';
  }
}

/** One entry of the walk (see captureFileSet). `name` is empty for entries that are not read. */
interface WalkItem extends ReadRequest {
  readonly rel: string;
  /** readdir says it is a directory (the walk enters it). */
  readonly dir: boolean;
  readonly skip?: SkipReason;
  /** The secret rules skip it by name (when it is a regular file). */
  readonly secretName?: boolean;
  /** Its directory could not be read. */
  readonly error?: UserError;
}

/**
 * Reader threads: one takes the per-file calls off the main thread (its CPU on 100k small
 * files went from ~2.3 s to ~1.2 s); a second bought no more there and cost ~9 MB of RSS.
 */
const DEFAULT_READERS = 1;

function headerFor(st: EntryStat, path: string, type: TarHeaderInput['type'], linkname?: string): TarHeaderInput {
  return {
    path,
    type,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    size: type === 'file' ? st.size : 0,
    mtime: Math.floor(st.mtimeMs / 1000),
    linkname,
  };
}

/** Granularity of hole detection: a page, the unit file systems allocate. */
const HOLE_UNIT = 4096;
const SCAN_CHUNK = 1024 * 1024;
const ZEROS = Buffer.alloc(SCAN_CHUNK);
const SHRANK = new Error('the file shrank while its holes were looked for');

/**
 * The data stretches of a file that has holes, found by reading it (zero pages count as
 * holes, as GNU tar's raw detection does; reading a hole costs no disk I/O). Undefined when
 * there is no hole, so the file is stored plainly. Yields between chunks: a 4 GiB file takes
 * a second or two.
 */
async function dataSegments(fd: number, size: number, signal: AbortSignal | undefined): Promise<SparseSegment[] | undefined> {
  const buf = Buffer.allocUnsafe(SCAN_CHUNK);
  const segments: SparseSegment[] = [];
  let start = -1; // start of the data stretch being extended
  const close = (end: number): void => {
    if (start >= 0) segments.push({ offset: start, size: end - start });
    start = -1;
  };
  for (let at = 0; at < size; ) {
    const want = Math.min(SCAN_CHUNK, size - at);
    let n = 0;
    while (n < want) {
      const r = readSync(fd, buf, n, want - n, at + n);
      if (r === 0) break;
      n += r;
    }
    if (n < want) throw SHRANK;
    if (buf.compare(ZEROS, 0, n, 0, n) === 0) {
      close(at);
    } else {
      for (let o = 0; o < n; o += HOLE_UNIT) {
        const len = Math.min(HOLE_UNIT, n - o);
        if (buf.compare(ZEROS, 0, len, o, o + len) === 0) close(at + o);
        else if (start < 0) start = at + o;
      }
    }
    at += n;
    if ((at / SCAN_CHUNK) % 64 === 0) {
      await nextTurn();
      if (signal?.aborted) throw Object.assign(new Error('aborted'), { code: 'ABORT_ERR' });
    }
  }
  close(size);
  if (segments.length === 1 && segments[0]!.offset === 0 && segments[0]!.size === size) return undefined;
  return segments;
}

/** Opening flags: never follow a symlink swapped in after the walk; never block on a FIFO swapped in. */
const OPEN_FLAGS = fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK;

/**
 * Captures one file set definition (root + excludes) into a single archive.
 * Fails with a UserError, leaving nothing at `out`, when the root is missing, a file
 * vanishes, shrinks or cannot be read during the capture, or on abort.
 */
export async function captureFileSet(opts: CaptureFileSetOptions): Promise<CaptureResult> {
  checkCodec(opts.codec, opts.level);
  const root = resolvePath(opts.root);
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
    if (!statSync(realRoot).isDirectory()) {
      throw new UserError('CAPTURE_ROOT_INVALID', `file set root ${root} is not a directory`, { where: root });
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError('CAPTURE_ROOT_INVALID', `file set root ${root} cannot be read: ${(err as Error).message}`, { where: root, cause: err });
  }
  const filter: ExcludeFilter | undefined =
    opts.excludes === undefined ? undefined : Array.isArray(opts.excludes) ? compileExcludes(opts.excludes as readonly string[]) : (opts.excludes as ExcludeFilter);
  const secrets = new SecretRules(realRoot, {
    ...(opts.secretPaths ? { secretPaths: opts.secretPaths } : {}),
    allowAbsolute: opts.allowSecrets ?? [],
    allowRelative: opts.includeSecrets ?? [],
  });
  // Hard links: the stored name of each multiply-linked file, and the files skipped as secrets.
  const firstNames = new Map<string, string>();
  const secretFiles = new Set<string>();
  const sniff = Buffer.allocUnsafe(SECRET_SNIFF_BYTES);
  const skipped: SkippedEntry[] = [];
  const counts = { files: 0, directories: 0, symlinks: 0, bytes: 0 };
  // The archive may be written inside the tree it captures; never read it back into itself.
  // Compared by directory (real path, with a final `/`) and name, as the walk has them.
  const outAbs = resolvePath(opts.out);
  let outDir = dirname(outAbs);
  try {
    outDir = realpathSync(outDir);
  } catch {
    // the directory is missing: creating the archive fails with a clear error below
  }
  if (outDir !== '/') outDir += '/';
  const outName = basename(outAbs);
  const partialName = `${outName}.partial-`;

  const progress = (w: BlockWriter): void => opts.onProgress?.({ ...counts, archiveBytes: w.archiveBytes });

  /**
   * The walk, one entry at a time in archive order: directories depth first, names sorted,
   * excludes and secret paths applied, a directory's entries read (readdir) when the walk
   * enters it. Everything an entry needs from the file system beyond its name comes from the
   * read-ahead (capture-reader.ts).
   */
  const frames: { dir: string; rel: string; name: string | undefined; entries: Dirent[]; i: number }[] = [];
  /** Entries a readdir produced before the directory's own (names that are not UTF-8, its failure). */
  const queued: WalkItem[] = [];
  /** `dir`: the directory's absolute path with a final `/`; `name`: its own name (undefined for the root). */
  const enter = (dir: string, rel: string, name: string | undefined): void => {
    let raw: Dirent[];
    try {
      // Names as strings: Node decodes them as Buffer#toString('utf8') would (both replace
      // invalid sequences with U+FFFD), without a Buffer per name.
      raw = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      queued.push({ parent: '', name: '', rel, dir: false, content: false, error: sourceError(err, root, rel) });
      return;
    }
    const entries: Dirent[] = [];
    for (const d of raw) {
      const name = d.name;
      // Linux names are bytes; a name that is not UTF-8 cannot be stored in a PAX path as is.
      // Decoding turns every invalid sequence into U+FFFD, so looking for it finds them all;
      // a real U+FFFD is skipped too: the SSH path only sees names decoded, so both paths skip the same names.
      if (name.includes('\uFFFD')) {
        queued.push({ parent: '', name: '', rel: rel ? `${rel}/${name}` : name, dir: false, content: false, skip: 'name-not-utf8' });
      } else entries.push(d);
    }
    // Sorted (by UTF-16 code units, as Array.prototype.sort does), so the same tree always gives
    // the same archive (readdir order is arbitrary).
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    frames.push({ dir, rel, name, entries, i: 0 });
  };
  /** The archive being written, or a partial file of this or an earlier, killed capture. */
  const isOwnOutput = (dir: string, name: string): boolean => dir === outDir && (name === outName || name.startsWith(partialName));
  const walk = (): WalkItem | undefined => {
    for (;;) {
      const early = queued.shift();
      if (early) return early;
      const frame = frames.at(-1);
      if (!frame) return undefined;
      if (frame.i >= frame.entries.length) {
        frames.pop();
        continue;
      }
      const d = frame.entries[frame.i++]!;
      const name = d.name;
      const dir = d.isDirectory();
      const rel = frame.rel ? `${frame.rel}/${name}` : name;
      if (filter?.dropsEntry(rel)) continue;
      if (secrets.byPath(rel)) return { parent: '', name: '', rel, dir: false, content: false, skip: 'secret' };
      const secretName = !dir && secrets.byFileName(rel, name, frame.name);
      // No content for what is skipped anyway: the archive itself, partial files, secrets by name.
      const content = !dir && !secretName && !isOwnOutput(frame.dir, name);
      // The directory's entries come right after it.
      if (dir) enter(`${frame.dir}${name}/`, rel, name);
      return { parent: frame.dir, name, rel, dir, content, secretName, file: d.isFile() };
    }
  };

  const written = await withArchive(opts, root, progress, async (w) => {
    const rootStat = statSync(realRoot);
    w.header(rootStat, './', 'directory');
    counts.directories++;
    if (w.handed) await w.settle();

    const shrank = (rel: string): UserError =>
      new UserError('CAPTURE_SOURCE_CHANGED', `${rel} shrank during the capture`, {
        where: `${root}/${rel}`,
        hint: 'stop the product (or exclude files it rewrites) and capture again',
      });

    /** Stores one regular file; false (nothing written) when its content is a secret. */
    const copyFile = async (wr: BlockWriter, st: EntryStat, abs: string, rel: string, fetched: ReadResult): Promise<boolean> => {
      // Read ahead: the whole content of a small file, or the reason it could not be read.
      if (fetched.error) throw sourceError(fetched.error, root, rel);
      let fd: number;
      try {
        fd = openSync(abs, OPEN_FLAGS);
      } catch (err) {
        throw sourceError(err, root, rel);
      }
      try {
        if (st.size <= SECRET_SNIFF_BYTES) {
          // Small files are read whole first, to look for a private key before any byte is written.
          let got = 0;
          try {
            while (got < st.size) {
              const n = readSync(fd, sniff, got, st.size - got, null);
              if (n === 0) throw shrank(rel);
              got += n;
            }
          } catch (err) {
            throw err instanceof UserError ? err : sourceError(err, root, rel);
          }
          const data = sniff.subarray(0, st.size);
          if (secrets.byContent(rel, data)) return false;
          storeSmall(wr, st, rel, data);
          if (wr.handed) await wr.settle();
          return true;
        }
        let segments: SparseSegment[] | undefined;
        try {
          segments = st.blocks * 512 < st.size ? await dataSegments(fd, st.size, opts.signal) : undefined;
        } catch (err) {
          throw err === SHRANK ? shrank(rel) : sourceError(err, root, rel);
        }
        if (segments) {
          const { header } = encodeSparseHeader(headerFor(st, `./${rel}`, 'file'), segments, st.size);
          wr.append(header);
          if (wr.handed) await wr.settle();
          for (const seg of segments) await copyRange(wr, fd, seg.offset, seg.size, rel);
        } else {
          wr.header(st, `./${rel}`, 'file');
          if (wr.handed) await wr.settle();
          // Exactly the size the header announced: a file that grows meanwhile is cut there.
          await copyRange(wr, fd, null, st.size, rel);
        }
        wr.pad();
        counts.files++;
        if (wr.handed) await wr.settle();
        return true;
      } finally {
        closeSync(fd);
      }
    };

    /** A small file the reader read whole: false (nothing written) when its content is a secret. */
    const storeFetched = (wr: BlockWriter, st: EntryStat, rel: string, fetched: ReadResult): boolean => {
      const data = fetched.content!;
      if (data.length < st.size) throw shrank(rel);
      if (secrets.byCheckedContent(rel, fetched.holdsKey)) return false;
      storeSmall(wr, st, rel, data);
      return true;
    };

    /**
     * A small file read whole (and found no secret): header, content and padding go in without
     * awaiting; they hand at most one block over (the caller settles it), as they fit in one.
     */
    const storeSmall = (wr: BlockWriter, st: EntryStat, rel: string, data: Buffer): void => {
      wr.header(st, `./${rel}`, 'file');
      wr.append(data);
      counts.bytes += st.size;
      wr.pad();
      counts.files++;
    };

    /** `size` bytes from `fd` (from `offset`, or where the file is) into the stream. */
    const copyRange = async (wr: BlockWriter, fd: number, offset: number | null, size: number, rel: string): Promise<void> => {
      let left = size;
      let pos = offset;
      while (left > 0) {
        let n: number;
        try {
          n = wr.readFrom(fd, left, pos);
        } catch (err) {
          throw sourceError(err, root, rel);
        }
        if (n === 0) throw shrank(rel);
        left -= n;
        counts.bytes += n;
        if (pos !== null) pos += n;
        if (wr.handed) await wr.settle();
      }
    };

    const ahead = new ReadAhead(walk, { readers: opts.readers ?? DEFAULT_READERS, openFlags: OPEN_FLAGS, sniff: SECRET_SNIFF_BYTES });
    try {
      enter(realRoot === '/' ? '/' : `${realRoot}/`, '', undefined);
      for (;;) {
        // Entries of the batch at hand are taken without awaiting; only a new batch is awaited.
        const item = ahead.take();
        if (item === undefined) {
          if (await ahead.advance()) continue;
          break;
        }
        const fetched = ahead.result;
        if (item.error) throw item.error;
        if (item.skip) {
          skipped.push({ path: item.rel, reason: item.skip });
          continue;
        }
        const { rel } = item;
        const st = fetched.stat;
        if (!st) throw sourceError(fetched.error, root, rel);
        const type = st.mode & fsc.S_IFMT;
        // readdir said one thing and lstat another: the entry was replaced meanwhile.
        if ((type === fsc.S_IFDIR) !== item.dir) {
          throw new UserError('CAPTURE_SOURCE_CHANGED', `${rel} changed type during the capture`, {
            where: `${root}/${rel}`,
            hint: 'stop the product (or exclude files it creates and removes) and capture again',
          });
        }
        if (type === fsc.S_IFDIR) {
          w.header(st, `./${rel}/`, 'directory');
          counts.directories++;
          if (w.handed) await w.settle();
        } else if (type === fsc.S_IFREG) {
          if (item.parent === outDir) {
            if (item.name === outName) {
              skipped.push({ path: rel, reason: 'archive-output' });
              continue;
            }
            // Our own partial file (or one of an earlier, killed capture): not part of the file set.
            if (item.name.startsWith(partialName)) continue;
          }
          const inode = st.nlink > 1 ? `${st.dev}:${st.ino}` : undefined;
          const first = inode === undefined ? undefined : firstNames.get(inode);
          if (first !== undefined) {
            w.header(st, `./${rel}`, 'hardlink', `./${first}`);
            counts.files++;
            if (w.handed) await w.settle();
            continue;
          }
          // Every name of a file skipped as a secret is skipped.
          if (
            (inode !== undefined && secretFiles.has(inode)) ||
            item.secretName ||
            !(fetched.error === undefined && fetched.content !== undefined ? storeFetched(w, st, rel, fetched) : await copyFile(w, st, item.parent + item.name, rel, fetched))
          ) {
            if (inode !== undefined) secretFiles.add(inode);
            skipped.push({ path: rel, reason: 'secret' });
            continue;
          }
          if (inode !== undefined) firstNames.set(inode, rel);
          if (w.handed) await w.settle();
        } else if (type === fsc.S_IFLNK) {
          if (fetched.link === undefined) throw sourceError(fetched.error, root, rel);
          w.header(st, `./${rel}`, 'symlink', fetched.link);
          counts.symlinks++;
          if (w.handed) await w.settle();
        } else {
          skipped.push({ path: rel, reason: otherType(st) });
        }
      }
    } finally {
      ahead.close();
    }
    w.append(endOfArchive());
  });

  return { ...written, codec: opts.codec, ...counts, skipped };
}

/**
 * Captures a tar stream produced elsewhere (a remote host's `tar -cf -` over SSH) into an
 * archive: each entry is parsed and written again under the local walker's rules
 * (tar-filter.ts), compressed here in parallel (gzip, zstd) or not (none), with the same
 * atomic write and hashing. The stream must be an uncompressed tar archive; it is refused
 * when it is not tar or is cut short. `skipped` lists what the rules left out.
 */
export async function captureFromTarStream(input: Readable | AsyncIterable<Buffer | Uint8Array | string>, opts: CaptureFromTarStreamOptions): Promise<CaptureResult> {
  checkCodec(opts.codec, opts.level);
  const rules = new SecretRules(opts.root ?? '/', {
    ...(opts.secretPaths ? { secretPaths: opts.secretPaths } : {}),
    allowAbsolute: opts.allowSecrets ?? [],
    allowRelative: opts.includeSecrets ?? [],
  });
  const filter = new TarFilter(rules, opts.where ?? 'tar stream');
  const progress = (w: BlockWriter): void =>
    opts.onProgress?.({ files: filter.files, directories: filter.directories, symlinks: filter.symlinks, bytes: filter.bytes, archiveBytes: w.archiveBytes });
  const destroy = (): void => {
    const d = (input as { destroy?: (err?: Error) => void }).destroy;
    if (typeof d === 'function') d.call(input);
  };
  const onAbort = (): void => destroy();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const write = async (w: BlockWriter): Promise<void> => {
    for (const piece of filter.drain()) {
      let pos = 0;
      while (pos < piece.length) {
        pos += w.appendPart(piece, pos);
        if (w.handed) await w.settle();
      }
    }
  };
  try {
    const written = await withArchive(opts, opts.where, progress, async (w) => {
      try {
        for await (const piece of input) {
          if (opts.signal?.aborted) throw aborted(opts.signal, opts.where);
          const chunk = typeof piece === 'string' ? Buffer.from(piece, 'binary') : Buffer.isBuffer(piece) ? piece : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
          filter.push(chunk);
          await write(w);
        }
      } catch (err) {
        destroy();
        if (opts.signal?.aborted) throw aborted(opts.signal, opts.where);
        if (err instanceof UserError) throw err;
        throw new UserError('CAPTURE_STREAM_FAILED', `reading the tar stream failed: ${(err as Error).message}`, { where: opts.where, cause: err });
      }
      filter.end();
      await write(w);
      w.append(endOfArchive());
    });
    return {
      ...written,
      codec: opts.codec,
      files: filter.files,
      directories: filter.directories,
      symlinks: filter.symlinks,
      bytes: filter.bytes,
      skipped: filter.skipped,
    };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
