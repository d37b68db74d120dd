/**
 * A small tar header encoder (POSIX ustar, plus a PAX extended header when a value does not
 * fit a ustar field) and the matching decoder the stream scanner uses. Written by hand
 * because the header is 512 bytes of fixed fields and a general tar library per entry is
 * what made the archiver stream ~3x slower than GNU tar (DESIGN "Speed of capture").
 *
 * Layout of a ustar header (offset, length):
 *   name 0/100  mode 100/8  uid 108/8  gid 116/8  size 124/12  mtime 136/12  chksum 148/8
 *   typeflag 156/1  linkname 157/100  magic 257/6 "ustar\0"  version 263/2 "00"
 *   uname 265/32  gname 297/32  devmajor 329/8  devminor 337/8  prefix 345/155
 */

import type { SparseSegment } from './tar-entries.js';

export const BLOCK = 512;

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink';

export interface TarHeaderInput {
  /** Entry name as stored: `./a/b`, directories end with `/`. UTF-8. */
  readonly path: string;
  readonly type: TarEntryType;
  /** Permission bits, including setuid/setgid/sticky (masked to 07777). */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Content size in bytes; 0 for anything but a regular file. */
  readonly size: number;
  /** Modification time, whole seconds since the epoch. */
  readonly mtime: number;
  /** Target of a symlink or hard link. */
  readonly linkname?: string;
  readonly uname?: string;
  readonly gname?: string;
  /** More PAX records, written after the ones this encoder adds (e.g. GNU.sparse.*). */
  readonly extraPax?: readonly (readonly [string, string])[];
}

const TYPEFLAG: Record<TarEntryType, number> = { file: 0x30, hardlink: 0x31, symlink: 0x32, directory: 0x35 };

/** Largest value an octal field of `width` bytes holds (width-1 digits, then a NUL). */
function octalMax(width: number): number {
  return 8 ** (width - 1) - 1;
}

/** One PAX record, `"<len> <key>=<value>\n"`, where len counts the whole record including itself. */
export function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  const restBytes = Buffer.byteLength(rest);
  let len = restBytes + 1;
  // The length's own digits count too; adding a digit can carry into one more digit.
  while (String(len).length + restBytes !== len) len = String(len).length + restBytes;
  return `${len}${rest}`;
}

/**
 * The fixed bytes of every header this encoder writes: zeros, the ustar magic and version,
 * all-zero digits in the numeric fields (devmajor/devminor stay so), and eight spaces where
 * the checksum goes (that is how the checksum counts its own field). Copying it, writing only
 * the significant digits and names, and adding just those to its sum costs a fraction of
 * zero-filling and summing 512 bytes per entry, which was the largest share of the capture's
 * own CPU on many small files.
 */
const TEMPLATE = ((): Buffer => {
  const t = Buffer.alloc(BLOCK);
  for (const [at, width] of [[100, 8], [108, 8], [116, 8], [124, 12], [136, 12], [329, 8], [337, 8]] as const) t.fill(0x30, at, at + width - 1);
  t.write('ustar\u000000', 257, 8, 'latin1');
  t.fill(0x20, 148, 156);
  return t;
})();
const TEMPLATE_SUM = TEMPLATE.reduce((a, b) => a + b, 0);

/**
 * Writes `value` (an integer that fits) right-aligned into a numeric field of the template,
 * whose leading zeros are already there; returns what the digits add to the checksum.
 */
function putOctal(buf: Buffer, end: number, value: number): number {
  let sum = 0;
  let i = end;
  // Bit operations while the value fits 31 bits (sizes and times can be larger).
  while (value > 0x7fffffff) {
    const d = value % 8;
    value = (value - d) / 8;
    buf[--i] = 0x30 + d;
    sum += d;
  }
  while (value > 0) {
    const d = value & 7;
    value >>>= 3;
    buf[--i] = 0x30 + d;
    sum += d;
  }
  return sum;
}

/**
 * Copies `value` into a fixed field, cut at a UTF-8 character boundary so no half character
 * is stored (Buffer#write never writes part of one); returns the written bytes' sum.
 */
function putString(buf: Buffer, offset: number, width: number, value: string): number {
  if (value === '') return 0;
  const n = buf.write(value, offset, width, 'utf8');
  let sum = 0;
  for (let i = offset; i < offset + n; i++) sum += buf[i]!;
  return sum;
}

/** Writes one ustar header block at `at`; every value must fit its field (encodeHeader checks). */
function fillHeader(
  buf: Buffer,
  at: number,
  name: string,
  mode: number,
  uid: number,
  gid: number,
  size: number,
  mtime: number,
  typeflag: number,
  linkname: string,
  uname = '',
  gname = '',
): void {
  buf.set(TEMPLATE, at);
  let sum = TEMPLATE_SUM + typeflag;
  sum += putString(buf, at, 100, name);
  // Each field ends in a NUL: its digits end one byte before the field does.
  sum += putOctal(buf, at + 107, mode);
  sum += putOctal(buf, at + 115, uid);
  sum += putOctal(buf, at + 123, gid);
  sum += putOctal(buf, at + 135, size);
  sum += putOctal(buf, at + 147, mtime);
  buf[at + 156] = typeflag;
  sum += putString(buf, at + 157, 100, linkname);
  sum += putString(buf, at + 265, 32, uname);
  sum += putString(buf, at + 297, 32, gname);
  // Checksum: 6 octal digits, NUL, space (a header's sum is below 8^6).
  for (let i = at + 153; i >= at + 148; i--) {
    buf[i] = 0x30 + (sum & 7);
    sum >>>= 3;
  }
  buf[at + 154] = 0;
  buf[at + 155] = 0x20;
}

/** True when `s` takes more than `max` bytes in UTF-8 (without encoding it when the length decides). */
function longerThan(s: string, max: number): boolean {
  if (s.length > max) return true;
  return s.length * 3 > max && Buffer.byteLength(s) > max;
}

/**
 * The common case of encodeHeader without its allocations: writes the single ustar header of
 * an entry straight into `buf` at `at` and returns true, or returns false (nothing written)
 * when the entry needs a PAX header; then use encodeHeader. Same bytes as encodeHeader.
 */
export function writeHeader(
  buf: Buffer,
  at: number,
  path: string,
  type: TarEntryType,
  mode: number,
  uid: number,
  gid: number,
  size: number,
  mtime: number,
  linkname = '',
): boolean {
  if (type !== 'file') size = 0;
  const max8 = 0o7777777;
  const max12 = 0o77777777777;
  if (!(uid >= 0 && uid <= max8 && Number.isInteger(uid)) || !(gid >= 0 && gid <= max8 && Number.isInteger(gid))) return false;
  if (!(size >= 0 && size <= max12 && Number.isInteger(size)) || !(mtime >= 0 && mtime <= max12 && Number.isInteger(mtime))) return false;
  if (longerThan(path, 100) || longerThan(linkname, 100)) return false;
  fillHeader(buf, at, path, mode & 0o7777, uid, gid, size, mtime, TYPEFLAG[type], linkname);
  return true;
}

/** Rounds up to whole 512-byte blocks. */
export function padded(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/**
 * Encodes the header(s) for one entry: 512 bytes, or a PAX `x` entry first (header plus
 * records) when the path or link target is longer than 100 bytes, or size, mtime, uid or
 * gid overflow their octal fields (files of 8 GiB and more, ids above 2097151).
 * The content (for files) and its padding are the caller's.
 */
export function encodeHeader(h: TarHeaderInput): Buffer {
  const pax: string[] = [];
  const linkname = h.linkname ?? '';
  if (Buffer.byteLength(h.path) > 100) pax.push(paxRecord('path', h.path));
  if (Buffer.byteLength(linkname) > 100) pax.push(paxRecord('linkpath', linkname));
  const size = h.type === 'file' ? h.size : 0;
  const fit = (v: number, width: number): boolean => Number.isInteger(v) && v >= 0 && v <= octalMax(width);
  if (!fit(size, 12)) pax.push(paxRecord('size', String(size)));
  if (!fit(h.mtime, 12)) pax.push(paxRecord('mtime', String(h.mtime)));
  if (!fit(h.uid, 8)) pax.push(paxRecord('uid', String(h.uid)));
  if (!fit(h.gid, 8)) pax.push(paxRecord('gid', String(h.gid)));
  for (const [k, v] of h.extraPax ?? []) pax.push(paxRecord(k, v));

  const main = {
    name: h.path,
    mode: h.mode & 0o7777,
    uid: fit(h.uid, 8) ? h.uid : 0,
    gid: fit(h.gid, 8) ? h.gid : 0,
    size: fit(size, 12) ? size : 0,
    mtime: fit(h.mtime, 12) ? h.mtime : 0,
    typeflag: TYPEFLAG[h.type],
    linkname,
    uname: h.uname ?? '',
    gname: h.gname ?? '',
  };
  if (pax.length === 0) {
    const buf = Buffer.allocUnsafe(BLOCK);
    fillHeader(buf, 0, main.name, main.mode, main.uid, main.gid, main.size, main.mtime, main.typeflag, main.linkname, main.uname, main.gname);
    return buf;
  }
  const records = Buffer.from(pax.join(''), 'utf8');
  const buf = Buffer.allocUnsafe(BLOCK + padded(records.length) + BLOCK);
  // GNU tar names these `<dir>/PaxHeaders.<pid>/<base>`; any name works, readers skip it.
  const base = h.path.replace(/\/+$/, '').split('/').pop() ?? 'entry';
  // typeflag 'x'
  fillHeader(buf, 0, `./PaxHeaders/${base}`, 0o644, 0, 0, records.length, main.mtime, 0x78, '');
  records.copy(buf, BLOCK);
  buf.fill(0, BLOCK + records.length, BLOCK + padded(records.length));
  fillHeader(buf, BLOCK + padded(records.length), main.name, main.mode, main.uid, main.gid, main.size, main.mtime, main.typeflag, main.linkname, main.uname, main.gname);
  return buf;
}

/**
 * Header(s) and map of a sparse file in GNU tar's PAX sparse format 1.0 (what GNU tar and
 * libarchive read back with the holes): a PAX header with GNU.sparse.* records, a main header
 * named `<dir>/GNUSparseFile.0/<name>` whose size covers the map and the data, then the map
 * (decimal numbers, one per line, padded to 512 bytes). The caller writes the segments' bytes
 * and the padding after them. A file ending in a hole gets a last, empty segment at its end,
 * as GNU tar writes it.
 */
export function encodeSparseHeader(h: TarHeaderInput, segments: readonly SparseSegment[], realSize: number): { header: Buffer; dataSize: number } {
  const map = [...segments];
  const last = map[map.length - 1];
  if (!last || last.offset + last.size < realSize) map.push({ offset: realSize, size: 0 });
  const text = `${map.length}\n${map.map((s) => `${s.offset}\n${s.size}\n`).join('')}`;
  const mapBlock = Buffer.alloc(padded(text.length));
  mapBlock.write(text, 'latin1');
  const dataSize = map.reduce((n, s) => n + s.size, 0);
  const slash = h.path.lastIndexOf('/');
  const header = encodeHeader({
    ...h,
    path: `${h.path.slice(0, slash + 1)}GNUSparseFile.0/${h.path.slice(slash + 1)}`,
    type: 'file',
    size: mapBlock.length + dataSize,
    // After any `path` record: readers take the name from GNU.sparse.name.
    extraPax: [
      ['GNU.sparse.major', '1'],
      ['GNU.sparse.minor', '0'],
      ['GNU.sparse.name', h.path],
      ['GNU.sparse.realsize', String(realSize)],
    ],
  });
  return { header: Buffer.concat([header, mapBlock]), dataSize };
}

/** The end-of-archive marker: two zero blocks. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}

// ---- decoding (used to scan tar streams received from remote hosts) ----

export interface DecodedHeader {
  readonly name: string;
  readonly typeflag: string;
  readonly size: number;
  readonly linkname: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: number;
}

function readString(buf: Buffer, offset: number, width: number): string {
  let end = offset;
  while (end < offset + width && buf[end] !== 0) end++;
  return buf.toString('utf8', offset, end);
}

/**
 * Octal (NUL/space padded) or GNU base-256 (high bit set) numeric field; NaN when the field
 * holds anything else. Read byte by byte: extraction decodes eight of these per entry, and
 * string conversion plus regular expressions cost more than the file's own syscalls.
 */
export function readNumber(buf: Buffer, offset: number, width: number): number {
  const end = Math.min(offset + width, buf.length);
  const first = buf[offset] ?? 0;
  if (first & 0x80) {
    let v = first & 0x7f;
    for (let i = offset + 1; i < end; i++) v = v * 256 + (buf[i] ?? 0);
    return v;
  }
  let i = offset;
  while (i < end && (buf[i] === 0 || buf[i] === 0x20)) i++;
  let last = end;
  while (last > i && (buf[last - 1] === 0 || buf[last - 1] === 0x20)) last--;
  let v = 0;
  for (; i < last; i++) {
    const d = (buf[i] ?? 0) - 0x30;
    if (d < 0 || d > 7) return Number.NaN;
    v = v * 8 + d;
  }
  return v;
}

/** True for a header whose checksum matches (signed or unsigned sum, as readers accept both). */
export function checksumOk(buf: Buffer, at = 0): boolean {
  const stored = readNumber(buf, at + 148, 8);
  // The checksum field counts as eight spaces; the signed sum differs by 256 per byte over 127.
  let unsigned = 8 * 0x20;
  let high = 0;
  for (let i = at; i < at + 148; i++) {
    const b = buf[i]!;
    unsigned += b;
    if (b > 127) high++;
  }
  for (let i = at + 156; i < at + BLOCK; i++) {
    const b = buf[i]!;
    unsigned += b;
    if (b > 127) high++;
  }
  return stored === unsigned || stored === unsigned - 256 * high;
}

export function isZeroBlock(buf: Buffer, at = 0): boolean {
  for (let i = at; i < at + BLOCK; i++) if (buf[i] !== 0) return false;
  return true;
}

export function decodeHeader(buf: Buffer, at = 0): DecodedHeader {
  let name = readString(buf, at, 100);
  // ustar splits long names into prefix + name ("ustar" at 257, compared without a string).
  if (buf[at + 257] === 0x75 && buf[at + 258] === 0x73 && buf[at + 259] === 0x74 && buf[at + 260] === 0x61 && buf[at + 261] === 0x72 && buf[at + 345] !== 0) {
    const prefix = readString(buf, at + 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  const flag = buf[at + 156] ?? 0;
  return {
    name,
    typeflag: flag === 0 ? '0' : String.fromCharCode(flag),
    size: readNumber(buf, at + 124, 12),
    linkname: buf[at + 157] === 0 ? '' : readString(buf, at + 157, 100),
    mode: readNumber(buf, at + 100, 8),
    uid: readNumber(buf, at + 108, 8),
    gid: readNumber(buf, at + 116, 8),
    mtime: readNumber(buf, at + 136, 12),
  };
}

/** Parses PAX records into key/value pairs. Throws on a malformed record. */
export function parsePax(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break;
    const space = data.indexOf(0x20, pos);
    if (space < 0) throw new Error('malformed PAX record');
    const len = parseInt(data.toString('latin1', pos, space), 10);
    if (!Number.isInteger(len) || len <= 0 || pos + len > data.length) throw new Error('malformed PAX record length');
    const rec = data.toString('utf8', space + 1, pos + len - 1);
    const eq = rec.indexOf('=');
    if (eq < 0) throw new Error('malformed PAX record');
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    pos += len;
  }
  return out;
}
