/**
 * Every way an entry could land outside the extraction root is refused, names the entry, and
 * leaves everything outside the root untouched. Archives are crafted with Python's tarfile.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.js';
import { extractArchive, INCOMPLETE_MARKER } from '../../services/archive/extract.js';
import { writeTar, type Member } from './extract-helpers.js';
import { tempDirEach } from '../support/each-test.js';

const tmp = tempDirEach('abctl-extract-escape-');
let outside: string;

beforeEach(() => {
  // A directory next to the root that an escaping entry would reach.
  outside = join(tmp.path, 'outside');
  mkdirSync(outside);
  writeFileSync(join(outside, 'victim'), 'original');
});

/** Extracts `members` into a fresh root and expects a refusal naming `entry`. */
async function refused(members: readonly Member[], entry: string, opts: { root?: string; format?: 'gnu' | 'pax' | 'ustar'; gzip?: boolean } = {}): Promise<UserError> {
  const archive = writeTar(join(tmp.path, `a${Math.random().toString(36).slice(2)}.tar`), members, opts);
  const root = opts.root ?? join(tmp.path, 'root');
  let caught: unknown;
  try {
    await extractArchive({ archive, root });
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected entry ${entry} to be refused`).toBeInstanceOf(UserError);
  const e = caught as UserError;
  expect(e.code).toBe('EXTRACT_ENTRY_REFUSED');
  expect(e.message).toContain(`"${entry}"`);
  expect(e.where).toBe(archive);
  // Nothing outside the root changed.
  expect(readdirSync(outside)).toEqual(['victim']);
  expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('original');
  expect(existsSync(join(tmp.path, 'evil'))).toBe(false);
  return e;
}

const file = (name: string, data = 'evil'): Member => ({ name, type: 'file', data });

describe('extraction refuses entries that would land outside the root', () => {
  it('".." components, plain and inside a path', async () => {
    expect((await refused([file('./ok'), file('../evil')], '../evil')).message).toContain('".." component');
    await refused([file('a/../../evil')], 'a/../../evil');
    await refused([{ name: 'd/..', type: 'dir' }, file('x')], 'd/../');
  });

  it('".." after a "./" prefix (names as capture writes them take a shorter path through the checks)', async () => {
    await refused([file('./../evil')], './../evil');
    await refused([{ name: './a', type: 'dir' }, file('./a/../../evil')], './a/../../evil');
    await refused([file('./a//../../evil')], './a//../../evil');
    await refused([{ name: './..', type: 'dir' }], './../');
    await refused([{ name: './a/', type: 'dir' }, { name: './a/..', type: 'symlink', target: 'x' }], './a/..');
    await refused([file('.//evil'), file('./ok/../../evil')], './ok/../../evil');
    await refused([{ name: './h', type: 'hardlink', target: './../outside/victim' }], './h');
  });

  it('absolute names', async () => {
    const e = await refused([file(`${tmp.path}/evil`)], `${tmp.path}/evil`);
    expect(e.message).toContain('absolute');
    await refused([{ name: '/', type: 'dir' }], '/');
  });

  it('long names in PAX records and GNU long-name entries are judged the same', async () => {
    const long = `${'d'.repeat(120)}/../../evil`;
    await refused([file(long)], long, { format: 'pax' });
    await refused([file(long)], long, { format: 'gnu' });
  });

  it('writing through a symlink made by an earlier entry', async () => {
    const e = await refused([{ name: 'link', type: 'symlink', target: outside }, file('link/victim')], 'link/victim');
    expect(e.message).toContain('symlink "link" (made by an earlier entry of this archive)');
    await refused([{ name: 'up', type: 'symlink', target: '..' }, file('up/evil')], 'up/evil');
    await refused([{ name: 'a', type: 'dir' }, { name: 'a/b', type: 'symlink', target: '../..' }, file('a/b/evil')], 'a/b/evil');
    // Through a symlink to a directory inside the root: refused too (the rule does not depend on the target).
    await refused([{ name: 'in', type: 'dir' }, { name: 'alias', type: 'symlink', target: 'in' }, file('alias/x')], 'alias/x');
  });

  it('writing through a symlink that is already in the target', async () => {
    const root = join(tmp.path, 'pre');
    mkdirSync(root);
    symlinkSync(outside, join(root, 'conf'));
    const e = await refused([{ name: 'conf', type: 'dir' }, file('conf/victim')], 'conf', { root });
    expect(e.message).toContain('"conf" is a symlink (already in the target)');
    const e2 = await refused([file('conf/victim')], 'conf/victim', { root });
    expect(e2.message).toContain('symlink "conf" (already in the target)');
  });

  it('a directory entry where an earlier entry made a symlink', async () => {
    const e = await refused([{ name: 'link', type: 'symlink', target: outside }, { name: 'link/', type: 'dir', mode: 0o777 }], 'link/');
    expect(e.message).toContain('is a symlink');
    expect(lstatSync(outside).mode & 0o777).not.toBe(0o777);
  });

  it('hard links to outside, to absolute paths, or to files this archive did not extract first', async () => {
    expect((await refused([{ name: 'h', type: 'hardlink', target: '../outside/victim' }], 'h')).message).toContain('".." component');
    expect((await refused([{ name: 'h', type: 'hardlink', target: join(outside, 'victim') }], 'h')).message).toContain('absolute');
    const e = await refused([{ name: 'h', type: 'hardlink', target: 'later' }, file('later')], 'h');
    expect(e.message).toContain('did not extract before it');
    // A file that was in the target before is not the archive's to link to.
    const root = join(tmp.path, 'pre2');
    mkdirSync(root);
    writeFileSync(join(root, 'existing'), 'x');
    await refused([{ name: 'h', type: 'hardlink', target: 'existing' }], 'h', { root });
    // Nor is a path reached through a symlink.
    await refused([{ name: 'l', type: 'symlink', target: outside }, { name: 'h', type: 'hardlink', target: 'l/victim' }], 'h');
  });

  it('device nodes unless allowed', async () => {
    const e = await refused([{ name: 'null', type: 'chardev', devmajor: 1, devminor: 3 }], 'null');
    expect(e.message).toContain('character device');
    expect(e.hint).toContain('allowDevices');
    await refused([{ name: 'sda', type: 'blockdev', devmajor: 8, devminor: 0 }], 'sda');
  });

  it('also inside gzip archives, and the refused extraction removes the root it created', async () => {
    await refused([file('fine'), file('../evil')], '../evil', { gzip: true });
    expect(existsSync(join(tmp.path, 'root'))).toBe(false);
  });

  it('a refusal in a root that existed leaves the incomplete marker', async () => {
    const root = join(tmp.path, 'existing-root');
    mkdirSync(root);
    await refused([file('fine'), file('../evil')], '../evil', { root });
    expect(readFileSync(join(root, 'fine'), 'utf8')).toBe('evil');
    expect(existsSync(join(root, INCOMPLETE_MARKER))).toBe(true);
  });
});

describe('extraction replaces, never writes through, what is at an entry path', () => {
  it('a file entry over a symlink replaces the symlink; the symlink target is untouched', async () => {
    const archive = writeTar(join(tmp.path, 'a.tar'), [{ name: 'f', type: 'symlink', target: join(outside, 'victim') }, file('f', 'new')]);
    await extractArchive({ archive, root: join(tmp.path, 'root') });
    expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('original');
    expect(lstatSync(join(tmp.path, 'root', 'f')).isFile()).toBe(true);
    expect(readFileSync(join(tmp.path, 'root', 'f'), 'utf8')).toBe('new');
  });

  it('a pre-existing symlink or hard link at a file path is replaced, not followed', async () => {
    const root = join(tmp.path, 'pre');
    mkdirSync(root);
    symlinkSync(join(outside, 'victim'), join(root, 'a'));
    const { linkSync } = await import('node:fs');
    linkSync(join(outside, 'victim'), join(root, 'b'));
    const archive = writeTar(join(tmp.path, 'a.tar'), [file('a', 'A'), file('b', 'B'), { name: 'c', type: 'symlink', target: 'x' }]);
    await extractArchive({ archive, root });
    expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('original');
    expect(readFileSync(join(root, 'a'), 'utf8')).toBe('A');
    expect(readFileSync(join(root, 'b'), 'utf8')).toBe('B');
    expect(existsSync(join(root, INCOMPLETE_MARKER))).toBe(false);
  });

  it('a symlink over an empty directory replaces it; over a directory with content it is refused', async () => {
    const archive = writeTar(join(tmp.path, 'a.tar'), [{ name: 'e', type: 'dir' }, { name: 'e', type: 'symlink', target: 'x' }]);
    await extractArchive({ archive, root: join(tmp.path, 'r1') });
    expect(lstatSync(join(tmp.path, 'r1', 'e')).isSymbolicLink()).toBe(true);
    await refused([{ name: 'd', type: 'dir' }, file('d/f'), { name: 'd', type: 'symlink', target: outside }, file('d/g')], 'd');
  });
});
