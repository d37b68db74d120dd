/**
 * Extraction round trips: real captures (abctl's own capture of examples/minihttpd and of a
 * tree with symlinks, empty directories, modes and long names) and archives of GNU tar (hard
 * links, sparse files, FIFOs) come back identical; owner/group applied as root; abort and
 * progress. Real files and real archives throughout.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import { captureFileSet } from '../../services/archive/capture.js';
import type { CaptureCodec } from '../../services/archive/encoders.js';
import { extractArchive, INCOMPLETE_MARKER, type ExtractProgress } from '../../services/archive/extract.js';
import { writeTar } from './extract-helpers.js';
import { snapshot, tempDir } from './helpers.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const isRoot = process.getuid?.() === 0;

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir('abctl-extract-')));
afterAll(() => cleanup());

let n = 0;
const fresh = (name: string): string => join(dir, `${name}-${n++}`);

/** A product-like tree: nested dirs, modes incl. setuid/sticky, a read-only dir, symlinks, empty dirs, long names. */
function buildTree(root: string): void {
  mkdirSync(join(root, 'bin'), { recursive: true });
  mkdirSync(join(root, 'conf/sub'), { recursive: true });
  mkdirSync(join(root, 'empty/deeper'), { recursive: true });
  mkdirSync(join(root, 'ro'), { recursive: true });
  writeFileSync(join(root, 'bin/run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(root, 'bin/run.sh'), 0o755);
  writeFileSync(join(root, 'bin/suid'), 'x');
  chmodSync(join(root, 'bin/suid'), 0o4755);
  writeFileSync(join(root, 'conf/server.xml'), '<Server port="8005"/>\n');
  writeFileSync(join(root, 'conf/secret.properties'), 'password=x\n');
  chmodSync(join(root, 'conf/secret.properties'), 0o600);
  writeFileSync(join(root, 'conf/empty'), '');
  writeFileSync(join(root, 'big.bin'), randomBytes(3 * 1024 * 1024 + 17));
  writeFileSync(join(root, 'ro/readme'), 'read only dir\n');
  chmodSync(join(root, 'ro'), 0o555);
  mkdirSync(join(root, 'sticky'));
  chmodSync(join(root, 'sticky'), 0o1777);
  symlinkSync('server.xml', join(root, 'conf/link-rel'));
  symlinkSync('/etc/hostname', join(root, 'conf/link-abs'));
  symlinkSync('does/not/exist', join(root, 'conf/link-dangling'));
  symlinkSync('../conf', join(root, 'bin/conf-dir'));
  // Names over 100 bytes and a path over 255 bytes (PAX records), with UTF-8.
  const longDir = join(root, 'l'.repeat(90), 'ü'.repeat(40));
  mkdirSync(longDir, { recursive: true });
  writeFileSync(join(longDir, `${'n'.repeat(120)}.txt`), 'long\n');
  symlinkSync(`${'t'.repeat(150)}`, join(longDir, 'long-target'));
  utimesSync(join(root, 'conf/server.xml'), 1_600_000_000, 1_600_000_000);
  utimesSync(join(root, 'empty'), 1_500_000_000, 1_500_000_000);
}

function expectSameTree(a: string, b: string): void {
  const sa = snapshot(a);
  const sb = snapshot(b);
  sb.delete(INCOMPLETE_MARKER);
  expect([...sb.keys()]).toEqual([...sa.keys()]);
  for (const [k, v] of sa) expect(sb.get(k), k).toEqual(v);
}

describe('round trip of abctl captures', () => {
  let tree: string;
  beforeAll(() => {
    tree = fresh('tree');
    buildTree(tree);
  });
  afterAll(() => chmodSync(join(tree, 'ro'), 0o755));

  for (const codec of ['gzip', 'zstd', 'none'] as CaptureCodec[]) {
    it(`${codec}: files, modes (setuid, sticky, read-only dir), mtimes, symlinks, empty dirs, long names`, async () => {
      const archive = join(dir, `tree-${codec}.archive`);
      await captureFileSet({ root: tree, out: archive, codec });
      const root = fresh(`out-${codec}`);
      const r = await extractArchive({ archive, root });
      expect(r.codec).toBe(codec);
      expect(r.symlinks).toBe(5);
      expectSameTree(tree, root);
      expect(statSync(join(root, 'bin/suid')).mode & 0o7777).toBe(0o4755);
      expect(statSync(join(root, 'sticky')).mode & 0o7777).toBe(0o1777);
      expect(lstatSync(join(root, 'empty')).mtimeMs).toBe(1_500_000_000_000);
      expect(existsSync(join(root, INCOMPLETE_MARKER))).toBe(false);
      chmodSync(join(root, 'ro'), 0o755);
    });
  }

  it('examples/minihttpd, captured with excludes, as rehydration will see it', async () => {
    const src = join(repo, 'examples', 'minihttpd');
    const archive = join(dir, 'minihttpd.tgz');
    const cap = await captureFileSet({ root: src, out: archive, codec: 'gzip' });
    const root = fresh('minihttpd');
    const r = await extractArchive({ archive, root });
    expect(r.files).toBe(cap.files);
    expect(r.directories).toBe(cap.directories);
    expectSameTree(src, root);
  });

  it('a gzip archive of many members (small blocks) reads as one stream', async () => {
    const src = fresh('many');
    mkdirSync(src);
    for (let i = 0; i < 40; i++) writeFileSync(join(src, `f${i}`), randomBytes(100_000));
    const archive = join(dir, 'many.tgz');
    await captureFileSet({ root: src, out: archive, codec: 'gzip', level: 1 });
    // The capture writes one member per MiB of tar stream: several here.
    const members = readFileSync(archive).toString('latin1').split('\x1f\x8b\x08').length - 1;
    expect(members).toBeGreaterThan(2);
    const root = fresh('many-out');
    await extractArchive({ archive, root });
    expectSameTree(src, root);
  });
});

describe('archives of GNU tar and other writers', () => {
  it('hard links, sparse files (GNU and PAX 1.0 formats) and FIFOs', async () => {
    const src = fresh('gnu-src');
    mkdirSync(join(src, 'd'), { recursive: true });
    writeFileSync(join(src, 'd/file'), 'shared content\n');
    linkSync(join(src, 'd/file'), join(src, 'hard'));
    linkSync(join(src, 'd/file'), join(src, 'd/hard2'));
    // Sparse: 20 MiB with data at three places.
    const sparse = join(src, 'sparse.img');
    execFileSync('truncate', ['-s', '20M', sparse]);
    const fd = (await import('node:fs')).openSync(sparse, 'r+');
    const { writeSync, closeSync } = await import('node:fs');
    writeSync(fd, Buffer.from('start'), 0, 5, 0);
    writeSync(fd, randomBytes(70_000), 0, 70_000, 5_000_000);
    writeSync(fd, Buffer.from('end'), 0, 3, 20 * 1024 * 1024 - 3);
    closeSync(fd);
    // Many segments: old GNU headers hold 4, the rest go to extension headers.
    const many = join(src, 'many-holes.img');
    execFileSync('truncate', ['-s', '8M', many]);
    const fd2 = (await import('node:fs')).openSync(many, 'r+');
    for (let i = 0; i < 30; i++) writeSync(fd2, Buffer.from(`segment-${String(i).padStart(2, '0')}`), 0, 10, i * 256 * 1024 + 100);
    closeSync(fd2);
    execFileSync('mkfifo', ['-m', '0640', join(src, 'pipe')]);
    for (const format of ['posix', 'gnu']) {
      const archive = join(dir, `gnu-${format}.tgz`);
      execFileSync('tar', [`--format=${format}`, '-S', '-czf', archive, '-C', src, '.']);
      const listing = execFileSync('tar', ['-tvzf', archive], { encoding: 'utf8' });
      expect(listing).toContain('link to');
      const root = fresh(`gnu-out-${format}`);
      const r = await extractArchive({ archive, root });
      expect(r.hardlinks).toBe(2);
      expect(readFileSync(join(root, 'hard'), 'utf8')).toBe('shared content\n');
      expect(statSync(join(root, 'hard')).ino).toBe(statSync(join(root, 'd/file')).ino);
      expect(statSync(join(root, 'd/hard2')).nlink).toBe(3);
      expect(readFileSync(join(root, 'sparse.img')).equals(readFileSync(sparse))).toBe(true);
      expect(readFileSync(join(root, 'many-holes.img')).equals(readFileSync(many))).toBe(true);
      // Holes stay holes: far fewer blocks than the 20 MiB size.
      expect(statSync(join(root, 'sparse.img')).blocks * 512).toBeLessThan(2 * 1024 * 1024);
      expect(lstatSync(join(root, 'pipe')).isFIFO()).toBe(true);
      expect(lstatSync(join(root, 'pipe')).mode & 0o777).toBe(0o640);
    }
  });

  it('file modes are kept whatever the umask (files whose mode the umask would cut get it set after)', async () => {
    const modes = [0o644, 0o600, 0o755, 0o777, 0o666, 0o000, 0o4755, 0o2750, 0o1755, 0o640];
    const archive = writeTar(
      join(dir, 'modes.tar'),
      modes.map((mode) => ({ name: `./m${mode.toString(8)}`, type: 'file' as const, data: 'x', mode })),
    );
    const saved = process.umask();
    try {
      for (const umask of [0o022, 0o077, 0o000]) {
        process.umask(umask);
        const root = fresh(`umask-${umask.toString(8)}`);
        await extractArchive({ archive, root });
        for (const mode of modes) expect(statSync(join(root, `m${mode.toString(8)}`)).mode & 0o7777, `mode ${mode.toString(8)} under umask ${umask.toString(8)}`).toBe(mode);
      }
    } finally {
      process.umask(saved);
    }
  });

  it('ustar and GNU formats from Python tarfile, names with and without ./', async () => {
    for (const format of ['ustar', 'gnu', 'pax'] as const) {
      const archive = writeTar(join(dir, `py-${format}.tar`), [
        { name: 'a', type: 'dir', mode: 0o750 },
        { name: './a/b.txt', type: 'file', data: 'b', mode: 0o640, mtime: 1_234_567_890 },
        { name: 'a//c.txt', type: 'file', data: 'c' },
        { name: 'implicit/parent/x', type: 'file', data: 'x' },
        { name: 'a/h', type: 'hardlink', target: './a/b.txt' },
      ], { format });
      const root = fresh(`py-${format}`);
      await extractArchive({ archive, root });
      expect(statSync(join(root, 'a')).mode & 0o777).toBe(0o750);
      expect(statSync(join(root, 'a/b.txt')).mtimeMs).toBe(1_234_567_890_000);
      expect(readFileSync(join(root, 'a/c.txt'), 'utf8')).toBe('c');
      expect(readFileSync(join(root, 'implicit/parent/x'), 'utf8')).toBe('x');
      expect(statSync(join(root, 'a/h')).ino).toBe(statSync(join(root, 'a/b.txt')).ino);
    }
  });

  it('device nodes when allowed (root only)', async () => {
    if (!isRoot) return;
    const archive = writeTar(join(dir, 'dev.tar'), [{ name: 'null', type: 'chardev', devmajor: 1, devminor: 3, mode: 0o666 }]);
    const root = fresh('dev');
    await extractArchive({ archive, root, allowDevices: true });
    const st = lstatSync(join(root, 'null'));
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(statSync('/dev/null').rdev);
  });
});

describe('owner and group', () => {
  it.skipIf(!isRoot)('as root, every entry gets the given uid/gid (nobody/nogroup); setuid survives the chown', async () => {
    const uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('getent', ['group', 'nogroup'], { encoding: 'utf8' }).split(':')[2]);
    const src = fresh('own-src');
    buildTree(src);
    const archive = join(dir, 'own.tgz');
    await captureFileSet({ root: src, out: archive, codec: 'gzip' });
    const root = fresh('own');
    const r = await extractArchive({ archive, root, owner: { uid, gid } });
    expect(r.ownerApplied).toBe(true);
    const walk = execFileSync('find', [root, '-printf', '%U:%G %p\n'], { encoding: 'utf8' }).trim().split('\n');
    for (const line of walk) expect(line.startsWith(`${uid}:${gid} `), line).toBe(true);
    expect(statSync(join(root, 'bin/suid')).mode & 0o7777).toBe(0o4755);
    expect(lstatSync(join(root, 'conf/link-abs')).uid).toBe(uid);
    chmodSync(join(src, 'ro'), 0o755);
    chmodSync(join(root, 'ro'), 0o755);
  });

  it('without owner, files belong to the user running the extraction', async () => {
    const archive = writeTar(join(dir, 'noown.tar'), [{ name: 'f', type: 'file', data: 'x' }]);
    const root = fresh('noown');
    const r = await extractArchive({ archive, root });
    expect(r.ownerApplied).toBe(false);
    expect(statSync(join(root, 'f')).uid).toBe(process.getuid?.());
  });
});

describe('progress, abort and damaged archives', () => {
  let archive: string;
  beforeAll(async () => {
    const src = join(dir, 'prog-src');
    mkdirSync(src);
    for (let i = 0; i < 12; i++) writeFileSync(join(src, `f${i}`), randomBytes(512 * 1024));
    archive = join(dir, 'prog.tgz');
    await captureFileSet({ root: src, out: archive, codec: 'gzip' });
  });

  it('reports progress as it goes', async () => {
    const seen: ExtractProgress[] = [];
    const r = await extractArchive({ archive, root: fresh('prog'), onProgress: (p) => seen.push(p) });
    expect(seen.length).toBeGreaterThan(2);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.bytes).toBeGreaterThanOrEqual(seen[i - 1]!.bytes);
    expect(seen.at(-1)!.bytes).toBe(12 * 512 * 1024);
    expect(seen.at(-1)!.archiveBytes).toBe(statSync(archive).size);
    expect(r.files).toBe(12);
  });

  it('an abort stops it: a root it created is removed', async () => {
    const ac = new AbortController();
    const root = fresh('abort-new');
    const err = await extractArchive({ archive, root, signal: ac.signal, onProgress: () => ac.abort() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe('EXTRACT_ABORTED');
    expect(existsSync(root)).toBe(false);
  });

  it('an abort in a root that existed leaves the partial output marked', async () => {
    const ac = new AbortController();
    const root = fresh('abort-old');
    mkdirSync(root);
    writeFileSync(join(root, 'kept'), 'was here');
    const err = await extractArchive({ archive, root, signal: ac.signal, onProgress: () => ac.abort() }).catch((e: unknown) => e);
    expect((err as UserError).code).toBe('EXTRACT_ABORTED');
    expect((err as UserError).hint).toContain(INCOMPLETE_MARKER);
    expect(readFileSync(join(root, INCOMPLETE_MARKER), 'utf8')).toContain('extract again');
    expect(readFileSync(join(root, 'kept'), 'utf8')).toBe('was here');
  });

  it('an already aborted signal extracts nothing', async () => {
    const root = fresh('pre-aborted');
    await expect(extractArchive({ archive, root, signal: AbortSignal.abort() })).rejects.toThrow();
    expect(existsSync(root)).toBe(false);
  });

  it('a truncated or corrupt archive is a clear error', async () => {
    const data = readFileSync(archive);
    const truncated = join(dir, 'trunc.tgz');
    writeFileSync(truncated, data.subarray(0, Math.floor(data.length / 2)));
    const e1 = (await extractArchive({ archive: truncated, root: fresh('trunc') }).catch((e: unknown) => e)) as UserError;
    expect(e1.code).toBe('EXTRACT_ARCHIVE_INVALID');
    expect(e1.where).toBe(truncated);
    const notTar = join(dir, 'not.tar');
    writeFileSync(notTar, 'hello, this is not a tar archive'.repeat(40));
    const e2 = (await extractArchive({ archive: notTar, root: fresh('nottar') }).catch((e: unknown) => e)) as UserError;
    expect(e2.code).toBe('EXTRACT_ARCHIVE_INVALID');
    expect(e2.message).toContain('checksum');
    const e3 = (await extractArchive({ archive: join(dir, 'missing.tgz'), root: fresh('missing') }).catch((e: unknown) => e)) as UserError;
    expect(e3.code).toBe('ENV_ENOENT');
    const zst = join(dir, 'prog.tzst');
    await captureFileSet({ root: join(dir, 'prog-src'), out: zst, codec: 'zstd' });
    const zdata = readFileSync(zst);
    writeFileSync(zst, zdata.subarray(0, Math.floor(zdata.length / 2)));
    const root4 = fresh('trunc-zstd');
    const e4 = (await extractArchive({ archive: zst, root: root4 }).catch((e: unknown) => e)) as UserError;
    expect(e4.code).toBe('EXTRACT_ARCHIVE_INVALID');
    expect(e4.message).toContain('zstd');
    expect(existsSync(root4)).toBe(false);
  });
});
