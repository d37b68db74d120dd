/**
 * The SSH capture path's half of "the same archive on both paths": a remote GNU tar stream is
 * parsed (tar-entries.ts) and written again with this module's own headers, applying the rules
 * the local walker applies (capture.ts): secrets by path, name and content, names that are not
 * valid UTF-8 (seen here as U+FFFD), FIFOs and devices skipped and reported; hard links kept;
 * sparse files in PAX sparse 1.0; small files stored plainly; numeric owners without names.
 * Rewriting headers costs little (a few hundred bytes per entry); file data passes through as
 * views of the input, except small files, which are held until their content is judged.
 */
import { UserError } from '../../core/errors.js';
import type { SkippedEntry, SkipReason } from './capture.js';
import { SECRET_SNIFF_BYTES, type SecretRules } from './secrets.js';
import { TarEntryParser, type TarEntry, type TarEntryKind } from './tar-entries.js';
import { BLOCK, encodeHeader, encodeSparseHeader, padded, type TarHeaderInput } from './tar-header.js';

const ZERO_PAD = Buffer.alloc(BLOCK);

const SKIPPED_KINDS: Partial<Record<TarEntryKind, SkipReason>> = { fifo: 'fifo', 'char-device': 'character-device', 'block-device': 'block-device' };

/** `./a/b/` → `a/b`; the root `./` → ''. */
function relOf(name: string): string {
  return name.replace(/^(?:\.\/+)+/, '').replace(/^\.$/, '').replace(/\/+$/, '');
}

export class TarFilter {
  files = 0;
  directories = 0;
  symlinks = 0;
  /** File content bytes written. */
  bytes = 0;
  readonly skipped: SkippedEntry[] = [];
  /** Pieces to write, in order; the caller takes them after each push (drain). */
  #out: Buffer[] = [];
  readonly #parser: TarEntryParser;
  readonly #secrets: SecretRules;
  readonly #where: string;
  /** Directories left out: nothing below them is kept either (the walker does not descend). */
  readonly #droppedDirs: string[] = [];
  /** Files left out, by name: a later hard link to one is left out for the same reason. */
  readonly #droppedFiles = new Map<string, SkipReason>();
  #mode: 'none' | 'stream' | 'hold' = 'none';
  #entry: { e: TarEntry; rel: string; parts: Buffer[]; pad: number } | undefined;

  constructor(secrets: SecretRules, where: string) {
    this.#secrets = secrets;
    this.#where = where;
    this.#parser = new TarEntryParser(
      { entry: (e) => this.#onEntry(e), data: (c) => this.#onData(c), end: () => this.#onEnd() },
      where,
    );
  }

  push(chunk: Buffer): void {
    this.#guard(() => this.#parser.push(chunk));
  }

  end(): void {
    this.#guard(() => this.#parser.end());
  }

  /** The pieces produced since the last call. */
  drain(): Buffer[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }

  /** The parser speaks of extraction; here the stream is what is invalid. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      if (err instanceof UserError && err.code.startsWith('EXTRACT_')) {
        throw new UserError('CAPTURE_STREAM_INVALID', err.message, { where: this.#where, hint: 'the input must be an uncompressed tar archive (e.g. `tar -cf - DIR`)', cause: err });
      }
      throw err;
    }
  }

  #skip(rel: string, reason: SkipReason, e: TarEntry): void {
    this.skipped.push({ path: rel, reason });
    if (e.kind === 'directory') this.#droppedDirs.push(`${rel}/`);
    else this.#droppedFiles.set(rel, reason);
    this.#mode = 'none';
  }

  #header(e: TarEntry, rel: string, type: TarHeaderInput['type'], size = 0, linkname?: string): TarHeaderInput {
    const path = rel === '' ? './' : type === 'directory' ? `./${rel}/` : `./${rel}`;
    return { path, type, mode: e.mode, uid: e.uid, gid: e.gid, size, mtime: Math.floor(e.mtime), ...(linkname === undefined ? {} : { linkname }) };
  }

  #onEntry(e: TarEntry): void {
    const rel = relOf(e.name);
    this.#mode = 'none';
    this.#entry = undefined;
    if (rel !== '' && this.#droppedDirs.some((d) => rel.startsWith(d))) return;
    if (rel.includes('\uFFFD')) return this.#skip(rel, 'name-not-utf8', e);
    if (rel !== '' && this.#secrets.byPath(rel)) return this.#skip(rel, 'secret', e);
    const skippedKind = SKIPPED_KINDS[e.kind];
    if (skippedKind) return this.#skip(rel, skippedKind, e);
    switch (e.kind) {
      case 'directory':
        this.#out.push(encodeHeader(this.#header(e, rel, 'directory')));
        this.directories++;
        return;
      case 'symlink':
        this.#out.push(encodeHeader(this.#header(e, rel, 'symlink', 0, e.linkname)));
        this.symlinks++;
        return;
      case 'hardlink': {
        const target = relOf(e.linkname);
        const reason = this.#droppedFiles.get(target);
        if (reason !== undefined) return this.#skip(rel, reason, e);
        this.#out.push(encodeHeader(this.#header(e, rel, 'hardlink', 0, `./${target}`)));
        this.files++;
        return;
      }
      case 'file': {
        if (this.#secrets.byName(rel)) return this.#skip(rel, 'secret', e);
        const realSize = e.sparse ? e.sparse.realSize : e.size;
        this.#entry = { e, rel, parts: [], pad: padded(e.size) - e.size };
        if (realSize <= SECRET_SNIFF_BYTES) {
          // Held until its content is judged; stored plainly, as the walker stores small files.
          this.#mode = 'hold';
          if (e.size === 0) this.#onEnd();
          return;
        }
        if (e.sparse) {
          const { header, dataSize } = encodeSparseHeader(this.#header(e, rel, 'file'), e.sparse.segments, realSize);
          this.#out.push(header);
          this.#entry.pad = padded(dataSize) - dataSize;
        } else {
          this.#out.push(encodeHeader(this.#header(e, rel, 'file', e.size)));
        }
        this.#mode = 'stream';
        this.files++;
        if (e.size === 0) this.#onEnd();
        return;
      }
      default:
        return this.#skip(rel, 'unknown-type', e);
    }
  }

  #onData(chunk: Buffer): void {
    if (this.#mode === 'stream') {
      this.#out.push(chunk);
      this.bytes += chunk.length;
    } else if (this.#mode === 'hold') {
      this.#entry?.parts.push(Buffer.from(chunk));
    }
  }

  #onEnd(): void {
    const cur = this.#entry;
    const mode = this.#mode;
    this.#mode = 'none';
    this.#entry = undefined;
    if (!cur) return;
    if (mode === 'stream') {
      if (cur.pad > 0) this.#out.push(ZERO_PAD.subarray(0, cur.pad));
      return;
    }
    if (mode !== 'hold') return;
    const { e, rel } = cur;
    let data = Buffer.concat(cur.parts);
    if (e.sparse) {
      // Put the holes back: small files are judged and stored whole.
      const whole = Buffer.alloc(e.sparse.realSize);
      let at = 0;
      for (const seg of e.sparse.segments) {
        data.copy(whole, seg.offset, at, at + seg.size);
        at += seg.size;
      }
      data = whole;
    }
    if (this.#secrets.byContent(rel, data)) {
      this.#skip(rel, 'secret', e);
      return;
    }
    this.#out.push(encodeHeader(this.#header(e, rel, 'file', data.length)), data);
    const pad = padded(data.length) - data.length;
    if (pad > 0) this.#out.push(ZERO_PAD.subarray(0, pad));
    this.files++;
    this.bytes += data.length;
  }
}
