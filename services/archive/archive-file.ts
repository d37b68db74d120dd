/**
 * The archive being written: `<out>.partial-<random>` in the same directory as `out`
 * (so the final rename stays on one file system and is atomic), hashed as it is written,
 * fsynced and renamed over `out` on commit, removed on discard. `out` only ever holds a
 * complete archive.
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync, constants as fsc } from 'node:fs';
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
      const fd = openSync(partial, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, mode);
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
