// The read-ahead threads of a local capture (services/archive/capture-reader.ts): on a tree big
// enough to start them, the archive must be byte for byte the one the one-thread path writes,
// with every rule that depends on order or content (hard links, secrets, skipped entries).
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureFileSet } from '../../services/archive/capture.js';
import { BATCH, ReadAhead, type ReadRequest } from '../../services/archive/capture-reader.js';
import { tarList } from './helpers.js';
import { tempDirEach } from '../support/each-test.js';

const tmp = tempDirEach('abctl-capture-');

const PEM = '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n';

/** Several batches of entries, with the special cases spread over them. */
function buildTree(root: string): void {
  for (let d = 0; d < 8; d++) {
    mkdirSync(join(root, `d${d}/sub`), { recursive: true });
    for (let f = 0; f < 90; f++) writeFileSync(join(root, `d${d}/f${f}.conf`), `key${f}=value ${d}\n`.repeat(f % 7));
    writeFileSync(join(root, `d${d}/sub/deep.txt`), 'deep\n');
  }
  // hard links across batches: the first name in archive order is the file
  linkSync(join(root, 'd7/f3.conf'), join(root, 'd0/a-link'));
  linkSync(join(root, 'd7/f3.conf'), join(root, 'd5/z-link'));
  // secrets by content and by name, late in the walk
  writeFileSync(join(root, 'd6/key.pem.txt'), PEM);
  linkSync(join(root, 'd6/key.pem.txt'), join(root, 'd7/key-again'));
  writeFileSync(join(root, 'd6/id_rsa'), 'not read\n');
  symlinkSync('../d1/f1.conf', join(root, 'd4/rel-link'));
  symlinkSync('/nowhere', join(root, 'd4/dangling'));
  execFileSync('mkfifo', [join(root, 'd3/pipe')]);
  writeFileSync(Buffer.concat([Buffer.from(join(root, 'd2/bad-')), Buffer.from([0xff, 0xfe])]), 'x');
  // larger than a small file, and sparse: read on the main thread
  writeFileSync(join(root, 'd2/big.bin'), randomBytes(300 * 1024));
  writeFileSync(join(root, 'd2/sparse.img'), 'head');
  truncateSync(join(root, 'd2/sparse.img'), 8 * 1024 * 1024);
  mkdirSync(join(root, 'cache/x'), { recursive: true });
  writeFileSync(join(root, 'cache/x/dropped'), 'x');
}

describe('capture read-ahead threads', () => {
  it('write the same archive and report the same as the one-thread path', async () => {
    const src = join(tmp.path, 'src');
    buildTree(src);
    const opts = { root: src, excludes: ['cache'], codec: 'none' as const };
    const one = await captureFileSet({ ...opts, out: join(tmp.path, 'one.tar'), readers: 0 });
    const out = join(tmp.path, 'threads.tar');
    const threads = await captureFileSet({ ...opts, out, readers: 2 });
    expect(readFileSync(out).equals(readFileSync(join(tmp.path, 'one.tar')))).toBe(true);
    expect({ ...threads, out: '' }).toEqual({ ...one, out: '' });
    expect(one.skipped).toEqual([
      { path: 'd2/bad-\uFFFD\uFFFD', reason: 'name-not-utf8' },
      { path: 'd3/pipe', reason: 'fifo' },
      { path: 'd6/id_rsa', reason: 'secret' },
      { path: 'd6/key.pem.txt', reason: 'secret' },
      { path: 'd7/key-again', reason: 'secret' },
    ]);
    expect(one.files).toBe(8 * 91 + 2 + 2);
    const listing = execFileSync('tar', ['-tvf', out], { encoding: 'utf8' });
    expect(listing).toMatch(/^h.* \.\/d5\/z-link link to \.\/d0\/a-link$/m);
    expect(listing).toMatch(/^h.* \.\/d7\/f3\.conf link to \.\/d0\/a-link$/m);
    expect(execFileSync('tar', ['-tvf', out, './d2/sparse.img'], { encoding: 'utf8' })).toMatch(/ 8388608 /);
    expect(tarList(out, 'none')).not.toContain('./cache/');
  });

  it('hand back every entry in order, with its stat, small content, link target or error', async () => {
    const files = join(tmp.path, 'files');
    mkdirSync(files);
    const requests: ReadRequest[] = [];
    for (let i = 0; i < BATCH * 2 + 10; i++) {
      const abs = join(files, `f${i}`);
      if (i === 300) symlinkSync('target', abs);
      else if (i !== 400) writeFileSync(abs, `n${i}`);
      // Every third one named a regular file by its walk: opened before it is stat'ed.
      requests.push({ parent: `${files}/`, name: `f${i}`, content: i !== 5, file: i % 3 === 0 });
    }
    let at = 0;
    const ahead = new ReadAhead(() => requests[at++], { readers: 2, openFlags: 0, sniff: 64 * 1024 });
    try {
      for (let i = 0; i < requests.length; i++) {
        const next = await ahead.next();
        expect(next?.[0]).toBe(requests[i]);
        const got = next![1];
        if (i === 300) expect(got.link).toBe('target');
        else if (i === 400) expect(got).toMatchObject({ stat: undefined, error: { code: 'ENOENT' } });
        else if (i === 5) expect(got.content).toBeUndefined();
        else expect(got.content?.toString()).toBe(`n${i}`);
      }
      expect(await ahead.next()).toBeUndefined();
    } finally {
      ahead.close();
    }
  });
});
