/**
 * Follows a tar stream as it passes through (a remote host's `tar -cf -`), to count what is
 * in it and to refuse what is not a complete tar archive: a bad header checksum (the stream
 * is not tar, or SSH mixed text into it) or an end in the middle of an entry (the remote
 * side died). Only headers are decoded; file contents are skipped, not copied.
 */
import { UserError } from '../../core/errors.js';
import { BLOCK, checksumOk, decodeHeader, isZeroBlock, padded, parsePax } from './tar-header.js';

/** Largest PAX extended header accepted; real ones are a few hundred bytes. */
const MAX_PAX = 1024 * 1024;

export class TarStreamScanner {
  files = 0;
  directories = 0;
  symlinks = 0;
  /** Content bytes of regular files. */
  bytes = 0;
  /** Entries of other types (devices, FIFOs) the remote tar chose to include. */
  others = 0;
  #ended = false;
  #headers = 0;
  readonly #hdr = Buffer.alloc(BLOCK);
  #hdrFill = 0;
  /** Data bytes (with padding) still to pass before the next header. */
  #skip = 0;
  /** Bytes of the current entry's data that are real content, not padding. */
  #dataLeft = 0;
  #paxChunks: Buffer[] | undefined;
  #paxSize: number | undefined;
  readonly #where: string | undefined;

  constructor(where?: string) {
    this.#where = where;
  }

  get ended(): boolean {
    return this.#ended;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length && !this.#ended) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - pos);
        if (this.#paxChunks && this.#dataLeft > 0) {
          this.#paxChunks.push(Buffer.from(chunk.subarray(pos, pos + Math.min(n, this.#dataLeft))));
        }
        this.#dataLeft = Math.max(0, this.#dataLeft - n);
        this.#skip -= n;
        pos += n;
        if (this.#skip === 0 && this.#paxChunks) this.#finishPax();
        continue;
      }
      const n = Math.min(BLOCK - this.#hdrFill, chunk.length - pos);
      chunk.copy(this.#hdr, this.#hdrFill, pos, pos + n);
      this.#hdrFill += n;
      pos += n;
      if (this.#hdrFill === BLOCK) {
        this.#hdrFill = 0;
        this.#header();
      }
    }
    // Whatever follows the end marker is record padding (GNU tar fills to 10 KiB); it passes through.
  }

  /** Throws unless the stream ended on an entry boundary after at least one entry. */
  end(): void {
    if (this.#ended) return;
    if (this.#headers === 0) {
      throw this.#invalid('the tar stream is empty', 'check that the remote command ran and wrote a tar archive');
    }
    if (this.#skip > 0 || this.#hdrFill > 0 || this.#paxChunks) {
      throw this.#invalid('the tar stream ends in the middle of an entry (truncated)', 'the producing tar probably failed; see its error output');
    }
    // No end marker, but complete entries: GNU tar also accepts this (with a warning).
    this.#ended = true;
  }

  #invalid(message: string, hint: string): UserError {
    return new UserError('CAPTURE_STREAM_INVALID', message, { where: this.#where, hint });
  }

  #header(): void {
    if (isZeroBlock(this.#hdr)) {
      // Two zero blocks end the archive; one is accepted when the stream stops right after it.
      if (this.#zeroSeen) this.#ended = true;
      this.#zeroSeen = true;
      this.#headers++;
      return;
    }
    this.#zeroSeen = false;
    if (!checksumOk(this.#hdr)) {
      throw this.#invalid(
        `not a tar stream: bad header checksum after ${this.#headers} header(s)`,
        'the input must be an uncompressed tar archive (e.g. `tar -cf - DIR`)',
      );
    }
    this.#headers++;
    const h = decodeHeader(this.#hdr);
    const size = this.#paxSize ?? h.size;
    this.#paxSize = undefined;
    if (!Number.isFinite(size) || size < 0) throw this.#invalid(`entry "${h.name}" has an invalid size`, 'the tar stream is corrupt');
    let hasData = true;
    switch (h.typeflag) {
      case '0':
      case '7':
        this.files++;
        this.bytes += size;
        break;
      case '1': // hard link: an entry without data
        this.files++;
        hasData = false;
        break;
      case '2':
        this.symlinks++;
        hasData = false;
        break;
      case '5':
        this.directories++;
        hasData = false;
        break;
      case '3':
      case '4':
      case '6':
        this.others++;
        hasData = false;
        break;
      case 'x':
        if (size > MAX_PAX) throw this.#invalid(`PAX header of ${size} bytes is too large`, 'the tar stream is corrupt');
        this.#paxChunks = [];
        break;
      default:
        // 'g' global PAX, GNU 'L'/'K' long names, 'D', 'S' and vendor types: skip their data.
        break;
    }
    if (hasData) {
      this.#skip = padded(size);
      this.#dataLeft = size;
      if (this.#skip === 0 && this.#paxChunks) this.#finishPax();
    }
  }

  #zeroSeen = false;

  #finishPax(): void {
    const data = Buffer.concat(this.#paxChunks ?? []);
    this.#paxChunks = undefined;
    let records: Map<string, string>;
    try {
      records = parsePax(data);
    } catch (err) {
      throw this.#invalid(`bad PAX header: ${(err as Error).message}`, 'the tar stream is corrupt');
    }
    const size = records.get('size');
    if (size !== undefined) this.#paxSize = Number(size);
  }
}
