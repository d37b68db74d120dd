/**
 * The plugin authors' test kit, imported as `abctl/testkit` (package.json `exports`): run a
 * plugin's dehydrate against a directory of this machine (as the reference host), then its
 * rehydrate (and start, stop, ping) from a real appliance bundle whose file sets land under a
 * temporary root. No instance, no catalog, no test runner of ours: plain async functions that
 * throw abctl's errors, usable from node:test, vitest, mocha... See docs/plugin-authoring.md.
 */
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { LateBindings, LifecycleOperation } from '../../core/lifecycle-contract.js';
import { Appliance, Assembly, AtomicAssembly } from '../../core/metadata/index.js';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import {
  BUNDLE_CONTENT_DIR,
  BUNDLE_FILESETS_DIR,
  BUNDLE_FORMAT_VERSION,
  BUNDLE_PLUGINS_DIR,
  type BundleFileSet,
  type BundleManifest,
} from '../rehydration/bundle-format.js';
import { runAgent, type AgentResult } from '../rehydration/agent.js';
import { writeBundleDocuments } from '../rehydration/bundle.js';
import { BundleKey } from '../rehydration/bundle-key.js';
import { dehydrateLocally, type LocalArchive } from './local-dehydration.js';
import { openSandbox } from './sandbox.js';

export type { Appliance, AtomicAssembly } from '../../core/metadata/index.js';
export type { AgentResult } from '../rehydration/agent.js';

export interface DehydrateOptions {
  /** The plugin directory (or an alias extension's) whose chain runs. */
  readonly plugin: string;
  /**
   * Other plugin directories taking part: its extensions, and for an extension its parent (and
   * theirs). Each directory is named after its plugin, as in an installation.
   */
  readonly with?: readonly string[];
  /** Job parameter values by name (`home`, `keep-logs`...); strings are converted like the command line's. */
  readonly parameters?: Readonly<Record<string, string | number | boolean>>;
  /** Instead of the name the plugin gives its appliance, like `--name`. */
  readonly name?: string;
  /** Capture the file sets (needed to rehydrate them); default true. */
  readonly capture?: boolean;
  /** Plugin log lines; default: kept in `log` only. */
  readonly sink?: (line: string) => void;
}

export interface Dehydrated {
  /** The plugin chain that ran, root first. */
  readonly chain: readonly string[];
  /** The introspection's appliances (one, or those of its atomic assembly). */
  readonly appliances: readonly Appliance[];
  readonly atomicAssembly: AtomicAssembly | undefined;
  /** The first appliance: the usual single result. */
  readonly appliance: Appliance;
  /** Content resource bytes by appliance, then resource name. */
  readonly content: ReadonlyMap<string, ReadonlyMap<string, Uint8Array>>;
  readonly archives: readonly LocalArchive[];
  readonly warnings: readonly string[];
  /** The plugins' log lines. */
  readonly log: readonly string[];
  /** Directory holding the archives and the bundles `rehydrate` writes. */
  readonly workDir: string;
  /** Plugin directories of the chain, by name. */
  readonly pluginDirs: ReadonlyMap<string, string>;
  /** Removes `workDir`. */
  dispose(): Promise<void>;
}

/** Runs the plugin's chain against this machine and returns what it describes, without storing it. */
export async function dehydrate(options: DehydrateOptions): Promise<Dehydrated> {
  const dirs = [resolve(options.plugin), ...(options.with ?? []).map((d) => resolve(d))];
  const log: string[] = [];
  const sink = (line: string): void => {
    log.push(line);
    options.sink?.(line);
  };
  const workDir = await mkdtemp(join(tmpdir(), 'abctl-testkit-'));
  const sandbox = await openSandbox(dirs, { sink });
  try {
    const name = dirs[0]!.slice(dirs[0]!.lastIndexOf('/') + 1);
    const record = sandbox.inventory.records.get(name);
    if (record === undefined || record.state !== 'enabled') {
      const problems = [...sandbox.inventory.records.values()].flatMap((r) => r.problems.map((p) => `${p.where}: ${p.message}`));
      throw new UserError('TESTKIT_PLUGIN_UNUSABLE', `plugin ${name} ${record === undefined ? 'was not found' : `is ${record.state}`}${problems.length ? `: ${problems.join('; ')}` : ''}`, {
        where: dirs[0],
        hint: 'pass the plugin directory (holding plugin.config) as `plugin`, and its parent or extensions in `with`; abctl validatePlugin says more',
      });
    }
    const archiveDir = join(workDir, 'archives');
    await mkdir(archiveDir);
    const run = await dehydrateLocally(sandbox, {
      plugin: name,
      tmpDir: workDir,
      sink,
      ...(options.parameters ? { parameters: options.parameters } : {}),
      ...(options.name !== undefined ? { name: options.name } : {}),
      ...(options.capture === false ? {} : { archiveDir }),
    });
    const pluginDirs = new Map(run.chain.map((n) => [n, sandbox.inventory.records.get(n)!.directory]));
    return {
      chain: run.chain,
      appliances: run.result.appliances,
      atomicAssembly: run.result.atomicAssembly,
      appliance: run.result.appliances[0]!,
      content: run.result.content,
      archives: run.archives,
      warnings: run.warnings,
      log,
      workDir,
      pluginDirs,
      dispose: () => rm(workDir, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(workDir, { recursive: true, force: true });
    throw err;
  } finally {
    await sandbox.close();
  }
}

export interface RehydrateOptions {
  /**
   * Directory standing for the instance's `/`: each file set is extracted at `root` + its
   * root (`/opt/app` lands in `<root>/opt/app`), and the appliance the plugin sees says so.
   */
  readonly root: string;
  /** Which appliance of an atomic assembly; default the first. */
  readonly appliance?: string;
  /** Property values as a deployment plan would set them (passwords too). */
  readonly properties?: Readonly<Record<string, string>>;
  /** This instance and its connected outputs; default: this host, 127.0.0.1, instance 1, no peers. */
  readonly bindings?: Partial<LateBindings>;
  /** Plugin log lines; default: kept in the result's `log` only. */
  readonly sink?: (line: string) => void;
}

export interface Rehydrated extends AgentResult {
  /** The bundle written for the instance (run `lifecycle` on it for start, stop and ping). */
  readonly bundleDir: string;
  readonly log: readonly string[];
}

/**
 * Writes the appliance's bundle (the one `abctl deploy` would ship) into the work directory and
 * runs the agent's rehydrate on it: archives verified and extracted under `root`, then the
 * chain's rehydrate methods.
 */
export async function rehydrate(from: Dehydrated, options: RehydrateOptions): Promise<Rehydrated> {
  const bundleDir = await writeTestBundle(from, options);
  const result = await lifecycle(bundleDir, 'rehydrate', options.sink ? { sink: options.sink } : {});
  return { ...result, bundleDir };
}

/** Runs `start`, `stop`, `ping` (or `rehydrate` again) on a bundle `rehydrate` wrote. */
export async function lifecycle(bundleDir: string, operation: LifecycleOperation, options: { sink?: (line: string) => void } = {}): Promise<Rehydrated> {
  const log: string[] = [];
  const sink = (line: string): void => {
    log.push(line);
    options.sink?.(line);
  };
  const passwordKey = keys.get(resolve(bundleDir));
  const result = await runAgent({ bundleDir, operation, sink, ...(passwordKey ? { passwordKey } : {}) });
  return { ...result, bundleDir, log };
}

let bundles = 0;
/** Each bundle's key, in memory only, as abctl keeps it off the instance (its password values are encrypted). */
const keys = new Map<string, BundleKey>();

async function writeTestBundle(from: Dehydrated, options: RehydrateOptions): Promise<string> {
  const root = resolve(options.root);
  const picked = options.appliance === undefined ? from.appliance : from.appliances.find((a) => a.name === options.appliance);
  if (picked === undefined) {
    throw new UserError('TESTKIT_PLUGIN_UNUSABLE', `no appliance "${options.appliance}" in the result`, { hint: `it has ${from.appliances.map((a) => a.name).join(', ')}` });
  }
  // Copies: the caller's result stays as the plugin made it.
  const appliance = Appliance.fromPlain(picked.toPlain());
  const primary = appliance.fileSetsFrom === undefined ? appliance : Appliance.fromPlain(from.appliances.find((a) => a.name === appliance.fileSetsFrom)!.toPlain());
  for (const def of primary.fileSets) primary.updateFileSet(def.name, { root: join(root, def.root) }, 'framework');
  if (primary !== appliance) for (const def of appliance.fileSets) appliance.updateFileSet(def.name, { root: join(root, def.root) }, 'framework');
  for (const [name, value] of Object.entries(options.properties ?? {})) appliance.properties.set(name, value, 'framework');

  const dir = join(from.workDir, `bundle-${++bundles}`);
  await mkdir(join(dir, BUNDLE_CONTENT_DIR), { recursive: true, mode: 0o700 });
  await mkdir(join(dir, BUNDLE_FILESETS_DIR), { mode: 0o700 });
  const contentResources: Record<string, string> = {};
  for (const [name, bytes] of from.content.get(picked.name) ?? new Map<string, Uint8Array>()) {
    contentResources[name] = `${BUNDLE_CONTENT_DIR}/${name}`;
    await writeFile(join(dir, contentResources[name]!), bytes, { mode: 0o600 });
  }
  const fileSets: BundleFileSet[] = [];
  for (const def of primary.fileSets) {
    const base = { name: def.name, root: def.root, owner: def.owner, group: def.group, scope: def.scope, captured: def.captured };
    const archive = from.archives.find((a) => a.appliance === primary.name && a.fileSet === def.name);
    if (!def.captured || archive === undefined) {
      fileSets.push(def.captured ? { ...base, captured: false } : base);
      continue;
    }
    const rel = `${BUNDLE_FILESETS_DIR}/${def.name}.tar.gz`;
    await cp(archive.file, join(dir, rel));
    fileSets.push({ ...base, archive: rel, codec: archive.codec, size: archive.size, sha256: archive.sha256 });
  }
  for (const [name, source] of from.pluginDirs) await cp(source, join(dir, BUNDLE_PLUGINS_DIR, name), { recursive: true, dereference: true });

  const top = from.atomicAssembly ? AtomicAssembly.fromPlain(from.atomicAssembly.toPlain()) : appliance;
  const assembly = new Assembly({ name: 'testkit', members: [top] });
  const path = from.atomicAssembly ? `${from.atomicAssembly.name}/${appliance.name}` : appliance.name;
  const bindings: LateBindings = {
    instance: { hostName: hostname(), addresses: ['127.0.0.1'], index: 1, ...options.bindings?.instance },
    outputs: options.bindings?.outputs ?? {},
  };
  const manifest: BundleManifest = {
    formatVersion: BUNDLE_FORMAT_VERSION,
    deployment: 'testkit',
    assembly: assembly.name,
    appliance: path,
    instanceIndex: bindings.instance.index,
    chain: from.chain,
    plugins: from.chain.map((name) => ({ name, version: '', directory: `${BUNDLE_PLUGINS_DIR}/${name}` })),
    fileSets,
    contentResources,
    createdAt: new Date().toISOString(),
    sdkVersion: SDK_VERSION,
  };
  const passwordKey = BundleKey.generate();
  keys.set(resolve(dir), passwordKey);
  await writeBundleDocuments(dir, { appliance: appliance.toPlain(), assembly: assembly.toPlain(), bindings, manifest, passwordKey });
  return dir;
}
