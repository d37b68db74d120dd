import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { captureFromTarStream } from '../../services/archive/capture.js';
import type { CaptureCodec } from '../../services/archive/encoders.js';
import { extract, sha256sum, snapshot } from './helpers.js';
import { tempDirEach } from '../support/each-test.js';

const tmp = tempDirEach('abctl-stream-');

function buildSource(): string {
  const src = join(tmp.path, 'src');
  mkdirSync(join(src, 'conf'), { recursive: true });
  mkdirSync(join(src, 'empty'));
  writeFileSync(join(src, 'conf/app.conf'), 'x=1\n', { mode: 0o640 });
  writeFileSync(join(src, 'big.bin'), randomBytes(2 * 1024 * 1024 + 7));
  mkdirSync(join(src, 'l'.repeat(90)));
  writeFileSync(join(src, 'l'.repeat(90), 'n'.repeat(80)), 'long path\n');
  symlinkSync('conf/app.conf', join(src, 'link'));
  return src;
}

/** A real `tar -cf -` as the remote side would run it, in pieces of at most 64 KiB. */
function tarBytes(src: string, format = 'gnu'): Buffer {
  return execFileSync('tar', [`--format=${format}`, '-cf', '-', '-C', src, '.'], { maxBuffer: 64 << 20 });
}

function pieces(buf: Buffer, size = 65536): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) parts.push(buf.subarray(i, i + size));
  return Readable.from(parts);
}

const leftovers = (): string[] => readdirSync(tmp.path).filter((n) => n !== 'src');

describe('captureFromTarStream', () => {
  for (const codec of ['gzip', 'zstd', 'none'] as CaptureCodec[]) {
    it(`${codec}: a child's tar stdout becomes an archive the real tar extracts to the same tree`, async () => {
      const src = buildSource();
      const child = spawn('tar', ['-cf', '-', '-C', src, '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const out = join(tmp.path, `a.${codec}`);
      const r = await captureFromTarStream(child.stdout, { out, codec, where: 'localhost:src' });
      const dest = join(tmp.path, 'dest');
      mkdirSync(dest);
      extract(out, codec, dest);
      expect(Object.fromEntries(snapshot(dest))).toEqual(Object.fromEntries(snapshot(src)));
      // root + conf + empty + the long directory
      expect(r).toMatchObject({ codec, files: 3, directories: 4, symlinks: 1, bytes: 2 * 1024 * 1024 + 7 + 4 + 10, skipped: [] });
      expect(r.sha256).toBe(sha256sum(out));
      expect(r.archiveBytes).toBe(statSync(out).size);
    });
  }

  it('writes GNU and PAX input again in its own layout (numeric owners, same entries), in any chunking', async () => {
    const src = buildSource();
    const listings: string[] = [];
    for (const format of ['gnu', 'pax']) {
      const bytes = tarBytes(src, format);
      const out = join(tmp.path, `a-${format}.tar`);
      const r = await captureFromTarStream(pieces(bytes, 1000), { out, codec: 'none' });
      expect(r.sha256).toBe(sha256sum(out));
      expect(r).toMatchObject({ files: 3, directories: 4, symlinks: 1, skipped: [] });
      const dest = join(tmp.path, `dest-${format}`);
      mkdirSync(dest);
      extract(out, 'none', dest);
      expect(Object.fromEntries(snapshot(dest))).toEqual(Object.fromEntries(snapshot(src)));
      listings.push(execFileSync('tar', ['-tvf', out, '--numeric-owner'], { encoding: 'utf8' }));
    }
    expect(listings[0]).toBe(listings[1]);
  });

  it('refuses a stream that is not tar, is empty or is cut short, leaving nothing', async () => {
    const src = buildSource();
    const out = join(tmp.path, 'a.tgz');
    await expect(captureFromTarStream(pieces(Buffer.from('Permission denied (publickey).\n'.repeat(100))), { out, codec: 'gzip' })).rejects.toMatchObject({
      code: 'CAPTURE_STREAM_INVALID',
    });
    await expect(captureFromTarStream(pieces(Buffer.alloc(0)), { out, codec: 'gzip' })).rejects.toMatchObject({ code: 'CAPTURE_STREAM_INVALID' });
    const bytes = tarBytes(src);
    const cut = bytes.subarray(0, 512 * 20 + 100);
    const err = await captureFromTarStream(pieces(cut), { out, codec: 'zstd', where: 'host:/opt/p' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CAPTURE_STREAM_INVALID', where: 'host:/opt/p' });
    expect((err as Error).message).toContain('truncated');
    expect(leftovers()).toEqual([]);
  });

  it('a failing input stream or an abort leaves nothing', async () => {
    const src = buildSource();
    const bytes = tarBytes(src);
    const failing = new PassThrough();
    failing.write(bytes.subarray(0, 1536 * 1024));
    setTimeout(() => failing.destroy(new Error('ssh connection lost')), 20);
    await expect(captureFromTarStream(failing, { out: join(tmp.path, 'a.tgz'), codec: 'gzip' })).rejects.toMatchObject({ code: 'CAPTURE_STREAM_FAILED' });
    expect(leftovers()).toEqual([]);

    const stalled = new PassThrough();
    stalled.write(bytes.subarray(0, 4096));
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    await expect(captureFromTarStream(stalled, { out: join(tmp.path, 'b.tgz'), codec: 'gzip', signal: ac.signal })).rejects.toMatchObject({
      code: 'CAPTURE_ABORTED',
    });
    expect(stalled.destroyed).toBe(true);
    expect(leftovers()).toEqual([]);
  });
});
