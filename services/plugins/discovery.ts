/**
 * Plugin discovery: reads every `<dir>/<plugin>/plugin.config` of the given plugin
 * directories and builds the inventory. Reads only; never loads plugin code (that is
 * activation's job), so a broken plugin cannot hurt discovery of the others.
 */
import { readFile as readFileCallback } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parsePluginConfig } from '../../core/plugin-manifest.js';
import type {
  PluginDirectoryReading,
  PluginInventory,
  PluginProblem,
  PluginSource,
} from '../../core/plugin-model.js';
import { buildPluginInventory, type BuildInventoryOptions } from '../../core/plugin-tree.js';

export const PLUGIN_CONFIG_FILE = 'plugin.config';

export const DiscoveryProblemCode = Object.freeze({
  /** A plugin directory without plugin.config (the reference makes this an error). */
  CONFIG_MISSING: 'PLUGIN_CONFIG_MISSING',
  /** plugin.config exists but could not be read (permissions, a directory, ...). */
  CONFIG_UNREADABLE: 'PLUGIN_CONFIG_UNREADABLE',
  /** A plugins directory that exists but cannot be listed; goes to inventory.problems. */
  DIR_UNREADABLE: 'PLUGIN_DIR_UNREADABLE',
});

export interface PluginDirectorySpec {
  readonly path: string;
  readonly source: PluginSource;
}

export interface DirectoryReadResult {
  readonly readings: PluginDirectoryReading[];
  /** Problems of no single plugin: a plugins directory that cannot be listed. */
  readonly problems: PluginProblem[];
}

/** Open files at once; bounded so thousands of plugins cannot run out of descriptors. */
const READ_CONCURRENCY = 128;

// fs.promises.readFile is several times slower than the callback form for many small
// files on Node 20 (measured ~60 ms vs ~20 ms for 1,000 plugin.config files).
const readFile = promisify(readFileCallback);

/**
 * Lists each directory (a missing one is simply empty) and reads each plugin
 * subdirectory's plugin.config. Dot-directories and plain files are skipped; symbolic
 * links to directories count. Readings keep the order of `dirs`, sorted by directory
 * name within each, so callers get the same answer on every file system.
 */
export async function readPluginDirectories(dirs: readonly PluginDirectorySpec[]): Promise<DirectoryReadResult> {
  const problems: PluginProblem[] = [];
  const listed = await Promise.all(dirs.map((d) => listPluginDirs(d, problems)));
  const jobs: { dirName: string; directory: string; source: PluginSource }[] = [];
  listed.forEach((names, i) => {
    const spec = dirs[i] as PluginDirectorySpec;
    for (const dirName of names) jobs.push({ dirName, directory: join(spec.path, dirName), source: spec.source });
  });
  const readings = new Array<PluginDirectoryReading>(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      const job = jobs[i] as (typeof jobs)[number];
      readings[i] = await readOne(job.dirName, job.directory, job.source);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, jobs.length) }, worker));
  return { readings, problems };
}

async function listPluginDirs(spec: PluginDirectorySpec, problems: PluginProblem[]): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(spec.path, { withFileTypes: true });
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return [];
    problems.push({
      code: DiscoveryProblemCode.DIR_UNREADABLE,
      message: `cannot list the ${spec.source} plugins directory: ${messageOf(err)}`,
      where: spec.path,
      hint: codeOf(err) === 'ENOTDIR' ? 'remove the file or move it out of the way' : 'check the directory permissions',
    });
    return [];
  }
  const names: string[] = [];
  const links: string[] = [];
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) names.push(e.name);
    else if (e.isSymbolicLink()) links.push(e.name);
  }
  // Symbolic links (e.g. a plugin under development linked into the instance) count when they lead to a directory.
  const linkDirs = await Promise.all(
    links.map((n) =>
      stat(join(spec.path, n)).then(
        (s) => s.isDirectory(),
        () => false,
      ),
    ),
  );
  links.forEach((n, i) => {
    if (linkDirs[i]) names.push(n);
  });
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

async function readOne(dirName: string, directory: string, source: PluginSource): Promise<PluginDirectoryReading> {
  const file = join(directory, PLUGIN_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const missing = codeOf(err) === 'ENOENT';
    const problem: PluginProblem = missing
      ? {
          code: DiscoveryProblemCode.CONFIG_MISSING,
          message: `plugin directory "${dirName}" has no ${PLUGIN_CONFIG_FILE}`,
          where: file,
          hint: `create ${file} with at least "name = ${dirName}" and "version = 1.0", or remove the directory ${directory}`,
        }
      : {
          code: DiscoveryProblemCode.CONFIG_UNREADABLE,
          message: `cannot read ${PLUGIN_CONFIG_FILE}: ${messageOf(err)}`,
          where: file,
          hint: 'make it a readable regular file',
        };
    return { dirName, directory, source, manifest: undefined, problems: [problem] };
  }
  const parsed = parsePluginConfig(text, { file, dirName });
  return { dirName, directory, source, manifest: parsed.manifest, problems: parsed.problems };
}

/** Reads the directories (in precedence order: installed before bundled) and builds the inventory. */
export async function discoverPlugins(
  dirs: readonly PluginDirectorySpec[],
  opts: BuildInventoryOptions,
): Promise<PluginInventory> {
  const { readings, problems } = await readPluginDirectories(dirs);
  const inventory = buildPluginInventory(readings, opts);
  return { ...inventory, problems: [...problems, ...inventory.problems] };
}

function codeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
