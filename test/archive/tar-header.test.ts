import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checksumOk, decodeHeader, encodeHeader, paxRecord, parsePax, readNumber, writeHeader, type TarHeaderInput } from '../../services/archive/tar-header.js';
import { tempDirEach } from '../support/each-test.js';

const tmp = tempDirEach('abctl-tarheader-');

const base: TarHeaderInput = { path: './a.txt', type: 'file', mode: 0o640, uid: 1000, gid: 1001, size: 12, mtime: 1700000000 };

/** Lists an archive made of the given bytes with the real tar (verbose, numeric ids). */
function tarListVerbose(bytes: Buffer): { stdout: string; status: number | null } {
  const file = join(tmp.path, 't.tar');
  writeFileSync(file, bytes);
  const r = spawnSync('tar', ['--numeric-owner', '--full-time', '-tvf', file], { encoding: 'utf8' });
  return { stdout: r.stdout, status: r.status };
}

function paxOf(buf: Buffer): Map<string, string> {
  const h = decodeHeader(buf, 0);
  expect(h.typeflag).toBe('x');
  return parsePax(buf.subarray(512, 512 + h.size));
}

describe('paxRecord', () => {
  it('counts its own length digits, also where they carry (9->10, 99->100, 999->1000 bytes)', () => {
    for (let n = 0; n < 1100; n++) {
      const rec = paxRecord('path', 'x'.repeat(n));
      const stated = Number(rec.slice(0, rec.indexOf(' ')));
      expect(Buffer.byteLength(rec), `value of ${n} bytes`).toBe(stated);
      expect(rec.endsWith('\n')).toBe(true);
    }
    // bytes, not characters
    const u = paxRecord('path', 'é'.repeat(50));
    expect(Buffer.byteLength(u)).toBe(Number(u.split(' ')[0]));
  });
});

describe('encodeHeader', () => {
  it('writes one ustar block with a valid checksum that decodes back', () => {
    const buf = encodeHeader(base);
    expect(buf.length).toBe(512);
    expect(checksumOk(buf)).toBe(true);
    expect(buf.toString('latin1', 257, 265)).toBe('ustar\u000000');
    expect(decodeHeader(buf)).toEqual({ name: './a.txt', typeflag: '0', size: 12, linkname: '', mode: 0o640, uid: 1000, gid: 1001, mtime: 1700000000 });
    const dirHdr = decodeHeader(encodeHeader({ ...base, path: './d/', type: 'directory', size: 99 }));
    expect(dirHdr).toMatchObject({ typeflag: '5', size: 0 });
    const link = decodeHeader(encodeHeader({ ...base, path: './l', type: 'symlink', linkname: '../t' }));
    expect(link).toMatchObject({ typeflag: '2', linkname: '../t', size: 0 });
  });

  it('keeps setuid, setgid and sticky bits and nothing above them', () => {
    expect(decodeHeader(encodeHeader({ ...base, mode: 0o104755 })).mode).toBe(0o4755);
    expect(decodeHeader(encodeHeader({ ...base, mode: 0o43777 })).mode).toBe(0o3777);
  });

  it('uses a PAX size record for files of 8 GiB and more, which the real tar reads', () => {
    const size = 10 * 1024 ** 3;
    const buf = encodeHeader({ ...base, path: './huge.bin', size, uid: 3000000 });
    expect(paxOf(buf)).toEqual(new Map([['size', String(size)], ['uid', '3000000']]));
    const main = decodeHeader(buf, buf.length - 512);
    expect(main).toMatchObject({ name: './huge.bin', size: 0, uid: 0, typeflag: '0' });
    expect(checksumOk(buf, 0) && checksumOk(buf, buf.length - 512)).toBe(true);
    // The largest size that fits the octal field needs no PAX header.
    expect(encodeHeader({ ...base, size: 8 ** 11 - 1 }).length).toBe(512);
    expect(encodeHeader({ ...base, size: 8 ** 11 }).length).toBeGreaterThan(512);
    // GNU tar prints the header before it finds no content follows.
    const { stdout } = tarListVerbose(Buffer.concat([buf, Buffer.alloc(1024)]));
    expect(stdout).toMatch(/3000000\/1001\s+10737418240 .* \.\/huge\.bin/);
  });

  it('uses PAX path and linkpath records for names over 100 bytes', () => {
    const long = `./${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(150)}/${'ü'.repeat(40)}.txt`;
    const target = `../${'t'.repeat(120)}`;
    const fileHdr = encodeHeader({ ...base, path: long, size: 0 });
    const linkHdr = encodeHeader({ ...base, path: './short', type: 'symlink', linkname: target });
    expect(paxOf(fileHdr).get('path')).toBe(long);
    expect(paxOf(linkHdr).get('linkpath')).toBe(target);
    const { stdout, status } = tarListVerbose(Buffer.concat([fileHdr, linkHdr, Buffer.alloc(1024)]));
    expect(status).toBe(0);
    expect(stdout).toContain(` ${long}\n`);
    expect(stdout).toContain(` ./short -> ${target}\n`);
  });

  it('a name of exactly 100 bytes fits; 101 bytes or a multi-byte name over 100 bytes goes to PAX, the field cut on a character boundary', () => {
    expect(encodeHeader({ ...base, path: `./${'a'.repeat(98)}` }).length).toBe(512);
    expect(encodeHeader({ ...base, path: `./${'a'.repeat(99)}` }).length).toBe(1536);
    const name = `./${'ö'.repeat(60)}`; // 122 bytes, 62 characters
    const buf = encodeHeader({ ...base, path: name });
    expect(paxOf(buf).get('path')).toBe(name);
    expect(decodeHeader(buf, buf.length - 512).name).not.toContain('\ufffd');
  });

  it('uses a PAX mtime for times before 1970 or past the octal field', () => {
    expect(paxOf(encodeHeader({ ...base, mtime: -86400 })).get('mtime')).toBe('-86400');
    expect(paxOf(encodeHeader({ ...base, mtime: 8 ** 11 })).get('mtime')).toBe(String(8 ** 11));
  });
});

describe('writeHeader', () => {
  it('writes in place the very bytes encodeHeader returns, and declines what needs PAX', () => {
    const cases: TarHeaderInput[] = [
      base,
      { ...base, path: './', type: 'directory', mode: 0o755, uid: 0, gid: 0, size: 4096, mtime: 0 },
      { ...base, path: './d/é-ü/ß.conf', mode: 0o7777, size: 0o77777777777, mtime: 0o77777777777, uid: 0o7777777, gid: 0o7777777 },
      { ...base, path: './l', type: 'symlink', size: 99, linkname: '../a/b c' },
      { ...base, path: './h', type: 'hardlink', linkname: './a.txt' },
      { ...base, path: `./${'x'.repeat(98)}` },
      { ...base, path: `./${'é'.repeat(49)}` },
      { ...base, size: 2 ** 31 + 5, mtime: 2 ** 32 + 3 },
    ];
    // Blocks reused dirty, as the capture's are.
    const buf = Buffer.alloc(4 * 512, 0xa5);
    for (const h of cases) {
      expect(writeHeader(buf, 1024, h.path, h.type, h.mode, h.uid, h.gid, h.size, h.mtime, h.linkname), h.path).toBe(true);
      expect(buf.subarray(1024, 1536).equals(encodeHeader(h)), h.path).toBe(true);
      expect(buf[1023]).toBe(0xa5);
      expect(buf[1536]).toBe(0xa5);
    }
    const declined: TarHeaderInput[] = [
      { ...base, path: `./${'x'.repeat(99)}` },
      { ...base, path: `./${'é'.repeat(50)}` },
      { ...base, type: 'symlink', linkname: 'y'.repeat(101) },
      { ...base, size: 8 * 1024 ** 3 },
      { ...base, mtime: -1 },
      { ...base, uid: 0o10000000 },
      { ...base, gid: 1.5 },
    ];
    for (const h of declined) expect(writeHeader(buf, 0, h.path, h.type, h.mode, h.uid, h.gid, h.size, h.mtime, h.linkname), h.path).toBe(false);
  });
});

describe('decoding', () => {
  it('reads GNU base-256 numbers and octal padded with spaces', () => {
    const b = Buffer.alloc(12);
    b[0] = 0x80;
    b.writeUIntBE(10 * 1024 ** 3, 6, 6);
    expect(readNumber(b, 0, 12)).toBe(10 * 1024 ** 3);
    expect(readNumber(Buffer.from(' 0000644 \0'), 0, 10)).toBe(0o644);
    expect(readNumber(Buffer.from('12x4\0'), 0, 5)).toBeNaN();
  });
});
