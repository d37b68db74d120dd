#!/usr/bin/env node
// File set extraction speed against GNU tar, in the same run.
// Usage: npm run build && node bench/extract.mjs
//   BENCH_FILES=N BENCH_MB=M  tree size (default ~20k files, ~220 MB; CI smoke: BENCH_FILES=500 BENCH_MB=5)
//   BENCH_SMALL_FILES=N       the many-small-files shape: N files of 1 KB (default 100000; 0 skips it)
//   BENCH_ROUNDS=R            rounds per tool, median reported (default 3)
// Two shapes: the capture bench's mix (many small text files in nested directories, a few large
// text files, incompressible binaries, symlinks, empty directories) and many small files (1 KB
// each, 100 per directory). Each is captured once with abctl's capture (gzip members, and zstd);
// then, interleaved, `tar -xzf` is timed against abctl's extractArchive of the same archive (and
// `tar -I zstd -xf` against ours for zstd), each into a fresh empty directory after a `sync`; the
// trees are checked identical, and the ratios printed.
// Target (issue 10): abctl extraction at most 1.1x the time of tar on the same archive.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng } from './random.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const { captureFileSet } = await import(join(repo, 'dist/services/archive/capture.js'));
const { extractArchive } = await import(join(repo, 'dist/services/archive/extract.js'));

const files = Number(process.env.BENCH_FILES ?? 20000);
const mb = Number(process.env.BENCH_MB ?? 220);
const smallFiles = Number(process.env.BENCH_SMALL_FILES ?? 100000);
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const cacheDir = join(repo, '.bench');


/** Text that compresses like configs and sources (~4x): random windows of a pool of lines. */
function textPool(rand, bytes) {
  const words = Array.from({ length: 400 }, () => Math.floor(rand() * 36 ** 6).toString(36));
  const lines = [];
  let len = 0;
  while (len < bytes) {
    const w = () => words[Math.floor(rand() * words.length)];
    const line = `${'  '.repeat(Math.floor(rand() * 4))}${w()}.${w()}=${w()} <${w()} ${w()}="${Math.floor(rand() * 9999)}"/> # ${w()} ${w()}`;
    lines.push(line);
    len += line.length + 1;
  }
  return Buffer.from(lines.join('\n'));
}

/** Writes files a few hundred at a time. */
function writer(root) {
  const pending = [];
  return {
    put: async (rel, data, mode) => {
      pending.push(writeFile(join(root, rel), data, { mode }));
      if (pending.length >= 256) await Promise.all(pending.splice(0));
    },
    done: () => Promise.all(pending.splice(0)),
  };
}

/** Many small files: `smallFiles` text files of 1 KB, 100 per directory, a tenth of them executable. */
async function buildSmallTree(root) {
  const rand = rng(smallFiles * 17 + 1);
  const pool = textPool(rand, 4 << 20);
  const { put, done } = writer(root);
  for (let i = 0; i < smallFiles; i++) {
    if (i % 100 === 0) await mkdir(join(root, `d${i / 100}`));
    const at = Math.floor(rand() * (pool.length - 1024));
    await put(`d${Math.floor(i / 100)}/f${i}.${i % 10 === 0 ? 'sh' : 'conf'}`, pool.subarray(at, at + 1024), i % 10 === 0 ? 0o755 : 0o644);
  }
  await done();
}

/** The capture bench's shape: ~55% small text, ~20% large text, ~20% binaries, symlinks, empty dirs. */
async function buildTree(root) {
  const rand = rng(files * 31 + mb);
  const pool = textPool(rand, 16 << 20);
  const total = mb << 20;
  const nBin = Math.max(2, Math.round(files * 0.002));
  const nBig = Math.max(2, Math.round(files * 0.003));
  const nSmall = Math.max(10, files - nBin - nBig);
  const avgSmall = Math.max(64, Math.floor((total * 0.6) / nSmall));
  const slice = (n) => {
    const at = Math.floor(rand() * Math.max(1, pool.length - n));
    return pool.subarray(at, at + n);
  };
  const dirs = [''];
  for (let i = 1; i < Math.max(3, Math.round(nSmall / 60)); i++) {
    const parent = dirs[Math.floor(rand() * dirs.length)];
    dirs.push(parent.split('/').length >= 5 || parent === '' ? `d${i}` : `${parent}/d${i}`);
  }
  for (const d of dirs) await mkdir(join(root, d), { recursive: true });
  const { put, done } = writer(root);
  for (let i = 0; i < nSmall; i++) {
    const d = dirs[i % dirs.length];
    await put(`${d ? `${d}/` : ''}f${i}.${i % 7 === 0 ? 'sh' : 'conf'}`, slice(Math.max(16, Math.floor(avgSmall * (0.1 + rand() * 1.8)))), i % 7 === 0 ? 0o755 : 0o644);
  }
  await mkdir(join(root, 'share/doc'), { recursive: true });
  for (let i = 0; i < nBig; i++) await put(`share/doc/manual${i}.txt`, slice(Math.floor(((total * 0.2) / nBig) * (0.5 + rand()))), 0o644);
  await mkdir(join(root, 'lib'), { recursive: true });
  for (let i = 0; i < nBin; i++) await put(`lib/blob${i}.jar`, randomBytes(Math.floor(((total * 0.2) / nBin) * (0.5 + rand()))), 0o644);
  await done();
  for (let i = 0; i < 20; i++) await mkdir(join(root, `empty/e${i}`), { recursive: true });
  for (let i = 0; i < 50; i++) {
    const d = dirs[(i * 7) % dirs.length];
    await symlink(i % 3 === 0 ? '/etc/hostname' : i % 3 === 1 ? 'does/not/exist' : `f${(i * 13) % nSmall}.conf`, join(root, d, `link${i}`));
  }
}

/** The tree of a shape, built once under .bench/ and reused (marked complete at the end). */
async function tree(name, build) {
  const root = join(cacheDir, name);
  try {
    await stat(join(root, '.complete'));
    return root;
  } catch {
    // build it
  }
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  await build(root);
  await writeFile(join(root, '.complete'), '');
  return root;
}

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Times tar against extractArchive on one tree's gzip and zstd archives; prints the figures. */
async function measure(label, root, work) {
  const gz = join(work, 'set.tgz');
  const zst = join(work, 'set.tzst');
  const cap = await captureFileSet({ root, out: gz, codec: 'gzip' });
  const capZ = await captureFileSet({ root, out: zst, codec: 'zstd' });
  const tools = {
    'tar -xzf': (into) => sh('tar', ['-xzf', gz, '-C', into]),
    'abctl gzip': (into) => extractArchive({ archive: gz, root: into }),
    'tar -I zstd -xf': (into) => sh('tar', ['-I', 'zstd', '-xf', zst, '-C', into]),
    'abctl zstd': (into) => extractArchive({ archive: zst, root: into }),
  };
  const samples = Object.fromEntries(Object.keys(tools).map((k) => [k, []]));
  let n = 0;
  // Rounds interleave the tools, so a burst of load elsewhere hits all of them alike, and
  // alternate which of each pair goes first. Each run starts after `sync` (not timed): every
  // run leaves its tree in dirty pages, and the kernel makes whoever writes next pay for
  // flushing them, which would otherwise bill one tool for the other's writes.
  const pairs = [['tar -xzf', 'abctl gzip'], ['tar -I zstd -xf', 'abctl zstd']];
  for (let r = 0; r < rounds; r++) {
    for (const pair of pairs) {
      const order = r % 2 === 0 ? pair : [...pair].reverse();
      const outs = {};
      for (const name of order) {
        const into = join(work, `out${n++}`);
        await mkdir(into);
        sh('sync', []);
        const t0 = performance.now();
        await tools[name](into);
        samples[name].push(performance.now() - t0);
        outs[name] = into;
      }
      // Same tree as tar's: every entry, content and symlink target.
      if (r === 0) sh('diff', ['-r', '--no-dereference', outs[pair[0]], outs[pair[1]]]);
      sh('rm', ['-rf', ...Object.values(outs)]);
    }
  }
  const t = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  console.log(`\n${label}: ${cap.files} files, ${(cap.bytes / 1e6).toFixed(0)} MB of content; gzip ${(cap.archiveBytes / 1e6).toFixed(1)} MB (capture's gzip members), zstd ${(capZ.archiveBytes / 1e6).toFixed(1)} MB`);
  console.log(`${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, median of ${rounds} round(s), warm cache`);
  for (const [k, v] of Object.entries(t)) console.log(`${k.padEnd(16)} ${(v / 1000).toFixed(2)} s`);
  console.log(`ratio abctl gzip / tar -xzf:        ${(t['abctl gzip'] / t['tar -xzf']).toFixed(2)}x (target <= 1.10x)`);
  console.log(`ratio abctl zstd / tar -I zstd -xf: ${(t['abctl zstd'] / t['tar -I zstd -xf']).toFixed(2)}x (target <= 1.10x)`);
}

await mkdir(cacheDir, { recursive: true });
const work = await mkdtemp(join(tmpdir(), 'abctl-bench-extract-'));
try {
  await measure('mixed tree', await tree(`extract-tree-${files}-${mb}`, buildTree), work);
  if (smallFiles > 0) await measure('many small files', await tree(`extract-small-${smallFiles}`, buildSmallTree), work);
} finally {
  await rm(work, { recursive: true, force: true });
}
