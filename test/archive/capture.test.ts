import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import { compileExcludes } from '../../core/metadata/index.js';
import { captureFileSet } from '../../services/archive/capture.js';
import type { CaptureCodec } from '../../services/archive/encoders.js';
import { DEFAULT_SECRET_PATHS } from '../../services/archive/secrets.js';
import { extract, sha256sum, snapshot, tarList } from './helpers.js';
import { tempDirEach } from '../support/each-test.js';

const tmp = tempDirEach('abctl-capture-');

function file(root: string, rel: string, content: string | Buffer = `content of ${rel}\n`, mode = 0o644): void {
  const abs = join(root, rel);
  mkdirSync(join(abs, '..'), { recursive: true });
  writeFileSync(abs, content);
  chmodSync(abs, mode);
}

const LONG_DIR = 'd'.repeat(60);
const LONG_NAME = `${'n'.repeat(120)}.txt`; // one name over 100 bytes
const DEEP = `${LONG_DIR}/${LONG_DIR}/${LONG_DIR}/${LONG_DIR}/${LONG_DIR}`; // over 255 bytes

/** A tree with every kind of entry and an exclude of every form. */
function buildTree(root: string): void {
  mkdirSync(root);
  file(root, 'bin/run.sh', '#!/bin/sh\necho hi\n', 0o755);
  file(root, 'conf/app.conf', 'password=secret\n', 0o640);
  mkdirSync(join(root, 'private'));
  file(root, 'private/key.txt', 'k\n', 0o600);
  chmodSync(join(root, 'private'), 0o750);
  // excluded entirely
  file(root, 'foo/x');
  file(root, 'foo/sub/y');
  // emptied, kept
  file(root, 'bar/a');
  file(root, 'bar/sub/b');
  // only *.log files go; sub/c.log stays (`*` does not cross `/`)
  file(root, 'logs/a.log');
  file(root, 'logs/b.log');
  file(root, 'logs/keep.txt');
  file(root, 'logs/sub/c.log');
  // nested patterns
  file(root, 'a/b/c/deep.txt');
  file(root, 'a/b/keep.txt');
  file(root, 'a/x/y.tmp');
  file(root, 'a/z/y.tmp');
  file(root, 'a/z/y.txt');
  mkdirSync(join(root, 'empty/nested/deeper'), { recursive: true });
  mkdirSync(join(root, 'links'));
  symlinkSync('../conf/app.conf', join(root, 'links/rel'));
  symlinkSync('/etc/hostname', join(root, 'links/abs'));
  symlinkSync('nowhere/at/all', join(root, 'links/dangling'));
  symlinkSync('../bin', join(root, 'links/dirlink'));
  symlinkSync(`../${LONG_DIR}/${'t'.repeat(110)}`, join(root, 'links/longtarget'));
  file(root, 'ünïcødé/文件.txt', 'unicode\n');
  file(root, 'emoji-😀.txt', 'smile\n');
  file(root, `${LONG_DIR}/${LONG_NAME}`, 'long name\n');
  file(root, `${DEEP}/deep-file.txt`, 'deep\n');
  file(root, 'big/random.bin', randomBytes(3 * 1024 * 1024 + 123));
  file(root, 'zero-length');
  // fixed mtimes, set last (creating children changes a directory's mtime)
  utimesSync(join(root, 'conf/app.conf'), 981173106, 981173106);
  utimesSync(join(root, 'private'), 1000000000, 1000000000);
  utimesSync(join(root, 'bar'), 1100000000, 1100000000);
}

const EXCLUDES = ['foo', 'bar/*', 'logs/*.log', 'a/b/c', 'a/*/y.tmp'];
/** What EXCLUDES drop, spelled out (not computed with the matcher under test). */
const DROPPED = ['foo', 'foo/x', 'foo/sub', 'foo/sub/y', 'bar/a', 'bar/sub', 'bar/sub/b', 'logs/a.log', 'logs/b.log', 'a/b/c', 'a/b/c/deep.txt', 'a/x/y.tmp', 'a/z/y.tmp'];

function expected(src: string): Map<string, unknown> {
  const snap = snapshot(src);
  for (const d of DROPPED) {
    expect(snap.has(d), d).toBe(true);
    snap.delete(d);
  }
  return snap;
}

describe('captureFileSet', () => {
  for (const codec of ['gzip', 'zstd', 'none'] as const) {
    it(`${codec}: the real tar extracts exactly the tree minus the excludes, with modes, mtimes and symlinks`, async () => {
      const src = join(tmp.path, 'src');
      buildTree(src);
      const out = join(tmp.path, `fs.tar.${codec}`);
      const result = await captureFileSet({ root: src, excludes: EXCLUDES, out, codec });

      const dest = join(tmp.path, 'dest');
      mkdirSync(dest);
      extract(out, codec, dest);
      const got = snapshot(dest);
      expect(Object.fromEntries(got)).toEqual(Object.fromEntries(expected(src)));

      // kinds and modes the brief names, checked one by one as well
      expect(got.get('private')).toMatchObject({ type: 'dir', mode: 0o750, mtime: 1000000000 });
      expect(got.get('conf/app.conf')).toMatchObject({ type: 'file', mode: 0o640, mtime: 981173106 });
      expect(got.get('bin/run.sh')).toMatchObject({ mode: 0o755 });
      expect(got.get('bar')).toMatchObject({ type: 'dir', mtime: 1100000000 });
      expect(readdirSync(join(dest, 'bar'))).toEqual([]);
      expect(got.get('empty/nested/deeper')).toMatchObject({ type: 'dir' });
      expect(got.get('links/abs')).toEqual({ type: 'symlink', mode: 0, mtime: 0, content: '/etc/hostname' });
      expect(got.get('links/dangling')?.content).toBe('nowhere/at/all');
      expect(got.get('links/dirlink')?.type).toBe('symlink');
      expect(got.has(`${DEEP}/deep-file.txt`)).toBe(true);
      expect(got.has(`${LONG_DIR}/${LONG_NAME}`)).toBe(true);
      expect(got.has('ünïcødé/文件.txt')).toBe(true);

      // names: ./-relative, never absolute, never `..`
      const names = tarList(out, codec);
      expect(names[0]).toBe('./');
      for (const n of names) {
        expect(n.startsWith('./')).toBe(true);
        expect(n.split('/')).not.toContain('..');
      }
      expect(names).toContain('./bar/');
      expect(names).not.toContain('./foo/');

      // counts and hash
      const files = [...got.values()].filter((e) => e.type === 'file').length;
      const dirs = [...got.values()].filter((e) => e.type === 'dir').length + 1; // + the root
      expect(result).toMatchObject({ codec, files, directories: dirs, symlinks: 5, skipped: [] });
      expect(result.archiveBytes).toBe(statSync(out).size);
      expect(result.sha256).toBe(sha256sum(out));
      expect(result.out).toBe(out);
      expect(result.bytes).toBeGreaterThan(3 * 1024 * 1024);
      expect(readdirSync(tmp.path).filter((n) => n.includes('.partial-'))).toEqual([]);
      // archive mode: config files may hold passwords
      expect(statSync(out).mode & 0o777).toBe(0o600);
    });
  }

  it('gzip output is several independent members that gzip -t accepts as one stream', async () => {
    const src = join(tmp.path, 'src');
    file(src, 'r1.bin', randomBytes(2.5 * 1024 * 1024));
    file(src, 'text.txt', 'hello world\n'.repeat(200000));
    const out = join(tmp.path, 'a.tgz');
    await captureFileSet({ root: src, out, codec: 'gzip' });
    execFileSync('gzip', ['-t', out]);
    // every member starts with the gzip magic and deflate method: 1f 8b 08
    const data = readFileSync(out);
    let members = 0;
    for (let i = data.indexOf(Buffer.from([0x1f, 0x8b, 0x08])); i >= 0; i = data.indexOf(Buffer.from([0x1f, 0x8b, 0x08]), i + 1)) members++;
    expect(members).toBeGreaterThanOrEqual(3);
    const plain = execFileSync('gzip', ['-dc', out], { maxBuffer: 64 << 20 });
    expect(plain.length % 512).toBe(0);
  });

  it('accepts a compiled exclude matcher and levels', async () => {
    const src = join(tmp.path, 'src');
    file(src, 'keep.txt');
    file(src, 'drop/x.txt');
    const out = join(tmp.path, 'a.tgz');
    const r = await captureFileSet({ root: src, excludes: compileExcludes(['drop']), out, codec: 'gzip', level: 1 });
    expect(tarList(out, 'gzip').sort()).toEqual(['./', './keep.txt']);
    expect(r.files).toBe(1);
    await expect(captureFileSet({ root: src, out, codec: 'gzip', level: 12 })).rejects.toMatchObject({ code: 'CAPTURE_LEVEL_INVALID' });
    await expect(captureFileSet({ root: src, out, codec: 'none', level: 3 })).rejects.toMatchObject({ code: 'CAPTURE_LEVEL_INVALID' });
  });

  it('stores the second name of a file as a hard link, as GNU tar does (issue 9.9)', async () => {
    const src = join(tmp.path, 'src');
    file(src, 'one', 'same inode\n');
    linkSync(join(src, 'one'), join(src, 'two'));
    file(src, 'sub/other', 'x');
    linkSync(join(src, 'one'), join(src, 'sub/three'));
    const out = join(tmp.path, 'a.tar');
    const r = await captureFileSet({ root: src, out, codec: 'none' });
    expect(r.files).toBe(4);
    expect(r.bytes).toBe('same inode\n'.length + 1);
    const listing = execFileSync('tar', ['-tvf', out], { encoding: 'utf8' });
    expect(listing).toMatch(/^h.* \.\/sub\/three link to \.\/one$/m);
    expect(listing).toMatch(/^h.* \.\/two link to \.\/one$/m);
    const dest = join(tmp.path, 'dest');
    mkdirSync(dest);
    extract(out, 'none', dest);
    expect(readFileSync(join(dest, 'two'), 'utf8')).toBe('same inode\n');
    expect(statSync(join(dest, 'two')).nlink).toBe(3);
    expect(statSync(join(dest, 'sub/three')).ino).toBe(statSync(join(dest, 'one')).ino);
  });

  it('skips sockets and FIFOs and reports them', async () => {
    const src = join(tmp.path, 'src');
    file(src, 'ok.txt');
    execFileSync('mkfifo', [join(src, 'pipe')]);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(src, 'sock'), resolve));
    try {
      const out = join(tmp.path, 'a.tar');
      const r = await captureFileSet({ root: src, out, codec: 'none' });
      expect(r.skipped).toEqual([
        { path: 'pipe', reason: 'fifo' },
        { path: 'sock', reason: 'socket' },
      ]);
      expect(tarList(out, 'none').sort()).toEqual(['./', './ok.txt']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('never reads the archive it is writing when out is inside the root', async () => {
    const src = join(tmp.path, 'src');
    file(src, 'a.txt');
    const out = join(src, 'self.tgz');
    writeFileSync(out, 'an older archive');
    const r = await captureFileSet({ root: src, out, codec: 'gzip' });
    expect(r.skipped).toEqual([{ path: 'self.tgz', reason: 'archive-output' }]);
    expect(tarList(out, 'gzip').sort()).toEqual(['./', './a.txt']);
  });

  it('follows a root that is a symlink, and refuses a root that is not a directory', async () => {
    const src = join(tmp.path, 'src');
    file(src, 'a.txt');
    symlinkSync(src, join(tmp.path, 'rootlink'));
    const out = join(tmp.path, 'a.tar');
    await captureFileSet({ root: join(tmp.path, 'rootlink'), out, codec: 'none' });
    expect(tarList(out, 'none')).toEqual(['./', './a.txt']);
    await expect(captureFileSet({ root: join(src, 'a.txt'), out, codec: 'none' })).rejects.toMatchObject({ code: 'CAPTURE_ROOT_INVALID' });
    await expect(captureFileSet({ root: join(tmp.path, 'missing'), out, codec: 'none' })).rejects.toMatchObject({ code: 'CAPTURE_ROOT_INVALID' });
  });

  it('names the zstd package when zstd is missing, before creating anything', async () => {
    const src = join(tmp.path, 'src');
    file(src, 'a.txt');
    const saved = process.env.PATH;
    process.env.PATH = join(tmp.path, 'no-bin');
    try {
      const err = await captureFileSet({ root: src, out: join(tmp.path, 'a.tzst'), codec: 'zstd' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).code).toBe('CAPTURE_ZSTD_MISSING');
      expect((err as UserError).hint).toContain('zstd');
    } finally {
      process.env.PATH = saved;
    }
    expect(readdirSync(tmp.path)).toEqual(['src']);
  });
});

describe('interrupted captures leave nothing behind', () => {
  /** A tree large enough for several blocks, with a small file after the big ones. */
  function bigTree(src: string): void {
    file(src, 'a-big-1.bin', randomBytes(3 * 1024 * 1024));
    file(src, 'a-big-2.bin', randomBytes(3 * 1024 * 1024));
    file(src, 'z-small.txt', 'last\n');
  }
  const leftovers = (): string[] => readdirSync(tmp.path).filter((n) => n !== 'src');

  for (const codec of ['gzip', 'zstd', 'none'] as CaptureCodec[]) {
    it(`${codec}: abort through the AbortSignal mid-way`, async () => {
      const src = join(tmp.path, 'src');
      bigTree(src);
      const ac = new AbortController();
      let calls = 0;
      const err = await captureFileSet({
        root: src,
        out: join(tmp.path, 'a.out'),
        codec,
        signal: ac.signal,
        onProgress: () => {
          if (++calls === 1) ac.abort(new Error('user pressed ^C'));
        },
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'CAPTURE_ABORTED' });
      expect(calls).toBe(1);
      expect(leftovers()).toEqual([]);
    });
  }

  it('an already aborted signal creates nothing', async () => {
    const src = join(tmp.path, 'src');
    bigTree(src);
    await expect(captureFileSet({ root: src, out: join(tmp.path, 'a.out'), codec: 'gzip', signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'CAPTURE_ABORTED',
    });
    expect(leftovers()).toEqual([]);
  });

  it('a file that vanishes during the capture fails it and keeps the previous archive at out', async () => {
    const src = join(tmp.path, 'src');
    bigTree(src);
    const out = join(tmp.path, 'a.tgz');
    writeFileSync(out, 'previous complete archive');
    const err = await captureFileSet({
      root: src,
      out,
      codec: 'gzip',
      // z-small.txt was listed with its directory before the first block was handed over
      onProgress: () => {
        if (existsSync(join(src, 'z-small.txt'))) unlinkSync(join(src, 'z-small.txt'));
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ code: 'CAPTURE_SOURCE_CHANGED', where: join(src, 'z-small.txt') });
    expect(readFileSync(out, 'utf8')).toBe('previous complete archive');
    expect(leftovers()).toEqual(['a.tgz']);
  });

  it('a file that shrinks during the capture fails it', async () => {
    const src = join(tmp.path, 'src');
    bigTree(src);
    const err = await captureFileSet({
      root: src,
      out: join(tmp.path, 'a.tar'),
      codec: 'none',
      // a-big-1.bin is being read when the first block is handed over
      onProgress: () => writeFileSync(join(src, 'a-big-1.bin'), 'short'),
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CAPTURE_SOURCE_CHANGED' });
    expect(leftovers()).toEqual([]);
  });

  it.skipIf(process.getuid?.() === 0)('an unreadable file fails the capture (not as root)', async () => {
    const src = join(tmp.path, 'src');
    bigTree(src);
    chmodSync(join(src, 'z-small.txt'), 0);
    const err = await captureFileSet({ root: src, out: join(tmp.path, 'a.tgz'), codec: 'gzip' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CAPTURE_UNREADABLE', where: join(src, 'z-small.txt') });
    expect(leftovers()).toEqual([]);
  });
});

describe('default secrets', () => {
  it('exposes the default list', () => {
    expect(DEFAULT_SECRET_PATHS).toEqual(expect.arrayContaining(['/etc/shadow', '/etc/gshadow', '/etc/ssh/ssh_host_*']));
    expect(Object.isFrozen(DEFAULT_SECRET_PATHS)).toBe(true);
  });

  it('skips /etc/shadow, /etc/gshadow and SSH host keys of the real /etc unless named explicitly', async () => {
    const keep = new Set(['passwd', 'shadow', 'gshadow', 'ssh']);
    // Everything else in /etc is excluded, so the capture stays small.
    const excludes = readdirSync('/etc').filter((n) => !keep.has(n));
    const out = join(tmp.path, 'etc.tar');
    const r = await captureFileSet({ root: '/etc', excludes, out, codec: 'none' });
    const names = tarList(out, 'none');
    expect(names).toContain('./passwd');
    expect(names).not.toContain('./shadow');
    expect(names).not.toContain('./gshadow');
    expect(names.filter((n) => n.startsWith('./ssh/ssh_host_'))).toEqual([]);
    const hostKeys = existsSync('/etc/ssh') ? readdirSync('/etc/ssh').filter((n) => n.startsWith('ssh_host_')) : [];
    const expectedSkips = [
      ...(existsSync('/etc/gshadow') ? ['gshadow'] : []),
      ...(existsSync('/etc/shadow') ? ['shadow'] : []),
      ...hostKeys.map((k) => `ssh/${k}`),
    ].sort();
    expect(r.skipped.map((s) => s.path).sort()).toEqual(expectedSkips);
    expect(r.skipped.every((s) => s.reason === 'secret')).toBe(true);

    if (existsSync('/etc/shadow')) {
      await captureFileSet({ root: '/etc', excludes, out, codec: 'none', allowSecrets: ['/etc/shadow'] });
      const again = tarList(out, 'none');
      expect(again).toContain('./shadow');
      expect(again).not.toContain('./gshadow');
    }
  });

  it('applies a replaced secret list to a tree of its own', async () => {
    const src = join(tmp.path, 'src');
    file(src, 'etc/ssh/ssh_host_ed25519_key', 'PRIVATE');
    file(src, 'etc/ssh/ssh_host_ed25519_key.pub', 'PUBLIC');
    file(src, 'etc/ssh/sshd_config', 'Port 22');
    file(src, 'etc/shadow', 'root:*:');
    const out = join(tmp.path, 'a.tar');
    const secretPaths = [join(src, 'etc/shadow'), join(src, 'etc/ssh/ssh_host_*')];
    const r = await captureFileSet({ root: src, out, codec: 'none', secretPaths, allowSecrets: [join(src, 'etc/ssh/ssh_host_ed25519_key.pub')] });
    expect(r.skipped).toEqual([
      { path: 'etc/shadow', reason: 'secret' },
      { path: 'etc/ssh/ssh_host_ed25519_key', reason: 'secret' },
    ]);
    expect(tarList(out, 'none').sort()).toEqual(['./', './etc/', './etc/ssh/', './etc/ssh/ssh_host_ed25519_key.pub', './etc/ssh/sshd_config']);
  });

  it('matches a secret path whose `*` stands for a directory', async () => {
    const src = join(tmp.path, 'src');
    file(src, 'home/bob/app/session.dat', 'TOKEN');
    file(src, 'home/ann/app/session.dat', 'TOKEN');
    file(src, 'home/ann/app/settings.dat', 'PLAIN');
    file(src, 'home/ann/notes/app/x/session.dat', 'deeper: `*` is one segment');
    const out = join(tmp.path, 'a.tar');
    const r = await captureFileSet({ root: src, out, codec: 'none', secretPaths: [join(src, 'home/*/app/session.dat')] });
    expect(r.skipped.map((s) => s.path).sort()).toEqual(['home/ann/app/session.dat', 'home/bob/app/session.dat']);
    expect(tarList(out, 'none')).toContain('./home/ann/app/settings.dat');
    expect(tarList(out, 'none')).toContain('./home/ann/notes/app/x/session.dat');
  });
});
