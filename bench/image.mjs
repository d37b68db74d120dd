#!/usr/bin/env node
// Appliance image writing against `tar -czf` and `podman build` of the same tree, in the same run.
// Usage: npm run build && node bench/image.mjs
//   BENCH_FILES=N BENCH_MB=M  the capture bench's tree (default ~20k files, ~220 MB; CI smoke: 500 / 5)
//   BENCH_ROUNDS=R            rounds per tool, interleaved, median reported (default 3)
//   BENCH_PODMAN=0            skip `podman build` (skipped with a message when podman is missing)
// The tree is introspected by the shipped example plugin and captured (gzip) through the CLI, as a
// user would; createTemplate then writes the image over a small offline root file system
// (test/support/podman.mjs testRootfs). Two shapes of the file set layer (services/image/fileset-layer.ts):
// "rewrite" (root /opt/bench: every entry read back and written again under the root) and
// "reuse" (root /, owners the definition's: the captured archive is filed as the layer unchanged).
// Target (issue 11): reusing captured layers is a small fraction of `tar -czf` of the same tree.
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchTree } from './tree.mjs';
import { CONTAINERS_CONF, podman, podmanEnv, testRootfs } from '../test/support/podman.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const { Application } = await import(join(repo, 'dist/services/app.js'));
const { Catalog } = await import(join(repo, 'dist/catalog/index.js'));
const { createTemplates } = await import(join(repo, 'dist/services/image/image-writer.js'));

const files = Number(process.env.BENCH_FILES ?? 20000);
const mb = Number(process.env.BENCH_MB ?? 220);
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const cacheDir = join(repo, '.bench');
await mkdir(cacheDir, { recursive: true });

const tree = await benchTree(cacheDir, files, mb);
const work = await mkdtemp(join(tmpdir(), 'abctl-bench-image-'));
const plugins = join(repo, 'plugins');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}${r.error ?? ''}`);
  return r.stdout;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
const MB = (b) => `${(b / 1048576).toFixed(1)} MB`;

try {
  // ---- capture through the real path: introspect (deferred), point the file set at the tree, captureFileSets ----
  const instance = join(work, 'instance');
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AB_'))), AB_INSTANCE: instance, AB_BUNDLED_PLUGINS: plugins };
  const abctl = (args) => run(process.execPath, [join(repo, 'bin', 'abctl'), ...args], { env });
  const ref = join(work, 'minihttpd');
  await cp(join(repo, 'examples', 'minihttpd'), ref, { recursive: true });
  abctl(['introspectexample', '--home', ref, '--defer-capture']);
  const app = Application.create({ instanceRoot: instance, bundledPluginsDir: plugins });
  const catalog = app.get(Catalog);
  const name = 'minihttpd-reference';
  const setRoot = async (root) => {
    const a = await catalog.getAppliance(name);
    a.updateFileSet('home', { root, excludes: tree.excludes }, 'framework');
    await catalog.putAppliance(a);
  };
  await setRoot(tree.root);
  let t0 = performance.now();
  const captured = abctl(['captureFileSets', '--appliance', name]).trim();
  const captureMs = performance.now() - t0;
  const inventory = await app.inventory();
  const base = testRootfs();

  // ---- the tools ----
  const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
  const tarExcl = tree.tarExcludes.map((e) => `--exclude=${q(e)}`).join(' ');
  const layers = {};
  const layerMs = {};
  const image = (root) => async (i) => {
    await setRoot(root); // untimed below: the catalog edit is not part of writing the image
    const out = join(work, `img-${i}`);
    // Per layer: from its first progress report to the next layer's first (the file set layer's own share).
    const marks = [];
    const onProgress = (p) => {
      if (marks.at(-1)?.layer !== p.layer) marks.push({ layer: p.layer, at: performance.now() });
    };
    const t = performance.now();
    const [img] = await createTemplates({ catalog, inventory, appliance: name, base, outDir: out, node: 'none', onProgress });
    const ms = performance.now() - t;
    const fsMark = marks.findIndex((m) => m.layer.startsWith('file set'));
    if (fsMark >= 0) (layerMs[root] ??= []).push((marks[fsMark + 1]?.at ?? performance.now()) - marks[fsMark].at);
    layers[root] = img.layers;
    await rm(out, { recursive: true, force: true });
    return ms;
  };
  const timed = (fn) => async (i) => {
    const t = performance.now();
    await fn(i);
    return performance.now() - t;
  };
  const tools = {
    'tar -czf': timed(async () => {
      run('sh', ['-c', `tar -C ${q(tree.root)} ${tarExcl} -czf ${q(join(work, 'tar.tgz'))} .`]);
    }),
    'createTemplate (rewrite)': image('/opt/bench'),
    'createTemplate (reuse)': image('/'),
  };
  let podmanNote = '';
  if (process.env.BENCH_PODMAN === '0') podmanNote = 'podman build: skipped (BENCH_PODMAN=0)';
  else if (spawnSync('podman', ['--version'], { timeout: 10_000 }).status !== 0) podmanNote = 'podman build: skipped (podman is not installed: apt-get install podman runc iptables)';
  else {
    // FROM scratch + COPY of the tree, the same excludes through an ignore file; the image is removed after each round.
    const cf = join(work, 'Containerfile');
    await writeFile(cf, 'FROM scratch\nCOPY . /opt/bench/\n');
    const ignore = join(work, 'ignore');
    await writeFile(ignore, 'logs/*.log\ncache\ntmp/*\n');
    tools['podman build'] = async (i) => {
      const tag = `localhost/abctl-bench-image:${process.pid}-${i}`;
      const t = performance.now();
      run('podman', ['build', '--quiet', '--layers=false', '--ignorefile', ignore, '-f', cf, '-t', tag, tree.root], { env: podmanEnv() });
      const ms = performance.now() - t;
      podman(['rmi', '--force', tag], { timeoutMs: 120_000 });
      return ms;
    };
    podmanNote = `podman build: FROM scratch, COPY of the tree (CONTAINERS_CONF=${CONTAINERS_CONF})`;
  }

  const samples = Object.fromEntries(Object.keys(tools).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [k, fn] of Object.entries(tools)) samples[k].push(await fn(`${r}`));
  }
  const times = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));

  const load = loadavg().map((x) => x.toFixed(2)).join(' ');
  console.log(`image bench: tree ${tree.root} (~${tree.files} files, ${MB(tree.bytes)}), ${rounds} round(s), interleaved; ${availableParallelism()} cores, load ${load}`);
  console.log(`capture (abctl captureFileSets, gzip, untimed setup): ${fmt(captureMs)}; ${captured.split('\n').pop()}`);
  console.log(`base: ${base} (root file system directory, made offline); --node none (the agent layer without a Node.js binary)`);
  if (podmanNote) console.log(podmanNote);
  const ref0 = times['tar -czf'];
  for (const [k, ms] of Object.entries(times)) console.log(`  ${k.padEnd(26)} ${fmt(ms).padStart(9)}   ${(ms / ref0).toFixed(2)}x tar -czf`);
  for (const [root, ls] of Object.entries(layers)) {
    const own = layerMs[root] ? `; file set layer ~${fmt(median(layerMs[root]))} (${(median(layerMs[root]) / ref0).toFixed(2)}x tar -czf)` : '';
    console.log(`  layers with file set root ${root}: ${ls.map((l) => `${l.layer} ${MB(l.size)}${l.reused ? ' (reused)' : ''}`).join(', ')}${own}`);
  }
  const reuse = times['createTemplate (reuse)'];
  const rewrite = times['createTemplate (rewrite)'];
  console.log(`ratios: reuse/tar -czf ${(reuse / ref0).toFixed(2)}x (issue 11: a small fraction), rewrite/tar -czf ${(rewrite / ref0).toFixed(2)}x, reuse/rewrite ${(reuse / rewrite).toFixed(2)}x` +
    (times['podman build'] ? `, reuse/podman build ${(reuse / times['podman build']).toFixed(2)}x` : ''));
  if (!layers['/']?.some((l) => l.reused)) {
    console.log('check: FAILED: the file set layer was not reused at root /');
    process.exitCode = 1;
  }
} finally {
  await rm(work, { recursive: true, force: true });
}
