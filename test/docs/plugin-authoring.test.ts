/**
 * Runs docs/plugin-authoring.md as a reader would, top to bottom, in an empty directory:
 *  - a block tagged `<!-- run -->` is a shell script, run with bash (`set -e`) where `abctl` is the
 *    built CLI, the instance is private to this test, and stderr goes with stdout;
 *  - a block tagged `<!-- file: PATH -->` is written to PATH first (the next run block uses it);
 *  - a block tagged `<!-- expect -->` lists lines the run block before it must print (stdout and
 *    stderr together), each as a substring, in order;
 *  - any other code block fails the test: the page has no example that is not run.
 * Uses dist/: `npm run build` first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../services/instance.js';
import { tempDir } from '../helpers/plugins.js';

const DOC = join(projectRoot(), 'docs', 'plugin-authoring.md');

interface Block {
  readonly line: number;
  readonly lang: string;
  readonly text: string;
  readonly tag: { kind: 'run' } | { kind: 'expect' } | { kind: 'file'; path: string } | undefined;
}

/** Fenced blocks, each with the `<!-- ... -->` tag on the line before its fence (if any). */
function blocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    const prev = lines[start - 1] ?? '';
    const file = /^<!-- file: (\S+) -->$/.exec(prev);
    const tag = prev === '<!-- run -->' ? { kind: 'run' as const } : prev === '<!-- expect -->' ? { kind: 'expect' as const } : file ? { kind: 'file' as const, path: file[1]! } : undefined;
    out.push({ line: start + 1, lang: open[1] ?? '', text: `${body.join('\n')}\n`, tag });
  }
  return out;
}

let tmp: { path: string; cleanup: () => Promise<void> };
let work: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  if (!existsSync(join(projectRoot(), 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  tmp = await tempDir('abctl-authoring-doc-');
  work = join(tmp.path, 'work');
  await mkdir(work);
  // `abctl` on PATH, as an installed abctl would be.
  const shims = join(tmp.path, 'bin');
  await mkdir(shims);
  await writeFile(join(shims, 'abctl'), `#!/bin/sh\nexec "${process.execPath}" "${join(projectRoot(), 'bin', 'abctl')}" "$@"\n`);
  await chmod(join(shims, 'abctl'), 0o755);
  env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AB_')) env[k] = v;
  Object.assign(env, {
    PATH: `${shims}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    AB_INSTANCE: join(tmp.path, 'instance'),
    // Only the plugins the guide installs.
    AB_BUNDLED_PLUGINS: join(tmp.path, 'no-bundled-plugins'),
    ABCTL_HOME: projectRoot(),
  });
});
afterAll(async () => tmp?.cleanup());

describe('docs/plugin-authoring.md', () => {
  const all = blocks(readFileSync(DOC, 'utf8'));

  it('has no code block that is not run, written or checked', () => {
    const loose = all.filter((b) => b.tag === undefined && b.lang !== 'text').map((b) => `line ${b.line} (${b.lang || 'no language'})`);
    expect(loose).toEqual([]);
    expect(all.filter((b) => b.tag?.kind === 'run').length).toBeGreaterThan(5);
  });

  it('runs every example in order, and each prints what the page says', async () => {
    let last: { block: Block; output: string } | undefined;
    for (const block of all) {
      if (block.tag?.kind === 'file') {
        const file = join(work, block.tag.path);
        await mkdir(dirname(file), { recursive: true });
        await writeFile(file, block.text);
      } else if (block.tag?.kind === 'run') {
        const r = spawnSync('bash', ['-e', '-c', `exec 2>&1\n${block.text}`], { cwd: work, env, encoding: 'utf8', timeout: 180_000 });
        const output = `${r.stdout}${r.stderr}`;
        expect(r.status, `block at line ${block.line} failed:\n${block.text}\n${output}`).toBe(0);
        last = { block, output };
      } else if (block.tag?.kind === 'expect') {
        expect(last, `expect block at line ${block.line} follows no run block`).toBeDefined();
        let from = 0;
        for (const want of block.text.split('\n').filter((l) => l.trim() !== '')) {
          const at = last!.output.indexOf(want, from);
          expect(at, `line ${block.line}: "${want}" not printed (in order) by the block at line ${last!.block.line}:\n${last!.output}`).toBeGreaterThanOrEqual(0);
          from = at + want.length;
        }
      }
    }
  }, 600_000);
});
