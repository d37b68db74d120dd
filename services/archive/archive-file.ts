/**
 * The archive being written: `<out>.partial-<random>` in the same directory as `out`
 * (so the final rename stays on one file system and is atomic), hashed as it is written,
 * fsynced and renamed over `out` on commit, removed on discard. `out` only ever holds a
 * complete archive.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync, constants as fsc } from 'node:fs';
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { UserError } from '../../core/errors.js';

export class ArchiveFile {
  readonly out: string;
  readonly partial: string;
  #fd: number | undefined;
  readonly #hash: Hash = createHash('sha256');
  #bytes = 0;

  private constructor(out: string, partial: string, fd: number) {
    this.out = out;
    this.partial = partial;
    this.#fd = fd;
  }

  /**
   * Creates the partial file. Mode defaults to 0600: captured file sets often hold product
   * passwords in their config files.
   */
  static create(out: string, mode = 0o600): ArchiveFile {
    const abs = resolve(out);
    const partial = `${abs}.partial-${randomBytes(6).toString('hex')}`;
    try {
      // O_EXCL: never write through a file (or symlink) someone else put there.
      // Read-write: a child writing the archive (zstd) is hashed by reading back what it wrote.
      const fd = openSync(partial, fsc.O_RDWR | fsc.O_CREAT | fsc.O_EXCL, mode);
      return new ArchiveFile(abs, partial, fd);
    } catch (err) {
      throw new UserError('CAPTURE_OUTPUT', `cannot create the archive next to ${abs}: ${(err as Error).message}`, {
        where: dirname(abs),
        hint: 'check that the directory exists and is writable',
        cause: err,
      });
    }
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends and hashes. Synchronous on purpose: writes of ~1 MiB to the page cache take well
   * under a millisecond, and keeping them off libuv's thread pool leaves its threads to zlib.
   */
  write(chunk: Buffer): void {
    if (this.#fd === undefined) throw new Error('archive file is closed');
    this.#hash.update(chunk);
    let off = 0;
    while (off < chunk.length) off += writeSync(this.#fd, chunk, off, chunk.length - off);
    this.#bytes += chunk.length;
  }

  /**
   * The file descriptor, for a child process that writes the archive itself (zstd); call
   * `catchUp` to hash and count what it wrote.
   */
  get fd(): number {
    if (this.#fd === undefined) throw new Error('archive file is closed');
    return this.#fd;
  }

  /** Hashes and counts the bytes a child appended since the last call, read back from the file. */
  catchUp(): void {
    const fd = this.fd;
    const end = fstatSync(fd).size;
    if (end <= this.#bytes) return;
    this.#readBack ??= Buffer.allocUnsafe(256 * 1024);
    while (this.#bytes < end) {
      const n = readSync(fd, this.#readBack, 0, Math.min(this.#readBack.length, end - this.#bytes), this.#bytes);
      if (n === 0) break;
      this.#hash.update(this.#readBack.subarray(0, n));
      this.#bytes += n;
    }
  }

  #readBack: Buffer | undefined;

  /** fsync, close, rename over `out`, fsync the directory; returns the archive's sha256 (hex). */
  commit(): string {
    const fd = this.#fd;
    if (fd === undefined) throw new Error('archive file is closed');
    this.#fd = undefined;
    try {
      fsyncSync(fd);
      closeSync(fd);
      renameSync(this.partial, this.out);
    } catch (err) {
      this.#removePartial();
      throw new UserError('CAPTURE_OUTPUT', `cannot finish the archive ${this.out}: ${(err as Error).message}`, {
        where: this.out,
        cause: err,
      });
    }
    // The rename is durable only once the directory itself is flushed.
    try {
      const dfd = openSync(dirname(this.out), fsc.O_RDONLY);
      try {
        fsyncSync(dfd);
      } finally {
        closeSync(dfd);
      }
    } catch {
      // Some file systems refuse fsync on directories; the archive itself is complete.
    }
    return this.#hash.digest('hex');
  }

  /** Closes and removes the partial file; safe to call more than once. */
  discard(): void {
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
      this.#removePartial();
    }
  }

  #removePartial(): void {
    try {
      unlinkSync(this.partial);
    } catch {
      // already gone
    }
  }
}
