#!/usr/bin/env node
// Catalog write/read of one assembly of N appliances x P properties, against JSON.stringify/parse +
// writeFile/readFile of the same plain data in the same run (the floor), plus a one-property edit.
// Usage: npm run build && node bench/catalog.mjs   (BENCH_APPLIANCES=N BENCH_PROPERTIES=P to change the size,
// BENCH_ROUNDS=R for the number of interleaved rounds whose median is printed; default 3)
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// A full GC before each measurement keeps one round's garbage out of the next one's peak memory.
setFlagsFromString('--expose-gc');
const gc = globalThis.gc ?? runInNewContext('gc');

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { Appliance } = await import(join(root, 'dist/core/metadata/appliance.js'));
const { Assembly } = await import(join(root, 'dist/core/metadata/assembly.js'));
const { Catalog } = await import(join(root, 'dist/catalog/catalog.js'));
const { instanceLayout } = await import(join(root, 'dist/services/instance.js'));

const N = Number(process.env.BENCH_APPLIANCES ?? 2000);
const P = Number(process.env.BENCH_PROPERTIES ?? 50);

function appliance(i) {
  const properties = [{ name: 'admin.password', type: 'password', value: `pw-${i}` }, { name: 'port', type: 'int', value: 8000 + (i % 1000) }];
  for (let j = properties.length; j < P; j++) properties.push({ name: `group${j % 5}.prop${j}`, description: `property ${j} of appliance ${i}`, value: `value ${j} <&> "${i}"` });
  return new Appliance({
    name: `app${i}`,
    creator: 'tomcat',
    properties,
    inputs: [{ name: 'http', port: 8080, protocols: ['http'] }],
    outputs: [{ name: 'db', protocol: 'jdbc' }],
    fileSets: [{ name: 'home', root: '/opt/tomcat', excludes: ['logs/*.log'] }],
  });
}

/** Peak RSS and heap while `fn` runs (sampled every 5 ms, plus before/after). */
async function measure(fn) {
  gc();
  const peak = { rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed };
  const sample = () => {
    const m = process.memoryUsage();
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heap = Math.max(peak.heap, m.heapUsed);
  };
  const timer = setInterval(sample, 5);
  const t0 = performance.now();
  const result = await fn();
  const ms = performance.now() - t0;
  clearInterval(timer);
  sample();
  return { ms, result, rssMiB: peak.rss / 2 ** 20, heapMiB: peak.heap / 2 ** 20 };
}

async function files(dir) {
  const out = new Map();
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    const s = await stat(p);
    out.set(relative(dir, p), `${s.ino}:${s.mtimeMs}`);
  }
  return out;
}

/** Median time of several measurements; peak memory is the highest seen in any of them. */
function summary(ms) {
  const sorted = [...ms].sort((a, b) => a.ms - b.ms);
  const mid = sorted[Math.floor(sorted.length / 2)];
  return { ms: mid.ms, all: ms.map((m) => m.ms), rssMiB: Math.max(...ms.map((m) => m.rssMiB)), heapMiB: Math.max(...ms.map((m) => m.heapMiB)), result: mid.result };
}

const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const work = await mkdtemp(join(tmpdir(), 'abctl-bench-catalog-'));
try {
  const assembly = new Assembly({ name: 'big', members: Array.from({ length: N }, (_, i) => appliance(i)) });
  const plain = assembly.toPlain();

  // Rounds interleave floor and catalog, so load from elsewhere on the machine hits both alike.
  const runs = { jsonWrite: [], jsonRead: [], jsonWriteN: [], jsonReadN: [], write: [], read: [] };
  let instance;
  let same = true;
  for (let r = 0; r < ROUNDS; r++) {
    // ---- floor: the same plain data as JSON, one file, and one file per appliance (like the catalog)
    const jsonFile = join(work, `floor-${r}.json`);
    runs.jsonWrite.push(await measure(() => writeFile(jsonFile, JSON.stringify(plain))));
    runs.jsonRead.push(await measure(async () => JSON.parse(await readFile(jsonFile, 'utf8'))));
    const perDir = join(work, `floor-per-file-${r}`);
    await mkdir(perDir);
    runs.jsonWriteN.push(await measure(() => Promise.all(plain.members.map((m) => writeFile(join(perDir, `${m.name}.json`), JSON.stringify(m))))));
    runs.jsonReadN.push(await measure(() => Promise.all(plain.members.map(async (m) => JSON.parse(await readFile(join(perDir, `${m.name}.json`), 'utf8'))))));
    await rm(perDir, { recursive: true, force: true });
    await rm(jsonFile, { force: true });

    // ---- catalog: a fresh instance each round, read by a fresh Catalog (nothing cached)
    if (instance) await rm(instance, { recursive: true, force: true });
    instance = join(work, `instance-${r}`);
    runs.write.push(await measure(() => new Catalog(instanceLayout(instance)).putAssembly(assembly)));
    const read = await measure(() => new Catalog(instanceLayout(instance)).getAssembly('big'));
    same &&= JSON.stringify(read.result.toPlain()) === JSON.stringify(plain);
    read.result = undefined;
    runs.read.push(read);
  }
  const jsonWrite = summary(runs.jsonWrite);
  const jsonRead = summary(runs.jsonRead);
  const jsonWriteN = summary(runs.jsonWriteN);
  const jsonReadN = summary(runs.jsonReadN);
  const write = summary(runs.write);
  const read = summary(runs.read);

  // ---- edit one property of one appliance (after a read, as a command would)
  const catalog = new Catalog(instanceLayout(instance));
  const loaded = await catalog.getAssembly('big');
  loaded.getMember(`app${N >> 1}`).properties.set('port', 9999, 'user');
  const before = await files(join(instance, 'catalog'));
  const edit = await measure(() => catalog.putAssembly(loaded));
  const after = await files(join(instance, 'catalog'));
  const touched = [...after].filter(([k, v]) => before.get(k) !== v).map(([k]) => k);
  const editCold = await measure(async () => {
    const c = new Catalog(instanceLayout(instance));
    const a = await c.getAssembly('big');
    a.getMember('app1').properties.set('port', 9998, 'user');
    return c.putAssembly(a);
  });

  const f = (x) => x.toFixed(0).padStart(7);
  const x = (m, floor) => `x${(m.ms / floor.ms).toFixed(1)}`;
  const line = (label, m, floor) =>
    `${label.padEnd(44)} ${f(m.ms)} ms  ${floor ? x(m, floor).padEnd(6) : '      '}  peak rss ${f(m.rssMiB)} MiB  heap ${f(m.heapMiB)} MiB${m.all && m.all.length > 1 ? `  (runs: ${m.all.map((v) => v.toFixed(0)).join(', ')})` : ''}`;
  const fileCount = [...(await files(join(instance, 'catalog'))).keys()].length;
  console.log(`catalog bench: 1 assembly, ${N} appliances x ${P} properties (${fileCount} files), node ${process.version}, median of ${ROUNDS} round(s)`);
  console.log(line('JSON floor, one file: write', jsonWrite));
  console.log(line('JSON floor, one file: read', jsonRead));
  console.log(line('JSON per appliance file (parallel): write', jsonWriteN, jsonWrite));
  console.log(line('JSON per appliance file (parallel): read', jsonReadN, jsonRead));
  console.log(line('catalog putAssembly (XML, encrypt, fsync)', write, jsonWrite));
  console.log(line('catalog getAssembly (saxes, decrypt, model)', read, jsonRead));
  console.log(`  vs one JSON file (the issue's floor):  write ${x(write, jsonWrite)}, read ${x(read, jsonRead)}  (target x5)`);
  console.log(`  vs one JSON file per appliance:        write ${x(write, jsonWriteN)}, read ${x(read, jsonReadN)}  (target x5)`);
  console.log(`  round trip identical: ${same}`);
  console.log(line('edit 1 property, warm (after a read)', edit));
  console.log(line('edit 1 property, cold (read + put)', editCold));
  console.log(`  files touched by the warm edit: ${touched.length} of ${after.size}: ${touched.join(', ')}`);
  console.log(`  files written by the cold edit: ${editCold.result.written.length} (${editCold.result.unchanged} documents unchanged)`);
} finally {
  await rm(work, { recursive: true, force: true });
}
