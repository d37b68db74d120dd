/**
 * Real processes against one instance: two writers at once, and writers killed with
 * SIGKILL in the middle of a large commit. Children import the compiled catalog from
 * dist/ (`npm test` builds it first).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Catalog } from '../../catalog/catalog.js';
import { tempDir } from '../helpers/plugins.js';
import { openCatalog, prelude, runNode, sampleAppliance } from './helpers.js';

let root: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ path: root, cleanup } = await tempDir('abctl-catalog-proc-'));
});
afterEach(async () => cleanup());

/** A child that commits `count` appliances named `<prefix><i>` and sets base's port, in one commit. */
function writerScript(prefix: string, count: number, port: number): string {
  return `${prelude()}
const catalog = new Catalog(instanceLayout(${JSON.stringify(root)}));
const put = [];
for (let i = 0; i < ${count}; i++) {
  put.push(new Appliance({ name: ${JSON.stringify(prefix)} + i, creator: 'tomcat',
    properties: [{ name: 'pw', type: 'password', value: 'secret-' + i }, ...Array.from({ length: 20 }, (_, j) => ({ name: 'p' + j, value: 'v' + j }))] }));
}
${port ? `const base = await catalog.getAppliance('base'); base.properties.set('port', ${port}, 'user'); put.push(base);` : ''}
const r = await catalog.commit({ put });
process.stdout.write(JSON.stringify({ written: r.written.length }));
`;
}

/** The catalog may be left in exactly one of these states: all of a commit or none of it. */
async function state(catalog: Catalog) {
  const listed = await catalog.listAppliances();
  return {
    problems: listed.problems,
    names: listed.items.map((a) => a.name),
    port: listed.items.find((a) => a.name === 'base')?.properties.getValue('port'),
  };
}

async function leftovers(): Promise<string[]> {
  return (await readdir(join(root, 'catalog'))).filter((e) => e.startsWith('.') && e !== '.generation');
}

// Killed children leave their instance lock behind; proper-lockfile treats it as stale after 2 s.
const lock = { staleMs: 2000, waitMs: 15000 };

describe('two processes writing at once', () => {
  it('both changes land and every file stays valid', async () => {
    const catalog = openCatalog(root);
    await catalog.putAppliance(sampleAppliance('base'));
    const [a, b] = await Promise.all([runNode(writerScript('a', 40, 0)), runNode(writerScript('b', 40, 9001))]);
    expect(a.stderr).toBe('');
    expect(b.stderr).toBe('');
    expect([a.code, b.code]).toEqual([0, 0]);
    const s = await state(openCatalog(root));
    expect(s.problems).toEqual([]);
    expect(s.names).toHaveLength(81);
    expect(s.port).toBe('9001');
    const one = await openCatalog(root).getAppliance('a17');
    expect(one.properties.getValue('pw')).toBe('secret-17');
    expect(await leftovers()).toEqual([]);
  }, 60_000);
});

describe('a writer killed midway', () => {
  async function killAt(point: 'staged' | 'applying') {
    const catalog = openCatalog(root, { lock });
    await catalog.putAppliance(sampleAppliance('base'));
    const before = await state(catalog);
    const run = await runNode(writerScript('n', 300, 7777), { AB_CATALOG_PAUSE: `${point}:30000` }, (err, child) => {
      if (err.includes(`catalog-paused:${point}`)) child.kill('SIGKILL');
    });
    expect(run.signal).toBe('SIGKILL');
    expect((await readdir(join(root, 'catalog'))).some((e) => e.startsWith('.staging-'))).toBe(true);
    return { before, after: await state(openCatalog(root, { lock })) };
  }

  it('before the commit point: the catalog is readable and unchanged', async () => {
    const { before, after } = await killAt('staged');
    expect(after).toEqual(before);
    expect(after.names).toEqual(['base']);
    expect(await leftovers()).toEqual([]);
  }, 60_000);

  it('after the commit point: the next opener finishes the commit', async () => {
    const { after } = await killAt('applying');
    expect(after.problems).toEqual([]);
    expect(after.names).toHaveLength(301);
    expect(after.port).toBe('7777');
    expect(await leftovers()).toEqual([]);
  }, 60_000);

  it('killed at random moments: always all or nothing, never a broken file', async () => {
    const catalog = openCatalog(root, { lock });
    await catalog.putAppliance(sampleAppliance('base'));
    let count = 1;
    let port = (await state(catalog)).port;
    const outcomes: string[] = [];
    for (let round = 0; round < 4; round++) {
      const delay = 150 + Math.floor(Math.random() * 1200);
      const run = await runNode(writerScript(`k${round}-`, 300, 2000 + round), {}, undefined, delay);
      const s = await state(openCatalog(root, { lock }));
      expect(s.problems).toEqual([]);
      if (s.names.length === count + 300) {
        count += 300;
        port = String(2000 + round);
      } else expect(s.names.length).toBe(count);
      expect(s.port).toBe(port);
      expect(await leftovers()).toEqual([]);
      outcomes.push(`${delay}ms: ${run.signal ?? 'finished'} -> ${s.names.length}`);
    }
    console.log(`random kills: ${outcomes.join('; ')}`);
  }, 120_000);
});

describe('files stay valid XML', () => {
  it('every document written by concurrent children parses', async () => {
    await Promise.all([runNode(writerScript('x', 20, 0)), runNode(writerScript('y', 20, 0))]);
    const listed = await openCatalog(root).listAppliances();
    expect(listed.problems).toEqual([]);
    const text = await readFile(join(root, 'catalog/appliances/x3/appliance.xml'), 'utf8');
    expect(text).not.toContain('secret-3');
  }, 60_000);
});
