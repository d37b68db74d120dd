import { describe, it, expect } from 'vitest';
import { compileExcludes, isExcluded, checkExcludePattern } from '../../core/metadata/index.js';
import { UserError } from '../../core/errors.js';

describe('exclude semantics', () => {
  it('`foo` drops the directory foo and everything under it', () => {
    const m = compileExcludes(['foo']);
    expect(m.excludes('foo')).toBe(true);
    expect(m.excludes('foo/a.txt')).toBe(true);
    expect(m.excludes('foo/deep/er/file')).toBe(true);
    expect(m.excludes('food')).toBe(false);
    expect(m.excludes('other/foo')).toBe(false); // relative to the root, not anywhere
  });

  it('`bar/*` drops files and subdirectories under bar but keeps bar itself', () => {
    const m = compileExcludes(['bar/*']);
    expect(m.excludes('bar')).toBe(false);
    expect(m.excludes('bar/a.txt')).toBe(true);
    expect(m.excludes('bar/sub')).toBe(true);
    expect(m.excludes('bar/sub/deep/x')).toBe(true);
    expect(m.excludes('bar/.hidden')).toBe(true);
  });

  it('`logs/*.log` drops matching files only; the directory and other files stay', () => {
    const m = compileExcludes(['logs/*.log']);
    expect(m.excludes('logs')).toBe(false);
    expect(m.excludes('logs/server.log')).toBe(true);
    expect(m.excludes('logs/server.txt')).toBe(false);
    expect(m.excludes('logs/archive/old.log')).toBe(false); // * does not cross /
  });

  it('nested patterns apply at their depth; ** reaches any depth', () => {
    const m = compileExcludes(['a/b/cache', 'x/**/*.tmp']);
    expect(m.excludes('a/b/cache')).toBe(true);
    expect(m.excludes('a/b/cache/1/2')).toBe(true);
    expect(m.excludes('a/b')).toBe(false);
    expect(m.excludes('a/cache')).toBe(false);
    expect(m.excludes('x/1.tmp')).toBe(true);
    expect(m.excludes('x/y/z/2.tmp')).toBe(true);
    expect(m.excludes('x/y/z')).toBe(false);
  });

  it('a leading ! is literal, not a negation', () => {
    const m = compileExcludes(['!keep']);
    expect(m.excludes('!keep')).toBe(true);
    expect(m.excludes('anything')).toBe(false);
  });

  it('match names the pattern; dropsEntry ignores ancestors', () => {
    const m = compileExcludes(['foo', 'logs/*.log']);
    expect(m.match('foo/x')).toBe('foo');
    expect(m.match('logs/a.log')).toBe('logs/*.log');
    expect(m.match('keep')).toBeUndefined();
    expect(m.dropsEntry('foo/x')).toBe(false);
    expect(m.dropsEntry('foo')).toBe(true);
  });

  it('trailing slash and ./ prefix are tolerated', () => {
    expect(compileExcludes(['foo/']).patterns).toEqual(['foo']);
    expect(isExcluded('./foo/a', ['foo'])).toBe(true);
  });

  it('no excludes drop nothing', () => {
    expect(isExcluded('a/b', [])).toBe(false);
  });

  it.each(['/abs', '../up', 'a/../b', '', 'a//b', './a'])('refuses exclude %j', (p) => {
    expect(() => checkExcludePattern(p)).toThrow(UserError);
    try {
      checkExcludePattern(p);
    } catch (e) {
      expect((e as UserError).code).toBe('PATH_INVALID');
    }
  });

  it('handles 20,000 paths quickly with one compiled matcher', () => {
    const m = compileExcludes(['foo', 'bar/*', 'logs/*.log', '**/*.tmp']);
    const paths: string[] = [];
    for (let d = 0; d < 200; d++) for (let f = 0; f < 100; f++) paths.push(`dir${d}/sub${d % 7}/file${f}.${f % 3 ? 'txt' : 'tmp'}`);
    const t0 = performance.now();
    const dropped = paths.filter((p) => m.excludes(p)).length;
    const ms = performance.now() - t0;
    expect(dropped).toBe(200 * 34);
    expect(ms).toBeLessThan(1000);
  });
});
