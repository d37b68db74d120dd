#!/usr/bin/env node
// Discovery + activation cost per plugin, and abctl start-up (--help, describePlugins) against bare Node in the same run.
// Usage: npm run build && node bench/discovery.mjs   (BENCH_PLUGINS=N to change the count)
import { execFileSync } from 'node:child_process';
import { appendFileSync, cpSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
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

/**
 * Medians of commands run in turn (one run of each per round), so that the machine's load
 * weighs on every command alike; only the ratios between them are meaningful on a busy host.
 */
function timeCommands(commands, runs = 15) {
  const samples = commands.map(() => []);
  for (let i = 0; i < runs; i++) {
    commands.forEach(({ args, env, prepare }, j) => {
      prepare?.();
      const t = process.hrtime.bigint();
      execFileSync(process.execPath, args, { stdio: 'ignore', env: { ...process.env, ...env } });
      samples[j].push(Number(process.hrtime.bigint() - t) / 1e6);
    });
  }
  return samples.map((s) => s.sort((a, b) => a - b)[Math.floor(runs / 2)]);
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
// A fresh instance: describePlugins then lists the bundled plugins only, as issue 14 measures it.
const instance = await mkdtemp(join(tmpdir(), 'abctl-bench-instance-'));
const cliEnv = { AB_INSTANCE: instance, AB_BUNDLED_PLUGINS: '' };
// The first run of each fills <instance>/cache/, so the medians are of runs answered from it, as a
// user's are between two changes of the plugins.
// "new instance" rows: a user's first command, on an instance that does not exist yet, with the
// bundled plugins as shipped: answered from the records the build made (cli/shipped-records.ts).
const fresh = join(instance, 'new');
const freshEnv = { AB_INSTANCE: fresh, AB_BUNDLED_PLUGINS: '' };
const dropFresh = () => rmSync(fresh, { recursive: true, force: true });
// "installed copy" rows: the same, with the bundled plugins copied to another path (new inodes,
// times and path, as after `npm install -g`): the build's records still answer (they compare content).
const copied = join(instance, 'bundled-copy');
cpSync(join(root, 'plugins'), copied, { recursive: true });
const copyEnv = { AB_INSTANCE: fresh, AB_BUNDLED_PLUGINS: copied };
// "cold" rows: no record matches (a bundled plugin edited, and what a new instance cost before the
// build made records): commander, discovery and, for describePlugins, activation run. Their
// instance records are removed before each run.
const edited = join(instance, 'bundled-edited');
cpSync(join(root, 'plugins'), edited, { recursive: true });
appendFileSync(join(edited, 'example', 'plugin.config'), '# edited\n');
const coldInstance = join(instance, 'cold');
const coldEnv = { AB_INSTANCE: coldInstance, AB_BUNDLED_PLUGINS: edited };
const dropCold = () => rmSync(join(coldInstance, 'cache'), { recursive: true, force: true });
const abctl = join(root, 'bin/abctl');
const [nodeBare, help, describe, helpFresh, describeFresh, helpCopy, describeCopy, helpCold, describeCold, helpCommander] = timeCommands([
  { args: ['-e', '0'] },
  { args: [abctl, '--help'], env: cliEnv },
  { args: [abctl, 'describePlugins', '--json'], env: cliEnv },
  { args: [abctl, '--help'], env: freshEnv, prepare: dropFresh },
  { args: [abctl, 'describePlugins', '--json'], env: freshEnv, prepare: dropFresh },
  { args: [abctl, '--help'], env: copyEnv, prepare: dropFresh },
  { args: [abctl, 'describePlugins', '--json'], env: copyEnv, prepare: dropFresh },
  { args: [abctl, '--help'], env: coldEnv, prepare: dropCold },
  { args: [abctl, 'describePlugins', '--json'], env: coldEnv, prepare: dropCold },
  // --debug with it: the quick paths leave it to commander, as every cold --help went before help.cjs.
  { args: [abctl, '--debug', '--help'], env: coldEnv, prepare: dropCold },
]);
await rm(instance, { recursive: true, force: true });
const ms = (v) => `${v.toFixed(1)} ms`;
const row = (name, v, versus, versusName, target) => console.log(`  ${name.padEnd(30)} ${ms(v).padStart(9)}  ${(v / versus).toFixed(2)}x ${versusName}${target ? ` (target <= ${target}x)` : ''}`);

console.log(`plugins: ${total} (chains of ${chain})`);
console.log(`discover: ${full.discover.toFixed(1)} ms, activate: ${full.activate.toFixed(1)} ms, per plugin: ${perPlugin.toFixed(3)} ms`);
console.log(`linearity: time(${total}) / time(${halfCount}) = ${((full.discover + full.activate) / (half.discover + half.activate)).toFixed(2)} (2.0 = linear; less means fixed costs still weigh)`);
console.log(`start-up (medians of interleaved runs, load ${loadavg()[0].toFixed(2)} at the end):`);
console.log(`  ${'node -e 0'.padEnd(30)} ${ms(nodeBare).padStart(9)}`);
console.log("  warm (the instance's own records):");
row('abctl --help', help, nodeBare, 'node -e 0', 1.3);
row('abctl describePlugins --json', describe, help, 'its --help', 1.5);
console.log('  first command on a new instance (records made by the build):');
row('abctl --help', helpFresh, nodeBare, 'node -e 0', 1.3);
row('abctl describePlugins --json', describeFresh, helpFresh, 'its --help', 1.5);
console.log('  first command on a new instance, the bundled plugins copied elsewhere (as npm install -g):');
row('abctl --help', helpCopy, nodeBare, 'node -e 0', 1.3);
row('abctl describePlugins --json', describeCopy, helpCopy, 'its --help', 1.5);
console.log('  cold (no record matches: a bundled plugin edited; a new instance before build records):');
row('abctl --help', helpCold, nodeBare, 'node -e 0');
row('abctl describePlugins --json', describeCold, helpCold, 'its --help');
row('abctl --debug --help', helpCommander, nodeBare, 'node -e 0 (commander: any cold --help before help.cjs)');
