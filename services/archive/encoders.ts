/**
 * Codecs between the tar stream (handed over in blocks of about 1 MiB) and the archive file.
 *
 * gzip: every block is compressed on its own into an independent gzip member, like pigz
 *   does; gunzip, `gzip -t` and `tar -xzf` read concatenated members as one stream. The
 *   async zlib API runs each job on libuv's thread pool, so several blocks in flight use
 *   every core while the main thread reads the next files. Results are written in order.
 *   Cost of independence: each member starts with an empty 32 KiB window and has ~20 bytes
 *   of framing, well under 0.1% on 1 MiB blocks.
 * zstd: Node 20's zlib has no zstd, so the system `zstd` (multi-threaded with -T0) reads the
 *   tar stream on stdin and writes the archive file itself; it is hashed by reading it back.
 * none: the plain tar stream.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { accessSync, constants as fsc } from 'node:fs';
import { availableParallelism } from 'node:os';
import { delimiter, join } from 'node:path';
import { constants as zc, createGzip, type Gzip } from 'node:zlib';
import { UserError } from '../../core/errors.js';
import type { ArchiveFile } from './archive-file.js';

export type CaptureCodec = 'gzip' | 'zstd' | 'none';

export const CAPTURE_CODECS: readonly CaptureCodec[] = Object.freeze(['gzip', 'zstd', 'none']);

/**
 * gzip 6 is gzip's own default, so archives are as small as `tar -czf`'s (bench: 1.000x the
 * size). Node's bundled zlib (Chromium's fork) at level 6 is already ~1.5x faster than
 * gzip(1) on one core, and parallel blocks make the capture ~2x faster than `tar -czf` on
 * two cores, so there is no need to trade ratio for speed. Levels 1-3 run ~2x faster again
 * for ~10% larger archives; callers can ask for them with `level`.
 */
export const DEFAULT_GZIP_LEVEL = 6;
/**
 * zstd 3 is zstd's default: a ratio at or above gzip 6 for a fraction of the CPU time.
 * Higher levels cost much more time for a few percent.
 */
export const DEFAULT_ZSTD_LEVEL = 3;

/** Size of the blocks the tar stream is cut into (and of each gzip member's input). */
export const BLOCK_SIZE = 1024 * 1024;

export interface BlockEncoder {
  /**
   * Takes ownership of `block` until it hands it to the `release` given at creation (once
   * its bytes are compressed or written), so the caller can fill it again. Returns a promise when the caller must wait before handing
   * over more (too many blocks in flight), otherwise undefined.
   */
  write(block: Buffer): Promise<void> | undefined;
  /** Flushes everything into the archive file. */
  end(): Promise<void>;
  /** Stops work in progress (kills child processes); results are thrown away. */
  abort(): void;
}

export function checkLevel(codec: CaptureCodec, level: number | undefined): number | undefined {
  if (level === undefined) return undefined;
  const [min, max] = codec === 'zstd' ? [1, 19] : codec === 'gzip' ? [0, 9] : [0, 0];
  if (!Number.isInteger(level) || level < min || level > max) {
    throw new UserError('CAPTURE_LEVEL_INVALID', `compression level ${level} is not valid for ${codec}`, {
      hint: codec === 'none' ? 'codec none takes no level' : `use an integer from ${min} to ${max}`,
    });
  }
  return level;
}

export function createEncoder(
  codec: CaptureCodec,
  file: ArchiveFile,
  opts: { level?: number | undefined; concurrency?: number | undefined; release?: ((block: Buffer) => void) | undefined } = {},
): BlockEncoder {
  const release = opts.release ?? ((): void => undefined);
  switch (codec) {
    case 'none':
      return new PlainEncoder(file, release);
    case 'gzip':
      return new ParallelGzipEncoder(file, opts.level ?? DEFAULT_GZIP_LEVEL, opts.concurrency ?? defaultConcurrency(), release);
    case 'zstd':
      return new ZstdEncoder(file, opts.level ?? DEFAULT_ZSTD_LEVEL, release);
  }
}

/**
 * Blocks compressed at once. More blocks than cores keep every core busy while the main
 * thread reads files and while finished blocks wait their turn to be written; more than
 * libuv's pool (4 threads unless UV_THREADPOOL_SIZE says otherwise) would only queue.
 * Memory stays at a few MiB either way.
 */
function defaultConcurrency(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(2, Math.min(pool, availableParallelism() + 2));
}

class PlainEncoder implements BlockEncoder {
  readonly #file: ArchiveFile;
  readonly #release: (block: Buffer) => void;
  constructor(file: ArchiveFile, release: (block: Buffer) => void) {
    this.#file = file;
    this.#release = release;
  }
  write(block: Buffer): undefined {
    this.#file.write(block);
    this.#release(block);
    return undefined;
  }
  async end(): Promise<void> {}
  abort(): void {}
}

/**
 * Room for a whole member in one output chunk: deflate's worst case is the input plus a few
 * bytes per 16 KiB stored block. With zlib's default 16 KiB chunks a 1 MiB block went back and
 * forth between the thread pool and the main thread some twenty times, and those callbacks
 * were the main thread's largest cost after the file reads.
 */
export const MEMBER_CHUNK = BLOCK_SIZE + 64 * 1024;

/**
 * One zlib stream that compresses block after block, each into a member of its own: the same
 * calls as zlib's one-shot gzip() (deflate the block without flushing, then finish), then a
 * reset for the next. Reusing it keeps the deflate state and its output buffer: a fresh
 * one-shot per block left a 1 MiB output buffer per block for the garbage collector, tens of
 * MB of peak RSS (issue 14).
 */
class GzipSlot {
  readonly #stream: Gzip;
  readonly #pieces: Buffer[] = [];
  #failure: Error | undefined;

  constructor(level: number) {
    this.#stream = createGzip({ level, chunkSize: MEMBER_CHUNK });
    this.#stream.on('data', (piece: Buffer) => this.#pieces.push(piece));
    this.#stream.on('error', (err: Error) => (this.#failure ??= err));
  }

  /** The member of one block, in the pieces zlib wrote it in (valid until `recycle`). */
  compress(block: Buffer): Promise<Buffer[]> {
    return new Promise((resolve, reject) => {
      this.#stream.write(block);
      this.#stream.flush(zc.Z_FINISH, (err?: Error | null) => {
        const done = (): void => {
          const failure = err ?? this.#failure;
          if (failure) reject(failure);
          else resolve(this.#pieces.splice(0));
        };
        // Pieces still queued inside the stream reach 'data' on a later turn.
        const settle = (): void => {
          if (this.#stream.readableLength > 0 && !this.#failure) setImmediate(settle);
          else done();
        };
        settle();
      });
    });
  }

  /**
   * Readies the stream for the next member once the last one's pieces are written; false
   * when it cannot be reused (then close it). The next member's output goes to the start of
   * the same output buffer, as with a fresh stream: level 0 (stored blocks) sizes its blocks
   * by the room there, so anything else would change the bytes. That position is a field of
   * Node's zlib stream, not public API; where it is missing, every block gets a fresh stream.
   */
  recycle(): boolean {
    const internals = this.#stream as unknown as { _outOffset?: unknown };
    if (this.#failure || typeof internals._outOffset !== 'number') return false;
    // reset() is zlib's documented ZlibBase method; the typings lack it on Gzip.
    (this.#stream as unknown as { reset(): void }).reset();
    internals._outOffset = 0;
    return true;
  }

  close(): void {
    this.#stream.destroy();
  }
}

class ParallelGzipEncoder implements BlockEncoder {
  readonly #file: ArchiveFile;
  readonly #level: number;
  readonly #concurrency: number;
  /** One promise per block not yet written, oldest first; each settles after its block is written. */
  readonly #unwritten: Promise<void>[] = [];
  /** The last block's write: every write waits for the one before, so members stay in order. */
  #tail: Promise<void> = Promise.resolve();
  #aborted = false;
  readonly #release: (block: Buffer) => void;
  /** Streams not compressing a block now (at most `concurrency` exist). */
  readonly #idle: GzipSlot[] = [];

  constructor(file: ArchiveFile, level: number, concurrency: number, release: (block: Buffer) => void) {
    this.#file = file;
    this.#level = level;
    this.#concurrency = Math.max(1, concurrency);
    this.#release = release;
  }

  write(block: Buffer): Promise<void> | undefined {
    const slot = this.#idle.pop() ?? new GzipSlot(this.#level);
    const job = slot.compress(block);
    // zlib is done with the input once the member exists.
    job.then(() => this.#release(block), () => slot.close());
    // Awaited in order below; this keeps a failure that is not awaited yet from counting as unhandled.
    job.catch(() => undefined);
    const written = this.#tail
      .then(() => job)
      .then((pieces) => {
        this.#unwritten.shift();
        if (!this.#aborted) for (const piece of pieces) this.#file.write(piece);
        if (!this.#aborted && slot.recycle()) this.#idle.push(slot);
        else slot.close();
      });
    written.catch(() => undefined);
    this.#tail = written;
    this.#unwritten.push(written);
    // Too many in flight: the caller waits until the oldest is written (not for all of them).
    return this.#unwritten.length >= this.#concurrency ? this.#unwritten[0] : undefined;
  }

  async end(): Promise<void> {
    try {
      await this.#tail;
    } finally {
      for (const slot of this.#idle.splice(0)) slot.close();
    }
  }

  abort(): void {
    // Jobs already on the thread pool finish on their own; their output is dropped and their streams closed.
    this.#aborted = true;
    for (const slot of this.#idle.splice(0)) slot.close();
  }
}

/** Path of an executable found on PATH, or undefined. */
export function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsc.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function requireZstd(): string {
  const exe = findExecutable('zstd');
  if (!exe) {
    throw new UserError('CAPTURE_ZSTD_MISSING', 'codec zstd needs the zstd program, which is not on PATH', {
      hint: 'install the Debian package "zstd" (apt-get install zstd), or capture with codec gzip',
    });
  }
  return exe;
}

/**
 * Blocks handed to zstd's pipe before the writer waits for the oldest to enter it. One is
 * enough for zstd never to wait on the walk (100k x 1 KB and 4 x 500 MB as fast as with 3)
 * and holds ~1.5 MB less at the peak.
 */
const ZSTD_QUEUED_BLOCKS = 1;

class ZstdEncoder implements BlockEncoder {
  readonly #file: ArchiveFile;
  readonly #child: ChildProcessByStdio<Writable, null, Readable>;
  readonly #done: Promise<void>;
  #aborted = false;
  readonly #release: (block: Buffer) => void;

  constructor(file: ArchiveFile, level: number, release: (block: Buffer) => void) {
    this.#file = file;
    this.#release = release;
    const exe = requireZstd();
    // -T0: one worker per core; -q: no progress on stderr; -c: to stdout, which is the archive
    // file itself: its output passing through here cost a copy and tens of MB of chunks
    // waiting for the garbage collector. What it wrote is hashed by reading it back.
    this.#child = spawn(exe, ['-T0', `-${level}`, '-q', '-c'], { stdio: ['pipe', file.fd, 'pipe'] }) as ChildProcessByStdio<Writable, null, Readable>;
    const stderr: Buffer[] = [];
    this.#child.stderr.on('data', (d: Buffer) => stderr.push(d));
    // EPIPE when zstd dies early: the exit status below says why.
    this.#child.stdin.on('error', () => undefined);
    this.#done = new Promise<void>((resolve, reject) => {
      this.#child.on('error', reject);
      this.#child.on('close', (code, signal) => {
        if (this.#aborted) resolve();
        else if (code === 0) resolve();
        else {
          const text = Buffer.concat(stderr).toString('utf8').trim();
          reject(
            new UserError('CAPTURE_ZSTD_FAILED', `zstd failed (${signal ?? `exit ${code}`})${text ? `: ${text}` : ''}`, {
              where: exe,
            }),
          );
        }
      });
    });
    this.#done.catch(() => undefined);
  }

  /** One promise per block handed to the pipe and not yet in it, oldest first. */
  readonly #queued: Promise<void>[] = [];

  write(block: Buffer): Promise<void> | undefined {
    // Progress and hashing keep up with what zstd has written so far.
    this.#file.catchUp();
    // The callback runs once the block is in the pipe (or zstd is gone, which `#done` reports).
    const inPipe = new Promise<void>((resolve) =>
      this.#child.stdin.write(block, (err) => {
        if (!err) this.#release(block);
        resolve();
      }),
    );
    this.#queued.push(inPipe);
    void inPipe.then(() => this.#queued.shift());
    // A few blocks may wait in the stream: waiting for a full drain after each one kept the
    // walk and zstd taking turns through the 64 KiB pipe (measured: ~2x the time of tar -I zstd).
    if (this.#queued.length <= ZSTD_QUEUED_BLOCKS) return undefined;
    const oldest = this.#queued[0]!;
    return new Promise<void>((resolve, reject) => {
      void oldest.then(() => resolve());
      this.#done.then(
        () => resolve(),
        (err: unknown) => reject(err),
      );
    });
  }

  async end(): Promise<void> {
    this.#child.stdin.end();
    await this.#done;
    this.#file.catchUp();
  }

  abort(): void {
    this.#aborted = true;
    this.#child.stdin.destroy();
    this.#child.kill('SIGKILL');
  }
}
