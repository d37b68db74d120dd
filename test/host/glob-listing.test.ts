/**
 * The in-memory listing remote globbing walks: parsed from `find` output, including the
 * directories find could not read, which must fail the glob as they would locally.
 */
import { describe, expect, it } from 'vitest';
import { AbError } from '../../core/errors.js';
import { findArgv, listingDepth, listingFs, parseListing, runGlob } from '../../services/host/glob.js';

const rec = (y: string, Y: string, p: string) => `${y}${Y}${p}\0`;

describe('remote glob listing', () => {
  const stdout = Buffer.from(
    [rec('d', 'd', 'a'), rec('f', 'f', 'a/x.txt'), rec('l', 'f', 'a/link.txt'), rec('l', 'N', 'a/broken'), rec('d', 'd', 'secret'), rec('f', 'f', 'top.txt')].join(''),
  );

  it('globs the listing with fast-glob', async () => {
    const listing = parseListing('/r', stdout, '', 'h');
    const types = async (p: string) => listing.entries.get(p)?.targetType;
    expect(await runGlob('h', ['**/*.txt'], { cwd: '/r' }, '/r', types, listingFs(listing))).toEqual(['a/link.txt', 'a/x.txt', 'top.txt']);
    expect(await runGlob('h', ['a/*'], { cwd: '/r', type: 'any' }, '/r', types, listingFs(listing))).toEqual(['a/broken', 'a/link.txt', 'a/x.txt']);
  });

  it('fails on an unreadable directory only when the glob needs to enter it', async () => {
    const listing = parseListing('/r', stdout, "find: './secret': Permission denied\n", 'h');
    const types = async (p: string) => listing.entries.get(p)?.targetType;
    expect(await runGlob('h', ['a/*.txt'], { cwd: '/r' }, '/r', types, listingFs(listing))).toEqual(['a/link.txt', 'a/x.txt']);
    const err = await runGlob('h', ['**/*.txt'], { cwd: '/r' }, '/r', types, listingFs(listing)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbError);
    expect((err as AbError).code).toBe('HOST_PERMISSION_DENIED');
    expect((err as AbError).message).toContain('/r/secret');
  });

  it("reads find's denial in a UTF-8 locale, where it quotes with ‘ and ’", () => {
    const listing = parseListing('/r', stdout, 'find: \u2018./secret\u2019: Permission denied\n', 'h');
    expect([...listing.denied]).toEqual(['/r/secret']);
  });

  it('refuses find output it does not understand', () => {
    expect(() => parseListing('/r', stdout, 'find: unknown predicate `-printf`\n', 'h')).toThrow(/GNU find|listing/);
  });

  it("ignores what the remote shell's startup files print beside find", async () => {
    const listing = parseListing('/r', stdout, "pyenv: cannot rehash: /root/.pyenv/shims isn't writable\n", 'h');
    expect(listing.entries.size).toBeGreaterThan(0);
    expect(() => parseListing('/r', stdout, "pyenv: busy\nfind: unknown predicate `-printf`\n", 'h')).toThrow(/GNU find|listing/);
  });

  it('lists only as deep as the patterns can reach', () => {
    expect(listingDepth(['conf/*.xml'])).toBe(2);
    expect(listingDepth(['*', './a/b/c', '!x/y/z/w'])).toBe(3);
    expect(listingDepth(['conf/**/*.xml'])).toBeUndefined();
    expect(listingDepth(['{a,b/c}/*'])).toBeUndefined();
    expect(findArgv(2)).toContain('-maxdepth');
    expect(findArgv(undefined)).not.toContain('-maxdepth');
  });
});
