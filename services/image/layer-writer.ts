/**
 * Writes one image layer: a tar stream built entry by entry with the archive engine's header
 * encoder (services/archive/tar-header.ts), compressed by its parallel gzip encoder
 * (services/archive/encoders.ts) into the layout's blob store, with the sha256 of the
 * uncompressed stream (the config's diff_id) taken on the way. The encoder cuts the stream in
 * fixed 1 MiB blocks and compresses each at a fixed level, so the same entries always give the
 * same bytes: a reproducible layer.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { ArchiveFile } from '../archive/archive-file.js';
import { BLOCK_SIZE, createEncoder, type BlockEncoder } from '../archive/encoders.js';
import { BLOCK, encodeHeader, encodeSparseHeader, endOfArchive, padded, type TarHeaderInput } from '../archive/tar-header.js';
import type { SparseSegment } from '../archive/tar-entries.js';
import { MEDIA_TYPES, type BlobStore, type LayerDescriptor } from './oci.js';

/** mtime of every entry abctl makes up itself (parent directories, the agent layer): the epoch. */
export const FIXED_MTIME = 0;

export class LayerWriter {
  readonly #store: BlobStore;
  readonly #file: ArchiveFile;
  readonly #encoder: BlockEncoder;
  readonly #diff = createHash('sha256');
  #block = Buffer.allocUnsafe(BLOCK_SIZE);
  #fill = 0;
  readonly #full: Buffer[] = [];
  /** Uncompressed bytes so far. */
  bytes = 0;
  /** Called after each block handed to the encoder (~1 MiB), with `bytes`. */
  onProgress: ((bytes: number) => void) | undefined;

  readonly #signal: AbortSignal | undefined;

  private constructor(store: BlobStore, signal: AbortSignal | undefined) {
    this.#store = store;
    this.#signal = signal;
    this.#file = ArchiveFile.create(store.tempName(), 0o600);
    this.#encoder = createEncoder('gzip', this.#file);
  }

  /** `signal`: aborting makes the next `drain` throw (the caller then calls `discard`). */
  static create(store: BlobStore, signal?: AbortSignal): LayerWriter {
    return new LayerWriter(store, signal);
  }

  /** Appends bytes of the tar stream; full blocks wait in a queue until `drain`. */
  push(data: Buffer): void {
    let off = 0;
    this.bytes += data.length;
    while (off < data.length) {
      const n = Math.min(data.length - off, BLOCK_SIZE - this.#fill);
      data.copy(this.#block, this.#fill, off, off + n);
      this.#fill += n;
      off += n;
      if (this.#fill === BLOCK_SIZE) {
        this.#full.push(this.#block);
        this.#block = Buffer.allocUnsafe(BLOCK_SIZE);
        this.#fill = 0;
      }
    }
  }

  /** Hands queued blocks to the encoder, waiting when it has too many in flight. */
  async drain(): Promise<void> {
    if (this.#signal?.aborted) throw this.#signal.reason instanceof Error ? this.#signal.reason : new Error('interrupted');
    while (this.#full.length > 0) {
      const block = this.#full.shift() as Buffer;
      this.#diff.update(block);
      const wait = this.#encoder.write(block);
      if (wait) await wait;
      this.onProgress?.(this.bytes);
    }
  }

  header(h: TarHeaderInput): void {
    this.push(encodeHeader(h));
  }

  sparseHeader(h: TarHeaderInput, segments: readonly SparseSegment[], realSize: number): number {
    const { header, dataSize } = encodeSparseHeader(h, segments, realSize);
    this.push(header);
    return dataSize;
  }

  /** Zero bytes after `size` bytes of data, up to the next 512-byte block. */
  pad(size: number): void {
    const n = padded(size) - size;
    if (n > 0) this.push(Buffer.alloc(n));
  }

  /** A regular file's header and content, read from `path` (the size is the caller's, checked). */
  async file(h: TarHeaderInput, path: string): Promise<void> {
    this.header(h);
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.allocUnsafe(BLOCK_SIZE);
      let left = h.size;
      while (left > 0) {
        const n = readSync(fd, buf, 0, Math.min(left, BLOCK_SIZE), null);
        if (n === 0) throw new Error(`${path} shrank while it was written into a layer`);
        this.push(buf.subarray(0, n));
        left -= n;
        await this.drain();
      }
    } finally {
      closeSync(fd);
    }
    this.pad(h.size);
  }

  /** Ends the tar stream, finishes the blob and files it under its digest. */
  async finish(): Promise<LayerDescriptor> {
    this.push(endOfArchive());
    await this.drain();
    if (this.#fill > 0) {
      const last = this.#block.subarray(0, this.#fill);
      this.#diff.update(last);
      const wait = this.#encoder.write(last);
      if (wait) await wait;
    }
    await this.#encoder.end();
    const hex = this.#file.commit();
    const size = this.#file.bytes;
    await this.#store.adopt(this.#file.out, hex);
    return { mediaType: MEDIA_TYPES.layerGzip, digest: `sha256:${hex}`, size, diffId: `sha256:${this.#diff.digest('hex')}` };
  }

  discard(): void {
    this.#encoder.abort();
    this.#file.discard();
  }
}

export function dirHeader(path: string, mode: number, uid = 0, gid = 0): TarHeaderInput {
  return { path, type: 'directory', mode, uid, gid, size: 0, mtime: FIXED_MTIME };
}

export { BLOCK };
