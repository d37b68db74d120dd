#!/usr/bin/env node
// Discovery + activation cost per plugin, and abctl start-up, against bare Node in the same run.
// Usage: npm run build && node bench/discovery.mjs   (BENCH_PLUGINS=N to change the count)
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { Application } = await import(join(root, 'dist/services/app.js'));

const total = Number(process.env.BENCH_PLUGINS ?? 1000);
const chain = 10; // every 10th plugin is a root; the others extend the previous one

async function generate(dir, count) {
  await mkdir(dir, { recursive: true });
  // Plugins are ESM; outside a "type": "module" package Node would read index.js as CommonJS.
  const writes = [writeFile(join(dir, 'package.json'), '{ "type": "module" }\n')];
  for (let i = 0; i < count; i++) {
    const name = `p${String(i).padStart(5, '0')}`;
    const parent = i % chain === 0 ? undefined : `p${String(i - 1).padStart(5, '0')}`;
    const pdir = join(dir, name);
    await mkdir(pdir, { recursive: true });
    const cfg = [`name=${name}`, 'version=1.0.' + i, `description=bench plugin ${i}`, 'minSdkVersion=1.0'];
    if (parent) cfg.push(`parentName=${parent}`, 'minParentVersion=1.0');
    const id = parent ? 'IntrospectorPluginExtension' : 'IntrospectorPlugin';
    writes.push(
      writeFile(join(pdir, 'plugin.config'), cfg.join('\n') + '\n'),
      writeFile(
        join(pdir, 'index.js'),
        `export const activator = { start(ctx) { ctx.registerService(ctx.ids.${id}, { name: '${name}'${parent ? `, parentName: '${parent}'` : ''} }); } };\n`,
      ),
    );
  }
  await Promise.all(writes);
}

function timeCommand(args, runs = 10) {
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    execFileSync(process.execPath, args, { stdio: 'ignore' });
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(runs / 2)];
}

async function measure(count) {
  const tmp = await mkdtemp(join(tmpdir(), 'abctl-bench-'));
  try {
    const bundled = join(tmp, 'plugins');
    await generate(bundled, count);
    const app = Application.create({ instanceRoot: join(tmp, 'instance'), bundledPluginsDir: bundled });
    const t0 = process.hrtime.bigint();
    const inventory = await app.inventory();
    const t1 = process.hrtime.bigint();
    await app.start();
    const t2 = process.hrtime.bigint();
    const enabled = [...inventory.records.values()].filter((r) => r.state === 'enabled').length;
    await app.stop();
    if (enabled !== count) throw new Error(`expected ${count} enabled plugins, got ${enabled}`);
    return { discover: Number(t1 - t0) / 1e6, activate: Number(t2 - t1) / 1e6 };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

// Best of three runs per size: the least disturbed by whatever else the machine is doing.
async function best(count, runs = 3) {
  let top;
  for (let i = 0; i < runs; i++) {
    const r = await measure(count);
    if (!top || r.discover + r.activate < top.discover + top.activate) top = r;
  }
  return top;
}

const halfCount = Math.max(chain, Math.round(total / 2) - (Math.round(total / 2) % chain));
const half = await best(halfCount);
const full = await best(total);
const perPlugin = (full.discover + full.activate) / total;
const nodeBare = timeCommand(['-e', '0']);
const help = timeCommand([join(root, 'bin/abctl'), '--help']);

console.log(`plugins: ${total} (chains of ${chain})`);
console.log(`discover: ${full.discover.toFixed(1)} ms, activate: ${full.activate.toFixed(1)} ms, per plugin: ${perPlugin.toFixed(3)} ms`);
console.log(`linearity: time(${total}) / time(${halfCount}) = ${((full.discover + full.activate) / (half.discover + half.activate)).toFixed(2)} (2.0 = linear; less means fixed costs still weigh)`);
console.log(`start-up: node -e 0 ${nodeBare.toFixed(1)} ms, abctl --help ${help.toFixed(1)} ms, ratio ${(help / nodeBare).toFixed(2)}x (target < 2x)`);
