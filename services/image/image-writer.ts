/**
 * `createTemplate`: one OCI image per appliance (or per member of an atomic assembly), the
 * reference's VM templates made containers. An image is the base's layers, one layer per
 * captured file set (services/image/fileset-layer.ts), and one layer with the agent, the Node.js
 * binary and the appliance bundle in its image variant (no archives, no passwords). Layout,
 * contract and limits: docs/images.md.
 *
 * Reproducible: the layers abctl writes have fixed owners, order and mtimes, the config has a
 * fixed `created` and no other time, JSON is written in one key order: the same catalog, base,
 * plugins, agent and node binary give the same manifest digest.
 */
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { UserError } from '../../core/errors.js';
import { Appliance, Assembly, AtomicAssembly } from '../../core/metadata/index.js';
import { resolveObjectPath } from '../../core/deployment-plan/index.js';
import type { PluginInventory } from '../../core/plugin-model.js';
import type { Catalog } from '../../catalog/index.js';
import { writeBundle, agentFile } from '../rehydration/bundle.js';
import type { BundleManifest } from '../rehydration/bundle-format.js';
import { CONTAINER } from '../rehydration/foreground.js';
import { applianceAt } from '../rehydration/plan-overlay.js';
import { checkRecordedChains, madeAppliance } from '../rehydration/recorded-chain.js';
import type { TarHeaderInput } from '../archive/tar-header.js';
import { openBase, type BaseImage } from './base.js';
import { fileSetLayer } from './fileset-layer.js';
import { FIXED_MTIME, LayerWriter, dirHeader } from './layer-writer.js';
import { imageLayoutDir, imageName, imageRepository, imageTag } from './names.js';
import { BlobStore, INDEX_FILE, MEDIA_TYPES, OCI_LAYOUT_FILE, REF_NAME_ANNOTATION, type Descriptor, type ImageConfig, type LayerDescriptor } from './oci.js';

const run = promisify(execFile);

/** The config's only time: images carry no build time, so the same inputs give the same digest. */
export const FIXED_CREATED = new Date(FIXED_MTIME * 1000).toISOString();

export const ENTRYPOINT: readonly string[] = Object.freeze([CONTAINER.node, CONTAINER.agent, 'run', '--bundle', CONTAINER.bundle]);
export const HEALTHCHECK: readonly string[] = Object.freeze([CONTAINER.node, CONTAINER.agent, 'ping', '--bundle', CONTAINER.bundle]);

export interface ImageProgress {
  readonly appliance: string;
  /** `base`, `file set home`, `agent`, `archive`. */
  readonly layer: string;
  /** Uncompressed bytes handled so far in this layer. */
  readonly bytes: number;
}

export interface CreateTemplateRequest {
  readonly catalog: Catalog;
  readonly inventory: PluginInventory;
  /** A top-level catalog appliance, or with `assembly` a member path (an atomic assembly: every member). */
  readonly appliance: string;
  readonly assembly?: string;
  /** OCI layout directory, oci-archive file (either with `:REF`), or root file system directory. */
  readonly base: string;
  /**
   * `base` already opened by the caller, who closes it: several calls share it, so a root file
   * system directory is packed into its layer once (a 400 MB base takes tens of seconds).
   */
  readonly openedBase?: BaseImage;
  readonly outDir: string;
  /** Also write an oci-archive of each layout: this file for one image, `<stem>-<name>.tar` for several. */
  readonly archive?: string;
  /** The Node.js binary to ship, or `none` when the base has Node.js >= 20 on its PATH. Default: this one. */
  readonly node?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ImageProgress) => void;
  /**
   * Runs once the base is open and before anything is written: base image validation
   * (services/validation beforeImage) refuses here, listing every problem.
   */
  readonly check?: (base: BaseImage, appliances: readonly { readonly label: string; readonly appliance: Appliance }[]) => Promise<void>;
  /**
   * Each warning of the recorded-chain check (an extension the appliance was made with that is
   * disabled here, or older than recorded), before anything is written; a missing one refuses.
   * Callers that checked the chains themselves (deploy, exportAssembly) leave it out.
   */
  readonly onWarning?: (warning: string) => void;
}

export interface WrittenLayer {
  readonly layer: string;
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  /** A captured archive used as the layer unchanged. */
  readonly reused?: boolean;
}

export interface WrittenImage {
  /** The appliance's path in the assembly. */
  readonly appliance: string;
  /** `abctl/<name>` */
  readonly repository: string;
  readonly tag: string;
  readonly dir: string;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly layers: readonly WrittenLayer[];
  readonly archive?: string;
}

interface Target {
  readonly assembly: Assembly;
  readonly path: string;
}

/** The appliances to image: a top-level appliance, or an assembly's member (each member of an atomic one). */
async function targets(catalog: Catalog, applianceArg: string, assemblyArg: string | undefined): Promise<Target[]> {
  if (assemblyArg === undefined) {
    if (!(await catalog.hasAppliance(applianceArg))) {
      throw new UserError('IMAGE_APPLIANCE_INVALID', `the catalog has no top-level appliance "${applianceArg}"`, {
        hint: (await catalog.hasAssembly(applianceArg)) ? `"${applianceArg}" is an assembly: give --assembly ${applianceArg} --appliance <member path>` : 'abctl describeAppliances lists them; for an assembly member add --assembly NAME',
      });
    }
    const appliance = await catalog.getAppliance(applianceArg);
    // A one-member assembly around it: the bundle writer reads every appliance through an assembly.
    return [{ assembly: new Assembly({ name: appliance.name, members: [Appliance.fromPlain(appliance.toPlain())] }), path: appliance.name }];
  }
  const assembly = await catalog.getAssembly(assemblyArg);
  if (!(assembly instanceof Assembly)) {
    throw new UserError('IMAGE_APPLIANCE_INVALID', `"${assemblyArg}" is an atomic assembly; images are made from the assembly holding it`, { hint: 'add it to an assembly (abctl addToAssembly) and name that one' });
  }
  const found = resolveObjectPath(assembly, applianceArg);
  if (found.holder instanceof Appliance && !found.path.part) return [{ assembly, path: applianceArg }];
  if (found.holder instanceof AtomicAssembly) return found.holder.appliances.map((a) => ({ assembly, path: `${applianceArg}/${a.name}` }));
  throw new UserError('IMAGE_APPLIANCE_INVALID', `"${applianceArg}" in assembly "${assemblyArg}" is neither an appliance nor an atomic assembly`, {
    where: found.where,
    hint: 'external resources and sub-assemblies have no image; name an appliance or an atomic assembly',
  });
}

/** name -> id from an /etc/passwd or /etc/group text. */
function accounts(text: string | undefined, idField: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const f = line.split(':');
    if (f.length > idField && f[0] && /^\d+$/.test(f[idField] ?? '')) out.set(f[0], Number(f[idField]));
  }
  return out;
}

function checkNode(node: string | undefined): string | undefined {
  if (node === 'none') return undefined;
  const file = resolve(node ?? process.execPath);
  if (!existsSync(file) || !statSync(file).isFile() || (statSync(file).mode & 0o111) === 0) {
    throw new UserError('IMAGE_NODE_INVALID', `${file} is not an executable file`, { hint: 'give the Node.js binary (20 or later) to ship with --node, or --node none when the base has node on its PATH' });
  }
  return file;
}

export async function createTemplates(req: CreateTemplateRequest): Promise<WrittenImage[]> {
  const node = checkNode(req.node);
  const list = await targets(req.catalog, req.appliance, req.assembly);
  // The chains the appliances were made with against the plugins the images get, as deploy compares them (writeBundle refuses again per image).
  const made = list.map((t) => madeAppliance(t.path, applianceAt(t.assembly, t.path)));
  for (const w of checkRecordedChains(req.inventory, made, req.assembly === undefined ? 'the catalog' : `assembly "${req.assembly}"`, 'write the image again')) req.onWarning?.(w);
  const outDir = resolve(req.outDir);
  try {
    await mkdir(outDir, { recursive: true });
  } catch (err) {
    throw new UserError('IMAGE_OUTPUT_INVALID', `the output directory cannot be created: ${(err as Error).message}`, { where: outDir, hint: 'give a writable --out directory' });
  }
  const work = await mkdtemp(join(tmpdir(), 'abctl-image-'));
  const base = req.openedBase ?? (await openBase(req.base, { workDir: work }));
  try {
    await req.check?.(base, list.map((t) => ({ label: t.path, appliance: applianceAt(t.assembly, t.path) })));
    const passwd = accounts((await base.readFile('/etc/passwd'))?.toString('utf8'), 2);
    const groups = accounts((await base.readFile('/etc/group'))?.toString('utf8'), 2);
    const written: WrittenImage[] = [];
    for (const t of list) {
      const archive = req.archive === undefined ? undefined : list.length === 1 ? resolve(req.archive) : join(dirname(resolve(req.archive)), `${basename(req.archive).replace(/\.tar$/, '')}-${imageName(t.path)}.tar`);
      written.push(await writeImage({ req, target: t, base, node, outDir, work, passwd, groups, archive }));
    }
    return written;
  } finally {
    if (!req.openedBase) await base.close();
    await rm(work, { recursive: true, force: true });
  }
}

interface ImageJob {
  readonly req: CreateTemplateRequest;
  readonly target: Target;
  readonly base: BaseImage;
  readonly node: string | undefined;
  readonly outDir: string;
  readonly work: string;
  readonly passwd: Map<string, number>;
  readonly groups: Map<string, number>;
  readonly archive: string | undefined;
}

const NO_BINDINGS = { instance: { hostName: '', addresses: [], index: 1 }, outputs: {} };

async function writeImage(job: ImageJob): Promise<WrittenImage> {
  const { req, target } = job;
  const name = imageName(target.path);
  const progress = (layer: string) => (bytes: number) => req.onProgress?.({ appliance: target.path, layer, bytes });
  const bundleRequest = { catalog: req.catalog, assembly: target.assembly, plan: undefined, appliance: target.path, instanceIndex: 1, bindings: NO_BINDINGS, inventory: req.inventory, deployment: 'image', includeAgent: false };
  // The deploy variant first (in a private temp dir): it finds each file set's archive, the primary's for a sibling.
  const full = await writeBundle({ ...bundleRequest, outDir: join(job.work, `${name}-full`) });

  const final = imageLayoutDir(job.outDir, target.path);
  const layout = `${final}.partial-${randomBytes(4).toString('hex')}`;
  const store = new BlobStore(layout);
  await store.init();
  try {
    const layers: (LayerDescriptor & { layer: string; reused?: boolean })[] = [];
    for (const l of await job.base.layers(progress('base'))) {
      await store.putFile(l.file, l.digest.slice('sha256:'.length));
      layers.push({ layer: 'base', mediaType: l.mediaType, digest: l.digest, size: l.size, diffId: l.diffId });
    }
    const baseLayerCount = layers.length;
    const ownersInLayer: string[] = [];
    for (const fs of full.manifest.fileSets) {
      if (!fs.archive || !fs.sha256 || !fs.codec) continue;
      const uid = job.passwd.get(fs.owner);
      const gid = job.groups.get(fs.group);
      if (uid !== undefined && gid !== undefined) ownersInLayer.push(fs.name);
      const l = await fileSetLayer(store, {
        name: fs.name,
        root: fs.root,
        archive: join(full.dir, fs.archive),
        codec: fs.codec,
        sha256: fs.sha256,
        uid: uid ?? 0,
        gid: gid ?? 0,
        owner: uid !== undefined ? fs.owner : 'root',
        group: gid !== undefined ? fs.group : 'root',
        ...(req.signal ? { signal: req.signal } : {}),
        onProgress: progress(`file set ${fs.name}`),
      });
      layers.push({ ...l, layer: `file set ${fs.name}` });
    }
    const bundle = await writeBundle({ ...bundleRequest, outDir: join(job.work, `${name}-image`), image: { ownersInLayer } });
    layers.push({ ...(await agentLayer(store, bundle.dir, job.node, progress('agent'), req.signal)), layer: 'agent' });

    const config = imageConfig(job.base, target, bundle.manifest, layers, baseLayerCount);
    const configDesc = await store.putJson(config, MEDIA_TYPES.config);
    const manifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.manifest,
      config: configDesc,
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      annotations: { 'org.opencontainers.image.title': imageRepository(target.path) },
    };
    const manifestDesc = await store.putJson(manifest, MEDIA_TYPES.manifest);
    const tag = imageTag(manifestDesc.digest);
    const entry: Descriptor = { ...manifestDesc, annotations: { [REF_NAME_ANNOTATION]: tag }, platform: { architecture: config.architecture, os: config.os } };
    await writeFile(join(layout, INDEX_FILE), JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests: [entry] }));
    await writeFile(join(layout, OCI_LAYOUT_FILE), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    await replaceDir(layout, final);
    let archive: string | undefined;
    if (job.archive !== undefined) {
      progress('archive')(0);
      archive = await writeOciArchive(final, job.archive);
    }
    return {
      appliance: target.path,
      repository: imageRepository(target.path),
      tag,
      dir: final,
      manifestDigest: manifestDesc.digest,
      configDigest: configDesc.digest,
      layers: layers.map((l) => ({ layer: l.layer, mediaType: l.mediaType, digest: l.digest, size: l.size, ...(l.reused !== undefined ? { reused: l.reused } : {}) })),
      ...(archive ? { archive } : {}),
    };
  } catch (err) {
    await rm(layout, { recursive: true, force: true });
    throw err;
  }
}

/** The new layout replaces an older one of the same name only once it is complete. */
async function replaceDir(from: string, to: string): Promise<void> {
  const old = `${to}.old-${randomBytes(4).toString('hex')}`;
  const had = existsSync(to);
  if (had) await rename(to, old);
  await rename(from, to);
  if (had) await rm(old, { recursive: true, force: true });
}

/** A tar of the layout with names sorted, owners and mtimes fixed (GNU tar): the same layout, the same archive. */
async function writeOciArchive(layout: string, file: string): Promise<string> {
  const partial = `${file}.partial-${randomBytes(4).toString('hex')}`;
  try {
    await run('tar', ['--sort=name', '--mtime=@0', '--owner=0', '--group=0', '--numeric-owner', '--format=posix', '--pax-option=delete=atime,delete=ctime', '-cf', partial, '-C', layout, '.']);
    await rename(partial, file);
    return file;
  } catch (err) {
    await rm(partial, { force: true });
    throw new UserError('IMAGE_OUTPUT_INVALID', `the oci-archive cannot be written: ${(err as Error).message}`, { where: file, hint: 'give a writable --archive path (GNU tar must be installed)' });
  }
}

/** /opt/abctl (agent, node, bundle) and /var/lib/abctl, all root-owned with the epoch as mtime. */
async function agentLayer(store: BlobStore, bundleDir: string, node: string | undefined, onProgress: (bytes: number) => void, signal: AbortSignal | undefined): Promise<LayerDescriptor> {
  const writer = LayerWriter.create(store, signal);
  writer.onProgress = onProgress;
  try {
    const file = (path: string, mode: number, size: number): TarHeaderInput => ({ path, type: 'file', mode, uid: 0, gid: 0, size, mtime: FIXED_MTIME });
    // No entries for /opt, /var, /var/lib: they would replace the base's; engines create missing parents.
    writer.header(dirHeader('opt/abctl/', 0o755));
    const agent = agentFile();
    if (!existsSync(agent)) throw new UserError('AGENT_MISSING', `the one-file agent ${agent} has not been built`, { hint: 'run npm run build (it bundles the agent with esbuild)' });
    await writer.file(file('opt/abctl/abctl-agent.mjs', 0o644, statSync(agent).size), agent);
    writer.header(dirHeader('opt/abctl/bundle/', 0o700));
    await addTree(writer, bundleDir, 'opt/abctl/bundle/');
    if (node !== undefined) await writer.file(file('opt/abctl/node', 0o755, statSync(node).size), node);
    else {
      // The base has node on its PATH: the contract's path still works, through a two-line script.
      const script = Buffer.from('#!/bin/sh\nexec node "$@"\n');
      writer.header(file('opt/abctl/node', 0o755, script.length));
      writer.push(script);
      writer.pad(script.length);
    }
    writer.header(dirHeader('var/lib/abctl/', 0o755));
    return await writer.finish();
  } catch (err) {
    writer.discard();
    throw err;
  }
}

/** A directory's entries in name order, modes kept, owned by root, epoch mtimes. */
async function addTree(writer: LayerWriter, dir: string, prefix: string): Promise<void> {
  for (const name of readdirSync(dir).sort()) {
    const abs = join(dir, name);
    const st = lstatSync(abs);
    const mode = st.mode & 0o7777;
    if (st.isDirectory()) {
      writer.header(dirHeader(`${prefix}${name}/`, mode));
      await addTree(writer, abs, `${prefix}${name}/`);
    } else if (st.isSymbolicLink()) writer.header({ path: `${prefix}${name}`, type: 'symlink', mode, uid: 0, gid: 0, size: 0, mtime: FIXED_MTIME, linkname: readlinkSync(abs) });
    else if (st.isFile()) await writer.file({ path: `${prefix}${name}`, type: 'file', mode, uid: 0, gid: 0, size: st.size, mtime: FIXED_MTIME }, abs);
    await writer.drain();
  }
}

function imageConfig(base: BaseImage, target: Target, manifest: BundleManifest, layers: readonly (LayerDescriptor & { layer: string })[], baseLayers: number): ImageConfig {
  const appliance = applianceAt(target.assembly, target.path);
  const ports: Record<string, Record<string, never>> = {};
  for (const i of appliance.inputs) if (i.port !== undefined) ports[`${i.port}/tcp`] = {};
  const env = (base.config.config?.Env ?? []).filter((e) => !e.startsWith('ABCTL_'));
  if (!env.some((e) => e.startsWith('PATH='))) env.unshift('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  // History lines up with the layers only when the base's does (or the base brought none).
  const baseHistory = base.config.history;
  const history =
    baseHistory !== undefined && baseHistory.filter((h) => !h.empty_layer).length === baseLayers
      ? [...baseHistory, ...layers.slice(baseLayers).map((l) => ({ created: FIXED_CREATED, created_by: `abctl createTemplate: ${l.layer}` }))]
      : baseHistory === undefined && base.kind === 'rootfs'
        ? layers.map((l) => ({ created: FIXED_CREATED, created_by: `abctl createTemplate: ${l.layer}` }))
        : undefined;
  return {
    created: FIXED_CREATED,
    architecture: base.config.architecture,
    os: base.config.os,
    ...(base.config.variant ? { variant: base.config.variant } : {}),
    config: {
      Env: [...env, `ABCTL_CONFIG_DIR=${CONTAINER.configDir}`, `ABCTL_SECRET_DIR=${CONTAINER.secretDir}`],
      Entrypoint: ENTRYPOINT,
      WorkingDir: '/',
      ...(Object.keys(ports).length ? { ExposedPorts: ports } : {}),
      Labels: {
        'org.opencontainers.image.title': imageRepository(target.path),
        'org.abctl.appliance': target.path,
        'org.abctl.assembly': target.assembly.name,
        'org.abctl.creator': appliance.creator,
        'org.abctl.chain': manifest.chain.join(','),
        'org.abctl.healthcheck': JSON.stringify(HEALTHCHECK),
      },
      StopSignal: 'SIGTERM',
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    ...(history ? { history } : {}),
  };
}
