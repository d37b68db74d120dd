#!/usr/bin/env node
// File set capture speed against GNU tar, in the same run, on a synthetic tree (~20k files, ~220 MB).
// Usage: npm run build && node bench/capture.mjs
//   BENCH_FILES=N BENCH_MB=M  tree size (CI smoke: BENCH_FILES=500 BENCH_MB=5)
//   BENCH_ROUNDS=R            rounds per tool, median reported (default 3)
//   BENCH_REMOTE=0            skip the remote part (it starts a real sshd on loopback)
//   BENCH_SMALL_FILES=N       shape "many small files": N files of 1 KB (default 100000; 0 skips)
//   BENCH_LARGE_FILES=N BENCH_LARGE_MB=M  shape "few large files": N files of M MB (default 4 x 500; 0 skips)
// The tree is cached under .bench/ (git-ignored) and reused. Targets (DESIGN "Speed of capture"):
// our gzip at most 1.0x the time of `tar -czf`; our zstd at least 3x faster than `tar -czf`;
// remote: our capture over SSH (gzip) at most 1.0x `ssh host tar -czf - ... > file` in time and bytes moved.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile, stat, readFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { loadavg, tmpdir, availableParallelism } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rng } from './random.mjs';
import { benchTree, textPool } from './tree.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const { captureFileSet } = await import(join(repo, 'dist/services/archive/capture.js'));
if (process.argv[2] === '--one') {
  // One capture in its own process (the shapes below time it, and its peak RSS, as a user's run).
  const [, , , root, out, codec] = process.argv;
  await captureFileSet({ root, out, codec });
  process.exit(0);
}
const { captureDefinition } = await import(join(repo, 'dist/services/jobs/definition-capture.js'));
const { FileSetDefinition } = await import(join(repo, 'dist/core/metadata/index.js'));
const { SshHost } = await import(join(repo, 'dist/services/host/ssh-host.js'));
const { startSshd } = await import('../test/support/sshd.mjs');

// ---- measuring ----

const files = Number(process.env.BENCH_FILES ?? 20000);
const mb = Number(process.env.BENCH_MB ?? 220);
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const cacheDir = join(repo, '.bench');
await mkdir(cacheDir, { recursive: true });

let t0 = performance.now();
const tree = await benchTree(cacheDir, files, mb);
const built = performance.now() - t0;
const work = await mkdtemp(join(tmpdir(), 'abctl-bench-capture-'));

function sh(cmd) {
  const r = spawnSync('sh', ['-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: exit ${r.status}: ${r.stderr}`);
}
const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
const tarExcl = tree.tarExcludes.map((e) => `--exclude=${q(e)}`).join(' ');

const tools = {
  'tar -czf': { codec: 'gzip', file: 'tar.tgz', run: (out) => sh(`tar -C ${q(tree.root)} ${tarExcl} -czf ${q(out)} .`) },
  'abctl gzip': { codec: 'gzip', file: 'ours.tgz', run: (out) => captureFileSet({ root: tree.root, excludes: tree.excludes, out, codec: 'gzip' }) },
  "tar -I 'zstd -T0 -3'": { codec: 'zstd', file: 'tar.tzst', run: (out) => sh(`tar -C ${q(tree.root)} ${tarExcl} -I 'zstd -T0 -3' -cf ${q(out)} .`) },
  'abctl zstd': { codec: 'zstd', file: 'ours.tzst', run: (out) => captureFileSet({ root: tree.root, excludes: tree.excludes, out, codec: 'zstd' }) },
  'tar -cf': { codec: 'none', file: 'tar.tar', run: (out) => sh(`tar -C ${q(tree.root)} ${tarExcl} -cf ${q(out)} .`) },
  'abctl none': { codec: 'none', file: 'ours.tar', run: (out) => captureFileSet({ root: tree.root, excludes: tree.excludes, out, codec: 'none' }) },
};

try {
  // Warm the page cache (GNU tar skips reading when writing to /dev/null, hence the pipe).
  sh(`tar -C ${q(tree.root)} -cf - . | cat > /dev/null`);
  const samples = Object.fromEntries(Object.keys(tools).map((k) => [k, []]));
  const results = {};
  // Rounds interleave the tools, so a burst of load elsewhere hits all of them alike.
  for (let r = 0; r < rounds; r++) {
    for (const [name, tool] of Object.entries(tools)) {
      const out = join(work, tool.file);
      await rm(out, { force: true });
      t0 = performance.now();
      const res = await tool.run(out);
      samples[name].push(performance.now() - t0);
      if (res) results[name] = res;
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const times = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  const sizes = {};
  for (const [name, tool] of Object.entries(tools)) sizes[name] = (await stat(join(work, tool.file))).size;

  // Same file list as tar's, for every codec; same content and metadata after extraction (gzip).
  const list = (file, codec) => {
    const flag = codec === 'gzip' ? ['-tzf'] : codec === 'zstd' ? ['--zstd', '-tf'] : ['-tf'];
    return execFileSync('tar', [...flag, join(work, file)], { encoding: 'utf8', maxBuffer: 256 << 20 }).split('\n').filter(Boolean).sort();
  };
  const checks = [];
  for (const codec of ['gzip', 'zstd', 'none']) {
    const [theirs, ours] = Object.values(tools).filter((t) => t.codec === codec);
    const a = list(theirs.file, codec);
    const b = list(ours.file, codec);
    const same = a.length === b.length && a.every((x, i) => x === b[i]);
    checks.push(`${codec}: ${b.length} entries, ${same ? 'same list as tar' : 'LIST DIFFERS from tar'}`);
    if (!same) process.exitCode = 1;
  }
  const xa = join(work, 'x-tar');
  const xb = join(work, 'x-ours');
  await mkdir(xa);
  await mkdir(xb);
  sh(`tar -xzpf ${q(join(work, 'tar.tgz'))} -C ${q(xa)} && tar -xzpf ${q(join(work, 'ours.tgz'))} -C ${q(xb)}`);
  const meta = (d) => `cd ${q(d)} && find . -printf '%p %y %m %s %T@ %l\\n' | sort`;
  // bash, for the process substitution
  const ok = spawnSync('bash', ['-c', `diff -r --no-dereference ${q(xa)} ${q(xb)} >/dev/null && diff <(${meta(xa)}) <(${meta(xb)}) >/dev/null`]).status === 0;
  checks.push(`gzip: extracted trees ${ok ? 'identical (content, type, mode, size, mtime, link targets)' : 'DIFFER'}`);
  if (!ok) process.exitCode = 1;
  sh(`gzip -t ${q(join(work, 'ours.tgz'))} && zstd -tq ${q(join(work, 'ours.tzst'))}`);
  checks.push('gzip -t and zstd -t accept our archives');

  const base = times['tar -czf'];
  const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
  const MB = (n) => `${(n / 1048576).toFixed(1)} MB`;
  const ours = results['abctl gzip'];
  console.log(`capture bench: ${ours.files} files, ${ours.directories} dirs, ${ours.symlinks} symlinks, ${MB(ours.bytes)} captured` +
    ` (tree ${tree.files} files ${MB(tree.bytes)}, ${tree.fresh ? `built in ${fmt(built)}` : 'cached in .bench/'}), excludes ${tree.excludes.join(' ')}`);
  console.log(`${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, median of ${rounds} round(s), warm cache`);
  console.log('');
  console.log(`${'tool'.padEnd(22)}${'time'.padStart(9)}${'vs tar -czf'.padStart(13)}${'archive'.padStart(11)}${'size vs tar -czf'.padStart(18)}`);
  for (const name of Object.keys(tools)) {
    const rel = times[name] / base;
    console.log(
      `${name.padEnd(22)}${fmt(times[name]).padStart(9)}${`${rel.toFixed(2)}x`.padStart(13)}${MB(sizes[name]).padStart(11)}${`${(sizes[name] / sizes['tar -czf']).toFixed(3)}x`.padStart(18)}`,
    );
  }
  console.log('');
  const g = times['abctl gzip'] / base;
  const z = base / times['abctl zstd'];
  console.log(`abctl gzip / tar -czf time = ${g.toFixed(2)}  (target <= 1.0: ${g <= 1 ? 'met' : 'NOT met'})`);
  console.log(`tar -czf / abctl zstd time = ${z.toFixed(1)}x faster  (target >= 3x: ${z >= 3 ? 'met' : 'NOT met'})`);
  console.log(`abctl zstd / tar -I zstd time = ${(times['abctl zstd'] / times["tar -I 'zstd -T0 -3'"]).toFixed(2)}`);
  for (const c of checks) console.log(`check: ${c}`);
  await shapes();
  if (process.env.BENCH_REMOTE !== '0') await remote();
} finally {
  await rm(work, { recursive: true, force: true });
}

/**
 * The remote path, against a real sshd on loopback (so both sides share these 2 cores):
 * OpenSSH's client running `tar -czf -` on the host into a local file, against our capture
 * through SshHost (the host's `tar -cf -` compressed there for the transfer, zstd or gzip,
 * decoded and compressed again here in parallel gzip members). Both include connecting and
 * authenticating, as a user's run does. Bytes moved: the peer's file, and what our tar
 * channels received.
 */
async function remote() {
  const sshd = await startSshd();
  try {
    await remoteShape(sshd, `synthetic tree`, tree.root, tree.excludes, tarExcl);
    const small = Number(process.env.BENCH_SMALL_FILES ?? 100000);
    if (small > 0) {
      await remoteShape(sshd, `many small files (${small} x 1 KB)`, await shapeTree(`capture-small-${small}`, (root) => buildSmall(root, small)), [], '');
    }
  } finally {
    await sshd.stop();
  }
}

async function remoteShape(sshd, label, root, excludes, tarExcludes) {
  const sshArgs = ['-p', String(sshd.port), '-i', sshd.identityFile, '-o', `UserKnownHostsFile=${sshd.knownHostsFile}`,
    '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', `${sshd.user}@127.0.0.1`];
  // The remote command goes through the login shell: quote every word.
  const remoteTar = `tar -C ${q(root)} --anchored ${tarExcludes} -czf - .`;
  const sshCmd = `ssh ${sshArgs.map(q).join(' ')} ${q(remoteTar)}`;
  const def = new FileSetDefinition({ name: 'home', root, excludes });
  const moved = {};
  const rtools = {
    'ssh + tar -czf': { file: 'ssh-tar.tgz', run: (out) => sh(`${sshCmd} > ${q(out)}`) },
    'abctl ssh gzip': {
      file: 'ssh-ours.tgz',
      run: async (out) => {
        const host = await SshHost.connect(sshd.target, { identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile, agentSocket: false });
        try {
          return await captureDefinition(host, def, { out, codec: 'gzip' });
        } finally {
          moved['abctl ssh gzip'] = host.tarBytesReceived;
          await host.close();
        }
      },
    },
  };
  sh(`tar -C ${q(root)} -cf - . | cat > /dev/null`);
  const samples = Object.fromEntries(Object.keys(rtools).map((k) => [k, []]));
  let ours;
  for (let r = 0; r < rounds; r++) {
    for (const [name, tool] of Object.entries(rtools)) {
      const out = join(work, tool.file);
      await rm(out, { force: true });
      const t = performance.now();
      const res = await tool.run(out);
      samples[name].push(performance.now() - t);
      if (res) ours = res;
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const times = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
  const sizes = {};
  for (const [name, tool] of Object.entries(rtools)) sizes[name] = (await stat(join(work, tool.file))).size;
  moved['ssh + tar -czf'] = sizes['ssh + tar -czf'];
  const list = (file) => execFileSync('tar', ['-tzf', join(work, file)], { encoding: 'utf8', maxBuffer: 256 << 20 }).split('\n').filter(Boolean).sort();
  const a = list(rtools['ssh + tar -czf'].file);
  const b = list(rtools['abctl ssh gzip'].file);
  const same = a.length === b.length && a.every((x, i) => x === b[i]);
  if (!same) process.exitCode = 1;

  const base = times['ssh + tar -czf'];
  const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
  const MB = (n) => `${(n / 1048576).toFixed(1)} MB`;
  console.log('');
  console.log(`remote, ${label}: sshd on 127.0.0.1:${sshd.port} (same machine), ${ours.files} files captured, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, median of ${rounds} round(s), connection setup included`);
  console.log(`${'tool'.padEnd(22)}${'time'.padStart(9)}${'vs ssh+tar'.padStart(13)}${'moved'.padStart(11)}${'archive'.padStart(11)}`);
  for (const name of Object.keys(rtools)) {
    console.log(`${name.padEnd(22)}${fmt(times[name]).padStart(9)}${`${(times[name] / base).toFixed(2)}x`.padStart(13)}${MB(moved[name]).padStart(11)}${MB(sizes[name]).padStart(11)}`);
  }
  const ratio = times['abctl ssh gzip'] / base;
  const bytes = moved['abctl ssh gzip'] / moved['ssh + tar -czf'];
  console.log(`abctl ssh gzip / ssh + tar -czf time = ${ratio.toFixed(2)}  (target <= 1.0: ${ratio <= 1.0 ? 'met' : 'NOT met'})`);
  console.log(`abctl ssh gzip / ssh + tar -czf bytes moved = ${bytes.toFixed(2)}  (target <= 1.0: ${bytes <= 1.0 ? 'met' : 'NOT met'})`);
  console.log(`check: remote gzip: ${b.length} entries, ${same ? 'same list as ssh + tar' : 'LIST DIFFERS from ssh + tar'}`);
}

/** Issue 14's shapes: each tool in its own process, timed with its peak RSS (GNU time's %M). */
async function shapes() {
  const small = Number(process.env.BENCH_SMALL_FILES ?? 100000);
  const largeFiles = Number(process.env.BENCH_LARGE_FILES ?? 4);
  const largeMb = Number(process.env.BENCH_LARGE_MB ?? 500);
  if (small === 0 && (largeFiles === 0 || largeMb === 0)) return;
  const cli = await cliCapture();
  if (small > 0) await shape(`many small files (${small} x 1 KB)`, await shapeTree(`capture-small-${small}`, (root) => buildSmall(root, small)), cli, true);
  if (largeFiles > 0 && largeMb > 0) {
    await shape(`few large files (${largeFiles} x ${largeMb} MB)`, await shapeTree(`capture-large-${largeFiles}-${largeMb}`, (root) => buildLarge(root, largeFiles, largeMb)), cli);
  }
}

/**
 * `abctl captureFileSets` as a user runs it: an instance of its own where the shipped example
 * plugin introspected a copy of the example product without capturing (--defer-capture); its
 * file set is then pointed at a shape's tree (no excludes), untimed. The timed command includes
 * Node's start, the plugins, the capture checks and the commit into the catalog.
 */
async function cliCapture() {
  const { cp } = await import('node:fs/promises');
  const { Application } = await import(join(repo, 'dist/services/app.js'));
  const { Catalog } = await import(join(repo, 'dist/catalog/index.js'));
  const plugins = join(repo, 'plugins');
  const instance = join(work, 'instance');
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AB_'))), AB_INSTANCE: instance, AB_BUNDLED_PLUGINS: plugins };
  const ref = join(work, 'minihttpd');
  await cp(join(repo, 'examples', 'minihttpd'), ref, { recursive: true });
  const r = spawnSync(process.execPath, [join(repo, 'bin', 'abctl'), 'introspectexample', '--home', ref, '--defer-capture'], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`introspectexample: exit ${r.status}: ${r.stderr}`);
  const catalog = Application.create({ instanceRoot: instance, bundledPluginsDir: plugins }).get(Catalog);
  const name = 'minihttpd-reference';
  return {
    env,
    command: (codec) => `${q(process.execPath)} ${q(join(repo, 'bin', 'abctl'))} captureFileSets --appliance ${name} --codec ${codec}`,
    setRoot: async (root) => {
      const a = await catalog.getAppliance(name);
      a.updateFileSet('home', { root, excludes: [] }, 'framework');
      await catalog.putAppliance(a);
    },
  };
}

/** Peak RSS (MB, max of 3 runs) of `node -e 0`, of Node with one idle worker thread, and of the CLI's capture of a one-file tree. */
async function cliRssFloor(cli, timed, root) {
  const one = join(work, 'one-file');
  await mkdir(one, { recursive: true });
  await writeFile(join(one, 'a.conf'), 'x\n');
  const peak = (cmd, env) => Math.max(...[0, 1, 2].map(() => timed(cmd, env).rssKb)) / 1024;
  const node = q(process.execPath);
  const nodeMb = peak(`${node} -e 0`);
  const workerMb = peak(`${node} -e ${q("new (require('node:worker_threads').Worker)('setTimeout(() => {}, 300)', { eval: true })")}`);
  await cli.setRoot(one);
  try {
    return { nodeMb, workerMb, cliOneMb: peak(cli.command('zstd'), cli.env) };
  } finally {
    await cli.setRoot(root);
  }
}

async function shapeTree(name, build) {
  const root = join(cacheDir, name);
  try {
    await stat(join(cacheDir, `${name}.complete`));
    return root;
  } catch {
    // build it
  }
  await rm(root, { recursive: true, force: true });
  await mkdir(root, { recursive: true });
  await build(root);
  await writeFile(join(cacheDir, `${name}.complete`), '');
  return root;
}

/** 1 KB text-like files, 100 per directory, a tenth of them executable. */
async function buildSmall(root, n) {
  const rand = rng(n * 13 + 5);
  const pool = textPool(rand, 4 << 20);
  const pending = [];
  for (let i = 0; i < n; i++) {
    if (i % 100 === 0) await mkdir(join(root, `d${i / 100}`));
    const at = Math.floor(rand() * (pool.length - 1024));
    pending.push(writeFile(join(root, `d${Math.floor(i / 100)}/f${i}.${i % 10 === 0 ? 'sh' : 'conf'}`), pool.subarray(at, at + 1024), { mode: i % 10 === 0 ? 0o755 : 0o644 }));
    if (pending.length >= 256) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

/** Large files of text-like content with incompressible stretches (data files, logs, archives). */
async function buildLarge(root, n, mbEach) {
  const rand = rng(n * 7 + mbEach);
  const pool = textPool(rand, 16 << 20);
  const { open } = await import('node:fs/promises');
  for (let i = 0; i < n; i++) {
    const fh = await open(join(root, `data${i}.dat`), 'w', 0o644);
    try {
      for (let mbDone = 0; mbDone < mbEach; mbDone++) {
        // One MiB in five is random bytes; the rest text windows.
        if (mbDone % 5 === 4) await fh.write(randomBytes(1 << 20));
        else {
          const at = Math.floor(rand() * (pool.length - (1 << 20)));
          await fh.write(pool.subarray(at, at + (1 << 20)));
        }
      }
    } finally {
      await fh.close();
    }
  }
}

async function shape(label, root, cli, small = false) {
  await cli.setRoot(root);
  const timed = (cmd, env = process.env) => {
    const r = spawnSync('/usr/bin/time', ['-f', '%e %M %U %S', 'sh', '-c', cmd], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', env });
    if (r.status !== 0) throw new Error(`${cmd}: exit ${r.status}: ${r.stderr}`);
    const [sec, kb, user, sys] = r.stderr.trim().split('\n').pop().split(' ').map(Number);
    return { ms: sec * 1000, rssKb: kb, cpuMs: (user + sys) * 1000 };
  };
  const self = fileURLToPath(import.meta.url);
  const ours = (codec) => (out) => timed(`${q(process.execPath)} ${q(self)} --one ${q(root)} ${q(out)} ${codec}`);
  const stools = {
    'tar -czf': { file: 's-tar.tgz', codec: 'gzip', run: (out) => timed(`tar -C ${q(root)} -czf ${q(out)} .`) },
    'tar -cf - | pigz': { file: 's-pigz.tgz', codec: 'gzip', run: (out) => timed(`tar -C ${q(root)} -cf - . | pigz > ${q(out)}`) },
    'abctl gzip': { file: 's-ours.tgz', codec: 'gzip', run: ours('gzip') },
    "tar -I 'zstd -T0 -3'": { file: 's-tar.tzst', codec: 'zstd', run: (out) => timed(`tar -C ${q(root)} -I 'zstd -T0 -3' -cf ${q(out)} .`) },
    'abctl zstd': { file: 's-ours.tzst', codec: 'zstd', run: ours('zstd') },
    'abctl CLI gzip': { codec: 'gzip', run: () => timed(cli.command('gzip'), cli.env) },
    'abctl CLI zstd': { codec: 'zstd', run: () => timed(cli.command('zstd'), cli.env) },
  };
  // The floor of any Node.js capture here: Node's start and the per-file calls alone, nothing written.
  const floorTools = small ? Object.fromEntries([1, 2].map((n) => [`node calls, ${n} thread${n > 1 ? 's' : ''}`, { run: () => timed(`${q(process.execPath)} ${q(join(repo, 'bench', 'calls-floor.mjs'))} ${q(root)} ${n}`) }])) : {};
  Object.assign(stools, floorTools);
  sh(`tar -C ${q(root)} -cf - . | cat > /dev/null`);
  const samples = Object.fromEntries(Object.keys(stools).map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [name, tool] of Object.entries(stools)) {
        const out = tool.file ? join(work, tool.file) : undefined;
      if (out) await rm(out, { force: true });
      samples[name].push(tool.run(out));
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const t = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, { ms: median(v.map((x) => x.ms)), cpuMs: median(v.map((x) => x.cpuMs)), rssKb: Math.max(...v.map((x) => x.rssKb)) }]));
  // The floor under the CLI's peak RSS: what the CLI holds before the capture's own work (the same
  // command on a one-file tree), and what one reader thread adds to a process by itself.
  const rssFloor = small ? await cliRssFloor(cli, timed, root) : undefined;
  const list = (file, codec) =>
    execFileSync('tar', [...(codec === 'gzip' ? ['-tzf'] : ['--zstd', '-tf']), join(work, file)], { encoding: 'utf8', maxBuffer: 256 << 20 }).split('\n').filter(Boolean).sort().join('\n');
  const same = (a, b) => list(stools[a].file, stools[a].codec) === list(stools[b].file, stools[b].codec);
  const checks = [`gzip: ${same('tar -czf', 'abctl gzip') ? 'same entries as tar' : 'ENTRIES DIFFER from tar'}`, `zstd: ${same("tar -I 'zstd -T0 -3'", 'abctl zstd') ? 'same entries as tar' : 'ENTRIES DIFFER from tar'}`];
  if (checks.some((c) => c.includes('DIFFER'))) process.exitCode = 1;
  const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
  const MB = (n) => `${(n / 1048576).toFixed(1)} MB`;
  console.log('');
  console.log(`shape: ${label}; ${availableParallelism()} cores, load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}, median of ${rounds} round(s), each tool in its own process`);
  console.log(`${'tool'.padEnd(22)}${'time'.padStart(9)}${'CPU'.padStart(9)}${'peak RSS'.padStart(11)}${'archive'.padStart(11)}`);
  for (const [name, tool] of Object.entries(stools)) {
    const size = tool.file ? MB((await stat(join(work, tool.file))).size) : name in floorTools ? '(none)' : '(catalog)';
    console.log(`${name.padEnd(22)}${fmt(t[name].ms).padStart(9)}${fmt(t[name].cpuMs).padStart(9)}${`${(t[name].rssKb / 1024).toFixed(0)} MB`.padStart(11)}${size.padStart(11)}`);
  }
  const ratio = (a, b, target) => {
    const v = t[a].ms / t[b].ms;
    console.log(`${a} / ${b} time = ${v.toFixed(2)}  (target <= ${target}: ${v <= target ? 'met' : 'NOT met'})`);
  };
  ratio('abctl gzip', 'tar -czf', 0.8);
  ratio('abctl gzip', 'tar -cf - | pigz', 1.0);
  ratio('abctl zstd', "tar -I 'zstd -T0 -3'", 1.1);
  ratio('abctl CLI gzip', 'tar -czf', 0.8);
  ratio('abctl CLI gzip', 'tar -cf - | pigz', 1.0);
  ratio('abctl CLI zstd', "tar -I 'zstd -T0 -3'", 1.1);
  if (small) {
    // With one reading thread, Node's start plus the calls is the critical path; with two, the CPU
    // of the calls, the tar stream and zstd together has to fit on the cores.
    const z = t["tar -I 'zstd -T0 -3'"].ms;
    console.log(`floor: node calls, 1 thread / tar -I zstd time = ${(t['node calls, 1 thread'].ms / z).toFixed(2)}; node calls, 2 threads: ${(t['node calls, 2 threads'].ms / z).toFixed(2)} of the time, ${fmt(t['node calls, 2 threads'].cpuMs)} CPU against tar -I zstd's ${fmt(t["tar -I 'zstd -T0 -3'"].cpuMs)} (zstd included) on ${availableParallelism()} cores`);
  }
  const rss = Math.max(...['abctl gzip', 'abctl zstd', 'abctl CLI gzip', 'abctl CLI zstd'].map((k) => t[k].rssKb)) / 1024;
  console.log(`abctl peak RSS = ${rss.toFixed(0)} MB, largest process (target <= 80 MB: ${rss <= 80 ? 'met' : 'NOT met'})`);
  if (rssFloor) {
    const { nodeMb, workerMb, cliOneMb } = rssFloor;
    console.log(`floor: peak RSS of node -e 0 ${nodeMb.toFixed(0)} MB; one idle worker thread adds ${(workerMb - nodeMb).toFixed(0)} MB; abctl CLI zstd of a one-file tree ${cliOneMb.toFixed(0)} MB: with one reader thread, the CLI starts a capture of this shape at ${(cliOneMb + workerMb - nodeMb).toFixed(0)} MB before any block or batch is in flight`);
  }
  for (const c of checks) console.log(`check: ${c}`);
}
