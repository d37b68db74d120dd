/**
 * templates/plugin/ (the scaffold docs/plugin-contract.md points at) renders into a plugin that
 * abctl loads and runs. Uses the built CLI: `npm run build` first.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TEMPLATE_DIR = join(root, 'templates', 'plugin');
const bin = join(root, 'bin', 'abctl');

/**
 * Renders every `*.hbs` of the scaffold into `dir` (the `.hbs` dropped). Strict: a variable the
 * caller did not give is an error, not an empty string. No HTML escaping: these are not web pages.
 */
async function renderScaffold(dir: string, values: Record<string, string>): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (const file of (await readdir(TEMPLATE_DIR)).filter((f) => f.endsWith('.hbs')).sort()) {
    const template = Handlebars.compile(await readFile(join(TEMPLATE_DIR, file), 'utf8'), { strict: true, noEscape: true });
    const out = file.slice(0, -'.hbs'.length);
    await writeFile(join(dir, out), template(values));
    written.push(out);
  }
  return written;
}

let tmp: string;
let env: NodeJS.ProcessEnv;

function abctl(args: readonly string[]) {
  const r = spawnSync(process.execPath, [bin, '--instance', join(tmp, 'instance'), ...args], { env, encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('templates/plugin', () => {
  beforeAll(async () => {
    if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` first');
    tmp = await mkdtemp(join(tmpdir(), 'abctl-template-'));
    // The rendered plugin is the only plugin abctl sees (as a bundled plugin directory).
    env = { ...process.env, AB_BUNDLED_PLUGINS: join(tmp, 'plugins') };
    delete env.AB_INSTANCE;
  });
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('renders a plugin that loads, is enabled and introspects a product', async () => {
    const files = await renderScaffold(join(tmp, 'plugins', 'webshop'), {
      name: 'webshop',
      version: '0.1',
      description: 'Web shop product (made from the template)',
      product: 'webshop',
    });
    expect(files).toEqual(['index.js', 'package.json', 'plugin.config']);
    expect(JSON.parse(await readFile(join(tmp, 'plugins', 'webshop', 'package.json'), 'utf8'))).toMatchObject({ type: 'module' });

    const listed = abctl(['describePlugins', '--json']);
    expect(listed.code, listed.err).toBe(0);
    const plugins = (JSON.parse(listed.out) as { plugins: { name: string; version: string; state: string; commands: string[]; problems: unknown[] }[] }).plugins;
    expect(plugins).toEqual([expect.objectContaining({ name: 'webshop', version: '0.1', state: 'enabled', commands: ['introspectwebshop'], problems: [] })]);

    const home = join(tmp, 'product');
    await cp(join(root, 'examples', 'minihttpd'), home, { recursive: true });
    const run = abctl(['introspectwebshop', '--home', home, '--json']);
    expect(run.code, run.err).toBe(0);
    expect(JSON.parse(run.out)).toMatchObject({ plugin: 'webshop', name: 'webshop', kind: 'appliance', captured: [expect.objectContaining({ fileSet: 'home' })] });

    const described = abctl(['describeAppliances', '--name', 'webshop', '--json']);
    expect(described.code, described.err).toBe(0);
    const [appliance] = (JSON.parse(described.out) as { appliances: { creator: string; fileSets: { root: string; excludes: string[] }[]; properties: { name: string; value?: string }[] }[] }).appliances;
    expect(appliance!.creator).toBe('webshop');
    expect(appliance!.fileSets).toEqual([expect.objectContaining({ root: home, excludes: ['logs/*.log', 'tmp'] })]);
    expect(appliance!.properties).toContainEqual(expect.objectContaining({ name: 'product.home', value: home }));
  });

  it('refuses to render with a variable missing', async () => {
    await expect(renderScaffold(join(tmp, 'incomplete'), { name: 'x', version: '1' })).rejects.toThrow(/not defined/);
  });
});
