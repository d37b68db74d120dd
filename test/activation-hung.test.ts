import { spawnSync } from 'node:child_process';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UserError } from '../core/errors.js';
import { instanceLayout, projectRoot } from '../services/instance.js';
import { ActivationFailureStore } from '../services/plugins/activation-failures.js';
import { tempDir, writePlugin } from './helpers/plugins.js';

// Runs the built CLI (`npm test` builds first): the point is what a later command remembers.
const bin = join(projectRoot(), 'bin', 'abctl');
let tmp: { path: string; cleanup: () => Promise<void> };
let env: NodeJS.ProcessEnv;
let bundled: string;
/** The hanging activator appends one line here each time it starts. */
let starts: string;

interface Described {
  plugins: { name: string; state: string; problems: { code: string; message: string; hint?: string }[] }[];
}

function abctl(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function describePlugins(): Described['plugins'] {
  const r = abctl(['describePlugins', '--json']);
  expect(r.code, r.err).toBe(0);
  return (JSON.parse(r.out) as Described).plugins;
}

const startCount = (): Promise<number> => readFile(starts, 'utf8').then((t) => t.split('\n').filter(Boolean).length, () => 0);

beforeEach(async () => {
  tmp = await tempDir();
  bundled = join(tmp.path, 'bundled');
  starts = join(tmp.path, 'starts');
  // A short limit keeps the test quick; the default is 60 s.
  env = { ...process.env, AB_INSTANCE: join(tmp.path, 'instance'), AB_BUNDLED_PLUGINS: bundled, AB_HOOK_TIMEOUT_MS: '1500' };
  await writeFile(join(tmp.path, 'package.json'), '{ "type": "module" }\n');
  await writePlugin(bundled, {
    name: 'hang',
    index: `import { appendFileSync } from 'node:fs';
export default {
  start() {
    appendFileSync(${JSON.stringify(starts)}, 'start\\n');
    return new Promise(() => {}); // never settles
  },
};
`,
  });
  await writePlugin(bundled, { name: 'hangext', parentName: 'hang' });
  await writePlugin(bundled, { name: 'fine' });
});
afterEach(() => tmp.cleanup());

describe('an activator that never settles', () => {
  it('is cut at the limit once, then skipped at once by later commands until enablePlugin or a changed module', async () => {
    const first = describePlugins();
    const hang = first.find((p) => p.name === 'hang');
    expect(hang?.state).toBe('broken');
    expect(hang?.problems[0]?.code).toBe('PLUGIN_START_FAILED');
    expect(hang?.problems[0]?.message).toContain('start() of hang did not finish within 1500 ms');
    expect(hang?.problems[0]?.hint).toContain('later commands skip it without waiting, and abctl enablePlugin --name hang tries it again');
    expect(first.find((p) => p.name === 'hangext')?.problems.map((p) => p.code)).toEqual(['PARENT_BROKEN']);
    expect(first.find((p) => p.name === 'fine')?.state).toBe('enabled');
    expect(await startCount()).toBe(1);

    // The next command does not run the plugin's code again, and says why and how to retry.
    const second = describePlugins();
    const remembered = second.find((p) => p.name === 'hang');
    expect(remembered?.state).toBe('broken');
    expect(remembered?.problems[0]?.code).toBe('PLUGIN_HUNG_BEFORE');
    expect(remembered?.problems[0]?.message).toMatch(/plugin "hang" was not started: it hung on \d{4}-\d\d-\d\dT.* and has not changed since \(.*did not finish within 1500 ms\)/);
    expect(remembered?.problems[0]?.hint).toContain('abctl enablePlugin --name hang');
    expect(second.find((p) => p.name === 'hangext')?.problems.map((p) => p.code)).toEqual(['PARENT_BROKEN']);
    expect(second.find((p) => p.name === 'fine')?.state).toBe('enabled');
    expect(await startCount()).toBe(1);

    // enablePlugin clears the mark: the next command tries again (and remembers again).
    expect(abctl(['enablePlugin', '--name', 'hang']).code).toBe(0);
    expect(describePlugins().find((p) => p.name === 'hang')?.problems[0]?.code).toBe('PLUGIN_START_FAILED');
    expect(await startCount()).toBe(2);
    expect(describePlugins().find((p) => p.name === 'hang')?.problems[0]?.code).toBe('PLUGIN_HUNG_BEFORE');
    expect(await startCount()).toBe(2);

    // So does a changed entry module.
    await appendFile(join(bundled, 'hang', 'index.js'), '// edited\n');
    expect(describePlugins().find((p) => p.name === 'hang')?.problems[0]?.code).toBe('PLUGIN_START_FAILED');
    expect(await startCount()).toBe(3);
  });
});

describe('the record of hung plugins', () => {
  it('matches on name, version, entry path and entry bytes only', async () => {
    const store = new ActivationFailureStore(instanceLayout(join(tmp.path, 'instance')));
    const entry = join(bundled, 'hang', 'index.js');
    await store.remember({ name: 'hang', version: '1.0', entry }, 'start() of hang did not finish within 1500 ms');
    const key = { name: 'hang', version: '1.0', entry };
    expect((await store.recall([key])).get('hang')?.message).toBe('start() of hang did not finish within 1500 ms');
    expect((await store.recall([{ ...key, version: '1.1' }])).size).toBe(0);
    expect((await store.recall([{ ...key, entry: join(bundled, 'fine', 'index.js') }])).size).toBe(0);
    expect(await store.forget(['fine'])).toBe(false);
    expect(await store.forget(['hang'])).toBe(true);
    expect((await store.recall([key])).size).toBe(0);
  });

  it('reports a damaged record as such, naming the file and the way out', async () => {
    const store = new ActivationFailureStore(instanceLayout(join(tmp.path, 'instance')));
    await store.remember({ name: 'hang', version: '1.0', entry: join(bundled, 'hang', 'index.js') }, 'hung');
    await writeFile(store.file, '{"format": 1, "failures": [{"name": 3}]}');
    const err = await store.recall([]).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err).toMatchObject({ code: 'PLUGIN_STATE_CORRUPT', where: store.file, hint: expect.stringContaining('delete the file') });
  });
});
