// The capture bench's synthetic product tree, shared by the benches that start from it (capture, image).
import { mkdir, rm, symlink, writeFile, stat, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { rng } from './random.mjs';

// ---- synthetic tree ----
// The mix mimics an installed product: many small text-like files (configs, sources, scripts)
// in nested directories, some larger text files, some incompressible binaries (jars, images),
// symlinks (relative, absolute, dangling), empty directories, and parts the excludes drop:
// logs/*.log (files only), cache (whole directory), tmp/* (contents; tmp stays).


/** A pool of code/config-like text; files are random windows of it (compresses ~3-5x, like real text). */
export function textPool(rand, bytes) {
  const syll = ['con', 'fig', 'ser', 'ver', 'data', 'base', 'port', 'host', 'name', 'user', 'path', 'log', 'level', 'id',
    'max', 'min', 'time', 'out', 'pool', 'size', 'cache', 'app', 'web', 'http', 'ssl', 'key', 'val', 'list', 'map', 'set'];
  const words = [];
  for (let i = 0; i < 400; i++) {
    let w = '';
    const n = 1 + Math.floor(rand() * 3);
    for (let j = 0; j < n; j++) w += syll[Math.floor(rand() * syll.length)];
    words.push(w);
  }
  const parts = [];
  let len = 0;
  while (len < bytes) {
    const indent = '  '.repeat(Math.floor(rand() * 4));
    const kind = rand();
    let line;
    const w = () => words[Math.floor(rand() * words.length)];
    if (kind < 0.3) line = `${indent}${w()}.${w()}=${w()}_${Math.floor(rand() * 100)}`;
    else if (kind < 0.6) line = `${indent}if (${w()} != null && ${w()}.${w()}(${Math.floor(rand() * 1000)})) { ${w()}(); }`;
    else if (kind < 0.8) line = `${indent}<${w()} ${w()}="${w()}" ${w()}="${Math.floor(rand() * 64) * 1024}"/>`;
    else line = `${indent}# ${w()} ${w()} ${w()} ${w()} ${w()} ${Math.floor(rand() * 4096).toString(16)}`;
    parts.push(line);
    len += line.length + 1;
  }
  return Buffer.from(parts.join('\n'));
}

/**
 * Builds (or reuses) the tree and returns { root, excludes, tarExcludes, files, bytes }.
 * `files` is the approximate number of regular files, `mb` the approximate total size.
 */
export async function benchTree(cacheDir, files = 20000, mb = 220) {
  const root = join(cacheDir, `capture-tree-${files}-${mb}`);
  const excludes = ['logs/*.log', 'cache', 'tmp/*'];
  // GNU tar names entries ./x when run as `tar -C root .`; anchored patterns give the same drops.
  const tarExcludes = ['./logs/*.log', './cache', './tmp/*'];
  const result = { root, excludes, tarExcludes };
  try {
    const info = JSON.parse(await readFile(join(cacheDir, `capture-tree-${files}-${mb}.json`), 'utf8'));
    await stat(root);
    return { ...result, ...info };
  } catch {
    // not built yet
  }
  await rm(root, { recursive: true, force: true });
  const rand = rng(files * 7919 + mb);
  const pool = textPool(rand, 16 * 1024 * 1024);
  const total = mb * 1024 * 1024;
  // Budget: ~55% small text files, ~20% large text, ~20% random binaries, ~5% logs (excluded).
  const nLogs = Math.max(4, Math.round(files * 0.01));
  const nBin = Math.max(2, Math.round(files * 0.002));
  const nBigText = Math.max(2, Math.round(files * 0.003));
  const nSmall = Math.max(10, files - nLogs - nBin - nBigText - Math.round(files * 0.02));
  const nCacheTmp = files - nLogs - nBin - nBigText - nSmall;
  const avgSmall = Math.max(64, Math.floor((total * 0.55) / nSmall));
  const avgBigText = Math.floor((total * 0.2) / nBigText);
  const avgBin = Math.floor((total * 0.2) / nBin);
  const avgLog = Math.floor((total * 0.05) / nLogs);

  const dirs = [''];
  const made = new Set();
  async function ensureDir(rel) {
    if (made.has(rel)) return;
    made.add(rel);
    await mkdir(join(root, rel), { recursive: true });
  }
  // Nested directories: depth 1-5, ~60 files per directory.
  const nDirs = Math.max(3, Math.round(nSmall / 60));
  for (let i = 1; i < nDirs; i++) {
    const parent = dirs[Math.floor(rand() * dirs.length)];
    const depth = parent === '' ? 0 : parent.split('/').length;
    const base = depth >= 5 ? dirs[Math.floor(rand() * Math.min(dirs.length, 10))] : parent;
    dirs.push(base === '' ? `d${i}` : `${base}/d${i}`);
  }
  const slice = (n) => {
    const start = Math.floor(rand() * Math.max(1, pool.length - n));
    return pool.subarray(start, start + n);
  };
  let bytes = 0;
  let count = 0;
  const pending = [];
  const flush = async (force) => {
    if (pending.length >= 256 || (force && pending.length)) await Promise.all(pending.splice(0));
  };
  const put = async (rel, data, mode) => {
    pending.push(writeFile(join(root, rel), data, { mode }));
    bytes += data.length;
    count++;
    await flush(false);
  };
  for (const d of dirs) await ensureDir(d);
  const exts = ['.xml', '.properties', '.conf', '.java', '.sh', '.txt', '.json', '.html'];
  for (let i = 0; i < nSmall; i++) {
    const d = dirs[i % dirs.length];
    const ext = exts[Math.floor(rand() * exts.length)];
    const size = Math.max(16, Math.floor(avgSmall * (0.1 + rand() * 1.8)));
    await put(`${d ? d + '/' : ''}f${i}${ext}`, slice(size), ext === '.sh' ? 0o755 : 0o644);
  }
  await ensureDir('share/doc');
  for (let i = 0; i < nBigText; i++) {
    await put(`share/doc/manual${i}.txt`, slice(Math.floor(avgBigText * (0.5 + rand()))), 0o644);
  }
  await ensureDir('lib');
  for (let i = 0; i < nBin; i++) {
    await put(`lib/blob${i}.jar`, randomBytes(Math.floor(avgBin * (0.5 + rand()))), 0o644);
  }
  await ensureDir('logs');
  for (let i = 0; i < nLogs; i++) await put(`logs/server${i}.log`, slice(Math.floor(avgLog * (0.5 + rand()))), 0o640);
  await put('logs/README', Buffer.from('log directory is kept, *.log files are not\n'), 0o644);
  await ensureDir('cache/a/b');
  await ensureDir('tmp/work');
  for (let i = 0; i < nCacheTmp; i++) {
    await put(i % 2 ? `cache/a/b/c${i}.bin` : `tmp/work/t${i}.tmp`, slice(1000 + Math.floor(rand() * 4000)), 0o644);
  }
  for (let i = 0; i < 20; i++) await ensureDir(`empty/e${i}`);
  await flush(true);
  // Symlinks: relative, absolute, dangling, to directories.
  for (let i = 0; i < 50; i++) {
    const d = dirs[(i * 7) % dirs.length];
    const at = join(root, d, `link${i}`);
    if (i % 5 === 0) await symlink('/etc/hostname', at);
    else if (i % 5 === 1) await symlink('does/not/exist', at);
    else if (i % 5 === 2) await symlink('..', at);
    else await symlink(`f${(i * 13) % nSmall}.txt`, at);
  }
  const info = { files: count, bytes };
  await writeFile(join(cacheDir, `capture-tree-${files}-${mb}.json`), JSON.stringify(info));
  return { ...result, ...info, fresh: true };
}
