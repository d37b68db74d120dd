/**
 * Writes an appliance bundle (layout in bundle-format.ts and docs/rehydration.md): all one
 * instance needs to be rehydrated, started, stopped and pinged by the agent, with no catalog.
 * The deployer calls `writeBundle` once per instance.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, cp, link, lstat, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../../core/errors.js';
import type { LateBindings } from '../../core/lifecycle-contract.js';
import { Appliance, Assembly, contentResourceUri } from '../../core/metadata/index.js';
import type { DeploymentPlan, PlanNode } from '../../core/deployment-plan/index.js';
import type { PluginInventory } from '../../core/plugin-model.js';
import { SDK_VERSION } from '../../core/plugin-contract.js';
import type { Catalog, FileSetArchive } from '../../catalog/index.js';
import { renderDocument, type Plain } from '../../catalog/xml-codec.js';
import { projectRoot } from '../instance.js';
import {
  AGENT_FILE,
  BUNDLE_APPLIANCE,
  BUNDLE_ASSEMBLY,
  BUNDLE_BINDINGS,
  BUNDLE_CONTENT_DIR,
  BUNDLE_FILESETS_DIR,
  BUNDLE_FORMAT_VERSION,
  BUNDLE_MANIFEST,
  BUNDLE_PLUGINS_DIR,
  type BundleFileSet,
  type BundleManifest,
  type BundlePlugin,
} from './bundle-format.js';
import { BundleKey } from './bundle-key.js';
import { sealPeerSecrets, splitPeerSecrets } from './peer-secrets.js';
import { applianceAt, applyPlan } from './plan-overlay.js';
import { chainNames } from '../jobs/plugin-chain.js';
import { checkRecordedChains, madeAppliance } from './recorded-chain.js';

const run = promisify(execFile);

export interface WriteBundleRequest {
  /** Where the appliance's content resources and file set archives are read from. */
  readonly catalog: Catalog;
  /** The top-level assembly being deployed, as the catalog holds it (its edits included). */
  readonly assembly: Assembly;
  /** The deployment plan, passwords in clear (as DeploymentPlanService reads it); undefined: no overrides. */
  readonly plan: DeploymentPlan | undefined;
  /** The appliance's path in the assembly: `web`, `tier/web`, `atomic/admin`. */
  readonly appliance: string;
  /**
   * The catalog appliance the member was copied from (`addToAssembly --as` renames it). Default:
   * the member's own name, else the only appliance of its creator and type. Content resources
   * are read from there; archives from the assembly's copy when it has them.
   */
  readonly source?: string;
  /** 1-based, as the plan numbers instances. */
  readonly instanceIndex: number;
  readonly bindings: LateBindings;
  /** The deployer's plugins: the chain is the creator and its enabled extensions. */
  readonly inventory: PluginInventory;
  /** Deployment name, recorded in bundle.json. */
  readonly deployment: string;
  /** Created (0700); must not exist or be empty. */
  readonly outDir: string;
  /** Also pack the directory into this one tar file (GNU tar; mode 0600). */
  readonly archive?: string;
  /** Copy the agent (dist/abctl-agent.mjs, written by `npm run build`) into the bundle; default true. */
  readonly includeAgent?: boolean;
  /**
   * The variant an OCI image carries (services/image): no archives (file sets are marked
   * `inImage`; `ownersInLayer` names those whose layer already has the definition's owner), no
   * password values (they arrive at run time), and a fixed createdAt so the image is reproducible.
   */
  readonly image?: { readonly ownersInLayer: readonly string[] };
  /**
   * The key appliance.xml's password values are encrypted with (bundle-key.ts); default: a new
   * one, returned. An image's bundle holds no password values, so it has none.
   */
  readonly passwordKey?: BundleKey;
}

export interface WrittenBundle {
  readonly dir: string;
  readonly manifest: BundleManifest;
  readonly archive?: string;
  /** What the agent needs on stdin (--key-stdin) for operations that read a password; absent for an image's bundle. */
  readonly passwordKey?: BundleKey;
}

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/** Where `npm run build` writes the one-file agent. */
export function agentFile(): string {
  return join(projectRoot(), 'dist', AGENT_FILE);
}

/**
 * Writes the bundle of one instance. Errors name what is missing (an uncaptured file set, a
 * plugin not installed here, a content resource without bytes) and what to run about it.
 */
export async function writeBundle(req: WriteBundleRequest): Promise<WrittenBundle> {
  const out = resolve(req.outDir);
  await prepareDir(out);
  const { assembly: overlaid, files: planFiles } = applyPlan(req.assembly, req.plan);
  const appliance = applianceAt(overlaid, req.appliance);
  const owner = await catalogOwner(req, appliance, req.appliance, req.source);
  // A sibling in an atomic assembly has no file sets of its own: it ships its primary's.
  const primaryPath = appliance.fileSetsFrom === undefined ? undefined : [...req.appliance.split('/').slice(0, -1), appliance.fileSetsFrom].join('/');
  const primary = primaryPath === undefined ? appliance : applianceAt(overlaid, primaryPath);
  const fileSetOwner = primaryPath === undefined ? owner.fileSets : (await catalogOwner(req, primary, primaryPath, undefined)).fileSets;

  const chain = chainOf(req.inventory, appliance);
  // Every target and image gets here: a recorded extension that is gone refuses the bundle (deploy checked it earlier and warned).
  checkRecordedChains(req.inventory, [madeAppliance(req.appliance, appliance)], `assembly "${req.assembly.name}"`);
  const plugins = await copyPlugins(req.inventory, chain, out);

  // Content resources, then the files the plan gives for fileRef properties (they become content resources too).
  const contentResources: Record<string, string> = {};
  await mkdir(join(out, BUNDLE_CONTENT_DIR), { mode: DIR_MODE });
  for (const r of appliance.contentResources) {
    const rel = `${BUNDLE_CONTENT_DIR}/${r.name}`;
    await writeFile(join(out, rel), await req.catalog.readContent(owner.content, r.name), { mode: FILE_MODE });
    contentResources[r.name] = rel;
  }
  let applied: Appliance = appliance;
  for (const f of planFiles.filter((p) => p.appliance === req.appliance)) {
    const name = `plan-${f.property.replace(/[^A-Za-z0-9._~-]/g, '_')}`;
    const from = isAbsolute(f.file) ? f.file : resolve(req.plan?.file ? dirname(req.plan.file) : '.', f.file);
    if (!existsSync(from)) {
      throw new UserError('PLAN_FILE_MISSING', `the plan gives file ${from} for fileRef property "${f.property}", and it does not exist`, {
        ...(req.plan?.file ? { where: req.plan.file } : {}),
        hint: 'fix the file= attribute (relative paths are relative to the plan file)',
      });
    }
    const rel = `${BUNDLE_CONTENT_DIR}/${name}`;
    await copyFile(from, join(out, rel));
    await chmod(join(out, rel), FILE_MODE);
    contentResources[name] = rel;
    applied = withPlanFile(applied, name, f.property);
  }

  const fileSets = req.image
    ? inImageFileSets(primary === appliance ? applied : primary, req.image.ownersInLayer)
    : await copyArchives(req.catalog, fileSetOwner, primary === appliance ? applied : primary, out, planMountTargets(req.plan, primaryPath ?? req.appliance));

  const manifest: BundleManifest = {
    formatVersion: BUNDLE_FORMAT_VERSION,
    deployment: req.deployment,
    assembly: req.assembly.name,
    appliance: req.appliance,
    instanceIndex: req.instanceIndex,
    chain,
    plugins,
    fileSets,
    contentResources,
    createdAt: req.image ? new Date(0).toISOString() : new Date().toISOString(),
    sdkVersion: SDK_VERSION,
  };
  const passwordKey = req.image ? undefined : (req.passwordKey ?? BundleKey.generate());
  const written = await writeBundleDocuments(out, {
    appliance: req.image ? withoutPasswords(applied.toPlain()) : applied.toPlain(),
    assembly: withoutPasswords(overlaid.toPlain()),
    bindings: req.bindings,
    manifest,
    beforeManifest: req.includeAgent ?? true ? () => copyAgent(out) : undefined,
    passwordKey,
  });
  const result = { dir: out, manifest: written, ...(passwordKey ? { passwordKey } : {}) };

  if (req.archive === undefined) return result;
  const archive = resolve(req.archive);
  await rm(archive, { force: true });
  await writeFile(archive, '', { mode: FILE_MODE });
  await run('tar', ['-cf', archive, '-C', out, '.']);
  await chmod(archive, FILE_MODE);
  return { ...result, archive };
}

async function prepareDir(out: string): Promise<void> {
  const existing = await readdir(out).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (existing && existing.length > 0) {
    throw new UserError('BUNDLE_DIR_NOT_EMPTY', 'the bundle directory already has files; a bundle is written into a new or empty directory', {
      where: out,
      hint: 'remove it, or give another directory',
    });
  }
  await mkdir(out, { recursive: true, mode: DIR_MODE });
  await chmod(out, DIR_MODE);
}

async function writeText(dir: string, name: string, text: string): Promise<void> {
  await writeFile(join(dir, name), text, { mode: FILE_MODE });
}

/** The documents every bundle holds, in the order that keeps a half-written one recognisable. */
export interface BundleDocuments {
  readonly appliance: unknown;
  readonly assembly: unknown;
  readonly bindings: LateBindings;
  readonly manifest: BundleManifest;
  /** Runs after the other documents, before bundle.json (e.g. copying the agent in). */
  readonly beforeManifest?: (() => Promise<void>) | undefined;
  /** Encrypts the appliance's and the peers' password values; bundle.json then names the key (its id, never the key). */
  readonly passwordKey?: BundleKey | undefined;
}

/**
 * Writes appliance.xml, assembly.xml, bindings.json and, last, bundle.json (0600 each) into
 * `dir`; resolves to the manifest as written.
 */
export async function writeBundleDocuments(dir: string, docs: BundleDocuments): Promise<BundleManifest> {
  const key = docs.passwordKey;
  const where = join(dir, BUNDLE_APPLIANCE);
  await writeText(dir, BUNDLE_APPLIANCE, renderDocument('appliance', docs.appliance as Plain, { where, ...(key ? { secret: (clear: string) => key.encrypt(clear) } : {}) }));
  await writeText(dir, BUNDLE_ASSEMBLY, renderDocument('assembly', docs.assembly as Plain, { where: join(dir, BUNDLE_ASSEMBLY) }));
  // Peers' password values rest sealed like the appliance's; without a key (an image) there are none.
  const bindings = key ? sealPeerSecrets(docs.bindings, key) : splitPeerSecrets(docs.bindings).bindings;
  await writeText(dir, BUNDLE_BINDINGS, `${JSON.stringify(bindings, null, 2)}\n`);
  await docs.beforeManifest?.();
  const manifest: BundleManifest = key ? { ...docs.manifest, passwordKey: key.describe() } : docs.manifest;
  // bundle.json last: a bundle without it is visibly incomplete.
  await writeText(dir, BUNDLE_MANIFEST, `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/**
 * Catalog paths to read a member's content and archives from. addToAssembly copies archives
 * into the assembly's copy of the member, so those come from there when present; content
 * resources stay with the catalog appliance it was copied from: `source`, else one of that
 * name, else the only top-level appliance of the same creator and type holding them all.
 */
export async function catalogOwner(req: Pick<WriteBundleRequest, 'catalog' | 'assembly'>, member: Appliance, path: string, source: string | undefined): Promise<{ content: string; fileSets: string }> {
  const inAssembly = `${req.assembly.name}/${path}`;
  const hasContent = async (owner: string): Promise<boolean> =>
    (await Promise.all(member.contentResources.map((r) => req.catalog.readContent(owner, r.name).then(() => true, () => false)))).every(Boolean);
  const hasArchives = async (owner: string): Promise<boolean> =>
    !member.fileSets.some((f) => f.captured) || (await req.catalog.fileSetArchives(owner).catch(() => [])).length > 0;

  const candidates: string[] = [inAssembly];
  if (source !== undefined) candidates.push(source);
  else {
    if (await req.catalog.hasAppliance(member.name)) candidates.push(member.name);
    const same = (await req.catalog.listAppliances()).items.filter((a) => a.creator === member.creator && a.type === member.type && a.name !== member.name);
    if (same.length === 1) candidates.push((same[0] as Appliance).name);
  }
  let content: string | undefined;
  let fileSets: string | undefined;
  for (const c of candidates) {
    content ??= (await hasContent(c)) ? c : undefined;
    fileSets ??= (await hasArchives(c)) ? c : undefined;
  }
  if (content === undefined) {
    throw new UserError('BUNDLE_CONTENT_MISSING', `the content resources of appliance "${path}" (${member.contentResources.map((r) => r.name).join(', ')}) were found in none of: ${candidates.join(', ')}`, {
      where: member.where,
      hint: 'name the catalog appliance the member was copied from (writeBundle source), or introspect it again',
    });
  }
  return { content, fileSets: fileSets ?? inAssembly };
}

function chainOf(inventory: PluginInventory, appliance: Appliance): string[] {
  const record = inventory.records.get(appliance.creator);
  if (record === undefined || record.state !== 'enabled') {
    const why = record === undefined ? 'is not installed here' : `is ${record.state}`;
    throw new UserError('BUNDLE_PLUGIN_UNAVAILABLE', `appliance "${appliance.name}" was created by plugin "${appliance.creator}", which ${why}; its code goes into the bundle`, {
      where: appliance.where,
      hint: record === undefined ? `install it: abctl installPlugins --from <directory holding ${appliance.creator}>` : `abctl describePlugins shows why; enable it with abctl enablePlugin --name ${appliance.creator}`,
    });
  }
  // A broken extension refuses the bundle: the instance would come up without its part, reported as a success.
  return chainNames(inventory, appliance.creator, `deploying appliance "${appliance.name}"`);
}

async function copyPlugins(inventory: PluginInventory, chain: readonly string[], out: string): Promise<BundlePlugin[]> {
  const base = join(out, BUNDLE_PLUGINS_DIR);
  await mkdir(base, { mode: DIR_MODE });
  const plugins: BundlePlugin[] = [];
  for (const name of chain) {
    const record = inventory.records.get(name);
    if (record === undefined) continue; // a chain only lists known records
    // The plugin's own tree, links followed: the bundle must not point back into this machine.
    await cp(record.directory, join(base, name), { recursive: true, dereference: true });
    plugins.push({ name, version: record.manifest?.version ?? '', directory: `${BUNDLE_PLUGINS_DIR}/${name}` });
  }
  await restrict(base);
  return plugins;
}

/** Plugin code is not secret, but it sits in a directory that is: 0700 dirs, files keep no group/other bits. */
async function restrict(dir: string): Promise<void> {
  await chmod(dir, DIR_MODE);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await restrict(p);
    else if (e.isFile()) await chmod(p, (await stat(p)).mode & 0o700);
  }
}

/**
 * The plan's NFS mount targets of the appliance at `path` (siblings give theirs on the
 * primary, which owns the file sets): file set name -> target.
 */
function planMountTargets(plan: DeploymentPlan | undefined, path: string): Map<string, string> {
  let node: PlanNode | undefined = plan?.root;
  for (const name of path.split('/')) node = node?.children.find((c) => c.name === name && c.kind !== 'input' && c.kind !== 'output' && c.kind !== 'interface');
  return new Map((node?.mountTargets ?? []).filter((m) => m.target !== '').map((m) => [m.fileSet, m.target]));
}

async function copyArchives(catalog: Catalog, owner: string, appliance: Appliance, out: string, mounts: ReadonlyMap<string, string>): Promise<BundleFileSet[]> {
  const defs = appliance.fileSets;
  if (defs.length === 0) return [];
  await mkdir(join(out, BUNDLE_FILESETS_DIR), { mode: DIR_MODE });
  const archives = await catalog.fileSetArchives(owner).catch(() => [] as FileSetArchive[]);
  const result: BundleFileSet[] = [];
  for (const def of defs) {
    // A shared NFS file set is mounted at its root from the plan's target (or the definition's).
    const mountTarget = def.sharedType === 'NFS' ? (def.mountTarget?.source === 'definition' ? def.mountTarget.target : mounts.get(def.name)) : undefined;
    if (def.sharedType === 'NFS' && mountTarget === undefined) {
      throw new UserError('PLAN_MOUNT_TARGET_MISSING', `shared NFS file set "${def.name}" of appliance "${appliance.name}" has no mount target in the plan`, {
        where: appliance.where,
        hint: `set target="server:/export" on <mountTarget fileSet="${def.name}"> in the plan (abctl validateDeploymentPlan lists what is missing)`,
      });
    }
    const base = { name: def.name, root: def.root, owner: def.owner, group: def.group, scope: def.scope, captured: def.captured, ...(mountTarget !== undefined ? { mountTarget } : {}) };
    if (!def.captured) {
      result.push(base);
      continue;
    }
    const rec = archives.find((a) => a.name === def.name);
    if (!rec || !existsSync(rec.path)) {
      throw new UserError('BUNDLE_FILESET_NOT_CAPTURED', `file set "${def.name}" of appliance "${appliance.name}" has no captured archive in the catalog`, {
        where: appliance.where,
        hint: `capture it first: abctl captureFileSets --appliance ${owner.split('/')[0]}`,
      });
    }
    const file = `${BUNDLE_FILESETS_DIR}/${rec.path.slice(rec.path.lastIndexOf('/') + 1)}`;
    await linkOrCopy(rec.path, join(out, file));
    result.push({ ...base, archive: file, codec: rec.codec, size: rec.size, sha256: rec.sha256 });
  }
  return result;
}

function inImageFileSets(appliance: Appliance, ownersInLayer: readonly string[]): BundleFileSet[] {
  return appliance.fileSets.map((def) => ({
    name: def.name,
    root: def.root,
    owner: def.owner,
    group: def.group,
    scope: def.scope,
    captured: def.captured,
    ...(def.captured ? { inImage: true, ownerInLayer: ownersInLayer.includes(def.name) } : {}),
  }));
}

/**
 * A hard link costs nothing for archives of gigabytes, but shares the inode: it is used only
 * when the catalog's file already has no group/other bits, so the bundle's rule (0600) holds
 * without changing the catalog's file. Otherwise, and across file systems, a copy.
 */
async function linkOrCopy(from: string, to: string): Promise<void> {
  const info = await lstat(from);
  if ((info.mode & 0o077) === 0) {
    try {
      await link(from, to);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'EMLINK') throw err;
    }
  }
  await copyFile(from, to);
  await chmod(to, FILE_MODE);
}

async function copyAgent(out: string): Promise<void> {
  const file = agentFile();
  if (!existsSync(file)) {
    throw new UserError('AGENT_MISSING', `the one-file agent ${file} has not been built`, { hint: 'run npm run build (it bundles the agent with esbuild)' });
  }
  await copyFile(file, join(out, AGENT_FILE));
  await chmod(join(out, AGENT_FILE), FILE_MODE);
}

/** Point the fileRef property at the content resource made from the plan's file. */
function withPlanFile(appliance: Appliance, resource: string, property: string): Appliance {
  const plain = appliance.toPlain();
  plain.contentResources = [...plain.contentResources, { name: resource, path: resource, description: `file the deployment plan gave for ${property}` }];
  const copy = Appliance.fromPlain(plain);
  copy.properties.set(property, contentResourceUri(resource), 'framework');
  return copy;
}

/** Password values of other members stay on the deployer; the navigator shows that they are set, not what they are. */
export function withoutPasswords(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPasswords);
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (o['secret'] === true && k === 'value') continue;
    out[k] = withoutPasswords(v);
  }
  return out;
}

