/**
 * The translation of file set excludes to GNU tar arguments (used for remote captures):
 * unit checks of the arguments, then the real tar run with them against the local walker on
 * one tree, for many pattern forms; both must keep exactly the same entries.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureFileSet } from '../../services/archive/capture.js';
import { literalExcludeArgs, planTarExcludes, resolveTarExcludes, tarPatternsFor } from '../../services/archive/tar-excludes.js';
import { tarArgs } from '../../services/host/common.js';
import { LocalHost } from '../../services/host/local-host.js';
import { tempDir } from '../helpers/plugins.js';

describe('tarPatternsFor', () => {
  it('anchors plain forms with * not crossing /', () => {
    expect(tarPatternsFor('foo')).toEqual({ matchSlash: false, patterns: ['foo'] });
    expect(tarPatternsFor('bar/*')).toEqual({ matchSlash: false, patterns: ['bar/*'] });
    expect(tarPatternsFor('logs/*.log')).toEqual({ matchSlash: false, patterns: ['logs/*.log'] });
    expect(tarPatternsFor('./a/b/c/')).toEqual({ matchSlash: false, patterns: ['a/b/c'] });
  });

  it('expands each ** into "nothing" or a * that crosses /', () => {
    expect(tarPatternsFor('a/**')).toEqual({ matchSlash: true, patterns: ['a', 'a/*'] });
    expect(tarPatternsFor('**/cache')).toEqual({ matchSlash: true, patterns: ['cache', '*/cache'] });
    expect(tarPatternsFor('a/**/b')).toEqual({ matchSlash: true, patterns: ['a/b', 'a/*/b'] });
    // `**/*suffix` at the end is one crossing `*`.
    expect(tarPatternsFor('**/*.log')).toEqual({ matchSlash: true, patterns: ['*.log'] });
    expect(tarPatternsFor('nest/**/*.tmp')).toEqual({ matchSlash: true, patterns: ['nest/*.tmp'] });
    expect(tarPatternsFor('**')).toEqual({ matchSlash: true, patterns: ['*'] });
  });

  it('leaves to a listing what tar cannot say exactly', () => {
    for (const p of ['**/logs/*.log', 'a**b', 'q?', 'c[!1]', 'br{a,b}', '(p)', 'at@(x)', 'bs\\x', '**/*a*b', '**/a/**/b/**/c/**']) {
      expect(tarPatternsFor(p), p).toBeUndefined();
    }
  });

  it('plans the default secrets under the root unless named, and literal names last', () => {
    const plan = planTarExcludes('/etc', ['foo', 'q?']);
    expect(plan.needsListing).toEqual(['q?']);
    expect(plan.args).toEqual(expect.arrayContaining(['--exclude=./foo', '--exclude=./shadow', '--exclude=./ssh/ssh_host_*']));
    expect(planTarExcludes('/etc', [], ['/etc/shadow']).args).not.toContain('--exclude=./shadow');
    expect(planTarExcludes('/opt/app', ['foo']).args).toEqual(['--anchored', '--wildcards', '--no-wildcards-match-slash', '--exclude=./foo']);
    expect(literalExcludeArgs(['a*b', 'x'])).toEqual(['--no-wildcards', '--exclude=./a*b', '--exclude=./x']);
    expect(literalExcludeArgs([])).toEqual([]);
  });
});

describe('tar with these arguments keeps what the local walker keeps', () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  let root: string;
  const host = new LocalHost();

  beforeAll(async () => {
    tmp = await tempDir('abctl-tarx-');
    root = join(tmp.path, 'tree');
    const files = [
      'foo/a', 'foo/sub/b', 'bar/x', 'bar/sub/y', 'bar/.h', 'logs/a.log', 'logs/b.txt', 'logs/sub/c.log', 'logs/x.log.1',
      'a/b', 'a/xb', 'a/x/b', 'a/x/y/b', 'x.log', 'd/x.log', 'abcx.log', 'n/logs/z.log', 'n/logs/deep/z.log',
      '(p)/q', 'p/q', 'name with space/f', 'br{a,b}/f', 'bra/f', 'brb/f', '.hidden/f', 'star*/f', 'q?/f', 'qq/f',
      'c1/f', 'c2/f', 'cx/f', 'bs\\x/f', 'atx/f', 'at@(x)/f', 'café/f', 'cafe/f', 'nest/one/two/three.tmp', 'nest/one/keep.txt',
    ];
    for (const f of files) {
      await mkdir(join(root, f, '..'), { recursive: true });
      await writeFile(join(root, f), f);
    }
    await mkdir(join(root, 'empty'));
    await symlink('a', join(root, 'link-to-a'));
  });
  afterAll(() => tmp.cleanup());

  const list = (archive: string): string[] =>
    execFileSync('tar', ['-tf', archive], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((s) => s.replace(/\/$/, ''))
      .sort();

  const patterns = [
    'foo', 'bar/*', 'logs/*.log', 'a/**', '**/x.log', 'a/**/b', '**/logs/*.log', '**/*.log', '(p)', 'br{a,b}', '.hidden',
    'star\\*', 'q?', 'c[12]', 'c[!1]', 'bs\\\\x', 'at@(x)', 'caf?', 'nest/one/two', 'nest/**/*.tmp', '*.log', 'logs/*', '**', 'a/*/b',
    'link-to-a', 'empty',
  ];
  for (const pattern of patterns) {
    it(`exclude ${JSON.stringify(pattern)}`, async () => {
      const local = join(tmp.path, 'local.tar');
      await captureFileSet({ root, excludes: [pattern], out: local, codec: 'none' });
      const args = tarArgs(root, await resolveTarExcludes(host, root, [pattern]), ['.']);
      const remote = join(tmp.path, 'tar.tar');
      await writeFile(remote, execFileSync(args[0]!, args.slice(1), { maxBuffer: 64 << 20, env: { ...process.env, LC_ALL: 'C' } }));
      expect(list(remote)).toEqual(list(local));
    });
  }
});
