/**
 * A push parser that turns a tar stream into entries for extraction: ustar headers with
 * PAX extended headers (path, linkpath, size, mtime, uid, gid), GNU long names ('L', 'K'),
 * and sparse files in the two forms GNU tar writes (old GNU 'S' headers, and PAX sparse
 * format 1.0, GNU tar's default for --format=posix). Written by hand next to the capture's
 * header code (tar-header.ts) because extraction must see every entry exactly as stored to
 * judge it (a general tar library rewrites or drops suspicious names on its own), and so file
 * data reaches the writer as views of the input chunks, never copied.
 *
 * The parser only reads: it does not judge names (extract.ts does). Chunks may split
 * headers and data anywhere.
 */
import { UserError } from '../../core/errors.js';
import { BLOCK, checksumOk, decodeHeader, isZeroBlock, padded, parsePax, readNumber } from './tar-header.js';

export type TarEntryKind = 'file' | 'directory' | 'symlink' | 'hardlink' | 'fifo' | 'char-device' | 'block-device';

/** One stretch of real data in a sparse file: `size` bytes at `offset`; the rest are holes. */
export interface SparseSegment {
  readonly offset: number;
  readonly size: number;
}

export interface TarEntry {
  /** The name as stored (after PAX or GNU long-name records), e.g. `./a/b`. */
  readonly name: string;
  readonly kind: TarEntryKind;
  /** Symlink target or hard link target, as stored. */
  readonly linkname: string;
  /** Permission bits with setuid/setgid/sticky. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Seconds since the epoch; fractional when a PAX record gave nanoseconds. */
  readonly mtime: number;
  /** Bytes of data `data()` will deliver (for sparse files: the stored segments only). */
  readonly size: number;
  /** Sparse files: the segments in file order, and the file's full size. */
  readonly sparse?: { readonly segments: readonly SparseSegment[]; readonly realSize: number };
  readonly devmajor: number;
  readonly devminor: number;
}

export interface TarEntrySink {
  /** A new entry; its data (if any) follows through `data`, then `end`. */
  entry(e: TarEntry): void;
  /** The next part of the current entry's data (a view of the input: use it before returning). */
  data(chunk: Buffer): void;
  /** The current entry's data is complete. */
  end(): void;
}

/** Largest metadata record accepted (PAX header, GNU long name, sparse map); real ones are small. */
const MAX_META = 1024 * 1024;

type Meta = { kind: 'pax' | 'global' | 'longname' | 'longlink'; size: number; parts: Buffer[]; got: number };

export class TarEntryParser {
  readonly #sink: TarEntrySink;
  readonly #where: string;
  readonly #hdr = Buffer.alloc(BLOCK);
  #hdrFill = 0;
  /** Content bytes of the current entry still to deliver to the sink. */
  #dataLeft = 0;
  /** Padding bytes after the data still to skip. */
  #padLeft = 0;
  #meta: Meta | undefined;
  #pax: Map<string, string> | undefined;
  #longName: string | undefined;
  #longLink: string | undefined;
  /** Old GNU sparse headers still to read after an 'S' header: the entry waits for them. */
  #pendingSparse: { segments: SparseSegment[] } | undefined;
  /** The entry of that 'S' header, emitted once its last extension header is read. */
  #pendingOld: (Omit<TarEntry, 'kind' | 'sparse'> & { realSize: number }) | undefined;
  /** A PAX sparse 1.0 entry whose map (at the start of its data) is being read. */
  #sparseMap: { entry: Omit<TarEntry, 'size' | 'sparse'>; realSize: number; parts: Buffer[]; got: number } | undefined;
  #inEntry = false;
  #zeroSeen = false;
  #ended = false;
  #headers = 0;
  /** Offset in the tar stream, for messages about corrupt archives. */
  #offset = 0;

  constructor(sink: TarEntrySink, where: string) {
    this.#sink = sink;
    this.#where = where;
  }

  get ended(): boolean {
    return this.#ended;
  }

  push(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len && !this.#ended) {
      if (this.#dataLeft > 0 && this.#sparseMap) {
        // A PAX sparse map is read block by block until its numbers are complete.
        const sm = this.#sparseMap;
        const n = Math.min(this.#dataLeft, BLOCK - (sm.got % BLOCK), len - pos);
        sm.parts.push(Buffer.from(chunk.subarray(pos, pos + n)));
        sm.got += n;
        pos += n;
        this.#dataLeft -= n;
        if (sm.got % BLOCK === 0 || this.#dataLeft === 0) this.#sparseMapBlock();
        continue;
      }
      if (this.#dataLeft > 0) {
        const n = Math.min(this.#dataLeft, len - pos);
        const part = chunk.subarray(pos, pos + n);
        this.#dataLeft -= n;
        pos += n;
        if (this.#meta) this.#metaData(part);
        else this.#sink.data(part);
        if (this.#dataLeft === 0) this.#dataDone();
        continue;
      }
      if (this.#padLeft > 0) {
        const n = Math.min(this.#padLeft, len - pos);
        this.#padLeft -= n;
        pos += n;
        continue;
      }
      const n = Math.min(BLOCK - this.#hdrFill, len - pos);
      chunk.copy(this.#hdr, this.#hdrFill, pos, pos + n);
      this.#hdrFill += n;
      pos += n;
      if (this.#hdrFill === BLOCK) {
        this.#hdrFill = 0;
        this.#header();
        this.#offset += BLOCK;
      }
    }
  }

  /** The input is complete: throws unless the archive ended on an entry boundary. */
  end(): void {
    if (this.#ended) return;
    if (this.#headers === 0) throw this.#invalid('the archive holds no tar data (empty after decompression)');
    if (this.#dataLeft > 0 || this.#hdrFill > 0 || this.#meta || this.#pendingSparse || this.#sparseMap || this.#inEntry) {
      throw this.#invalid('the archive ends in the middle of an entry (truncated)');
    }
    // No end marker after complete entries: GNU tar accepts this too (with a warning).
    this.#ended = true;
  }

  #invalid(message: string): UserError {
    return new UserError('EXTRACT_ARCHIVE_INVALID', message, {
      where: this.#where,
      hint: 'the archive is damaged or not a tar archive; capture the file set again',
    });
  }

  #header(): void {
    const h = this.#hdr;
    if (this.#pendingSparse) {
      this.#sparseExtension(h);
      return;
    }
    if (isZeroBlock(h)) {
      // Two zero blocks end the archive; what follows is record padding.
      if (this.#zeroSeen) this.#ended = true;
      this.#zeroSeen = true;
      this.#headers++;
      return;
    }
    this.#zeroSeen = false;
    if (!checksumOk(h)) throw this.#invalid(`bad tar header checksum at byte ${this.#offset} (after ${this.#headers} header(s))`);
    this.#headers++;
    const d = decodeHeader(h);
    const pax = this.#pax;
    const size = pax?.has('size') ? Number(pax.get('size')) : d.size;
    if (!Number.isSafeInteger(size) || size < 0) throw this.#invalid(`entry "${d.name}" has an invalid size`);

    switch (d.typeflag) {
      case 'x':
      case 'g':
      case 'L':
      case 'K': {
        if (size > MAX_META) throw this.#invalid(`a metadata record of ${size} bytes is too large (entry after "${d.name}")`);
        const kind = d.typeflag === 'x' ? 'pax' : d.typeflag === 'g' ? 'global' : d.typeflag === 'L' ? 'longname' : 'longlink';
        this.#startData({ kind, size, parts: [], got: 0 }, size);
        return;
      }
      default:
        break;
    }

    const name = pax?.get('path') ?? this.#longName ?? d.name;
    const linkname = pax?.get('linkpath') ?? this.#longLink ?? d.linkname;
    const num = (key: string, fallback: number): number => {
      const v = pax?.get(key);
      if (v === undefined) return fallback;
      const n = Number(v);
      if (!Number.isFinite(n)) throw this.#invalid(`entry "${name}" has an invalid PAX ${key} "${v}"`);
      return n;
    };
    const special = d.typeflag === '3' || d.typeflag === '4';
    const base = {
      name,
      linkname,
      mode: d.mode & 0o7777,
      uid: pax ? num('uid', d.uid) : d.uid,
      gid: pax ? num('gid', d.gid) : d.gid,
      mtime: pax ? num('mtime', d.mtime) : d.mtime,
      // Only device entries use these; other writers leave the fields empty or zero.
      devmajor: special ? readNumber(h, 329, 8) || 0 : 0,
      devminor: special ? readNumber(h, 337, 8) || 0 : 0,
    };
    this.#pax = undefined;
    this.#longName = undefined;
    this.#longLink = undefined;
    if (!Number.isFinite(base.mode) || !Number.isFinite(base.mtime)) throw this.#invalid(`entry "${name}" has an invalid mode or mtime field`);

    if (pax?.get('GNU.sparse.major') !== undefined || pax?.has('GNU.sparse.map') || pax?.has('GNU.sparse.offset')) {
      if (pax.get('GNU.sparse.major') !== '1' || pax.get('GNU.sparse.minor') !== '0') {
        throw new UserError('EXTRACT_ARCHIVE_UNSUPPORTED', `entry "${name}" uses GNU sparse format ${pax.get('GNU.sparse.major') ?? '0'}.${pax.get('GNU.sparse.minor') ?? 'x'}, which abctl does not read`, {
          where: this.#where,
          hint: 'capture the file set with abctl, or create the archive with GNU tar --sparse-version=1.0',
        });
      }
      const realSize = Number(pax.get('GNU.sparse.realsize') ?? pax.get('GNU.sparse.size'));
      if (!Number.isSafeInteger(realSize) || realSize < 0) throw this.#invalid(`sparse entry "${name}" has no valid real size`);
      const entry = { ...base, name: pax.get('GNU.sparse.name') ?? name, kind: 'file' as const };
      // The map is the first part of the data: decimal numbers, one per line, padded to a block.
      this.#sparseMap = { entry, realSize, parts: [], got: 0 };
      this.#dataLeft = size;
      this.#padLeft = padded(size) - size;
      if (size === 0) this.#sparseMapBlock();
      return;
    }

    switch (d.typeflag) {
      case '0':
      case '7':
        this.#emit({ ...base, kind: 'file', size }, size);
        return;
      case '1':
        // A hard link has no data of its own (a PAX size on it would describe the target).
        this.#emit({ ...base, kind: 'hardlink', size: 0 }, 0, size);
        return;
      case '2':
        this.#emit({ ...base, kind: 'symlink', size: 0 }, 0, size);
        return;
      case '3':
        this.#emit({ ...base, kind: 'char-device', size: 0 }, 0, size);
        return;
      case '4':
        this.#emit({ ...base, kind: 'block-device', size: 0 }, 0, size);
        return;
      case '5':
        this.#emit({ ...base, kind: 'directory', size: 0 }, 0, size);
        return;
      case '6':
        this.#emit({ ...base, kind: 'fifo', size: 0 }, 0, size);
        return;
      case 'S': {
        const segments = readSparseMap(h, 386, 4);
        const realSize = readNumber(h, 483, 12);
        if (h[482]) {
          this.#pendingSparse = { segments };
          this.#pendingOld = { ...base, size, realSize };
          return;
        }
        this.#emitSparse({ ...base, kind: 'file' }, segments, realSize, size);
        return;
      }
      default:
        throw new UserError('EXTRACT_ENTRY_REFUSED', `entry "${name}" has tar type "${d.typeflag}", which abctl does not extract`, {
          where: this.#where,
          hint: 'file set archives hold files, directories, symlinks, hard links, FIFOs and devices only; capture the file set again',
        });
    }
  }

  /** An old GNU sparse extension header: 21 more segments and a "more follow" flag. */
  #sparseExtension(h: Buffer): void {
    const pending = this.#pendingSparse!;
    pending.segments.push(...readSparseMap(h, 0, 21));
    if (h[504]) return;
    this.#pendingSparse = undefined;
    const { realSize, size, ...base } = this.#pendingOld!;
    this.#pendingOld = undefined;
    this.#emitSparse({ ...base, kind: 'file' }, pending.segments, realSize, size);
  }

  #emitSparse(base: Omit<TarEntry, 'size' | 'sparse'>, segments: SparseSegment[], realSize: number, stored: number): void {
    const total = segments.reduce((s, g) => s + g.size, 0);
    if (!Number.isSafeInteger(realSize) || total !== stored || segments.some((g) => g.offset + g.size > realSize)) {
      throw this.#invalid(`sparse entry "${base.name}" has a map that does not match its data`);
    }
    this.#emit({ ...base, size: stored, sparse: { segments, realSize } }, stored);
  }

  /** Hands an entry to the sink; `dataSize` bytes follow for it, `skipSize` more are skipped. */
  #emit(e: TarEntry, dataSize: number, skipSize = 0): void {
    this.#sink.entry(e);
    this.#inEntry = true;
    if (dataSize === 0 && skipSize === 0) {
      this.#inEntry = false;
      this.#sink.end();
      return;
    }
    if (dataSize === 0) {
      // Data the entry type does not use: read past it without giving it to the sink.
      this.#inEntry = false;
      this.#sink.end();
      this.#startData({ kind: 'global', size: 0, parts: [], got: 0 }, skipSize, true);
      return;
    }
    this.#dataLeft = dataSize;
    this.#padLeft = padded(dataSize) - dataSize;
  }

  #startData(meta: Meta, size: number, discard = false): void {
    this.#meta = discard ? { ...meta, kind: 'global', size: 0 } : meta;
    this.#dataLeft = size;
    this.#padLeft = padded(size) - size;
    if (size === 0) this.#dataDone();
  }

  #metaData(part: Buffer): void {
    const m = this.#meta!;
    // A discarded record has size 0: its bytes are read past, not kept.
    if (m.size > 0) {
      m.parts.push(Buffer.from(part));
      m.got += part.length;
    }
  }

  /** After each block of a PAX sparse map: once its numbers are complete, the entry starts. */
  #sparseMapBlock(): void {
    const sm = this.#sparseMap!;
    const text = Buffer.concat(sm.parts);
    const numbers: number[] = [];
    let at = 0;
    while (numbers.length === 0 || numbers.length < 1 + 2 * numbers[0]!) {
      const nl = text.indexOf(0x0a, at);
      if (nl < 0) {
        if (this.#dataLeft === 0) throw this.#invalid(`sparse entry "${sm.entry.name}" has an incomplete map`);
        if (sm.got > MAX_META) throw this.#invalid(`sparse entry "${sm.entry.name}" has an oversized map`);
        return;
      }
      const s = text.toString('latin1', at, nl);
      if (!/^\d{1,15}$/.test(s)) throw this.#invalid(`sparse entry "${sm.entry.name}" has a malformed map`);
      numbers.push(Number(s));
      at = nl + 1;
    }
    this.#sparseMap = undefined;
    const segments: SparseSegment[] = [];
    for (let i = 0; i < numbers[0]!; i++) segments.push({ offset: numbers[1 + 2 * i]!, size: numbers[2 + 2 * i]! });
    // The map fills whole blocks, so the padding still due is that of the data after it.
    this.#emitSparse(sm.entry, segments, sm.realSize, this.#dataLeft);
  }

  #dataDone(): void {
    const m = this.#meta;
    if (!m) {
      if (this.#inEntry) {
        this.#inEntry = false;
        this.#sink.end();
      }
      return;
    }
    this.#meta = undefined;
    const data = Buffer.concat(m.parts);
    switch (m.kind) {
      case 'pax':
        try {
          this.#pax = parsePax(data);
        } catch (err) {
          throw this.#invalid(`bad PAX header: ${(err as Error).message}`);
        }
        return;
      case 'longname':
        this.#longName = cString(data);
        return;
      case 'longlink':
        this.#longLink = cString(data);
        return;
      case 'global':
        // Global PAX headers set defaults for later entries; GNU tar writes none by default and
        // capture writes none, so their records are not applied.
        return;
      default:
        return;
    }
  }
}

function cString(data: Buffer): string {
  const nul = data.indexOf(0);
  return data.toString('utf8', 0, nul < 0 ? data.length : nul);
}

function readSparseMap(h: Buffer, at: number, count: number): SparseSegment[] {
  const out: SparseSegment[] = [];
  for (let i = 0; i < count; i++) {
    const o = at + i * 24;
    if (h[o] === 0) break;
    out.push({ offset: readNumber(h, o, 12), size: readNumber(h, o + 12, 12) });
  }
  return out;
}
